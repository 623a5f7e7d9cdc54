//! Outgoing webhooks against a receiver on 127.0.0.1: signed deliveries that the
//! independent `standardwebhooks` crate verifies, retries under one `webhook-id`, the log
//! and manual retry, rotation (two signatures), the outbox written with its change,
//! restart survival, and two server processes delivering each event exactly once.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use clara_backend::jobs::webhook_delivery::Deliverer;
use poem::{
    EndpointExt, Request, Response, Route, Server, handler,
    http::{Method, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::{Value, json};

use crate::support::*;

/// What the receiver got: headers and body of each POST.
#[derive(Clone, Debug)]
struct Received {
    headers: poem::http::HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer with, in order; 200 once empty.
    answers: Arc<Mutex<VecDeque<u16>>>,
    always: Arc<Mutex<Option<u16>>>,
}

#[handler]
async fn receive(req: &Request, body: Vec<u8>, receiver: Data<&Receiver>) -> Response {
    receiver.received.lock().unwrap().push(Received { headers: req.headers().clone(), body });
    let status =
        receiver.always.lock().unwrap().or_else(|| receiver.answers.lock().unwrap().pop_front()).unwrap_or(200);
    Response::builder().status(StatusCode::from_u16(status).unwrap()).body("ok")
}

impl Receiver {
    async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind receiver");
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let receiver = Receiver { url: format!("http://127.0.0.1:{port}/hook"), ..Default::default() };
        let app = Route::new().at("/hook", poem::post(receive)).data(receiver.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        receiver
    }
    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
    fn of_type(&self, event_type: &str) -> Vec<Received> {
        self.all().into_iter().filter(|r| r.json()["type"] == event_type).collect()
    }
}

const ALLOW: (&str, &str) = ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true");

async fn until<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn create(app: &TestApp, user_id: &str, bearer: &str, body: Value) -> Reply {
    app.post(&format!("/users/{user_id}/webhooks"), Some(bearer), Some(body)).await
}

async fn log(app: &TestApp, user_id: &str, bearer: &str, webhook_id: &str) -> Vec<Value> {
    let reply = app.get(&format!("/users/{user_id}/webhooks/{webhook_id}/deliveries"), Some(bearer)).await;
    reply.assert_success(200, "Webhook deliveries fetched successfully.");
    reply.data().as_array().unwrap().clone()
}

fn verifies(secret: &str, received: &Received) -> bool {
    standardwebhooks::Webhook::new(secret).unwrap().verify(&received.body, &received.headers).is_ok()
}

#[tokio::test]
async fn a_finished_analysis_and_its_credits_are_delivered_signed_as_standard_webhooks_verify() {
    let receiver = Receiver::start().await;
    let (app, _provider) = TestApp::with_agent(&[ALLOW]).await;
    let (user_id, bearer) = app.active_user("hooks@example.com").await;
    let created = create(&app, &user_id, &bearer, json!({"url": receiver.url, "description": "ops"})).await;
    created.assert_success(201, "Webhook endpoint created successfully.");
    let endpoint = created.data().clone();
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(endpoint["id"].as_str().unwrap().starts_with("whk_") && endpoint["id"].as_str().unwrap().len() == 36);
    assert!(secret.starts_with("whsec_"));
    assert_eq!(endpoint["events"], json!(["task.completed", "task.failed", "credits.changed"]));
    let listed = app.get(&format!("/users/{user_id}/webhooks"), Some(&bearer)).await;
    listed.assert_success(200, "Webhook endpoints fetched successfully.");
    assert_eq!(listed.data()[0]["id"], endpoint["id"]);
    assert!(listed.data()[0].get("secret").is_none(), "the secret is shown once");

    app.give_credits(&user_id, 100 * 100).await;
    let reply = app.analysis(&user_id, &bearer, &[("text", None, b"The Eiffel Tower was finished in 1999.")]).await;
    let task_id = reply.data()["id"].as_str().unwrap().to_string();
    let _workers = app.start_workers();
    let _deliverer = Deliverer::start(&app.state);
    until("the task.completed delivery", || async { !receiver.of_type("task.completed").is_empty() }).await;
    until("two credit deliveries", || async { receiver.of_type("credits.changed").len() == 2 }).await;

    let completed = &receiver.of_type("task.completed")[0];
    assert!(verifies(&secret, completed), "standardwebhooks verifies {:?}", completed.headers);
    assert!(!verifies("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", completed), "and refuses another secret");
    let body = completed.json();
    let task = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
    assert_eq!(body["data"], *task.data(), "data is the Task");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    // Attempts run concurrently: the order of arrival is not the order of the events.
    let mut credits: Vec<Value> = receiver.of_type("credits.changed").iter().map(Received::json).collect();
    credits.sort_by_key(|c| c["data"]["transaction"]["description"] != "Test credit.");
    assert_eq!(credits[0]["data"]["transaction"]["description"], "Test credit.");
    assert_eq!(credits[0]["data"]["credits"], 100.0);
    assert_eq!(credits[1]["data"]["transaction"]["description"], format!("Agent analysis {task_id}"));
    assert_eq!(credits[1]["data"]["credits"], 80.0);
    for received in receiver.all() {
        assert!(verifies(&secret, &received));
        assert_eq!(received.header("content-type"), "application/json");
    }

    // The log: newest first, one per event, each under the id it was sent with.
    let entries = log(&app, &user_id, &bearer, endpoint["id"].as_str().unwrap()).await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["event_type"], "task.completed");
    assert_eq!(entries[0]["id"], completed.header("webhook-id"));
    assert!(entries[0]["id"].as_str().unwrap().starts_with("msg_"));
    for entry in &entries {
        assert_eq!(
            (&entry["status"], &entry["attempts"], &entry["last_status_code"]),
            (&json!("delivered"), &json!(1), &json!(200))
        );
        assert_eq!(entry["next_attempt_at"], Value::Null);
    }
}

#[tokio::test]
async fn a_failing_receiver_is_retried_under_one_webhook_id_until_failed_and_a_manual_retry_delivers() {
    let receiver = Receiver::start().await;
    *receiver.always.lock().unwrap() = Some(500);
    let app = TestApp::with_env(&[ALLOW, ("WEBHOOK_RETRY_SCHEDULE", "1,1")]).await;
    let (user_id, bearer) = app.active_user("retry@example.com").await;
    let created = create(&app, &user_id, &bearer, json!({"url": receiver.url, "events": ["credits.changed"]})).await;
    let webhook_id = created.data()["id"].as_str().unwrap().to_string();
    app.give_credits(&user_id, 500).await;
    let _deliverer = Deliverer::start(&app.state);
    until("three attempts", || async { receiver.all().len() == 3 }).await;
    until("the failed status", || async { log(&app, &user_id, &bearer, &webhook_id).await[0]["status"] == "failed" })
        .await;
    let ids: Vec<String> = receiver.all().iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one webhook-id on every attempt: {ids:?}");
    let entry = &log(&app, &user_id, &bearer, &webhook_id).await[0];
    assert_eq!((&entry["attempts"], &entry["last_status_code"]), (&json!(3), &json!(500)));
    assert_eq!(entry["last_error"], "HTTP 500");
    assert_eq!(entry["id"], ids[0]);

    // The receiver is fixed; a manual retry sends the same message again.
    *receiver.always.lock().unwrap() = None;
    let retried = app
        .post(&format!("/users/{user_id}/webhooks/{webhook_id}/deliveries/{}/retry", ids[0]), Some(&bearer), None)
        .await;
    retried.assert_success(202, "Webhook delivery queued successfully.");
    until("the delivered status", || async {
        log(&app, &user_id, &bearer, &webhook_id).await[0]["status"] == "delivered"
    })
    .await;
    assert_eq!(receiver.all().last().unwrap().header("webhook-id"), ids[0]);
    assert_eq!(log(&app, &user_id, &bearer, &webhook_id).await[0]["attempts"], 4);
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_and_each_verifies() {
    let receiver = Receiver::start().await;
    let app = TestApp::with_env(&[ALLOW]).await;
    let (user_id, bearer) = app.active_user("rotate@example.com").await;
    let created = create(&app, &user_id, &bearer, json!({"url": receiver.url})).await;
    let webhook_id = created.data()["id"].as_str().unwrap().to_string();
    let old = created.data()["secret"].as_str().unwrap().to_string();
    let rotated = app.post(&format!("/users/{user_id}/webhooks/{webhook_id}/rotate"), Some(&bearer), None).await;
    rotated.assert_success(200, "Webhook secret rotated successfully.");
    let new = rotated.data()["secret"].as_str().unwrap().to_string();
    assert_ne!(old, new);
    app.give_credits(&user_id, 500).await;
    let _deliverer = Deliverer::start(&app.state);
    until("a delivery", || async { !receiver.all().is_empty() }).await;
    let received = &receiver.all()[0];
    let signatures = received.header("webhook-signature");
    assert_eq!(signatures.split(' ').filter(|s| s.starts_with("v1,")).count(), 2, "{signatures}");
    assert!(verifies(&new, received) && verifies(&old, received));
}

#[tokio::test]
async fn the_outbox_holds_an_event_exactly_when_its_change_committed_and_survives_a_restart() {
    let receiver = Receiver::start().await;
    let app = TestApp::with_env(&[ALLOW]).await;
    let (user_id, bearer) = app.active_user("outbox@example.com").await;
    let created = create(&app, &user_id, &bearer, json!({"url": receiver.url})).await;
    let webhook_id = created.data()["id"].as_str().unwrap().to_string();
    // A movement refused (the balance would go below zero) announces nothing.
    let refused = clara_backend::services::ledger::move_credits(
        &app.state.db,
        &app.state.clock,
        clara_backend::services::ledger::Movement {
            user_id: user_id.clone(),
            credits: -100,
            fiat_cents: 1,
            description: "Too much.".into(),
            stripe_session_id: None,
            expected_balance: None,
        },
    )
    .await;
    assert!(refused.is_err());
    assert!(log(&app, &user_id, &bearer, &webhook_id).await.is_empty(), "no event without its change");
    // With no delivery loop running (a server that stopped), the event waits in the outbox.
    app.give_credits(&user_id, 500).await;
    let entries = log(&app, &user_id, &bearer, &webhook_id).await;
    assert_eq!((entries.len(), &entries[0]["status"]), (1, &json!("pending")));
    // Another process on the same database (the restarted server) delivers it.
    let restarted = app.second_process().await;
    let _deliverer = Deliverer::start(&restarted);
    until("the delivery", || async { receiver.all().len() == 1 }).await;
    assert_eq!(receiver.all()[0].header("webhook-id"), entries[0]["id"].as_str().unwrap());
}

#[tokio::test]
async fn two_server_processes_deliver_each_event_exactly_once() {
    let receiver = Receiver::start().await;
    let app = TestApp::with_env(&[ALLOW]).await;
    let (user_id, bearer) = app.active_user("twice@example.com").await;
    create(&app, &user_id, &bearer, json!({"url": receiver.url}))
        .await
        .assert_success(201, "Webhook endpoint created successfully.");
    const EVENTS: usize = 40;
    for _ in 0..EVENTS {
        app.give_credits(&user_id, 100).await;
    }
    let other = app.second_process().await;
    let _one = Deliverer::start(&app.state);
    let _two = Deliverer::start(&other);
    until("every event", || async { receiver.all().len() >= EVENTS }).await;
    // Any duplicate would have arrived by now: the other instance polls four times a second.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for received in receiver.all() {
        *seen.entry(received.header("webhook-id")).or_default() += 1;
    }
    assert_eq!(seen.len(), EVENTS);
    assert!(seen.values().all(|n| *n == 1), "each message once: {seen:?}");
}

#[tokio::test]
async fn endpoints_are_checked_capped_and_the_callers_own() {
    let app = TestApp::new().await;
    let (user_id, bearer) = app.active_user("rules@example.com").await;
    let (other, other_bearer) = app.active_user("stranger@example.com").await;
    // Without WEBHOOK_ALLOW_PRIVATE_NETWORKS: https only, public addresses only (judged on
    // the URL's literal address; nothing is sent).
    for url in
        ["http://example.com/hook", "https://127.0.0.1/hook", "https://[::1]/hook", "https://10.0.0.1/x", "ftp://x"]
    {
        let reply = create(&app, &user_id, &bearer, json!({"url": url})).await;
        assert_eq!((reply.status, &reply.body["code"]), (400, &json!("invalid_webhook_url")), "{url}: {}", reply.body);
        assert!(reply.body["message"].as_str().unwrap().starts_with("The webhook URL is not allowed: "));
    }
    let private = create(&app, &user_id, &bearer, json!({"url": "https://127.0.0.1/hook"})).await;
    assert_eq!(private.body["message"], "The webhook URL is not allowed: refused: the address is not public.");
    create(&app, &user_id, &bearer, json!({"url": "https://example.com/h", "events": ["task.exploded"]}))
        .await
        .assert_error(400, "invalid_parameters", MSG_INVALID);
    // A field the body does not name (here, a secret of the caller's choosing) is refused, as
    // on every other body, rather than silently ignored.
    create(&app, &user_id, &bearer, json!({"url": "https://example.com/h", "secret": "whsec_mine"}))
        .await
        .assert_error(400, "invalid_parameters", MSG_INVALID);
    let mut ids = vec![];
    for n in 0..10 {
        let reply = create(&app, &user_id, &bearer, json!({"url": format!("https://example.com/{n}")})).await;
        reply.assert_success(201, "Webhook endpoint created successfully.");
        ids.push(reply.data()["id"].as_str().unwrap().to_string());
    }
    create(&app, &user_id, &bearer, json!({"url": "https://example.com/11"})).await.assert_error(
        409,
        "webhook_limit_reached",
        "A user can have at most 10 webhook endpoints; delete one first.",
    );
    // Another user's endpoints do not exist for them; paths naming another user are 403.
    let base = format!("/users/{other}/webhooks");
    let not_found = "Webhook endpoint with the given identifier does not exist.";
    app.call(Method::DELETE, &format!("{base}/{}", ids[0]), Some(&other_bearer), None).await.assert_error(
        404,
        "webhook_not_found",
        not_found,
    );
    app.post(&format!("{base}/{}/rotate", ids[0]), Some(&other_bearer), None).await.assert_error(
        404,
        "webhook_not_found",
        not_found,
    );
    app.get(&format!("{base}/{}/deliveries", ids[0]), Some(&other_bearer)).await.assert_error(
        404,
        "webhook_not_found",
        not_found,
    );
    app.post(&format!("{base}/{}/deliveries/msg_0/retry", ids[0]), Some(&other_bearer), None).await.assert_error(
        404,
        "webhook_not_found",
        not_found,
    );
    let mine = format!("/users/{user_id}/webhooks/{}", ids[0]);
    app.post(&format!("{mine}/deliveries/msg_0/retry"), Some(&bearer), None).await.assert_error(
        404,
        "delivery_not_found",
        "Webhook delivery with the given identifier does not exist.",
    );
    app.get(&format!("{mine}/deliveries?limit=0"), Some(&bearer)).await.assert_error(
        400,
        "invalid_parameters",
        MSG_INVALID,
    );
    let mine_base = format!("/users/{user_id}/webhooks");
    for (method, path) in [
        (Method::POST, mine_base.clone()),
        (Method::GET, mine_base.clone()),
        (Method::DELETE, mine.clone()),
        (Method::POST, format!("{mine}/rotate")),
        (Method::GET, format!("{mine}/deliveries")),
        (Method::POST, format!("{mine}/deliveries/msg_0/retry")),
    ] {
        let body = (method == Method::POST && path == mine_base).then(|| json!({"url": "https://example.com/x"}));
        app.call(method, &path, Some(&other_bearer), body).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    }
    // An API key is not a session: webhooks are managed by the account's owner only.
    let key = app.get(&format!("/users/{user_id}/api_key"), Some(&bearer)).await;
    let api_key = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    app.get(&mine_base, Some(&api_key)).await.assert_error(403, "forbidden", MSG_FORBIDDEN);
    assert_eq!(app.call(Method::DELETE, &mine, Some(&bearer), None).await.status, 204);
    let listed = app.get(&mine_base, Some(&bearer)).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 9);
    app.call(Method::DELETE, &mine, Some(&bearer), None).await.assert_error(404, "webhook_not_found", not_found);
}

/// Endpoints created at once for one account: each create counts the account's endpoints and
/// inserts in one transaction. On SQLite a transaction that read before another committed
/// must not fail to write ("database is locked", which schemathesis met as a 500); on
/// PostgreSQL creates that count at once must not all pass the cap. Each is answered as if
/// alone: 201 up to the cap, then 409, never a 5xx.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn endpoints_created_at_once_are_each_answered_as_if_alone() {
    let app = TestApp::with_env(&[ALLOW]).await;
    let (user_id, bearer) = app.active_user("many-hooks@example.com").await;
    let creates = (0..14).map(|n| {
        let (app, user_id, bearer) = (&app, &user_id, &bearer);
        async move { create(app, user_id, bearer, json!({"url": format!("http://127.0.0.1:9/hook{n}")})).await }
    });
    let replies = futures_util::future::join_all(creates).await;
    for reply in &replies {
        assert!(reply.status == 201 || reply.status == 409, "{} {}", reply.status, reply.body);
    }
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(app.count(entity::webhook_endpoints::Entity).await, created as u64);
    assert_eq!(created, 10, "the cap is 10, on SQLite and on PostgreSQL");
}
