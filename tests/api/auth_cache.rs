//! The authentication cache: repeated reads skip the database, and every change of the
//! user, their sessions or their key shows in the very next request, on this process and,
//! through Redis, on the others.

use serde_json::json;

use crate::support::*;

fn hits(app: &TestApp) -> u64 {
    app.state.metrics.auth_cache.with_label_values(&["hit"]).get()
}

async fn api_key(app: &TestApp, user_id: &str, bearer: &str) -> String {
    let reply = app.get(&format!("/users/{user_id}/api_key"), Some(bearer)).await;
    format!("Bearer {}", reply.data()["token"].as_str().unwrap())
}

/// GET /users/{id}: (status, body data).
async fn view(app: &TestApp, user_id: &str, auth: &str) -> (u16, serde_json::Value) {
    let reply = app.get(&format!("/users/{user_id}"), Some(auth)).await;
    (reply.status, reply.body["data"].clone())
}

#[tokio::test]
async fn repeated_reads_hit_the_cache_and_changes_show_at_once() {
    let app = TestApp::with_env(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let (user_id, session) = app.active_user("cached@example.com").await;
    let key = api_key(&app, &user_id, &session).await;

    let before = hits(&app);
    for auth in [&session, &key, &session, &key] {
        assert_eq!(view(&app, &user_id, auth).await.0, 200);
    }
    assert!(hits(&app) >= before + 2, "the second read of each credential is a hit");

    // A profile change.
    app.call(
        poem::http::Method::PATCH,
        &format!("/users/{user_id}"),
        Some(&session),
        Some(json!({"first_name": "grace", "is_dark_mode": false})),
    )
    .await
    .assert_success(200, "User updated successfully.");
    for auth in [&session, &key] {
        let (status, data) = view(&app, &user_id, auth).await;
        assert_eq!(
            (status, data["first_name"].as_str(), data["is_dark_mode"].as_bool()),
            (200, Some("Grace"), Some(false))
        );
    }

    // An operator's credit change, and a purchase through the ledger.
    app.call(
        poem::http::Method::PUT,
        &format!("/users/{user_id}/credits"),
        Some(ADMIN_KEY),
        Some(json!({"credits": 12})),
    )
    .await
    .assert_success(200, "User credits updated successfully.");
    assert_eq!(view(&app, &user_id, &key).await.1["credits"].as_f64(), Some(12.0));
    app.give_credits(&user_id, 50).await;
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(12.5));

    // A key reset: the old key is refused at once, the new one works.
    let reset = app.post(&format!("/users/{user_id}/api_key"), Some(&session), None).await;
    let new_key = format!("Bearer {}", reset.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{user_id}"), Some(&key)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(view(&app, &user_id, &new_key).await.0, 200);

    // A password change ends the other sessions at once and keeps the caller's.
    let other =
        format!("Bearer {}", app.login("cached@example.com", PASSWORD, None).await.data()["token"].as_str().unwrap());
    assert_eq!(view(&app, &user_id, &other).await.0, 200);
    assert_eq!(view(&app, &user_id, &other).await.0, 200);
    app.post("/users/cached@example.com/otp/CHANGE_PASSWORD", None, None)
        .await
        .assert_success(201, "OTP sent successfully.");
    let code = app.last_code_for("cached@example.com").await;
    app.call(
        poem::http::Method::PATCH,
        "/users/cached@example.com/password",
        Some(&session),
        Some(json!({"code": code, "password": "another horse battery"})),
    )
    .await
    .assert_success(200, "User password changed successfully.");
    app.get(&format!("/users/{user_id}"), Some(&other)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(view(&app, &user_id, &session).await.0, 200);
    // It revokes the cached API key too; View makes a new one.
    app.get(&format!("/users/{user_id}"), Some(&new_key)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    let viewed = app.get(&format!("/users/{user_id}/api_key"), Some(&session)).await;
    let new_key = format!("Bearer {}", viewed.data()["token"].as_str().unwrap());

    // Logout.
    app.call(poem::http::Method::DELETE, "/auth/session", Some(&session), None).await;
    app.get(&format!("/users/{user_id}"), Some(&session)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);

    // Deletion by an operator.
    assert_eq!(view(&app, &user_id, &new_key).await.0, 200);
    app.call(poem::http::Method::DELETE, &format!("/users/{user_id}"), Some(ADMIN_KEY), None).await;
    app.get(&format!("/users/{user_id}"), Some(&new_key)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn activation_and_two_factor_show_in_the_next_read() {
    let app = TestApp::new().await;
    let (user_id, session) = app.register("fresh@example.com").await;
    for _ in 0..2 {
        assert_eq!(view(&app, &user_id, &session).await.1["is_active"], json!(false));
    }
    let code = app.last_code_for("fresh@example.com").await;
    app.post("/users/fresh@example.com/activate", None, Some(json!({"code": code})))
        .await
        .assert_success(200, "User activated successfully.");
    // Activation ends Register's session, cached or not; the next one sees the account active.
    assert_eq!(view(&app, &user_id, &session).await.0, 401);
    let session = app.session("fresh@example.com").await;
    assert_eq!(view(&app, &user_id, &session).await.1["is_active"], json!(true));

    for (enable, method, status) in [(true, poem::http::Method::POST, 200), (false, poem::http::Method::DELETE, 204)] {
        assert_eq!(view(&app, &user_id, &session).await.1["is_2fa_enabled"], json!(!enable));
        app.state.clock.advance(std::time::Duration::from_secs(61));
        app.post("/users/fresh@example.com/otp/TWO_FACTOR_AUTH", None, None)
            .await
            .assert_success(201, "OTP sent successfully.");
        let code = app.last_code_for("fresh@example.com").await;
        let reply =
            app.call(method, &format!("/users/{user_id}/2fa"), Some(&session), Some(json!({"code": code}))).await;
        assert_eq!(reply.status, status, "{:?}", reply.body);
        assert_eq!(view(&app, &user_id, &session).await.1["is_2fa_enabled"], json!(enable));
    }
}

#[tokio::test]
async fn an_expired_session_is_refused_even_when_cached() {
    let app = TestApp::new().await;
    let (user_id, session) = app.active_user("expiring@example.com").await;
    assert_eq!(view(&app, &user_id, &session).await.0, 200);
    let before = hits(&app);
    assert_eq!(view(&app, &user_id, &session).await.0, 200);
    assert_eq!(hits(&app), before + 1);
    app.state.clock.advance(std::time::Duration::from_secs(7 * 86_400 + 1));
    app.get(&format!("/users/{user_id}"), Some(&session)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn a_debit_and_its_refund_show_in_the_next_read() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.set(Fault::status(400));
    let (user_id, session) = app.active_user("spender@example.com").await;
    app.give_credits(&user_id, 10_000).await;
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(100.0));
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(100.0));

    let reply = app.analysis(&user_id, &session, &[("text", None, b"A claim.")]).await;
    reply.assert_success(201, "Task created successfully.");
    let task_id = reply.data()["id"].as_str().unwrap().to_string();
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(80.0));

    let workers = app.start_workers();
    assert_eq!(app.finished_task(&task_id).await.status, "FAILED");
    workers.shutdown(std::time::Duration::from_secs(10)).await;
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(100.0), "the refund is seen");
}

#[tokio::test]
async fn a_purchase_settled_by_webhook_shows_in_the_next_read() {
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, session) = app.active_user("buyer@example.com").await;
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(0.0));
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(0.0));
    let event = stripe::checkout_completed("cs_test_cached", &user_id, "25", 2500);
    app.signed_webhook(&event).await.assert_success(200, "Webhook event processed successfully.");
    assert_eq!(view(&app, &user_id, &session).await.1["credits"].as_f64(), Some(25.0));
}

