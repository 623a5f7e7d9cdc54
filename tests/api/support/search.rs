//! Search for the tests: the search double served on 127.0.0.1 (SearXNG, Brave, Tavily and
//! Google Fact Check Tools, with their test credentials).

use doubles::{Served, search::Search};

pub use doubles::search::{
    Answer, BRAVE_KEY, GOOGLE_KEY, SEARXNG_TOKEN, TAVILY_KEY, brave_error, google_error, tavily_error,
};

pub type FakeSearch = Served<Search>;

pub async fn start() -> FakeSearch {
    doubles::serve(Search::default()).await
}
