//! `Idempotency-Key`: a retried request runs once and is answered the same.

use std::time::Duration;

use clara_backend::api::error::{MSG_IDEMPOTENCY_KEY_IN_USE, MSG_IDEMPOTENCY_KEY_REUSED};
use poem::{
    EndpointExt,
    http::{HeaderValue, Method},
    test::TestClient,
};
use serde_json::{Value, json};

use crate::support::{provider::multipart, *};

type Client = TestClient<poem::endpoint::BoxEndpoint<'static, poem::Response>>;

/// Sends a request on `client` (this process's or another's).
async fn send(client: &Client, path: &str, headers: &[(&str, HeaderValue)], body: Option<poem::Body>) -> Reply {
    let mut request = client.request(Method::POST, format!("/api/v1{path}"));
    for (name, value) in headers {
        request = request.header(*name, value.clone());
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.0;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().into_bytes().await.expect("body reads");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON") };
    Reply { status, body, headers }
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap()
}

/// An analysis of `text` with `key`, as a multipart body.
async fn analysis(client: &Client, user_id: &str, bearer: &str, key: &str, text: &str) -> Reply {
    let (content_type, body) = multipart(&[("text", None, text.as_bytes())]);
    let headers =
        [("Authorization", value(bearer)), ("Content-Type", value(&content_type)), ("Idempotency-Key", value(key))];
    send(client, &format!("/users/{user_id}/agent/analysis"), &headers, Some(poem::Body::from_vec(body))).await
}

/// A JSON POST with `key`.
async fn post_json(client: &Client, path: &str, bearer: Option<&str>, key: &str, body: Option<Value>) -> Reply {
    let mut headers = vec![("Idempotency-Key", value(key))];
    if let Some(bearer) = bearer {
        headers.push(("Authorization", value(bearer)));
    }
    let body = body.map(|b| {
        headers.push(("Content-Type", value("application/json")));
        poem::Body::from_vec(serde_json::to_vec(&b).unwrap())
    });
    send(client, path, &headers, body).await
}

fn replayed(reply: &Reply) -> bool {
    reply.headers.get("idempotent-replayed").is_some_and(|v| v == "true")
}

/// The second answer is the first, marked as replayed; the first is not marked.
#[track_caller]
fn assert_replay_of(first: &Reply, second: &Reply) {
    assert!(!replayed(first), "the first answer is not a replay");
    assert!(replayed(second), "the repeat is marked: {:?}", second.headers);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
    assert_eq!(second.headers.get("content-type"), first.headers.get("content-type"));
}

async fn funded_user(app: &TestApp, email: &str) -> (String, String) {
    let (user_id, bearer) = app.active_user(email).await;
    app.give_credits(&user_id, 100 * 100).await;
    (user_id, bearer)
}

async fn debits(app: &TestApp, user_id: &str) -> usize {
    app.transactions_of(user_id).await.iter().filter(|t| t.kind == "DEBIT").count()
}

#[tokio::test]
async fn an_analysis_retried_with_its_key_runs_once_and_is_answered_the_same() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "retry@example.com").await;
    let first = analysis(&app.client, &user_id, &bearer, "retry-1", "The moon is made of cheese.").await;
    first.assert_success(201, "Task created successfully.");
    let second = analysis(&app.client, &user_id, &bearer, "retry-1", "The moon is made of cheese.").await;
    assert_replay_of(&first, &second);
    assert_eq!(app.count(entity::tasks::Entity).await, 1, "one task");
    assert_eq!(debits(&app, &user_id).await, 1, "one debit");
    assert_eq!(app.balance(&user_id).await, 8_000);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_and_changes_nothing() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "reuse@example.com").await;
    analysis(&app.client, &user_id, &bearer, "reuse-1", "First claim.")
        .await
        .assert_success(201, "Task created successfully.");
    let before = app.snapshot().await;
    let reply = analysis(&app.client, &user_id, &bearer, "reuse-1", "Another claim.").await;
    reply.assert_error(422, "idempotency_key_reused", MSG_IDEMPOTENCY_KEY_REUSED);
    assert!(!replayed(&reply));
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 8_000);
}

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_run_once() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "burst@example.com").await;
    let replies = futures_util::future::join_all(
        (0..20).map(|_| analysis(&app.client, &user_id, &bearer, "burst-1", "One claim, many taps.")),
    )
    .await;
    let ran: Vec<&Reply> = replies.iter().filter(|r| r.status == 201 && !replayed(r)).collect();
    assert_eq!(ran.len(), 1, "exactly one ran: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in &replies {
        match reply.status {
            201 if replayed(reply) => assert_eq!(reply.body, ran[0].body),
            201 => {}
            _ => reply.assert_error(409, "idempotency_key_in_use", MSG_IDEMPOTENCY_KEY_IN_USE),
        }
    }
    assert_eq!(app.count(entity::tasks::Entity).await, 1);
    assert_eq!(debits(&app, &user_id).await, 1);
    assert_eq!(app.balance(&user_id).await, 8_000);
}

