//! With the database gone, every operation that touches it answers 503
//! `database_unavailable`, as each of them documents (on SQLite too: the pool is closed).

use poem::http::Method;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn every_database_operation_is_503_when_the_database_is_gone() {
    let (app, _stripe) = TestApp::with_stripe(&[
        ("AUTH_CACHE_TTL_SECS", "0"),
        ("WEBAUTHN_RP_ID", "clara.test"),
        ("WEBAUTHN_ORIGINS", "https://clara.test"),
    ])
    .await;
    let email = "gone@example.com";
    let (id, bearer) = app.active_user(email).await;
    let key = app.get(&format!("/users/{id}/api_key"), Some(&bearer)).await;
    let api_key = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    let event = stripe::checkout_completed("cs_test_gone", &id, "500", 500);
    app.state.db.clone().close().await.unwrap();

    let code = Some(json!({"code": "123456"}));
    let user = format!("/users/{id}");
    let calls: Vec<(Method, String, Option<&str>, Option<Value>)> = vec![
        (
            Method::POST,
            "/auth/register".into(),
            None,
            Some(json!({"first_name": "a", "last_name": "b", "email": "new@example.com", "password": PASSWORD})),
        ),
        (Method::DELETE, "/auth/session".into(), Some(&bearer), None),
        (
            Method::PATCH,
            format!("/users/{email}/password"),
            None,
            Some(json!({"password": PASSWORD, "code": "123456"})),
        ),
        (Method::POST, format!("/users/{email}/otp/CHANGE_PASSWORD"), None, None),
        (Method::POST, format!("/users/{email}/activate"), None, code.clone()),
        (Method::POST, format!("{user}/2fa"), Some(&bearer), code.clone()),
        (Method::DELETE, format!("{user}/2fa"), Some(&bearer), code.clone()),
        (Method::POST, format!("{user}/2fa/totp"), Some(&bearer), None),
        (Method::POST, format!("{user}/2fa/recovery_codes"), Some(&bearer), code.clone()),
        (Method::GET, format!("{user}/sessions"), Some(&bearer), None),
        (Method::DELETE, format!("{user}/sessions"), Some(&bearer), None),
        (Method::DELETE, format!("{user}/sessions/session_0"), Some(&bearer), None),
        (Method::GET, user.clone(), Some(&api_key), None),
        (Method::PATCH, user.clone(), Some(&bearer), Some(json!({"is_dark_mode": false}))),
        (Method::DELETE, user.clone(), Some(ADMIN_KEY), None),
        (Method::GET, format!("{user}/api_key"), Some(&bearer), None),
        (Method::POST, format!("{user}/api_key"), Some(&bearer), None),
        (Method::GET, format!("{user}/transactions"), Some(&api_key), None),
        (Method::GET, format!("{user}/transactions/transaction_0"), Some(&api_key), None),
        (Method::GET, format!("{user}/tasks"), Some(&api_key), None),
        (Method::GET, format!("{user}/tasks/task_0"), Some(&api_key), None),
        (Method::GET, format!("{user}/tasks/task_0/events"), Some(&api_key), None),
        (Method::POST, format!("{user}/webhooks"), Some(&bearer), Some(json!({"url": "https://example.com/hook"}))),
        (Method::GET, format!("{user}/webhooks"), Some(&bearer), None),
        (Method::DELETE, format!("{user}/webhooks/whk_0"), Some(&bearer), None),
        (Method::POST, format!("{user}/webhooks/whk_0/rotate"), Some(&bearer), None),
        (Method::GET, format!("{user}/webhooks/whk_0/deliveries"), Some(&bearer), None),
        (Method::POST, format!("{user}/webhooks/whk_0/deliveries/msg_0/retry"), Some(&bearer), None),
        (Method::GET, format!("{user}/agent/supported_attachments"), Some(&api_key), None),
        (Method::GET, "/stripe/rate".into(), Some(&api_key), None),
        (Method::POST, "/stripe/portal".into(), Some(&api_key), None),
        (Method::POST, "/stripe/buy".into(), Some(&api_key), Some(json!({"amount": 5, "return_path": ""}))),
        (Method::GET, "/users".into(), Some(ADMIN_KEY), None),
        (Method::PUT, format!("{user}/credits"), Some(ADMIN_KEY), Some(json!({"credits": 1}))),
        (Method::GET, "/security_events".into(), Some(ADMIN_KEY), None),
        (Method::GET, "/tasks".into(), Some(ADMIN_KEY), None),
        (Method::POST, "/auth/passkey/options".into(), None, None),
        // Well formed, so the challenge is looked up.
        (
            Method::POST,
            "/auth/passkey".into(),
            None,
            Some(json!({"credential": passkey_assertion(), "challenge_id": "passkey_challenge_0"})),
        ),
        (Method::POST, format!("{user}/passkeys/options"), Some(&bearer), None),
        (Method::POST, format!("{user}/passkeys"), Some(&bearer), Some(json!({"credential": {}}))),
        (Method::GET, format!("{user}/passkeys"), Some(&bearer), None),
        (Method::DELETE, format!("{user}/passkeys/passkey_0"), Some(&bearer), None),
    ];
    let mut wrong = vec![];
    for (method, path, auth, body) in calls {
        let reply = app.call(method.clone(), &path, auth, body).await;
        if reply.status != 503 || reply.body["code"] != "database_unavailable" {
            wrong.push(format!("{method} {path}: {} {}", reply.status, reply.body));
        }
    }
    let reply = app.login(email, PASSWORD, None).await;
    if reply.status != 503 {
        wrong.push(format!("login: {} {}", reply.status, reply.body));
    }
    let reply = app.analysis(&id, &api_key, &[("text", None, b"A claim.")]).await;
    if reply.status != 503 {
        wrong.push(format!("analysis: {} {}", reply.status, reply.body));
    }
    for path in ["/stripe/webhook", "/stripe/settle"] {
        let payload = serde_json::to_vec(&event).unwrap();
        let header = stripe::signature(stripe::WEBHOOK_SECRET, stripe::now_secs(), &payload);
        let reply = app.webhook(path, &payload, Some(&header)).await;
        if reply.status != 503 {
            wrong.push(format!("{path}: {} {}", reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "not 503 database_unavailable:\n{}", wrong.join("\n"));
}

/// A `PublicKeyCredential` (sign-in) of the right shape, signed by nothing.
fn passkey_assertion() -> Value {
    json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {"authenticatorData": "AAAA", "clientDataJSON": "AAAA", "signature": "AAAA", "userHandle": null},
        "extensions": {}
    })
}
