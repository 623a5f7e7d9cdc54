//! Sign in with Apple (CONTRACT §6.5) against a fake Apple key set on 127.0.0.1 (the
//! fake Google's, which serves whatever keys a test signs with).

use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    google::{FakeJwks, keys},
    *,
};

/// An iOS app's bundle id and a web service id, both accepted audiences.
const BUNDLE_ID: &str = "co.crazi.clara";
const SERVICE_ID: &str = "co.crazi.clara.web";
const NONCE: &str = "0b6f1c1e-raw-nonce-from-the-app";

async fn app_with_apple() -> (TestApp, FakeJwks) {
    let jwks = FakeJwks::start().await;
    let ids = format!("{BUNDLE_ID}, {SERVICE_ID}");
    let app = TestApp::with_env(&[("APPLE_CLIENT_IDS", &ids), ("APPLE_JWKS_URL", &jwks.url)]).await;
    (app, jwks)
}

fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// Apple's claims: strings for the booleans, the hashed nonce the app put in its request.
fn apple_claims(email: &str, aud: &str, exp_offset: i64) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({
        "iss": "https://appleid.apple.com", "aud": aud, "sub": "001234.0a1b2c3d4e5f.1234",
        "email": email, "email_verified": "true", "is_private_email": "false",
        "nonce": sha256_hex(NONCE), "nonce_supported": true, "auth_time": now,
        "iat": now, "exp": now + exp_offset,
    })
}

fn token(email: &str) -> String {
    keys()[0].sign(&apple_claims(email, BUNDLE_ID, 600))
}

async fn sign_in(app: &TestApp, body: Value) -> Reply {
    app.post("/auth/apple", None, Some(body)).await
}

