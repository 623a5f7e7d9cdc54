//! The model provider, web search and fact-check search: `AGENT_*`, `SEARCH_*`, `FACT_CHECK_*`.

use std::time::Duration;

use super::{
    ConfigError, DEFAULT_BRAVE_API_BASE, DEFAULT_FACT_CHECK_API_BASE, DEFAULT_TAVILY_API_BASE, http_url, invalid,
    parse_number,
};

#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// Without a trailing slash, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub api_base: String,
    pub api_key: Option<String>,
    pub model: String,
    /// Audio and video are accepted only when this is set.
    pub transcription_model: Option<String>,
    /// How long one provider call may take.
    pub timeout: Duration,
    /// Whether the model is offered tools (AGENT_TOOLS).
    pub tools: ToolsMode,
    /// Tool rounds before the verdict is asked for (AGENT_MAX_STEPS).
    pub max_steps: u32,
}

/// `AGENT_TOOLS`: `auto` offers tools and falls back to one call with the evidence gathered
/// first once the provider refuses them; `off` always makes that one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToolsMode {
    Auto,
    Off,
}

/// Where `web_search` looks (see `clients::search`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchProvider {
    Searxng,
    Brave,
    Tavily,
}

impl SearchProvider {
    pub fn name(self) -> &'static str {
        match self {
            Self::Searxng => "searxng",
            Self::Brave => "brave",
            Self::Tavily => "tavily",
        }
    }
}

#[derive(Clone)]
pub struct SearchConfig {
    pub provider: SearchProvider,
    /// Without a trailing slash: the SearXNG instance's root, or the provider's API root.
    pub api_base: String,
    /// Required for Brave and Tavily; for SearXNG, sent as a bearer token when set.
    pub api_key: Option<String>,
}

impl std::fmt::Debug for SearchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchConfig")
            .field("provider", &self.provider)
            .field("api_base", &self.api_base)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Clone)]
pub struct FactCheckConfig {
    /// Without a trailing slash, e.g. `https://factchecktools.googleapis.com`.
    pub api_base: String,
    pub api_key: String,
}

impl std::fmt::Debug for FactCheckConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FactCheckConfig").field("api_base", &self.api_base).field("api_key", &"<redacted>").finish()
    }
}

pub(super) fn agent_tools(value: Option<&str>) -> Result<ToolsMode, ConfigError> {
    match value.unwrap_or("auto") {
        "auto" => Ok(ToolsMode::Auto),
        "off" => Ok(ToolsMode::Off),
        other => Err(invalid("AGENT_TOOLS", format!("`{other}` is not `auto` or `off`"))),
    }
}

/// Default tool rounds: enough for a search, two fetches and a follow-up search.
pub const DEFAULT_AGENT_MAX_STEPS: u32 = 6;

pub(super) fn agent_max_steps(value: Option<&str>) -> Result<u32, ConfigError> {
    let steps = parse_number::<u32>(value, "AGENT_MAX_STEPS", DEFAULT_AGENT_MAX_STEPS)?;
    if !(1..=20).contains(&steps) {
        return Err(invalid("AGENT_MAX_STEPS", "must be between 1 and 20"));
    }
    Ok(steps)
}

/// `SEARCH_PROVIDER` with `SEARCH_API_BASE` and `SEARCH_API_KEY`: SearXNG needs its
/// instance's address, Brave and Tavily a key (their public API is the default base).
pub(super) fn search_config<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Option<SearchConfig>, ConfigError> {
    let api_key = get("SEARCH_API_KEY").map(str::to_string);
    let base = get("SEARCH_API_BASE").map(|v| http_url(v, "SEARCH_API_BASE")).transpose()?;
    let provider = match get("SEARCH_PROVIDER").map(str::to_ascii_lowercase).as_deref() {
        None if base.is_some() || api_key.is_some() => {
            return Err(invalid(
                "SEARCH_PROVIDER",
                "must be set (searxng, brave or tavily) with SEARCH_API_BASE or SEARCH_API_KEY",
            ));
        }
        None => return Ok(None),
        Some("searxng") => SearchProvider::Searxng,
        Some("brave") => SearchProvider::Brave,
        Some("tavily") => SearchProvider::Tavily,
        Some(other) => {
            return Err(invalid("SEARCH_PROVIDER", format!("`{other}` is not searxng, brave or tavily")));
        }
    };
    let api_base = match (provider, base) {
        (_, Some(base)) => base,
        (SearchProvider::Searxng, None) => {
            return Err(invalid(
                "SEARCH_API_BASE",
                "must be set to the SearXNG instance's URL with SEARCH_PROVIDER=searxng",
            ));
        }
        (SearchProvider::Brave, None) => DEFAULT_BRAVE_API_BASE.to_string(),
        (SearchProvider::Tavily, None) => DEFAULT_TAVILY_API_BASE.to_string(),
    };
    if provider != SearchProvider::Searxng && api_key.is_none() {
        return Err(invalid("SEARCH_API_KEY", format!("must be set with SEARCH_PROVIDER={}", provider.name())));
    }
    Ok(Some(SearchConfig { provider, api_base, api_key }))
}

/// `FACT_CHECK_API_KEY` (a Google API key) turns fact-check search on; `FACT_CHECK_API_BASE`
/// points it elsewhere (tests).
pub(super) fn fact_check_config<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<FactCheckConfig>, ConfigError> {
    let base = get("FACT_CHECK_API_BASE").map(|v| http_url(v, "FACT_CHECK_API_BASE")).transpose()?;
    match get("FACT_CHECK_API_KEY") {
        None if base.is_some() => Err(invalid("FACT_CHECK_API_KEY", "must be set with FACT_CHECK_API_BASE")),
        None => Ok(None),
        Some(key) => Ok(Some(FactCheckConfig {
            api_base: base.unwrap_or_else(|| DEFAULT_FACT_CHECK_API_BASE.to_string()),
            api_key: key.to_string(),
        })),
    }
}
