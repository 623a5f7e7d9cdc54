//! Limits per client address, over a real listener on 127.0.0.1 behind a trusted proxy
//! (loopback), so that `X-Forwarded-For` names the client (issue 11, items 4 and 5).
//! The forwarded addresses are header values only: nothing is sent to them.

use poem::listener::{Acceptor, Listener, TcpListener};
use serde_json::json;

use crate::support::*;

struct Served {
    base: String,
    http: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(app: &TestApp) -> Served {
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async move {
        let _ = stopped.await;
    }));
    Served { base: format!("http://127.0.0.1:{port}/api/v1"), http: reqwest::Client::new(), _stop: stop }
}

impl Served {
    async fn register(&self, client: String, auth: Option<&str>, email: String) -> u16 {
        let mut request = self
            .http
            .post(format!("{}/auth/register", self.base))
            .header("X-Forwarded-For", client)
            .json(&json!({"first_name": "ann", "email": email, "password": PASSWORD}));
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

// One client flooding with the public key used to make every genuine sign-up fail
// (20 of 20), because every public-key caller shared one bucket.
#[tokio::test]
async fn a_public_key_flood_from_one_client_does_not_starve_the_others() {
    let app = TestApp::with_env(&[
        ("RATE_LIMIT_PER_SECOND", "5"),
        ("PUBLIC_API_KEYS", "pk_test_shared"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let served = serve(&app).await;
    let flood = futures_util::future::join_all(
        (0..40).map(|i| served.register("203.0.113.7".into(), Some("pk_test_shared"), format!("flood{i}@example.com"))),
    );
    let genuine =
        futures_util::future::join_all((0..4).map(|i| {
            served.register(format!("198.51.100.{i}"), Some("pk_test_shared"), format!("real{i}@example.com"))
        }));
    let (flood, genuine) = tokio::join!(flood, genuine);
    assert!(flood.iter().filter(|s| **s == 429).count() >= 30, "the flood was limited: {flood:?}");
    assert_eq!(genuine, [201, 201, 201, 201], "genuine sign-ups from other clients pass");
}

#[tokio::test]
async fn the_sign_up_quota_is_per_client_address() {
    let app = TestApp::with_env(&[("SIGNUPS_PER_ADDRESS_HOUR", "2"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let served = serve(&app).await;
    assert_eq!(served.register("203.0.113.9".into(), None, "a1@example.com".into()).await, 201);
    assert_eq!(served.register("203.0.113.9".into(), None, "a2@example.com".into()).await, 201);
    assert_eq!(served.register("203.0.113.9".into(), None, "a3@example.com".into()).await, 429);
    assert_eq!(served.register("198.51.100.9".into(), None, "b1@example.com".into()).await, 201);
    assert_eq!(app.count(entity::users::Entity).await, 3);
}

// One IPv6 customer holds a whole /64: counting each of its addresses on its own gave it
// unlimited fresh budgets. (Header values only: nothing is sent to these addresses.)
#[tokio::test]
async fn sign_ups_from_one_ipv6_64_share_one_budget() {
    let app = TestApp::with_env(&[("SIGNUPS_PER_ADDRESS_HOUR", "2"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let served = serve(&app).await;
    assert_eq!(served.register("2001:db8::1".into(), None, "a1@example.com".into()).await, 201);
    assert_eq!(served.register("2001:db8::2".into(), None, "a2@example.com".into()).await, 201);
    assert_eq!(served.register("2001:db8::3".into(), None, "a3@example.com".into()).await, 429);
    assert_eq!(served.register("2001:db8::ffff:1".into(), None, "a4@example.com".into()).await, 429);
    // The next /64 is another client.
    assert_eq!(served.register("2001:db8:0:1::1".into(), None, "b1@example.com".into()).await, 201);
    assert_eq!(app.count(entity::users::Entity).await, 3);
}

#[tokio::test]
async fn wrong_admin_keys_from_one_ipv6_64_lock_the_whole_64() {
    let app = TestApp::with_env(&[("ADMIN_API_KEY", ADMIN_KEY), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let served = serve(&app).await;
    let list_users = |client: String, key: String| {
        let request = served.http.get(format!("{}/users", served.base));
        async move {
            request
                .header("X-Forwarded-For", client)
                .header("Authorization", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..10 {
        assert_eq!(list_users(format!("2001:db8::{i:x}"), format!("{ADMIN_KEY}{i}")).await, 401);
    }
    assert_eq!(
        list_users("2001:db8::beef".into(), ADMIN_KEY.into()).await,
        429,
        "a fresh address of the /64 is locked too"
    );
    assert_eq!(list_users("2001:db8:0:1::1".into(), ADMIN_KEY.into()).await, 200, "another /64 is not");
}

#[tokio::test]
async fn the_request_rate_of_one_ipv6_64_is_one_budget() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "5"), ("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let served = serve(&app).await;
    // Thirty requests at once, each from its own address of one /64, to a limited route.
    let statuses = futures_util::future::join_all((0..30).map(|i| {
        served
            .http
            .get(format!("{}/users", served.base))
            .header("X-Forwarded-For", format!("2001:db8::{:x}", i + 1))
            .send()
    }))
    .await;
    let limited = statuses.iter().filter(|r| r.as_ref().unwrap().status() == 429).count();
    assert!(limited >= 20, "the /64 spent one budget of 5 a second: {limited} of 30 limited");
}
