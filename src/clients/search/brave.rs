//! Brave: `GET {base}/res/v1/web/search?q=…&count=…` with `X-Subscription-Token` and
//! `Accept: application/json`, answered with `web.results: [{url, title, description, …}]`
//! (`web` is absent when nothing matched).

use serde_json::{Map, Value};

use super::{Endpoint, MAX_RESULTS, Provider, SearchError};

pub struct Brave;

impl Provider for Brave {
    fn request(&self, to: &Endpoint<'_>, query: &str) -> reqwest::RequestBuilder {
        to.http
            .get(format!("{}/res/v1/web/search", to.api_base))
            .query(&[("q", query), ("count", &MAX_RESULTS.to_string())])
            .header(reqwest::header::ACCEPT, "application/json")
            .header("X-Subscription-Token", to.key.unwrap_or_default())
    }

    fn items<'a>(&self, answer: &'a Map<String, Value>) -> Result<Option<(&'a [Value], &'static str)>, SearchError> {
        // `web` is left out when the query matched no web pages.
        match answer.get("web") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(web)) => match web.get("results") {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => Ok(Some((items.as_slice(), "description"))),
                Some(_) => Err(SearchError::Malformed("web.results is not a list".into())),
            },
            Some(_) => Err(SearchError::Malformed("web is not an object".into())),
        }
    }
}
