//! Sign in with Apple's single-use rules: an identity token signs in once, and (unless
//! `APPLE_REQUIRE_NONCE=false`) it must carry the SHA-256 hex of a nonce this server issued
//! in the last 10 minutes, each nonce signing in once. Both are kept in the database, so
//! every server process sees them.

use poem::{EndpointExt, test::TestClient};
use serde_json::{Value, json};

use crate::{
    apple::{BUNDLE_ID, app_with_apple, app_with_apple_and, apple_claims, server_nonce, sign_in, token},
    support::{google::keys, *},
};

fn signed(claims: &Value) -> String {
    keys()[0].sign(claims)
}

#[tokio::test]
async fn an_apple_identity_token_signs_in_once_even_without_the_nonce_rule() {
    let (app, _jwks) = app_with_apple_and(&[("APPLE_REQUIRE_NONCE", "false")]).await;
    let id_token = signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, "the-app-s-own-nonce"));
    sign_in(&app, json!({"id_token": id_token})).await.assert_success(201, "User registered successfully.");
    let before = app.snapshot().await;
    // Replayed (a copy taken from a log, a proxy, a leaked request): refused.
    sign_in(&app, json!({"id_token": id_token})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.snapshot().await, before, "the replay made no session");
}

#[tokio::test]
async fn an_apple_identity_token_signs_in_once() {
    let (app, _jwks) = app_with_apple().await;
    let id_token = token(&app, "ada@example.com").await;
    sign_in(&app, json!({"id_token": id_token})).await.assert_success(201, "User registered successfully.");
    let before = app.snapshot().await;
    sign_in(&app, json!({"id_token": id_token})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn apple_tokens_need_the_hash_of_a_nonce_this_server_issued() {
    let (app, _jwks) = app_with_apple().await;
    let mut no_nonce = apple_claims("ada@example.com", BUNDLE_ID, 600, "");
    no_nonce.as_object_mut().unwrap().remove("nonce");
    let cases = [
        ("no nonce", signed(&no_nonce)),
        ("a nonce the app made up", signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, "made-up"))),
    ];
    for (what, id_token) in cases {
        let reply = sign_in(&app, json!({"id_token": id_token})).await;
        assert_eq!((reply.status, reply.body["code"].as_str()), (401, Some("unauthorized")), "{what}: {}", reply.body);
    }
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
    // The claim must be the hash: a nonce seen in clear is not proof of this sign-in.
    let issued = server_nonce(&app).await;
    assert!(issued.len() >= 32, "{issued}");
    let mut raw = apple_claims("ada@example.com", BUNDLE_ID, 600, "");
    raw["nonce"] = json!(issued);
    sign_in(&app, json!({"id_token": signed(&raw)})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.snapshot().await, [0, 0, 0, 0, 0, 0]);
    // The refusals used nothing up: the issued nonce still works, hashed.
    let id_token = signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, &issued));
    sign_in(&app, json!({"id_token": id_token})).await.assert_success(201, "User registered successfully.");
}

#[tokio::test]
async fn an_apple_nonce_signs_in_once() {
    let (app, _jwks) = app_with_apple().await;
    let nonce = server_nonce(&app).await;
    let first = signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, &nonce));
    sign_in(&app, json!({"id_token": first})).await.assert_success(201, "User registered successfully.");
    // Another token (another account) over the same nonce.
    let second = signed(&apple_claims("grace@example.com", BUNDLE_ID, 600, &nonce));
    sign_in(&app, json!({"id_token": second})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert_eq!(app.count(entity::users::Entity).await, 1);
    // Each nonce is new.
    assert_ne!(server_nonce(&app).await, server_nonce(&app).await);
}

#[tokio::test]
async fn an_apple_nonce_lives_ten_minutes() {
    let (app, _jwks) = app_with_apple().await;
    let stale = server_nonce(&app).await;
    app.state.clock.advance(std::time::Duration::from_secs(5 * 60));
    let fresh = server_nonce(&app).await;
    app.state.clock.advance(std::time::Duration::from_secs(5 * 60 + 1));
    let id_token = signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, &stale));
    sign_in(&app, json!({"id_token": id_token})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    let id_token = signed(&apple_claims("ada@example.com", BUNDLE_ID, 600, &fresh));
    sign_in(&app, json!({"id_token": id_token})).await.assert_success(201, "User registered successfully.");
}

#[tokio::test]
async fn apple_nonces_and_used_tokens_are_seen_by_every_process() {
    let (app, _jwks) = app_with_apple().await;
    let other = TestClient::new(clara_backend::app(app.second_process().await).boxed());
    let status = async |id_token: &str| {
        let response = other.post("/api/v1/auth/apple").body_json(&json!({"id_token": id_token})).send().await;
        response.0.status().as_u16()
    };
    // Issued by one process, used on the other.
    let id_token = token(&app, "ada@example.com").await;
    assert_eq!(status(&id_token).await, 201);
    // Used on the other, replayed on the first.
    sign_in(&app, json!({"id_token": id_token})).await.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    // Used on the first, replayed on the other.
    let id_token = token(&app, "ada@example.com").await;
    sign_in(&app, json!({"id_token": id_token})).await.assert_success(201, "User logged in successfully.");
    assert_eq!(status(&id_token).await, 401);
}

#[tokio::test]
async fn racing_replays_of_one_apple_token_sign_in_once() {
    let (app, _jwks) = app_with_apple().await;
    let id_token = token(&app, "ada@example.com").await;
    let body = json!({"id_token": id_token});
    let replies = futures_util::future::join_all((0..6).map(|_| sign_in(&app, body.clone()))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 401), "{statuses:?}");
    assert_eq!(app.count(entity::sessions::Entity).await, 1);
}
