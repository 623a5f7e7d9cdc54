//! Attacks on sign-in and second factors from the outside review (issue 11, items 2, 3,
//! 4, 5, 7, 9, 10, 11, 15 and the admin key). Each test reproduces the attack as it was
//! made against the released server, and asserts what it gets now.

use poem::http::Method;
use sea_orm::EntityTrait;
use serde_json::json;

use crate::support::*;

const LIMITED: &str = "You have exceeded the rate limit.";

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

fn app_code(app: &TestApp, secret: &str, offset_steps: i64) -> String {
    let key = data_encoding::BASE32_NOPAD.decode(secret.as_bytes()).unwrap();
    let at = (app.state.clock.now_secs() + offset_steps * 30) as u64;
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &key, at)
}

/// 2FA on through an authenticator app; returns the app's secret.
async fn enable_app_2fa(app: &TestApp, id: &str, bearer: &str) -> String {
    let enrol = app.post(&format!("/users/{id}/2fa/totp"), Some(bearer), Some(json!({"password": PASSWORD}))).await;
    enrol.assert_success(201, "TOTP enrolment started successfully.");
    let secret = enrol.data()["secret"].as_str().unwrap().to_string();
    let code = app_code(app, &secret, 0);
    app.post(&format!("/users/{id}/2fa"), Some(bearer), Some(json!({"code": code})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");
    secret
}

// Item 2: concurrency used to bypass the lockout (60 of 60 wrong passwords verified).
#[tokio::test]
async fn concurrent_wrong_passwords_verify_no_more_than_the_lockout_allows() {
    let app = TestApp::new().await;
    app.active_user("victim@example.com").await;
    let replies =
        futures_util::future::join_all((0..60).map(|_| app.login("victim@example.com", "wrong password!", None))).await;
    let verified = replies.iter().filter(|r| r.status == 401).count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    assert!(verified <= 10, "{verified} guesses were verified: {:?}", statuses(&replies));
    assert_eq!(verified + limited, 60, "{:?}", statuses(&replies));
    for reply in replies.iter().filter(|r| r.status == 429) {
        reply.assert_error(429, "rate_limited", LIMITED);
    }
    // The account is locked now, even for the right password.
    app.login("victim@example.com", PASSWORD, None).await.assert_error(429, "rate_limited", LIMITED);
}

#[tokio::test]
async fn concurrent_wrong_codes_verify_no_more_than_the_lockout_allows() {
    let app = TestApp::new().await;
    app.register("code@example.com").await;
    let replies = futures_util::future::join_all(
        (0..40).map(|i| app.post("/users/code@example.com/activate", None, Some(json!({"code": format!("{i:06}")})))),
    )
    .await;
    let verified = replies.iter().filter(|r| r.status == 401).count();
    assert!(verified <= 10, "{verified} codes were checked: {:?}", statuses(&replies));
    assert!(replies.iter().all(|r| matches!(r.status, 401 | 429 | 200)), "{:?}", statuses(&replies));
}

#[tokio::test]
async fn concurrent_wrong_app_and_recovery_codes_at_login_are_bounded_too() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("app@example.com").await;
    enable_app_2fa(&app, &id, &bearer).await;
    let guesses: Vec<String> =
        (0..30).map(|i| if i % 2 == 0 { format!("{i:06}") } else { format!("abcde-{:05}", 22222 + i) }).collect();
    let replies =
        futures_util::future::join_all(guesses.iter().map(|g| app.login("app@example.com", PASSWORD, Some(g)))).await;
    let verified = replies.iter().filter(|r| r.status == 401).count();
    assert!(verified <= 10, "{verified} second factors were checked: {:?}", statuses(&replies));
}

// Item 3: spaces or tabs around the Basic e-mail used to open a fresh lock.
#[tokio::test]
async fn whitespace_around_the_email_does_not_escape_the_lock() {
    let app = TestApp::new().await;
    app.active_user("victim@example.com").await;
    for _ in 0..10 {
        app.login("victim@example.com", "wrong password!", None).await.assert_error(
            401,
            "unauthorized",
            MSG_UNAUTHORIZED,
        );
    }
    for variant in [" victim@example.com", "victim@example.com ", "\tvictim@example.com", "VICTIM@example.com\t"] {
        let reply = app.call(Method::POST, "/auth/session", Some(&basic(variant, "another guess!")), None).await;
        reply.assert_error(429, "rate_limited", LIMITED);
        let right = app.call(Method::POST, "/auth/session", Some(&basic(variant, PASSWORD)), None).await;
        right.assert_error(429, "rate_limited", LIMITED);
    }
}

// Item 4: extra spaces after `Bearer` used to give a fresh bucket each time.
#[tokio::test]
async fn respelling_the_authorization_header_does_not_reset_the_rate_limit() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "10")]).await;
    let (id, bearer) = app.register("spaces@example.com").await;
    let token = bearer.trim_start_matches("Bearer ").to_string();
    let headers: Vec<String> = (0..60)
        .map(|i| {
            let scheme = if i % 2 == 0 { "Bearer" } else { "bearer" };
            format!("{scheme}{}{token}{}", " ".repeat(1 + i % 7), " ".repeat(i % 3))
        })
        .collect();
    let path = format!("/users/{id}");
    let replies = futures_util::future::join_all(headers.iter().map(|h| app.get(&path, Some(h)))).await;
    let passed = replies.iter().filter(|r| r.status == 200).count();
    // Within a second boundary at most two windows' worth pass.
    assert!(passed <= 20, "{passed} of 60 passed a limit of 10: {:?}", statuses(&replies));
}

