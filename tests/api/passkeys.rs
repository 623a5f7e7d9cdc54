//! Passkeys: whole registration and sign-in ceremonies against the real
//! routes, with webauthn-authenticator-rs's software authenticator (`SoftPasskey`) doing
//! the authenticator's cryptography.
//!
//! `SoftPasskey` keeps no discoverable (resident) credentials, so the test plays the part
//! a browser with a passkey provider plays: it tells the authenticator which credential to
//! use (the one it made at registration) and fills in `userHandle` (the `user.id` of the
//! creation options, which a real passkey stores with the credential). Neither is covered
//! by the signature, so the server checks exactly what it checks for a real passkey.

use entity::{passkey_challenges, passkeys, security_events};
use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use webauthn_authenticator_rs::{WebauthnAuthenticator, softpasskey::SoftPasskey};
use webauthn_rs::prelude::{CreationChallengeResponse, PublicKeyCredential, RequestChallengeResponse, Url};
use webauthn_rs_proto::AllowCredentials;

use crate::support::{google::*, *};

pub const RP_ID: &str = "clara.test";
pub const ORIGIN: &str = "https://clara.test";
/// A second allowed origin (an app's associated domain, a second web front end).
const OTHER_ORIGIN: &str = "https://www.clara.test";
const NOT_CONFIGURED: &str = "This feature is not configured on the server. Set WEBAUTHN_RP_ID (and \
                              WEBAUTHN_ORIGINS, WEBAUTHN_RP_NAME) to enable it.";
pub const REJECTED: &str = "The passkey could not be registered: the registration was not started, has expired or was \
                        already finished, the credential does not answer it, or it is already registered.";
const LAST: &str = "This passkey is the account's last way to sign in: set a password or add another passkey first.";

pub fn vars() -> Vec<(&'static str, &'static str)> {
    vec![("WEBAUTHN_RP_ID", RP_ID), ("WEBAUTHN_ORIGINS", "https://clara.test, https://www.clara.test")]
}

pub async fn app() -> TestApp {
    TestApp::with_env(&vars()).await
}

/// A software authenticator and what a passkey provider would remember with its credential.
pub struct Device {
    authenticator: SoftPasskey,
    credential_id: Option<Vec<u8>>,
    user_handle: Option<Vec<u8>>,
}

impl Device {
    pub fn new() -> Self {
        // `true`: report user verification (a PIN or biometric), which passkeys require.
        Self { authenticator: SoftPasskey::new(true), credential_id: None, user_handle: None }
    }

    /// Answers creation options as `navigator.credentials.create` would: the credential JSON.
    pub fn create(&mut self, options: &Value) -> Value {
        let mut options: CreationChallengeResponse = serde_json::from_value(options.clone()).expect("creation options");
        let selection = options.public_key.authenticator_selection.as_mut().expect("authenticatorSelection");
        // The server asks for a discoverable credential; this provider stores it itself.
        assert!(selection.require_resident_key, "a discoverable credential is required");
        selection.require_resident_key = false;
        self.user_handle = Some(options.public_key.user.id.to_vec());
        let credential = self.authenticator.do_registration(Url::parse(ORIGIN).unwrap(), options).expect("registers");
        self.credential_id = Some(credential.raw_id.to_vec());
        serde_json::to_value(&credential).unwrap()
    }

    /// Answers sign-in options as `navigator.credentials.get` would, from `origin`.
    pub fn get(&mut self, options: &Value, origin: &str) -> Value {
        let mut request: RequestChallengeResponse =
            serde_json::from_value(json!({"publicKey": options["publicKey"], "mediation": options["mediation"]}))
                .expect("request options");
        assert!(request.public_key.allow_credentials.is_empty(), "a discoverable sign-in names no credential");
        request.public_key.allow_credentials.push(AllowCredentials {
            type_: "public-key".into(),
            id: self.credential_id.clone().expect("registered"),
            transports: None,
        });
        let mut credential: PublicKeyCredential =
            self.authenticator.do_authentication(Url::parse(origin).unwrap(), request).expect("signs");
        credential.response.user_handle = self.user_handle.clone();
        serde_json::to_value(&credential).unwrap()
    }
}