#[tokio::test]
async fn processes_on_one_database_share_the_keys() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let other: Client = TestClient::new(clara_backend::app(app.second_process().await).boxed());
    let (user_id, bearer) = funded_user(&app, "fleet@example.com").await;

    // While the first request is still uploading on this process, the other refuses the key.
    let (content_type, body) = multipart(&[("text", None, b"A slow upload.")]);
    let (head, tail) = body.split_at(body.len() / 2);
    let (feed, chunks) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(2);
    feed.send(Ok(bytes::Bytes::copy_from_slice(head))).await.unwrap();
    let streamed = poem::Body::from_bytes_stream(tokio_stream_of(chunks));
    let headers = [
        ("Authorization", value(&bearer)),
        ("Content-Type", value(&content_type)),
        ("Idempotency-Key", value("fleet-1")),
    ];
    let path = format!("/users/{user_id}/agent/analysis");
    let (first, during) = tokio::join!(send(&app.client, &path, &headers, Some(streamed)), async {
        while app.count(entity::idempotency_keys::Entity).await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let during = analysis(&other, &user_id, &bearer, "fleet-1", "A slow upload.").await;
        feed.send(Ok(bytes::Bytes::copy_from_slice(tail))).await.unwrap();
        drop(feed);
        during
    });
    during.assert_error(409, "idempotency_key_in_use", MSG_IDEMPOTENCY_KEY_IN_USE);
    first.assert_success(201, "Task created successfully.");

    // Once it is done, the other process replays it.
    let after = analysis(&other, &user_id, &bearer, "fleet-1", "A slow upload.").await;
    assert_replay_of(&first, &after);
    assert_eq!(app.count(entity::tasks::Entity).await, 1);
    assert_eq!(debits(&app, &user_id).await, 1);
}

/// A stream of what the channel receives, as a request body.
fn tokio_stream_of(
    mut chunks: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    futures_util::stream::poll_fn(move |cx| chunks.poll_recv(cx))
}

#[tokio::test]
async fn keys_are_kept_for_a_day_then_work_anew() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "day@example.com").await;
    let first = analysis(&app.client, &user_id, &bearer, "day-1", "Yesterday's claim.").await;
    first.assert_success(201, "Task created successfully.");

    app.state.clock.advance(Duration::from_secs(23 * 3600));
    let within = analysis(&app.client, &user_id, &bearer, "day-1", "Yesterday's claim.").await;
    assert_replay_of(&first, &within);
    assert_eq!(app.count(entity::tasks::Entity).await, 1);

    app.state.clock.advance(Duration::from_secs(3600));
    let after = analysis(&app.client, &user_id, &bearer, "day-1", "Yesterday's claim.").await;
    after.assert_success(201, "Task created successfully.");
    assert!(!replayed(&after));
    assert_ne!(after.data()["id"], first.data()["id"], "a new task");
    assert_eq!(app.count(entity::tasks::Entity).await, 2);
    assert_eq!(debits(&app, &user_id).await, 2);

    // The periodic purge removes what has expired and keeps the live record.
    assert_eq!(clara_backend::services::idempotency::purge(&app.state).await.unwrap(), 0);
    app.state.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(clara_backend::services::idempotency::purge(&app.state).await.unwrap(), 1);
    assert_eq!(app.count(entity::idempotency_keys::Entity).await, 0);
}

#[tokio::test]
async fn register_retried_with_a_key_makes_one_account() {
    let app = TestApp::new().await;
    let body = json!({"first_name": "ada", "email": "once@example.com", "password": PASSWORD});
    let first = post_json(&app.client, "/auth/register", None, "signup-1", Some(body.clone())).await;
    first.assert_success(201, "User registered successfully.");
    let second = post_json(&app.client, "/auth/register", None, "signup-1", Some(body)).await;
    assert_replay_of(&first, &second);
    assert_eq!(app.count(entity::users::Entity).await, 1);
    assert_eq!(app.count(entity::sessions::Entity).await, 1, "one session, the one both answers carry");
    // The kept answer holds the session token: the database has it sealed, not readable.
    use sea_orm::EntityTrait;
    let kept = entity::idempotency_keys::Entity::find().one(&app.state.db).await.unwrap().expect("kept");
    let token = first.data()["token"].as_str().unwrap();
    let stored = kept.response_body.expect("a body");
    assert!(!stored.windows(token.len()).any(|w| w == token.as_bytes()), "the token is not stored in the clear");
    assert!(!stored.windows(5).any(|w| w == b"token"), "nor the rest of the body");
}

