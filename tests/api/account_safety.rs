//! Recovery codes, self-service deletion and the security trail.

use poem::http::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_recovery_code_works_once_and_a_new_set_kills_the_old() {
    let app = TestApp::new().await;
    let (id, bearer) = app.two_factor_user("recover@example.com").await;
    let code = app.mailed_code("recover@example.com", "TWO_FACTOR_AUTH").await;
    let reply = app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": code}))).await;
    reply.assert_success(201, "Recovery codes created successfully.");
    let codes: Vec<String> =
        reply.data()["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    assert_eq!(codes.len(), 10);
    assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    let stored: Vec<entity::recovery_codes::Model> =
        entity::recovery_codes::Entity::find().all(&app.state.db).await.unwrap();
    assert!(stored.iter().all(|row| !codes.contains(&row.code_hash)), "stored hashed");

    app.login("recover@example.com", PASSWORD, Some(&codes[0]))
        .await
        .assert_success(200, "User logged in successfully.");
    app.login("recover@example.com", PASSWORD, Some(&codes[0])).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // A recovery code also makes the next set, and the old set dies with it.
    let reply =
        app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": codes[1]}))).await;
    reply.assert_success(201, "Recovery codes created successfully.");
    let fresh = reply.data()["codes"][0].as_str().unwrap().to_string();
    app.login("recover@example.com", PASSWORD, Some(&codes[2])).await.assert_error(
        401,
        "two_factor_required",
        MSG_UNAUTHORIZED,
    );
    // And it turns 2FA off like any second factor; the codes go with it.
    let reply =
        app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": fresh}))).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(app.count(entity::recovery_codes::Entity).await, 0);
}

#[tokio::test]
async fn recovery_codes_need_two_factor_on_and_a_valid_factor() {
    let app = TestApp::new().await;
    let (id, bearer) = app.active_user("plain@example.com").await;
    let reply =
        app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": "123456"}))).await;
    reply.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    assert_eq!(reply.data(), &json!({"is_2fa_enabled": false}));
    let (id, bearer) = app.two_factor_user("guarded@example.com").await;
    for code in [json!("000000"), json!("abcde-23456")] {
        let reply =
            app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": code}))).await;
        reply.assert_error(401, "two_factor_required", MSG_UNAUTHORIZED);
    }
    for code in [json!("ABCDE-23456"), json!("abc"), json!(123456)] {
        app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": code})))
            .await
            .assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    assert_eq!(app.count(entity::recovery_codes::Entity).await, 0);
}

#[tokio::test]
async fn a_user_deletes_their_own_account_with_a_mailed_code() {
    let app = TestApp::new().await;
    let (doomed, bearer) = app.active_user("selfdelete@example.com").await;
    let (kept, kept_bearer) = app.active_user("stays@example.com").await;
    app.give_credits(&doomed, 500).await;
    app.give_credits(&kept, 500).await;
    app.get(&format!("/users/{doomed}/api_key"), Some(&bearer))
        .await
        .assert_success(200, "API key fetched successfully.");
    let path = format!("/users/{doomed}");

    // Without a code, with a wrong one, or with a code of another type: refused.
    app.call(Method::DELETE, &path, Some(&bearer), None).await.assert_error(400, "invalid_parameters", MSG_INVALID);
    app.call(Method::DELETE, &path, Some(&bearer), Some(json!({"code": "000000"}))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    let wrong_kind = app.mailed_code("selfdelete@example.com", "CHANGE_PASSWORD").await;
    app.call(Method::DELETE, &path, Some(&bearer), Some(json!({"code": wrong_kind}))).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    // Another user's account: 403 whatever the code.
    app.call(Method::DELETE, &format!("/users/{kept}"), Some(&bearer), Some(json!({"code": "123456"})))
        .await
        .assert_error(403, "forbidden", MSG_FORBIDDEN);
    assert_eq!(app.balance(&doomed).await, 500);

    let before = app.snapshot().await;
    let code = app.mailed_code("selfdelete@example.com", "DELETE_ACCOUNT").await;
    let reply = app.call(Method::DELETE, &path, Some(&bearer), Some(json!({"code": code}))).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    // Every row of the user went (user, session, codes, transaction, API key) and nothing else.
    let after = app.snapshot().await;
    assert_eq!(after[0], before[0] - 1);
    assert_eq!(after[1], before[1] - 1);
    assert_eq!(after[3], before[3] - 1);
    assert_eq!(after[4], before[4] - 1);
    for count in [
        entity::otp_codes::Entity::find()
            .filter(entity::otp_codes::Column::UserId.eq(&doomed))
            .count(&app.state.db)
            .await,
        entity::sessions::Entity::find()
            .filter(entity::sessions::Column::UserId.eq(&doomed))
            .count(&app.state.db)
            .await,
    ] {
        assert_eq!(count.unwrap(), 0);
    }
    app.get(&path, Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&format!("/users/{kept}"), Some(&kept_bearer)).await.assert_success(200, "User fetched successfully.");
    assert_eq!(app.balance(&kept).await, 500);
}

#[tokio::test]
async fn the_security_trail_records_each_kind_of_event() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (id, bearer) = app.two_factor_user("trail@example.com").await;
    let agent = [("User-Agent", "trail-test/1.0")];
    // login_failed, login_succeeded (with a 2FA code), api_key_reset, recovery codes.
    app.login("trail@example.com", "wrong password!", None).await;
    let code = app.mailed_code("trail@example.com", "TWO_FACTOR_AUTH").await;
    let login = app.login("trail@example.com", PASSWORD, Some(&code)).await;
    login.assert_success(200, "User logged in successfully.");
    let session = format!("Bearer {}", login.data()["token"].as_str().unwrap());
    app.raw(Method::POST, &format!("/api/v1/users/{id}/api_key"), &[("Authorization", &session), agent[0]], None).await;
    let code = app.mailed_code("trail@example.com", "TWO_FACTOR_AUTH").await;
    app.post(&format!("/users/{id}/2fa/recovery_codes"), Some(&bearer), Some(json!({"code": code}))).await;
    let code = app.mailed_code("trail@example.com", "TWO_FACTOR_AUTH").await;
    app.call(Method::DELETE, &format!("/users/{id}/2fa"), Some(&bearer), Some(json!({"code": code}))).await;
    let code = app.mailed_code("trail@example.com", "CHANGE_PASSWORD").await;
    app.call(
        Method::PATCH,
        "/users/trail@example.com/password",
        None,
        Some(json!({"password": "another good password", "code": code})),
    )
    .await
    .assert_success(200, "User password changed successfully.");
    // login_locked: ten more failures lock the account.
    for _ in 0..10 {
        app.login("trail@example.com", "wrong password!", None).await;
    }
    app.call(Method::PUT, &format!("/users/{id}/credits"), Some(ADMIN_KEY), Some(json!({"credits": 3}))).await;
    let (other, other_bearer) = app.active_user("trail2@example.com").await;
    let code = app.mailed_code("trail2@example.com", "DELETE_ACCOUNT").await;
    app.call(Method::DELETE, &format!("/users/{other}"), Some(&other_bearer), Some(json!({"code": code}))).await;
    app.call(Method::DELETE, &format!("/users/{id}"), Some(ADMIN_KEY), None).await;

    let reply = app.get("/security_events?limit=100", Some(ADMIN_KEY)).await;
    reply.assert_success(200, "Security events fetched successfully.");
    let events = reply.data().as_array().unwrap();
    let kinds: std::collections::HashSet<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    for kind in [
        "login_failed",
        "login_succeeded",
        "login_locked",
        "password_changed",
        "two_factor_enabled",
        "two_factor_disabled",
        "recovery_codes_created",
        "api_key_reset",
        "account_deleted",
        "admin_credits_changed",
        "admin_account_deleted",
    ] {
        assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
    }
    assert_eq!(reply.total_count() as usize, events.len());
    let reset = events.iter().find(|e| e["kind"] == "api_key_reset").unwrap();
    assert_eq!(reset["user_agent"], "trail-test/1.0");
    assert_eq!(reset["user_id"], id.as_str());
    let credits = events.iter().find(|e| e["kind"] == "admin_credits_changed").unwrap();
    assert_eq!(credits["detail"], "from 0.0 to 3.0");
    // The trail outlives the account, and can be narrowed to it.
    let mine = app.get(&format!("/security_events?user_id={id}&limit=100"), Some(ADMIN_KEY)).await;
    assert!(mine.data().as_array().unwrap().iter().all(|e| e["user_id"] == id.as_str()));
    assert!(mine.total_count() >= 9);
    app.get("/security_events", Some(&session)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}
