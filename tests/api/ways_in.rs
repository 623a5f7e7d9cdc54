//! A stolen session cannot become a permanent way in: adding a passkey or an authenticator
//! needs a fresh proof (the password, or a current second factor), each added passkey is
//! mailed to the address, "end all other sessions" also ends the API key, and activating
//! an address ends everything its registrant (maybe a squatter) held.

use poem::http::Method;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::{
    passkeys::{Device, REJECTED, app as passkey_app, creation_options, register, register_proving, sign_in, vars},
    support::{google::*, *},
};

fn proof_wanted(reply: &Reply, code: &str, is_2fa_enabled: bool, proof: &str) {
    reply.assert_error(401, code, MSG_UNAUTHORIZED);
    assert_eq!(reply.data(), &json!({"is_2fa_enabled": is_2fa_enabled, "proof": proof}), "{}", reply.body);
}

async fn change_password(app: &TestApp, email: &str) {
    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.post(&format!("/users/{email}/otp/CHANGE_PASSWORD"), None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for(email).await;
    let body = json!({"password": "a brand new password", "code": code});
    app.call(Method::PATCH, &format!("/users/{email}/password"), None, Some(body))
        .await
        .assert_success(200, "User password changed successfully.");
}

/// Issue 21, item 1: with only a copy of the session token, the thief added a passkey
/// (201), and after the victim reset the password it still signed in.
#[tokio::test]
async fn a_stolen_session_cannot_add_a_passkey_that_outlives_a_password_reset() {
    let app = passkey_app().await;
    let email = "victim@example.com";
    let (id, stolen) = app.active_user(email).await;

    // The session alone: the options ask for the password, and none are stored.
    for body in [None, Some(json!({})), Some(json!({"code": "123456"}))] {
        let reply = app.post(&format!("/users/{id}/passkeys/options"), Some(&stolen), body).await;
        proof_wanted(&reply, "proof_required", false, "password");
    }
    let wrong = creation_options(&app, &id, &stolen, json!({"password": "not the password"})).await;
    proof_wanted(&wrong, "proof_required", false, "password");
    // Without options of its own, an add finds nothing to finish.
    let credential = json!({"credential": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {
        "clientDataJSON": "e30", "attestationObject": "oA"}}});
    app.post(&format!("/users/{id}/passkeys"), Some(&stolen), Some(credential)).await.assert_error(
        400,
        "passkey_rejected",
        REJECTED,
    );
    assert_eq!(app.count(entity::passkeys::Entity).await, 0);
    assert_eq!(app.count(entity::passkey_challenges::Entity).await, 0);

    // The victim resets the password: the stolen session ends, and no passkey of the
    // thief's signs in.
    change_password(&app, email).await;
    app.get(&format!("/users/{id}"), Some(&stolen)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(entity::passkeys::Entity).await, 0);

    // The owner, who knows the password, adds one.
    let owner = app.login(email, "a brand new password", None).await;
    let owner = format!("Bearer {}", owner.data()["token"].as_str().unwrap());
    let body = json!({"password": "a brand new password"});
    let options = creation_options(&app, &id, &owner, body).await;
    options.assert_success(200, "Passkey creation options created successfully.");
    let mut device = Device::new();
    let credential = device.create(options.data());
    app.post(&format!("/users/{id}/passkeys"), Some(&owner), Some(json!({"credential": credential})))
        .await
        .assert_success(201, "Passkey added successfully.");
    sign_in(&app, &mut device).await.assert_success(200, "User logged in successfully.");
}

/// With 2FA on, the password is not enough: a current second factor is the proof, by
/// Login's rules (the app's code once an app is enrolled; a recovery code too).
#[tokio::test]
async fn with_two_factor_on_adding_a_passkey_needs_a_current_second_factor() {
    let app = passkey_app().await;
    let email = "twofa@example.com";
    let (id, bearer) = app.active_user(email).await;
    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");

    let password_only = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    proof_wanted(&password_only, "two_factor_required", true, "code");
    proof_wanted(
        &creation_options(&app, &id, &bearer, json!({"code": "000000"})).await,
        "two_factor_required",
        true,
        "code",
    );
    // A mailed code while no app is enrolled, as for Login; used once.
    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    creation_options(&app, &id, &bearer, json!({"code": code}))
        .await
        .assert_success(200, "Passkey creation options created successfully.");
    proof_wanted(
        &creation_options(&app, &id, &bearer, json!({"code": code})).await,
        "two_factor_required",
        true,
        "code",
    );
    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    register_proving(&app, &mut Device::new(), &id, &bearer, None, json!({"code": code}))
        .await
        .assert_success(201, "Passkey added successfully.");
}