#[tokio::test]
async fn buy_and_portal_retried_with_a_key_call_stripe_once() {
    let (app, stripe) = TestApp::with_stripe(&[]).await;
    let (_user_id, bearer) = app.active_user("shop@example.com").await;
    let buy = json!({"amount": 5, "return_path": "/billing"});
    let first = post_json(&app.client, "/stripe/buy", Some(&bearer), "pay-1", Some(buy.clone())).await;
    first.assert_success(201, "Checkout session created successfully.");
    let second = post_json(&app.client, "/stripe/buy", Some(&bearer), "pay-1", Some(buy)).await;
    assert_replay_of(&first, &second);
    assert_eq!(stripe.requests_to("/v1/checkout/sessions").len(), 1, "one checkout session");

    // The same key on another route is another record.
    let first = post_json(&app.client, "/stripe/portal", Some(&bearer), "pay-1", None).await;
    first.assert_success(201, "Customer portal session created successfully.");
    let second = post_json(&app.client, "/stripe/portal", Some(&bearer), "pay-1", None).await;
    assert_replay_of(&first, &second);
    assert_eq!(stripe.requests_to("/v1/billing_portal/sessions").len(), 1, "one portal session");
    assert_eq!(stripe.requests_to("/v1/customers").len(), 1, "one customer");
}

#[tokio::test]
async fn an_api_key_reset_retried_with_a_key_resets_once() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("keys@example.com").await;
    let path = format!("/users/{user_id}/api_key");
    let first = post_json(&app.client, &path, Some(&bearer), "reset-1", None).await;
    first.assert_success(201, "API key reset successfully.");
    let second = post_json(&app.client, &path, Some(&bearer), "reset-1", None).await;
    assert_replay_of(&first, &second);
    // Had the reset run twice, the current key would not be the one both answers show.
    let current = app.get(&path, Some(&bearer)).await;
    assert_eq!(current.data()["token"], first.data()["token"]);
    assert_eq!(app.count(entity::api_keys::Entity).await, 1);
}

#[tokio::test]
async fn keys_are_scoped_to_the_caller() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (ada, ada_bearer) = funded_user(&app, "ada@example.com").await;
    let (bob, bob_bearer) = funded_user(&app, "bob@example.com").await;
    let first = analysis(&app.client, &ada, &ada_bearer, "shared-1", "Same claim.").await;
    let second = analysis(&app.client, &bob, &bob_bearer, "shared-1", "Same claim.").await;
    for reply in [&first, &second] {
        reply.assert_success(201, "Task created successfully.");
        assert!(!replayed(reply));
    }
    assert_eq!(app.count(entity::tasks::Entity).await, 2);
    assert_eq!((debits(&app, &ada).await, debits(&app, &bob).await), (1, 1));
}

#[tokio::test]
async fn a_replay_needs_a_live_credential() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "gone@example.com").await;
    analysis(&app.client, &user_id, &bearer, "gone-1", "Claim.")
        .await
        .assert_success(201, "Task created successfully.");
    app.call(Method::DELETE, "/auth/session", Some(&bearer), None).await;
    let reply = analysis(&app.client, &user_id, &bearer, "gone-1", "Claim.").await;
    reply.assert_error(401, "unauthorized", MSG_UNAUTHORIZED);
    assert!(!replayed(&reply));
}

#[tokio::test]
async fn a_malformed_key_is_400_and_changes_nothing() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "bad@example.com").await;
    let before = app.snapshot().await;
    let (content_type, body) = multipart(&[("text", None, b"A claim.")]);
    let long = "k".repeat(256);
    let bad = [
        HeaderValue::from_static(""),
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_static("with space"),
        HeaderValue::from_bytes("caf\u{e9}".as_bytes()).unwrap(),
    ];
    for key in bad {
        let headers = [
            ("Authorization", value(&bearer)),
            ("Content-Type", value(&content_type)),
            ("Idempotency-Key", key.clone()),
        ];
        let path = format!("/users/{user_id}/agent/analysis");
        let reply = send(&app.client, &path, &headers, Some(poem::Body::from_vec(body.clone()))).await;
        reply.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    let reply = post_json(&app.client, "/auth/register", None, "", Some(json!({"first_name": "x"}))).await;
    reply.assert_error(400, "invalid_parameters", MSG_INVALID);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.count(entity::idempotency_keys::Entity).await, 0);
    assert_eq!(app.balance(&user_id).await, 10_000);
}

