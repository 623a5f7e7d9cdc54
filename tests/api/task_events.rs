//! A task's events over Server-Sent Events, read by a real HTTP client over TCP on
//! 127.0.0.1: live steps and status changes, `done` with the task, resume with
//! `Last-Event-ID`, replay after the end, the time limit, and events written by another
//! server process.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::support::{provider::verdict, *};

/// One event as a client parses it.
#[derive(Debug, Clone)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

/// What a stream carried until it ended (or `max_events` events).
#[derive(Debug, Default)]
struct Read {
    events: Vec<Sse>,
    keep_alives: usize,
    content_type: String,
}

/// Serves the app (no workers) on a loopback port; returns its base URL.
async fn listen(state: &clara_backend::state::AppState) -> String {
    use poem::listener::{Acceptor, Listener, TcpListener};
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(clara_backend::app(state.clone())));
    format!("http://127.0.0.1:{port}/api/v1")
}

/// Opens the stream and parses it until it ends or `max_events` arrived.
async fn read_stream(url: &str, bearer: &str, last_event_id: Option<&str>, max_events: usize) -> Read {
    let mut request = reqwest::Client::new().get(url).header("Authorization", bearer);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("the stream opens");
    assert_eq!(response.status(), 200);
    let mut read =
        Read { content_type: response.headers()["content-type"].to_str().unwrap().to_string(), ..Default::default() };
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(std::str::from_utf8(&chunk.expect("the stream reads")).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, String::new(), String::new());
            for line in block.lines() {
                if line == ": keep-alive" {
                    read.keep_alives += 1;
                } else if let Some(value) = line.strip_prefix("id: ") {
                    id = Some(value.parse().unwrap());
                } else if let Some(value) = line.strip_prefix("event: ") {
                    event = value.to_string();
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data.push_str(value);
                }
            }
            if let Some(id) = id {
                read.events.push(Sse { id, event, data: serde_json::from_str(&data).expect("data is JSON") });
                if read.events.len() == max_events {
                    return read;
                }
            }
        }
    }
    read
}

/// An active user with credits on `app`; returns (id, bearer).
async fn funded(app: &TestApp, email: &str) -> (String, String) {
    let (user_id, bearer) = app.active_user(email).await;
    app.give_credits(&user_id, 100 * 100).await;
    (user_id, bearer)
}

async fn queue(app: &TestApp, user_id: &str, bearer: &str, text: &str) -> String {
    let reply = app.analysis(user_id, bearer, &[("text", None, text.as_bytes())]).await;
    reply.assert_success(201, "Task created successfully.");
    reply.data()["id"].as_str().unwrap().to_string()
}

/// The model thinks aloud once (a step), then gives the verdict.
fn thinking_model() -> Script {
    Script::replies(vec![(0, provider::says("Checking the records of 1889."))], verdict())
}

#[track_caller]
fn assert_whole_story(events: &[Sse], task: &Value, final_status: &str) {
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>(), "ids count up from 1: {events:?}");
    assert_eq!((events[0].event.as_str(), &events[0].data), ("status", &json!({"status": "RUNNING"})));
    let last = events.last().unwrap();
    assert_eq!(last.event, "done");
    assert_eq!(&last.data, task, "done carries the task as View returns it");
    let before_done = &events[events.len() - 2];
    assert_eq!((before_done.event.as_str(), &before_done.data), ("status", &json!({"status": final_status})));
    let steps: Vec<&Value> = events.iter().filter(|e| e.event == "step").map(|e| &e.data).collect();
    assert_eq!(steps, task["steps"].as_array().unwrap().iter().collect::<Vec<_>>(), "every step, as written");
    assert!(!steps.is_empty());
}

#[tokio::test]
async fn a_task_stream_sends_each_step_and_status_as_written_then_done_and_ends() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.script(thinking_model());
    let base = listen(&app.state).await;
    let (user_id, bearer) = funded(&app, "live@example.com").await;
    let task_id = queue(&app, &user_id, &bearer, "The Eiffel Tower was finished in 1999.").await;
    let url = format!("{base}/users/{user_id}/tasks/{task_id}/events");
    // Connected while the task waits: nothing has happened yet, so what arrives is live.
    let stream = tokio::spawn({
        let (url, bearer) = (url.clone(), bearer.clone());
        async move { read_stream(&url, &bearer, None, usize::MAX).await }
    });
    let _workers = app.start_workers();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream).await.expect("ends").unwrap();
    assert!(read.content_type.starts_with("text/event-stream"), "{}", read.content_type);
    let task = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
    assert_eq!(task.data()["status"], "COMPLETED");
    assert_whole_story(&read.events, task.data(), "COMPLETED");
    let kinds: Vec<&str> = read.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "done").count(), 1, "{kinds:?}");

    // A failed analysis tells its story the same way, ending FAILED.
    provider.set(Fault::status(500));
    let failing = queue(&app, &user_id, &bearer, "This one fails.").await;
    let read = read_stream(&format!("{base}/users/{user_id}/tasks/{failing}/events"), &bearer, None, usize::MAX).await;
    let task = app.get(&format!("/users/{user_id}/tasks/{failing}"), Some(&bearer)).await;
    assert_eq!(task.data()["status"], "FAILED");
    let last_two: Vec<&str> = read.events.iter().rev().take(2).map(|e| e.event.as_str()).collect();
    assert_eq!(last_two, ["done", "status"]);
    assert_eq!(read.events.last().unwrap().data, *task.data());
}

