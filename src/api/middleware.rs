//! Request-level guards that run before any route.

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

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
