//! Analyses end to end: upload, debit, worker, provider, result or refund.

use std::time::Duration;

use base64::Engine;
use serde_json::json;

use crate::support::{
    provider::{FormPart, PNG, pdf, verdict},
    *,
};

const CREATED: &str = "Task created successfully.";

/// An active user with `credits` whole credits; returns (id, bearer).
async fn funded_user(app: &TestApp, email: &str, credits: i64) -> (String, String) {
    let (user_id, bearer) = app.active_user(email).await;
    if credits > 0 {
        app.give_credits(&user_id, credits * 100).await;
    }
    (user_id, bearer)
}

fn task_id(reply: &Reply) -> String {
    reply.assert_success(201, CREATED);
    reply.data()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn supported_attachments_follow_the_configuration() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = app.register("formats@example.com").await;
    let reply = app.get(&format!("/users/{user_id}/agent/supported_attachments"), Some(&bearer)).await;
    reply.assert_success(200, "Supported attachments fetched successfully.");
    assert_eq!(
        reply.data(),
        &json!({"audio": [], "image": [".jpeg", ".jpg", ".png", ".webp", ".gif"], "pdf": [".pdf"], "video": []})
    );
    app.get("/users/user_00000000000000000000000000000000/agent/supported_attachments", Some(&bearer))
        .await
        .assert_error(403, "forbidden", MSG_FORBIDDEN);

    let (app, _provider) = TestApp::with_agent(&[("AGENT_TRANSCRIPTION_MODEL", "whisper-1")]).await;
    let (user_id, bearer) = app.register("formats@example.com").await;
    let reply = app.get(&format!("/users/{user_id}/agent/supported_attachments"), Some(&bearer)).await;
    assert_eq!(reply.data()["audio"], json!([".mp3", ".wav", ".m4a", ".ogg", ".flac"]));
    assert_eq!(reply.data()["video"], json!([".mp4", ".webm"]));
}

#[tokio::test]
async fn a_text_analysis_is_debited_run_and_completed() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "text@example.com", 100).await;
    let reply = app.analysis(&user_id, &bearer, &[("text", None, b"The Eiffel Tower was finished in 1999.")]).await;
    let id = task_id(&reply);
    assert!(id.starts_with("task_"));
    assert_eq!(reply.data()["status"], "PENDING");
    assert_eq!(reply.data()["credits_used"], 20.0);
    assert_eq!(reply.data()["input"], "The Eiffel Tower was finished in 1999.");
    assert_eq!(reply.data()["result"], serde_json::Value::Null);
    assert_eq!(app.balance(&user_id).await, 8_000);
    let rows = app.transactions_of(&user_id).await;
    assert_eq!(rows.last().unwrap().description, format!("Agent analysis {id}"));
    assert_eq!(rows.last().unwrap().kind, "DEBIT");

    let workers = app.start_workers();
    let task = app.finished_task(&id).await;
    workers.shutdown(std::time::Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);

    let view = app.get(&format!("/users/{user_id}/tasks/{id}"), Some(&bearer)).await;
    view.assert_success(200, "Task fetched successfully.");
    assert_eq!(view.data()["status"], "COMPLETED");
    // The model's source was not retrieved for this task, so it is dropped, and said so.
    let mut grounded = verdict();
    grounded["sources"] = json!([]);
    grounded["citations"] = json!([]);
    assert_eq!(view.data()["result"], grounded);
    assert_eq!(view.data()["error"], serde_json::Value::Null);
    let steps = view.data()["steps"].as_array().unwrap();
    assert!(steps[0]["detail"].as_str().unwrap().contains("https://example.org/records"), "{steps:?}");
    assert_eq!(steps.last().unwrap()["kind"], "conclude");

    let chats = provider.chats();
    assert_eq!(chats.len(), 1, "a model that answers at once is not asked twice");
    let chat = &chats[0];
    assert_eq!(chat["model"], "test-model");
    assert_eq!(chat["tools"][0]["function"]["name"], "fetch_url", "tools are offered");
    assert_eq!(chat["tool_choice"], "auto");
    assert_eq!(chat["messages"][0]["role"], "system");
    let text = chat["messages"][1]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("The Eiffel Tower was finished in 1999."), "{text}");
    assert_eq!(provider.requests()[0].header("authorization"), Some("Bearer provider-key"));
    assert_eq!(app.balance(&user_id).await, 8_000, "no refund for a completed task");
}

