use poem::http::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn enable_with_mailed_code_then_login_needs_a_code() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let code = app.mailed_code("ada@example.com", "TWO_FACTOR_AUTH").await;
    let reply = app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code}))).await;
    reply.assert_success(200, "User 2FA enabled successfully.");
    assert!(reply.data().is_null());

    let blocked = app.login("ada@example.com", PASSWORD, None).await;
    blocked.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(blocked.data(), &json!({"is_2fa_enabled": true}));
    // A wrong password says nothing about 2FA.
    let wrong = app.login("ada@example.com", "not the password", None).await;
    wrong.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert!(wrong.data().is_null());
    app.login("ada@example.com", PASSWORD, Some("000000")).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );

    let code = app.mailed_code("ada@example.com", "TWO_FACTOR_AUTH").await;
    let ok = app.login("ada@example.com", PASSWORD, Some(&code)).await;
    ok.assert_success(200, "User logged in successfully.");
    assert_eq!(ok.data()["is_2fa_enabled"], true);

    let code = app.mailed_code("ada@example.com", "TWO_FACTOR_AUTH").await;
    let off = app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code}))).await;
    assert_eq!(off.status, 204);
    app.login("ada@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn wrong_code_on_enable_or_disable_reports_the_state() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let reply = app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": "000000"}))).await;
    reply.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(reply.data(), &json!({"is_2fa_enabled": false}));
    let code = app.mailed_code("ada@example.com", "TWO_FACTOR_AUTH").await;
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");
    let reply =
        app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": "000000"}))).await;
    reply.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(reply.data(), &json!({"is_2fa_enabled": true}));
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": "12"}))).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), None).await.assert_error(400, "empty_body", MSG_EMPTY);
}

fn app_code_now(app: &TestApp, secret: &str, offset_steps: i64) -> String {
    let key = data_encoding::BASE32_NOPAD.decode(secret.as_bytes()).unwrap();
    let at = (app.state.clock.now_secs() + offset_steps * 30) as u64;
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &key, at)
}

#[tokio::test]
async fn authenticator_app_enrolment_and_login() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let enrol = app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"password": PASSWORD}))).await;
    enrol.assert_success(201, "TOTP enrolment started successfully.");
    let secret = enrol.data()["secret"].as_str().unwrap().to_string();
    let url = enrol.data()["otpauth_url"].as_str().unwrap();
    assert!(url.starts_with("otpauth://totp/Clara%3Aada%40example.com?secret=") && url.contains(&secret), "{url}");
    // Enrolment alone does not turn 2FA on.
    app.login("ada@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");

    let code = app_code_now(&app, &secret, 0);
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code})))
        .await
        .assert_success(200, "User 2FA enabled successfully.");
    // The same step cannot be used twice.
    app.login("ada@example.com", PASSWORD, Some(&code)).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // The next step (within the ±1 window) works once.
    let next = app_code_now(&app, &secret, 1);
    app.login("ada@example.com", PASSWORD, Some(&next)).await.assert_success(200, "User logged in successfully.");
    app.login("ada@example.com", PASSWORD, Some(&next)).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // Codes far from now are refused.
    app.state.clock.advance(std::time::Duration::from_secs(120));
    let stale = app_code_now(&app, &secret, -3);
    app.login("ada@example.com", PASSWORD, Some(&stale)).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // Once an app is enrolled, the e-mailed code no longer passes (issue 11, item 9).
    let mailed = app.mailed_code("ada@example.com", "TWO_FACTOR_AUTH").await;
    app.login("ada@example.com", PASSWORD, Some(&mailed)).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // An app code turns it off.
    let now = app_code_now(&app, &secret, 0);
    assert_eq!(
        app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": now}))).await.status,
        204
    );
    app.login("ada@example.com", PASSWORD, None).await.assert_success(200, "User logged in successfully.");
}

/// An account deleted between the credential check (answered from the authentication cache)
/// and the write: the write finds no row and answers 404, as documented, never 500.
#[tokio::test]
async fn writes_to_an_account_deleted_under_them_are_404() {
    use sea_orm::EntityTrait;
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("vanishing@example.com").await;
    // Cached: the next requests authenticate without reading the row.
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");
    entity::users::Entity::delete_by_id(id.clone()).exec(&app.state.db).await.unwrap();
    let gone = "User with the given identifier does not exist.";
    app.call(Method::PATCH, &format!("/users/{id}"), Some(&bearer), Some(json!({"is_dark_mode": false})))
        .await
        .assert_error(404, "user_not_found", gone);
    app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), Some(json!({"password": PASSWORD}))).await.assert_error(
        404,
        "user_not_found",
        gone,
    );
}
