//! Sign in with Apple against a fake Apple key set on 127.0.0.1 (the
//! fake Google's, which serves whatever keys a test signs with). Every token carries the
//! SHA-256 of a nonce the server issued, as the server requires by default; the nonce and
//! replay rules themselves are in `apple_once.rs`.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{
    google::{FakeJwks, keys},
    *,
};

/// An iOS app's bundle id and a web service id, both accepted audiences.
pub const BUNDLE_ID: &str = "co.crazi.clara";
pub const SERVICE_ID: &str = "co.crazi.clara.web";

pub async fn app_with_apple() -> (TestApp, FakeJwks) {
    app_with_apple_and(&[]).await
}

/// An app with Apple configured and these variables on top.
pub async fn app_with_apple_and(extra: &[(&str, &str)]) -> (TestApp, FakeJwks) {
    let jwks = google::start().await;
    let ids = format!("{BUNDLE_ID}, {SERVICE_ID}");
    let mut vars = vec![("APPLE_CLIENT_IDS", ids.as_str()), ("APPLE_JWKS_URL", jwks.url.as_str())];
    vars.extend_from_slice(extra);
    let app = TestApp::with_env(&vars).await;
    (app, jwks)
}

pub fn sha256_hex(text: &str) -> String {
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// A nonce issued by the server, as an app asks for one before it starts Sign in with Apple.
pub async fn server_nonce(app: &TestApp) -> String {
    let reply = app.post("/auth/apple/nonce", None, None).await;
    reply.assert_success(200, "Nonce created successfully.");
    reply.data()["nonce"].as_str().expect("nonce").to_string()
}

/// Apple's claims: strings for the booleans, the hashed nonce the app put in its request.
pub fn apple_claims(email: &str, aud: &str, exp_offset: i64, nonce: &str) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    json!({
        "iss": "https://appleid.apple.com", "aud": aud, "sub": "001234.0a1b2c3d4e5f.1234",
        "email": email, "email_verified": "true", "is_private_email": "false",
        "nonce": sha256_hex(nonce), "nonce_supported": true, "auth_time": now,
        "iat": now, "exp": now + exp_offset,
    })
}

/// A fresh identity token for `email`, over a nonce the server just issued.
pub async fn token(app: &TestApp, email: &str) -> String {
    let nonce = server_nonce(app).await;
    keys()[0].sign(&apple_claims(email, BUNDLE_ID, 600, &nonce))
}

pub async fn sign_in(app: &TestApp, body: Value) -> Reply {
    app.post("/auth/apple", None, Some(body)).await
}

