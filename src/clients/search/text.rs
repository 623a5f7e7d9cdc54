//! What the search tools share: the query as sent, one bounded fetch, provider error texts,
//! web URLs and text cleaned for the model. Also used by the fact-check client.

use serde_json::Value;

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

/// The query as sent: trimmed, single-spaced, at most [`MAX_QUERY_WORDS`] words and
/// [`MAX_QUERY_CHARS`] characters.
pub fn prepare_query(query: &str) -> Result<String, SearchError> {
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
pub async fn fetch(
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

/// The error and its causes on one line, short.
fn source_text(err: &dyn std::error::Error) -> String {
    clean_text(&crate::clients::error_chain(err), MAX_DETAIL_CHARS)
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
pub(super) fn error_detail(body: &[u8]) -> Option<String> {
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
pub fn web_url(value: &str) -> Option<String> {
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
pub(super) fn dedup_key(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut parsed) => {
            parsed.set_fragment(None);
            parsed.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => value.to_string(),
    }
}

/// Text for the model: the HTML read by an HTML parser (tags dropped, inline markup joining
/// its text and other elements parting it, character references decoded), whitespace
/// collapsed, at most `max_chars` characters (ending with `…` when cut).
///
/// These are short fields of a provider's JSON (titles, snippets, error texts), so they are
/// read here rather than in the isolated child that reads whole pages: the parser (html5ever,
/// through dom_query, which the page reader uses too) is given no more than the cut below can
/// use (16 times the characters kept), so a hostile field costs little to parse.
pub fn clean_text(raw: &str, max_chars: usize) -> String {
    let bound = 16 * max_chars + 64;
    let raw = match raw.char_indices().nth(bound) {
        Some((at, _)) => &raw[..at],
        None => raw,
    };
    let text = dom_query::Document::fragment(raw).root().formatted_text();
    let text: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let full = text.split_whitespace().collect::<Vec<_>>().join(" ");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cleaned_and_cut() {
        assert_eq!(clean_text("  <strong>Eiffel</strong>&nbsp;Tower &amp; co\n\t", 100), "Eiffel Tower & co");
        assert_eq!(clean_text("built in <strong>1889</strong>.<br/>Next<p>para</p>", 100), "built in 1889. Next para");
        assert_eq!(clean_text("x < 5 and y > 2", 100), "x < 5 and y > 2");
        assert_eq!(clean_text("a &#39;quote&#x27; &bogus; & done", 100), "a 'quote' &bogus; & done");
        // What a parser knows and a tag stripper guesses: comments, unclosed and nested
        // elements, named references beyond the common five.
        assert_eq!(clean_text("<div><p>a</p><p>b<!-- hidden --></div>c &eacute;t&eacute;", 100), "a b c été");
        assert_eq!(clean_text("<ul><li>one<li>two</ul><b>bold<i>both</b>", 100), "one two boldboth");
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

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_bodies_never_panic_the_error_reader(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = error_detail(&bytes);
            }

            #[test]
            fn clean_text_respects_its_bound(text in ".{0,600}", max in 0usize..300) {
                prop_assert!(clean_text(&text, max).chars().count() <= max);
            }
        }
    }
}
