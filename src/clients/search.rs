//! Web search for the evidence-grounded agent (`web_search {query}`), through the
//! provider `SEARCH_PROVIDER` names:
//!
//! - `searxng`: `GET {SEARCH_API_BASE}/search?q=…&format=json` (the instance must have the
//!   JSON format enabled), answered with `results: [{url, title, content, …}]`. A
//!   `SEARCH_API_KEY`, when set, is sent as `Authorization: Bearer …` for instances behind
//!   a token-checking proxy;
//! - `brave`: `GET {base}/res/v1/web/search?q=…&count=…` with `X-Subscription-Token` and
//!   `Accept: application/json`, answered with `web.results: [{url, title, description, …}]`
//!   (`web` is absent when nothing matched);
//! - `tavily`: `POST {base}/search` with `Authorization: Bearer …` and a JSON body
//!   `{query, max_results, search_depth, include_answer, include_raw_content, include_images}`,
//!   answered with `results: [{url, title, content, score}]`.
//!
//! Whatever a provider answers becomes at most [`MAX_RESULTS`] [`SearchResult`]s: http(s)
//! URLs only, each once, markup stripped, titles and snippets cut short. Every failure is
//! a [`SearchError`] whose text is short enough to hand to the model as the tool result;
//! no answer body, however odd, makes this code panic.

use std::{collections::HashSet, time::Duration};

use serde::Serialize;
use serde_json::{Value, json};

use super::fact_check::{FactCheck, FactCheckClient};
use crate::config::{Config, SearchConfig, SearchProvider};

/// Results handed back per search.
pub const MAX_RESULTS: usize = 8;
/// Characters kept of a snippet (the rest is replaced by `…`).
pub const MAX_SNIPPET_CHARS: usize = 400;
/// Characters kept of a title.
pub const MAX_TITLE_CHARS: usize = 200;
/// Characters of a query sent (Brave refuses more than 400).
pub const MAX_QUERY_CHARS: usize = 400;
/// Words of a query sent (Brave refuses more than 50).
pub const MAX_QUERY_WORDS: usize = 50;
/// Longer URLs are dropped rather than cut (a cut URL points nowhere).
pub const MAX_URL_CHARS: usize = 2048;
/// Largest answer body read from a provider.
pub const MAX_BODY_BYTES: usize = 2 << 20;
/// Characters of a provider's error text kept in [`SearchError::Status`].
const MAX_DETAIL_CHARS: usize = 200;

/// One web page found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SearchResult {
    pub url: String,
    pub title: String,
    pub snippet: String,
}

/// Why a search gave nothing. The `Display` text is meant for the model.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("this search is not available on this server")]
    NotConfigured,
    #[error("the search query is empty")]
    EmptyQuery,
    #[error("the search service did not answer in time")]
    Timeout,
    #[error("the search service could not be reached: {0}")]
    Transport(String),
    #[error("the search service answered HTTP {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the search service's answer was not understood: {0}")]
    Malformed(String),
}

