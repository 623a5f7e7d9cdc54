//! Published fact checks for the evidence-grounded agent (`fact_check_search {query}`),
//! through the Google Fact Check Tools API:
//! `GET {FACT_CHECK_API_BASE}/v1alpha1/claims:search?query=…&key=…&pageSize=…[&languageCode=…]`,
//! answered with `claims: [{text, claimant, claimDate, claimReview: [{publisher: {name,
//! site}, url, title, reviewDate, textualRating, languageCode}]}]` (`claims` is left out
//! when nothing matched).
//!
//! Each review of each claim becomes one [`FactCheck`]; at most [`MAX_FACT_CHECKS`],
//! reviews without an http(s) URL dropped. Errors are [`SearchError`]s.

use std::{collections::HashSet, time::Duration};

use serde::Serialize;
use serde_json::Value;

use super::search::text::{SearchError, clean_text, fetch, prepare_query, web_url};
use crate::config::FactCheckConfig;

/// Fact checks handed back per search.
pub const MAX_FACT_CHECKS: usize = 8;
/// Claims asked for per search (each may carry several reviews).
pub const PAGE_SIZE: usize = 8;
/// Characters kept of a claim's text.
pub const MAX_CLAIM_CHARS: usize = 400;
/// Characters kept of names, ratings, titles and dates.
const MAX_FIELD_CHARS: usize = 200;

/// One published review of a claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactCheck {
    /// The claim as the fact checker recorded it.
    pub claim: String,
    /// Who made the claim.
    pub claimant: Option<String>,
    /// The fact checker's verdict in its own words ("False", "Mostly true", "Misleading"…).
    pub rating: Option<String>,
    /// The fact checker: its name, or its site when it has none.
    pub publisher: Option<String>,
    /// The review.
    pub url: String,
    pub title: Option<String>,
    /// As the API gives it (RFC 3339).
    pub review_date: Option<String>,
    /// BCP-47 language of the review.
    pub language: Option<String>,
}

#[derive(Clone)]
pub struct FactCheckClient {
    http: reqwest::Client,
    /// Without a trailing slash.
    api_base: String,
    api_key: String,
    timeout: Duration,
}

impl std::fmt::Debug for FactCheckClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactCheckClient")
            .field("api_base", &self.api_base)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl FactCheckClient {
    /// `timeout` bounds each call (connecting, waiting and reading the answer).
    pub fn new(http: reqwest::Client, config: &FactCheckConfig, timeout: Duration) -> Self {
        Self {
            http,
            api_base: config.api_base.trim_end_matches('/').to_string(),
            api_key: config.api_key.clone(),
            timeout,
        }
    }

    /// Searches published fact checks; `language` (BCP-47, e.g. "en" or "pt-BR")
    /// restricts them to one language.
    pub async fn search(&self, query: &str, language: Option<&str>) -> Result<Vec<FactCheck>, SearchError> {
        let query = prepare_query(query)?;
        let mut params = vec![("query", query), ("key", self.api_key.clone()), ("pageSize", PAGE_SIZE.to_string())];
        if let Some(language) = language.map(str::trim).filter(|l| is_language_tag(l)) {
            params.push(("languageCode", language.to_string()));
        }
        let request = self
            .http
            .get(format!("{}/v1alpha1/claims:search", self.api_base))
            .query(&params)
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.timeout);
        let body = fetch(request, Some(&self.api_key), "fact_check").await?;
        parse(&body)
    }
}