#[tokio::test]
async fn images_arrive_as_data_urls_and_pdfs_as_their_text() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "files@example.com", 100).await;
    let document = pdf("The moon is made of cheese");
    let reply = app
        .analysis(
            &user_id,
            &bearer,
            &[
                ("text", None, b"Is this true?"),
                // One file under the field named after it (the Clara docs), one under `files`.
                ("photo.png", Some("photo.png"), PNG),
                ("files", Some("report.PDF"), &document),
            ],
        )
        .await;
    let id = task_id(&reply);
    assert_eq!(reply.data()["attachments"], json!(["photo.png", "report.PDF"]));
    assert!(app.stored_files() == 2, "files wait on disk for the worker");

    let workers = app.start_workers();
    let task = app.finished_task(&id).await;
    workers.shutdown(std::time::Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    assert_eq!(app.stored_files(), 0, "files are removed once the task is done");

    let chat = &provider.chats()[0];
    let content = chat["messages"][1]["content"].as_array().unwrap();
    let image = content.iter().find(|p| p["type"] == "image_url").expect("the image part");
    let expected = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(PNG));
    assert_eq!(image["image_url"]["url"], expected);
    let pdf_text = content.iter().filter_map(|p| p["text"].as_str()).find(|t| t.contains("report.PDF")).unwrap();
    assert!(pdf_text.contains("moon is made of cheese"), "{pdf_text}");
}

#[tokio::test]
async fn audio_is_transcribed_when_a_transcription_model_is_set() {
    let (app, provider) = TestApp::with_agent(&[("AGENT_TRANSCRIPTION_MODEL", "whisper-1")]).await;
    let (user_id, bearer) = funded_user(&app, "audio@example.com", 100).await;
    let mp3 = b"ID3\x03\0\0\0\0\0\x0f\xff\xfb\x90\x64\0\0\0\0\0\0\0\0\0\0";
    let id = task_id(&app.analysis(&user_id, &bearer, &[("talk.mp3", Some("talk.mp3"), mp3)]).await);
    let workers = app.start_workers();
    let task = app.finished_task(&id).await;
    workers.shutdown(std::time::Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    let transcription = provider.requests().into_iter().find(|r| r.path.ends_with("/audio/transcriptions")).unwrap();
    let raw = String::from_utf8_lossy(&transcription.body);
    assert!(raw.contains("whisper-1") && raw.contains("talk.mp3"));
    let chat = &provider.chats()[0];
    assert!(chat["messages"][1]["content"][0]["text"].as_str().unwrap().contains("transcript of talk.mp3"));
}

#[tokio::test]
async fn provider_failures_end_failed_with_one_refund() {
    let cases = [
        (Fault::status(500), Script::Answer(verdict()), "The model provider failed (HTTP 500).", 3),
        (Fault::status(429), Script::Answer(verdict()), "The model provider failed (HTTP 429).", 3),
        (
            Fault::Stall(Duration::from_secs(3)),
            Script::Answer(verdict()),
            "The model provider did not answer in time.",
            3,
        ),
        // Not a verdict at first: taken as the model's reasoning, then the verdict is asked for.
        (Fault::None, Script::Nonsense, "The model's answer was not a valid analysis", 2),
        (Fault::None, Script::Answer(json!({"verdict": "MAYBE"})), "The model's answer was not a valid analysis", 2),
        (
            Fault::None,
            Script::Answer(json!({"verdict": "TRUE", "confidence": 7, "summary": "x", "findings": [], "sources": []})),
            "confidence is outside 0..1",
            2,
        ),
    ];
    for (fault, script, error, attempts) in cases {
        let behaviour = (fault.clone(), script.clone());
        let (app, provider) = TestApp::with_agent(&[]).await;
        provider.set(fault);
        provider.script(script);
        let (user_id, bearer) = funded_user(&app, "failing@example.com", 100).await;
        let id = task_id(&app.analysis(&user_id, &bearer, &[("text", None, b"A claim.")]).await);
        let workers = app.start_workers();
        let task = app.finished_task(&id).await;
        workers.shutdown(std::time::Duration::from_secs(30)).await;
        assert_eq!(task.status, "FAILED", "{behaviour:?}");
        assert!(task.error.as_deref().unwrap().contains(error), "{behaviour:?}: {:?}", task.error);
        assert_eq!(provider.chats().len(), attempts, "{behaviour:?}: retried on 429/5xx/timeouts only");
        assert_eq!(app.balance(&user_id).await, 10_000, "{behaviour:?}: refunded");
        let rows = app.transactions_of(&user_id).await;
        let kinds: Vec<(&str, &str)> = rows.iter().map(|t| (t.kind.as_str(), t.description.as_str())).collect();
        assert_eq!(
            kinds[1..],
            [("DEBIT", format!("Agent analysis {id}").as_str()), ("CREDIT", format!("Refund for {id}").as_str())]
        );
        app.assert_ledger_balances(&rows, 10_000);
        let view = app.get(&format!("/users/{user_id}/tasks/{id}"), Some(&bearer)).await;
        assert_eq!(view.data()["status"], "FAILED");
        assert!(view.data()["error"].as_str().is_some());
    }
}

#[tokio::test]
async fn bad_forms_are_400_and_write_nothing() {
    let (app, provider) = TestApp::with_agent(&[("MAX_ATTACHMENT_BYTES", "2000")]).await;
    let (user_id, bearer) = funded_user(&app, "badform@example.com", 100).await;
    let before = app.snapshot().await;
    let exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0";
    let big_png = [PNG, &[0u8; 2000][..]].concat();
    let six: Vec<FormPart<'_>> = (0..6).map(|_| ("files", Some("photo.png"), PNG)).collect();
    let cases: Vec<Vec<FormPart<'_>>> = vec![
        six,
        vec![("files", Some("tool.exe"), exe)],
        vec![("files", Some("tool.png"), exe)],
        vec![("files", Some("notes.png"), b"just some text")],
        vec![("files", Some("big.png"), &big_png)],
        vec![("files", Some("empty.png"), b"")],
        vec![("files", Some("noextension"), PNG)],
        vec![("files", Some("talk.mp3"), b"ID3\x03\0\0\0\0\0\x0f")],
        vec![],
        vec![("text", None, b"   ")],
        vec![("text", None, b"one"), ("text", None, b"two")],
        vec![("prompt", None, b"an unknown field")],
        vec![("text", None, b"\xff\xfe not utf-8")],
    ];
    for parts in cases {
        let reply = app.analysis(&user_id, &bearer, &parts).await;
        reply.assert_error(400, "invalid_parameters", MSG_INVALID);
    }
    // Not multipart at all.
    let reply = app.post(&format!("/users/{user_id}/agent/analysis"), Some(&bearer), Some(json!({"text": "x"}))).await;
    reply.assert_error(400, "empty_body", MSG_EMPTY);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 10_000);
    assert_eq!(app.stored_files(), 0, "partial uploads are removed");
    assert!(provider.requests().is_empty());
}

