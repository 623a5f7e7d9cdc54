//! The server's retrieval, behind the loop's [`Retriever`]: pages through the guarded
//! fetcher, web search through the configured provider, fact-checks through Google Fact
//! Check Tools.

use std::sync::Arc;

use super::tools::{Hit, Page, Retriever, Review};
use crate::{
    clients::search::EvidenceTools,
    fetch::{FetchConfig, Fetcher},
    isolate::Extractor,
    state::AppState,
};

/// Retrieval as configured on this server.
pub struct ServerRetriever {
    fetcher: Fetcher,
    search: EvidenceTools,
}

impl ServerRetriever {
    pub fn new(state: &AppState, extractor: Arc<Extractor>) -> Self {
        let http = crate::clients::search::http_client_builder().build().unwrap_or_default();
        Self {
            fetcher: Fetcher::new(FetchConfig::from_config(&state.config), extractor),
            search: EvidenceTools::from_config(&state.config, http),
        }
    }
}

#[async_trait::async_trait]
impl Retriever for ServerRetriever {
    async fn fetch(&self, url: &str) -> Result<Page, String> {
        let page = self.fetcher.fetch(url).await.map_err(|err| err.reason())?;
        let title = page.title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| page.url.clone());
        Ok(Page { url: page.url, title, text: page.text, truncated: page.truncated })
    }

    async fn search(&self, query: &str) -> Option<Result<Vec<Hit>, String>> {
        self.search.web.as_ref()?;
        Some(
            self.search
                .web_search(query)
                .await
                .map(|results| {
                    results.into_iter().map(|r| Hit { url: r.url, title: r.title, snippet: r.snippet }).collect()
                })
                .map_err(|e| e.to_string()),
        )
    }

    async fn fact_check(&self, query: &str) -> Option<Result<Vec<Review>, String>> {
        self.search.fact_check.as_ref()?;
        Some(
            self.search
                .fact_check_search(query, None)
                .await
                .map(|checks| {
                    checks
                        .into_iter()
                        .map(|c| Review {
                            title: c.title.unwrap_or_else(|| c.claim.clone()),
                            publisher: c.publisher.unwrap_or_else(|| "A fact-checker".into()),
                            rating: c.rating.unwrap_or_else(|| "no rating given".into()),
                            claim: c.claim,
                            url: c.url,
                        })
                        .collect()
                })
                .map_err(|e| e.to_string()),
        )
    }

    fn has_search(&self) -> bool {
        self.search.web.is_some()
    }

    fn has_fact_check(&self) -> bool {
        self.search.fact_check.is_some()
    }
}
