//! The model provider, web search and fact-check search: `AGENT_*`, `SEARCH_*`, `FACT_CHECK_*`.

use std::time::Duration;

use super::{
    ConfigError, DEFAULT_BRAVE_API_BASE, DEFAULT_FACT_CHECK_API_BASE, DEFAULT_TAVILY_API_BASE, Get, http_url, invalid,
    parse_number,
    settings::{Section, Setting},
    yes_or_no,
};

/// The agent: its model provider, what it may search and how it fetches pages.
#[derive(Clone, Debug)]
pub struct Agent {
    /// The OpenAI-compatible model provider; None answers Analysis with 503.
    pub provider: Option<AgentConfig>,
    /// The agent's web search (`SEARCH_PROVIDER`); None: no `web_search` tool.
    pub search: Option<SearchConfig>,
    /// Google Fact Check Tools (`FACT_CHECK_API_KEY`); None: no `fact_check_search` tool.
    pub fact_check: Option<FactCheckConfig>,
    /// `fetch_url` (src/fetch): private, loopback and link-local targets are fetched only
    /// when this is set (tests and self-hosted setups).
    pub fetch_allow_private_networks: bool,
    /// Bytes of a fetched body read at most; the rest is cut.
    pub fetch_max_bytes: usize,
    /// Longest one fetch may take, redirects and reading included.
    pub fetch_timeout: Duration,
}

impl Agent {
    pub(super) fn parse<'a>(get: &impl Get<'a>) -> Result<Self, ConfigError> {
        let provider = match get("AGENT_API_BASE") {
            None => None,
            Some(base) => Some(AgentConfig {
                api_base: http_url(base, "AGENT_API_BASE")?,
                api_key: get("AGENT_API_KEY").map(str::to_string),
                model: get("AGENT_MODEL")
                    .ok_or_else(|| invalid("AGENT_MODEL", "must be set with AGENT_API_BASE"))?
                    .to_string(),
                transcription_model: get("AGENT_TRANSCRIPTION_MODEL").map(str::to_string),
                timeout: Duration::from_millis(parse_number::<u64>(
                    get("AGENT_TIMEOUT_MS"),
                    "AGENT_TIMEOUT_MS",
                    120_000,
                )?),
                tools: agent_tools(get("AGENT_TOOLS"))?,
                max_steps: agent_max_steps(get("AGENT_MAX_STEPS"))?,
            }),
        };
        let search = search_config(get)?;
        let fact_check = fact_check_config(get)?;
        let fetch_allow_private_networks =
            yes_or_no(get("FETCH_ALLOW_PRIVATE_NETWORKS"), "FETCH_ALLOW_PRIVATE_NETWORKS", false)?;
        let fetch_max_bytes = parse_number::<usize>(get("FETCH_MAX_BYTES"), "FETCH_MAX_BYTES", 2 << 20)?;
        if !(1024..=64 << 20).contains(&fetch_max_bytes) {
            return Err(invalid("FETCH_MAX_BYTES", "must be between 1024 and 67108864"));
        }
        let fetch_secs = parse_number::<u64>(get("FETCH_TIMEOUT_SECS"), "FETCH_TIMEOUT_SECS", 15)?;
        if !(1..=120).contains(&fetch_secs) {
            return Err(invalid("FETCH_TIMEOUT_SECS", "must be between 1 and 120"));
        }
        Ok(Self {
            provider,
            search,
            fact_check,
            fetch_allow_private_networks,
            fetch_max_bytes,
            fetch_timeout: Duration::from_secs(fetch_secs),
        })
    }
}

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

fn agent_tools(value: Option<&str>) -> Result<ToolsMode, ConfigError> {
    match value.unwrap_or("auto") {
        "auto" => Ok(ToolsMode::Auto),
        "off" => Ok(ToolsMode::Off),
        other => Err(invalid("AGENT_TOOLS", format!("`{other}` is not `auto` or `off`"))),
    }
}

/// Default tool rounds: enough for a search, two fetches and a follow-up search.
pub const DEFAULT_AGENT_MAX_STEPS: u32 = 6;

fn agent_max_steps(value: Option<&str>) -> Result<u32, ConfigError> {
    let steps = parse_number::<u32>(value, "AGENT_MAX_STEPS", DEFAULT_AGENT_MAX_STEPS)?;
    if !(1..=20).contains(&steps) {
        return Err(invalid("AGENT_MAX_STEPS", "must be between 1 and 20"));
    }
    Ok(steps)
}

