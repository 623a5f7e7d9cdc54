//! Admin routes: the key, listing users, setting credits, deleting accounts.

use poem::http::Method;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn admin_routes_take_only_the_admin_key() {
    let (app, _stripe) = TestApp::with_stripe(&[("PUBLIC_API_KEYS", "public-key-1")]).await;
    let registered = app
        .post(
            "/auth/register",
            Some("public-key-1"),
            Some(json!({"first_name": "ada", "email": "notadmin@example.com", "password": PASSWORD})),
        )
        .await;
    registered.assert_success(201, "User registered successfully.");
    let user_id = registered.data()["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {}", registered.data()["token"].as_str().unwrap());
    let credits = format!("/users/{user_id}/credits");
    let admin_as_bearer = format!("Bearer {ADMIN_KEY}");
    for auth in [None, Some("public-key-1"), Some(bearer.as_str()), Some("wrong"), Some(admin_as_bearer.as_str())] {
        app.get("/users", auth).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
        app.call(Method::PUT, &credits, auth, Some(json!({"credits": 5}))).await.assert_error(
            401,
            "unauthorized",
            MSG_UNAUTHORIZED,
        );
        let delete = app.call(Method::DELETE, &format!("/users/{user_id}"), auth, None).await;
        if auth == Some(bearer.as_str()) {
            // The user's own token may delete the account, but only with a DELETE_ACCOUNT code.
            delete.assert_error(400, "invalid_parameters", MSG_INVALID);
        } else {
            delete.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
        }
    }
    assert_eq!(app.balance(&user_id).await, 0);
    app.get(&format!("/users/{user_id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");
}

#[tokio::test]
async fn without_an_admin_key_configured_the_routes_are_closed() {
    let app = TestApp::new().await;
    for auth in [None, Some(""), Some("anything")] {
        app.get("/users", auth).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    }
}

#[tokio::test]
async fn users_are_listed_newest_first_with_the_total() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    for i in 0..5 {
        app.register(&format!("listed{i}@example.com")).await;
    }
    let reply = app.get("/users?limit=2", Some(ADMIN_KEY)).await;
    reply.assert_success(200, "Users fetched successfully.");
    assert_eq!(reply.total_count(), 5);
    let emails: Vec<&str> = reply.data().as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["listed4@example.com", "listed3@example.com"]);
    let rest = app.get("/users?limit=10&offset=2", Some(ADMIN_KEY)).await;
    let emails: Vec<&str> = rest.data().as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, ["listed2@example.com", "listed1@example.com", "listed0@example.com"]);
    assert!(rest.data()[0].get("token").is_none() && rest.data()[0].get("password_hash").is_none());
    for query in ["limit=0", "limit=101", "offset=-1", "limit=x"] {
        app.get(&format!("/users?{query}"), Some(ADMIN_KEY)).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
}

#[tokio::test]
async fn setting_credits_writes_the_transaction_that_explains_it() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("credits@example.com").await;
    let path = format!("/users/{user_id}/credits");
    let set =
        |credits: serde_json::Value| app.call(Method::PUT, &path, Some(ADMIN_KEY), Some(json!({"credits": credits})));

    let reply = set(json!(10)).await;
    reply.assert_success(200, "User credits updated successfully.");
    assert_eq!(reply.data()["credits"], 10.0);
    assert_eq!(reply.data()["id"], user_id.as_str());
    let reply = set(json!(4.5)).await;
    assert_eq!(reply.data()["credits"], 4.5);
    set(json!(4.5)).await.assert_success(200, "User credits updated successfully.");
    set(json!(0)).await.assert_success(200, "User credits updated successfully.");

    let rows = app.transactions_of(&user_id).await;
    let summary: Vec<(&str, &str, i64, i64)> =
        rows.iter().map(|t| (t.kind.as_str(), t.description.as_str(), t.value_in_credits, t.value_in_fiat)).collect();
    assert_eq!(
        summary,
        [
            ("CREDIT", "Admin updated credits from 0.0 to 10.0.", 1000, 10),
            ("DEBIT", "Admin updated credits from 10.0 to 4.5.", 550, 6),
            ("DEBIT", "Admin updated credits from 4.5 to 0.0.", 450, 5),
        ],
        "no transaction for an unchanged balance"
    );
    app.assert_ledger_balances(&rows, 0);
    let listed = app.get(&format!("/users/{user_id}/transactions"), Some(&bearer)).await;
    assert_eq!(listed.data()[2]["value_in_fiat"], 0.1);
    assert_eq!(listed.data()[2]["value_in_credits"], 10.0);
}

#[tokio::test]
async fn bad_credit_changes_are_refused_and_change_nothing() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, _) = app.active_user("badcredits@example.com").await;
    app.give_credits(&user_id, 700).await;
    let before = app.snapshot().await;
    let path = format!("/users/{user_id}/credits");
    for body in [
        json!({"credits": -1}),
        json!({"credits": 1.234}),
        json!({"credits": "10"}),
        json!({"credits": null}),
        json!({"credits": 1e20}),
        json!({}),
        json!({"credits": 1, "more": 2}),
    ] {
        app.call(Method::PUT, &path, Some(ADMIN_KEY), Some(body)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    app.call(
        Method::PUT,
        "/users/user_00000000000000000000000000000000/credits",
        Some(ADMIN_KEY),
        Some(json!({"credits": 1})),
    )
    .await
    .assert_error(404, "user_not_found", "User with the given identifier does not exist.");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 700);
}

#[tokio::test]
async fn deleting_a_user_removes_everything_of_theirs_and_nothing_else() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (doomed, doomed_bearer) = app.active_user("doomed@example.com").await;
    let (kept, kept_bearer) = app.active_user("kept@example.com").await;
    app.give_credits(&doomed, 500).await;
    app.give_credits(&kept, 500).await;
    app.post("/users/doomed@example.com/otp/CHANGE_PASSWORD", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    app.get(&format!("/users/{doomed}/api_key"), Some(&doomed_bearer))
        .await
        .assert_success(200, "API key fetched successfully.");
    let before = app.snapshot().await;

    let reply = app.call(Method::DELETE, &format!("/users/{doomed}"), Some(ADMIN_KEY), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(reply.body, serde_json::Value::Null);
    // One user, their one session, code, transaction and API key are gone.
    assert_eq!(
        app.snapshot().await,
        [before[0] - 1, before[1] - 1, before[2] - 1, before[3] - 1, before[4] - 1, before[5]]
    );
    assert!(app.transactions_of(&doomed).await.is_empty());
    app.get(&format!("/users/{doomed}"), Some(&doomed_bearer)).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    app.get(&format!("/users/{kept}"), Some(&kept_bearer)).await.assert_success(200, "User fetched successfully.");
    assert_eq!(app.transactions_of(&kept).await.len(), 1);

    app.call(Method::DELETE, &format!("/users/{doomed}"), Some(ADMIN_KEY), None).await.assert_error(
        404,
        "user_not_found",
        "User with the given identifier does not exist.",
    );
}
