//! A purchase (`POST /stripe/buy`) sent with a caller's `traceparent`: one trace from the
//! caller's span through the request, its queries and its two Stripe calls.

use clara_backend::telemetry::Guard;
use opentelemetry_proto::tonic::trace::v1::{Span, span::SpanKind};
use poem::http::Method;
use serde_json::json;

use crate::{
    receiver::{Received, attribute, descends, hex, in_trace, render, spans, spans_with_service, unhex, until},
    support::{FakeStripe, TestApp},
};

/// What the caller sends: trace 4bf9…4736, its span 00f0…02b7, sampled.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";
const REQUEST_ID: &str = "otel-test-request-1";

pub async fn check(received: &Received, guard: &Guard) {
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
    let trace_id = unhex(TRACE_ID);
    let all = until(received, guard, |all| {
        in_trace(all, &trace_id).iter().any(|s| attribute(s, "operation").as_deref() == Some("stripeBuy"))
    })
    .await;
    let trace = in_trace(&all, &trace_id);
    let mut tree = String::new();
    render(&trace, &unhex(CALLER_SPAN_ID), 0, &mut tree);
    println!("trace {TRACE_ID}, under the caller's span {CALLER_SPAN_ID}:\n{tree}");

    // The service is named by default.
    let services: Vec<String> = spans_with_service(received).into_iter().map(|(service, _)| service).collect();
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
    for span in trace.iter().filter(|s| s.span_id != request.span_id) {
        assert!(descends(&trace, span, request), "{} is not under the request span:\n{tree}", span.name);
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
        let sent = seen.last().and_then(|r| r.header("traceparent")).expect("Stripe saw a traceparent");
        assert_eq!(sent, format!("00-{TRACE_ID}-{}-01", hex(&span.span_id)), "{path}");
    }

    // The database: SeaORM's query spans, as clients, inside the request.
    let queries: Vec<&Span> = trace.iter().filter(|s| attribute(s, "db.system").is_some()).collect();
    assert!(!queries.is_empty(), "no database spans:\n{tree}");
    assert!(queries.iter().all(|s| s.kind == SpanKind::Client as i32));

    // Other requests (sign-up, activation) are traces of their own, each a root.
    let all = spans(received);
    let others: Vec<&Span> =
        all.iter().filter(|s| s.kind == SpanKind::Server as i32 && s.trace_id != trace_id).collect();
    assert!(others.len() >= 2, "sign-up and activation were traced too");
    assert!(others.iter().all(|s| s.parent_span_id.is_empty()));
    // The sign-up's code went out by SMTP, in a client span under that request.
    let smtp = all.iter().find(|s| s.name == "smtp send").expect("an SMTP span");
    assert_eq!(smtp.kind, SpanKind::Client as i32);
    assert_eq!(attribute(smtp, "server.address").as_deref(), Some("127.0.0.1"));
    assert!(others.iter().any(|s| s.span_id == smtp.parent_span_id), "the SMTP span is under a request span");
}