impl SearchError {
    /// Worth trying again later (rate limits, outages, timeouts).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout | Self::Transport(_) => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// A web search client for one provider.
#[derive(Clone)]
pub struct SearchClient {
    http: reqwest::Client,
    provider: SearchProvider,
    /// Without a trailing slash.
    api_base: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for SearchClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchClient")
            .field("provider", &self.provider)
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
            provider: config.provider,
            api_base: config.api_base.trim_end_matches('/').to_string(),
            api_key: config.api_key.clone(),
            timeout,
        }
    }

    pub fn provider(&self) -> SearchProvider {
        self.provider
    }

    /// Searches the web; at most [`MAX_RESULTS`] results, best first.
    pub async fn search(&self, query: &str) -> Result<Vec<SearchResult>, SearchError> {
        let query = prepare_query(query)?;
        let request = match self.provider {
            SearchProvider::Searxng => {
                let request = self
                    .http
                    .get(format!("{}/search", self.api_base))
                    .query(&[("q", query.as_str()), ("format", "json")])
                    .header(reqwest::header::ACCEPT, "application/json");
                match &self.api_key {
                    Some(key) => request.bearer_auth(key),
                    None => request,
                }
            }
            SearchProvider::Brave => self
                .http
                .get(format!("{}/res/v1/web/search", self.api_base))
                .query(&[("q", query.as_str()), ("count", &MAX_RESULTS.to_string())])
                .header(reqwest::header::ACCEPT, "application/json")
                .header("X-Subscription-Token", self.api_key.as_deref().unwrap_or_default()),
            SearchProvider::Tavily => self
                .http
                .post(format!("{}/search", self.api_base))
                .bearer_auth(self.api_key.as_deref().unwrap_or_default())
                .json(&json!({
                    "query": query,
                    "max_results": MAX_RESULTS,
                    "search_depth": "basic",
                    "include_answer": false,
                    "include_raw_content": false,
                    "include_images": false,
                })),
        };
        let body =
            fetch(request.timeout(self.timeout), self.api_key.as_deref(), "search").await.map_err(|err| match err {
                SearchError::Status { status: 403, detail } if self.provider == SearchProvider::Searxng => {
                    SearchError::Status {
                        status: 403,
                        detail: format!("{detail} (is the JSON format enabled on this SearXNG instance?)"),
                    }
                }
                other => other,
            })?;
        parse(self.provider, &body)
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
            web: config.search.as_ref().map(|c| SearchClient::new(http.clone(), c, config.outbound_timeout)),
            fact_check: config.fact_check.as_ref().map(|c| FactCheckClient::new(http, c, config.outbound_timeout)),
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

/// Parses a provider's successful answer into results.
pub fn parse(provider: SearchProvider, body: &[u8]) -> Result<Vec<SearchResult>, SearchError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| SearchError::Malformed("not JSON".into()))?;
    let object = value.as_object().ok_or_else(|| SearchError::Malformed("not a JSON object".into()))?;
    let (items, snippet_field) = match provider {
        SearchProvider::Searxng | SearchProvider::Tavily => match object.get("results") {
            Some(Value::Array(items)) => (items.as_slice(), "content"),
            Some(Value::Null) | None => return Err(SearchError::Malformed("no results list".into())),
            Some(_) => return Err(SearchError::Malformed("results is not a list".into())),
        },
        // `web` is left out when the query matched no web pages.
        SearchProvider::Brave => match object.get("web") {
            None | Some(Value::Null) => return Ok(vec![]),
            Some(Value::Object(web)) => match web.get("results") {
                None | Some(Value::Null) => return Ok(vec![]),
                Some(Value::Array(items)) => (items.as_slice(), "description"),
                Some(_) => return Err(SearchError::Malformed("web.results is not a list".into())),
            },
            Some(_) => return Err(SearchError::Malformed("web is not an object".into())),
        },
    };
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

/// The query as sent: trimmed, single-spaced, at most [`MAX_QUERY_WORDS`] words and
/// [`MAX_QUERY_CHARS`] characters.
pub(crate) fn prepare_query(query: &str) -> Result<String, SearchError> {
    let query: String = query
        .split_whitespace()
        .take(MAX_QUERY_WORDS)
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_QUERY_CHARS)
        .collect();
    let query = query.trim_end().to_string();
    if query.is_empty() { Err(SearchError::EmptyQuery) } else { Ok(query) }
}

/// Sends a request and reads a successful answer's body (at most [`MAX_BODY_BYTES`]).
/// `secret` is kept out of any error text.
pub(crate) async fn fetch(
    request: reqwest::RequestBuilder,
    secret: Option<&str>,
    peer: &'static str,
) -> Result<Vec<u8>, SearchError> {
    // Without the URL: a query-string key must not reach the model or the logs.
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            SearchError::Timeout
        } else {
            SearchError::Transport(redact(&source_text(&e.without_url()), secret))
        }
    };
    let mut response =
        crate::telemetry::send(request, peer, crate::telemetry::Propagate::Yes).await.map_err(transport)?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            if status.is_success() {
                return Err(SearchError::Malformed("the answer is too large".into()));
            }
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let detail = error_detail(&body).unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        return Err(SearchError::Status { status: status.as_u16(), detail: redact(&detail, secret) });
    }
    Ok(body)
}

