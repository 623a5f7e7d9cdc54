//! Search services, each in its provider's wire format: SearXNG (`GET /search?format=json`),
//! Brave (`GET /res/v1/web/search`, `X-Subscription-Token`), Tavily (`POST /search`, bearer
//! key, JSON body) and Google Fact Check Tools (`GET /v1alpha1/claims:search?key=…`). Each
//! checks its credential the way the real service does before anything else.
//!
//! SearXNG's results are either the canned ones ([`canned`], with entries a client must drop)
//! or, for a sandbox, pages the sandbox serves itself ([`pages`]), so that an analysis
//! retrieves and cites something real; the other providers answer the canned results. A test
//! can also make it answer nothing, raw bytes, or a redirect.

pub mod canned;
pub mod pages;

use std::sync::{Arc, Mutex};

pub use self::canned::{brave_error, google_error, tavily_error};
use crate::{
    faults::{Faults, Recorded},
    serve::Double,
};
use poem::{
    EndpointExt, Request, Response, Route,
    endpoint::BoxEndpoint,
    handler,
    http::{Method, StatusCode},
    web::Data,
};

pub const BRAVE_KEY: &str = "BSA-test-subscription-token";
pub const TAVILY_KEY: &str = "tvly-test-key";
pub const GOOGLE_KEY: &str = "AIza-test-fact-check-key";
/// A SearXNG instance behind a token-checking proxy, when [`Search::require_searxng_token`] is on.
pub const SEARXNG_TOKEN: &str = "searxng-proxy-token";

/// What the search answers, once the credential is right.
#[derive(Debug, Clone, Default)]
pub enum Answer {
    /// Results (see the module's doc).
    #[default]
    Results,
    /// A well-formed answer that found nothing.
    Empty,
    /// 200 with this body as JSON content.
    Raw(String),
    /// Sends the caller elsewhere on this double (`302 Location: /elsewhere`).
    Redirect,
}

/// The search services' double.
#[derive(Default)]
pub struct Search {
    answer: Mutex<Answer>,
    searxng_token: Mutex<bool>,
    /// Where SearXNG's results lead: the sandbox's pages (`{base}{n}?q=…`), or the canned
    /// results when unset.
    pages_base: Option<String>,
    pub faults: Arc<Faults>,
}

impl Search {
    /// A search whose SearXNG results are pages under `pages_base` (see [`pages::page`]).
    pub fn with_pages(pages_base: &str) -> Self {
        Self { pages_base: Some(pages_base.into()), ..Self::default() }
    }

    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    }

    /// From now on the SearXNG endpoint wants `Authorization: Bearer` [`SEARXNG_TOKEN`].
    pub fn require_searxng_token(&self) {
        *self.searxng_token.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }
}

impl Double for Search {
    fn routes(self: Arc<Self>) -> BoxEndpoint<'static, Response> {
        // One route for all: Google's path holds a colon, which a route pattern would read
        // as a parameter.
        Route::new().at("/*path", respond).data(self).boxed()
    }

    fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }
}

fn json_response(status: u16, body: impl Into<String>) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .body(body.into())
}

/// The provider's refusal when the credential is wrong.
fn refusal(search: &Search, method: &Method, path: &str, asked: &Recorded) -> Option<Response> {
    let bearer = |key: &str| asked.header("authorization") == Some(&format!("Bearer {key}"));
    match (method, path) {
        (&Method::GET, "/search") => {
            if *search.searxng_token.lock().unwrap_or_else(|e| e.into_inner()) && !bearer(SEARXNG_TOKEN) {
                return Some(Response::builder().status(StatusCode::UNAUTHORIZED).body("Unauthorized"));
            }
            // SearXNG refuses formats its settings do not enable.
            (asked.param("format") != Some("json"))
                .then(|| Response::builder().status(StatusCode::FORBIDDEN).body("<html>403 Forbidden</html>"))
        }
        (&Method::GET, "/res/v1/web/search") => (asked.header("x-subscription-token") != Some(BRAVE_KEY)).then(|| {
            json_response(
                422,
                brave_error(422, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid."),
            )
        }),
        (&Method::POST, "/search") => {
            (!bearer(TAVILY_KEY)).then(|| json_response(401, tavily_error("Unauthorized: missing or invalid API key.")))
        }
        (&Method::GET, "/v1alpha1/claims:search") => (asked.param("key") != Some(GOOGLE_KEY)).then(|| {
            json_response(400, google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"))
        }),
        _ => Some(Response::builder().status(StatusCode::NOT_FOUND).body("not found")),
    }
}

#[handler]
async fn respond(req: &Request, body: poem::Body, search: Data<&Arc<Search>>) -> Response {
    let path = req.uri().path().to_string();
    let asked = Recorded::of(req, body.into_bytes().await.unwrap_or_default());
    if let Some(refused) = refusal(&search, req.method(), &path, &asked) {
        return refused;
    }
    let empty = match search.answer.lock().unwrap_or_else(|e| e.into_inner()).clone() {
        Answer::Raw(body) => return json_response(200, body),
        Answer::Redirect => {
            return Response::builder().status(StatusCode::FOUND).header("location", "/elsewhere").body("");
        }
        Answer::Results => false,
        Answer::Empty => true,
    };
    let query = asked.param("q").unwrap_or_default().to_string();
    let answer = match (req.method(), path.as_str()) {
        (&Method::GET, "/search") => match &search.pages_base {
            Some(base) if !empty => pages::results(base, query.trim()),
            _ => canned::searxng_answer(&query, empty),
        },
        (&Method::GET, "/res/v1/web/search") => canned::brave_answer(&query, empty),
        (&Method::POST, "/search") => {
            let query = asked.json().and_then(|j| j["query"].as_str().map(str::to_string)).unwrap_or_default();
            canned::tavily_answer(&query, empty)
        }
        _ => canned::google_answer(empty),
    };
    json_response(200, answer.to_string())
}
