//! An OTLP/HTTP trace receiver on 127.0.0.1 that decodes each export with the
//! OpenTelemetry protobuf types, and helpers to read and print what it received.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use clara_backend::telemetry::Guard;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse},
    common::v1::any_value::Value as AnyValue,
    trace::v1::{Span, span::SpanKind},
};
use poem::{
    Body, EndpointExt, Response, Route, Server, handler,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use prost::Message;

pub type Received = Arc<Mutex<Vec<ExportTraceServiceRequest>>>;

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

/// Starts the receiver: its base URL and what it has received.
pub async fn start() -> (String, Received) {
    let received: Received = Arc::default();
    let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind the OTLP receiver");
    let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
    let app = Route::new().at("/v1/traces", poem::post(collect)).data(received.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    (format!("http://127.0.0.1:{port}"), received)
}

pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

pub fn unhex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_bytes()).expect("hex")
}

pub fn attribute(span: &Span, key: &str) -> Option<String> {
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
pub fn spans_with_service(received: &Received) -> Vec<(String, Span)> {
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

/// Every span received.
pub fn spans(received: &Received) -> Vec<Span> {
    spans_with_service(received).into_iter().map(|(_, s)| s).collect()
}

/// Flushes the exporter until `done` holds for what has arrived (spans are exported once
/// they end, in batches), or five seconds passed; returns every span received.
pub async fn until(received: &Received, guard: &Guard, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
    let mut all = vec![];
    for _ in 0..50 {
        tokio::task::block_in_place(|| guard.force_flush());
        all = spans(received);
        if done(&all) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    all
}

/// The spans of one trace.
pub fn in_trace(spans: &[Span], trace_id: &[u8]) -> Vec<Span> {
    spans.iter().filter(|s| s.trace_id == trace_id).cloned().collect()
}

/// The span tree under `parent`, indented, for the test's output.
pub fn render(spans: &[Span], parent: &[u8], depth: usize, out: &mut String) {
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

/// Whether `span` descends from `ancestor` within `trace`.
pub fn descends(trace: &[Span], span: &Span, ancestor: &Span) -> bool {
    let mut parent = span.parent_span_id.clone();
    while let Some(up) = trace.iter().find(|s| s.span_id == parent) {
        if up.span_id == ancestor.span_id {
            return true;
        }
        parent = up.parent_span_id.clone();
    }
    false
}
