//! The body cap, with or without `Content-Length`.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use futures_util::StreamExt;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

use crate::api::error::ApiError;

/// Caps the body size: anything larger is a 413 in the envelope before a handler sees it.
///
/// A JSON (or any other non-multipart) body is buffered up to `limit`. A multipart body is
/// streamed, never buffered: a declared `Content-Length` above `upload_limit` is refused up
/// front, and the stream is cut past the request's [`StreamedBodyCap`]: `limit`, unless the
/// route declares it takes an upload (`policy::upload`), which raises it to `upload_limit`
/// before the route reads anything (the upload route then bounds each part itself). A cut
/// body is answered 413, whatever the route made of what it read.
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

/// How much of a streamed (multipart) body the request may read, and whether it was cut.
/// Put in the request by [`BodyLimit`]; raised by the route when it takes an upload.
#[derive(Clone, Debug)]
pub struct StreamedBodyCap(Arc<CapState>);

#[derive(Debug)]
struct CapState {
    cap: AtomicU64,
    upload_cap: u64,
    cut: AtomicBool,
}

impl StreamedBodyCap {
    fn new(cap: u64, upload_cap: u64) -> Self {
        Self(Arc::new(CapState { cap: AtomicU64::new(cap), upload_cap, cut: AtomicBool::new(false) }))
    }

    /// The route takes an upload: the body may run to the upload cap.
    pub fn allow_upload(&self) {
        self.0.cap.store(self.0.upload_cap, Ordering::Relaxed);
    }

    fn was_cut(&self) -> bool {
        self.0.cut.load(Ordering::Relaxed)
    }
}

/// `body`, ending in an error (and marking the cap cut) once more than the cap has come.
fn capped(body: Body, cap: StreamedBodyCap) -> Body {
    let mut seen = 0u64;
    Body::from_bytes_stream(body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > cap.0.cap.load(Ordering::Relaxed) {
            cap.0.cut.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("the body is over its limit"));
        }
        Ok(chunk)
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
            let cap = StreamedBodyCap::new(self.limit as u64, self.upload_limit);
            req.extensions_mut().insert(cap.clone());
            let body = req.take_body();
            req.set_body(capped(body, cap.clone()));
            let answered = self.inner.call(req).await.map(IntoResponse::into_response);
            if cap.was_cut() {
                return Ok(ApiError::payload_too_large().into_response());
            }
            return answered;
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
    async fn a_streamed_body_is_cut_past_the_cap_until_an_upload_is_allowed() {
        let within = capped(Body::from(vec![0u8; 10]), StreamedBodyCap::new(10, 20)).into_vec().await;
        assert_eq!(within.map(|b| b.len()).ok(), Some(10));
        let cap = StreamedBodyCap::new(10, 20);
        assert!(capped(Body::from(vec![0u8; 11]), cap.clone()).into_vec().await.is_err());
        assert!(cap.was_cut());
        let upload = StreamedBodyCap::new(10, 20);
        upload.allow_upload();
        assert_eq!(capped(Body::from(vec![0u8; 20]), upload.clone()).into_vec().await.map(|b| b.len()).ok(), Some(20));
        assert!(!upload.was_cut());
    }
}

#[cfg(test)]
mod route_tests {
    use poem::{EndpointExt, Route, handler, post, test::TestClient};

    use super::*;

    /// Reads the whole body, as a JSON or raw-bytes route does; answers how much it got.
    #[handler]
    async fn reads_all(body: Body) -> String {
        match body.into_bytes().await {
            Ok(bytes) => bytes.len().to_string(),
            Err(_) => "cut".to_string(),
        }
    }

    fn app(upload_route: bool) -> impl Endpoint {
        let route = if upload_route {
            Route::new().at("/r", crate::api::middleware::policy::upload(post(reads_all))).boxed()
        } else {
            Route::new().at("/r", post(reads_all)).boxed()
        };
        route.with(BodyLimit { limit: 1024, upload_limit: 64 * 1024 })
    }

    fn multipart(len: usize) -> Body {
        // Chunked: no Content-Length to refuse up front.
        Body::from_bytes_stream(futures_util::stream::iter(
            std::iter::repeat_n(bytes::Bytes::from(vec![b'x'; 512]), len / 512).map(Ok::<_, std::io::Error>),
        ))
    }

    #[tokio::test]
    async fn a_multipart_body_to_a_route_that_takes_no_upload_is_held_to_the_json_cap() {
        let client = TestClient::new(app(false));
        let over =
            client.post("/r").content_type("multipart/form-data; boundary=x").body(multipart(8 * 1024)).send().await;
        over.assert_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
        let within =
            client.post("/r").content_type("multipart/form-data; boundary=x").body(multipart(1024)).send().await;
        within.assert_text("1024").await;
    }

    #[tokio::test]
    async fn an_upload_route_takes_a_multipart_body_up_to_the_upload_cap() {
        let client = TestClient::new(app(true));
        let big =
            client.post("/r").content_type("multipart/form-data; boundary=x").body(multipart(8 * 1024)).send().await;
        big.assert_text("8192").await;
        let over =
            client.post("/r").content_type("multipart/form-data; boundary=x").body(multipart(128 * 1024)).send().await;
        over.assert_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
    }
}
