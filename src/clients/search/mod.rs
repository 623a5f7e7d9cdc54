//! Web search for the evidence-grounded agent (`web_search {query}`), through the
//! provider `SEARCH_PROVIDER` names: one file per provider (`searxng.rs`, `brave.rs`,
//! `tavily.rs`), each a [`Provider`] that knows its request and where its answer keeps the
//! results.
//!
//! Whatever a provider answers becomes at most [`MAX_RESULTS`] [`SearchResult`]s: http(s)
//! URLs only, each once, markup stripped, titles and snippets cut short. Every failure is
//! a [`SearchError`] whose text is short enough to hand to the model as the tool result;
//! no answer body, however odd, makes this code panic.

mod brave;
mod searxng;
mod tavily;
pub mod text;

use std::{collections::HashSet, time::Duration};

use serde::Serialize;
use serde_json::{Map, Value};

pub use text::{MAX_BODY_BYTES, MAX_QUERY_CHARS, MAX_QUERY_WORDS, MAX_URL_CHARS, SearchError, clean_text};
use text::{dedup_key, fetch, prepare_query, web_url};

use super::fact_check::{FactCheck, FactCheckClient};
use crate::config::{Config, SearchConfig, SearchProvider};

/// Results handed back per search.
pub const MAX_RESULTS: usize = 8;
/// Characters kept of a snippet (the rest is replaced by `…`).
pub const MAX_SNIPPET_CHARS: usize = 400;
/// Characters kept of a title.
pub const MAX_TITLE_CHARS: usize = 200;

/// One web page found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchResult {
    pub url: String,
    pub title: String,
    pub snippet: String,
}

/// Where a provider is asked: the HTTP client, its base URL (no trailing slash), its key.
pub struct Endpoint<'a> {
    pub http: &'a reqwest::Client,
    pub api_base: &'a str,
    pub key: Option<&'a str>,
}

/// One search provider: how it is asked, and where its answer keeps the results.
pub trait Provider: Send + Sync {
    /// The request for `query` (already trimmed and bounded).
    fn request(&self, to: &Endpoint<'_>, query: &str) -> reqwest::RequestBuilder;

    /// The answer's result items and the field holding each one's snippet; `None` when the
    /// answer says nothing matched.
    fn items<'a>(&self, answer: &'a Map<String, Value>) -> Result<Option<(&'a [Value], &'static str)>, SearchError>;

    /// A refusal, with what this provider's operators should check.
    fn explain(&self, err: SearchError) -> SearchError {
        err
    }
}

fn provider_for(kind: SearchProvider) -> &'static dyn Provider {
    match kind {
        SearchProvider::Searxng => &searxng::Searxng,
        SearchProvider::Brave => &brave::Brave,
        SearchProvider::Tavily => &tavily::Tavily,
    }
}

/// The `results` list most providers answer with.
fn results_list<'a>(
    answer: &'a Map<String, Value>,
    snippet: &'static str,
) -> Result<Option<(&'a [Value], &'static str)>, SearchError> {
    match answer.get("results") {
        Some(Value::Array(items)) => Ok(Some((items.as_slice(), snippet))),
        Some(Value::Null) | None => Err(SearchError::Malformed("no results list".into())),
        Some(_) => Err(SearchError::Malformed("results is not a list".into())),
    }
}

/// A web search client for one provider.
#[derive(Clone)]
pub struct SearchClient {
    http: reqwest::Client,
    kind: SearchProvider,
    provider: &'static dyn Provider,
    /// Without a trailing slash.
    api_base: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for SearchClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchClient")
            .field("provider", &self.kind)
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SearchClient {
    /// `timeout` bounds each call (connecting, waiting and reading the answer).
    pub fn new(http: reqwest::Client, config: &SearchConfig, timeout: Duration) -> Self {
        Self {
            http,
            kind: config.provider,
            provider: provider_for(config.provider),
            api_base: config.api_base.trim_end_matches('/').to_string(),
            api_key: config.api_key.clone(),
            timeout,
        }
    }

    pub fn provider(&self) -> SearchProvider {
        self.kind
    }

    /// Searches the web; at most [`MAX_RESULTS`] results, best first.
    pub async fn search(&self, query: &str) -> Result<Vec<SearchResult>, SearchError> {
        let query = prepare_query(query)?;
        let to = Endpoint { http: &self.http, api_base: &self.api_base, key: self.api_key.as_deref() };
        let request = self.provider.request(&to, &query);
        let body = fetch(request.timeout(self.timeout), self.api_key.as_deref(), "search")
            .await
            .map_err(|err| self.provider.explain(err))?;
        parse_with(self.provider, &body)
    }
}

/// The HTTP client these tools are meant to be given: it follows no redirects (a 3xx is
/// a [`SearchError::Status`]), so a provider's answer cannot carry a key such as Brave's
/// `X-Subscription-Token` to another host. Add `.no_proxy()` and the like, then build.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).connect_timeout(Duration::from_secs(5))
}

/// The agent's two evidence tools as configured; a tool that is not configured answers
/// [`SearchError::NotConfigured`].
#[derive(Clone, Debug, Default)]
pub struct EvidenceTools {
    pub web: Option<SearchClient>,
    pub fact_check: Option<FactCheckClient>,
}