#[tokio::test]
async fn a_request_that_times_out_or_fails_lets_its_key_go() {
    let (app, stripe) = TestApp::with_stripe(&[("REQUEST_TIMEOUT_SECS", "1"), ("OUTBOUND_TIMEOUT_MS", "5000")]).await;
    let (_, bearer) = app.active_user("flaky@example.com").await;

    // A timeout drops the request mid-way: its claim is let go, not left to block retries.
    stripe.set(Fault::Stall(Duration::from_secs(3)));
    let reply = post_json(&app.client, "/stripe/portal", Some(&bearer), "flaky-1", None).await;
    reply.assert_error(503, "timed_out", "The request took too long. Please try again.");
    for _ in 0..200 {
        if app.count(entity::idempotency_keys::Entity).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(app.count(entity::idempotency_keys::Entity).await, 0, "the claim was let go");
    stripe.set(Fault::None);
    let retry = post_json(&app.client, "/stripe/portal", Some(&bearer), "flaky-1", None).await;
    retry.assert_success(201, "Customer portal session created successfully.");
    assert!(!replayed(&retry), "the retry ran");

    // A 5xx is not kept either: the retry runs.
    stripe.set(Fault::body(500, json!({"error": {"type": "api_error"}})));
    let buy = json!({"amount": 5, "return_path": "/billing"});
    let failed = post_json(&app.client, "/stripe/buy", Some(&bearer), "flaky-2", Some(buy.clone())).await;
    assert_eq!(failed.status, 502, "{}", failed.body);
    stripe.set(Fault::None);
    let retry = post_json(&app.client, "/stripe/buy", Some(&bearer), "flaky-2", Some(buy)).await;
    retry.assert_success(201, "Checkout session created successfully.");
    assert!(!replayed(&retry));
}

#[tokio::test]
async fn a_refusal_is_kept_and_replayed_like_a_success() {
    let app = TestApp::new().await;
    let body = json!({"first_name": "ada", "email": "not-an-email", "password": PASSWORD});
    let first = post_json(&app.client, "/auth/register", None, "refused-1", Some(body.clone())).await;
    first.assert_error(400, "invalid_parameters", MSG_INVALID);
    let second = post_json(&app.client, "/auth/register", None, "refused-1", Some(body)).await;
    assert_replay_of(&first, &second);
    assert_eq!(app.count(entity::users::Entity).await, 0);
}

/// Each of the five routes answers the three idempotency refusals it documents: a
/// malformed key (400), the key of a request still running (409, here a claim another
/// process holds, made through the service), the key reused with another request (422).
#[tokio::test]
async fn every_idempotent_route_answers_its_documented_refusals() {
    use clara_backend::services::idempotency::{self, Claim, Target};
    let (app, _stripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = funded_user(&app, "five@example.com").await;
    let client = &app.client;
    let routes: Vec<(String, Option<&str>, Value)> = vec![
        ("/auth/register".into(), None, json!({"first_name": "ann", "email": "new@example.com", "password": PASSWORD})),
        (format!("/users/{user_id}/api_key"), Some(&bearer), Value::Null),
        ("/stripe/portal".into(), Some(&bearer), Value::Null),
        ("/stripe/buy".into(), Some(&bearer), json!({"amount": 10, "return_path": "/billing"})),
    ];
    for (path, auth, body) in &routes {
        let body = (!body.is_null()).then(|| body.clone());
        // 400: a key that is not 1–255 visible characters.
        post_json(client, path, *auth, &"k".repeat(256), body.clone()).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
        // 422: the key of an earlier request, with another request.
        let first = post_json(client, path, *auth, &format!("reused{path}"), body.clone()).await;
        assert!(first.status < 500, "{path}: {}", first.body);
        post_json(client, path, *auth, &format!("reused{path}"), Some(json!({"other": true}))).await.assert_error(
            422,
            "idempotency_key_reused",
            MSG_IDEMPOTENCY_KEY_REUSED,
        );
        // 409: the key is held by a request still running elsewhere.
        let scope = match auth {
            Some(_) => format!("user:{user_id}"),
            None => "address:unknown".to_string(),
        };
        let target =
            Target { scope, method: "POST".into(), path: format!("/api/v1{path}"), key: format!("held{path}") };
        assert!(matches!(
            idempotency::claim(&app.state, &target, Duration::from_secs(60)).await.unwrap(),
            Claim::Claimed(_)
        ));
        post_json(client, path, *auth, &format!("held{path}"), body.clone()).await.assert_error(
            409,
            "idempotency_key_in_use",
            MSG_IDEMPOTENCY_KEY_IN_USE,
        );
    }
    // The analysis route, with its multipart body.
    let path = format!("/users/{user_id}/agent/analysis");
    analysis(client, &user_id, &bearer, &"k".repeat(256), "claim").await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    let target = Target {
        scope: format!("user:{user_id}"),
        method: "POST".into(),
        path: format!("/api/v1{path}"),
        key: "held-analysis".into(),
    };
    assert!(matches!(
        idempotency::claim(&app.state, &target, Duration::from_secs(60)).await.unwrap(),
        Claim::Claimed(_)
    ));
    analysis(client, &user_id, &bearer, "held-analysis", "claim").await.assert_error(
        409,
        "idempotency_key_in_use",
        MSG_IDEMPOTENCY_KEY_IN_USE,
    );
}

/// Serves the app on a port of 127.0.0.1; returns the API's base URL.
async fn serve(app: &TestApp) -> String {
    use poem::listener::{Acceptor, Listener, TcpListener};
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("address").port();
    tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, std::future::pending()));
    format!("http://127.0.0.1:{port}/api/v1")
}

