//! Tavily: `POST {base}/search` with `Authorization: Bearer …` and a JSON body
//! `{query, max_results, search_depth, include_answer, include_raw_content, include_images}`,
//! answered with `results: [{url, title, content, score}]`.

use serde_json::{Map, Value, json};

use super::{Endpoint, MAX_RESULTS, Provider, SearchError, results_list};

pub struct Tavily;

impl Provider for Tavily {
    fn request(&self, to: &Endpoint<'_>, query: &str) -> reqwest::RequestBuilder {
        to.http.post(format!("{}/search", to.api_base)).bearer_auth(to.key.unwrap_or_default()).json(&json!({
            "query": query,
            "max_results": MAX_RESULTS,
            "search_depth": "basic",
            "include_answer": false,
            "include_raw_content": false,
            "include_images": false,
        }))
    }

    fn items<'a>(&self, answer: &'a Map<String, Value>) -> Result<Option<(&'a [Value], &'static str)>, SearchError> {
        results_list(answer, "content")
    }
}
