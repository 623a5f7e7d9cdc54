//! API keys: made on first view, stable, reset kills the old one, UT-only routes refuse them.

use poem::http::Method;
use serde_json::json;

use crate::support::*;

async fn api_key(app: &TestApp, user_id: &str, bearer: &str) -> String {
    let reply = app.get(&format!("/users/{user_id}/api_key"), Some(bearer)).await;
    reply.assert_success(200, "API key fetched successfully.");
    format!("Bearer {}", reply.data()["token"].as_str().unwrap())
}

#[tokio::test]
async fn the_key_is_made_once_and_shown_the_same_every_time() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("keys@example.com").await;
    let first = app.get(&format!("/users/{user_id}/api_key"), Some(&bearer)).await;
    first.assert_success(200, "API key fetched successfully.");
    let data = first.data();
    assert!(data["id"].as_str().unwrap().starts_with("api_key_"));
    assert!(data["token"].as_str().unwrap().starts_with("clara_api_"));
    assert_eq!(data["user_id"], user_id.as_str());
    assert!(data["created_at"].as_str().unwrap().ends_with(" GMT"));
    let second = app.get(&format!("/users/{user_id}/api_key"), Some(&bearer)).await;
    assert_eq!(second.data(), data, "same key, same token");
    assert_eq!(app.count(entity::api_keys::Entity).await, 1);

    // The key works where UT|AK is allowed.
    let key = format!("Bearer {}", data["token"].as_str().unwrap());
    app.get(&format!("/users/{user_id}"), Some(&key)).await.assert_success(200, "User fetched successfully.");
    app.get(&format!("/users/{user_id}/transactions"), Some(&key))
        .await
        .assert_success(200, "Transactions fetched successfully.");
    assert_eq!(app.get("/stripe/rate", Some(&key)).await.status, 200);
}

#[tokio::test]
async fn concurrent_first_views_agree_on_one_key() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("racekeys@example.com").await;
    let path = format!("/users/{user_id}/api_key");
    let replies = futures_util::future::join_all((0..8).map(|_| app.get(&path, Some(&bearer)))).await;
    let tokens: std::collections::HashSet<_> = replies.iter().map(|r| r.data()["token"].to_string()).collect();
    assert_eq!(tokens.len(), 1);
    assert_eq!(app.count(entity::api_keys::Entity).await, 1);
}

#[tokio::test]
async fn reset_kills_the_old_key_at_once() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("reset@example.com").await;
    let old = api_key(&app, &user_id, &bearer).await;
    let reply = app.post(&format!("/users/{user_id}/api_key"), Some(&bearer), None).await;
    reply.assert_success(201, "API key reset successfully.");
    let new = format!("Bearer {}", reply.data()["token"].as_str().unwrap());
    assert_ne!(old, new);
    app.get(&format!("/users/{user_id}"), Some(&old)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{user_id}"), Some(&new)).await.assert_success(200, "User fetched successfully.");
    assert_eq!(api_key(&app, &user_id, &bearer).await, new, "View shows the new key");
    assert_eq!(app.count(entity::api_keys::Entity).await, 1);
    // The dead key is refused with 401 even on routes that take sessions only.
    app.call(Method::DELETE, "/auth/session", Some(&old), None).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
}

#[tokio::test]
async fn an_api_key_is_refused_where_only_a_session_will_do() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("wrongkind@example.com").await;
    let key = api_key(&app, &user_id, &bearer).await;
    let before = app.snapshot().await;
    let code = json!({"code": "123456"});
    let cases = [
        (Method::PATCH, format!("/users/{user_id}"), Some(json!({"first_name": "Eve"}))),
        (Method::DELETE, "/auth/session".to_string(), None),
        (Method::POST, format!("/users/{user_id}/2fa"), Some(code.clone())),
        (Method::DELETE, format!("/users/{user_id}/2fa"), Some(code)),
        (Method::POST, format!("/users/{user_id}/2fa/totp"), None),
        (Method::GET, format!("/users/{user_id}/api_key"), None),
        (Method::POST, format!("/users/{user_id}/api_key"), None),
    ];
    for (method, path, body) in cases {
        app.call(method.clone(), &path, Some(&key), body).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    }
    assert_eq!(app.snapshot().await, before);
    // The key still works, and the session is untouched.
    app.get(&format!("/users/{user_id}"), Some(&key)).await.assert_success(200, "User fetched successfully.");
    app.get(&format!("/users/{user_id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn keys_need_an_active_account_of_ones_own() {
    let app = TestApp::new().await;
    let (inactive_id, inactive) = app.register("nokey@example.com").await;
    app.get(&format!("/users/{inactive_id}/api_key"), Some(&inactive)).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    let (user_id, bearer) = app.active_user("owner@example.com").await;
    app.get(&format!("/users/{inactive_id}/api_key"), Some(&bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.post(&format!("/users/{inactive_id}/api_key"), Some(&bearer), None).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.get(&format!("/users/{user_id}/api_key"), None).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // A forged key (signed with another secret) is a 401.
    let forged =
        "Bearer clara_api_eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFwaV9rZXkiLCJpYXQiOjEsImp0aSI6IngifQ.AAAA";
    app.get(&format!("/users/{user_id}"), Some(forged)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(entity::api_keys::Entity).await, 0);
}