/// The error and its causes on one line (reqwest's own text says only "error sending request").
fn source_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    clean_text(&text, MAX_DETAIL_CHARS)
}

fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "[redacted]"),
        _ => text.to_string(),
    }
}

/// The message in a provider's error body: Brave `{error: {detail}}`, Google
/// `{error: {message}}`, Tavily `{detail: {error}}` or `{detail: "…"}`, or a short plain text.
/// HTML pages (proxies, challenge pages) are not repeated.
fn error_detail(body: &[u8]) -> Option<String> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let found = match serde_json::from_slice::<Value>(body) {
        Ok(value) => text(value.pointer("/error/detail"))
            .or_else(|| text(value.pointer("/error/message")))
            .or_else(|| text(value.pointer("/detail/error")))
            .or_else(|| text(value.get("detail")))
            .or_else(|| text(value.get("message")))
            .or_else(|| text(value.get("error")))
            .or_else(|| text(value.pointer("/error/code"))),
        Err(_) => {
            let plain = String::from_utf8_lossy(body);
            let plain = plain.trim();
            (!plain.is_empty() && !plain.starts_with('<')).then(|| plain.to_string())
        }
    };
    found.map(|detail| clean_text(&detail, MAX_DETAIL_CHARS)).filter(|detail| !detail.is_empty())
}

/// `value` when it is an absolute http(s) URL with a host, of sensible length.
pub(crate) fn web_url(value: &str) -> Option<String> {
    let value = value.trim();
    if value.chars().count() > MAX_URL_CHARS {
        return None;
    }
    let parsed = url::Url::parse(value).ok()?;
    (matches!(parsed.scheme(), "http" | "https") && parsed.host_str().is_some_and(|h| !h.is_empty()))
        .then(|| value.to_string())
}

/// Two URLs that differ only in fragment, trailing slash or letter case of scheme and host
/// are the same page.
fn dedup_key(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut parsed) => {
            parsed.set_fragment(None);
            parsed.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => value.to_string(),
    }
}

/// Text for the model: tags removed, common entities decoded, whitespace collapsed, at
/// most `max_chars` characters (ending with `…` when cut).
pub fn clean_text(raw: &str, max_chars: usize) -> String {
    let mut stripped = String::with_capacity(raw.len().min(8 * max_chars + 64));
    let mut tag: Option<String> = None;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match (&mut tag, c) {
            // A tag starts with a letter, `/` or `!`; "a < b" is text.
            (None, '<') if chars.peek().is_some_and(|n| n.is_ascii_alphabetic() || *n == '/' || *n == '!') => {
                tag = Some(String::new())
            }
            (Some(name), '>') => {
                // Inline markup (search engines' highlighting) joins its text; other tags part it.
                let name =
                    name.trim_start_matches('/').split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
                if !INLINE_TAGS.contains(&name.to_ascii_lowercase().as_str()) {
                    stripped.push(' ');
                }
                tag = None;
            }
            (Some(name), c) => {
                if name.len() < 16 {
                    name.push(c);
                }
            }
            (None, c) if c.is_control() => stripped.push(' '),
            (None, c) => stripped.push(c),
        }
        // Enough for the cut below even after entities shrink and spaces collapse.
        if stripped.len() > 16 * max_chars + 64 {
            break;
        }
    }
    let full = decode_entities(&stripped).split_whitespace().collect::<Vec<_>>().join(" ");
    if full.chars().count() <= max_chars {
        return full;
    }
    if max_chars == 0 {
        return String::new();
    }
    let kept: String = full.chars().take(max_chars - 1).collect();
    // Cut at the last word boundary unless that loses much.
    let kept = match kept.rfind(' ') {
        Some(at) if kept[..at].chars().count() * 5 >= (max_chars - 1) * 3 => &kept[..at],
        _ => kept.as_str(),
    };
    format!("{}…", kept.trim_end())
}

