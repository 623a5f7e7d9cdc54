//! `/metrics` without `METRICS_TOKEN`: only the machine itself may scrape it, judged by the
//! real TCP peer and never by `X-Forwarded-For`.

use poem::{
    Addr, Body, Endpoint, Request, RequestParts,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};

use crate::support::*;

/// A `/metrics` request as the server would see it from `peer`; nothing is sent anywhere.
fn request_from(peer: &str, forwarded_for: Option<&str>, authorization: Option<&str>) -> Request {
    request_to("/metrics", peer, forwarded_for, authorization)
}

fn request_to(path: &str, peer: &str, forwarded_for: Option<&str>, authorization: Option<&str>) -> Request {
    let mut builder = http::Request::builder().method("GET").uri(path);
    if let Some(forwarded) = forwarded_for {
        builder = builder.header("X-Forwarded-For", forwarded);
    }
    if let Some(authorization) = authorization {
        builder = builder.header("Authorization", authorization);
    }
    let (parts, ()) = builder.body(()).unwrap().into_parts();
    let local = LocalAddr(Addr::SocketAddr("127.0.0.1:8000".parse().unwrap()));
    let remote = RemoteAddr(Addr::SocketAddr(peer.parse().unwrap()));
    Request::from_parts(RequestParts::from((parts, local, remote, Scheme::HTTP)), Body::empty())
}

async fn status_and_body(app: &TestApp, req: Request) -> (u16, String) {
    let response = clara_backend::app(app.state.clone()).get_response(req).await;
    let status = response.status().as_u16();
    (status, response.into_body().into_string().await.unwrap())
}

#[tokio::test]
async fn without_a_token_other_hosts_and_relayed_requests_get_403_in_the_envelope() {
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "203.0.113.0/24")]).await;
    for (peer, forwarded) in [
        ("203.0.113.7:40000", None),
        ("[2001:db8::7]:40000", None),
        ("198.51.100.9:40000", Some("127.0.0.1")),
        // Even a trusted proxy cannot vouch for loopback: the peer decides.
        ("203.0.113.7:40000", Some("127.0.0.1")),
        // A reverse proxy on this machine relaying an outside client.
        ("127.0.0.1:40000", Some("198.51.100.9")),
    ] {
        let (status, body) = status_and_body(&app, request_from(peer, forwarded, None)).await;
        assert_eq!(status, 403, "{peer} {forwarded:?}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["code"], "forbidden");
        assert_eq!(body["status"], "error");
        assert!(body.get("data").is_some());
    }
}

#[tokio::test]
async fn without_a_token_loopback_peers_may_scrape() {
    let app = TestApp::new().await;
    for peer in ["127.0.0.1:40000", "[::1]:40000", "[::ffff:127.0.0.1]:40000"] {
        let (status, body) = status_and_body(&app, request_from(peer, None, None)).await;
        assert_eq!(status, 200, "{peer}: {body}");
        assert!(body.contains("clara_"), "{body}");
    }
}

/// A token as long as the server requires (32 characters or more).
pub const METRICS_TOKEN: &str = "scrape-me-0123456789abcdef0123456";

#[tokio::test]
async fn with_a_token_any_host_may_scrape_with_it() {
    let app = TestApp::with_env(&[("METRICS_TOKEN", METRICS_TOKEN)]).await;
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let (status, _) = status_and_body(&app, request_from("203.0.113.7:40000", None, Some(&bearer))).await;
    assert_eq!(status, 200);
    let (status, _) = status_and_body(&app, request_from("127.0.0.1:40000", None, None)).await;
    assert_eq!(status, 401, "the token is needed from loopback too");
}

#[tokio::test]
async fn metrics_are_served_to_a_loopback_client_over_http() {
    use poem::listener::{Acceptor, Listener, TcpListener};
    let app = TestApp::new().await;
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async {
        stopped.await.ok();
    }));
    let response = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("clara_"));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

// A 2-character METRICS_TOKEN fell to guessing in 0.4 s: wrong tokens were not counted.
#[tokio::test]
async fn wrong_metrics_tokens_count_toward_the_admin_key_lock() {
    let app = TestApp::with_env(&[("METRICS_TOKEN", METRICS_TOKEN), ("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let guesser = "203.0.113.7:40000";
    for guess in 0..10 {
        let wrong = format!("Bearer guess-{guess}");
        let (status, body) = status_and_body(&app, request_from(guesser, None, Some(&wrong))).await;
        assert_eq!(status, 401, "{body}");
    }
    let bearer = format!("Bearer {METRICS_TOKEN}");
    let (status, body) = status_and_body(&app, request_from(guesser, None, Some(&bearer))).await;
    assert_eq!(status, 429, "the address is locked, even with the right token: {body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "rate_limited");
    // The same lock as wrong admin keys: the admin routes are closed to that address too.
    let (status, _) = status_and_body(&app, request_to("/api/v1/users", guesser, None, Some(ADMIN_KEY))).await;
    assert_eq!(status, 429);
    // Another address scrapes as before.
    let (status, _) = status_and_body(&app, request_from("198.51.100.9:40000", None, Some(&bearer))).await;
    assert_eq!(status, 200);
}