/// An account with neither a password nor 2FA (Google sign-in only) proves the address: a
/// TWO_FACTOR_AUTH code mailed to it.
#[tokio::test]
async fn a_google_only_account_proves_with_a_mailed_code() {
    let jwks = google::start().await;
    let mut env = vars();
    env.extend([("GOOGLE_CLIENT_ID", CLIENT_ID), ("GOOGLE_JWKS_URL", jwks.url.as_str())]);
    let app = TestApp::with_env(&env).await;
    let email = "grace@example.com";
    let token = keys()[0].sign(&claims(email, CLIENT_ID, 600));
    let google = app.post("/auth/google", None, Some(json!({"id_token": token}))).await;
    google.assert_success(201, "User registered successfully.");
    let id = google.data()["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", google.data()["token"].as_str().unwrap());

    let none = app.post(&format!("/users/{id}/passkeys/options"), Some(&bearer), None).await;
    proof_wanted(&none, "proof_required", false, "code");
    // There is no password to give.
    proof_wanted(
        &creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await,
        "proof_required",
        false,
        "code",
    );
    let enrol = app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), None).await;
    proof_wanted(&enrol, "proof_required", false, "code");

    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    let mut device = Device::new();
    register_proving(&app, &mut device, &id, &bearer, None, json!({"code": code}))
        .await
        .assert_success(201, "Passkey added successfully.");
    let code = app.mailed_code(email, "TWO_FACTOR_AUTH").await;
    app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"code": code})))
        .await
        .assert_success(201, "TOTP enrolment started successfully.");
}

/// Issue 21, item 1: a stolen session enrolled the thief's authenticator with no password.
#[tokio::test]
async fn a_stolen_session_cannot_enrol_an_authenticator_without_the_password() {
    let app = TestApp::new().await;
    let (id, stolen) = app.active_user("ada@example.com").await;
    let path = format!("/users/{id}/2fa/totp");
    for body in [None, Some(json!({})), Some(json!({"password": "not the password"}))] {
        proof_wanted(&app.post(&path, Some(&stolen), body).await, "proof_required", false, "password");
    }
    let row = entity::users::Entity::find_by_id(id.clone()).one(&app.state.db).await.unwrap().unwrap();
    assert_eq!(row.totp_pending_secret, None, "no secret was made");
    let reply = app.post(&path, Some(&stolen), Some(json!({"password": PASSWORD}))).await;
    reply.assert_success(201, "TOTP enrolment started successfully.");
}

/// Wrong proofs are guesses: counted toward Login's lock (a password) before they are
/// checked, so the route gives no fresh budget to brute-force the password.
#[tokio::test]
async fn wrong_proofs_count_toward_the_login_lock() {
    let app = passkey_app().await;
    let email = "guessed@example.com";
    let (id, stolen) = app.active_user(email).await;
    for i in 0..10 {
        let guess = json!({"password": format!("guess number {i}")});
        proof_wanted(&creation_options(&app, &id, &stolen, guess).await, "proof_required", false, "password");
    }
    // Locked: the right password is not even checked, here or at Login.
    let locked = creation_options(&app, &id, &stolen, json!({"password": PASSWORD})).await;
    locked.assert_error(429, "rate_limited", "You have exceeded the rate limit.");
    let totp = app.post(&format!("/users/{id}/2fa/totp"), Some(&stolen), Some(json!({"password": PASSWORD}))).await;
    assert_eq!(totp.status, 429, "{}", totp.body);
    assert_eq!(app.login(email, PASSWORD, None).await.status, 429);
    // A missing proof is only the prompt: not counted, and it says what to send.
    app.state.clock.advance(std::time::Duration::from_secs(16 * 60));
    for _ in 0..12 {
        let prompt = app.post(&format!("/users/{id}/passkeys/options"), Some(&stolen), None).await;
        proof_wanted(&prompt, "proof_required", false, "password");
    }
    creation_options(&app, &id, &stolen, json!({"password": PASSWORD}))
        .await
        .assert_success(200, "Passkey creation options created successfully.");
}

