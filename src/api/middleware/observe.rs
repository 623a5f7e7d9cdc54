//! A log line and the metrics for every request, and its trace span.

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

use super::RequestId;
use crate::state::AppState;

/// Per request: a log line with the operation id, status and latency, and the metrics.
pub struct Observe;

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ObserveEndpoint { inner }
    }
}

pub struct ObserveEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        use tracing::Instrument;
        let started = std::time::Instant::now();
        let state = req.data::<AppState>().cloned();
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let traced = crate::telemetry::enabled();
        let span = if traced {
            request_span(&mut req, &request_id, &method, &path)
        } else {
            tracing::info_span!("request", %request_id, %method, %path)
        };
        let result = self.inner.call(req).instrument(span.clone()).await;
        let (mut response, error_operation) = match result {
            Ok(response) => (response.into_response(), None),
            Err(err) => {
                let operation = err.data::<poem_openapi::OperationId>().map(|o| o.0);
                (crate::api::error::error_response(err), operation)
            }
        };
        let operation = error_operation
            .or_else(|| response.data::<poem_openapi::OperationId>().map(|o| o.0))
            // Routes outside the API are named where they are mounted (`policy::named`).
            .unwrap_or("unmatched");
        if let Some(state) = &state
            && crate::api::observed::enabled(state.sandbox.is_some(), || crate::openapi_json(state))
        {
            let sandbox = state.sandbox.is_some();
            let resolved = (operation == "unmatched")
                .then(|| crate::api::observed::resolve(sandbox, method.as_str(), &path))
                .flatten();
            crate::api::observed::record(resolved.unwrap_or(operation), &mut response).await;
        }
        let status = response.status();
        let elapsed = started.elapsed();
        if let Some(state) = state {
            state.metrics.requests.with_label_values(&[operation, status.as_str()]).inc();
            state.metrics.latency.with_label_values(&[operation]).observe(elapsed.as_secs_f64());
        }
        if traced {
            crate::telemetry::rename(&span, operation);
            span.record("operation", operation);
            span.record("http.response.status_code", status.as_u16());
            if status.is_server_error() {
                span.record("otel.status_code", "ERROR");
            }
        }
        span.in_scope(|| {
            tracing::info!(operation, status = status.as_u16(), latency_ms = elapsed.as_secs_f64() * 1000.0, "request");
        });
        response.set_data(poem_openapi::OperationId(operation));
        Ok(response)
    }
}

/// The request's span while traces are exported, for the caller's id once it is known
/// ([`record_user`]).
#[derive(Clone)]
pub struct RequestSpan(pub tracing::Span);

/// The server span of a request, with the OpenTelemetry fields (recorded as the request
/// goes) and the caller's W3C trace context as its parent. Only made when traces are on.
fn request_span(req: &mut Request, request_id: &str, method: &poem::http::Method, path: &str) -> tracing::Span {
    use tracing::field::Empty;
    let span = tracing::info_span!(
        "request",
        %request_id,
        %method,
        %path,
        otel.kind = "server",
        otel.status_code = Empty,
        operation = Empty,
        http.request.method = %method,
        url.path = path,
        http.response.status_code = Empty,
        user.id = Empty,
    );
    crate::telemetry::extract(&span, req.headers());
    req.extensions_mut().insert(RequestSpan(span.clone()));
    span
}

/// Records the authenticated caller on the request's span (nothing when traces are off).
pub fn record_user(req: &Request, user_id: &str) {
    if !crate::telemetry::enabled() {
        return;
    }
    if let Some(RequestSpan(span)) = req.extensions().get::<RequestSpan>() {
        span.record("user.id", user_id);
    }
}
