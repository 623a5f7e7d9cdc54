//! Hostile uploads end their own task and nothing else: the reported self-drawing PDF (a
//! stack overflow that used to abort the whole server) fails with a refund, a compression
//! bomb (it exhausts the parser's limits) fails keeping its credits, and the same process
//! goes on to finish an ordinary analysis.

use std::time::{Duration, Instant};

use clara_backend::services::tasks::{self, MAX_ATTEMPTS};

use crate::{
    pdf_gen,
    support::{
        provider::{PNG, pdf},
        *,
    },
};

/// Posts `document` as report.pdf, runs the workers until the task ends; returns the task.
async fn analyse_pdf(app: &TestApp, user_id: &str, bearer: &str, document: &[u8]) -> entity::tasks::Model {
    let reply = app.analysis(user_id, bearer, &[("files", Some("report.pdf"), document)]).await;
    reply.assert_success(201, "Task created successfully.");
    let id = reply.data()["id"].as_str().unwrap().to_string();
    let workers = app.start_workers();
    let task = app.finished_task(&id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    task
}

/// A hostile document fails with `error`, is refunded once (unless it exhausted the
/// parser's limits: then it keeps its credits), and leaves a server that still completes
/// an ordinary PDF analysis.
async fn fails_alone(document: &[u8], errors: &[&str], refunded: bool, extra: &[(&str, &str)]) -> Duration {
    let (app, _provider) = TestApp::with_agent(extra).await;
    let (user_id, bearer) = app.active_user("mallory@example.com").await;
    app.give_credits(&user_id, 10_000).await;

    let started = Instant::now();
    let task = analyse_pdf(&app, &user_id, &bearer, document).await;
    let took = started.elapsed();
    assert_eq!(task.status, "FAILED");
    let error = task.error.as_deref().unwrap_or_default();
    assert!(errors.contains(&error), "unexpected error: {error}");
    let rows = app.transactions_of(&user_id).await;
    let kinds: Vec<&str> = rows.iter().map(|t| t.kind.as_str()).collect();
    if refunded {
        assert_eq!(app.balance(&user_id).await, 10_000, "refunded");
        assert_eq!(kinds, ["CREDIT", "DEBIT", "CREDIT"], "one debit, one refund");
        assert_eq!(rows[2].description, format!("Refund for {}", task.id));
    } else {
        assert_eq!(app.balance(&user_id).await, 10_000 - task.credits_used, "the credits are kept");
        assert_eq!(kinds, ["CREDIT", "DEBIT"], "one debit, no refund");
    }
    assert_eq!(app.stored_files(), 0, "the hostile file is removed");

    let ordinary = analyse_pdf(&app, &user_id, &bearer, &pdf("An ordinary report")).await;
    assert_eq!(ordinary.status, "COMPLETED", "{:?}", ordinary.error);
    took
}

#[tokio::test]
async fn a_pdf_whose_xobject_draws_itself_fails_only_its_task() {
    let document = pdf_gen::self_drawing_xobject();
    assert!(document.len() < 1024, "the reported attack is tiny: {} bytes", document.len());
    fails_alone(&document, &["The PDF report.pdf could not be read: it is damaged or not a PDF."], true, &[]).await;
}

#[tokio::test]
async fn a_compression_bomb_fails_only_its_task_within_the_limits_and_keeps_its_credits() {
    // Four GiB of zeros from about four MiB of upload.
    let document = pdf_gen::flate_bomb(4);
    let limits = [("EXTRACT_MAX_MEMORY_MB", "256"), ("EXTRACT_TIMEOUT_SECS", "10")];
    let took = fails_alone(
        &document,
        &[
            "The PDF report.pdf exceeded the reading limits: it used too much memory. \
             The analysis's credits are not refunded.",
            "The PDF report.pdf exceeded the reading limits: it took too long. \
             The analysis's credits are not refunded.",
        ],
        false,
        &limits,
    )
    .await;
    assert!(took < Duration::from_secs(20), "bounded by EXTRACT_TIMEOUT_SECS: {took:?}");
}

/// Whatever kills a worker mid-task (the parser before isolation, an OOM kill, a bug)
/// would kill the next claimant too: after MAX_ATTEMPTS claims the task is failed and
/// refunded instead of run again.
#[tokio::test]
async fn a_task_whose_runs_keep_dying_is_failed_and_refunded_not_run_again() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = app.active_user("crashloop@example.com").await;
    app.give_credits(&user_id, 10_000).await;
    let reply = app.analysis(&user_id, &bearer, &[("files", Some("p.png"), PNG)]).await;
    reply.assert_success(201, "Task created successfully.");
    let id = reply.data()["id"].as_str().unwrap().to_string();
    let lease = Duration::from_micros(tasks::lease_micros(&app.state) as u64);

    for attempt in 1..=MAX_ATTEMPTS {
        let claimed = tasks::claim_next(&app.state).await.unwrap().expect("claimed");
        assert_eq!((claimed.id.as_str(), claimed.attempts), (id.as_str(), attempt));
        // The process running it dies; its claim expires.
        app.state.clock.advance(lease + Duration::from_secs(1));
    }
    assert!(tasks::claim_next(&app.state).await.unwrap().is_none(), "not handed out again");
    let task = app.finished_task(&id).await;
    assert_eq!(task.status, "FAILED");
    assert_eq!(task.error.as_deref(), Some("The analysis was interrupted too many times."));
    assert_eq!(app.balance(&user_id).await, 10_000, "refunded");
    assert_eq!(app.stored_files(), 0, "its files are removed");

    // Nothing left to claim or refund later.
    app.state.clock.advance(lease * 2);
    assert!(tasks::claim_next(&app.state).await.unwrap().is_none());
    let kinds: Vec<String> = app.transactions_of(&user_id).await.into_iter().map(|t| t.kind).collect();
    assert_eq!(kinds, ["CREDIT", "DEBIT", "CREDIT"]);
}
