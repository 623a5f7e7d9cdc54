//! A sandbox's web: SearXNG results that lead to pages the sandbox serves itself
//! (`{base}{n}?q=…`, answered by [`page`]), so the agent's search, fetch, extraction and
//! citation all run for real on a sandbox. Deterministic: the same query gives the same
//! results and the same pages.

use poem::{
    handler,
    web::{Html, Path, Query},
};
use serde::Deserialize;
use serde_json::{Value, json};

use domain::escape_html as e;

/// Results per query.
const RESULTS: usize = 2;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn page_url(base: &str, n: usize, query: &str) -> String {
    let mut url = url::Url::parse(&format!("{base}{n}"))
        .unwrap_or_else(|_| url::Url::parse("http://127.0.0.1/").expect("a fixed URL parses"));
    url.query_pairs_mut().append_pair("q", query);
    url.to_string()
}

fn title(n: usize, query: &str) -> String {
    let subject: String = query.chars().take(80).collect();
    match n {
        1 => format!("Sandbox Gazette: what the record says about \"{subject}\""),
        _ => format!("Sandbox Archive: \"{subject}\" in context"),
    }
}

/// SearXNG's answer for `q`: a result per page.
pub fn results(base: &str, q: &str) -> Value {
    let results: Vec<Value> = (1..=RESULTS)
        .map(|n| {
            json!({
                "url": page_url(base, n, q),
                "title": title(n, q),
                "content": format!("A sandbox page about {q}. It exists so that analyses on a sandbox retrieve and cite something."),
                "engine": "sandbox",
            })
        })
        .collect();
    json!({"query": q, "number_of_results": results.len(), "results": results})
}

/// A page with boilerplate around its article, as real pages have.
#[handler]
pub fn page(Path(n): Path<usize>, Query(query): Query<SearchQuery>) -> Html<String> {
    let q = query.q.trim();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
<script>window.tracking = 'sandbox boilerplate';</script><style>nav{{display:flex}}</style></head><body>\
<nav><a href=\"/\">Home</a> <a href=\"/about\">About</a> <a href=\"/subscribe\">Subscribe</a></nav>\
<article><h1>{title}</h1><p>This sandbox page was written for the claim: {q}.</p>\
<p>According to the sandbox record, the matter of {q} was examined on page {n}, and the record is kept here so that \
an analysis has a source to retrieve, quote and cite. Nothing on this page is a real fact.</p></article>\
<footer>Sandbox footer: cookie settings, terms, privacy.</footer></body></html>",
        title = e(&title(n, q)),
        q = e(q),
    ))
}