/// Letters, digits and hyphens, as BCP-47 tags are; anything else is not sent.
fn is_language_tag(tag: &str) -> bool {
    (2..=35).contains(&tag.len()) && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Parses a successful `claims:search` answer.
pub fn parse(body: &[u8]) -> Result<Vec<FactCheck>, SearchError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| SearchError::Malformed("not JSON".into()))?;
    let object = value.as_object().ok_or_else(|| SearchError::Malformed("not a JSON object".into()))?;
    let claims = match object.get("claims") {
        None | Some(Value::Null) => return Ok(vec![]),
        Some(Value::Array(claims)) => claims,
        Some(_) => return Err(SearchError::Malformed("claims is not a list".into())),
    };
    let field = |v: &Value, name: &str, max: usize| {
        v.get(name).and_then(Value::as_str).map(|s| clean_text(s, max)).filter(|s| !s.is_empty())
    };
    let mut seen = HashSet::new();
    let mut checks = vec![];
    'claims: for claim in claims {
        let Some(text) = field(claim, "text", MAX_CLAIM_CHARS) else { continue };
        let claimant = field(claim, "claimant", MAX_FIELD_CHARS);
        let Some(reviews) = claim.get("claimReview").and_then(Value::as_array) else { continue };
        for review in reviews {
            if checks.len() == MAX_FACT_CHECKS {
                break 'claims;
            }
            let Some(url) = review.get("url").and_then(Value::as_str).and_then(web_url) else { continue };
            if !seen.insert(url.clone()) {
                continue;
            }
            let publisher = review
                .get("publisher")
                .and_then(|p| field(p, "name", MAX_FIELD_CHARS).or_else(|| field(p, "site", MAX_FIELD_CHARS)));
            checks.push(FactCheck {
                claim: text.clone(),
                claimant: claimant.clone(),
                rating: field(review, "textualRating", MAX_FIELD_CHARS),
                publisher,
                url,
                title: field(review, "title", MAX_FIELD_CHARS),
                review_date: field(review, "reviewDate", MAX_FIELD_CHARS),
                language: field(review, "languageCode", MAX_FIELD_CHARS),
            });
        }
    }
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_review_becomes_a_fact_check() {
        let body = json!({"claims": [
            {"text": "The <b>Eiffel</b> Tower was built in 1999.", "claimant": "Someone", "claimDate": "2024-01-02T00:00:00Z",
             "claimReview": [
                {"publisher": {"name": "Checker", "site": "checker.example"}, "url": "https://checker.example/1",
                 "title": "No, it was 1889", "reviewDate": "2024-01-03T00:00:00Z", "textualRating": "False", "languageCode": "en"},
                {"publisher": {"site": "other.example"}, "url": "javascript:alert(1)", "textualRating": "False"},
                {"publisher": {"site": "other.example"}, "url": "https://other.example/2"}
             ]},
            {"claimReview": [{"url": "https://no-text.example"}]},
            {"text": "no reviews"}
        ], "nextPageToken": "abc"});
        let checks = parse(&serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(checks.len(), 2);
        assert_eq!(
            checks[0],
            FactCheck {
                claim: "The Eiffel Tower was built in 1999.".into(),
                claimant: Some("Someone".into()),
                rating: Some("False".into()),
                publisher: Some("Checker".into()),
                url: "https://checker.example/1".into(),
                title: Some("No, it was 1889".into()),
                review_date: Some("2024-01-03T00:00:00Z".into()),
                language: Some("en".into()),
            }
        );
        assert_eq!(checks[1].publisher.as_deref(), Some("other.example"));
        assert_eq!(checks[1].rating, None);
    }

    #[test]
    fn nothing_found_is_an_empty_list() {
        assert_eq!(parse(b"{}").unwrap(), vec![]);
        assert!(matches!(parse(b"[]"), Err(SearchError::Malformed(_))));
        assert!(matches!(parse(br#"{"claims": 3}"#), Err(SearchError::Malformed(_))));
        assert!(matches!(parse(b"<html>"), Err(SearchError::Malformed(_))));
    }

    #[test]
    fn language_tags_are_checked() {
        assert!(is_language_tag("en"));
        assert!(is_language_tag("sr-Latn"));
        assert!(!is_language_tag("en&key=x"));
        assert!(!is_language_tag("e"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                ".{0,40}".prop_map(Value::from),
                Just(Value::from("https://checker.example/x")),
            ];
            leaf.prop_recursive(5, 64, 8, |inner| {
                let keys = prop_oneof![
                    Just("claims".to_string()),
                    Just("text".to_string()),
                    Just("claimReview".to_string()),
                    Just("url".to_string()),
                    Just("publisher".to_string()),
                    Just("name".to_string()),
                    Just("textualRating".to_string()),
                    "[a-z]{1,8}",
                ];
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                    prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            #[test]
            fn arbitrary_json_never_panics(value in json_value()) {
                if let Ok(checks) = parse(&serde_json::to_vec(&value).unwrap()) {
                    prop_assert!(checks.len() <= MAX_FACT_CHECKS);
                    prop_assert!(checks.iter().all(|c| c.url.starts_with("http")));
                }
            }

            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse(&bytes);
            }
        }
    }
}
