//! Fake search services on 127.0.0.1, speaking each provider's wire format: SearXNG
//! (`GET /search?format=json`), Brave (`GET /res/v1/web/search`, `X-Subscription-Token`),
//! Tavily (`POST /search`, bearer key, JSON body) and Google Fact Check Tools
//! (`GET /v1alpha1/claims:search?key=…`). Each checks its credential the way the real
//! service does, records every request, and can be told to fail, stall or answer junk.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use poem::{
    Body, EndpointExt, Request, Response, Route, Server, handler,
    http::{Method, StatusCode},
    listener::{Acceptor, Listener, TcpListener},
    web::Data,
};
use serde_json::{Value, json};

pub const BRAVE_KEY: &str = "BSA-test-subscription-token";
pub const TAVILY_KEY: &str = "tvly-test-key";
pub const GOOGLE_KEY: &str = "AIza-test-fact-check-key";
/// A SearXNG instance behind a token-checking proxy, when [`FakeSearch::require_searxng_token`] is on.
pub const SEARXNG_TOKEN: &str = "searxng-proxy-token";

#[derive(Debug, Clone)]
pub enum Behaviour {
    /// A realistic answer with results (including ones the client must drop).
    Answer,
    /// A well-formed answer that found nothing.
    Empty,
    Fail {
        status: u16,
        body: String,
    },
    /// Answers normally, this late.
    Stall(Duration),
    /// Answers 200 with this body as JSON content.
    Raw(String),
    /// Sends the caller elsewhere on this fake (`302 Location: …/elsewhere`).
    Redirect,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub subscription_token: Option<String>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub json: Option<Value>,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
struct Shared {
    requests: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    searxng_token: Arc<Mutex<bool>>,
}

#[derive(Clone)]
pub struct FakeSearch {
    /// The root every provider's base URL points at.
    pub url: String,
    shared: Shared,
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

fn json_response(status: u16, body: impl Into<String>) -> Response {
    Response::builder().status(StatusCode::from_u16(status).unwrap()).content_type("application/json").body(body.into())
}

/// Brave's error envelope.
pub fn brave_error(status: u16, code: &str, detail: &str) -> String {
    json!({
        "type": "ErrorResponse",
        "error": {"id": "c0ffee00-0000-4000-8000-000000000000", "status": status, "code": code, "detail": detail, "meta": {}},
        "time": 1_764_000_000,
    })
    .to_string()
}

/// Tavily's error envelope.
pub fn tavily_error(message: &str) -> String {
    json!({"detail": {"error": message}}).to_string()
}

/// Google's error envelope.
pub fn google_error(code: u16, message: &str, status: &str) -> String {
    json!({"error": {"code": code, "message": message, "status": status}}).to_string()
}

fn searxng_answer(query: &str, empty: bool) -> Value {
    let results = if empty {
        json!([])
    } else {
        json!([
            {"url": "https://en.wikipedia.org/wiki/Eiffel_Tower", "title": "Eiffel Tower - Wikipedia",
             "content": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It was completed in 1889.",
             "engine": "wikipedia", "parsed_url": ["https", "en.wikipedia.org", "/wiki/Eiffel_Tower", "", "", ""],
             "template": "default.html", "engines": ["wikipedia", "duckduckgo"], "positions": [1, 2], "score": 4.0, "category": "general"},
            {"url": "javascript:alert(document.cookie)", "title": "Not a page", "content": "dropped", "engine": "bogus"},
            {"url": "https://www.toureiffel.paris/en/the-monument/history", "title": "History of the <b>Eiffel Tower</b>",
             "content": "Built for the 1889 World&#39;s Fair &amp; inaugurated on 31 March 1889.",
             "engine": "duckduckgo", "engines": ["duckduckgo"], "positions": [2], "score": 1.5, "category": "general",
             "publishedDate": null},
            {"url": "https://en.wikipedia.org/wiki/Eiffel_Tower#History", "title": "Duplicate", "content": "dropped", "engine": "google"},
            {"url": "ftp://files.example.org/eiffel.txt", "title": "FTP", "content": "dropped", "engine": "bogus"}
        ])
    };
    json!({
        "query": query,
        "number_of_results": 0,
        "results": results,
        "answers": [],
        "corrections": [],
        "infoboxes": [],
        "suggestions": ["eiffel tower height"],
        "unresponsive_engines": [["brave", "timeout"]],
    })
}

fn brave_answer(query: &str, empty: bool) -> Value {
    let mut answer = json!({
        "type": "search",
        "query": {"original": query, "show_strict_warning": false, "is_navigational": false,
                  "is_news_breaking": false, "spellcheck_off": true, "country": "us", "bad_results": false,
                  "should_fallback": false, "postal_code": "", "city": "", "header_country": "", "more_results_available": true, "state": ""},
        "mixed": {"type": "mixed", "main": [{"type": "web", "index": 0, "all": false}], "top": [], "side": []},
    });
    if !empty {
        answer["web"] = json!({
            "type": "search",
            "results": [
                {"title": "Eiffel Tower - Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower", "is_source_local": false,
                 "is_source_both": false, "description": "The <strong>Eiffel Tower</strong> is a wrought-iron lattice tower in Paris, completed in <strong>1889</strong>.",
                 "page_age": "2025-11-20T10:00:00", "profile": {"name": "Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
                 "long_name": "en.wikipedia.org", "img": "https://imgs.search.brave.com/x"}, "language": "en", "family_friendly": true,
                 "type": "search_result", "subtype": "generic", "meta_url": {"scheme": "https", "netloc": "en.wikipedia.org",
                 "hostname": "en.wikipedia.org", "favicon": "https://imgs.search.brave.com/y", "path": "› wiki › Eiffel_Tower"},
                 "extra_snippets": ["It is named after the engineer Gustave Eiffel."]},
                {"title": "Bad scheme", "url": "data:text/html,<script>alert(1)</script>", "description": "dropped", "type": "search_result"},
                {"title": "Eiffel Tower | History, Height, &amp; Facts | Britannica", "url": "https://www.britannica.com/topic/Eiffel-Tower-Paris-France",
                 "description": "Eiffel Tower, Parisian landmark that is also a technological masterpiece in building-construction history.",
                 "type": "search_result", "age": "March 3, 2025"}
            ],
            "family_friendly": true,
        });
    }
    answer
}

fn tavily_answer(query: &str, empty: bool) -> Value {
    let results = if empty {
        json!([])
    } else {
        json!([
            {"title": "Eiffel Tower - Wikipedia", "url": "https://en.wikipedia.org/wiki/Eiffel_Tower",
             "content": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. Constructed from 1887 to 1889.",
             "score": 0.91, "raw_content": null, "favicon": "https://en.wikipedia.org/static/favicon/wikipedia.ico"},
            {"title": "Mailto", "url": "mailto:press@example.org", "content": "dropped", "score": 0.5, "raw_content": null},
            {"title": "The Eiffel Tower: facts", "url": "https://www.toureiffel.paris/en/news/history-and-culture/facts",
             "content": "Some facts about the tower, inaugurated in 1889.", "score": 0.83, "raw_content": null}
        ])
    };
    json!({
        "query": query,
        "follow_up_questions": null,
        "answer": null,
        "images": [],
        "results": results,
        "response_time": 1.02,
        "request_id": "123e4567-e89b-12d3-a456-426614174111",
    })
}

fn google_answer(empty: bool) -> Value {
    if empty {
        // The API leaves `claims` out when nothing matched.
        return json!({});
    }
    json!({
        "claims": [
            {"text": "The Eiffel Tower was built in 1999.", "claimant": "Viral post", "claimDate": "2024-05-01T00:00:00Z",
             "claimReview": [
                {"publisher": {"name": "Full Fact", "site": "fullfact.org"},
                 "url": "https://fullfact.org/online/eiffel-tower-1999/", "title": "The Eiffel Tower was not built in 1999",
                 "reviewDate": "2024-05-03T00:00:00Z", "textualRating": "False", "languageCode": "en"},
                {"publisher": {"site": "factcheck.example"}, "url": "ftp://factcheck.example/eiffel",
                 "textualRating": "Incorrect", "languageCode": "en"}
             ]},
            {"text": "La tour Eiffel a été construite pour l'Exposition universelle de 1889.",
             "claimReview": [
                {"publisher": {"name": "AFP Factuel", "site": "factuel.afp.com"}, "url": "https://factuel.afp.com/tour-eiffel-1889",
                 "title": "Oui, la tour Eiffel date de 1889", "reviewDate": "2023-03-31T00:00:00Z", "textualRating": "Vrai", "languageCode": "fr"}
             ]}
        ],
        "nextPageToken": "CAo",
    })
}

#[handler]
async fn respond(req: &Request, body: Body, shared: Data<&Shared>) -> Response {
    let bytes = body.into_bytes().await.unwrap_or_default();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let recorded = Recorded {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        authorization: header(req, "authorization"),
        subscription_token: header(req, "x-subscription-token"),
        accept: header(req, "accept"),
        content_type: header(req, "content-type"),
        json: serde_json::from_slice(&bytes).ok(),
    };
    shared.requests.lock().unwrap().push(recorded.clone());
    let param = |name: &str| recorded.param(name).unwrap_or_default().to_string();

    // Credentials first, as the real services check them before anything else.
    match (&method, path.as_str()) {
        (&Method::GET, "/search") => {
            if *shared.searxng_token.lock().unwrap()
                && recorded.authorization.as_deref() != Some(&format!("Bearer {SEARXNG_TOKEN}"))
            {
                return Response::builder().status(StatusCode::UNAUTHORIZED).body("Unauthorized");
            }
            if param("format") != "json" {
                // SearXNG refuses formats its settings do not enable.
                return Response::builder().status(StatusCode::FORBIDDEN).body("<html>403 Forbidden</html>");
            }
        }
        (&Method::GET, "/res/v1/web/search") => {
            if recorded.subscription_token.as_deref() != Some(BRAVE_KEY) {
                return json_response(
                    422,
                    brave_error(422, "SUBSCRIPTION_TOKEN_INVALID", "The provided subscription token is invalid."),
                );
            }
        }
        (&Method::POST, "/search") => {
            if recorded.authorization.as_deref() != Some(&format!("Bearer {TAVILY_KEY}")) {
                return json_response(401, tavily_error("Unauthorized: missing or invalid API key."));
            }
        }
        (&Method::GET, "/v1alpha1/claims:search") => {
            if param("key") != GOOGLE_KEY {
                return json_response(
                    400,
                    google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"),
                );
            }
        }
        _ => return Response::builder().status(StatusCode::NOT_FOUND).body("not found"),
    }

    let behaviour = shared.behaviour.lock().unwrap().clone();
    let empty = match behaviour {
        Behaviour::Fail { status, body } => return json_response(status, body),
        Behaviour::Raw(body) => return json_response(200, body),
        Behaviour::Redirect => {
            return Response::builder().status(StatusCode::FOUND).header("location", "/elsewhere").body("");
        }
        Behaviour::Stall(duration) => {
            tokio::time::sleep(duration).await;
            false
        }
        Behaviour::Answer => false,
        Behaviour::Empty => true,
    };
    let answer = match (&method, path.as_str()) {
        (&Method::GET, "/search") => searxng_answer(&param("q"), empty),
        (&Method::GET, "/res/v1/web/search") => brave_answer(&param("q"), empty),
        (&Method::POST, "/search") => {
            let query = recorded.json.as_ref().and_then(|j| j["query"].as_str()).unwrap_or_default().to_string();
            tavily_answer(&query, empty)
        }
        _ => google_answer(empty),
    };
    json_response(200, answer.to_string())
}

impl FakeSearch {
    pub async fn start() -> Self {
        let shared = Shared {
            requests: Arc::new(Mutex::new(vec![])),
            behaviour: Arc::new(Mutex::new(Behaviour::Answer)),
            searxng_token: Arc::new(Mutex::new(false)),
        };
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("bind fake search");
        let port = acceptor.local_addr()[0].as_socket_addr().expect("socket address").port();
        let app = Route::new().at("/*path", respond).data(shared.clone());
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { url: format!("http://127.0.0.1:{port}"), shared }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().unwrap() = behaviour;
    }

    /// From now on the SearXNG endpoint wants `Authorization: Bearer` [`SEARXNG_TOKEN`].
    pub fn require_searxng_token(&self) {
        *self.shared.searxng_token.lock().unwrap() = true;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The one request received.
    #[track_caller]
    pub fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        requests.into_iter().next().unwrap()
    }
}
