//! Request-level guards that run before any route.

use std::net::IpAddr;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

use crate::state::AppState;

use super::error::ApiError;

/// Caps the body size, with or without `Content-Length`: anything larger is a 413 in
/// the envelope before a handler sees it. The body is buffered up to the cap, except on
/// upload routes, which stream and bound each part themselves; there only a declared
/// `Content-Length` above `upload_limit` is refused up front.
pub struct BodyLimit {
    pub limit: usize,
    pub upload_limit: u64,
}

/// Routes whose body is streamed rather than buffered.
fn is_upload(path: &str) -> bool {
    path.ends_with("/agent/analysis")
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, limit: self.limit, upload_limit: self.upload_limit }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
    upload_limit: u64,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared =
            req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if is_upload(req.uri().path()) {
            if declared.is_some_and(|len| len > self.upload_limit) {
                return Ok(ApiError::payload_too_large().into_response());
            }
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        if declared.is_some_and(|len| len > self.limit as u64) {
            return Ok(ApiError::payload_too_large().into_response());
        }
        let body = req.take_body();
        match body.into_bytes_limit(self.limit).await {
            Ok(bytes) => req.set_body(bytes),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => {
                return Ok(ApiError::payload_too_large().into_response());
            }
            Err(_) => return Ok(ApiError::empty_body().into_response()),
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

/// The client's address: the peer, or the first address in `X-Forwarded-For` (from the
/// right) that is not a trusted proxy when the peer is one.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

fn client_addr(req: &Request, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip().to_canonical())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer))
}

/// Never limited: probes, the spec and the docs; Stripe's signed deliveries, whose own
/// retry schedule a 429 would only delay; and the sandbox's doubles (present only in
/// sandbox mode), which this server's own clients call.
fn is_exempt(path: &str) -> bool {
    path.starts_with("/api/v1/sandbox/")
        || matches!(
            path,
            "/api/v1/health"
                | "/api/v1/health/live"
                | "/api/v1/health/ready"
                | "/api/v1/version"
                | "/openapi.json"
                | "/api/v1/openapi.json"
                | "/docs"
                | "/metrics"
                | "/api/v1/stripe/webhook"
                | "/api/v1/stripe/settle"
        )
}

/// Whose budget a request spends: a valid token's user (sessions) or key (API keys),
/// however the header is spelled; anything else (public key, Basic, admin key, no or a
/// forged credential) spends its client address's, so that respelling a header buys no
/// fresh budget and one public-key client cannot exhaust everyone's. Also the user a valid
/// token names, whose cached authentication the limiter's round trip can serve.
/// The token is decoded here once for the whole request (`credentials::DecodedBearer`).
fn rate_key(state: &AppState, req: &mut Request, client: Option<IpAddr>) -> (String, Option<String>) {
    use crate::services::tokens::Role;
    match super::credentials::decode_into(&state.tokens, req) {
        Some(claims) if claims.role == Role::User => (format!("user:{}", claims.sub), Some(claims.sub)),
        Some(claims) => (format!("api_key:{}", claims.jti), Some(claims.sub)),
        // IPv4 per address, IPv6 per /64: one client's /64 is one budget.
        None => (format!("address:{}", crate::address_key::key_text(client)), None),
    }
}

/// `RATE_LIMIT_PER_SECOND` per credential (see [`rate_key`]); 429 in the envelope with
/// `Retry-After`.
pub struct RateLimit;

impl<E: Endpoint> Middleware<E> for RateLimit {
    type Output = RateLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RateLimitEndpoint { inner }
    }
}

pub struct RateLimitEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RateLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let Some(state) = req.data::<AppState>().cloned() else {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        };
        let client = client_addr(&req, &state.config.trusted_proxies);
        req.extensions_mut().insert(ClientAddr(client));
        if is_exempt(req.uri().path()) {
            return self.inner.call(req).await.map(IntoResponse::into_response);
        }
        let (key, user_id) = rate_key(&state, &mut req, client);
        // With Redis, the caller's authentication-cache version rides in the counter's
        // round trip: one Redis round trip per authenticated request, not two.
        let version_key = user_id.as_deref().and_then(|id| state.auth_cache.version_key(id));
        let (limit, version) =
            state.limits.check_rate_and_read(&key, state.clock.now_secs(), version_key.as_deref()).await;
        if let Err(retry) = limit {
            return Ok(ApiError::rate_limited(retry.0).into_response());
        }
        match (user_id, version) {
            (Some(user_id), Some(version)) => {
                crate::auth_cache::AuthCache::prefetched(user_id, version, self.inner.call(req))
                    .await
                    .map(IntoResponse::into_response)
            }
            _ => self.inner.call(req).await.map(IntoResponse::into_response),
        }
    }
}

/// An `X-Request-Id` from the client when it is sane, else a new one.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

fn request_id(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .filter(|id| id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The outermost layer: request id (accepted or made, echoed), security headers on every
/// response, and a time limit on the whole request.
pub struct Harden {
    pub timeout: std::time::Duration,
}

impl<E: Endpoint> Middleware<E> for Harden {
    type Output = HardenEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        HardenEndpoint { inner, timeout: self.timeout }
    }
}

pub struct HardenEndpoint<E> {
    inner: E,
    timeout: std::time::Duration,
}

impl<E: Endpoint> Endpoint for HardenEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        use poem::http::HeaderValue;
        let id = request_id(&req);
        req.extensions_mut().insert(RequestId(id.clone()));
        let path = req.uri().path().to_string();
        // Uploads and MCP may legitimately take longer than a JSON call.
        let limit = if is_upload(&path) || path == "/mcp" { self.timeout * 10 } else { self.timeout };
        let mut response = match tokio::time::timeout(limit, self.inner.call(req)).await {
            Ok(Ok(response)) => response.into_response(),
            // CORS refusals and anything else the inner layers left as errors.
            Ok(Err(err)) => crate::api::error::error_response(err),
            Err(_) => {
                tracing::warn!(request_id = %id, %path, "request timed out");
                ApiError::timed_out().into_response()
            }
        };
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&id) {
            headers.insert("x-request-id", value);
        }
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert("strict-transport-security", HeaderValue::from_static("max-age=63072000; includeSubDomains"));
        if path != "/docs" {
            // Swagger UI needs its scripts; everything else is data, never a page, but for
            // the sandbox's pages, which carry their own inline styles (and no script).
            let policy = if path.starts_with("/api/v1/sandbox/") {
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            } else {
                "default-src 'none'; frame-ancestors 'none'"
            };
            headers.insert("content-security-policy", HeaderValue::from_static(policy));
            headers.insert("cache-control", HeaderValue::from_static("no-store"));
        }
        Ok(response)
    }
}

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
            .unwrap_or(match path.as_str() {
                "/mcp" => "mcp",
                "/metrics" => "metrics",
                "/openapi.json" | "/api/v1/openapi.json" => "openapi",
                "/docs" => "docs",
                _ => "unmatched",
            });
        if let Some(state) = &state
            && super::observed::enabled(state.sandbox.is_some(), || crate::openapi_json(state))
        {
            let sandbox = state.sandbox.is_some();
            let resolved =
                (operation == "unmatched").then(|| super::observed::resolve(sandbox, method.as_str(), &path)).flatten();
            super::observed::record(resolved.unwrap_or(operation), &mut response).await;
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
