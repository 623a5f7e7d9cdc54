//! A worker's task run: a root (consumer) span of its own, with the provider call and the
//! task's queries under it, and a span link to the request that queued the task.

use std::time::Duration;

use clara_backend::telemetry::Guard;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};

use crate::{
    receiver::{Received, attribute, hex, in_trace, render, until},
    support::TestApp,
};

pub async fn check(received: &Received, guard: &Guard) {
    let (app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = app.active_user("analyst@example.com").await;
    app.give_credits(&user_id, 100 * 100).await;
    let reply = app.analysis(&user_id, &bearer, &[("text", None, b"The Eiffel Tower was finished in 1999.")]).await;
    assert_eq!(reply.status, 201, "body: {}", reply.body);
    let task_id = reply.data()["id"].as_str().unwrap().to_string();
    let workers = app.start_workers();
    let task = app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);

    let queuing_path = format!("/api/v1/users/{user_id}/agent/analysis");
    let is_queuing =
        |s: &Span| s.kind == SpanKind::Server as i32 && attribute(s, "url.path") == Some(queuing_path.clone());
    let is_run = |s: &Span| s.name == "task run" && attribute(s, "task.id").as_deref() == Some(task_id.as_str());
    let all = until(received, guard, |all| all.iter().any(is_run) && all.iter().any(is_queuing)).await;
    let run = all.iter().find(|s| is_run(s)).expect("a task-run span");
    let queuing = all.iter().find(|s| is_queuing(s)).expect("the request that queued the task");

    assert!(run.parent_span_id.is_empty(), "a task run is a root");
    assert_ne!(run.trace_id, queuing.trace_id, "the run is a trace of its own");
    assert_eq!(run.kind, SpanKind::Consumer as i32);
    assert_eq!(attribute(run, "user.id").as_deref(), Some(user_id.as_str()));
    assert_eq!(attribute(run, "task.status").as_deref(), Some("COMPLETED"));

    // The link: to the queuing request's span, in that request's trace.
    assert_eq!(run.links.len(), 1, "{:?}", run.links);
    assert_eq!(hex(&run.links[0].trace_id), hex(&queuing.trace_id));
    assert_eq!(hex(&run.links[0].span_id), hex(&queuing.span_id));
    // What the task row kept for it: that span's `traceparent`.
    let stored = task.trace_context.as_deref().expect("the task kept the queuing request's context");
    let stored: serde_json::Value = serde_json::from_str(stored).unwrap();
    let traceparent = format!("00-{}-{}-01", hex(&queuing.trace_id), hex(&queuing.span_id));
    assert_eq!(stored, serde_json::json!({"traceparent": traceparent}), "no tracestate when there is none");

    let in_run = in_trace(&all, &run.trace_id);
    let mut tree = String::new();
    render(&in_run, &run.span_id, 1, &mut tree);
    println!("task run {task_id}, linked to {} {}:\n{tree}", hex(&queuing.trace_id), hex(&queuing.span_id));
    let provider_call = in_run
        .iter()
        .find(|s| attribute(s, "peer.service").as_deref() == Some("provider"))
        .expect("a provider call in the task run");
    assert_eq!(provider_call.parent_span_id, run.span_id, "{tree}");
    assert_eq!(provider_call.kind, SpanKind::Client as i32);
    assert!(in_run.iter().any(|s| attribute(s, "db.system").is_some()), "database spans in the run:\n{tree}");
}