/// Adds a passkey, proving with the test password (2FA off).
pub async fn register(app: &TestApp, device: &mut Device, user_id: &str, bearer: &str, name: Option<&str>) -> Reply {
    register_proving(app, device, user_id, bearer, name, json!({"password": PASSWORD})).await
}

/// Creation options asked for with `proof` (the fresh proof adding a way in needs).
pub async fn creation_options(app: &TestApp, user_id: &str, bearer: &str, proof: Value) -> Reply {
    app.post(&format!("/users/{user_id}/passkeys/options"), Some(bearer), Some(proof)).await
}

/// Adds a passkey, asking for its options with `proof`.
pub async fn register_proving(
    app: &TestApp,
    device: &mut Device,
    user_id: &str,
    bearer: &str,
    name: Option<&str>,
    proof: Value,
) -> Reply {
    let options = creation_options(app, user_id, bearer, proof).await;
    options.assert_success(200, "Passkey creation options created successfully.");
    let credential = device.create(options.data());
    let mut body = json!({"credential": credential});
    if let Some(name) = name {
        body["name"] = json!(name);
    }
    app.post(&format!("/users/{user_id}/passkeys"), Some(bearer), Some(body)).await
}

/// A started sign-in: (challenge id, the device's answer).
pub async fn assertion(app: &TestApp, device: &mut Device, origin: &str) -> (String, Value) {
    let options = app.post("/auth/passkey/options", None, None).await;
    options.assert_success(200, "Passkey sign-in options created successfully.");
    let challenge_id = options.data()["challenge_id"].as_str().unwrap().to_string();
    (challenge_id, device.get(options.data(), origin))
}

pub async fn sign_in_with(app: &TestApp, challenge_id: &str, credential: &Value) -> Reply {
    app.post("/auth/passkey", None, Some(json!({"credential": credential, "challenge_id": challenge_id}))).await
}

pub async fn sign_in(app: &TestApp, device: &mut Device) -> Reply {
    let (challenge_id, credential) = assertion(app, device, ORIGIN).await;
    sign_in_with(app, &challenge_id, &credential).await
}

async fn stored_counter(app: &TestApp, passkey_id: &str) -> u64 {
    let row = passkeys::Entity::find_by_id(passkey_id.to_string()).one(&app.state.db).await.unwrap().unwrap();
    let credential: Value = serde_json::from_str(&row.credential).unwrap();
    credential["cred"]["counter"].as_u64().expect("counter in the stored Passkey")
}

