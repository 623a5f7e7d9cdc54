//! OpenTelemetry traces over OTLP/HTTP (protobuf), configured by the standard `OTEL_*`
//! variables and off unless an OTLP endpoint is set.
//!
//! When on, [`init`] hands back a `tracing` layer that turns this process's `info` spans into
//! OpenTelemetry spans (the request span of `api::middleware::Observe`, the client spans of
//! [`send`] and [`smtp_span`], SeaORM's query spans, the worker's task spans), and a [`Guard`]
//! that flushes and shuts the exporter down when dropped. W3C `traceparent`/`tracestate` are
//! taken from incoming requests ([`extract`]) and put on outgoing ones ([`send`]).
//!
//! When off, no layer is installed, [`enabled`] is false, and every helper here takes its
//! fast path: one relaxed atomic load, no span, no allocation.

use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::{Resource, propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{Layer, filter::LevelFilter, registry::LookupSpan};

/// The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` names one.
pub const DEFAULT_SERVICE_NAME: &str = "clara-backend";

pub use rules::trace_context::{current_context, enabled};

/// Whether these variables ask for trace export: an OTLP endpoint (the generic one or the
/// traces one) is set, and neither `OTEL_SDK_DISABLED=true` nor `OTEL_TRACES_EXPORTER=none`
/// says otherwise.
pub fn requested(var: impl Fn(&str) -> Option<String>) -> bool {
    let set = |name: &str| var(name).is_some_and(|v| !v.trim().is_empty());
    if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return false;
    }
    if var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none")) {
        return false;
    }
    set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT")
}

/// Keeps the exporter alive; flushes what is buffered and shuts it down when dropped.
pub struct Guard {
    provider: SdkTracerProvider,
}

impl Guard {
    /// Sends every finished span now (blocks until the exporter answered).
    pub fn force_flush(&self) {
        if let Err(err) = self.provider.force_flush() {
            tracing::warn!(%err, "OpenTelemetry: flushing spans failed");
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        rules::trace_context::set_enabled(false);
        if let Err(err) = self.provider.shutdown() {
            eprintln!("clara-backend: OpenTelemetry: shutting the exporter down failed: {err}");
        }
    }
}

/// A boxed layer over any registry-like subscriber.
pub type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync + 'static>;

/// The OpenTelemetry layer and its guard when the environment asks for traces; `Ok(None)`
/// (nothing installed, nothing spent) when it does not. Also installs the W3C trace-context
/// propagator. Call once, before the subscriber is installed.
pub fn init<S>() -> Result<Option<(BoxedLayer<S>, Guard)>, String>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static,
{
    if !requested(|name| std::env::var(name).ok()) {
        return Ok(None);
    }
    // Endpoint, headers, timeout and compression come from the standard variables.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()
        .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter: {e}"))?;
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the default detectors.
    let mut resource = Resource::builder();
    if !names_service(|name| std::env::var(name).ok()) {
        resource = resource.with_service_name(DEFAULT_SERVICE_NAME);
    }
    let resource =
        resource.with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION"))).build();
    // The sampler comes from OTEL_TRACES_SAMPLER(_ARG) (default: parent-based, always on).
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let tracer = provider.tracer("clara-backend");
    global::set_text_map_propagator(TraceContextPropagator::new());
    global::set_tracer_provider(provider.clone());
    // Info and above: the spans named in docs/observability.md, not the trace-level insides
    // of hyper, h2 or reqwest. Events inside a span become its span events.
    let layer = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(LevelFilter::INFO).boxed();
    rules::trace_context::set_enabled(true);
    Ok(Some((layer, Guard { provider })))
}

/// Whether `OTEL_SERVICE_NAME` or a `service.name` in `OTEL_RESOURCE_ATTRIBUTES` is given.
fn names_service(var: impl Fn(&str) -> Option<String>) -> bool {
    var("OTEL_SERVICE_NAME").is_some_and(|v| !v.trim().is_empty())
        || var("OTEL_RESOURCE_ATTRIBUTES")
            .is_some_and(|v| v.split(',').any(|kv| kv.split_once('=').is_some_and(|(k, _)| k.trim() == "service.name")))
}

/// Keeps SeaORM's per-query spans away from the log layer: they are for the trace exporter.
/// As a per-layer filter this is decided once per call site, so with the exporter off those
/// spans are never built.
pub fn not_for_logs(metadata: &tracing::Metadata<'_>) -> bool {
    !(metadata.is_span() && metadata.target().starts_with("sea_orm::"))
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value))
        {
            self.0.insert(name, value);
        }
    }
}

