//! The agent's evidence tools against fakes on 127.0.0.1 that speak each provider's wire
//! format: what each provider receives (path, parameters, credentials, body), what comes
//! back from realistic answers, and every way a call can fail.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use clara_backend::{
    clients::{
        fact_check::FactCheck,
        search::{self, EvidenceTools, MAX_RESULTS, SearchClient, SearchError, SearchResult},
    },
    config::{Config, SearchConfig, SearchProvider},
};

use crate::support::{
    Fault,
    search::{
        Answer, BRAVE_KEY, FakeSearch, GOOGLE_KEY, SEARXNG_TOKEN, TAVILY_KEY, brave_error, google_error, tavily_error,
    },
};

const PROVIDERS: [SearchProvider; 3] = [SearchProvider::Searxng, SearchProvider::Brave, SearchProvider::Tavily];

/// The client the tools are meant to use; loopback only: no proxy from the environment.
fn http() -> reqwest::Client {
    search::http_client_builder().no_proxy().build().unwrap()
}

/// The tools as the server would build them from these variables.
fn tools(vars: &[(&str, &str)]) -> EvidenceTools {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let config = Config::from_map(&vars).expect("configuration");
    EvidenceTools::from_config(&config, http())
}

fn key_for(provider: SearchProvider) -> Option<&'static str> {
    match provider {
        SearchProvider::Searxng => None,
        SearchProvider::Brave => Some(BRAVE_KEY),
        SearchProvider::Tavily => Some(TAVILY_KEY),
    }
}

fn client_with(fake: &FakeSearch, provider: SearchProvider, key: Option<&str>, timeout: Duration) -> SearchClient {
    let config = SearchConfig { provider, api_base: fake.url.clone(), api_key: key.map(str::to_string) };
    SearchClient::new(http(), &config, timeout)
}

fn client(fake: &FakeSearch, provider: SearchProvider) -> SearchClient {
    client_with(fake, provider, key_for(provider), Duration::from_secs(5))
}

fn fact_checks(fake: &FakeSearch, key: &str) -> EvidenceTools {
    tools(&[("FACT_CHECK_API_KEY", key), ("FACT_CHECK_API_BASE", &fake.url)])
}

#[track_caller]
fn assert_web_urls(results: &[SearchResult]) {
    assert!(results.len() <= MAX_RESULTS);
    for result in results {
        assert!(result.url.starts_with("https://") || result.url.starts_with("http://"), "{result:?}");
    }
    let mut urls: Vec<_> = results.iter().map(|r| r.url.trim_end_matches('/')).collect();
    urls.sort();
    urls.dedup();
    assert_eq!(urls.len(), results.len(), "no duplicates: {results:?}");
}

#[tokio::test]
async fn searxng_is_asked_for_json_and_its_results_come_back_clean() {
    let fake = crate::support::search::start().await;
    let tools = tools(&[("SEARCH_PROVIDER", "searxng"), ("SEARCH_API_BASE", &format!("{}/", fake.url))]);
    let results = tools.web_search("  When was the\n Eiffel Tower built? ").await.unwrap();

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/search"));
    assert_eq!(request.param("q"), Some("When was the Eiffel Tower built?"));
    assert_eq!(request.param("format"), Some("json"));
    assert_eq!(request.header("authorization"), None, "no key, no header");
    assert_eq!(request.header("accept"), Some("application/json"));

    assert_web_urls(&results);
    assert_eq!(
        results,
        vec![
            SearchResult {
                url: "https://en.wikipedia.org/wiki/Eiffel_Tower".into(),
                title: "Eiffel Tower - Wikipedia".into(),
                snippet: "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It was completed in 1889.".into(),
            },
            SearchResult {
                url: "https://www.toureiffel.paris/en/the-monument/history".into(),
                title: "History of the Eiffel Tower".into(),
                snippet: "Built for the 1889 World's Fair & inaugurated on 31 March 1889.".into(),
            },
        ],
        "javascript:, ftp: and the same page with a fragment are dropped"
    );
}

#[tokio::test]
async fn searxng_behind_a_token_gets_it_as_a_bearer() {
    let fake = crate::support::search::start().await;
    fake.require_searxng_token();
    let without = client_with(&fake, SearchProvider::Searxng, None, Duration::from_secs(5)).search("eiffel").await;
    assert_eq!(without, Err(SearchError::Status { status: 401, detail: "Unauthorized".into() }));

    let tools =
        tools(&[("SEARCH_PROVIDER", "searxng"), ("SEARCH_API_BASE", &fake.url), ("SEARCH_API_KEY", SEARXNG_TOKEN)]);
    assert_eq!(tools.web_search("eiffel").await.unwrap().len(), 2);
    assert_eq!(fake.requests()[1].header("authorization"), Some(format!("Bearer {SEARXNG_TOKEN}").as_str()));
}