#[tokio::test]
async fn a_passkey_registers_lists_and_signs_in_with_a_working_token() {
    let app = app().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let mut device = Device::new();

    let options = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    let public_key = &options.data()["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID);
    assert_eq!(public_key["rp"]["name"], "Clara");
    assert_eq!(public_key["user"]["name"], "ada@example.com");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");

    let added = register(&app, &mut device, &id, &bearer, Some("  MacBook ")).await;
    added.assert_success(201, "Passkey added successfully.");
    let passkey_id = added.data()["id"].as_str().unwrap().to_string();
    assert!(passkey_id.starts_with("passkey_"), "{passkey_id}");
    assert_eq!(added.data()["name"], "MacBook");
    assert!(added.data()["created_at"].as_str().unwrap().ends_with(" GMT"));
    assert_eq!(added.data()["last_used_at"], Value::Null);
    assert_eq!(added.data().as_object().unwrap().len(), 4, "no credential material: {}", added.body);

    let signed_in = sign_in(&app, &mut device).await;
    signed_in.assert_success(200, "User logged in successfully.");
    assert_eq!(signed_in.data()["id"], id.as_str());
    let token = format!("Bearer {}", signed_in.data()["token"].as_str().unwrap());
    assert_ne!(token, bearer);
    app.get(&format!("/users/{id}"), Some(&token)).await.assert_success(200, "User fetched successfully.");

    let listed = app.get(&format!("/users/{id}/passkeys"), Some(&token)).await;
    listed.assert_success(200, "Passkeys fetched successfully.");
    let list = listed.data().as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], passkey_id.as_str());
    assert!(list[0]["last_used_at"].as_str().unwrap().ends_with(" GMT"), "{}", listed.body);
    // The counter the authenticator signed is kept (webauthn-rs's `update_credential`).
    assert_eq!(stored_counter(&app, &passkey_id).await, 1);

    // From the second allowed origin too.
    let (challenge_id, credential) = assertion(&app, &mut device, OTHER_ORIGIN).await;
    sign_in_with(&app, &challenge_id, &credential).await.assert_success(200, "User logged in successfully.");
    assert_eq!(stored_counter(&app, &passkey_id).await, 2);

    // A second passkey without a name; the first is excluded from its options.
    let options = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    assert_eq!(options.data()["publicKey"]["excludeCredentials"].as_array().unwrap().len(), 1);
    let unnamed = register(&app, &mut Device::new(), &id, &bearer, None).await;
    unnamed.assert_success(201, "Passkey added successfully.");
    assert_eq!(unnamed.data()["name"], "Passkey");
    assert_eq!(app.get(&format!("/users/{id}/passkeys"), Some(&bearer)).await.data().as_array().unwrap().len(), 2);

    let kinds: Vec<String> = security_events::Entity::find()
        .filter(security_events::Column::UserId.eq(&id))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.iter().any(|k| k == "passkey_added"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "login_succeeded"), "{kinds:?}");
}