#[tokio::test]
async fn with_the_cache_off_every_read_asks_the_database() {
    let app = TestApp::with_env(&[("AUTH_CACHE_TTL_SECS", "0")]).await;
    let (user_id, session) = app.active_user("uncached@example.com").await;
    for _ in 0..3 {
        assert_eq!(view(&app, &user_id, &session).await.0, 200);
    }
    assert_eq!(hits(&app), 0);
    assert!(app.state.auth_cache.is_empty());
}

// With Redis, a revocation whose cache version could not be published left the other
// processes serving the revoked credential for up to AUTH_CACHE_TTL_SECS. Now it is not
// made: 503, nothing changed, and the same request succeeds once Redis takes it again.
// The real Redis is made to refuse the user's version (its key holds a value INCR cannot
// move), so only the publishing fails; the rate limiter and the rest go on.
#[tokio::test]
async fn a_revocation_that_cannot_publish_its_change_is_503_and_not_made() {
    use poem::http::Method;
    let Some(redis_url) = std::env::var("TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        eprintln!("skipped: set TEST_REDIS_URL to run the revocation test");
        return;
    };
    let app = TestApp::with_env(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let email = "revoked@example.com";
    let (user_id, session) = app.active_user(email).await;
    let key = api_key(&app, &user_id, &session).await;
    let login =
        || async { format!("Bearer {}", app.login(email, PASSWORD, None).await.data()["token"].as_str().unwrap()) };
    let (second, third) = (login().await, login().await);
    let listed = app.get(&format!("/users/{user_id}/sessions"), Some(&third)).await;
    let sessions = listed.data().as_array().unwrap().clone();
    let third_id = sessions.iter().find(|s| s["current"] == true).unwrap()["id"].as_str().unwrap().to_string();
    let mut codes = vec![];
    for otp in ["CHANGE_PASSWORD", "DELETE_ACCOUNT"] {
        app.post(&format!("/users/{email}/otp/{otp}"), None, None).await.assert_success(201, "OTP sent successfully.");
        codes.push(app.last_code_for(email).await);
    }
    let (password_code, delete_code) = (codes[0].clone(), codes[1].clone());
    let change_password = json!({"code": password_code, "password": "another horse battery"});
    let users = format!("/users/{user_id}");
    let calls: Vec<(&str, Method, String, &str, Option<serde_json::Value>)> = vec![
        ("logout", Method::DELETE, "/auth/session".into(), &second, None),
        ("end a session", Method::DELETE, format!("/users/{user_id}/sessions/{third_id}"), &session, None),
        ("end the other sessions", Method::DELETE, format!("/users/{user_id}/sessions"), &session, None),
        ("change the password", Method::PATCH, format!("/users/{email}/password"), &session, Some(change_password)),
        ("delete the account", Method::DELETE, users.clone(), &session, Some(json!({"code": delete_code}))),
        ("delete the account (operator)", Method::DELETE, users.clone(), ADMIN_KEY, None),
    ];

    let redis = redis::Client::open(redis_url.as_str()).unwrap();
    let mut redis = redis.get_multiplexed_async_connection().await.unwrap();
    let version_key = app.state.auth_cache.version_key(&user_id).expect("a shared cache");
    let before = app.snapshot().await;
    let _: () = redis::cmd("SET").arg(&version_key).arg("unpublishable").query_async(&mut redis).await.unwrap();
    for (what, method, path, auth, body) in &calls {
        let reply = app.call(method.clone(), path, Some(auth), body.clone()).await;
        assert_eq!(reply.status, 503, "{what}: {}", reply.body);
        reply.assert_error(503, "database_unavailable", "The database is unavailable; try again shortly.");
    }
    assert_eq!(app.snapshot().await, before, "nothing was revoked, no code was used");

    // Redis takes versions again: every credential still works, and each request succeeds as it was.
    let _: () = redis::cmd("DEL").arg(&version_key).query_async(&mut redis).await.unwrap();
    for auth in [&session, &second, &third, &key] {
        assert_eq!(view(&app, &user_id, auth).await.0, 200);
    }
    let expected = [204, 204, 204, 200, 204];
    for ((what, method, path, auth, body), status) in calls.iter().zip(expected) {
        let reply = app.call(method.clone(), path, Some(auth), body.clone()).await;
        assert_eq!(reply.status, status, "{what} after Redis takes versions again: {}", reply.body);
    }
    assert_eq!(app.count(entity::users::Entity).await, 0);
}
