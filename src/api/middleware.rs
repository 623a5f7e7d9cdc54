//! Request-level guards that run before any route.

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

use super::error::ApiError;

/// Caps the body size, with or without `Content-Length`: anything larger is a 413 in
/// the envelope before a handler sees it. The body is buffered up to the cap.
pub struct BodyLimit {
    pub limit: usize,
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        BodyLimitEndpoint { inner, limit: self.limit }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared =
            req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
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
