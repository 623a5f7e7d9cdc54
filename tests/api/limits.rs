//! Rate limits, lockouts and code cooldowns. In memory by default; in Redis when
//! `TEST_REDIS_URL` is set (CI runs the PostgreSQL pass that way).

use std::time::Duration;

use poem::http::Method;
use serde_json::json;

use crate::support::*;

const LIMITED: &str = "You have exceeded the rate limit.";

#[track_caller]
fn assert_limited(reply: &Reply) -> u64 {
    reply.assert_error(429, "rate_limited", LIMITED);
    let retry: u64 = reply.headers.get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
    retry
}

#[tokio::test]
async fn the_per_credential_limit_is_hit_and_recovers() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "3")]).await;
    let (user_id, bearer) = app.register("limited@example.com").await;
    let (other_id, other) = app.register("other@example.com").await;
    let path = format!("/users/{user_id}");
    // Seven calls in well under a second: at least four are over a limit of three,
    // however the calls fall across a second boundary.
    let replies = futures_util::future::join_all((0..7).map(|_| app.get(&path, Some(&bearer)))).await;
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in &limited {
        assert_limited(reply);
    }
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 429));
    // Another credential has its own budget, and probes are never limited.
    app.get(&format!("/users/{other_id}"), Some(&other)).await.assert_success(200, "User fetched successfully.");
    for _ in 0..10 {
        assert_eq!(app.get("/health", Some(&bearer)).await.status, 200);
        assert_eq!(app.get("/version", None).await.status, 200);
        assert_eq!(app.raw(Method::GET, "/openapi.json", &[], None).await.status, 200);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.get(&path, Some(&bearer)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn stripes_deliveries_are_never_limited_and_mcp_is() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "2")]).await;
    // Unsigned deliveries are refused by their signature, never by the limiter.
    for path in ["/api/v1/stripe/webhook", "/api/v1/stripe/settle"] {
        let replies = futures_util::future::join_all(
            (0..6).map(|_| app.raw(Method::POST, path, &[("Stripe-Signature", "t=1,v1=00")], Some("{}".into()))),
        )
        .await;
        assert!(
            replies.iter().all(|r| r.status != 429),
            "{path}: {:?}",
            replies.iter().map(|r| r.status).collect::<Vec<_>>()
        );
    }
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    let headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")];
    let replies =
        futures_util::future::join_all((0..6).map(|_| app.raw(Method::POST, "/mcp", &headers, Some(ping.into()))))
            .await;
    let limited: Vec<&Reply> = replies.iter().filter(|r| r.status == 429).collect();
    assert!(!limited.is_empty(), "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in limited {
        assert_limited(reply);
    }
}

#[tokio::test]
async fn anonymous_calls_are_limited_per_address() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "2")]).await;
    let body = |i: usize| json!({"first_name": "ann", "email": format!("anon{i}@example.com"), "password": PASSWORD});
    let replies = futures_util::future::join_all((0..5).map(|i| app.post("/auth/register", None, Some(body(i))))).await;
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert!(limited >= 1, "statuses: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    // A refused sign-up made no account.
    assert_eq!(app.count(entity::users::Entity).await as usize, 5 - limited);
}

