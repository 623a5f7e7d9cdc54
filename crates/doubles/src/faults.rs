//! What every HTTP double shares: a fault to inject (fail, stall) before its own answer, and
//! a record of the requests it was sent, so a test can say what the server's client sent and
//! how it copes when the service misbehaves. A sandbox's doubles keep no record (nobody reads
//! it, and memory must stay bounded); a served double records (see [`crate::serve`]).

use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use poem::{Endpoint, EndpointExt, Request, Response, http::StatusCode};
use serde_json::Value;

/// Requests a recording double keeps; the oldest go first.
const KEPT: usize = 1_000;

/// How a double treats the next requests, before (or instead of) its own answer.
#[derive(Debug, Clone, Default)]
pub enum Fault {
    /// Answers as the service does.
    #[default]
    None,
    /// Answers this status and body (`application/json`), whatever was asked.
    Fail { status: u16, body: String },
    /// Answers as the service does, this late.
    Stall(Duration),
}

impl Fault {
    /// A failure with a JSON error body in OpenAI's and Stripe's shape.
    pub fn status(status: u16) -> Self {
        Self::Fail { status, body: serde_json::json!({"error": {"message": "service trouble"}}).to_string() }
    }

    /// A failure with this body.
    pub fn body(status: u16, body: impl ToString) -> Self {
        Self::Fail { status, body: body.to_string() }
    }
}

/// One request as the double received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The path below the double's root.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: poem::http::HeaderMap,
    pub body: Bytes,
    /// The body read as a form (`application/x-www-form-urlencoded`), in order; empty when
    /// it is not one.
    pub form: Vec<(String, String)>,
}

impl Recorded {
    /// `req` as received, with its body.
    pub(crate) fn of(req: &Request, body: Bytes) -> Self {
        let is_form = req.content_type().is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let pairs = |bytes: &[u8]| -> Vec<(String, String)> {
            url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        };
        Self {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            query: pairs(req.uri().query().unwrap_or("").as_bytes()),
            headers: req.headers().clone(),
            form: if is_form { pairs(&body) } else { vec![] },
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field of the form body.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The form body as a map (the last of repeated fields wins).
    pub fn fields(&self) -> std::collections::BTreeMap<String, String> {
        self.form.iter().cloned().collect()
    }

    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A double's fault and its record.
#[derive(Default)]
pub struct Faults {
    fault: Mutex<Fault>,
    recording: AtomicBool,
    received: AtomicUsize,
    requests: Mutex<VecDeque<Recorded>>,
}

impl Faults {
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = fault;
    }

    pub fn current(&self) -> Fault {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps the requests from now on.
    pub fn record(&self) {
        self.recording.store(true, Ordering::SeqCst);
    }

    /// Requests received so far, recorded or not.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::SeqCst)
    }

    /// The recorded requests, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    /// The recorded requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    fn keep(&self, request: Recorded) {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if requests.len() == KEPT {
            requests.pop_front();
        }
        requests.push_back(request);
    }
}

/// `endpoint` behind `faults`: the request is counted (and recorded when recording is on),
/// then failed or delayed as the fault says, then answered by the double.
pub fn injected<E: Endpoint + 'static>(endpoint: E, faults: Arc<Faults>) -> impl Endpoint<Output = Response> {
    endpoint.map_to_response().around(move |endpoint, mut req: Request| {
        let faults = faults.clone();
        async move {
            faults.received.fetch_add(1, Ordering::SeqCst);
            if faults.recording.load(Ordering::SeqCst) {
                let body = req.take_body().into_bytes().await.unwrap_or_default();
                faults.keep(Recorded::of(&req, body.clone()));
                req.set_body(body);
            }
            match faults.current() {
                Fault::Fail { status, body } => {
                    return Ok(Response::builder()
                        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
                        .content_type("application/json")
                        .body(body));
                }
                Fault::Stall(duration) => tokio::time::sleep(duration).await,
                Fault::None => {}
            }
            endpoint.call(req).await
        }
    })
}
