//! The tools offered to the model (OpenAI-compatible `tools`), and running a call: every
//! outcome, a failure included, becomes text the model reads; nothing here fails a task.

use serde_json::{Value, json};

use super::evidence::Retrieved;
use domain::analysis::StepKind;

/// Characters of a retrieved page the model is shown per call.
pub const PAGE_CHARS_FOR_MODEL: usize = 6_000;

/// A page or document retrieved by `fetch_url`.
#[derive(Debug, Clone)]
pub struct Page {
    /// After redirects.
    pub url: String,
    pub title: String,
    pub text: String,
    /// The text was cut at `FETCH_MAX_BYTES`.
    pub truncated: bool,
}

/// A web search result.
#[derive(Debug, Clone)]
pub struct Hit {
    pub url: String,
    pub title: String,
    pub snippet: String,
}

/// A published fact-check of a claim.
#[derive(Debug, Clone)]
pub struct Review {
    pub url: String,
    pub title: String,
    pub publisher: String,
    pub claim: String,
    pub rating: String,
}

/// Where evidence comes from. Errors are the sentence the model is shown.
#[async_trait::async_trait]
pub trait Retriever: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<Page, String>;
    /// None: no search provider is configured.
    async fn search(&self, query: &str) -> Option<Result<Vec<Hit>, String>>;
    /// None: no fact-check source is configured.
    async fn fact_check(&self, query: &str) -> Option<Result<Vec<Review>, String>>;
    fn has_search(&self) -> bool;
    fn has_fact_check(&self) -> bool;
}

fn function(name: &str, description: &str, argument: &str, argument_description: &str) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {argument: {"type": "string", "description": argument_description}},
                "required": [argument],
                "additionalProperties": false,
            },
        },
    })
}

/// The tools offered: `fetch_url` always, the searches when configured.
pub fn definitions(retriever: &dyn Retriever) -> Value {
    let mut tools = vec![function(
        "fetch_url",
        "Retrieve a web page or PDF and read its main text. Only what you retrieve can be cited.",
        "url",
        "An http(s) URL",
    )];
    if retriever.has_search() {
        tools.push(function(
            "web_search",
            "Search the web. Returns titles, URLs and snippets; fetch a result to read and cite it.",
            "query",
            "What to search for",
        ));
    }
    if retriever.has_fact_check() {
        tools.push(function(
            "fact_check_search",
            "Search published fact-checks (ClaimReview) of a claim: who checked it and their rating.",
            "query",
            "The claim, in a few words",
        ));
    }
    Value::Array(tools)
}

/// What running one tool call did.
pub struct Outcome {
    /// The tool message's content.
    pub text: String,
    pub step: (StepKind, String),
    /// Documents retrieved (a page, or fact-check reviews).
    pub retrieved: Vec<Retrieved>,
}

fn argument(arguments: &str, name: &str) -> Option<String> {
    serde_json::from_str::<Value>(arguments)
        .ok()?
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The text of a retrieved page as the model sees it.
pub fn page_for_model(page: &Page) -> String {
    let text: String = page.text.chars().take(PAGE_CHARS_FOR_MODEL).collect();
    let cut = if page.truncated || page.text.chars().count() > PAGE_CHARS_FOR_MODEL { "\n[cut]" } else { "" };
    format!("URL: {}\nTitle: {}\n\n{text}{cut}", page.url, page.title)
}

/// Runs `fetch_url` (also used for the URLs found in the input).
pub async fn fetch(retriever: &dyn Retriever, url: &str, now: i64) -> Outcome {
    match retriever.fetch(url).await {
        Ok(page) => Outcome {
            text: page_for_model(&page),
            step: (StepKind::Fetch, page.url.clone()),
            retrieved: vec![Retrieved {
                url: page.url.clone(),
                title: page.title.clone(),
                text: page.text,
                retrieved_at: now,
            }],
        },
        Err(reason) => Outcome {
            text: format!("Could not retrieve {url}: {reason}"),
            step: (StepKind::Fetch, format!("{url}: {reason}")),
            retrieved: vec![],
        },
    }
}

/// Runs one call the model made.
pub async fn run(retriever: &dyn Retriever, name: &str, arguments: &str, now: i64) -> Outcome {
    let refused = |text: String| Outcome { step: (StepKind::Reason, text.clone()), text, retrieved: vec![] };
    match name {
        "fetch_url" => match argument(arguments, "url") {
            Some(url) => fetch(retriever, &url, now).await,
            None => refused("fetch_url needs a `url`.".into()),
        },
        "web_search" => {
            let Some(query) = argument(arguments, "query") else {
                return refused("web_search needs a `query`.".into());
            };
            let text = match retriever.search(&query).await {
                None => "Web search is not available on this server.".to_string(),
                Some(Err(reason)) => format!("The search failed: {reason}"),
                Some(Ok(hits)) if hits.is_empty() => "No results.".to_string(),
                Some(Ok(hits)) => hits
                    .iter()
                    .enumerate()
                    .map(|(i, hit)| format!("{}. {}\n{}\n{}", i + 1, hit.title, hit.url, hit.snippet))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
            };
            Outcome { text, step: (StepKind::Search, query), retrieved: vec![] }
        }
        "fact_check_search" => {
            let Some(query) = argument(arguments, "query") else {
                return refused("fact_check_search needs a `query`.".into());
            };
            let (text, retrieved) = match retriever.fact_check(&query).await {
                None => ("Fact-check search is not available on this server.".to_string(), vec![]),
                Some(Err(reason)) => (format!("The fact-check search failed: {reason}"), vec![]),
                Some(Ok(reviews)) if reviews.is_empty() => ("No published fact-checks found.".to_string(), vec![]),
                Some(Ok(reviews)) => {
                    let text = reviews
                        .iter()
                        .enumerate()
                        .map(|(i, r)| {
                            format!(
                                "{}. {} rated \"{}\": {}\n{}\n{}",
                                i + 1,
                                r.publisher,
                                r.claim,
                                r.rating,
                                r.title,
                                r.url
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    let retrieved = reviews
                        .into_iter()
                        .map(|r| Retrieved {
                            text: format!("{} rated the claim \"{}\": {}. {}", r.publisher, r.claim, r.rating, r.title),
                            url: r.url,
                            title: r.title,
                            retrieved_at: now,
                        })
                        .collect();
                    (text, retrieved)
                }
            };
            Outcome { text, step: (StepKind::Search, format!("fact-checks: {query}")), retrieved }
        }
        other => refused(format!("There is no tool named {other}.")),
    }
}