#[tokio::test]
async fn apple_new_address_registers_with_the_body_names_then_logs_in() {
    let (app, _jwks) = app_with_apple().await;
    let relay = "x7kq2m9p4t@privaterelay.appleid.com";
    // The app may send the nonce it was given too: the claim is its SHA-256.
    let nonce = server_nonce(&app).await;
    let id_token = keys()[0].sign(&apple_claims(relay, BUNDLE_ID, 600, &nonce));
    let body = json!({"id_token": id_token, "nonce": nonce, "first_name": "ada", "last_name": "lovelace"});
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
    let again = json!({"id_token": token(&app, relay).await, "first_name": "Someone", "last_name": "Else"});
    let second = sign_in(&app, again).await;
    second.assert_success(201, "User logged in successfully.");
    assert_eq!(second.data()["id"], id.as_str());
    assert_eq!(second.data()["first_name"], "Ada");
    // No password was set.
    app.login(relay, PASSWORD, None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn apple_sign_in_without_names_or_body_nonce_and_for_a_service_id() {
    let (app, _jwks) = app_with_apple().await;
    // No names: the address's local part; no nonce in the body: the claim's is enough.
    let reply = sign_in(&app, json!({"id_token": token(&app, "grace@example.com").await, "first_name": null})).await;
    reply.assert_success(201, "User registered successfully.");
    assert_eq!(reply.data()["first_name"], "Grace");
    assert_eq!(reply.data()["last_name"], Value::Null);
    // The web flow's service id is an audience too; Apple's boolean as a JSON boolean.
    let mut claims = apple_claims("grace@example.com", SERVICE_ID, 600, &server_nonce(&app).await);
    claims["email_verified"] = json!(true);
    sign_in(&app, json!({"id_token": keys()[0].sign(&claims)}))
        .await
        .assert_success(201, "User logged in successfully.");
    // A known account logs in.
    let (id, _) = app.active_user("owner@example.com").await;
    let reply = sign_in(&app, json!({"id_token": token(&app, "Owner@Example.com").await})).await;
    reply.assert_success(201, "User logged in successfully.");
    assert_eq!(reply.data()["id"], id.as_str());
    app.login("owner@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

// With APPLE_REQUIRE_NONCE=false the app's own nonce may still be checked: sent in the
// body, the claim must be it or its SHA-256.
#[tokio::test]
async fn apple_body_nonce_is_accepted_raw_or_hashed_and_a_mismatch_is_401() {
    let (app, _jwks) = app_with_apple_and(&[("APPLE_REQUIRE_NONCE", "false")]).await;
    let own = |n: &str| format!("app-nonce-{n}");
    // The claim is SHA-256(nonce) (the usual iOS flow).
    let hashed = keys()[0].sign(&apple_claims("a@example.com", BUNDLE_ID, 600, &own("1")));
    sign_in(&app, json!({"id_token": hashed, "nonce": own("1")}))
        .await
        .assert_success(201, "User registered successfully.");
    // The claim is the nonce itself.
    let mut raw = apple_claims("a@example.com", BUNDLE_ID, 600, "");
    raw["nonce"] = json!(own("2"));
    sign_in(&app, json!({"id_token": keys()[0].sign(&raw), "nonce": own("2")}))
        .await
        .assert_success(201, "User logged in successfully.");
    let before = app.snapshot().await;
    let mut missing = apple_claims("a@example.com", BUNDLE_ID, 600, "");
    missing.as_object_mut().unwrap().remove("nonce");
    let mut raw3 = raw.clone();
    raw3["nonce"] = json!(own("3"));
    for (id_token, nonce) in [
        (keys()[0].sign(&apple_claims("a@example.com", BUNDLE_ID, 600, &own("4"))), "another-nonce".to_string()),
        // The hash sent as the nonce: its hash is not the claim.
        (keys()[0].sign(&apple_claims("a@example.com", BUNDLE_ID, 600, &own("5"))), sha256_hex(&own("5")) + "0"),
        (keys()[0].sign(&raw3), sha256_hex(&own("3"))),
        (keys()[0].sign(&missing), own("6")),
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
    // Each token carries a live nonce: what is wrong with it is only what its case says.
    let mut cases = Vec::new();
    let mut add = async |what: &'static str, change: &dyn Fn(&mut Value) -> Option<String>| {
        let mut claims = apple_claims("grace@example.com", BUNDLE_ID, 600, &server_nonce(&app).await);
        let id_token = change(&mut claims).unwrap_or_else(|| keys()[0].sign(&claims));
        cases.push((what, id_token));
    };
    let set = |key: &'static str, value: Value| {
        move |claims: &mut Value| -> Option<String> {
            claims[key] = value.clone();
            None
        }
    };
    let remove = |key: &'static str| {
        move |claims: &mut Value| -> Option<String> {
            claims.as_object_mut().unwrap().remove(key);
            None
        }
    };
    add("wrong aud", &set("aud", json!("com.example.other-app"))).await;
    add("Google's aud", &set("aud", json!("clara-test.apps.googleusercontent.com"))).await;
    add("wrong iss", &set("iss", json!("https://accounts.google.com"))).await;
    add("lookalike iss", &set("iss", json!("https://appleid.apple.com.evil.example"))).await;
    add("expired", &|claims: &mut Value| {
        let exp = claims["exp"].as_i64().unwrap();
        claims["exp"] = json!(exp - 1200);
        None
    })
    .await;
    add("email_verified \"false\"", &set("email_verified", json!("false"))).await;
    add("email_verified false", &set("email_verified", json!(false))).await;
    add("no email_verified", &remove("email_verified")).await;
    add("no email", &remove("email")).await;
    add("not an address", &set("email", json!("not an address"))).await;
    add("bad signature", &|claims: &mut Value| {
        let valid = keys()[0].sign(claims);
        let (head, rest) = valid.split_once('.').unwrap();
        let (payload, _) = rest.split_once('.').unwrap();
        Some(format!("{head}.{payload}.{}", "A".repeat(342)))
    })
    .await;
    // Signed with a key of the right id that is not Apple's.
    add("HS256", &|claims: &mut Value| {
        let header = jsonwebtoken::Header { kid: Some(keys()[0].kid.clone()), ..Default::default() };
        Some(jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_secret(b"guess")).unwrap())
    })
    .await;
    add("not a JWT", &|_: &mut Value| Some("not.a.jwt".to_string())).await;
    add("empty", &|_: &mut Value| Some(String::new())).await;
    for (what, id_token) in cases {
        let reply = sign_in(&app, json!({"id_token": id_token})).await;
        assert_eq!((reply.status, reply.body["code"].as_str()), (401, Some("unauthorized")), "{what}: {}", reply.body);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn apple_unknown_key_id_makes_the_server_refetch() {
    let (app, jwks) = app_with_apple().await;
    sign_in(&app, json!({"id_token": token(&app, "a@example.com").await}))
        .await
        .assert_success(201, "User registered successfully.");
    assert_eq!(jwks.fetched(), 1);
    sign_in(&app, json!({"id_token": token(&app, "a@example.com").await}))
        .await
        .assert_success(201, "User logged in successfully.");
    assert_eq!(jwks.fetched(), 1, "the cached key set is used");
    // A key Apple does not (yet) publish: refused.
    let nonce = server_nonce(&app).await;
    let rotated = keys()[1].sign(&apple_claims("b@example.com", BUNDLE_ID, 600, &nonce));
    sign_in(&app, json!({"id_token": rotated.clone()})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // Apple rotates it in; after the refetch cooldown the unknown kid is fetched and accepted.
    jwks.add(&keys()[1]);
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    sign_in(&app, json!({"id_token": rotated})).await.assert_success(201, "User registered successfully.");
    assert!(jwks.fetched() >= 2);
}

#[tokio::test]
async fn without_client_ids_apple_sign_in_is_503() {
    let app = TestApp::new().await;
    let not_configured =
        "This feature is not configured on the server. Set APPLE_CLIENT_IDS (and APPLE_JWKS_URL) to enable it.";
    let reply = sign_in(&app, json!({"id_token": "anything"})).await;
    reply.assert_error(503, "not_configured", not_configured);
    app.post("/auth/apple/nonce", None, None).await.assert_error(503, "not_configured", not_configured);
    // Google's configuration does not turn Apple on; a blank list is no list.
    let app =
        TestApp::with_env(&[("GOOGLE_CLIENT_ID", "x.apps.googleusercontent.com"), ("APPLE_CLIENT_IDS", " , ")]).await;
    let id_token = keys()[0].sign(&apple_claims("a@example.com", BUNDLE_ID, 600, "n"));
    sign_in(&app, json!({"id_token": id_token})).await.assert_error(503, "not_configured", not_configured);
}

#[tokio::test]
async fn apple_bad_bodies_are_400_and_change_nothing() {
    let (app, _jwks) = app_with_apple().await;
    app.post("/auth/apple", None, None).await.assert_error(400, "empty_body", MSG_EMPTY);
    let good = token(&app, "grace@example.com").await;
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
    let (app, _jwks) = app_with_apple_and(&[("PUBLIC_API_KEYS", "pk_app")]).await;
    app.post("/auth/apple/nonce", Some("pk_wrong"), None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.post("/auth/apple/nonce", Some("pk_app"), None).await.assert_success(200, "Nonce created successfully.");
    let body = json!({"id_token": token(&app, "a@example.com").await});
    app.post("/auth/apple", Some("pk_wrong"), Some(body.clone())).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.post("/auth/apple", Some("pk_app"), Some(body)).await.assert_success(201, "User registered successfully.");
    let body = json!({"id_token": token(&app, "a@example.com").await});
    app.post("/auth/apple", None, Some(body)).await.assert_success(201, "User logged in successfully.");
}

// A refused second factor does not use the token up: the app asks for the code and sends
// the same token again.
#[tokio::test]
async fn apple_sign_in_honours_two_factor_like_login() {
    let (app, _jwks) = app_with_apple().await;
    let (id, bearer) = app.active_user("grace@example.com").await;
    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.enable_mailed_2fa(&id, "grace@example.com", &bearer).await;
    let id_token = token(&app, "grace@example.com").await;
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
    let code = app.last_code_for("grace@example.com").await;
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
    let body = json!({"id_token": token(&app, "victim@example.com").await, "first_name": "Victim"});
    let reply = sign_in(&app, body).await;
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
