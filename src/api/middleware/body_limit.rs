//! The body cap, with or without `Content-Length`.

use futures_util::StreamExt;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

use crate::api::error::ApiError;

/// Caps the body size: anything larger is a 413 in the envelope before a handler sees it.
///
/// Which cap applies follows from the media type a route declares it takes, not from its
/// path. A JSON (or any other non-multipart) body is buffered up to `limit`. A multipart
/// body is streamed, never buffered: the only route that declares `multipart/form-data`
/// reads it part by part and bounds each part itself, so here a declared
/// `Content-Length` above `upload_limit` is refused up front and the stream is cut once it
/// passes `upload_limit` (a route that declares no multipart body refuses one by its media
/// type before reading it).
pub struct BodyLimit {
    pub limit: usize,
    pub upload_limit: u64,
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

fn is_multipart(req: &Request) -> bool {
    req.content_type().is_some_and(|media| {
        media.trim_start().get(..10).is_some_and(|prefix| prefix.eq_ignore_ascii_case("multipart/"))
    })
}

/// `body`, ending in an error once more than `cap` bytes have come.
fn capped(body: Body, cap: u64) -> Body {
    let mut seen = 0u64;
    Body::from_bytes_stream(body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > cap { Err(std::io::Error::other("the body is over the upload limit")) } else { Ok(chunk) }
    }))
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared =
            req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if is_multipart(&req) {
            if declared.is_some_and(|len| len > self.upload_limit) {
                return Ok(ApiError::payload_too_large().into_response());
            }
            let body = req.take_body();
            req.set_body(capped(body, self.upload_limit));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_is_told_by_the_media_type_in_any_case() {
        let with = |media: &str| Request::builder().content_type(media).finish();
        assert!(is_multipart(&with("multipart/form-data; boundary=x")));
        assert!(is_multipart(&with("Multipart/Form-Data; boundary=x")));
        assert!(!is_multipart(&with("application/json")));
        assert!(!is_multipart(&with("multi")));
        assert!(!is_multipart(&Request::builder().finish()));
    }

    #[tokio::test]
    async fn a_streamed_body_is_cut_past_the_cap() {
        let within = capped(Body::from(vec![0u8; 10]), 10).into_vec().await;
        assert_eq!(within.map(|b| b.len()).ok(), Some(10));
        assert!(capped(Body::from(vec![0u8; 11]), 10).into_vec().await.is_err());
    }
}
