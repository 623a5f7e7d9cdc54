//! What "the same body" means for `Idempotency-Key`: a SHA-256 fed as the body streams
//! to the handler, so that a 125 MiB upload is never held in memory to fingerprint it.
//!
//! A multipart form is compared by its parts, not its bytes: a client that rebuilds the
//! request (`fetch` with the same `FormData`, a generated client called again, Python's
//! `requests`) picks a new boundary each time, and that retry must be recognised. The
//! parts are read by `multer` (the parser poem's `Multipart` uses) as the chunks pass,
//! driven in step with the handler's reads: it holds at most a chunk and a boundary.
//! Any other body is compared by its content type and bytes.

use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream::BoxStream};
use poem::{Body, Request};
use sha2::{Digest, Sha256};

/// The body as the handler reads it, hashed on the way; [`SharedFingerprint::finish`]
/// reads what the handler left and gives the digest.
#[derive(Clone)]
pub struct SharedFingerprint(Arc<Mutex<Fingerprint>>);

struct Fingerprint {
    rest: Option<BoxStream<'static, std::io::Result<Bytes>>>,
    hashing: Hashing,
    failed: bool,
}

enum Hashing {
    /// The content type, then the bytes as they are.
    Raw(Sha256),
    /// The parts of a `multipart/form-data` body, whatever its boundary.
    Parts(Parts),
}

type Digest32 = [u8; 32];

/// A multipart parse that is fed by hand: each chunk is queued, then the parse is polled
/// until it waits for more, so it never lags behind (and never queues) more than a chunk.
struct Parts {
    feed: Arc<Mutex<Feed>>,
    parse: Pin<Box<dyn Future<Output = Option<Digest32>> + Send>>,
    /// The parse's result once it is over: None when the form was malformed.
    outcome: Option<Option<Digest32>>,
}

#[derive(Default)]
struct Feed {
    chunks: VecDeque<Bytes>,
    closed: bool,
}

impl Parts {
    fn new(boundary: String) -> Self {
        let feed = Arc::new(Mutex::new(Feed::default()));
        let source = feed.clone();
        // Pending without a waker is fine: the parse is only ever polled by `drive`.
        let stream = futures_util::stream::poll_fn(move |_| {
            let Ok(mut feed) = source.lock() else { return Poll::Ready(None) };
            match feed.chunks.pop_front() {
                Some(chunk) => Poll::Ready(Some(Ok::<_, std::io::Error>(chunk))),
                None if feed.closed => Poll::Ready(None),
                None => Poll::Pending,
            }
        });
        Self { feed, parse: Box::pin(parts_digest(multer::Multipart::new(stream, boundary))), outcome: None }
    }

    fn update(&mut self, chunk: &Bytes) {
        if self.outcome.is_some() {
            // The form ended (or broke): what follows its last boundary is not a part.
            return;
        }
        if let Ok(mut feed) = self.feed.lock() {
            feed.chunks.push_back(chunk.clone());
        }
        self.drive();
    }

    fn close(&mut self) {
        if let Ok(mut feed) = self.feed.lock() {
            feed.closed = true;
        }
        self.drive();
    }

    fn drive(&mut self) {
        if self.outcome.is_some() {
            return;
        }
        if let Poll::Ready(outcome) = self.parse.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            self.outcome = Some(outcome);
            if let Ok(mut feed) = self.feed.lock() {
                feed.chunks.clear();
            }
        }
    }
}

/// One length-prefixed value, or its absence, so that no two different parts hash alike.
fn field(hasher: &mut Sha256, value: Option<&[u8]>) {
    match value {
        None => hasher.update([0]),
        Some(value) => {
            hasher.update([1]);
            hasher.update((value.len() as u64).to_be_bytes());
            hasher.update(value);
        }
    }
}

/// Each part's name, file name, content type and the digest of its bytes, in order.
async fn parts_digest(mut form: multer::Multipart<'static>) -> Option<Digest32> {
    let mut hasher = Sha256::new();
    hasher.update(b"multipart/form-data parts\0");
    while let Some(mut part) = form.next_field().await.ok()? {
        hasher.update(b"part");
        field(&mut hasher, part.name().map(str::as_bytes));
        field(&mut hasher, part.file_name().map(str::as_bytes));
        field(&mut hasher, part.headers().get("content-type").map(|v| v.as_bytes()));
        let mut bytes = Sha256::new();
        while let Some(chunk) = part.chunk().await.ok()? {
            bytes.update(&chunk);
        }
        hasher.update(bytes.finalize());
    }
    hasher.update(b"end");
    Some(hasher.finalize().into())
}

impl Hashing {
    fn for_content_type(content_type: &str) -> Self {
        match multer::parse_boundary(content_type) {
            Ok(boundary) => Self::Parts(Parts::new(boundary)),
            Err(_) => {
                let mut hasher = Sha256::new();
                hasher.update(content_type.as_bytes());
                hasher.update([0]);
                Self::Raw(hasher)
            }
        }
    }

    fn update(&mut self, chunk: &Bytes) {
        match self {
            Self::Raw(hasher) => hasher.update(chunk),
            Self::Parts(parts) => parts.update(chunk),
        }
    }

    /// The digest of a body read to its end; None for a form that does not parse.
    fn finish(&mut self) -> Option<Digest32> {
        match self {
            Self::Raw(hasher) => Some(hasher.clone().finalize().into()),
            Self::Parts(parts) => {
                parts.close();
                parts.outcome.flatten()
            }
        }
    }
}

