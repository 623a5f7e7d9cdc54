//! One user cannot hold the analysis workers or the parsers: at most
//! `TASKS_PER_USER_RUNNING` of a user's tasks run at once (the claim decides, in any number
//! of processes), a worker passes over a user at that limit to another user's task, the
//! user with the fewest tasks running goes first, parser slots are taken in turns by user,
//! and a file that exhausts the parser's limits keeps the credits it cost.

use std::time::{Duration, Instant};

use clara_backend::services::tasks;

use crate::{pdf_gen, support::*};

fn task_id(reply: &Reply) -> String {
    reply.assert_success(201, "Task created successfully.");
    reply.data()["id"].as_str().unwrap().to_string()
}

/// The reported bomb: 3,000 pages drawing one content stream, about 460 KB.
fn parser_bomb() -> Vec<u8> {
    pdf_gen::shared_content_pages(3_000, 64)
}

async fn status_of(app: &TestApp, id: &str) -> entity::tasks::Model {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::tasks::Entity::find()
        .filter(entity::tasks::Column::Id.eq(id))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("task exists")
}

/// Waits (up to `limit`) until the task is COMPLETED or FAILED.
async fn ended(app: &TestApp, id: &str, limit: Duration) -> entity::tasks::Model {
    let started = Instant::now();
    loop {
        let task = status_of(app, id).await;
        if task.status == tasks::COMPLETED || task.status == tasks::FAILED {
            return task;
        }
        assert!(started.elapsed() < limit, "task {id} did not end within {limit:?} ({})", task.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The reported attack with the parser timeout cut to 2 s: one parser, two workers, and a
/// user who queues five parser bombs. Once both workers hold a bomb, another user's text
/// analysis waits for one of them at most (one parser timeout), not behind all five; each
/// bomb fails saying it exceeded the limits, and keeps its credits.
#[tokio::test]
async fn parser_bombs_delay_another_users_text_by_at_most_one_parser_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(2);
    // Claiming, the model double's answer and a loaded machine, on top of the timeout.
    const SLACK: Duration = Duration::from_millis(1500);
    let (app, _provider) = TestApp::with_agent(&[
        ("EXTRACT_TIMEOUT_SECS", "2"),
        ("EXTRACT_CONCURRENCY", "1"),
        ("WORKER_CONCURRENCY", "2"),
    ])
    .await;
    let (mallory, mallory_bearer) = app.active_user("mallory@example.com").await;
    let (alice, alice_bearer) = app.active_user("alice@example.com").await;
    app.give_credits(&mallory, 10_000).await;
    app.give_credits(&alice, 10_000).await;
    let cost = app.state.config.analyses.analysis_cost;
    let workers = app.start_workers();

    // Alone, Alice's analysis takes this long.
    let started = Instant::now();
    let id = task_id(&app.analysis(&alice, &alice_bearer, &[("text", None, b"A claim.")]).await);
    assert_eq!(ended(&app, &id, Duration::from_secs(10)).await.status, tasks::COMPLETED);
    let alone = started.elapsed();

    let bomb = parser_bomb();
    assert!(bomb.len() < 500_000, "the reported bomb is small: {} bytes", bomb.len());
    let mut bombs = vec![];
    for n in 0..5 {
        let name = format!("bomb{n}.pdf");
        bombs.push(task_id(&app.analysis(&mallory, &mallory_bearer, &[("files", Some(&name), &bomb)]).await));
    }
    // Both workers hold one of Mallory's bombs when Alice asks.
    let wait = Instant::now();
    while futures_util::future::join_all(bombs[..2].iter().map(|id| status_of(&app, id)))
        .await
        .iter()
        .any(|t| t.status != tasks::RUNNING)
    {
        assert!(wait.elapsed() < Duration::from_secs(10), "the workers took the first bombs");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let id = task_id(&app.analysis(&alice, &alice_bearer, &[("text", None, b"A claim.")]).await);
    let task = ended(&app, &id, Duration::from_secs(60)).await;
    let behind_bombs = started.elapsed();
    assert_eq!(task.status, tasks::COMPLETED, "{:?}", task.error);
    eprintln!("measured: alone {alone:?}, behind five parser bombs {behind_bombs:?} (parser timeout {TIMEOUT:?})");
    assert!(behind_bombs < TIMEOUT + SLACK, "Alice waited {behind_bombs:?} behind Mallory's bombs");

    for (n, id) in bombs.iter().enumerate() {
        let task = ended(&app, id, Duration::from_secs(60)).await;
        assert_eq!(task.status, tasks::FAILED);
        assert_eq!(
            task.error.as_deref(),
            Some(
                format!(
                    "The PDF bomb{n}.pdf exceeded the reading limits: it took too long. \
                     The analysis's credits are not refunded."
                )
                .as_str()
            )
        );
    }
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(app.balance(&mallory).await, 10_000 - 5 * cost, "the bombs keep their credits");
    let kinds: Vec<String> = app.transactions_of(&mallory).await.into_iter().map(|t| t.kind).collect();
    assert_eq!(kinds, ["CREDIT", "DEBIT", "DEBIT", "DEBIT", "DEBIT", "DEBIT"], "no refund");
    assert_eq!(app.balance(&alice).await, 10_000 - 2 * cost);
    assert_eq!(app.stored_files(), 0, "the bombs' files are removed");
}

/// Queues `count` text analyses for the user; returns their ids, oldest first.
async fn queue(app: &TestApp, user_id: &str, bearer: &str, count: usize) -> Vec<String> {
    let mut ids = vec![];
    for _ in 0..count {
        ids.push(task_id(&app.analysis(user_id, bearer, &[("text", None, b"A claim.")]).await));
    }
    ids
}

/// A worker never waits on a user at the limit: it passes over that user's older tasks to
/// another user's, and finds nothing (holding nothing) when only capped users wait.
#[tokio::test]
async fn a_user_at_the_running_limit_is_passed_over_for_another_users_task() {
    let (app, _provider) = TestApp::with_agent(&[("TASKS_PER_USER_RUNNING", "2")]).await;
    let (mallory, mallory_bearer) = app.active_user("mallory@example.com").await;
    let (alice, alice_bearer) = app.active_user("alice@example.com").await;
    app.give_credits(&mallory, 10_000).await;
    app.give_credits(&alice, 10_000).await;
    let floods = queue(&app, &mallory, &mallory_bearer, 4).await;
    let asks = queue(&app, &alice, &alice_bearer, 1).await;

    let claim = || async { tasks::claim_next(&app.state).await.unwrap().map(|task| task.id) };
    assert_eq!(claim().await.as_ref(), Some(&floods[0]));
    // Alice has none running, Mallory one: Alice goes first although she asked last.
    assert_eq!(claim().await.as_ref(), Some(&asks[0]));
    assert_eq!(claim().await.as_ref(), Some(&floods[1]));
    // Mallory has two running: her other tasks wait, and hold no worker.
    assert_eq!(claim().await, None);
    assert_eq!(status_of(&app, &floods[2]).await.status, tasks::PENDING);

    // One of hers ends: the next one may run.
    for id in [&floods[0], &asks[0]] {
        let running = status_of(&app, id).await;
        assert!(tasks::complete(&app.state, &running, &serde_json::json!({})).await.unwrap());
    }
    assert_eq!(claim().await.as_ref(), Some(&floods[2]));
    assert_eq!(claim().await, None);

    // A claim whose worker died (its lease ran out) no longer counts: it is run again.
    app.state.clock.advance(Duration::from_micros(tasks::lease_micros(&app.state) as u64 + 1_000_000));
    let again: Vec<String> = [claim().await, claim().await].into_iter().flatten().collect();
    assert_eq!(again.len(), 2, "two of Mallory's may run again: {again:?}");
    assert!(again.iter().all(|id| floods.contains(id)));
    assert_eq!(claim().await, None, "still at most two");
}

/// Many workers in two processes claiming at once never run more than
/// `TASKS_PER_USER_RUNNING` of one user's tasks: the claim itself checks the limit.
#[tokio::test]
async fn the_running_limit_holds_across_processes() {
    let (app, _provider) = TestApp::with_agent(&[("TASKS_PER_USER_RUNNING", "2")]).await;
    let (mallory, bearer) = app.active_user("mallory@example.com").await;
    app.give_credits(&mallory, 100_000).await;
    queue(&app, &mallory, &bearer, 8).await;
    let other = app.second_process().await;

    for _round in 0..3 {
        let claims = (0..8).map(|n| {
            let state = if n % 2 == 0 { app.state.clone() } else { other.clone() };
            async move { tasks::claim_next(&state).await.unwrap() }
        });
        let claimed: Vec<_> = futures_util::future::join_all(claims).await.into_iter().flatten().collect();
        assert!(claimed.len() <= 2, "{} of Mallory's tasks claimed at once", claimed.len());
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let running = entity::tasks::Entity::find()
            .filter(entity::tasks::Column::Status.eq(tasks::RUNNING))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(running, 2, "two run, the others wait");
        // Both end; the next round claims again.
        for task in claimed {
            assert!(tasks::complete(&app.state, &task, &serde_json::json!({})).await.unwrap());
        }
    }
}

/// One parser slot; Mallory's three parser bombs are queued first, then Alice's ordinary
/// PDF: Alice's is read after Mallory's first bomb, not after all three.
#[tokio::test]
async fn parser_slots_are_taken_in_turns_by_user() {
    use std::sync::{Arc, Mutex};

    use clara_backend::isolate::{Extractor, Kind, Limits, on_behalf_of};
    let limits = Limits { memory_bytes: 256 << 20, timeout: Duration::from_secs(1), max_output: 1 << 20 };
    let extractor = Arc::new(Extractor::new(env!("CARGO_BIN_EXE_clara-backend").into(), limits, 1));
    let read = Arc::new(Mutex::new(vec![]));
    let bomb = parser_bomb();
    let queued = [("mallory", &bomb), ("mallory", &bomb), ("mallory", &bomb), ("alice", &pdf_gen::plain("Report"))]
        .map(|(owner, document)| (owner, document.clone()));
    let mut handles = vec![];
    for (owner, document) in queued {
        let (extractor, read) = (extractor.clone(), read.clone());
        handles.push(tokio::spawn(on_behalf_of(owner.to_string(), async move {
            let result = extractor.extract(Kind::PdfText, document).await;
            read.lock().unwrap().push((owner, result.is_ok()));
        })));
        // Queued in this order.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let read = read.lock().unwrap().clone();
    assert_eq!(read, [("mallory", false), ("alice", true), ("mallory", false), ("mallory", false)]);
}
