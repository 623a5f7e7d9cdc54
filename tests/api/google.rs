use serde_json::json;

use crate::support::{google::*, *};

async fn app_with_google() -> (TestApp, FakeJwks) {
    let jwks = google::start().await;
    let app = TestApp::with_env(&[("GOOGLE_CLIENT_ID", CLIENT_ID), ("GOOGLE_JWKS_URL", &jwks.url)]).await;
    (app, jwks)
}

async fn sign_in(app: &TestApp, token: &str) -> Reply {
    app.post("/auth/google", None, Some(json!({"id_token": token}))).await
}

#[tokio::test]
async fn new_email_registers_then_logs_in() {
    let (app, _jwks) = app_with_google().await;
    let token = keys()[0].sign(&claims("Grace@Example.com", CLIENT_ID, 600));
    let first = sign_in(&app, &token).await;
    first.assert_success(201, "User registered successfully.");
    assert_eq!(first.data()["email"], "grace@example.com");
    assert_eq!(first.data()["is_active"], true);
    assert_eq!(first.data()["first_name"], "Grace");
    assert_eq!(first.data()["last_name"], "Hopper");
    let id = first.data()["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", first.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");

    let second = sign_in(&app, &token).await;
    second.assert_success(201, "User logged in successfully.");
    assert_eq!(second.data()["id"], id.as_str());
    // No password was set: a password login fails until CHANGE_PASSWORD sets one.
    app.login("grace@example.com", PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn known_email_logs_into_the_existing_account() {
    let (app, _jwks) = app_with_google().await;
    let (id, _) = app.register("grace@example.com").await;
    let reply = sign_in(&app, &keys()[0].sign(&claims("grace@example.com", CLIENT_ID, 600))).await;
    reply.assert_success(201, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
}

#[tokio::test]
async fn bad_tokens_are_refused_and_change_nothing() {
    let (app, _jwks) = app_with_google().await;
    let good = claims("grace@example.com", CLIENT_ID, 600);
    let mut wrong_issuer = good.clone();
    wrong_issuer["iss"] = json!("https://evil.example.com");
    let mut unverified = good.clone();
    unverified["email_verified"] = json!(false);
    let valid = keys()[0].sign(&good);
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let bad_signature = format!("{head}.{payload}.{}", "A".repeat(342));
    let cases = [
        keys()[0].sign(&claims("grace@example.com", "someone-else.apps.googleusercontent.com", 600)),
        keys()[0].sign(&claims("grace@example.com", CLIENT_ID, -600)),
        keys()[0].sign(&wrong_issuer),
        keys()[0].sign(&unverified),
        bad_signature,
        "not.a.jwt".to_string(),
        String::new(),
    ];
    for token in cases {
        sign_in(&app, &token).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

/// A token signed with a key the provider never published: what an attacker forges.
fn forged(email: &str) -> String {
    keys()[1].sign(&claims(email, CLIENT_ID, 600))
}

// While the key set failed, every forged token used to trigger a fetch (30 of 30), each
// one waiting up to the fetch timeout under the cache's lock.
#[tokio::test]
async fn while_the_key_set_fails_forged_tokens_trigger_one_fetch_per_ten_seconds() {
    let (app, jwks) = app_with_google().await;
    jwks.set(Fault::status(503));
    for i in 0..30 {
        sign_in(&app, &forged(&format!("f{i}@example.com"))).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    assert_eq!(jwks.fetched(), 1, "one fetch, then the back-off");
    // Neither does a genuine token bring the next fetch forward.
    sign_in(&app, &keys()[0].sign(&claims("a@example.com", CLIENT_ID, 600))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    assert_eq!(jwks.fetched(), 1);
}

// After a failed fetch the keys known before it are still served: genuine sign-ins go on
// through the provider's outage, and forged tokens do not bring fetches forward.
#[tokio::test]
async fn after_a_failed_fetch_the_known_keys_are_served_and_fetches_back_off() {
    let (app, jwks) = app_with_google().await;
    let genuine = || keys()[0].sign(&claims("a@example.com", CLIENT_ID, 600));
    sign_in(&app, &genuine()).await.assert_success(201, "User registered successfully.");
    assert_eq!(jwks.fetched(), 1);
    jwks.set(Fault::status(503));
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    for i in 0..30 {
        sign_in(&app, &forged(&format!("f{i}@example.com"))).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    assert_eq!(jwks.fetched(), 2, "one failed fetch, then the back-off");
    sign_in(&app, &genuine()).await.assert_success(201, "User logged in successfully.");
    assert_eq!(jwks.fetched(), 2);
    assert_eq!(app.count(entity::users::Entity).await, 1);
}

#[tokio::test]
async fn an_unknown_key_id_makes_the_server_refetch() {
    let (app, jwks) = app_with_google().await;
    sign_in(&app, &keys()[0].sign(&claims("a@example.com", CLIENT_ID, 600)))
        .await
        .assert_success(201, "User registered successfully.");
    let fetched = jwks.fetched();
    assert_eq!(fetched, 1);
    // A second sign-in with the same key uses the cache.
    sign_in(&app, &keys()[0].sign(&claims("a@example.com", CLIENT_ID, 600)))
        .await
        .assert_success(201, "User logged in successfully.");
    assert_eq!(jwks.fetched(), 1);
    // A key the server has never seen and Google does not publish: refused.
    sign_in(&app, &keys()[1].sign(&claims("b@example.com", CLIENT_ID, 600))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    // Google rotates in that key; after the refetch cooldown it is accepted.
    jwks.add(&keys()[1]);
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    sign_in(&app, &keys()[1].sign(&claims("b@example.com", CLIENT_ID, 600)))
        .await
        .assert_success(201, "User registered successfully.");
    assert!(jwks.fetched() >= 2);
}

#[tokio::test]
async fn without_a_client_id_google_sign_in_is_503() {
    let app = TestApp::new().await;
    let reply = sign_in(&app, "anything").await;
    reply.assert_error(
        503,
        "not_configured",
        "This feature is not configured on the server. Set GOOGLE_CLIENT_ID (and GOOGLE_JWKS_URL) to enable it.",
    );
}

// Issue 11, item 8: Google sign-in used to return a session for an account with 2FA on.
#[tokio::test]
async fn google_sign_in_honours_two_factor_like_login() {
    let (app, _jwks) = app_with_google().await;
    let (id, bearer) = app.active_user("grace@example.com").await;
    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.enable_mailed_2fa(&id, "grace@example.com", &bearer).await;
    let token = keys()[0].sign(&claims("grace@example.com", CLIENT_ID, 600));
    let sessions = app.count(entity::sessions::Entity).await;

    let blocked = sign_in(&app, &token).await;
    blocked.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(blocked.data(), &json!({"is_2fa_enabled": true}));
    let wrong = app.post("/auth/google", None, Some(json!({"id_token": token, "code": "000000"}))).await;
    wrong.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(wrong.data(), &json!({"is_2fa_enabled": true}));
    assert_eq!(app.count(entity::sessions::Entity).await, sessions, "no session without the second factor");

    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.post("/users/grace@example.com/otp/TWO_FACTOR_AUTH", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("grace@example.com").await;
    let ok = app.post("/auth/google", None, Some(json!({"id_token": token, "code": code}))).await;
    ok.assert_success(201, "User logged in successfully.");
    assert!(ok.data()["token"].is_string());
    // A null code is the same as none.
    app.post("/auth/google", None, Some(json!({"id_token": token, "code": null}))).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
}

// Issue 11, item 8: an attacker registered the victim's address with his own password;
// the victim signed in with Google, and the attacker's password and session still worked.
#[tokio::test]
async fn google_sign_in_takes_over_a_never_activated_registration() {
    let (app, _jwks) = app_with_google().await;
    let (id, attacker_session) = app.register("victim@example.com").await;
    let reply = sign_in(&app, &keys()[0].sign(&claims("victim@example.com", CLIENT_ID, 600))).await;
    reply.assert_success(201, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
    assert_eq!(reply.data()["is_active"], true);
    let victim = format!("Bearer {}", reply.data()["token"].as_str().unwrap());
    // The registrant's password and session are gone; the owner's session works.
    app.login("victim@example.com", PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{id}"), Some(&attacker_session)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{id}"), Some(&victim)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn google_sign_in_keeps_the_password_of_an_activated_account() {
    let (app, _jwks) = app_with_google().await;
    let (id, session) = app.active_user("owner@example.com").await;
    sign_in(&app, &keys()[0].sign(&claims("owner@example.com", CLIENT_ID, 600)))
        .await
        .assert_success(201, "User logged in successfully.");
    app.login("owner@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
    app.get(&format!("/users/{id}"), Some(&session)).await.assert_success(200, "User fetched successfully.");
}