impl SharedFingerprint {
    /// Replaces the request's body with one that hashes what the handler reads.
    pub fn wrap(req: &mut Request) -> Self {
        let hashing = Hashing::for_content_type(req.content_type().unwrap_or_default());
        let rest = req.take_body().into_bytes_stream().boxed();
        let shared = Self(Arc::new(Mutex::new(Fingerprint { rest: Some(rest), hashing, failed: false })));
        req.set_body(Body::from_bytes_stream(shared.clone()));
        shared
    }

    /// Reads what the handler left unread and returns the hex digest; None when the
    /// body could not be read to its end, or is a form that does not parse.
    pub async fn finish(self) -> Option<String> {
        let rest = self.0.lock().ok()?.rest.take();
        if let Some(mut rest) = rest {
            while let Some(chunk) = rest.next().await {
                let mut fingerprint = self.0.lock().ok()?;
                match chunk {
                    Ok(bytes) => fingerprint.hashing.update(&bytes),
                    Err(_) => fingerprint.failed = true,
                }
            }
        }
        let mut fingerprint = self.0.lock().ok()?;
        if fingerprint.failed {
            return None;
        }
        fingerprint.hashing.finish().map(|digest| hex(&digest))
    }
}

impl Stream for SharedFingerprint {
    type Item = std::io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Ok(mut fingerprint) = self.0.lock() else { return Poll::Ready(None) };
        let Fingerprint { rest, hashing, failed } = &mut *fingerprint;
        let Some(stream) = rest.as_mut() else { return Poll::Ready(None) };
        let polled = stream.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(bytes))) => hashing.update(bytes),
            Poll::Ready(Some(Err(_))) => *failed = true,
            Poll::Ready(None) => *rest = None,
            Poll::Pending => {}
        }
        polled
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Part<'a> = (&'a str, Option<(&'a str, &'a str)>, &'a [u8]);

    fn form(boundary: &str, parts: &[Part<'_>]) -> Vec<u8> {
        let mut body = b"preamble\r\n".to_vec();
        for (name, file, bytes) in parts {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"").as_bytes(),
            );
            if let Some((file_name, content_type)) = file {
                body.extend_from_slice(
                    format!("; filename=\"{file_name}\"\r\nContent-Type: {content_type}").as_bytes(),
                );
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        body
    }

    /// The digest of `body` sent in chunks of `chunk` bytes, as the handler would read it.
    async fn digest(content_type: &str, body: &[u8], chunk: usize) -> Option<String> {
        let chunks: Vec<std::io::Result<Bytes>> = body.chunks(chunk).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let mut req = Request::builder()
            .content_type(content_type)
            .body(Body::from_bytes_stream(futures_util::stream::iter(chunks)));
        let fingerprint = SharedFingerprint::wrap(&mut req);
        // The handler reads the first 40 bytes or so and stops; `finish` reads the rest.
        let mut body = req.take_body().into_bytes_stream();
        let mut read = 0;
        while read < 40 {
            match body.next().await {
                Some(Ok(bytes)) => read += bytes.len(),
                _ => break,
            }
        }
        drop(body);
        fingerprint.finish().await
    }

    async fn form_digest(boundary: &str, parts: &[Part<'_>], chunk: usize) -> Option<String> {
        digest(&format!("multipart/form-data; boundary={boundary}"), &form(boundary, parts), chunk).await
    }

    const PARTS: &[Part<'_>] = &[
        ("text", None, b"The moon is made of cheese."),
        ("files", Some(("a.png", "image/png")), b"\x89PNG\r\n\x1a\n-- not a boundary --\r\n"),
    ];

    #[tokio::test]
    async fn a_form_is_the_same_whatever_its_boundary_and_chunks() {
        let first = form_digest("x-boundary-1", PARTS, 1_000).await.expect("parses");
        assert_eq!(form_digest("----WebKitFormBoundaryq8Yv", PARTS, 1).await.as_ref(), Some(&first));
        assert_eq!(form_digest("b", PARTS, 7).await.as_ref(), Some(&first));
    }

    #[tokio::test]
    async fn another_part_name_file_name_type_order_or_byte_is_another_form() {
        let first = form_digest("one", PARTS, 5).await.expect("parses");
        let png: Part<'_> = PARTS[1];
        let variants: [&[Part<'_>]; 6] = [
            &[("text", None, b"The moon is made of cheese!"), png],
            &[("texts", None, PARTS[0].2), png],
            &[PARTS[0], ("files", Some(("b.png", "image/png")), png.2)],
            &[PARTS[0], ("files", Some(("a.png", "image/jpeg")), png.2)],
            &[png, PARTS[0]],
            &[PARTS[0]],
        ];
        for parts in variants {
            let other = form_digest("two", parts, 5).await.expect("parses");
            assert_ne!(other, first, "{parts:?}");
        }
    }

    #[tokio::test]
    async fn other_bodies_are_their_content_type_and_bytes() {
        let json = digest("application/json", br#"{"amount": 10}"#, 3).await.expect("reads");
        assert_eq!(digest("application/json", br#"{"amount": 10}"#, 100).await, Some(json.clone()));
        assert_ne!(digest("application/json", br#"{"amount":10}"#, 100).await, Some(json.clone()));
        assert_ne!(digest("text/plain", br#"{"amount": 10}"#, 100).await, Some(json));
    }

    #[tokio::test]
    async fn a_form_that_does_not_parse_has_no_fingerprint() {
        let cut = form("b", PARTS);
        let cut = &cut[..cut.len() - 20];
        assert_eq!(digest("multipart/form-data; boundary=b", cut, 4).await, None);
    }
}
