//! OpenTelemetry traces, end to end: the app exports over OTLP/HTTP to a receiver on
//! 127.0.0.1 that decodes what arrives with the OpenTelemetry protobuf types; a purchase
//! that calls a fake Stripe (also on 127.0.0.1) comes with a caller's `traceparent`; then a
//! worker runs an analysis against a fake model provider.
//!
//! Its own test binary: the tracing subscriber, the propagator and the exporter are
//! process-wide, and the exporter's endpoint comes from the environment. One test only,
//! so that nothing else in this process reads the environment while it is set.

#[allow(dead_code, unused_imports)]
#[path = "api/support/mod.rs"]
mod support;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value as AnyValue,
    trace::v1::{Span, span::SpanKind},
};
use poem::{
    Body, EndpointExt, Response, Route, Server, handler,
    http::{Method, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use prost::Message;
use serde_json::json;
use support::{FakeStripe, TestApp};
use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt};

/// What the caller sends: trace 4bf9…4736, its span 00f0…02b7, sampled.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const REQUEST_ID: &str = "otel-test-request-1";

type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

#[handler]
async fn collect(body: Body, received: Data<&Received>) -> Response {
    let bytes = body.into_bytes().await.unwrap_or_default();
    match ExportTraceServiceRequest::decode(bytes.as_ref()) {
        Ok(request) => {
            received.lock().unwrap().push(request);
            Response::builder()
                .content_type("application/x-protobuf")
                .body(ExportTraceServiceResponse::default().encode_to_vec())
        }
        Err(_) => Response::builder().status(StatusCode::BAD_REQUEST).finish(),
    }
}

/// An OTLP/HTTP trace receiver on 127.0.0.1: its base URL and what it has received.
async fn start_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind the OTLP receiver");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
    let app = Route::new().at("/v1/traces", poem::post(collect)).data(received.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}"), received)
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?.value.as_ref()?.value.as_ref()?;
    Some(match value {
        AnyValue::StringValue(s) => s.clone(),
        AnyValue::IntValue(i) => i.to_string(),
        AnyValue::BoolValue(b) => b.to_string(),
        AnyValue::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

/// Every span received, with the resource's `service.name` it came under.
fn spans(received: &Received) -> Vec<(String, Span)> {
    let mut all = vec![];
    for request in received.lock().unwrap().iter() {
        for resource_spans in &request.resource_spans {
            let service = resource_spans
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                .and_then(|kv| kv.value.as_ref()?.value.as_ref().cloned())
                .map(|v| match v {
                    AnyValue::StringValue(s) => s,
                    other => format!("{other:?}"),
                })
                .unwrap_or_default();
            for scope_spans in &resource_spans.scope_spans {
                all.extend(scope_spans.spans.iter().cloned().map(|s| (service.clone(), s)));
            }
        }
    }
    all
}

/// The span tree of one trace, indented, for the test's output.
fn render(spans: &[Span], parent: &[u8], depth: usize, out: &mut String) {
    let mut children: Vec<&Span> = spans.iter().filter(|s| s.parent_span_id == parent).collect();
    children.sort_by_key(|s| s.start_time_unix_nano);
    for span in children {
        let kind = SpanKind::try_from(span.kind).map(|k| k.as_str_name()).unwrap_or("?");
        let detail = ["operation", "url.path", "db.operation", "http.response.status_code", "user.id"]
            .iter()
            .filter_map(|k| attribute(span, k).map(|v| format!("{k}={v}")))
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!("{}{} [{kind}] {}  {detail}\n", "  ".repeat(depth), span.name, hex(&span.span_id)));
        render(spans, &span.span_id, depth + 1, out);
    }
}

#[test]
fn a_purchase_is_one_trace_from_the_caller_through_stripe() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(purchase_trace());
}

async fn purchase_trace() {
    let (endpoint, received) = start_receiver().await;
    // SAFETY: the only test in this binary, and nothing else here reads the environment yet.
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
        std::env::remove_var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        std::env::remove_var("OTEL_SERVICE_NAME");
        std::env::remove_var("OTEL_SDK_DISABLED");
        std::env::remove_var("OTEL_TRACES_SAMPLER");
    }
    let (layer, guard) = clara_backend::telemetry::init::<tracing_subscriber::Registry>()
        .expect("the exporter builds")
        .expect("an endpoint is set, so there is a layer");
    tracing_subscriber::registry().with(layer).init();
    assert!(clara_backend::telemetry::enabled());

    let (app, stripe): (TestApp, FakeStripe) = TestApp::with_stripe(&[]).await;
    let (user_id, bearer) = app.active_user("traced@example.com").await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN_ID}-01");
    let body = serde_json::to_vec(&json!({"amount": 5, "return_path": "/billing"})).unwrap();
    let reply = app
        .raw(
            Method::POST,
            "/api/v1/stripe/buy",
            &[
                ("Authorization", bearer.as_str()),
                ("Content-Type", "application/json"),
                ("traceparent", traceparent.as_str()),
                ("X-Request-Id", REQUEST_ID),
            ],
            Some(poem::Body::from_vec(body)),
        )
        .await;
    assert_eq!(reply.status, 201, "body: {}", reply.body);

    // The request span closes as the answer leaves; wait until it has been exported.
    let trace_id = data_encoding::HEXLOWER.decode(TRACE_ID.as_bytes()).unwrap();
    let mut trace: Vec<Span> = vec![];
    for _ in 0..50 {
        tokio::task::block_in_place(|| guard.force_flush());
        trace = spans(&received).into_iter().filter(|(_, s)| s.trace_id == trace_id).map(|(_, s)| s).collect();
        if trace.iter().any(|s| attribute(s, "operation").as_deref() == Some("stripeBuy")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut tree = String::new();
    let caller = data_encoding::HEXLOWER.decode(CALLER_SPAN_ID.as_bytes()).unwrap();
    render(&trace, &caller, 0, &mut tree);
    println!("trace {TRACE_ID}, under the caller's span {CALLER_SPAN_ID}:\n{tree}");

    // The service is named by default.
    let services: Vec<String> = spans(&received).into_iter().map(|(service, _)| service).collect();
    assert!(services.iter().all(|s| s == "clara-backend"), "{services:?}");

    // The request: a server span, child of the caller's span, named after the operation.
    let request = trace.iter().find(|s| s.kind == SpanKind::Server as i32).expect("a server span in the trace");
    assert_eq!(hex(&request.parent_span_id), CALLER_SPAN_ID, "{tree}");
    assert_eq!(request.name, "stripeBuy");
    assert_eq!(attribute(request, "operation").as_deref(), Some("stripeBuy"));
    assert_eq!(attribute(request, "http.request.method").as_deref(), Some("POST"));
    assert_eq!(attribute(request, "url.path").as_deref(), Some("/api/v1/stripe/buy"));
    assert_eq!(attribute(request, "http.response.status_code").as_deref(), Some("201"));
    assert_eq!(attribute(request, "user.id").as_deref(), Some(user_id.as_str()));
    assert_eq!(attribute(request, "request_id").as_deref(), Some(REQUEST_ID));
    assert_eq!(trace.iter().filter(|s| s.kind == SpanKind::Server as i32).count(), 1, "{tree}");

    // Everything else in the trace descends from the request span.
    let by_id: HashMap<Vec<u8>, &Span> = trace.iter().map(|s| (s.span_id.clone(), s)).collect();
    let descends = |span: &Span| {
        let mut parent = span.parent_span_id.clone();
        while let Some(up) = by_id.get(&parent) {
            if up.span_id == request.span_id {
                return true;
            }
            parent = up.parent_span_id.clone();
        }
        false
    };
    for span in trace.iter().filter(|s| s.span_id != request.span_id) {
        assert!(descends(span), "{} is not under the request span:\n{tree}", span.name);
    }

    // Stripe: two client spans (the customer, then the Checkout Session), and each call
    // carried its own span as the parent in `traceparent`.
    let stripe_spans: Vec<&Span> =
        trace.iter().filter(|s| attribute(s, "peer.service").as_deref() == Some("stripe")).collect();
    let paths: Vec<String> = stripe_spans.iter().filter_map(|s| attribute(s, "url.path")).collect();
    assert_eq!(stripe_spans.len(), 2, "{tree}");
    assert!(paths.contains(&"/v1/customers".to_string()) && paths.contains(&"/v1/checkout/sessions".to_string()));
    for span in &stripe_spans {
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(span.name, "POST stripe");
        assert_eq!(attribute(span, "server.address").as_deref(), Some("127.0.0.1"));
        assert_eq!(attribute(span, "http.response.status_code").as_deref(), Some("200"));
        let path = attribute(span, "url.path").unwrap();
        let seen = stripe.requests_to(&path);
        let sent = seen.last().and_then(|r| r.traceparent.clone()).expect("Stripe saw a traceparent");
        assert_eq!(sent, format!("00-{TRACE_ID}-{}-01", hex(&span.span_id)), "{path}");
    }

    // The database: SeaORM's query spans, as clients, inside the request.
    let queries: Vec<&Span> = trace.iter().filter(|s| attribute(s, "db.system").is_some()).collect();
    assert!(!queries.is_empty(), "no database spans:\n{tree}");
    assert!(queries.iter().all(|s| s.kind == SpanKind::Client as i32));

    // Other requests (sign-up, activation) are traces of their own, each a root.
    let others: Vec<Span> = spans(&received)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| s.kind == SpanKind::Server as i32 && s.trace_id != trace_id)
        .collect();
    assert!(others.len() >= 2, "sign-up and activation were traced too");
    assert!(others.iter().all(|s| s.parent_span_id.is_empty()));
    // The sign-up's code went out by SMTP, in a client span under that request.
    let all: Vec<Span> = spans(&received).into_iter().map(|(_, s)| s).collect();
    let smtp = all.iter().find(|s| s.name == "smtp send").expect("an SMTP span");
    assert_eq!(smtp.kind, SpanKind::Client as i32);
    assert_eq!(attribute(smtp, "server.address").as_deref(), Some("127.0.0.1"));
    assert!(others.iter().any(|s| s.span_id == smtp.parent_span_id), "the SMTP span is under a request span");
    // A worker's task run: a root span of its own, with the provider call under it.
    let (agent_app, _provider) = TestApp::with_agent(&[]).await;
    let (user_id, bearer) = agent_app.active_user("analyst@example.com").await;
    agent_app.give_credits(&user_id, 100 * 100).await;
    let reply =
        agent_app.analysis(&user_id, &bearer, &[("text", None, b"The Eiffel Tower was finished in 1999.")]).await;
    assert_eq!(reply.status, 201, "body: {}", reply.body);
    let task_id = reply.data()["id"].as_str().unwrap().to_string();
    let workers = agent_app.start_workers();
    let task = agent_app.finished_task(&task_id).await;
    workers.shutdown(Duration::from_secs(30)).await;
    assert_eq!(task.status, "COMPLETED", "{:?}", task.error);
    let mut run: Option<Span> = None;
    for _ in 0..50 {
        tokio::task::block_in_place(|| guard.force_flush());
        run = spans(&received)
            .into_iter()
            .map(|(_, s)| s)
            .find(|s| s.name == "task run" && attribute(s, "task.id").as_deref() == Some(task_id.as_str()));
        if run.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = run.expect("a task-run span");
    assert!(run.parent_span_id.is_empty(), "a task run is a root");
    assert_eq!(run.kind, SpanKind::Consumer as i32);
    assert_eq!(attribute(&run, "user.id").as_deref(), Some(user_id.as_str()));
    assert_eq!(attribute(&run, "task.status").as_deref(), Some("COMPLETED"));
    let in_run: Vec<Span> =
        spans(&received).into_iter().map(|(_, s)| s).filter(|s| s.trace_id == run.trace_id).collect();
    let mut tree = String::new();
    render(&in_run, &run.span_id, 1, &mut tree);
    println!("task run {task_id}:\n{tree}");
    let provider_call = in_run
        .iter()
        .find(|s| attribute(s, "peer.service").as_deref() == Some("provider"))
        .expect("a provider call in the task run");
    assert_eq!(provider_call.parent_span_id, run.span_id, "{tree}");
    assert_eq!(provider_call.kind, SpanKind::Client as i32);
    assert!(in_run.iter().any(|s| attribute(s, "db.system").is_some()), "database spans in the run:\n{tree}");

    // Shutting the exporter down blocks until its thread is done.
    tokio::task::block_in_place(|| drop(guard));
}