impl EvidenceTools {
    /// Each call is bounded by `OUTBOUND_TIMEOUT_MS`. `http` should come from
    /// [`http_client_builder`].
    pub fn from_config(config: &Config, http: reqwest::Client) -> Self {
        Self {
            web: config.agent.search.as_ref().map(|c| SearchClient::new(http.clone(), c, config.http.outbound_timeout)),
            fact_check: config
                .agent
                .fact_check
                .as_ref()
                .map(|c| FactCheckClient::new(http, c, config.http.outbound_timeout)),
        }
    }

    /// `web_search {query}`.
    pub async fn web_search(&self, query: &str) -> Result<Vec<SearchResult>, SearchError> {
        self.web.as_ref().ok_or(SearchError::NotConfigured)?.search(query).await
    }

    /// `fact_check_search {query}`, optionally in one language (BCP-47).
    pub async fn fact_check_search(&self, query: &str, language: Option<&str>) -> Result<Vec<FactCheck>, SearchError> {
        self.fact_check.as_ref().ok_or(SearchError::NotConfigured)?.search(query, language).await
    }
}

/// Parses `kind`'s successful answer into results.
pub fn parse(kind: SearchProvider, body: &[u8]) -> Result<Vec<SearchResult>, SearchError> {
    parse_with(provider_for(kind), body)
}

fn parse_with(provider: &dyn Provider, body: &[u8]) -> Result<Vec<SearchResult>, SearchError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| SearchError::Malformed("not JSON".into()))?;
    let object = value.as_object().ok_or_else(|| SearchError::Malformed("not a JSON object".into()))?;
    let Some((items, snippet_field)) = provider.items(object)? else { return Ok(vec![]) };
    let mut seen = HashSet::new();
    let mut results = vec![];
    for item in items {
        if results.len() == MAX_RESULTS {
            break;
        }
        let Some(url) = item.get("url").and_then(Value::as_str).and_then(web_url) else { continue };
        if !seen.insert(dedup_key(&url)) {
            continue;
        }
        let text = |field: &str| item.get(field).and_then(Value::as_str).unwrap_or_default();
        let title = clean_text(text("title"), MAX_TITLE_CHARS);
        results.push(SearchResult {
            title: if title.is_empty() { clean_text(&url, MAX_TITLE_CHARS) } else { title },
            snippet: clean_text(text(snippet_field), MAX_SNIPPET_CHARS),
            url,
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_deduplicated_and_capped() {
        let items: Vec<Value> = (0..20)
            .flat_map(|i| {
                [
                    json!({"url": format!("https://example.org/{i}"), "title": format!("T{i}"), "content": "c"}),
                    json!({"url": format!("HTTPS://EXAMPLE.org/{i}/#frag"), "title": "dup", "content": "c"}),
                ]
            })
            .collect();
        let body = serde_json::to_vec(&json!({"results": items})).unwrap();
        let results = parse(SearchProvider::Searxng, &body).unwrap();
        assert_eq!(results.len(), MAX_RESULTS);
        assert!(results.iter().all(|r| r.title.starts_with('T')));
    }

    #[test]
    fn odd_items_are_skipped_and_missing_titles_filled() {
        let body = br#"{"results": [1, null, "x", {"url": 5}, {"url": "https://a.example"}, {"title": "no url"}]}"#;
        let results = parse(SearchProvider::Tavily, body).unwrap();
        assert_eq!(
            results,
            vec![SearchResult {
                url: "https://a.example".into(),
                title: "https://a.example".into(),
                snippet: "".into()
            }]
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
                ".{0,40}".prop_map(Value::from),
                prop_oneof![
                    Just("https://example.org/a"),
                    Just("http://[::1]/x"),
                    Just("javascript:alert(1)"),
                    Just("https://"),
                    Just("<b>&amp;&#x1F600;&#99999999;</b>"),
                ]
                .prop_map(Value::from),
            ];
            leaf.prop_recursive(4, 64, 8, |inner| {
                let keys = prop_oneof![
                    Just("results".to_string()),
                    Just("web".to_string()),
                    Just("url".to_string()),
                    Just("title".to_string()),
                    Just("content".to_string()),
                    Just("description".to_string()),
                    "[a-z]{1,8}",
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
                    prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_json_never_panics(value in json_value()) {
                let body = serde_json::to_vec(&value).unwrap();
                for provider in [SearchProvider::Searxng, SearchProvider::Brave, SearchProvider::Tavily] {
                    if let Ok(results) = parse(provider, &body) {
                        prop_assert!(results.len() <= MAX_RESULTS);
                        for r in results {
                            prop_assert!(r.url.starts_with("http"));
                            prop_assert!(r.snippet.chars().count() <= MAX_SNIPPET_CHARS);
                            prop_assert!(r.title.chars().count() <= MAX_TITLE_CHARS);
                        }
                    }
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                for provider in [SearchProvider::Searxng, SearchProvider::Brave, SearchProvider::Tavily] {
                    let _ = parse(provider, &bytes);
                }
            }

        }
    }
}
