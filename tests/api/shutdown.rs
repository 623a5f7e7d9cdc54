//! Graceful shutdown: in-flight requests finish; running analyses are handed back.

use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};

use crate::support::*;

#[tokio::test]
async fn an_in_flight_request_finishes_before_the_server_stops() {
    let (app, stripe) = TestApp::with_stripe(&[("SHUTDOWN_GRACE_SECS", "10"), ("OUTBOUND_TIMEOUT_MS", "5000")]).await;
    let (_, bearer) = app.active_user("inflight@example.com").await;
    stripe.set(Fault::Stall(Duration::from_millis(800)));
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
    let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(clara_backend::serve(app.state.clone(), acceptor, async {
        stopped.await.ok();
    }));
    let url = format!("http://127.0.0.1:{port}/api/v1/stripe/portal");
    let request = tokio::spawn(reqwest::Client::new().post(url.clone()).header("Authorization", bearer).send());
    // Shut down once the request is inside the server (it has reached Stripe), however
    // slowly a loaded machine got it there.
    for _ in 0..500 {
        if !stripe.requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!stripe.requests().is_empty(), "the request reached the server");
    stop.send(()).unwrap();

    let response = request.await.unwrap().expect("the in-flight request is answered");
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Customer portal session created successfully.");
    server.await.unwrap().expect("the server stops cleanly");
    assert!(reqwest::Client::new().get(format!("http://127.0.0.1:{port}/api/v1/health")).send().await.is_err());
}

#[tokio::test]
async fn a_running_analysis_is_handed_back_when_shutdown_cannot_wait() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.set(Fault::Stall(Duration::from_secs(30)));
    let (user_id, bearer) = app.active_user("handback@example.com").await;
    app.give_credits(&user_id, 10_000).await;
    let reply = app.analysis(&user_id, &bearer, &[("text", None, b"A claim.")]).await;
    let task_id = reply.data()["id"].as_str().unwrap().to_string();
    let workers = app.start_workers();
    let running = async {
        loop {
            let view = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
            if view.data()["status"] == "RUNNING" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), running).await.expect("the task starts");
    workers.shutdown(Duration::from_millis(200)).await;

    let view = app.get(&format!("/users/{user_id}/tasks/{task_id}"), Some(&bearer)).await;
    assert_eq!(view.data()["status"], "PENDING", "handed back, not left RUNNING");
    // The next process picks it up at once, without waiting for a lease.
    provider.set(Fault::None);
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED");
    assert_eq!(app.balance(&user_id).await, 8_000, "charged once, no refund");
}