/// A form part: field name, (file name, content type) for a file, bytes.
type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

/// A form as a client builds it anew for each try: reqwest picks a new boundary each time.
fn rebuilt_form(parts: &[Part<'_>]) -> reqwest::multipart::Form {
    parts.iter().fold(reqwest::multipart::Form::new(), |form, (name, file, bytes)| {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec());
        let part = match file {
            Some((file_name, content_type)) => part.file_name(file_name.to_string()).mime_str(content_type).unwrap(),
            None => part,
        };
        form.part(name.to_string(), part)
    })
}

// Clients that rebuild the request for a retry (`fetch` with the same FormData, generated
// clients, Python's requests) send a new multipart boundary; the retry used to be 422.
#[tokio::test]
async fn an_upload_rebuilt_with_a_new_boundary_is_replayed_and_other_parts_are_422() {
    use crate::support::provider::PNG;
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "rebuilt@example.com").await;
    let url = format!("{}/users/{user_id}/agent/analysis", serve(&app).await);
    let http = reqwest::Client::new();
    let send = |parts: &[Part<'_>], boundaries: &mut Vec<String>| {
        let form = rebuilt_form(parts);
        boundaries.push(form.boundary().to_string());
        let request =
            http.post(&url).header("Authorization", &bearer).header("Idempotency-Key", "rebuilt-1").multipart(form);
        async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.json::<Value>().await.expect("JSON");
            Reply { status, body, headers }
        }
    };
    let png: Part<'_> = ("files", Some(("chart.png", "image/png")), PNG);
    let text: Part<'_> = ("text", None, b"The chart shows growth.");
    let mut boundaries = vec![];
    let first = send(&[text, png], &mut boundaries).await;
    first.assert_success(201, "Task created successfully.");
    let retry = send(&[text, png], &mut boundaries).await;
    assert_ne!(boundaries[0], boundaries[1], "the client rebuilt the form");
    assert_replay_of(&first, &retry);
    assert_eq!(app.count(entity::tasks::Entity).await, 1, "one task");
    assert_eq!(debits(&app, &user_id).await, 1, "one debit");

    // Other bytes, names, file names, content types or order are another request.
    let before = app.snapshot().await;
    let others: [&[Part<'_>]; 6] = [
        &[("text", None, b"The chart shows decline."), png],
        &[text, ("files", Some(("chart.png", "image/png")), &PNG[..PNG.len() - 1])],
        &[text, ("files", Some(("other.png", "image/png")), PNG)],
        &[text, ("files", Some(("chart.png", "application/octet-stream")), PNG)],
        &[png, text],
        &[text],
    ];
    for parts in others {
        let reply = send(parts, &mut boundaries).await;
        reply.assert_error(422, "idempotency_key_reused", MSG_IDEMPOTENCY_KEY_REUSED);
        assert!(!replayed(&reply));
    }
    assert_eq!(app.snapshot().await, before);
}
