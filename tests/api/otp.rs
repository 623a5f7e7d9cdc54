use std::time::Duration;

use serde_json::json;

use crate::support::*;

async fn activate(app: &TestApp, code: &str) -> Reply {
    app.post("/users/ada@example.com/activate", None, Some(json!({"code": code}))).await
}

#[tokio::test]
async fn activation_works_once_and_activates() {
    let app = TestApp::new().await;
    let (id, bearer) = app.register("ada@example.com").await;
    let code = app.last_code_for("ada@example.com").await;
    let reply = activate(&app, &code).await;
    reply.assert_success(200, "User activated successfully.");
    assert_eq!(reply.data()["is_active"], true);
    assert!(reply.data().get("token").is_none());
    let again = activate(&app, &code).await;
    again.assert_error(400, "already_active", "User account is already activated.");
    // Activation ended Register's session; the client logs in.
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    let session = app.session("ada@example.com").await;
    app.get(&format!("/users/{id}"), Some(&session)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn a_code_is_single_use() {
    let app = TestApp::new().await;
    app.active_user("ada@example.com").await;
    app.post("/users/ada@example.com/otp/CHANGE_PASSWORD", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("ada@example.com").await;
    let change = |password: &'static str| {
        let code = code.clone();
        let app = &app;
        async move {
            app.call(
                poem::http::Method::PATCH,
                "/users/ada@example.com/password",
                None,
                Some(json!({"password": password, "code": code})),
            )
            .await
        }
    };
    change("first new password").await.assert_success(200, "User password changed successfully.");
    change("second new password").await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.login("ada@example.com", "first new password", None).await.assert_success(200, "User logged in successfully.");
}

#[tokio::test]
async fn a_code_expires_after_its_ttl() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    let code = app.last_code_for("ada@example.com").await;
    app.state.clock.advance(Duration::from_secs(10 * 60 + 1));
    activate(&app, &code).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // The expired row is gone, and a new code works.
    app.post("/users/ada@example.com/otp/ACTIVATION", None, None).await.assert_success(201, "OTP sent successfully.");
    let fresh = app.last_code_for("ada@example.com").await;
    activate(&app, &fresh).await.assert_success(200, "User activated successfully.");
}

#[tokio::test]
async fn a_newer_code_replaces_the_older() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    let first = app.last_code_for("ada@example.com").await;
    let mut second = first.clone();
    // Codes are random: ask until the new one differs, so the test means something.
    while second == first {
        app.post("/users/ada@example.com/otp/ACTIVATION", None, None)
            .await
            .assert_success(201, "OTP sent successfully.");
        second = app.last_code_for("ada@example.com").await;
    }
    assert_eq!(app.count(entity::otp_codes::Entity).await, 1);
    activate(&app, &first).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    activate(&app, &second).await.assert_success(200, "User activated successfully.");
}

#[tokio::test]
async fn five_wrong_tries_burn_the_code() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    let code = app.last_code_for("ada@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        activate(&app, wrong).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    activate(&app, &code).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn four_wrong_tries_do_not() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    let code = app.last_code_for("ada@example.com").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..4 {
        activate(&app, wrong).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    activate(&app, &code).await.assert_success(200, "User activated successfully.");
}

#[tokio::test]
async fn send_otp_checks_type_and_user() {
    let app = TestApp::new().await;
    app.active_user("ada@example.com").await;
    let before = app.snapshot().await;
    for otp_type in ["activation", "Two_Factor_Auth", "RESET", "DELETE_EVERYTHING", ""] {
        let reply = app.post(&format!("/users/ada@example.com/otp/{otp_type}"), None, None).await;
        assert!(matches!(reply.status, 400 | 404), "{otp_type}: {}", reply.body);
        assert_eq!(reply.body["status"], "error");
    }
    app.post("/users/ada@example.com/otp/activation", None, None).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.post("/users/nobody@example.com/otp/TWO_FACTOR_AUTH", None, None).await.assert_error(
        404,
        "user_not_found",
        "User with the given identifier does not exist.",
    );
    app.post("/users/not-an-email/otp/TWO_FACTOR_AUTH", None, None).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    app.post("/users/ada@example.com/otp/ACTIVATION", None, None).await.assert_error(
        400,
        "already_active",
        "User account is already activated.",
    );
    assert_eq!(app.snapshot().await, before);
    for otp_type in ["TWO_FACTOR_AUTH", "CHANGE_PASSWORD"] {
        let reply = app.post(&format!("/users/ada@example.com/otp/{otp_type}"), None, None).await;
        reply.assert_success(201, "OTP sent successfully.");
        assert!(reply.data().is_null());
    }
}

#[tokio::test]
async fn activate_checks_body_and_user() {
    let app = TestApp::new().await;
    app.register("ada@example.com").await;
    for body in [
        json!({}),
        json!({"code": 123456}),
        json!({"code": "12345"}),
        json!({"code": "abcdef"}),
        json!({"code": "123456", "x": 1}),
    ] {
        app.post("/users/ada@example.com/activate", None, Some(body)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    app.post("/users/nobody@example.com/activate", None, Some(json!({"code": "123456"}))).await.assert_error(
        404,
        "user_not_found",
        "User with the given identifier does not exist.",
    );
}