#[tokio::test]
async fn searxng_without_the_json_format_says_so() {
    let fake = crate::support::search::start().await;
    fake.set(Fault::Fail { status: 403, body: "<html><body>403 Forbidden</body></html>".into() });
    let err = client(&fake, SearchProvider::Searxng).search("eiffel").await.unwrap_err();
    let SearchError::Status { status: 403, detail } = &err else { panic!("{err:?}") };
    assert!(detail.contains("JSON format"), "{detail}");
    assert!(!detail.contains('<'), "no markup: {detail}");
}

#[tokio::test]
async fn brave_gets_its_subscription_token_and_answers_web_results() {
    let fake = crate::support::search::start().await;
    let tools = tools(&[("SEARCH_PROVIDER", "brave"), ("SEARCH_API_KEY", BRAVE_KEY), ("SEARCH_API_BASE", &fake.url)]);
    let results = tools.web_search("eiffel tower 1889").await.unwrap();

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/res/v1/web/search"));
    assert_eq!(request.param("q"), Some("eiffel tower 1889"));
    assert_eq!(request.param("count"), Some(MAX_RESULTS.to_string().as_str()));
    assert_eq!(request.header("x-subscription-token"), Some(BRAVE_KEY));
    assert_eq!(request.header("accept"), Some("application/json"));
    assert_eq!(request.header("authorization"), None);

    assert_web_urls(&results);
    assert_eq!(
        results,
        vec![
            SearchResult {
                url: "https://en.wikipedia.org/wiki/Eiffel_Tower".into(),
                title: "Eiffel Tower - Wikipedia".into(),
                snippet: "The Eiffel Tower is a wrought-iron lattice tower in Paris, completed in 1889.".into(),
            },
            SearchResult {
                url: "https://www.britannica.com/topic/Eiffel-Tower-Paris-France".into(),
                title: "Eiffel Tower | History, Height, & Facts | Britannica".into(),
                snippet: "Eiffel Tower, Parisian landmark that is also a technological masterpiece in building-construction history.".into(),
            },
        ],
        "the data: URL is dropped, <strong> marks are stripped"
    );
}

#[tokio::test]
async fn tavily_gets_a_bearer_key_and_a_json_body() {
    let fake = crate::support::search::start().await;
    let tools = tools(&[("SEARCH_PROVIDER", "tavily"), ("SEARCH_API_KEY", TAVILY_KEY), ("SEARCH_API_BASE", &fake.url)]);
    let results = tools.web_search("eiffel tower construction").await.unwrap();

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/search"));
    assert_eq!(request.header("authorization"), Some(format!("Bearer {TAVILY_KEY}").as_str()));
    assert!(request.header("content-type").unwrap_or_default().starts_with("application/json"));
    let body = request.json().expect("a JSON body");
    assert_eq!(body["query"], "eiffel tower construction");
    assert_eq!(body["max_results"], MAX_RESULTS);
    assert_eq!(body["search_depth"], "basic");
    assert_eq!(body["include_answer"], false);
    assert_eq!(body["include_raw_content"], false);
    assert!(body.get("api_key").is_none(), "the key travels in the header only: {body}");

    assert_web_urls(&results);
    assert_eq!(results.len(), 2, "mailto: is dropped: {results:?}");
    assert_eq!(results[0].url, "https://en.wikipedia.org/wiki/Eiffel_Tower");
    assert_eq!(results[1].title, "The Eiffel Tower: facts");
    assert_eq!(results[1].snippet, "Some facts about the tower, inaugurated in 1889.");
}

