//! The outermost layer: request id, security headers, and the request's deadline.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tokio::time::Instant;

use crate::api::error::ApiError;

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

/// How much longer than `REQUEST_TIMEOUT_SECS` a route that declares itself long-running
/// ([`super::policy::long_running`]) may take.
pub const LONG_RUNNING_FACTOR: u32 = 10;

/// When the request's answer must have started: `REQUEST_TIMEOUT_SECS` after it arrived,
/// or [`LONG_RUNNING_FACTOR`] times that once its route has declared it runs long. Put in
/// the request by [`Harden`], which enforces it; stretched by the route, which is known
/// only after routing.
#[derive(Clone, Debug)]
pub struct Deadline(Arc<DeadlineState>);

#[derive(Debug)]
struct DeadlineState {
    started: Instant,
    timeout: Duration,
    long_running: AtomicBool,
}

impl Deadline {
    fn new(timeout: Duration) -> Self {
        Self(Arc::new(DeadlineState { started: Instant::now(), timeout, long_running: AtomicBool::new(false) }))
    }

    /// The request may take [`LONG_RUNNING_FACTOR`] times the timeout.
    pub fn stretch(&self) {
        self.0.long_running.store(true, Ordering::Relaxed);
    }

    fn at(&self) -> Instant {
        let factor = if self.0.long_running.load(Ordering::Relaxed) { LONG_RUNNING_FACTOR } else { 1 };
        self.0.started + self.0.timeout * factor
    }
}

/// The outermost layer: request id (accepted or made, echoed), security headers on every
/// response, and the request's [`Deadline`].
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
        use poem::http::{
            HeaderValue,
            header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY},
        };
        let id = request_id(&req);
        req.extensions_mut().insert(RequestId(id.clone()));
        let path = req.uri().path().to_string();
        let deadline = Deadline::new(self.timeout);
        req.extensions_mut().insert(deadline.clone());
        let call = self.inner.call(req);
        tokio::pin!(call);
        // The route may stretch the deadline while it runs: wake at the current one and
        // look again.
        let answered = loop {
            tokio::select! {
                answered = &mut call => break Some(answered),
                () = tokio::time::sleep_until(deadline.at()) => if Instant::now() >= deadline.at() { break None },
            }
        };
        let mut response = match answered {
            Some(Ok(response)) => response.into_response(),
            // CORS refusals and anything else the inner layers left as errors.
            Some(Err(err)) => crate::api::error::error_response(err),
            None => {
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
        // Every answer is data, never a page, unless its route said it is one and what the
        // page may load (`policy::page`); then it keeps its own policy.
        if !headers.contains_key(CONTENT_SECURITY_POLICY) {
            headers.insert(
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
            );
        }
        if !headers.contains_key(CACHE_CONTROL) {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Ok(response)
    }
}
