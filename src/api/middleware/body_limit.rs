//! The body cap, with or without `Content-Length`.

use std::sync::{
    Arc,
    atomic::{AtomicBool, AtomicU64, Ordering},
};

use futures_util::StreamExt;
use poem::{Body, Endpoint, IntoResponse, Middleware, Request, Response, Result, http::header::CONTENT_LENGTH};

use crate::api::error::ApiError;

/// Caps the body size: a route that reads more than its cap is answered 413 in the envelope.
///
/// The body is streamed to whoever reads it (the route, or a layer such as idempotency's
/// fingerprint), never buffered here, and cut past the request's [`StreamedBodyCap`]: `limit`,
/// unless the route declares it takes an upload (`policy::upload`), which raises the cap of a
/// multipart body to `upload_limit` before anything is read (the upload route then bounds each
/// part itself). A declared `Content-Length` above the cap is cut at the first read, before a
/// byte of it is taken. A cut body is answered 413, whatever the reader made of it. A route
/// that reads no body never meets the cap: it answers as it would without one, so no route
/// answers a status its operation does not document.
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

/// How much of the body the request may read, and whether it was cut. Put in the request
/// by [`BodyLimit`]; raised by the route when it takes an upload.
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

    /// The route takes an upload: a multipart body may run to the upload cap (any other
    /// body keeps the JSON cap, which is its upload cap too).
    pub fn allow_upload(&self) {
        self.0.cap.store(self.0.upload_cap, Ordering::Relaxed);
    }

    /// Marks the body cut when `len` bytes are more than the cap.
    fn exceeded_by(&self, len: u64) -> bool {
        let over = len > self.0.cap.load(Ordering::Relaxed);
        if over {
            self.0.cut.store(true, Ordering::Relaxed);
        }
        over
    }

    fn was_cut(&self) -> bool {
        self.0.cut.load(Ordering::Relaxed)
    }
}

/// `body`, ending in an error (and marking the cap cut) once more than the cap has come, or
/// at once when the declared length is more than the cap when the body is first read.
fn capped(body: Body, declared: Option<u64>, cap: StreamedBodyCap) -> Body {
    let refused = cap.clone();
    let declared_over = futures_util::stream::once(async move {
        declared
            .filter(|&len| refused.exceeded_by(len))
            .map(|_| Err::<bytes::Bytes, _>(std::io::Error::other("the declared body is over its limit")))
    })
    .filter_map(std::future::ready);
    let mut seen = 0u64;
    let chunks = body.into_bytes_stream().map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if cap.exceeded_by(seen) {
            return Err(std::io::Error::other("the body is over its limit"));
        }
        Ok(chunk)
    });
    Body::from_bytes_stream(declared_over.chain(chunks))
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared =
            req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        let upload_cap = if is_multipart(&req) { self.upload_limit } else { self.limit as u64 };
        let cap = StreamedBodyCap::new(self.limit as u64, upload_cap);
        req.extensions_mut().insert(cap.clone());
        let body = req.take_body();
        req.set_body(capped(body, declared, cap.clone()));
        let answered = self.inner.call(req).await.map(IntoResponse::into_response);
        if cap.was_cut() {
            return Ok(ApiError::payload_too_large().into_response());
        }
        answered
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
        let within = capped(Body::from(vec![0u8; 10]), None, StreamedBodyCap::new(10, 20)).into_vec().await;
        assert_eq!(within.map(|b| b.len()).ok(), Some(10));
        let cap = StreamedBodyCap::new(10, 20);
        assert!(capped(Body::from(vec![0u8; 11]), None, cap.clone()).into_vec().await.is_err());
        assert!(cap.was_cut());
        let upload = StreamedBodyCap::new(10, 20);
        upload.allow_upload();
        assert_eq!(
            capped(Body::from(vec![0u8; 20]), None, upload.clone()).into_vec().await.map(|b| b.len()).ok(),
            Some(20)
        );
        assert!(!upload.was_cut());
        // A declared length over the cap is refused at the first read, whatever comes.
        let declared = StreamedBodyCap::new(10, 20);
        assert!(capped(Body::from(vec![0u8; 5]), Some(11), declared.clone()).into_vec().await.is_err());
        assert!(declared.was_cut());
        let honest = StreamedBodyCap::new(10, 20);
        assert_eq!(
            capped(Body::from(vec![0u8; 10]), Some(10), honest.clone()).into_vec().await.map(|b| b.len()).ok(),
            Some(10)
        );
        assert!(!honest.was_cut());
    }
}

#[cfg(test)]
mod route_tests {
    use poem::{EndpointExt, Route, get, handler, post, test::TestClient};

    use super::*;

    /// Reads the whole body, as a JSON or raw-bytes route does; answers how much it got.
    #[handler]
    async fn reads_all(body: Body) -> String {
        match body.into_bytes().await {
            Ok(bytes) => bytes.len().to_string(),
            Err(_) => "cut".to_string(),
        }
    }

    /// Reads no body, as a route whose operation takes none.
    #[handler]
    async fn reads_nothing() -> &'static str {
        "answered"
    }

    fn app(upload_route: bool) -> impl Endpoint {
        let reading = if upload_route {
            crate::api::middleware::policy::upload(post(reads_all)).boxed()
        } else {
            post(reads_all).boxed()
        };
        Route::new()
            .at("/r", reading)
            .at("/none", get(reads_nothing).post(reads_nothing))
            .with(BodyLimit { limit: 1024, upload_limit: 64 * 1024 })
    }

    fn multipart(len: usize) -> Body {
        // Chunked: no Content-Length to judge before reading.
        Body::from_bytes_stream(futures_util::stream::iter(
            std::iter::repeat_n(bytes::Bytes::from(vec![b'x'; 512]), len / 512).map(Ok::<_, std::io::Error>),
        ))
    }

    #[tokio::test]
    async fn a_json_body_is_held_to_the_json_cap_with_or_without_a_length_even_on_an_upload_route() {
        for upload_route in [false, true] {
            let client = TestClient::new(app(upload_route));
            let chunked = client.post("/r").content_type("application/json").body(multipart(8 * 1024)).send().await;
            chunked.assert_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
            let declared = client.post("/r").content_type("application/json").body(vec![b'x'; 8 * 1024]).send().await;
            declared.assert_status(poem::http::StatusCode::PAYLOAD_TOO_LARGE);
            let within = client.post("/r").content_type("application/json").body(vec![b'x'; 1024]).send().await;
            within.assert_text("1024").await;
        }
    }

    #[tokio::test]
    async fn a_route_that_reads_no_body_answers_as_without_one_however_large() {
        let client = TestClient::new(app(false));
        for kind in ["application/json", "multipart/form-data; boundary=x"] {
            let declared = client.post("/none").content_type(kind).body(vec![b'x'; 128 * 1024]).send().await;
            declared.assert_text("answered").await;
            let chunked = client.get("/none").content_type(kind).body(multipart(128 * 1024)).send().await;
            chunked.assert_text("answered").await;
        }
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