// Item 5: register hashed the password before it looked at the e-mail.
#[tokio::test]
async fn a_taken_email_is_refused_before_any_password_is_hashed() {
    let app = TestApp::new().await;
    app.register("taken@example.com").await;
    let hashes = || app.state.metrics.password_hashes.with_label_values(&["hash"]).get();
    let before = hashes();
    for _ in 0..5 {
        app.post(
            "/auth/register",
            None,
            Some(json!({"first_name": "eve", "email": " Taken@Example.com", "password": PASSWORD})),
        )
        .await
        .assert_error(400, "user_exists", "User with the given identifier already exists.");
    }
    assert_eq!(hashes(), before, "no bcrypt hash for a refused sign-up");
}

#[tokio::test]
async fn sign_ups_have_a_quota_per_client_address() {
    let app = TestApp::with_env(&[("SIGNUPS_PER_ADDRESS_HOUR", "3")]).await;
    for i in 0..3 {
        app.register(&format!("quota{i}@example.com")).await;
    }
    let refused = app
        .post(
            "/auth/register",
            None,
            Some(json!({"first_name": "eve", "email": "quota3@example.com", "password": PASSWORD})),
        )
        .await;
    refused.assert_error(429, "rate_limited", LIMITED);
    assert_eq!(app.count(entity::users::Entity).await, 3);
    app.state.clock.advance(std::time::Duration::from_secs(3601));
    app.register("quota3@example.com").await;
}

// Item 7: a stolen session could swap the authenticator while 2FA was on.
#[tokio::test]
async fn a_new_authenticator_needs_a_second_factor_while_2fa_is_on() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("owner@example.com").await;
    let secret = enable_app_2fa(&app, &id, &bearer).await;
    let codes = app
        .post(
            &format!("/users/{id}/2fa/recovery_codes"),
            Some(&bearer),
            Some(json!({"code": app_code(&app, &secret, 1)})),
        )
        .await;
    codes.assert_success(201, "Recovery codes created successfully.");
    let recovery: Vec<String> =
        codes.data()["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();

    // The thief has the session only.
    let stolen = app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), None).await;
    stolen.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(stolen.data(), &json!({"is_2fa_enabled": true, "proof": "code"}));
    // The password is not a second factor.
    let password = app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"password": PASSWORD}))).await;
    password.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    let wrong = app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"code": "000000"}))).await;
    wrong.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    // Nothing changed: the old app still signs in, the recovery codes still work.
    app.state.clock.advance(std::time::Duration::from_secs(90));
    app.login("owner@example.com", PASSWORD, Some(&app_code(&app, &secret, 0)))
        .await
        .assert_success(200, "User logged in successfully.");
    app.login("owner@example.com", PASSWORD, Some(&recovery[0]))
        .await
        .assert_success(200, "User logged in successfully.");

    // The owner, with a current code, moves to a new app; the recovery codes survive.
    app.state.clock.advance(std::time::Duration::from_secs(90));
    let enrol = app
        .post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"code": app_code(&app, &secret, 0)})))
        .await;
    enrol.assert_success(201, "TOTP enrolment started successfully.");
    let new_secret = enrol.data()["secret"].as_str().unwrap().to_string();
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": app_code(&app, &new_secret, 1)})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");
    app.login("owner@example.com", PASSWORD, Some(&recovery[1]))
        .await
        .assert_success(200, "User logged in successfully.");
    app.state.clock.advance(std::time::Duration::from_secs(90));
    app.login("owner@example.com", PASSWORD, Some(&app_code(&app, &secret, 0))).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    app.login("owner@example.com", PASSWORD, Some(&app_code(&app, &new_secret, 0)))
        .await
        .assert_success(200, "User logged in successfully.");
}

// Item 9: with an app enrolled, the mailbox alone used to pass 2FA.
#[tokio::test]
async fn mailed_codes_do_not_pass_once_an_app_is_enrolled() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("mailbox@example.com").await;
    let secret = enable_app_2fa(&app, &id, &bearer).await;
    let mailed = app.mailed_code("mailbox@example.com", "TWO_FACTOR_AUTH").await;
    app.login("mailbox@example.com", PASSWORD, Some(&mailed)).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    let mailed = app.mailed_code("mailbox@example.com", "TWO_FACTOR_AUTH").await;
    let off = app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": mailed}))).await;
    off.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    app.login("mailbox@example.com", PASSWORD, Some(&app_code(&app, &secret, 0)))
        .await
        .assert_success(200, "User logged in successfully.");
}