/// `SEARCH_PROVIDER` with `SEARCH_API_BASE` and `SEARCH_API_KEY`: SearXNG needs its
/// instance's address, Brave and Tavily a key (their public API is the default base).
fn search_config<'a>(get: &impl Get<'a>) -> Result<Option<SearchConfig>, ConfigError> {
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
fn fact_check_config<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<Option<FactCheckConfig>, ConfigError> {
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

/// The settings of `docs/configuration.md`'s section "The agent: model, search and fetching".
pub const SECTION: Section = Section {
    title: "The agent: model, search and fetching",
    settings: &[
        Setting {
            variable: "AGENT_API_BASE",
            default: "unset (Analysis answers 503)",
            meaning: "OpenAI-compatible API base, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1` (Ollama)",
        },
        Setting {
            variable: "AGENT_API_KEY",
            default: "unset",
            meaning: "bearer key for that API (leave unset for a local server)",
        },
        Setting {
            variable: "AGENT_MODEL",
            default: "unset (required with `AGENT_API_BASE`)",
            meaning: "chat model name, e.g. `gpt-4o-mini` or `llama3.2-vision`",
        },
        Setting {
            variable: "AGENT_TRANSCRIPTION_MODEL",
            default: "unset (audio and video not accepted)",
            meaning: "model for the provider's `/audio/transcriptions`, e.g. `whisper-1`",
        },
        Setting {
            variable: "AGENT_TOOLS",
            default: "`auto`",
            meaning: "`auto` offers the model tools and falls back to one call with server-gathered evidence once the provider refuses them; `off` always makes that one call ([agent.md](agent.md))",
        },
        Setting {
            variable: "AGENT_MAX_STEPS",
            default: "`6`",
            meaning: "tool rounds per analysis before the verdict is asked for (1–20)",
        },
        Setting {
            variable: "AGENT_TIMEOUT_MS",
            default: "`120000`",
            meaning: "how long one provider call may take (calls are retried twice on 429, 5xx and timeouts)",
        },
        Setting {
            variable: "SEARCH_PROVIDER",
            default: "unset (no `web_search` for the agent); required when `SEARCH_API_BASE` or `SEARCH_API_KEY` is set",
            meaning: "`searxng`, `brave` or `tavily`: where the agent's `web_search` looks (at most 8 results, http(s) only, snippets cut to 400 characters); each call bounded by `OUTBOUND_TIMEOUT_MS`",
        },
        Setting {
            variable: "SEARCH_API_BASE",
            default: "Brave `https://api.search.brave.com`, Tavily `https://api.tavily.com`; required for `searxng`",
            meaning: "the SearXNG instance's root (its JSON format must be enabled), or another base for Brave/Tavily; an http(s) URL without query",
        },
        Setting {
            variable: "SEARCH_API_KEY",
            default: "unset (required for `brave` and `tavily`)",
            meaning: "Brave `X-Subscription-Token`, Tavily bearer key; with `searxng`, sent as `Authorization: Bearer` for an instance behind a token-checking proxy",
        },
        Setting {
            variable: "FACT_CHECK_API_KEY",
            default: "unset (no `fact_check_search` for the agent)",
            meaning: "Google API key for the Fact Check Tools API (`claims:search`)",
        },
        Setting {
            variable: "FACT_CHECK_API_BASE",
            default: "`https://factchecktools.googleapis.com`",
            meaning: "Fact Check Tools API base (tests point it at a fake); needs `FACT_CHECK_API_KEY`",
        },
        Setting {
            variable: "FETCH_ALLOW_PRIVATE_NETWORKS",
            default: "`false`",
            meaning: "`true` lets the agent's `fetch_url` reach private, loopback, link-local, unique-local and CGNAT addresses (tests, self-hosted setups); the unspecified address, multicast, broadcast and cloud metadata addresses stay refused ([security.md](security.md))",
        },
        Setting {
            variable: "FETCH_MAX_BYTES",
            default: "`2097152`",
            meaning: "body bytes one `fetch_url` reads at most, and text it returns at most (1024–67108864); longer pages are cut and marked `truncated`",
        },
        Setting {
            variable: "FETCH_TIMEOUT_SECS",
            default: "`15`",
            meaning: "longest one `fetch_url` may take, redirects, body and text extraction included (1–120)",
        },
    ],
};
