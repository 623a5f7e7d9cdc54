use poem::http::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn view_and_update_own_account() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let view = app.get(&format!("/users/{id}"), Some(&bearer)).await;
    view.assert_success(200, "User fetched successfully.");
    assert!(view.data().get("token").is_none());
    assert_eq!(view.data()["id"], id.as_str());

    let reply = app
        .call(
            Method::PATCH,
            &format!("/users/{id}"),
            Some(&bearer),
            Some(json!({"first_name": "augusta", "is_dark_mode": false})),
        )
        .await;
    reply.assert_success(200, "User updated successfully.");
    assert_eq!(reply.data()["first_name"], "Augusta");
    assert_eq!(reply.data()["last_name"], "Lovelace");
    assert_eq!(reply.data()["is_dark_mode"], false);

    let cleared =
        app.call(Method::PATCH, &format!("/users/{id}"), Some(&bearer), Some(json!({"last_name": null}))).await;
    cleared.assert_success(200, "User updated successfully.");
    assert!(cleared.data()["last_name"].is_null());
    let unchanged = app.call(Method::PATCH, &format!("/users/{id}"), Some(&bearer), Some(json!({}))).await;
    unchanged.assert_success(200, "User updated successfully.");
    assert_eq!(unchanged.data()["first_name"], "Augusta");
}

#[tokio::test]
async fn update_rejects_bad_fields_and_changes_nothing() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    for body in [
        json!({"email": "evil@example.com"}),
        json!({"credits": 1000}),
        json!({"is_active": true}),
        json!({"first_name": ""}),
        json!({"first_name": null}),
        json!({"first_name": 5}),
        json!({"is_dark_mode": "yes"}),
        json!({"last_name": "x".repeat(51)}),
    ] {
        app.call(Method::PATCH, &format!("/users/{id}"), Some(&bearer), Some(body.clone())).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    let view = app.get(&format!("/users/{id}"), Some(&bearer)).await;
    assert_eq!(view.data()["first_name"], "Ada");
    assert_eq!(view.data()["email"], "ada@example.com");
    assert_eq!(view.data()["is_dark_mode"], true);
    assert_eq!(view.data()["credits"], json!(0.0));
}

#[tokio::test]
async fn another_users_id_is_forbidden_even_if_unknown() {
    let app = TestApp::new().await;
    let (_, ada) = app.active_user("ada@example.com").await;
    let (bob_id, _) = app.active_user("bob@example.com").await;
    for path in
        [format!("/users/{bob_id}"), "/users/user_00000000000000000000000000000000".into(), "/users/anything".into()]
    {
        app.get(&path, Some(&ada)).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
        app.call(Method::PATCH, &path, Some(&ada), Some(json!({"first_name": "Mallory"}))).await.assert_error(
            403,
            "forbidden",
            MSG_FORBIDDEN,
        );
        app.post(&format!("{path}/2fa"), Some(&ada), Some(json!({"code": "123456"}))).await.assert_error(
            403,
            "forbidden",
            MSG_FORBIDDEN,
        );
    }
}

#[tokio::test]
async fn inactive_accounts_reach_only_view_update_and_logout() {
    let app = TestApp::new().await;
    let (id, bearer) = app.register("ada@example.com").await;
    app.get(&format!("/users/{id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");
    app.call(Method::PATCH, &format!("/users/{id}"), Some(&bearer), Some(json!({"is_dark_mode": false})))
        .await
        .assert_success(200, "User updated successfully.");
    app.post(&format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": "123456"}))).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": "123456"})))
        .await
        .assert_error(401, "account_not_active", MSG_NOT_ACTIVE);
    app.post(&format!("/users/{id}/2fa/totp"), Some(&bearer), None).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    assert_eq!(app.call(Method::DELETE, "/auth/session", Some(&bearer), None).await.status, 204);
}

#[tokio::test]
async fn garbage_authorization_headers_are_401() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("ada@example.com").await;
    let token = bearer.trim_start_matches("Bearer ");
    let tampered = format!("Bearer {}x", token);
    let wrong_prefix = format!("Bearer {}", token.replace("clara_user_", "calzo_user_"));
    let raw_token = token.to_string();
    for header in [
        "",
        "Bearer",
        "Bearer ",
        "Bearer clara_user_",
        "Bearer clara_user_abc.def.ghi",
        "Basic YWRhOnB3",
        "Token abc",
        tampered.as_str(),
        wrong_prefix.as_str(),
        raw_token.as_str(),
        "Bearer clara_api_abc.def.ghi",
    ] {
        app.get(&format!("/users/{id}"), Some(header)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
    app.get(&format!("/users/{id}"), None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // Non-ASCII bytes in the header value.
    let reply = app.raw(Method::GET, &format!("/api/v1/users/{id}"), &[], None).await;
    reply.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}