/// Makes the caller's W3C trace context (`traceparent`, `tracestate`), if any, the parent
/// of `span`. Call before the span is first entered.
pub fn extract(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    let _ = span.set_parent(parent);
}

/// Puts `span`'s trace context on an outgoing request as `traceparent` (and `tracestate`).
pub fn inject(span: &tracing::Span, headers: &mut http::HeaderMap) {
    let context = span.context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut HeaderInjector(headers)));
}

/// Links `span` to the span `stored` (from [`current_context`]) names, as OpenTelemetry
/// messaging consumers do: a link, not a parent, since that span's trace ended long ago.
/// Call before the span is first entered. A value that does not parse is ignored.
pub fn link(span: &tracing::Span, stored: &str) {
    use opentelemetry::trace::TraceContextExt;
    let Ok(carrier) = serde_json::from_str::<std::collections::HashMap<String, String>>(stored) else {
        return;
    };
    let context = global::get_text_map_propagator(|p| p.extract(&carrier));
    span.add_link(context.span().span_context().clone());
}

/// Names `span` after what it turned out to be (the operation id, known once routed):
/// `otel.name` is only read before the span starts, so the started span is renamed.
pub fn rename(span: &tracing::Span, name: &'static str) {
    use opentelemetry::trace::TraceContextExt;
    span.context().span().update_name(name);
}

/// Whether an outgoing call carries our trace context: yes to the services we are a client
/// of; no to pages fetched for an analysis, which are anyone's and need not learn our ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagate {
    Yes,
    No,
}

/// Sends `request`: with tracing on, inside a client span named after `peer` (method,
/// server address, status) and with `traceparent` added when `propagate` says so. The span
/// ends when the response headers are in (the body is read after it).
pub async fn send(
    request: reqwest::RequestBuilder,
    peer: &'static str,
    propagate: Propagate,
) -> reqwest::Result<reqwest::Response> {
    if !enabled() {
        return request.send().await;
    }
    let (client, request) = request.build_split();
    let mut request = request?;
    let name = format!("{} {peer}", request.method());
    let span = tracing::info_span!(
        "outbound",
        otel.name = %name,
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        peer.service = peer,
        http.request.method = %request.method(),
        server.address = request.url().host_str().unwrap_or_default(),
        url.path = request.url().path(),
        http.response.status_code = tracing::field::Empty,
        "error.type" = tracing::field::Empty,
    );
    if propagate == Propagate::Yes {
        inject(&span, request.headers_mut());
    }
    let result = client.execute(request).instrument(span.clone()).await;
    match &result {
        Ok(response) => {
            span.record("http.response.status_code", response.status().as_u16());
            if response.status().is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
        }
        Err(err) => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", if err.is_timeout() { "timeout" } else { "transport" });
        }
    }
    result
}

/// A client span for one SMTP delivery (disabled, so free, with tracing off).
pub fn smtp_span(server: &str) -> tracing::Span {
    if !enabled() {
        return tracing::Span::none();
    }
    tracing::info_span!(
        "smtp send",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        peer.service = "smtp",
        server.address = server,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn off_unless_an_endpoint_is_set() {
        assert!(!requested(vars(&[])));
        assert!(!requested(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")])));
        assert!(!requested(vars(&[("OTEL_SERVICE_NAME", "x"), ("OTEL_TRACES_SAMPLER", "always_on")])));
        assert!(requested(vars(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")])));
        assert!(requested(vars(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:4318/v1/traces")])));
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318");
        assert!(!requested(vars(&[endpoint, ("OTEL_SDK_DISABLED", "true")])));
        assert!(!requested(vars(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")])));
        assert!(requested(vars(&[endpoint, ("OTEL_TRACES_EXPORTER", "otlp")])));
    }

    #[test]
    fn off_installs_nothing() {
        // The test process has no OTLP endpoint in its environment.
        if requested(|name| std::env::var(name).ok()) {
            return;
        }
        let layer = init::<tracing_subscriber::Registry>().expect("no error when off");
        assert!(layer.is_none());
        assert!(!enabled());
        assert!(smtp_span("smtp.example").is_disabled());
        assert_eq!(current_context(), None, "a queued task stores no trace context");
    }

    #[test]
    fn service_name_default_only_when_not_named() {
        assert!(!names_service(vars(&[])));
        assert!(names_service(vars(&[("OTEL_SERVICE_NAME", "api")])));
        assert!(names_service(vars(&[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=api")])));
        assert!(!names_service(vars(&[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod")])));
    }
}
