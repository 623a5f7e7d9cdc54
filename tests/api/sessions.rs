//! The caller's sessions: listed with where they were made, ended one by
//! one or all but the current one, refused at once on every process, and their last use
//! recorded at most once a minute.

use std::time::Duration;

use base64::Engine;
use entity::{security_events, sessions};
use poem::{
    http::Method,
    listener::{Acceptor, Listener, TcpListener},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::Value;

use crate::support::*;

/// Another session of the account; returns its bearer header.
async fn sign_in(app: &TestApp, email: &str) -> String {
    let reply = app.login(email, PASSWORD, None).await;
    reply.assert_success(200, "User logged in successfully.");
    format!("Bearer {}", reply.data()["token"].as_str().unwrap())
}

fn session_of(bearer: &str) -> String {
    // The session id is the token's `jti`.
    let jwt = bearer.trim_start_matches("Bearer clara_user_");
    let claims = jwt.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    claims["jti"].as_str().unwrap().to_string()
}

async fn events_of(app: &TestApp, user_id: &str, kind: &str) -> Vec<security_events::Model> {
    security_events::Entity::find()
        .filter(security_events::Column::UserId.eq(user_id))
        .filter(security_events::Column::Kind.eq(kind))
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn row(app: &TestApp, session_id: &str) -> Option<sessions::Model> {
    sessions::Entity::find_by_id(session_id.to_string()).one(&app.state.db).await.unwrap()
}

/// Several processes share changes through Redis; without it they run with the
/// authentication cache off (docs/deployment.md), as in `scale_out`.
async fn cluster() -> TestApp {
    let shared = std::env::var("TEST_REDIS_URL").is_ok_and(|v| !v.is_empty());
    TestApp::with_env(&[("AUTH_CACHE_TTL_SECS", if shared { "30" } else { "0" })]).await
}

fn other_client(state: clara_backend::state::AppState) -> OtherProcess {
    use poem::EndpointExt;
    OtherProcess(poem::test::TestClient::new(clara_backend::app(state).boxed()))
}

struct OtherProcess(poem::test::TestClient<poem::endpoint::BoxEndpoint<'static, poem::Response>>);

impl OtherProcess {
    async fn status(&self, method: Method, path: &str, bearer: &str) -> u16 {
        self.0
            .request(method, format!("/api/v1{path}"))
            .header("Authorization", bearer)
            .send()
            .await
            .0
            .status()
            .as_u16()
    }
}

#[tokio::test]
async fn each_session_shows_where_it_was_made_and_which_is_current() {
    // Over a real listener behind a trusted proxy (loopback), so the client address is
    // the one `X-Forwarded-For` names (header values only: nothing is sent to them).
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let (user_id, first) = app.active_user("devices@example.com").await;
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let mut bearers = vec![];
    for (agent, address) in [("Phone/1.0", "198.51.100.7"), ("Laptop/2.0", "203.0.113.9")] {
        app.state.clock.advance(Duration::from_secs(2));
        let reply = http
            .post(format!("{base}/auth/session"))
            .header("Authorization", basic("devices@example.com", PASSWORD))
            .header("User-Agent", agent)
            .header("X-Forwarded-For", address)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.unwrap();
        bearers.push(format!("Bearer {}", body["data"]["token"].as_str().unwrap()));
    }

    let listed = app.get(&format!("/users/{user_id}/sessions"), Some(&bearers[0])).await;
    listed.assert_success(200, "Sessions fetched successfully.");
    assert_eq!(listed.total_count(), 3);
    let list = listed.data().as_array().unwrap();
    // Newest first: the laptop, the phone, then the registration's session.
    assert_eq!(list[0]["id"], session_of(&bearers[1]));
    assert_eq!((&list[0]["user_agent"], &list[0]["ip_address"]), (&"Laptop/2.0".into(), &"203.0.113.9".into()));
    assert_eq!(list[0]["current"], false);
    assert_eq!(list[1]["id"], session_of(&bearers[0]));
    assert_eq!((&list[1]["user_agent"], &list[1]["ip_address"]), (&"Phone/1.0".into(), &"198.51.100.7".into()));
    assert_eq!(list[1]["current"], true);
    assert_eq!(list[2]["id"], session_of(&first));
    // Made in-process: no peer address, no user agent.
    assert_eq!((&list[2]["user_agent"], &list[2]["ip_address"]), (&Value::Null, &Value::Null));
    for session in list {
        assert!(session["created_at"].as_str().unwrap().ends_with(" GMT"), "{session}");
        assert_eq!(session["created_at"], session["last_used_at"], "not used a minute later yet");
    }
    // The other token sees itself as current.
    let listed = app.get(&format!("/users/{user_id}/sessions"), Some(&bearers[1])).await;
    let current: Vec<_> = listed.data().as_array().unwrap().iter().map(|s| s["current"].as_bool().unwrap()).collect();
    assert_eq!(current, [true, false, false]);
    // Paging.
    let page = app.get(&format!("/users/{user_id}/sessions?limit=1&offset=1"), Some(&first)).await;
    assert_eq!(page.total_count(), 3);
    assert_eq!(page.data().as_array().unwrap().len(), 1);
    assert_eq!(page.data()[0]["id"], session_of(&bearers[0]));
    // An expired session is not listed.
    app.state.clock.advance(app.state.config.accounts.session_ttl);
    let fresh = sign_in(&app, "devices@example.com").await;
    let listed = app.get(&format!("/users/{user_id}/sessions"), Some(&fresh)).await;
    assert_eq!(listed.total_count(), 1);
}

#[tokio::test]
async fn an_ended_session_is_refused_at_once_and_recorded() {
    // One process with its authentication cache on: the cache must forget the session.
    let app = TestApp::new().await;
    let (user_id, mine) = app.active_user("ender@example.com").await;
    let other = sign_in(&app, "ender@example.com").await;
    let me = format!("/users/{user_id}");
    for _ in 0..2 {
        app.get(&me, Some(&other)).await.assert_success(200, "User fetched successfully.");
    }
    let other_id = session_of(&other);
    let path = format!("{me}/sessions/{other_id}");
    let ended = app.call(Method::DELETE, &path, Some(&mine), None).await;
    assert_eq!((ended.status, &ended.body), (204, &Value::Null));
    app.get(&me, Some(&other)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    app.get(&me, Some(&mine)).await.assert_success(200, "User fetched successfully.");
    assert!(row(&app, &other_id).await.is_none());
    // Again: it is gone.
    app.call(Method::DELETE, &path, Some(&mine), None).await.assert_error(
        404,
        "session_not_found",
        "Session with the given identifier does not exist.",
    );
    let events = events_of(&app, &user_id, "session_ended").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail.as_deref(), Some(format!("session: {other_id}").as_str()));

    // Ending the current session is a logout.
    let mine_id = session_of(&mine);
    let ended = app.call(Method::DELETE, &format!("{me}/sessions/{mine_id}"), Some(&mine), None).await;
    assert_eq!(ended.status, 204);
    app.get(&me, Some(&mine)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
}

#[tokio::test]
async fn ending_sessions_on_one_process_is_seen_by_another_at_once() {
    let app = cluster().await;
    let other = other_client(app.second_process().await);
    let (user_id, mine) = app.active_user("roamer@example.com").await;
    let phone = sign_in(&app, "roamer@example.com").await;
    let laptop = sign_in(&app, "roamer@example.com").await;
    let tablet = sign_in(&app, "roamer@example.com").await;
    let me = format!("/users/{user_id}");
    // The other process knows (and, with Redis, caches) all of them.
    for bearer in [&mine, &phone, &laptop, &tablet] {
        for _ in 0..2 {
            assert_eq!(other.status(Method::GET, &me, bearer).await, 200);
        }
    }

    // One ended here: refused there at once.
    let ended = app.call(Method::DELETE, &format!("{me}/sessions/{}", session_of(&phone)), Some(&mine), None).await;
    assert_eq!(ended.status, 204);
    assert_eq!(other.status(Method::GET, &me, &phone).await, 401);
    assert_eq!(other.status(Method::GET, &me, &laptop).await, 200);

    // All but the caller's, ended there: refused here at once, the caller's still works.
    assert_eq!(other.status(Method::DELETE, &format!("{me}/sessions"), &laptop).await, 204);
    for bearer in [&mine, &tablet] {
        app.get(&me, Some(bearer)).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
        assert_eq!(other.status(Method::GET, &me, bearer).await, 401);
    }
    app.get(&me, Some(&laptop)).await.assert_success(200, "User fetched successfully.");
    let listed = app.get(&format!("{me}/sessions"), Some(&laptop)).await;
    assert_eq!(listed.total_count(), 1);
    assert_eq!(listed.data()[0]["id"], session_of(&laptop));
    assert_eq!(listed.data()[0]["current"], true);
    let events = events_of(&app, &user_id, "other_sessions_ended").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].detail.as_deref(), Some("ended: 2"));

    // Nothing else to end: still 204, the caller's session kept.
    assert_eq!(app.call(Method::DELETE, &format!("{me}/sessions"), Some(&laptop), None).await.status, 204);
    app.get(&me, Some(&laptop)).await.assert_success(200, "User fetched successfully.");
}

/// Polls the session's `last_used_at` until it moves on from `old` (the write is in the
/// background), and returns it; fails after 5 s.
async fn next_last_use(app: &TestApp, session_id: &str, old: i64) -> i64 {
    for _ in 0..100 {
        let now = row(app, session_id).await.unwrap().last_used_at;
        if now != old {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("last_used_at never moved on from {old}");
}

fn writes(app: &TestApp) -> u64 {
    app.state.metrics.session_touches.get()
}

/// Several requests, then a pause for any background write: the last use is unchanged,
/// and no write was even attempted.
async fn used_without_a_write(app: &TestApp, path: &str, bearer: &str, session_id: &str) {
    let before = row(app, session_id).await.unwrap().last_used_at;
    let attempts = writes(app);
    for _ in 0..5 {
        app.get(path, Some(bearer)).await.assert_success(200, "User fetched successfully.");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(row(app, session_id).await.unwrap().last_used_at, before, "written again within the minute");
    assert_eq!(writes(app), attempts, "a write was attempted within the minute");
}

#[tokio::test]
async fn the_last_use_is_recorded_at_most_once_a_minute() {
    // With the authentication cache (the use is claimed in the cache) and without it
    // (every request reads the session row).
    for ttl in ["30", "0"] {
        let app = TestApp::with_env(&[("AUTH_CACHE_TTL_SECS", ttl)]).await;
        let (user_id, bearer) = app.active_user("busy@example.com").await;
        let me = format!("/users/{user_id}");
        let session_id = session_of(&bearer);
        let made = row(&app, &session_id).await.unwrap();
        assert_eq!(made.last_used_at, made.created_at);

        used_without_a_write(&app, &me, &bearer, &session_id).await;
        app.state.clock.advance(Duration::from_secs(59));
        used_without_a_write(&app, &me, &bearer, &session_id).await;

        // A minute on: the next request records it, once.
        app.state.clock.advance(Duration::from_secs(2));
        let before = app.state.clock.now_micros();
        app.get(&me, Some(&bearer)).await.assert_success(200, "User fetched successfully.");
        let after = app.state.clock.now_micros();
        let recorded = next_last_use(&app, &session_id, made.last_used_at).await;
        assert!((before..=after).contains(&recorded), "ttl {ttl}: {recorded} not in {before}..={after}");
        assert_eq!(writes(&app), 1, "ttl {ttl}: one write for the minute");
        used_without_a_write(&app, &me, &bearer, &session_id).await;
        app.state.clock.advance(Duration::from_secs(30));
        used_without_a_write(&app, &me, &bearer, &session_id).await;

        // And the list shows it.
        let listed = app.get(&format!("{me}/sessions"), Some(&bearer)).await;
        assert_eq!(listed.data()[0]["last_used_at"], clara_backend::domain::http_date(recorded), "ttl {ttl}");
        assert_ne!(listed.data()[0]["last_used_at"], listed.data()[0]["created_at"]);

        // Another minute on: recorded again.
        app.state.clock.advance(Duration::from_secs(31));
        app.get(&me, Some(&bearer)).await.assert_success(200, "User fetched successfully.");
        let again = next_last_use(&app, &session_id, recorded).await;
        assert!(again >= recorded + 61_000_000, "ttl {ttl}");
    }
}

#[tokio::test]
async fn only_the_callers_own_sessions_with_a_session_token() {
    let app = TestApp::new().await;
    let (user_id, mine) = app.active_user("owner@example.com").await;
    let (stranger_id, stranger) = app.active_user("stranger@example.com").await;
    let me = format!("/users/{user_id}");
    let key = app.get(&format!("{me}/api_key"), Some(&mine)).await;
    let api_key = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    let before = app.count(sessions::Entity).await;

    // An API key is the wrong kind of credential for all three.
    let stranger_session = session_of(&stranger);
    for (method, path) in [
        (Method::GET, format!("{me}/sessions")),
        (Method::DELETE, format!("{me}/sessions")),
        (Method::DELETE, format!("{me}/sessions/{}", session_of(&mine))),
    ] {
        app.call(method.clone(), &path, Some(&api_key), None).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
        // Another user's path.
        let path = path.replace(&user_id, &stranger_id);
        app.call(method, &path, Some(&mine), None).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    }
    // Another user's session under one's own path, a malformed id: not found.
    for id in [stranger_session.as_str(), "session_0", "nonsense", "%20"] {
        app.call(Method::DELETE, &format!("{me}/sessions/{id}"), Some(&mine), None).await.assert_error(
            404,
            "session_not_found",
            "Session with the given identifier does not exist.",
        );
    }
    // Bad paging.
    for query in ["limit=0", "limit=101", "offset=-1", "limit=abc"] {
        app.get(&format!("{me}/sessions?{query}"), Some(&mine)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    // Not activated yet: the registration's token cannot list or end sessions.
    let (fresh_id, fresh) = app.register("fresh@example.com").await;
    app.get(&format!("/users/{fresh_id}/sessions"), Some(&fresh)).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    app.call(Method::DELETE, &format!("/users/{fresh_id}/sessions"), Some(&fresh), None).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );
    let fresh_session = format!("/users/{fresh_id}/sessions/{}", session_of(&fresh));
    app.call(Method::DELETE, &fresh_session, Some(&fresh), None).await.assert_error(
        401,
        "account_not_active",
        MSG_NOT_ACTIVE,
    );

    // Nothing changed: every session still there and working.
    assert_eq!(app.count(sessions::Entity).await, before + 1);
    app.get(&format!("/users/{stranger_id}"), Some(&stranger)).await.assert_success(200, "User fetched successfully.");
    app.get(&me, Some(&mine)).await.assert_success(200, "User fetched successfully.");
    let rows = sessions::Entity::find().order_by_asc(sessions::Column::CreatedAt).all(&app.state.db).await.unwrap();
    assert_eq!(rows.len() as u64, before + 1);
    assert!(events_of(&app, &user_id, "session_ended").await.is_empty());
    assert!(events_of(&app, &user_id, "other_sessions_ended").await.is_empty());
}

#[tokio::test]
async fn a_long_user_agent_is_kept_cut_short() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("verbose@example.com").await;
    let agent = "A".repeat(1_000);
    let headers = [("Authorization", basic("verbose@example.com", PASSWORD)), ("User-Agent", agent.clone())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.raw(Method::POST, "/api/v1/auth/session", &headers, None)
        .await
        .assert_success(200, "User logged in successfully.");
    let listed = app.get(&format!("/users/{user_id}/sessions"), Some(&bearer)).await;
    assert_eq!(listed.data()[0]["user_agent"].as_str(), Some(&agent[..256]));
}