#[tokio::test]
async fn without_enough_credits_nothing_is_written() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "poor@example.com", 19).await;
    let before = app.snapshot().await;
    app.analysis(&user_id, &bearer, &[("text", None, b"A claim."), ("files", Some("p.png"), PNG)]).await.assert_error(
        403,
        "insufficient_credits",
        "You do not have enough credits to perform this action.",
    );
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.balance(&user_id).await, 1_900);
    assert_eq!(app.stored_files(), 0);
}

#[tokio::test]
async fn twenty_concurrent_analyses_against_credits_for_ten_make_ten_tasks() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "crowd@example.com", 200).await;
    let started = std::time::Instant::now();
    let replies = futures_util::future::join_all(
        (0..20).map(|_| app.analysis(&user_id, &bearer, &[("text", None, b"A claim.")])),
    )
    .await;
    eprintln!("20 concurrent analyses: {:?}", started.elapsed());
    let created = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 403 && r.body["code"] == "insufficient_credits").count();
    assert_eq!((created, refused), (10, 10));
    assert_eq!(app.count(entity::tasks::Entity).await, 10);
    assert_eq!(app.balance(&user_id).await, 0);
    app.assert_ledger_balances(&app.transactions_of(&user_id).await, 0);
}

#[tokio::test]
async fn a_task_left_running_by_a_crash_is_finished_after_restart() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    provider.set(Fault::Stall(Duration::from_secs(30)));
    let (user_id, bearer) = funded_user(&app, "crash@example.com", 100).await;
    let id = task_id(&app.analysis(&user_id, &bearer, &[("text", None, b"A claim.")]).await);
    let workers = app.start_workers();
    for _ in 0..200 {
        if app.get(&format!("/users/{user_id}/tasks/{id}"), Some(&bearer)).await.data()["status"] == "RUNNING" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    workers.abort(); // the process dies mid-task
    let view = app.get(&format!("/users/{user_id}/tasks/{id}"), Some(&bearer)).await;
    assert_eq!(view.data()["status"], "RUNNING");

    // Restart: the stale claim's lease has run out.
    provider.set(Fault::None);
    app.state.clock.advance(Duration::from_secs(3600));
    let workers = app.start_workers();
    let task = app.finished_task(&id).await;
    workers.shutdown(std::time::Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED");
    assert_eq!(task.attempts, 2);
    assert_eq!(app.balance(&user_id).await, 8_000, "debited once, never refunded");
    assert_eq!(app.transactions_of(&user_id).await.len(), 2);
}

#[tokio::test]
async fn two_processes_never_run_the_same_task() {
    let (app, provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "shared@example.com", 400).await;
    let mut ids = vec![];
    for i in 0..12 {
        let text = format!("Claim number {i}.");
        ids.push(task_id(&app.analysis(&user_id, &bearer, &[("text", None, text.as_bytes())]).await));
    }
    let other = app.second_process().await;
    let here = app.start_workers();
    let there = clara_backend::jobs::worker::Workers::start(&other);
    for id in &ids {
        assert_eq!(app.finished_task(id).await.status, "COMPLETED");
    }
    here.shutdown(Duration::from_secs(30)).await;
    there.shutdown(Duration::from_secs(30)).await;
    let mut texts: Vec<String> =
        provider.chats().iter().map(|c| c["messages"][1]["content"][0]["text"].as_str().unwrap().to_string()).collect();
    assert_eq!(texts.len(), 12, "one provider call per task");
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 12, "no task ran twice");
    let tasks = app.transactions_of(&user_id).await;
    assert_eq!(tasks.len(), 13, "the credit and twelve debits, no refunds");
}