/// The proof is given once, with the options; the add is bound to them: only the session
/// that proved can finish, so another copy of a session cannot ride on the owner's proof.
#[tokio::test]
async fn only_the_session_that_proved_can_finish_adding_the_passkey() {
    let app = passkey_app().await;
    let email = "bound@example.com";
    let (id, owner) = app.active_user(email).await;
    let other = app.session(email).await;
    let options = creation_options(&app, &id, &owner, json!({"password": PASSWORD})).await;
    let credential = json!({"credential": Device::new().create(options.data())});
    app.post(&format!("/users/{id}/passkeys"), Some(&other), Some(credential.clone())).await.assert_error(
        400,
        "passkey_rejected",
        REJECTED,
    );
    assert_eq!(app.count(entity::passkeys::Entity).await, 0);
    // The other session cannot even spend the owner's options.
    app.post(&format!("/users/{id}/passkeys"), Some(&owner), Some(credential))
        .await
        .assert_success(201, "Passkey added successfully.");
}

/// Each added passkey is announced to the address, with its name.
#[tokio::test]
async fn each_added_passkey_is_mailed_to_the_address() {
    let app = passkey_app().await;
    let email = "told@example.com";
    let (id, bearer) = app.active_user(email).await;
    let before = app.mails_to(email).len();
    register(&app, &mut Device::new(), &id, &bearer, Some("Work laptop"))
        .await
        .assert_success(201, "Passkey added successfully.");
    let mails = app.mails_to(email);
    assert_eq!(mails.len(), before + 1);
    let mail = &mails[before];
    assert_eq!(mail.subject, "A passkey was added to your Clara account");
    assert!(mail.text.contains("Work laptop") && mail.html.contains("Work laptop"), "{mail:?}");
}

/// A passkey is never added unannounced: when the notice cannot be mailed, it is taken
/// back and the answer is the 503.
#[tokio::test]
async fn a_passkey_whose_notice_cannot_be_mailed_is_not_added() {
    let app = passkey_app().await;
    let (id, bearer) = app.active_user("unmailed@example.com").await;
    // Another process on the same database whose mail server refuses connections.
    let mut config = app.state.config.clone();
    config.mail.smtp_url = Some("smtp://127.0.0.1:9".into());
    let broken = clara_backend::build_state(config, Default::default()).await.unwrap();
    let client = poem::test::TestClient::new(clara_backend::app(broken));
    let options = creation_options(&app, &id, &bearer, json!({"password": PASSWORD})).await;
    let credential = Device::new().create(options.data());
    let response = client
        .post(format!("/api/v1/users/{id}/passkeys"))
        .header("Authorization", &bearer)
        .body_json(&json!({"credential": credential}))
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.0.into_body().into_json().await.unwrap();
    assert_eq!(body["code"], "mail_unavailable", "{body}");
    assert_eq!(app.count(entity::passkeys::Entity).await, 0);
}