#[tokio::test]
async fn a_wrong_key_is_the_providers_refusal() {
    let fake = crate::support::search::start().await;
    let brave = client_with(&fake, SearchProvider::Brave, Some("BSA-wrong"), Duration::from_secs(5));
    assert_eq!(
        brave.search("eiffel").await,
        Err(SearchError::Status { status: 422, detail: "The provided subscription token is invalid.".into() })
    );
    let tavily = client_with(&fake, SearchProvider::Tavily, Some("tvly-wrong"), Duration::from_secs(5));
    let err = tavily.search("eiffel").await.unwrap_err();
    assert_eq!(err, SearchError::Status { status: 401, detail: "Unauthorized: missing or invalid API key.".into() });
    assert_eq!(err.to_string(), "the search service answered HTTP 401: Unauthorized: missing or invalid API key.");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn rate_limits_and_outages_are_status_errors() {
    let fake = crate::support::search::start().await;
    for provider in PROVIDERS {
        let limited = match provider {
            SearchProvider::Brave => brave_error(429, "RATE_LIMITED", "Request rate limit exceeded for plan."),
            SearchProvider::Tavily => {
                tavily_error("Your request has been blocked due to excessive requests. Please reduce rate of requests.")
            }
            SearchProvider::Searxng => "Too Many Requests".into(),
        };
        fake.set(Fault::Fail { status: 429, body: limited });
        let err = client(&fake, provider).search("eiffel").await.unwrap_err();
        let SearchError::Status { status: 429, detail } = &err else { panic!("{provider:?}: {err:?}") };
        assert!(!detail.is_empty() && detail.len() <= 200, "{provider:?}: {detail}");
        assert!(err.is_transient());

        fake.set(Fault::Fail { status: 500, body: "<html><h1>Internal Server Error</h1></html>".into() });
        let err = client(&fake, provider).search("eiffel").await.unwrap_err();
        assert_eq!(err, SearchError::Status { status: 500, detail: "Internal Server Error".into() }, "{provider:?}");
    }
    let brave = fake.requests().into_iter().find(|r| r.path == "/res/v1/web/search").unwrap();
    assert_eq!(brave.header("x-subscription-token"), Some(BRAVE_KEY));
}

#[tokio::test]
async fn answers_that_are_not_the_providers_json_are_malformed() {
    let fake = crate::support::search::start().await;
    for provider in PROVIDERS {
        for body in
            ["<html>hello</html>", "[]", "\"results\"", r#"{"results": "none", "web": 7}"#, "{\"results\": [tru"]
        {
            fake.answer(Answer::Raw(body.into()));
            let err = client(&fake, provider).search("eiffel").await.unwrap_err();
            assert!(matches!(err, SearchError::Malformed(_)), "{provider:?} {body}: {err:?}");
            assert!(err.to_string().starts_with("the search service's answer was not understood"));
        }
    }
    fake.answer(Answer::Raw("{\"claims\": {}}".into()));
    let err = fact_checks(&fake, GOOGLE_KEY).fact_check_search("eiffel", None).await.unwrap_err();
    assert!(matches!(err, SearchError::Malformed(_)), "{err:?}");
}

#[tokio::test]
async fn a_slow_provider_times_out() {
    let fake = crate::support::search::start().await;
    fake.set(Fault::Stall(Duration::from_secs(5)));
    for provider in PROVIDERS {
        let started = Instant::now();
        let err = client_with(&fake, provider, key_for(provider), Duration::from_millis(300)).search("eiffel").await;
        assert_eq!(err, Err(SearchError::Timeout), "{provider:?}");
        assert!(started.elapsed() < Duration::from_secs(3), "{provider:?} took {:?}", started.elapsed());
    }
    let tools = tools(&[
        ("FACT_CHECK_API_KEY", GOOGLE_KEY),
        ("FACT_CHECK_API_BASE", &fake.url),
        ("OUTBOUND_TIMEOUT_MS", "300"),
    ]);
    assert_eq!(tools.fact_check_search("eiffel", None).await, Err(SearchError::Timeout));
    assert_eq!(SearchError::Timeout.to_string(), "the search service did not answer in time");
}

#[tokio::test]
async fn nothing_found_is_an_empty_list() {
    let fake = crate::support::search::start().await;
    fake.answer(Answer::Empty);
    for provider in PROVIDERS {
        assert_eq!(client(&fake, provider).search("qwxzv plonk").await, Ok(vec![]), "{provider:?}");
    }
    assert_eq!(fact_checks(&fake, GOOGLE_KEY).fact_check_search("qwxzv plonk", None).await, Ok(vec![]));
}

#[tokio::test]
async fn fact_checks_come_from_claim_reviews() {
    let fake = crate::support::search::start().await;
    let tools = fact_checks(&fake, GOOGLE_KEY);
    let checks = tools.fact_check_search(" Eiffel Tower built 1999 ", Some("en")).await.unwrap();

    let request = fake.only_request();
    assert_eq!((request.method.as_str(), request.path.as_str()), ("GET", "/v1alpha1/claims:search"));
    assert_eq!(request.param("query"), Some("Eiffel Tower built 1999"));
    assert_eq!(request.param("key"), Some(GOOGLE_KEY));
    assert_eq!(request.param("languageCode"), Some("en"));
    assert_eq!(request.param("pageSize"), Some("8"));

    assert_eq!(
        checks,
        vec![
            FactCheck {
                claim: "The Eiffel Tower was built in 1999.".into(),
                claimant: Some("Viral post".into()),
                rating: Some("False".into()),
                publisher: Some("Full Fact".into()),
                url: "https://fullfact.org/online/eiffel-tower-1999/".into(),
                title: Some("The Eiffel Tower was not built in 1999".into()),
                review_date: Some("2024-05-03T00:00:00Z".into()),
                language: Some("en".into()),
            },
            FactCheck {
                claim: "La tour Eiffel a été construite pour l'Exposition universelle de 1889.".into(),
                claimant: None,
                rating: Some("Vrai".into()),
                publisher: Some("AFP Factuel".into()),
                url: "https://factuel.afp.com/tour-eiffel-1889".into(),
                title: Some("Oui, la tour Eiffel date de 1889".into()),
                review_date: Some("2023-03-31T00:00:00Z".into()),
                language: Some("fr".into()),
            },
        ],
        "the ftp: review is dropped"
    );

    // No language: no languageCode; a language that is not a tag is not sent either.
    tools.fact_check_search("eiffel", None).await.unwrap();
    tools.fact_check_search("eiffel", Some("en&key=other")).await.unwrap();
    for request in &fake.requests()[1..] {
        assert_eq!(request.param("languageCode"), None);
        assert_eq!(request.param("key"), Some(GOOGLE_KEY));
    }
}

#[tokio::test]
async fn a_wrong_fact_check_key_is_refused_without_repeating_it() {
    let fake = crate::support::search::start().await;
    let err = fact_checks(&fake, "AIza-wrong-key").fact_check_search("eiffel", None).await.unwrap_err();
    assert_eq!(
        err,
        SearchError::Status { status: 400, detail: "API key not valid. Please pass a valid API key.".into() }
    );

    fake.set(Fault::Fail {
        status: 403,
        body: google_error(
            403,
            &format!("Fact Check Tools API has not been used with key {GOOGLE_KEY}"),
            "PERMISSION_DENIED",
        ),
    });
    let err = fact_checks(&fake, GOOGLE_KEY).fact_check_search("eiffel", None).await.unwrap_err();
    let SearchError::Status { status: 403, detail } = &err else { panic!("{err:?}") };
    assert!(!detail.contains(GOOGLE_KEY) && detail.contains("[redacted]"), "{detail}");
}

#[tokio::test]
async fn an_unreachable_service_is_a_transport_error_without_the_key() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let tools = tools(&[
        ("SEARCH_PROVIDER", "brave"),
        ("SEARCH_API_KEY", BRAVE_KEY),
        ("SEARCH_API_BASE", &base),
        ("FACT_CHECK_API_KEY", GOOGLE_KEY),
        ("FACT_CHECK_API_BASE", &base),
    ]);
    for err in
        [tools.web_search("eiffel").await.unwrap_err(), tools.fact_check_search("eiffel", None).await.unwrap_err()]
    {
        assert!(matches!(err, SearchError::Transport(_)), "{err:?}");
        assert!(err.is_transient());
        let text = err.to_string();
        assert!(text.starts_with("the search service could not be reached"), "{text}");
        assert!(!text.contains(GOOGLE_KEY) && !text.contains(BRAVE_KEY), "{text}");
    }
}

#[tokio::test]
async fn unconfigured_tools_and_empty_queries_send_nothing() {
    let none = tools(&[]);
    assert!(none.web.is_none() && none.fact_check.is_none());
    assert_eq!(none.web_search("eiffel").await, Err(SearchError::NotConfigured));
    assert_eq!(none.fact_check_search("eiffel", None).await, Err(SearchError::NotConfigured));
    assert_eq!(SearchError::NotConfigured.to_string(), "this search is not available on this server");

    let fake = crate::support::search::start().await;
    for provider in PROVIDERS {
        assert_eq!(client(&fake, provider).search(" \n\t ").await, Err(SearchError::EmptyQuery));
    }
    assert_eq!(fact_checks(&fake, GOOGLE_KEY).fact_check_search("", None).await, Err(SearchError::EmptyQuery));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn many_results_are_cut_to_the_limit() {
    let fake = crate::support::search::start().await;
    let results: Vec<_> = (0..30)
        .map(|i| serde_json::json!({"url": format!("https://example.org/{i}"), "title": format!("Page {i}"), "content": "x".repeat(5000)}))
        .collect();
    fake.answer(Answer::Raw(serde_json::json!({"query": "q", "results": results}).to_string()));
    let found = client(&fake, SearchProvider::Searxng).search("q").await.unwrap();
    assert_eq!(found.len(), MAX_RESULTS);
    assert_eq!(found[0].title, "Page 0");
    assert!(found.iter().all(|r| r.snippet.chars().count() <= 400 && r.snippet.ends_with('…')));
}

#[tokio::test]
async fn redirects_are_not_followed_so_keys_stay_put() {
    let fake = crate::support::search::start().await;
    fake.answer(Answer::Redirect);
    for provider in PROVIDERS {
        let err = client(&fake, provider).search("eiffel").await.unwrap_err();
        assert_eq!(err, SearchError::Status { status: 302, detail: "Found".into() }, "{provider:?}");
    }
    assert!(fake.requests().iter().all(|r| r.path != "/elsewhere"), "{:?}", fake.requests());
}
