use std::collections::HashSet;

use poem::http::Method;
use serde_json::Value;

use crate::{spec_generators::without_server, support::*};

#[tokio::test]
async fn health_and_version() {
    let app = TestApp::new().await;
    let health = app.get("/health", None).await;
    health.assert_success(200, "Health check successful.");
    assert_eq!(health.data(), &serde_json::json!({"service": "clara-backend", "status": "healthy", "sandbox": false}));
    let version = app.get("/version", None).await;
    version.assert_success(200, "Version check successful.");
    assert_eq!(version.data()["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::new().await;
    app.state.db.clone().close().await.unwrap();
    let reply = app.get("/health", None).await;
    reply.assert_error(503, "database_unavailable", "The database is unavailable; try again shortly.");
    assert_eq!(reply.headers["retry-after"], "2");
}

#[tokio::test]
async fn liveness_and_readiness() {
    let app = TestApp::new().await;
    let live = app.get("/health/live", None).await;
    live.assert_success(200, "The process is alive.");
    assert_eq!(live.data(), &serde_json::json!({"service": "clara-backend", "status": "alive", "sandbox": false}));
    let ready = app.get("/health/ready", None).await;
    ready.assert_success(200, "Ready to serve.");
    assert_eq!(ready.data()["status"], "ready");
    // The database gone: not ready (after the cached answer's second), but still alive.
    app.state.db.clone().close().await.unwrap();
    tokio::time::sleep(clara_backend::health::FRESH_FOR).await;
    app.get("/health/ready", None).await.assert_error(
        503,
        "database_unavailable",
        "The database is unavailable; try again shortly.",
    );
    app.get("/health/live", None).await.assert_success(200, "The process is alive.");
}

#[tokio::test]
async fn a_database_missing_a_migration_is_not_ready() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::new().await;
    // As if the database were restored from a backup older than this server.
    app.state
        .db
        .execute_unprepared("DELETE FROM seaql_migrations WHERE version = (SELECT MAX(version) FROM seaql_migrations)")
        .await
        .unwrap();
    let reply = app.get("/health/ready", None).await;
    reply.assert_error(
        503,
        "migrations_pending",
        "The database lacks migrations this server needs; run `clara-backend migrate`.",
    );
    assert_eq!(reply.headers["retry-after"], "2");
    // `/health` only asks whether the database answers.
    app.get("/health", None).await.assert_success(200, "Health check successful.");
}

#[tokio::test]
async fn redis_gone_is_not_ready() {
    let Some((app, relay)) = TestApp::with_redis_through_relay().await else {
        eprintln!("skipped: set TEST_REDIS_URL to run the Redis readiness test");
        return;
    };
    app.get("/health/ready", None).await.assert_success(200, "Ready to serve.");
    relay.cut().await;
    tokio::time::sleep(clara_backend::health::FRESH_FOR).await;
    let reply = app.get("/health/ready", None).await;
    reply.assert_error(503, "redis_unavailable", "Redis (REDIS_URL) does not answer.");
    // The database still answers: `/health` stays 200.
    app.get("/health", None).await.assert_success(200, "Health check successful.");
}

async fn served_spec(app: &TestApp, path: &str) -> Value {
    let reply = app.raw(Method::GET, path, &[], None).await;
    assert_eq!(reply.status, 200);
    reply.body
}

#[tokio::test]
async fn committed_spec_matches_served_spec() {
    let app = TestApp::new().await;
    let served = served_spec(&app, "/openapi.json").await;
    assert_eq!(served, served_spec(&app, "/api/v1/openapi.json").await);
    let committed: Value =
        serde_json::from_str(include_str!("../../openapi/openapi.json")).expect("committed spec is JSON");
    // Only where the server is differs: a template there, this server's address here.
    let (committed, served) = (without_server(committed), without_server(served));
    assert!(
        committed == served,
        "openapi/openapi.json is stale: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn every_operation_is_documented_for_generators() {
    let app = TestApp::new().await;
    let spec = served_spec(&app, "/openapi.json").await;
    assert_eq!(spec["servers"][0]["url"], format!("{}/api/v1", app.state.config.public_base()));
    let camel = regex::Regex::new(r"^[a-z]+[A-Za-z0-9]*$").unwrap();
    let mut ids = HashSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(camel.is_match(id), "{id}");
            assert!(ids.insert(id.to_string()), "duplicate {id}");
            assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{id} has no summary");
            assert_eq!(op["tags"].as_array().map(Vec::len), Some(1), "{id} tags");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{id} has no success response");
            assert!(responses.keys().all(|s| s.len() == 3), "{id} statuses");
            let security = op["security"].as_array().unwrap_or_else(|| panic!("{id} declares no security"));
            if !security.is_empty() {
                assert!(responses.contains_key("401"), "{id} takes credentials but documents no 401");
            }
        }
    }
    for expected in [
        "authRegister",
        "authGoogle",
        "authApple",
        "authLogin",
        "authLogout",
        "authChangePassword",
        "authSendOtp",
        "authActivate",
        "authEnable2fa",
        "authDisable2fa",
        "authStartTotp",
        "authRecoveryCodes",
        "sessionsList",
        "sessionsDelete",
        "sessionsDeleteOthers",
        "authPasskeyOptions",
        "authPasskey",
        "passkeysRegisterOptions",
        "passkeysRegister",
        "passkeysList",
        "passkeysDelete",
        "adminSecurityEventsList",
        "adminTasksList",
        "usersGet",
        "usersUpdate",
        "apiKeysGet",
        "apiKeysReset",
        "tasksList",
        "tasksGet",
        "agentSupportedAttachments",
        "agentAnalysis",
        "transactionsList",
        "transactionsGet",
        "stripeRate",
        "stripePortal",
        "stripeBuy",
        "stripeWebhook",
        "stripeSettle",
        "adminUsersList",
        "adminUsersSetCredits",
        "usersDelete",
        "miscHealth",
        "miscLive",
        "miscReady",
        "miscVersion",
    ] {
        assert!(ids.contains(expected), "{expected} missing");
    }
    let text = spec.to_string();
    assert!(!text.contains("\"allOf\""), "allOf wrapper left in the spec");
    let schemes = spec["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["BasicAuth", "BearerAuth", "ApiKey"] {
        assert!(schemes.contains_key(scheme), "{scheme}");
    }
    // Nullable response fields are always present.
    let user = &spec["components"]["schemas"]["User"];
    assert!(user["required"].as_array().unwrap().contains(&Value::from("last_name")));
}

#[tokio::test]
async fn swagger_ui_is_served_with_the_spec() {
    let app = TestApp::new().await;
    let mut request = app.client.get("/docs");
    request = request.header("Accept", "text/html");
    let response = request.send().await.0;
    assert_eq!(response.status(), 200);
    let html = response.into_body().into_string().await.unwrap();
    assert!(html.contains("SwaggerUIBundle") && html.contains("\"/api/v1\""));
}
