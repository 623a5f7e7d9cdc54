//! A database that cannot be reached: every route that needs it answers 503
//! `database_unavailable` with `Retry-After`, quickly, and the first request after it is
//! back succeeds. PostgreSQL only, through a relay the test can cut.

use std::time::{Duration, Instant};

use poem::http::Method;
use serde_json::json;

use crate::support::*;

const MSG_DB: &str = "The database is unavailable; try again shortly.";

/// What the test calls: a name, then the method, path, `Authorization` and JSON body.
type Call<'a> = (&'a str, Method, &'a str, Option<&'a str>, Option<serde_json::Value>);

#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str, took: Duration) {
    assert_eq!(reply.status, 503, "{what}: {}", reply.body);
    reply.assert_error(503, "database_unavailable", MSG_DB);
    let retry_after: u64 = reply.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1, "{what}: Retry-After {retry_after}");
    assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    eprintln!("outage: {what} answered 503 in {took:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_503_with_retry_after_and_recovery_is_immediate() {
    let Some(admin_url) = std::env::var("TEST_DATABASE_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!("skipped: set TEST_DATABASE_URL to a PostgreSQL server to run the database outage test");
        return;
    };
    assert!(admin_url.starts_with("postgres"), "TEST_DATABASE_URL is PostgreSQL");
    let dir = tempfile::tempdir().unwrap();
    let mut url = url::Url::parse(&fresh_database(dir.path()).await).unwrap();
    let relay = Relay::start(&format!("127.0.0.1:{}", url.port().unwrap_or(5432))).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    // The authentication cache off: every credential check asks the database.
    let app = TestApp::with_env(&[("DATABASE_URL", url.as_str()), ("AUTH_CACHE_TTL_SECS", "0")]).await;
    let (user_id, bearer) = app.active_user("outage@example.com").await;
    let own = format!("/users/{user_id}");
    let transactions = format!("/users/{user_id}/transactions");
    assert_eq!(app.get(&own, Some(&bearer)).await.status, 200);

    relay.cut().await;
    for round in 0..2 {
        let calls: Vec<Call> = vec![
            ("view own user", Method::GET, &own, Some(&bearer), None),
            ("list transactions", Method::GET, &transactions, Some(&bearer), None),
            ("health", Method::GET, "/health", None, None),
            (
                "register",
                Method::POST,
                "/auth/register",
                None,
                Some(
                    json!({"first_name": "b", "last_name": "c", "email": format!("new{round}@example.com"), "password": PASSWORD}),
                ),
            ),
        ];
        for (what, method, path, auth, body) in calls {
            let started = Instant::now();
            let reply = tokio::time::timeout(Duration::from_secs(5), app.call(method, path, auth, body))
                .await
                .unwrap_or_else(|_| panic!("{what} (round {round}) was not answered within 5 s"));
            assert_unavailable(&reply, what, started.elapsed());
        }
        let started = Instant::now();
        let login = app.login("outage@example.com", PASSWORD, None).await;
        assert_unavailable(&login, "login", started.elapsed());
    }

    let relay = relay.restore().await;
    let reply = app.get(&own, Some(&bearer)).await;
    assert_eq!(reply.status, 200, "the first request after the outage succeeds: {}", reply.body);
    assert_eq!(app.get(&transactions, Some(&bearer)).await.status, 200);
    assert_eq!(app.login("outage@example.com", PASSWORD, None).await.status, 200);
    drop(relay);
}
