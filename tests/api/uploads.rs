//! Uploaded files live exactly as long as their task: an upload cut off by the request
//! timeout leaves nothing, and the sweep removes directories no waiting task owns.

use std::time::Duration;

use clara_backend::{build_state, services::uploads, state::Clock};
use futures_util::StreamExt;
use poem::{EndpointExt, test::TestClient};

use crate::support::{
    provider::{PNG, multipart},
    *,
};

/// Entries (files or directories) directly under the attachments directory.
fn entries(app: &TestApp) -> Vec<String> {
    std::fs::read_dir(&app.state.config.analyses.attachments_dir)
        .map(|dir| dir.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn an_upload_cut_off_by_the_timeout_leaves_no_files() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = app.active_user("stalling@example.com").await;
    app.give_credits(&user_id, 10_000).await;
    // The same database and files behind a short time limit (uploads get ten times it).
    let mut config = app.state.config.clone();
    config.http.request_timeout = Duration::from_millis(100);
    let short = build_state(config, Clock::default()).await.expect("app builds");
    let client = TestClient::new(clara_backend::app(short).boxed());

    // One whole file, then half of a second one, then silence.
    let big = [PNG, &[7u8; 300_000][..]].concat();
    let (content_type, body) = multipart(&[("files", Some("one.png"), PNG), ("files", Some("two.png"), &big)]);
    let sent = bytes::Bytes::from(body[..body.len() - 100_000].to_vec());
    let stalled =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(sent) }).chain(futures_util::stream::pending());
    let response = client
        .post(format!("/api/v1/users/{user_id}/agent/analysis"))
        .header("Authorization", bearer.as_str())
        .header("Content-Type", content_type)
        .body(poem::Body::from_bytes_stream(stalled))
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(&response.0.into_body().into_bytes().await.unwrap()).unwrap();
    assert_eq!(body["code"], "timed_out");

    // The removal may run on a blocking thread just after the handler is dropped.
    for _ in 0..100 {
        if entries(&app).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(entries(&app), Vec::<String>::new(), "nothing left of the cut-off upload");
    assert_eq!(app.count(entity::tasks::Entity).await, 0);
    assert_eq!(app.balance(&user_id).await, 10_000, "nothing debited");
}

#[tokio::test]
async fn the_sweep_removes_orphans_and_keeps_waiting_tasks() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = app.active_user("sweep@example.com").await;
    app.give_credits(&user_id, 10_000).await;
    let reply = app.analysis(&user_id, &bearer, &[("files", Some("p.png"), PNG)]).await;
    reply.assert_success(201, "Task created successfully.");
    let waiting = reply.data()["id"].as_str().unwrap().to_string();

    let root = app.state.config.analyses.attachments_dir.clone();
    let orphan = format!("task_{}", uuid::Uuid::new_v4().simple());
    std::fs::create_dir_all(root.join(&orphan)).unwrap();
    std::fs::write(root.join(&orphan).join("0.png"), PNG).unwrap();
    // Not a task's directory: someone else's, never touched.
    std::fs::create_dir_all(root.join("notes")).unwrap();

    // Young directories may be uploads still in flight.
    assert_eq!(uploads::sweep(&app.state, Duration::from_secs(3600)).await.unwrap(), 0);
    assert!(root.join(&orphan).exists());

    // Two processes sweeping the same directory at once remove the orphan once, calmly.
    let other = app.second_process().await;
    let (here, there) =
        tokio::join!(uploads::sweep(&app.state, Duration::ZERO), uploads::sweep(&other, Duration::ZERO));
    assert_eq!(here.unwrap() + there.unwrap(), 1);
    let mut left = entries(&app);
    left.sort();
    assert_eq!(left, [String::from("notes"), waiting], "the waiting task keeps its files");
}