#[tokio::test]
async fn analysis_names_the_variables_when_no_provider_is_configured() {
    let app = TestApp::new().await;
    let (user_id, bearer) = funded_user(&app, "noagent@example.com", 100).await;
    app.analysis(&user_id, &bearer, &[("text", None, b"A claim.")]).await.assert_error(
        503,
        "not_configured",
        "This feature is not configured on the server. Set AGENT_API_BASE and AGENT_MODEL to enable it.",
    );
    assert_eq!(app.balance(&user_id).await, 10_000);
}

#[tokio::test]
async fn tasks_are_listed_newest_first_and_private() {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "lister@example.com", 100).await;
    let mut ids = vec![];
    for i in 0..3 {
        ids.push(task_id(&app.analysis(&user_id, &bearer, &[("text", None, format!("Claim {i}").as_bytes())]).await));
    }
    let list = app.get(&format!("/users/{user_id}/tasks?limit=2"), Some(&bearer)).await;
    list.assert_success(200, "Tasks fetched successfully.");
    assert_eq!(list.total_count(), 3);
    let listed: Vec<&str> = list.data().as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[2].as_str(), ids[1].as_str()]);
    let rest = app.get(&format!("/users/{user_id}/tasks?offset=2"), Some(&bearer)).await;
    assert_eq!(rest.data()[0]["id"], ids[0].as_str());
    for query in ["limit=0", "limit=101", "offset=-1", "limit=x"] {
        app.get(&format!("/users/{user_id}/tasks?{query}"), Some(&bearer)).await.assert_error(
            400,
            "invalid_parameters",
            MSG_INVALID,
        );
    }
    let (other_id, other_bearer) = funded_user(&app, "snoop@example.com", 0).await;
    app.get(&format!("/users/{other_id}/tasks/{}", ids[0]), Some(&other_bearer)).await.assert_error(
        404,
        "task_not_found",
        "Task with the given identifier does not exist.",
    );
    app.get(&format!("/users/{user_id}/tasks"), Some(&other_bearer)).await.assert_error(
        403,
        "forbidden",
        MSG_FORBIDDEN,
    );
    // With the API key too.
    let key = app.get(&format!("/users/{user_id}/api_key"), Some(&bearer)).await;
    let key = format!("Bearer {}", key.data()["token"].as_str().unwrap());
    app.get(&format!("/users/{user_id}/tasks/{}", ids[1]), Some(&key))
        .await
        .assert_success(200, "Task fetched successfully.");
    let via_key = app.analysis(&user_id, &key, &[("text", None, b"By key.")]).await;
    task_id(&via_key);
}

#[tokio::test]
async fn deleting_an_account_removes_its_waiting_files() {
    let (app, _provider) = TestApp::with_agent(&[("ADMIN_API_KEY", ADMIN_KEY)]).await;
    let (user_id, bearer) = funded_user(&app, "leaving@example.com", 100).await;
    task_id(&app.analysis(&user_id, &bearer, &[("files", Some("p.png"), PNG)]).await);
    assert_eq!(app.stored_files(), 1);
    let reply = app.call(poem::http::Method::DELETE, &format!("/users/{user_id}"), Some(ADMIN_KEY), None).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(app.count(entity::tasks::Entity).await, 0);
    assert_eq!(app.stored_files(), 0);
}

#[tokio::test]
async fn an_empty_files_slot_is_no_file_but_a_text_in_it_is_refused() {
    // Swagger UI's "Try it out" sends `files` as an empty plain field when none is chosen.
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = funded_user(&app, "swagger@example.com", 100).await;
    let reply = app.analysis(&user_id, &bearer, &[("text", None, b"A claim."), ("files", None, b"")]).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.data()["attachments"], json!([]));
    let before = app.snapshot().await;
    let refused = app.analysis(&user_id, &bearer, &[("text", None, b"A claim."), ("files", None, b"string")]).await;
    refused.assert_error(400, "invalid_parameters", MSG_INVALID);
    assert_eq!(app.snapshot().await, before);
}
