//! The statuses every operation documents for reasons outside its own logic, produced for
//! each operation that documents them (walking the served spec, so a new operation is
//! covered as soon as it documents one): 413 for a body over the limit, 429 beyond the
//! rate limit, 401 without credentials. And the per-operation outcomes no other test
//! produces. `tests/spec_coverage.rs` relies on these.

use poem::http::Method;
use serde_json::{Value, json};

use crate::support::*;

/// (method, concrete path under /api/v1, operation) for every documented operation.
async fn operations(app: &TestApp) -> Vec<(Method, String, Value)> {
    let spec = app.raw(Method::GET, "/openapi.json", &[], None).await.body;
    let mut out = vec![];
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let concrete = path
                .replace("{user_id}", "user_0")
                .replace("{user_email}", "nobody@example.com")
                .replace("{otp_type}", "ACTIVATION")
                .replace("{task_id}", "task_0")
                .replace("{transaction_id}", "transaction_0")
                .replace("{session_id}", "session_0")
                .replace("{passkey_id}", "passkey_0")
                .replace("{webhook_id}", "whk_0")
                .replace("{delivery_id}", "msg_0");
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            out.push((method, format!("/api/v1{concrete}"), op.clone()));
        }
    }
    out
}

fn documents(op: &Value, status: &str, code: &str) -> bool {
    op["responses"][status]["content"].as_object().into_iter().flatten().any(|(_, m)| m["examples"].get(code).is_some())
}

/// A body over the limit is 413 on every operation that documents it, for a caller the
/// operation otherwise serves: the body is cut when the route reads it, which it does once it
/// knows the caller (a request it refuses for its credentials is refused without reading it).
#[tokio::test]
async fn a_body_over_the_limit_is_413_wherever_documented() {
    let (app, _model) = TestApp::with_agent(&[("MAX_ATTACHMENT_BYTES", "1024"), ("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let email = "big-bodies@example.com";
    let (id, bearer) = app.active_user(email).await;
    let funded =
        app.call(Method::PUT, &format!("/users/{id}/credits"), Some(ADMIN_KEY), Some(json!({"credits": 1000}))).await;
    assert_eq!(funded.status, 200, "{}", funded.body);
    let basic = basic(email, PASSWORD);
    let big = vec![b' '; 2 << 20];
    let length = big.len().to_string();
    let mut wrong = vec![];
    let mut checked = 0;
    for (method, path, op) in operations(&app).await {
        if !documents(&op, "413", "payload_too_large") {
            continue;
        }
        let path = path.replace("user_0", &id).replace("nobody@example.com", email);
        let operation = op["operationId"].as_str().unwrap_or_default();
        let schemes: Vec<&str> = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|alternative| alternative.as_object())
            .flat_map(|alternative| alternative.keys().map(String::as_str))
            .collect();
        // The user's own credential where the operation takes one; the admin key on admin routes.
        let authorization = if schemes.contains(&"BearerAuth") {
            bearer.clone()
        } else if schemes.contains(&"BasicAuth") {
            basic.clone()
        } else if schemes.contains(&"ApiKey") && operation.starts_with("admin") {
            ADMIN_KEY.to_string()
        } else {
            String::new()
        };
        let media = if op.pointer("/requestBody/content/multipart~1form-data").is_some() {
            "multipart/form-data; boundary=x"
        } else {
            "application/json"
        };
        // Declared, as clients do: the body is cut at its first read on the declaration alone.
        let mut headers = vec![("Content-Type", media), ("Content-Length", length.as_str())];
        if !authorization.is_empty() {
            headers.push(("Authorization", authorization.as_str()));
        }
        if path.starts_with("/api/v1/stripe/") && method == Method::POST && schemes.is_empty() {
            headers.push(("Stripe-Signature", "t=1,v1=00"));
        }
        let reply = app.raw(method.clone(), &path, &headers, Some(poem::Body::from_vec(big.clone()))).await;
        if reply.status != 413 || reply.body["code"] != "payload_too_large" {
            wrong.push(format!("{method} {path}: {} {}", reply.status, reply.body));
        }
        checked += 1;
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 15, "{checked} operations document 413: the walk missed them");
}

#[tokio::test]
async fn requests_beyond_the_limit_are_429_wherever_documented() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "1")]).await;
    let mut wrong = vec![];
    for (method, path, op) in operations(&app).await {
        if !documents(&op, "429", "rate_limited") {
            continue;
        }
        let mut last = None;
        for _ in 0..5 {
            let reply = app.raw(method.clone(), &path, &[], None).await;
            let limited = reply.status == 429;
            last = Some(reply);
            if limited {
                break;
            }
        }
        let reply = last.unwrap();
        if reply.status != 429 || reply.body["code"] != "rate_limited" {
            wrong.push(format!("{method} {path}: {} {}", reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn no_credentials_is_401_wherever_documented() {
    let app = TestApp::with_env(&[("PUBLIC_API_KEYS", "pk_documented"), ("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let mut wrong = vec![];
    for (method, path, op) in operations(&app).await {
        // Google and Apple sign-in (and Apple's nonce) take a public key optionally; their 401
        // is a wrong public key or a refused ID token.
        if !documents(&op, "401", "unauthorized")
            || ["authGoogle", "authApple", "authAppleNonce"].contains(&op["operationId"].as_str().unwrap_or_default())
        {
            continue;
        }
        let reply = app.raw(method.clone(), &path, &[], None).await;
        if reply.status != 401 || reply.body["code"] != "unauthorized" {
            wrong.push(format!("{method} {path}: {} {}", reply.status, reply.body));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn outcomes_no_other_test_produces() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (id, bearer) = app.active_user("outcomes@example.com").await;
    let (other, _) = app.active_user("other@example.com").await;
    let code = json!({"code": "123456"});
    let bad = json!({"code": 5});
    app.call(Method::GET, "/security_events?limit=0", Some(ADMIN_KEY), None).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(bad.clone())).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.call(Method::POST, &format!("/users/{id}/2fa/totp"), Some(&bearer), Some(bad.clone())).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.call(Method::POST, "/auth/google", None, Some(json!({"id_token": 5}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.call(Method::POST, &format!("/users/{other}/2fa/recovery_codes"), Some(&bearer), Some(code))
        .await
        .assert_error(403, "forbidden", MSG_FORBIDDEN);
    app.get(&format!("/users/{other}/tasks/task_0"), Some(&bearer)).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    // The Stripe alias: unsigned, then a fresh event credited.
    let reply = app.webhook("/stripe/settle", b"{}", None).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let event = stripe::checkout_completed("cs_test_settle_alias", &id, "500", 500);
    let payload = serde_json::to_vec(&event).unwrap();
    let header = stripe::signature(stripe::WEBHOOK_SECRET, stripe::now_secs(), &payload);
    app.webhook("/stripe/settle", &payload, Some(&header))
        .await
        .assert_success(200, "Webhook event processed successfully.");
    let event = stripe::checkout_completed("cs_test_settle_nobody", "user_0", "500", 500);
    let payload = serde_json::to_vec(&event).unwrap();
    let header = stripe::signature(stripe::WEBHOOK_SECRET, stripe::now_secs(), &payload);
    let reply = app.webhook("/stripe/settle", &payload, Some(&header)).await;
    assert_eq!((reply.status, &reply.body["code"]), (404, &json!("user_not_found")), "{}", reply.body);
}