#[tokio::test]
async fn a_challenge_is_used_once_and_expires() {
    let app = app().await;
    let (id, bearer) = app.active_user("replay@example.com").await;
    let mut device = Device::new();
    register(&app, &mut device, &id, &bearer, None).await.assert_success(201, "Passkey added successfully.");

    let (challenge_id, credential) = assertion(&app, &mut device, ORIGIN).await;
    sign_in_with(&app, &challenge_id, &credential).await.assert_success(200, "User logged in successfully.");
    // The same answer again (a replayed assertion): its challenge is gone.
    sign_in_with(&app, &challenge_id, &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // An answer to one challenge sent with another: webauthn-rs refuses the challenge.
    let (other_challenge, _) = assertion(&app, &mut device, ORIGIN).await;
    sign_in_with(&app, &other_challenge, &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // An unknown challenge id.
    sign_in_with(&app, "passkey_challenge_0", &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);

    // Expiry: five minutes.
    let (challenge_id, credential) = assertion(&app, &mut device, ORIGIN).await;
    app.state.clock.advance(std::time::Duration::from_secs(301));
    sign_in_with(&app, &challenge_id, &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);

    // Registration: the options are used once too.
    let options = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    let mut second = Device::new();
    let credential = second.create(options.data());
    let body = json!({"credential": credential});
    app.post(&format!("/users/{id}/passkeys"), Some(&bearer), Some(body.clone()))
        .await
        .assert_success(201, "Passkey added successfully.");
    app.post(&format!("/users/{id}/passkeys"), Some(&bearer), Some(body)).await.assert_error(
        400,
        "passkey_rejected",
        REJECTED,
    );
    // Finished ceremonies leave nothing behind, and expired ones are swept when one starts.
    assert_eq!(app.count(passkey_challenges::Entity).await, 0);
}

#[tokio::test]
async fn a_ceremony_started_on_one_process_finishes_on_another() {
    let app = app().await;
    let (id, bearer) = app.active_user("two@example.com").await;
    let mut device = Device::new();
    register(&app, &mut device, &id, &bearer, None).await.assert_success(201, "Passkey added successfully.");
    let (challenge_id, credential) = assertion(&app, &mut device, ORIGIN).await;
    let other = app.second_process().await;
    let client = poem::test::TestClient::new(clara_backend::app(other));
    let response = client
        .post("/api/v1/auth/passkey")
        .body_json(&json!({"credential": credential, "challenge_id": challenge_id}))
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::OK);
}

/// A cloned authenticator: two copies of one key, one ahead of the other. The device signs
/// two challenges (counters 1 and 2); the later signature is used first, so when the
/// earlier one arrives its counter did not go up. webauthn-rs reports
/// `CredentialPossibleCompromise`: the sign-in is refused and recorded.
#[tokio::test]
async fn a_counter_that_goes_backwards_is_refused_and_recorded() {
    let app = app().await;
    let (id, bearer) = app.active_user("clone@example.com").await;
    let mut device = Device::new();
    let added = register(&app, &mut device, &id, &bearer, None).await;
    let passkey_id = added.data()["id"].as_str().unwrap().to_string();
    let (first_challenge, first) = assertion(&app, &mut device, ORIGIN).await;
    let (second_challenge, second) = assertion(&app, &mut device, ORIGIN).await;
    sign_in_with(&app, &second_challenge, &second).await.assert_success(200, "User logged in successfully.");
    assert_eq!(stored_counter(&app, &passkey_id).await, 2);
    let sessions = app.count(entity::sessions::Entity).await;
    sign_in_with(&app, &first_challenge, &first).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(entity::sessions::Entity).await, sessions, "no session");
    assert_eq!(stored_counter(&app, &passkey_id).await, 2, "the counter stays");
    let events = security_events::Entity::find()
        .filter(security_events::Column::Kind.eq("passkey_possibly_cloned"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id.as_deref(), Some(id.as_str()));
}

#[tokio::test]
async fn two_factor_accounts_sign_in_with_a_passkey_without_a_code() {
    let app = app().await;
    let email = "twofa@example.com";
    let (id, bearer) = app.active_user(email).await;
    app.enable_mailed_2fa(&id, email, &bearer).await;
    app.login(email, PASSWORD, None).await.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    // Adding the passkey needs a current second factor (here a mailed one: no app).
    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    let mut device = Device::new();
    register_proving(&app, &mut device, &id, &bearer, None, json!({"code": code}))
        .await
        .assert_success(201, "Passkey added successfully.");
    let reply = sign_in(&app, &mut device).await;
    reply.assert_success(200, "User logged in successfully.");
    assert_eq!(reply.data()["is_2fa_enabled"], true);
}

#[tokio::test]
async fn only_the_owner_sees_and_deletes_a_passkey() {
    let app = app().await;
    let (id, bearer) = app.active_user("owner@example.com").await;
    let (other, other_bearer) = app.active_user("other@example.com").await;
    let mut device = Device::new();
    let added = register(&app, &mut device, &id, &bearer, None).await;
    let passkey_id = added.data()["id"].as_str().unwrap().to_string();
    let path = format!("/users/{id}/passkeys/{passkey_id}");

    // Another user's path: 403 on every route.
    app.post(&format!("/users/{id}/passkeys/options"), Some(&other_bearer), None).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.post(&format!("/users/{id}/passkeys"), Some(&other_bearer), Some(json!({"credential": {}})))
        .await
        .assert_error(403, "forbidden", MSG_FORBIDDEN);
    app.get(&format!("/users/{id}/passkeys"), Some(&other_bearer)).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    app.call(Method::DELETE, &path, Some(&other_bearer), None).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    // Another user's passkey under one's own path: not found, as one that does not exist.
    let not_found = "Passkey with the given identifier does not exist.";
    app.call(Method::DELETE, &format!("/users/{other}/passkeys/{passkey_id}"), Some(&other_bearer), None)
        .await
        .assert_error(404, "passkey_not_found", not_found);
    app.call(Method::DELETE, &format!("/users/{id}/passkeys/passkey_0"), Some(&bearer), None).await.assert_error(
        404,
        "passkey_not_found",
        not_found,
    );
    assert!(
        app.get(&format!("/users/{other}/passkeys"), Some(&other_bearer)).await.data().as_array().unwrap().is_empty()
    );

    // An account with a password may delete its only passkey; it no longer signs in.
    let (challenge_id, credential) = assertion(&app, &mut device, ORIGIN).await;
    let reply = app.call(Method::DELETE, &path, Some(&bearer), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    sign_in_with(&app, &challenge_id, &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(passkeys::Entity).await, 0);
}

#[tokio::test]
async fn the_last_way_to_sign_in_cannot_be_deleted() {
    let jwks = google::start().await;
    let mut env = vars();
    env.extend([("GOOGLE_CLIENT_ID", CLIENT_ID), ("GOOGLE_JWKS_URL", jwks.url.as_str())]);
    let app = TestApp::with_env(&env).await;
    // A Google account has no password.
    let google = app
        .post(
            "/auth/google",
            None,
            Some(json!({"id_token": keys()[0].sign(&claims("grace@example.com", CLIENT_ID, 600))})),
        )
        .await;
    google.assert_success(201, "User registered successfully.");
    let id = google.data()["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", google.data()["token"].as_str().unwrap());
    // Neither a password nor 2FA: each passkey is added with a mailed code.
    let (mut first, mut second) = (Device::new(), Device::new());
    let mut added = vec![];
    for device in [&mut first, &mut second] {
        let code = app.mailed_code("grace@example.com", "TWO_FACTOR_AUTH").await;
        let reply = register_proving(&app, device, &id, &bearer, None, json!({"code": code})).await;
        reply.assert_success(201, "Passkey added successfully.");
        added.push(reply.data()["id"].as_str().unwrap().to_string());
    }
    let (one, two) = (&added[0], &added[1]);

    let reply = app.call(Method::DELETE, &format!("/users/{id}/passkeys/{one}"), Some(&bearer), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    app.call(Method::DELETE, &format!("/users/{id}/passkeys/{two}"), Some(&bearer), None).await.assert_error(
        409,
        "last_sign_in_method",
        LAST,
    );
    assert_eq!(app.count(passkeys::Entity).await, 1);
    sign_in(&app, &mut second).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn without_webauthn_rp_id_every_passkey_route_is_503() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("nokeys@example.com").await;
    let credential = json!({"credential": {"id": "AA"}, "challenge_id": "passkey_challenge_0"});
    let calls: Vec<(Method, String, Option<&str>, Option<Value>)> = vec![
        (Method::POST, "/auth/passkey/options".into(), None, None),
        (Method::POST, "/auth/passkey".into(), None, Some(credential)),
        (Method::POST, format!("/users/{id}/passkeys/options"), Some(&bearer), None),
        (Method::POST, format!("/users/{id}/passkeys"), Some(&bearer), Some(json!({"credential": {}}))),
        (Method::GET, format!("/users/{id}/passkeys"), Some(&bearer), None),
        (Method::DELETE, format!("/users/{id}/passkeys/passkey_0"), Some(&bearer), None),
    ];
    for (method, path, auth, body) in calls {
        app.call(method, &path, auth, body).await.assert_error(503, "not_configured", NOT_CONFIGURED);
    }
}

#[tokio::test]
async fn bad_bodies_are_400_and_change_nothing() {
    let app = app().await;
    let (id, bearer) = app.active_user("bad@example.com").await;
    let mut device = Device::new();
    let options = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    let credential = device.create(options.data());
    let path = format!("/users/{id}/passkeys");
    let before = app.snapshot().await;
    let mut not_a_credential = credential.clone();
    not_a_credential["response"] = json!("nope");
    let mut tampered = credential.clone();
    tampered["response"]["clientDataJSON"] = json!("e30");
    for body in [
        json!({}),
        json!({"credential": "text"}),
        json!({"credential": credential, "name": 5}),
        json!({"credential": credential, "extra": true}),
        json!({"credential": credential, "name": ""}),
        json!({"credential": credential, "name": "x".repeat(65)}),
        json!({"credential": credential, "name": "a\u{7}b"}),
        json!({"credential": not_a_credential}),
    ] {
        app.post(&path, Some(&bearer), Some(body)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    let reply = app.raw(Method::POST, &format!("/api/v1{path}"), &[("Authorization", &bearer)], None).await;
    reply.assert_error(400, "empty_body", MSG_EMPTY);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.count(passkeys::Entity).await, 0);
    // A credential that does not verify spends the options.
    app.post(&path, Some(&bearer), Some(json!({"credential": tampered}))).await.assert_error(
        400,
        "passkey_rejected",
        REJECTED,
    );
    assert_eq!(app.count(passkeys::Entity).await, 0);
    // The same credential, well formed, on fresh options: its challenge is the old one.
    creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    app.post(&path, Some(&bearer), Some(json!({"credential": credential}))).await.assert_error(
        400,
        "passkey_rejected",
        REJECTED,
    );
    // A registration never started.
    let (other, other_bearer) = app.active_user("other@example.com").await;
    app.post(&format!("/users/{other}/passkeys"), Some(&other_bearer), Some(json!({"credential": credential})))
        .await
        .assert_error(400, "passkey_rejected", REJECTED);

    // Creation options: the proof's shape.
    let options_path = format!("/users/{id}/passkeys/options");
    for body in [
        json!({"password": 5}),
        json!({"password": ""}),
        json!({"password": "x".repeat(73)}),
        json!({"code": "12"}),
        json!({"code": 123456}),
        json!({"password": PASSWORD, "extra": true}),
        json!([]),
    ] {
        app.post(&options_path, Some(&bearer), Some(body)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "text/plain")];
    let reply = app.raw(Method::POST, &format!("/api/v1{options_path}"), &headers, Some("password".into())).await;
    reply.assert_error(400, "empty_body", MSG_EMPTY);

    // Sign-in bodies.
    for body in [
        json!({}),
        json!({"credential": {}}),
        json!({"challenge_id": "passkey_challenge_0"}),
        json!({"credential": [], "challenge_id": "passkey_challenge_0"}),
        json!({"credential": {"id": "AA"}, "challenge_id": "passkey_challenge_0"}),
        json!({"credential": {}, "challenge_id": ""}),
    ] {
        app.post("/auth/passkey", None, Some(body)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    app.raw(Method::POST, "/api/v1/auth/passkey", &[], None).await.assert_error(400, "empty_body", MSG_EMPTY);
}

#[tokio::test]
async fn an_inactive_account_cannot_add_passkeys() {
    let app = app().await;
    let (id, bearer) = app.register("sleepy@example.com").await;
    creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.get(&format!("/users/{id}/passkeys"), Some(&bearer)).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.post(&format!("/users/{id}/passkeys"), Some(&bearer), Some(json!({"credential": {}}))).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.call(Method::DELETE, &format!("/users/{id}/passkeys/passkey_0"), Some(&bearer), None).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
}

#[tokio::test]
async fn a_deleted_account_takes_its_passkeys_and_ceremonies_with_it() {
    let mut env = vars();
    env.push(("ADMIN_API_KEY", ADMIN_KEY));
    let app = TestApp::with_env(&env).await;
    let (id, bearer) = app.active_user("gone@example.com").await;
    let mut device = Device::new();
    register(&app, &mut device, &id, &bearer, None).await.assert_success(201, "Passkey added successfully.");
    creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    let (challenge_id, credential) = assertion(&app, &mut device, ORIGIN).await;
    let reply = app.call(Method::DELETE, &format!("/users/{id}"), Some(ADMIN_KEY), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(app.count(passkeys::Entity).await, 0);
    let pending = passkey_challenges::Entity::find()
        .filter(passkey_challenges::Column::UserId.is_not_null())
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
    sign_in_with(&app, &challenge_id, &credential).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}
