//! The server's retrieval, behind the loop's [`Retriever`]: pages through the guarded
//! fetcher, web search through the configured provider, fact-checks through Google Fact
//! Check Tools.

use super::tools::{Hit, Page, Retriever, Review};

/// Retrieval as configured on this server.
pub struct ServerRetriever {}

impl ServerRetriever {
    pub fn new(_state: &crate::state::AppState, _extractor: std::sync::Arc<crate::isolate::Extractor>) -> Self {
        Self {}
    }
}

#[async_trait::async_trait]
impl Retriever for ServerRetriever {
    async fn fetch(&self, _url: &str) -> Result<Page, String> {
        Err("retrieval is not available yet".into())
    }

    async fn search(&self, _query: &str) -> Option<Result<Vec<Hit>, String>> {
        None
    }

    async fn fact_check(&self, _query: &str) -> Option<Result<Vec<Review>, String>> {
        None
    }

    fn has_search(&self) -> bool {
        false
    }

    fn has_fact_check(&self) -> bool {
        false
    }
}