// Item 10: the API key used to survive a password change.
#[tokio::test]
async fn a_password_change_revokes_the_api_key() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("keyed@example.com").await;
    let key = app.get(&format!("/users/{id}/api_key"), Some(&bearer)).await;
    let key_bearer = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{id}"), Some(&key_bearer)).await.assert_success(200, "User fetched successfully.");
    app.state.clock.advance(std::time::Duration::from_secs(61));
    app.post("/users/keyed@example.com/otp/CHANGE_PASSWORD", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("keyed@example.com").await;
    app.call(
        Method::PATCH,
        "/users/keyed@example.com/password",
        Some(&bearer),
        Some(json!({"password": "a brand new password", "code": code})),
    )
    .await
    .assert_success(200, "User password changed successfully.");
    app.get(&format!("/users/{id}"), Some(&key_bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // A new key is made on the next view, and it works.
    let fresh = app.get(&format!("/users/{id}/api_key"), Some(&bearer)).await;
    fresh.assert_success(200, "API key fetched successfully.");
    assert_ne!(fresh.data()["token"], key.data()["token"]);
}

// Item 11: each locked-out login used to write a row with attacker-chosen fields.
#[tokio::test]
async fn repeated_security_events_are_aggregated_and_capped() {
    let app = TestApp::new().await;
    app.active_user("flooded@example.com").await;
    let long_agent = "A".repeat(5000);
    for i in 0..300 {
        let agent = format!("{long_agent}{i}");
        let email = if i % 2 == 0 { "flooded@example.com".to_string() } else { format!("nobody{i}@example.com") };
        app.raw(
            Method::POST,
            "/api/v1/auth/session",
            &[("Authorization", &basic(&email, "wrong password!")), ("User-Agent", &agent)],
            None,
        )
        .await;
    }
    let rows = entity::security_events::Entity::find().all(&app.state.db).await.unwrap();
    assert!(rows.len() <= 8, "{} rows for 300 failed logins", rows.len());
    let counted: i64 = rows.iter().filter(|r| r.kind != "login_succeeded").map(|r| i64::from(r.count)).sum();
    assert_eq!(counted, 300, "every attempt is still counted");
    for row in &rows {
        assert!(row.user_agent.as_deref().unwrap_or_default().len() <= 256);
        assert!(row.detail.as_deref().unwrap_or_default().len() <= 300);
    }
}

// Item 15: a client written against the docs sends `{}` or `{"code": null}`.
#[tokio::test]
async fn login_accepts_an_empty_object_and_a_null_code() {
    let app = TestApp::new().await;
    app.active_user("docs@example.com").await;
    let auth = basic("docs@example.com", PASSWORD);
    for body in [json!({}), json!({"code": null})] {
        app.call(Method::POST, "/auth/session", Some(&auth), Some(body))
            .await
            .assert_success(200, "User logged in successfully.");
    }
    app.call(Method::POST, "/auth/session", Some(&auth), None)
        .await
        .assert_success(200, "User logged in successfully.");
    // Other fields are still refused.
    app.call(Method::POST, "/auth/session", Some(&auth), Some(json!({"cod": "123456"}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
}

// Extra: failed admin-key attempts were not throttled.
#[tokio::test]
async fn wrong_admin_keys_lock_the_address() {
    let app = TestApp::with_env(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    for i in 0..10 {
        app.get("/users", Some(&format!("{ADMIN_KEY}{i}"))).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    app.get("/users", Some("guess-again")).await.assert_error(429, "rate_limited", LIMITED);
    // The lock holds for the right key too, from this address, until it expires.
    app.get("/users", Some(ADMIN_KEY)).await.assert_error(429, "rate_limited", LIMITED);
    app.state.clock.advance(std::time::Duration::from_secs(901));
    app.get("/users", Some(ADMIN_KEY)).await.assert_success(200, "Users fetched successfully.");
}

// Logins cut off by their clients (a timeout, a dropped connection) used to keep their
// place in the lockout count for the whole window: eight cut off at the end of a load
// run left the next correct login answered 429.
#[tokio::test]
async fn logins_abandoned_mid_flight_settle_their_lockout_count() {
    // Hashes slow enough that every login is still verifying when it is dropped.
    let app = TestApp::with_env(&[("BCRYPT_COST", "8")]).await;
    app.active_user("dropped@example.com").await;
    for _round in 0..2 {
        let logins: Vec<_> = (0..12).map(|_| app.login("dropped@example.com", PASSWORD, None)).collect();
        let abandoned =
            tokio::time::timeout(std::time::Duration::from_millis(50), futures_util::future::join_all(logins)).await;
        assert!(abandoned.is_err(), "the logins were dropped before they finished");
        // What the abandoned logins leave behind is settled in the background: a correct
        // login gets through once it is (without the fix the lock holds for 15 minutes).
        // Polled, not slept, so a loaded machine cannot make the next round start locked.
        correct_login_once_settled(&app, "dropped@example.com").await;
    }
}

async fn correct_login_once_settled(app: &TestApp, email: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let reply = app.login(email, PASSWORD, None).await;
        if reply.status == 200 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a correct login still answered {} 10 s after the logins were abandoned",
            reply.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