/// Issue 21, item 1: "end all other sessions" left the API key the thief had read.
/// It is replaced now (as a password change does); passkeys stay.
#[tokio::test]
async fn ending_the_other_sessions_also_replaces_the_api_key() {
    let app = passkey_app().await;
    let email = "ended@example.com";
    let (id, stolen) = app.active_user(email).await;
    let key_path = format!("/users/{id}/api_key");
    let thiefs_key = app.get(&key_path, Some(&stolen)).await;
    let thiefs_key = format!("Bearer {}", thiefs_key.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{id}"), Some(&thiefs_key)).await.assert_success(200, "User fetched successfully.");
    let owner = app.session(email).await;
    register(&app, &mut Device::new(), &id, &owner, None).await.assert_success(201, "Passkey added successfully.");

    let reply = app.call(Method::DELETE, &format!("/users/{id}/sessions"), Some(&owner), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    for gone in [&stolen, &thiefs_key] {
        app.get(&format!("/users/{id}"), Some(gone)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    let fresh = app.get(&key_path, Some(&owner)).await;
    let fresh = format!("Bearer {}", fresh.data()["token"].as_str().unwrap());
    assert_ne!(fresh, thiefs_key);
    app.get(&format!("/users/{id}"), Some(&fresh)).await.assert_success(200, "User fetched successfully.");
    assert_eq!(app.count(entity::passkeys::Entity).await, 1, "passkeys stay");
}

/// Issue 21, item 4: someone registered the victim's address with their own password and
/// kept Register's token; once the owner entered the mailed activation code, the
/// squatter's session (and the API key it could then read) stayed valid.
#[tokio::test]
async fn activation_ends_every_session_and_api_key_made_before_it() {
    let app = TestApp::new().await;
    let email = "owner@example.com";
    let (id, squatter) = app.register(email).await;
    let code = app.last_code_for(email).await;
    // Seen before activation (cached in this process).
    app.get(&format!("/users/{id}"), Some(&squatter)).await.assert_success(200, "User fetched successfully.");
    app.post(&format!("/users/{email}/activate"), None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    app.get(&format!("/users/{id}"), Some(&squatter)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{id}/api_key"), Some(&squatter)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(entity::sessions::Entity).await, 0);
    assert_eq!(app.count(entity::api_keys::Entity).await, 0);
    // The owner logs in after activating.
    let owner = app.session(email).await;
    app.get(&format!("/users/{id}/api_key"), Some(&owner)).await.assert_success(200, "API key fetched successfully.");
}

/// The same, with an API key the registrant held before activation (written as one would
/// be had the account been usable), and on a second process: the revocation reaches every
/// process at once (through Redis when it is configured).
#[tokio::test]
async fn activation_revokes_the_registrants_credentials_on_every_process() {
    // Processes share changes through Redis; without it they run with the cache off.
    let shared = std::env::var("TEST_REDIS_URL").is_ok_and(|v| !v.is_empty());
    let app = TestApp::with_env(&[("AUTH_CACHE_TTL_SECS", if shared { "30" } else { "0" })]).await;
    let email = "spread@example.com";
    let (id, squatter) = app.register(email).await;
    let code = app.last_code_for(email).await;
    let key = clara_backend::services::api_keys::view(
        &app.state,
        &clara_backend::services::users::find_user(&app.state, &id).await.unwrap(),
    )
    .await
    .unwrap();
    let key = format!("Bearer {}", key.token);
    let other = poem::test::TestClient::new(clara_backend::app(app.second_process().await));
    let view = |auth: String| {
        let path = format!("/api/v1/users/{id}");
        let other = &other;
        async move { other.get(path).header("Authorization", auth).send().await.0.status().as_u16() }
    };
    // Both credentials checked (and cached) on the other process.
    for auth in [&squatter, &key] {
        assert_eq!(view(auth.clone()).await, 200);
        assert_eq!(view(auth.clone()).await, 200);
    }
    app.post(&format!("/users/{email}/activate"), None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    for auth in [&squatter, &key] {
        assert_eq!(view(auth.clone()).await, 401, "{auth} still works on the other process");
    }
}

/// The notice is a mail like the others: in the sandbox it lands in the mailbox, with no
/// code.
#[tokio::test]
async fn the_passkey_notice_shows_in_the_sandbox_mailbox() {
    let app = TestApp::sandbox(&vars()).await;
    let email = "boxed@example.com";
    let (id, _) = app.register(email).await;
    let mails = app.get(&format!("/sandbox/mailbox/{email}"), None).await;
    let code = mails.data()[0]["code"].as_str().unwrap().to_string();
    app.post(&format!("/users/{email}/activate"), None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    let bearer = app.session(email).await;
    register(&app, &mut Device::new(), &id, &bearer, Some("Phone"))
        .await
        .assert_success(201, "Passkey added successfully.");
    let mails = app.get(&format!("/sandbox/mailbox/{email}"), None).await;
    let notice = mails
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subject"] == "A passkey was added to your Clara account")
        .unwrap_or_else(|| panic!("no notice: {}", mails.body))
        .clone();
    assert_eq!((notice["otp_type"].clone(), notice["code"].clone()), (Value::Null, Value::Null));
    assert!(notice["text"].as_str().unwrap().contains("\n    Phone\n"), "{notice}");
    assert!(notice["html"].as_str().unwrap().contains("Phone"), "{notice}");
}
