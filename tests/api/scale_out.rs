//! Several server processes on one database (and one Redis): what one process does, the
//! others see.

use std::time::Duration;

use clara_backend::{build_state, state::Clock};
use poem::{http::Method, test::TestClient};

use crate::support::*;

/// A second app on the same database, files and Redis, as another process would be.
async fn other_process(app: &TestApp) -> TestClient<poem::endpoint::BoxEndpoint<'static, poem::Response>> {
    use poem::EndpointExt;
    TestClient::new(clara_backend::app(app.second_process().await).boxed())
}

#[tokio::test]
async fn processes_starting_together_on_a_new_database_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = TestApp::new().await.state.config.clone();
    config.storage.database_url = fresh_database(dir.path()).await;
    config.analyses.attachments_dir = dir.path().join("files");
    // The generated secret, as a local SQLite server keeps it (on PostgreSQL the
    // configuration insists on JWT_SECRET; the race is the same either way).
    config.accounts.jwt_secret = None;
    // Three processes start at the same moment on an empty database.
    let (a, b, c) = tokio::join!(
        build_state(config.clone(), Clock::default()),
        build_state(config.clone(), Clock::default()),
        build_state(config, Clock::default())
    );
    let states = [a.expect("first starts"), b.expect("second starts"), c.expect("third starts")];
    // One schema, one signing secret: a token from one is good on the others.
    let secrets: Vec<_> = {
        use sea_orm::EntityTrait;
        let mut all = vec![];
        for state in &states {
            all.push(entity::settings::Entity::find_by_id("jwt_secret").one(&state.db).await.unwrap().unwrap().value);
        }
        all
    };
    assert!(secrets.windows(2).all(|w| w[0] == w[1]));
}

/// Processes share changes of users through Redis; without it, several processes must
/// run with the authentication cache off (docs/deployment.md), and so do these.
async fn cluster(extra: &[(&str, &str)]) -> TestApp {
    let shared = std::env::var("TEST_REDIS_URL").is_ok_and(|v| !v.is_empty());
    let mut vars = vec![("AUTH_CACHE_TTL_SECS", if shared { "30" } else { "0" })];
    vars.extend_from_slice(extra);
    TestApp::with_env(&vars).await
}

fn cache_hits(state: &clara_backend::state::AppState) -> u64 {
    state.metrics.auth_cache.with_label_values(&["hit"]).get()
}

#[tokio::test]
async fn a_session_made_on_one_process_works_on_the_other_until_logout() {
    let app = cluster(&[]).await;
    let other_state = app.second_process().await;
    let other = {
        use poem::EndpointExt;
        TestClient::new(clara_backend::app(other_state.clone()).boxed())
    };
    let (user_id, _) = app.active_user("roaming@example.com").await;
    let login = app.login("roaming@example.com", PASSWORD, None).await;
    let bearer = format!("Bearer {}", login.data()["token"].as_str().unwrap());

    for _ in 0..2 {
        let response = other.get(format!("/api/v1/users/{user_id}")).header("Authorization", &bearer).send().await;
        response.assert_status_is_ok();
        let body: serde_json::Value = response.0.into_body().into_json().await.unwrap();
        assert_eq!(body["data"]["email"], "roaming@example.com");
        app.get(&format!("/users/{user_id}"), Some(&bearer)).await.assert_success(200, "User fetched successfully.");
    }
    if app.state.limits.is_shared() {
        assert!(cache_hits(&app.state) > 0 && cache_hits(&other_state) > 0, "both processes cached the caller");
    }

    // Logout on the other process; this one refuses the token at once, cached or not.
    other
        .delete("/api/v1/auth/session")
        .header("Authorization", &bearer)
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    app.get(&format!("/users/{user_id}"), Some(&bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn a_change_made_on_one_process_shows_on_the_other_at_once() {
    let app = cluster(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let other = other_process(&app).await;
    let (user_id, bearer) = app.active_user("watched@example.com").await;
    let path = format!("/users/{user_id}");
    for _ in 0..2 {
        app.get(&path, Some(&bearer)).await.assert_success(200, "User fetched successfully.");
    }

    let set = other
        .put(format!("/api/v1/users/{user_id}/credits"))
        .header("Authorization", ADMIN_KEY)
        .body_json(&serde_json::json!({"credits": 7}))
        .send()
        .await;
    set.assert_status_is_ok();
    assert_eq!(app.get(&path, Some(&bearer)).await.data()["credits"].as_f64(), Some(7.0));

    let update = other
        .patch(format!("/api/v1/users/{user_id}"))
        .header("Authorization", &bearer)
        .body_json(&serde_json::json!({"first_name": "Moved"}))
        .send()
        .await;
    update.assert_status_is_ok();
    assert_eq!(app.get(&path, Some(&bearer)).await.data()["first_name"], "Moved");

    // An API key used here, reset there: refused here at once.
    let key = format!(
        "Bearer {}",
        app.get(&format!("{path}/api_key"), Some(&bearer)).await.data()["token"].as_str().unwrap()
    );
    for _ in 0..2 {
        app.get(&path, Some(&key)).await.assert_success(200, "User fetched successfully.");
    }
    other
        .post(format!("/api/v1/users/{user_id}/api_key"))
        .header("Authorization", &bearer)
        .send()
        .await
        .assert_status(poem::http::StatusCode::CREATED);
    app.get(&path, Some(&key)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn limits_are_shared_through_redis_and_per_process_without_it() {
    let app = TestApp::with_env(&[("RATE_LIMIT_PER_SECOND", "3")]).await;
    let other = other_process(&app).await;
    let (user_id, bearer) = app.active_user("limits@example.com").await;
    let path = format!("/api/v1/users/{user_id}");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a fresh budget for this credential

    if app.state.limits.is_shared() {
        // Seven calls alternating between the processes within a second: one budget of
        // three is shared, so some are refused however the calls fall across a second.
        let mut statuses = vec![];
        for i in 0..7 {
            let status = if i % 2 == 0 {
                app.raw(Method::GET, &path, &[("Authorization", &bearer)], None).await.status
            } else {
                other.get(&path).header("Authorization", &bearer).send().await.0.status().as_u16()
            };
            statuses.push(status);
        }
        assert!(statuses.contains(&429), "{statuses:?}");
        // The Send OTP cooldown is shared too.
        app.post("/users/limits@example.com/otp/CHANGE_PASSWORD", None, None)
            .await
            .assert_success(201, "OTP sent successfully.");
        let again = other.post("/api/v1/users/limits@example.com/otp/CHANGE_PASSWORD").send().await;
        again.assert_status(poem::http::StatusCode::TOO_MANY_REQUESTS);
    } else {
        // In memory each process has its own budget: three calls on each all pass.
        for _ in 0..3 {
            app.raw(Method::GET, &path, &[("Authorization", &bearer)], None)
                .await
                .assert_success(200, "User fetched successfully.");
            other.get(&path).header("Authorization", &bearer).send().await.assert_status_is_ok();
        }
        app.post("/users/limits@example.com/otp/CHANGE_PASSWORD", None, None)
            .await
            .assert_success(201, "OTP sent successfully.");
        let again = other.post("/api/v1/users/limits@example.com/otp/CHANGE_PASSWORD").send().await;
        again.assert_status(poem::http::StatusCode::CREATED);
    }
}