#[tokio::test]
async fn ten_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = TestApp::new().await;
    app.active_user("locked@example.com").await;
    app.active_user("neighbour@example.com").await;
    for _ in 0..10 {
        app.login("locked@example.com", "wrong password!", None).await.assert_error(
            401,
            "unauthorized",
            MSG_UNAUTHORIZED,
        );
    }
    let retry = assert_limited(&app.login("locked@example.com", PASSWORD, None).await);
    assert!(retry > 800 && retry <= 900, "{retry}");
    // Other accounts from the same address still work.
    app.login("neighbour@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
    // The lock lifts after fifteen minutes.
    app.state.clock.advance(Duration::from_secs(901));
    app.login("locked@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

/// Redis gone: a login cannot be counted, so it is refused (429, as a lock is) rather than
/// checked; the account is untouched, and logins work again once Redis answers.
#[tokio::test]
async fn a_login_the_limiter_cannot_count_is_refused() {
    let Some((app, relay)) = TestApp::with_redis_through_relay().await else {
        eprintln!("skipped: set TEST_REDIS_URL to run the Redis outage test");
        return;
    };
    app.active_user("counted@example.com").await;
    let before = app.snapshot().await;
    relay.cut().await;
    let retry = assert_limited(&app.login("counted@example.com", PASSWORD, None).await);
    assert_eq!(retry, rules::limits::UNCOUNTED_RETRY_AFTER);
    assert_eq!(app.snapshot().await, before, "no session was made");
    let _relay = relay.restore().await;
    let mut answer = app.login("counted@example.com", PASSWORD, None).await;
    // The connection manager reconnects in the background: give it a moment.
    for _ in 0..50 {
        if answer.status != 429 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        answer = app.login("counted@example.com", PASSWORD, None).await;
    }
    answer.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn ten_wrong_codes_lock_code_checks_for_the_account() {
    let app = TestApp::new().await;
    app.register("codes@example.com").await;
    for _ in 0..10 {
        app.post("/users/codes@example.com/activate", None, Some(json!({"code": "000000"}))).await.assert_error(
            401,
            "unauthorized",
            MSG_UNAUTHORIZED,
        );
    }
    // A fresh code (a minute later) is refused while the lock holds…
    app.state.clock.advance(Duration::from_secs(61));
    app.post("/users/codes@example.com/otp/ACTIVATION", None, None).await.assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("codes@example.com").await;
    assert_limited(&app.post("/users/codes@example.com/activate", None, Some(json!({"code": code}))).await);
    // …and a code is accepted once the fifteen minutes are over.
    app.state.clock.advance(Duration::from_secs(840));
    app.post("/users/codes@example.com/otp/ACTIVATION", None, None).await.assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("codes@example.com").await;
    app.post("/users/codes@example.com/activate", None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
}

#[tokio::test]
async fn codes_are_sent_at_most_once_a_minute_per_type() {
    let app = TestApp::new().await;
    app.active_user("cooldown@example.com").await;
    let send = |kind: &'static str| {
        let path = format!("/users/cooldown@example.com/otp/{kind}");
        let app = &app;
        async move { app.post(&path, None, None).await }
    };
    send("CHANGE_PASSWORD").await.assert_success(201, "OTP sent successfully.");
    let mails = app.smtp.mailbox.len();
    let retry = assert_limited(&send("CHANGE_PASSWORD").await);
    assert!(retry <= 60);
    assert_eq!(app.smtp.mailbox.len(), mails, "nothing mailed");
    send("TWO_FACTOR_AUTH").await.assert_success(201, "OTP sent successfully.");
    app.state.clock.advance(Duration::from_secs(61));
    send("CHANGE_PASSWORD").await.assert_success(201, "OTP sent successfully.");
}

#[tokio::test]
async fn one_address_sends_at_most_ten_codes_an_hour() {
    let app = TestApp::new().await;
    for i in 0..4 {
        app.register(&format!("sender{i}@example.com")).await;
    }
    let mut sent = 0;
    'outer: for kind in ["CHANGE_PASSWORD", "TWO_FACTOR_AUTH", "ACTIVATION"] {
        for i in 0..4 {
            let reply = app.post(&format!("/users/sender{i}@example.com/otp/{kind}"), None, None).await;
            if reply.status == 429 {
                assert_limited(&reply);
                break 'outer;
            }
            assert_eq!(reply.status, 201, "{}", reply.body);
            sent += 1;
        }
    }
    assert_eq!(sent, 10);
}

#[tokio::test]
async fn lockouts_are_shared_between_processes_exactly_when_redis_is_configured() {
    let app = TestApp::new().await;
    app.active_user("shared-lock@example.com").await;
    for _ in 0..10 {
        app.login("shared-lock@example.com", "wrong password!", None).await;
    }
    assert_limited(&app.login("shared-lock@example.com", PASSWORD, None).await);
    let other = app.second_process().await;
    let client = poem::test::TestClient::new(clara_backend::app(other.clone()));
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("shared-lock@example.com:{PASSWORD}"))
    );
    let response = client.post("/api/v1/auth/session").header("Authorization", basic).send().await;
    let expected = if app.state.limits.is_shared() { 429 } else { 200 };
    response.assert_status(poem::http::StatusCode::from_u16(expected).unwrap());
}
