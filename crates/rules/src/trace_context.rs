//! The trace context carried with work picked up later (a queued task, a webhook event), so
//! its spans link to the request that caused it. Export itself is set up by the server.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::global;
use tracing_opentelemetry::OpenTelemetrySpanExt;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether spans are exported: the per-request and per-call helpers do nothing when not.
#[inline]
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Set by the server when it installs (or removes) the exporter.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// The current span's W3C trace context (`traceparent`, and `tracestate` if any) as JSON, to
/// be stored with work picked up later (a queued task); `None` with traces off, so nothing
/// is spent then, and `None` when there is no valid span to point at.
pub fn current_context() -> Option<String> {
    if !enabled() {
        return None;
    }
    let context = tracing::Span::current().context();
    let mut carrier = std::collections::HashMap::<String, String>::new();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut carrier));
    // The W3C propagator writes `tracestate` even when empty; keep only what says something.
    carrier.retain(|_, value| !value.is_empty());
    if carrier.is_empty() {
        return None;
    }
    serde_json::to_string(&carrier).ok()
}