#[tokio::test]
async fn apple_new_address_registers_with_the_body_names_then_logs_in() {
    let (app, _jwks) = app_with_apple().await;
    let relay = "x7kq2m9p4t@privaterelay.appleid.com";
    let body = json!({"id_token": token(relay), "nonce": NONCE, "first_name": "ada", "last_name": "lovelace"});
    let first = sign_in(&app, body).await;
    first.assert_success(201, "User registered successfully.");
    assert_eq!(first.data()["email"], relay);
    assert_eq!(first.data()["is_active"], true);
    assert_eq!(first.data()["first_name"], "Ada");
    assert_eq!(first.data()["last_name"], "Lovelace");
    let id = first.data()["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", first.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");

    // Later sign-ins: same account; names sent again change nothing.
    let again = json!({"id_token": token(relay), "nonce": NONCE, "first_name": "Someone", "last_name": "Else"});
    let second = sign_in(&app, again).await;
    second.assert_success(201, "User logged in successfully.");
    assert_eq!(second.data()["id"], id.as_str());
    assert_eq!(second.data()["first_name"], "Ada");
    // No password was set.
    app.login(relay, PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn apple_sign_in_without_names_or_nonce_and_for_a_service_id() {
    let (app, _jwks) = app_with_apple().await;
    // No names: the address's local part; no nonce in the body: the claim is not checked.
    let reply = sign_in(&app, json!({"id_token": token("grace@example.com"), "first_name": null})).await;
    reply.assert_success(201, "User registered successfully.");
    assert_eq!(reply.data()["first_name"], "Grace");
    assert_eq!(reply.data()["last_name"], Value::Null);
    // The web flow's service id is an audience too; Apple's boolean as a JSON boolean.
    let mut claims = apple_claims("grace@example.com", SERVICE_ID, 600);
    claims["email_verified"] = json!(true);
    sign_in(&app, json!({"id_token": keys()[0].sign(&claims)}))
        .await
        .assert_success(201, "User logged in successfully.");
    // A known account logs in.
    let (id, _) = app.active_user("owner@example.com").await;
    let reply = sign_in(&app, json!({"id_token": token("Owner@Example.com")})).await;
    reply.assert_success(201, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
    app.login("owner@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn apple_nonce_is_accepted_raw_or_hashed_and_a_mismatch_is_401() {
    let (app, _jwks) = app_with_apple().await;
    // The claim is SHA-256(nonce) (the usual iOS flow).
    sign_in(&app, json!({"id_token": token("a@example.com"), "nonce": NONCE}))
        .await
        .assert_success(201, "User registered successfully.");
    // The claim is the nonce itself.
    let mut raw = apple_claims("a@example.com", BUNDLE_ID, 600);
    raw["nonce"] = json!(NONCE);
    sign_in(&app, json!({"id_token": keys()[0].sign(&raw), "nonce": NONCE}))
        .await
        .assert_success(201, "User logged in successfully.");
    let before = app.snapshot().await;
    let mut missing = apple_claims("a@example.com", BUNDLE_ID, 600);
    missing.as_object_mut().unwrap().remove("nonce");
    for (id_token, nonce) in [
        (token("a@example.com"), "another-nonce".to_string()),
        // The hash sent as the nonce: its hash is not the claim.
        (token("a@example.com"), sha256_hex(NONCE) + "0"),
        (keys()[0].sign(&raw), sha256_hex(NONCE)),
        (keys()[0].sign(&missing), NONCE.to_string()),
    ] {
        sign_in(&app, json!({"id_token": id_token, "nonce": nonce})).await.assert_error(
            401,
            "unauthorized",
            MSG_UNAUTHORIZED,
        );
    }
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn apple_bad_tokens_are_refused_and_change_nothing() {
    let (app, _jwks) = app_with_apple().await;
    let good = apple_claims("grace@example.com", BUNDLE_ID, 600);
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        keys()[0].sign(&claims)
    };
    let mut no_email = good.clone();
    no_email.as_object_mut().unwrap().remove("email");
    let mut no_verified = good.clone();
    no_verified.as_object_mut().unwrap().remove("email_verified");
    let valid = keys()[0].sign(&good);
    let (head, rest) = valid.split_once('.').unwrap();
    let (payload, _) = rest.split_once('.').unwrap();
    let bad_signature = format!("{head}.{payload}.{}", "A".repeat(342));
    // Signed with a key of the right id that is not Apple's.
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header { kid: Some(keys()[0].kid.clone()), ..Default::default() },
        &good,
        &jsonwebtoken::EncodingKey::from_secret(b"guess"),
    )
    .unwrap();
    let cases = [
        ("wrong aud", with("aud", json!("com.example.other-app"))),
        ("Google's aud", with("aud", json!("clara-test.apps.googleusercontent.com"))),
        ("wrong iss", with("iss", json!("https://accounts.google.com"))),
        ("lookalike iss", with("iss", json!("https://appleid.apple.com.evil.example"))),
        ("expired", keys()[0].sign(&apple_claims("grace@example.com", BUNDLE_ID, -600))),
        ("email_verified \"false\"", with("email_verified", json!("false"))),
        ("email_verified false", with("email_verified", json!(false))),
        ("no email_verified", keys()[0].sign(&no_verified)),
        ("no email", keys()[0].sign(&no_email)),
        ("not an address", with("email", json!("not an address"))),
        ("bad signature", bad_signature),
        ("HS256", hs256),
        ("not a JWT", "not.a.jwt".to_string()),
        ("empty", String::new()),
    ];
    for (what, id_token) in cases {
        let reply = sign_in(&app, json!({"id_token": id_token})).await;
        assert_eq!((reply.status, reply.body["code"].as_str()), (401, Some("unauthorized")), "{what}: {}", reply.body);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn apple_unknown_key_id_makes_the_server_refetch() {
    let (app, jwks) = app_with_apple().await;
    sign_in(&app, json!({"id_token": token("a@example.com")}))
        .await
        .assert_success(201, "User registered successfully.");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
    sign_in(&app, json!({"id_token": token("a@example.com")}))
        .await
        .assert_success(201, "User logged in successfully.");
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "the cached key set is used");
    // A key Apple does not (yet) publish: refused.
    let rotated = keys()[1].sign(&apple_claims("b@example.com", BUNDLE_ID, 600));
    sign_in(&app, json!({"id_token": rotated.clone()})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // Apple rotates it in; after the refetch cooldown the unknown kid is fetched and accepted.
    jwks.rotate();
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    sign_in(&app, json!({"id_token": rotated})).await.assert_success(201, "User registered successfully.");
    assert!(jwks.fetches.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn without_client_ids_apple_sign_in_is_503() {
    let app = TestApp::new().await;
    let reply = sign_in(&app, json!({"id_token": "anything"})).await;
    reply.assert_error(
        503,
        "not_configured",
        "This feature is not configured on the server. Set APPLE_CLIENT_IDS (and APPLE_JWKS_URL) to enable it.",
    );
    // Google's configuration does not turn Apple on; a blank list is no list.
    let app =
        TestApp::with_env(&[("GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com"), ("APPLE_CLIENT_IDS", " , ")]).await;
    sign_in(&app, json!({"id_token": token("a@example.com")})).await.assert_error(
        503,
        "not_configured",
        "This feature is not configured on the server. Set APPLE_CLIENT_IDS (and APPLE_JWKS_URL) to enable it.",
    );
}

#[tokio::test]
async fn apple_bad_bodies_are_400_and_change_nothing() {
    let (app, _jwks) = app_with_apple().await;
    app.post("/auth/apple", None, None).await.assert_error(400, "empty_body", MSG_EMPTY);
    let good = token("grace@example.com");
    let long = "a".repeat(51);
    for body in [
        json!({}),
        json!({"id_token": 5}),
        json!({"id_token": good, "nonce": 7}),
        json!({"id_token": good, "first_name": ""}),
        json!({"id_token": good, "first_name": long}),
        json!({"id_token": good, "last_name": "Ada\nLovelace"}),
        json!({"id_token": good, "first_name": ["Ada"]}),
        json!({"id_token": good, "code": "12345"}),
        json!({"id_token": good, "email": "grace@example.com"}),
        json!([good]),
    ] {
        sign_in(&app, body).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn apple_public_key_is_optional_but_a_wrong_one_is_refused() {
    let jwks = FakeJwks::start().await;
    let app = TestApp::with_env(&[
        ("APPLE_CLIENT_IDS", BUNDLE_ID),
        ("APPLE_JWKS_URL", &jwks.url),
        ("PUBLIC_API_KEYS", "pk_app"),
    ])
    .await;
    let body = json!({"id_token": token("a@example.com")});
    app.post("/auth/apple", Some("pk_wrong"), Some(body.clone())).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.post("/auth/apple", Some("pk_app"), Some(body.clone()))
        .await
        .assert_success(201, "User registered successfully.");
    app.post("/auth/apple", None, Some(body)).await.assert_success(201, "User logged in successfully.");
}

#[tokio::test]
async fn apple_sign_in_honours_two_factor_like_login() {
    let (app, _jwks) = app_with_apple().await;
    let (id, bearer) = app.active_user("grace@example.com").await;
    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.post("/users/grace@example.com/otp/TWO_FACTOR_AUTH", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.smtp.last_code_for("grace@example.com").await;
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");
    let id_token = token("grace@example.com");
    let sessions = app.count(entity::sessions::Entity).await;

    let blocked = sign_in(&app, json!({"id_token": id_token})).await;
    blocked.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(blocked.data(), &json!({"is_2fa_enabled": true}));
    let wrong = sign_in(&app, json!({"id_token": id_token, "code": "000000"})).await;
    wrong.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(wrong.data(), &json!({"is_2fa_enabled": true}));
    assert_eq!(app.count(entity::sessions::Entity).await, sessions, "no session without the second factor");

    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.post("/users/grace@example.com/otp/TWO_FACTOR_AUTH", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.smtp.last_code_for("grace@example.com").await;
    let ok = sign_in(&app, json!({"id_token": id_token, "code": code})).await;
    ok.assert_success(201, "User logged in successfully.");
    assert_eq!(ok.data()["id"], id.as_str());
}

// As for Google (issue 11, item 8): someone registered the owner's address with their own
// password; the owner signs in with Apple, and that password and session stop working.
#[tokio::test]
async fn apple_sign_in_takes_over_a_never_activated_registration() {
    let (app, _jwks) = app_with_apple().await;
    let (id, registrant_session) = app.register("victim@example.com").await;
    let reply = sign_in(&app, json!({"id_token": token("victim@example.com"), "first_name": "Victim"})).await;
    reply.assert_success(201, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
    assert_eq!(reply.data()["is_active"], true);
    let owner = format!("Bearer {}", reply.data()["token"].as_str().unwrap());
    app.login("victim@example.com", PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{id}"), Some(&registrant_session)).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.get(&format!("/users/{id}"), Some(&owner)).await.assert_success(200, "User fetched successfully.");
}