const INLINE_TAGS: &[&str] = &["b", "strong", "em", "i", "u", "mark", "span", "a", "code", "small", "sub", "sup"];

fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.char_indices().take(10).find(|(_, c)| *c == ';').map(|(i, _)| i);
        let decoded = end.and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse::<u32>().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_cut() {
        assert_eq!(clean_text("  <strong>Eiffel</strong>&nbsp;Tower &amp; co\n\t", 100), "Eiffel Tower & co");
        assert_eq!(clean_text("built in <strong>1889</strong>.<br/>Next<p>para</p>", 100), "built in 1889. Next para");
        assert_eq!(clean_text("x < 5 and y > 2", 100), "x < 5 and y > 2");
        assert_eq!(clean_text("a &#39;quote&#x27; &bogus; & done", 100), "a 'quote' &bogus; & done");
        assert_eq!(clean_text("one two three four", 9), "one two…");
        assert_eq!(clean_text("abcdefghijkl", 5), "abcd…");
        assert!(clean_text(&"é".repeat(10_000), 400).chars().count() <= 400);
        assert_eq!(clean_text("", 10), "");
        assert_eq!(clean_text("x", 0), "");
    }

    #[test]
    fn only_web_urls_are_kept() {
        assert_eq!(web_url(" https://example.org/a "), Some("https://example.org/a".into()));
        for bad in ["javascript:alert(1)", "ftp://example.org", "/relative", "data:text/html,x", "http://", ""] {
            assert_eq!(web_url(bad), None, "{bad}");
        }
        assert_eq!(web_url(&format!("https://example.org/{}", "a".repeat(MAX_URL_CHARS))), None);
    }

    #[test]
    fn queries_are_trimmed_and_bounded() {
        assert_eq!(prepare_query("  eiffel \n tower "), Ok("eiffel tower".into()));
        assert_eq!(prepare_query(" \t"), Err(SearchError::EmptyQuery));
        assert_eq!(prepare_query(&"q".repeat(1000)).unwrap().len(), MAX_QUERY_CHARS);
        assert_eq!(prepare_query(&"w ".repeat(80)).unwrap().split(' ').count(), MAX_QUERY_WORDS);
    }

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

    #[test]
    fn error_details_come_from_each_providers_shape() {
        let detail = |body: &str| error_detail(body.as_bytes());
        assert_eq!(
            detail(r#"{"type":"ErrorResponse","error":{"code":"SUBSCRIPTION_TOKEN_INVALID","detail":"The provided subscription token is invalid.","status":422}}"#).as_deref(),
            Some("The provided subscription token is invalid.")
        );
        assert_eq!(
            detail(r#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT"}}"#).as_deref(),
            Some("API key not valid. Please pass a valid API key.")
        );
        assert_eq!(
            detail(r#"{"detail":{"error":"Unauthorized: missing or invalid API key."}}"#).as_deref(),
            Some("Unauthorized: missing or invalid API key.")
        );
        assert_eq!(detail("Too Many Requests").as_deref(), Some("Too Many Requests"));
        assert_eq!(detail("<html><body>blocked</body></html>"), None);
        assert_eq!(detail(""), None);
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("bad key sk-123 here", Some("sk-123")), "bad key [redacted] here");
        assert_eq!(redact("text", Some("")), "text");
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
                let _ = error_detail(&body);
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                for provider in [SearchProvider::Searxng, SearchProvider::Brave, SearchProvider::Tavily] {
                    let _ = parse(provider, &bytes);
                }
                let _ = error_detail(&bytes);
            }

            #[test]
            fn clean_text_respects_its_bound(text in ".{0,600}", max in 0usize..300) {
                prop_assert!(clean_text(&text, max).chars().count() <= max);
            }
        }
    }
}