#[tokio::test]
async fn after_the_end_a_stream_replays_every_event_then_done_and_resumes_after_last_event_id() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.script(thinking_model());
    let base = listen(&app.state).await;
    let (user_id, bearer) = funded(&app, "replay@example.com").await;
    let task_id = queue(&app, &user_id, &bearer, "The Eiffel Tower was finished in 1999.").await;
    let _workers = app.start_workers();
    app.finished_task(&task_id).await;
    let url = format!("{base}/users/{user_id}/tasks/{task_id}/events");
    let task = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;

    let all = read_stream(&url, &bearer, None, usize::MAX).await;
    assert_whole_story(&all.events, task.data(), "COMPLETED");
    // Resumed after the second event: the third on, the same ids and data.
    let resumed = read_stream(&url, &bearer, Some("2"), usize::MAX).await;
    let expected: Vec<(u64, &Value)> = all.events[2..].iter().map(|e| (e.id, &e.data)).collect();
    assert_eq!(resumed.events.iter().map(|e| (e.id, &e.data)).collect::<Vec<_>>(), expected);
    // A client that saw everything but `done` gets `done` alone.
    let done_id = all.events.last().unwrap().id;
    let tail = read_stream(&url, &bearer, Some(&(done_id - 1).to_string()), usize::MAX).await;
    assert_eq!(tail.events.len(), 1);
    assert_eq!((tail.events[0].id, tail.events[0].event.as_str()), (done_id, "done"));
}

#[tokio::test]
async fn another_users_task_stream_is_404_and_a_bad_last_event_id_is_400() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (owner, owner_bearer) = funded(&app, "owner@example.com").await;
    let task_id = queue(&app, &owner, &owner_bearer, "Mine.").await;
    let (other, other_bearer) = app.active_user("other@example.com").await;
    app.get(&format!("/users/{other}/tasks/{task_id}/events"), Some(&other_bearer)).await.assert_error(
        404,
        "task_not_found",
        "Task with the given identifier does not exist.",
    );
    app.get(&format!("/users/{owner}/tasks/{task_id}/events"), Some(&other_bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    app.get(&format!("/users/{owner}/tasks/{task_id}/events"), None).await.assert_error(
        401,
        "unauthorized",
        MSG_UNAUTHORIZED,
    );
    let reply = app
        .raw(
            poem::http::Method::GET,
            &format!("/api/v1/users/{owner}/tasks/{task_id}/events"),
            &[("Authorization", &owner_bearer), ("Last-Event-ID", "seven")],
            None,
        )
        .await;
    reply.assert_error(400, "invalid_parameters", MSG_INVALID);
}

#[tokio::test]
async fn a_stream_ends_at_the_request_time_limit_and_a_reconnect_carries_on() {
    let (app, provider) = TestApp::with_agent(&[("REQUEST_TIMEOUT_SECS", "1"), ("AGENT_TIMEOUT_MS", "4000")]).await;
    provider.set(Fault::Stall(std::time::Duration::from_secs(2)));
    let base = listen(&app.state).await;
    let (user_id, bearer) = funded(&app, "limit@example.com").await;
    let task_id = queue(&app, &user_id, &bearer, "Slow.").await;
    let url = format!("{base}/users/{user_id}/tasks/{task_id}/events");
    let _workers = app.start_workers();
    // The model takes longer than the stream may last: it ends without `done`.
    let first = read_stream(&url, &bearer, None, usize::MAX).await;
    assert!(first.events.iter().all(|e| e.event != "done"), "{:?}", first.events);
    let mut seen = first.events.last().map(|e| e.id.to_string());
    let mut events = first.events;
    // Reconnecting with the last id seen picks up where it stopped, until `done`.
    for _ in 0..30 {
        let next = read_stream(&url, &bearer, seen.as_deref(), usize::MAX).await;
        events.extend(next.events);
        seen = events.last().map(|e| e.id.to_string());
        if events.last().is_some_and(|e| e.event == "done") {
            break;
        }
    }
    let task = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=events.len() as u64).collect::<Vec<_>>(), "no event lost or repeated: {events:?}");
    assert_eq!(events.last().unwrap().data, *task.data());
}

#[tokio::test]
async fn a_stream_on_one_server_sees_the_events_another_server_process_writes() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.script(thinking_model());
    // This process serves the stream and runs no worker; the other runs the task.
    let base = listen(&app.state).await;
    let (user_id, bearer) = funded(&app, "instances@example.com").await;
    let task_id = queue(&app, &user_id, &bearer, "The Eiffel Tower was finished in 1999.").await;
    let url = format!("{base}/users/{user_id}/tasks/{task_id}/events");
    let stream = tokio::spawn({
        let (url, bearer) = (url.clone(), bearer.clone());
        async move { read_stream(&url, &bearer, None, usize::MAX).await }
    });
    // Let the stream subscribe before the other process starts working.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let other = app.second_process().await;
    let _workers = clara_backend::jobs::worker::Workers::start(&other);
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream).await.expect("ends").unwrap();
    let task = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
    assert_whole_story(&read.events, task.data(), "COMPLETED");
}
