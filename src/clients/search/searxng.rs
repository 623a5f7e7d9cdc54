//! SearXNG: `GET {SEARCH_API_BASE}/search?q=…&format=json` (the instance must have the JSON
//! format enabled), answered with `results: [{url, title, content, …}]`. A `SEARCH_API_KEY`,
//! when set, is sent as `Authorization: Bearer …` for instances behind a token-checking proxy.

use serde_json::{Map, Value};

use super::{Endpoint, Provider, SearchError, results_list};

pub struct Searxng;

impl Provider for Searxng {
    fn request(&self, to: &Endpoint<'_>, query: &str) -> reqwest::RequestBuilder {
        let request = to
            .http
            .get(format!("{}/search", to.api_base))
            .query(&[("q", query), ("format", "json")])
            .header(reqwest::header::ACCEPT, "application/json");
        match to.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    fn items<'a>(&self, answer: &'a Map<String, Value>) -> Result<Option<(&'a [Value], &'static str)>, SearchError> {
        results_list(answer, "content")
    }

    fn explain(&self, err: SearchError) -> SearchError {
        match err {
            SearchError::Status { status: 403, detail } => SearchError::Status {
                status: 403,
                detail: format!("{detail} (is the JSON format enabled on this SearXNG instance?)"),
            },
            other => other,
        }
    }
}
