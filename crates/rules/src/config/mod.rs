//! Every environment variable the server reads, parsed once at start-up.
//!
//! A bad value stops start-up with one line naming the variable; nothing here panics.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use crate::domain::{CreditBands, DEFAULT_CREDIT_RATES};

mod agent;
pub mod sandbox;
mod webauthn;

pub use agent::{AgentConfig, DEFAULT_AGENT_MAX_STEPS, FactCheckConfig, SearchConfig, SearchProvider, ToolsMode};
use agent::{agent_max_steps, agent_tools, fact_check_config, search_config};
pub use webauthn::WebauthnConfig;

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

/// The error naming `variable`.
pub(crate) fn invalid(variable: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError { variable, reason: reason.into() }
}

pub const DEFAULT_GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";
pub const DEFAULT_APPLE_JWKS_URL: &str = "https://appleid.apple.com/auth/keys";
pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com";
pub const DEFAULT_BRAVE_API_BASE: &str = "https://api.search.brave.com";
pub const DEFAULT_TAVILY_API_BASE: &str = "https://api.tavily.com";
pub const DEFAULT_FACT_CHECK_API_BASE: &str = "https://factchecktools.googleapis.com";

#[derive(Clone, Debug)]
pub struct Config {
    pub host: IpAddr,
    pub port: u16,
    pub database_url: String,
    /// None: generated once and kept in the database (allowed only for a local SQLite
    /// server; see [`Config::from_map`]).
    pub jwt_secret: Option<String>,
    pub public_api_keys: Vec<String>,
    pub admin_api_key: Option<String>,
    pub bcrypt_cost: u32,
    pub session_ttl: Duration,
    pub otp_ttl: Duration,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// The service's name in every e-mail (`APP_NAME`).
    pub app_name: String,
    /// `APP_URL`, linked from every e-mail; None: see [`Config::app_url`].
    pub app_url: Option<String>,
    /// The address every e-mail gives for questions (`SUPPORT_EMAIL`; default: `MAIL_FROM`'s).
    pub support_email: String,
    /// Operator templates overriding the built-in ones, file by file (docs/email.md).
    pub email_templates_dir: Option<std::path::PathBuf>,
    pub google_client_id: Option<String>,
    pub google_jwks_url: String,
    /// Sign in with Apple audiences (`APPLE_CLIENT_IDS`: bundle ids and service ids);
    /// empty: Apple sign-in answers 503.
    pub apple_client_ids: Vec<String>,
    pub apple_jwks_url: String,
    /// `APPLE_REQUIRE_NONCE` (default true): every Apple identity token must carry the
    /// SHA-256 hex of a nonce this server issued (`POST /auth/apple/nonce`), each used once.
    pub apple_require_nonce: bool,
    /// Passkeys (WebAuthn); None without `WEBAUTHN_RP_ID`, and the passkey routes answer 503.
    pub webauthn: Option<WebauthnConfig>,
    pub log_format: LogFormat,
    /// Largest JSON request body, in bytes.
    pub json_body_limit: usize,
    /// How long an outgoing SMTP or HTTP call may take before it counts as failed.
    pub outbound_timeout: Duration,
    pub stripe_secret_key: Option<String>,
    pub stripe_webhook_secret: Option<String>,
    /// Without a trailing slash.
    pub stripe_api_base: String,
    /// The web app Stripe sends buyers back to, without a trailing slash.
    pub client_url: Option<String>,
    pub credit_bands: CreditBands,
    /// The OpenAI-compatible model provider; None answers Analysis with 503.
    pub agent: Option<AgentConfig>,
    /// The agent's web search (`SEARCH_PROVIDER`); None: no `web_search` tool.
    pub search: Option<SearchConfig>,
    /// Google Fact Check Tools (`FACT_CHECK_API_KEY`); None: no `fact_check_search` tool.
    pub fact_check: Option<FactCheckConfig>,
    /// Hundredths of a credit debited per analysis.
    pub analysis_cost: i64,
    pub max_attachments: usize,
    pub max_attachment_bytes: u64,
    /// Where uploaded files are kept until their task is done.
    pub attachments_dir: std::path::PathBuf,
    /// Analyses run at once by this process.
    pub worker_concurrency: usize,
    /// One user's tasks run at once at most, over all processes.
    pub tasks_per_user_running: u64,
    /// Requests per second per credential (per address when anonymous).
    pub rate_limit_per_second: std::num::NonZeroU32,
    /// Sign-ups one client address may make in an hour.
    pub signups_per_address_hour: u32,
    /// Shared limiter state; None keeps it in this process's memory.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key this server writes.
    pub redis_prefix: String,
    /// How long an authenticated caller is remembered (0 turns the cache off).
    pub auth_cache_ttl: Duration,
    /// Users remembered at most by the authentication cache.
    pub auth_cache_capacity: usize,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Browser origins allowed to call the API (CORS); `*` for any; empty for none.
    pub cors_allowed_origins: Vec<String>,
    /// Longest a request may take (uploads and MCP get ten times as long).
    pub request_timeout: Duration,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// How long shutdown waits for in-flight requests and running analyses.
    pub shutdown_grace: Duration,
    /// The program run as `<program> __extract <kind>` to parse untrusted files in a
    /// child process; None: this binary.
    pub extractor_program: Option<std::path::PathBuf>,
    /// Address space a parsing child may map, in MiB.
    pub extract_max_memory_mb: u64,
    /// Wall and CPU time a parsing child may take.
    pub extract_timeout: Duration,
    /// Text a parsing child may return, in bytes (longer text is cut by the child).
    pub extract_max_output_bytes: usize,
    /// Parsing children run at once by this process.
    pub extract_concurrency: usize,
    /// How often orphaned upload directories are looked for.
    pub attachments_sweep_interval: Duration,
    /// Longest a client may take to send a request head, from the first moment the
    /// connection waits for one (slow-loris defence).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight and no request activity for this long is
    /// closed (HTTP/2 PINGs are no activity).
    pub idle_timeout: Duration,
    /// Every connection is closed (gracefully) this long after it was opened.
    pub max_connection_age: Duration,
    /// Connections open at once, in all…
    pub max_connections: usize,
    /// …and from one client address (IPv6: one /64).
    pub max_connections_per_address: usize,
    /// Sandbox mode: every outside service is a built-in double.
    pub sandbox: bool,
    /// This server as browsers reach it, for the links it hands out (the sandbox's
    /// checkout and portal pages); None: `http://<HOST>:<PORT>` (loopback for 0.0.0.0).
    pub public_url: Option<String>,
    /// `fetch_url` (src/fetch): private, loopback and link-local targets are fetched only
    /// when this is set (tests and self-hosted setups).
    pub fetch_allow_private_networks: bool,
    /// Bytes of a fetched body read at most; the rest is cut.
    pub fetch_max_bytes: usize,
    /// Outgoing webhooks may target http URLs and private addresses (tests only).
    pub webhook_allow_private_networks: bool,
    /// Seconds to wait before each retry of a webhook delivery, in order.
    pub webhook_retry_schedule: Vec<u64>,
    /// Longest one fetch may take, redirects and reading included.
    pub fetch_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl Config {
    /// The address this server reaches itself at: its listening address, or loopback when
    /// it listens on every address.
    pub fn loopback_ip(&self) -> IpAddr {
        match self.host {
            IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            other => other,
        }
    }

    /// This server as it reaches itself: the sandbox's doubles are called over loopback.
    pub fn loopback_url(&self) -> String {
        match self.loopback_ip() {
            IpAddr::V4(v4) => format!("http://{v4}:{}", self.port),
            IpAddr::V6(v6) => format!("http://[{v6}]:{}", self.port),
        }
    }

    /// This server as browsers reach it: `PUBLIC_URL`, or the loopback address.
    pub fn public_base(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| self.loopback_url())
    }

    /// The address e-mails link to: `APP_URL`, else the web app (`CLIENT_URL`), else this
    /// server as browsers reach it.
    pub fn app_url(&self) -> String {
        self.app_url.clone().or_else(|| self.client_url.clone()).unwrap_or_else(|| self.public_base())
    }

    /// Reads the process environment (after `.env`, which `main` loads).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Parses a set of variables; unset and empty mean the same thing.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        // First: a sandbox next to real integration settings is refused before they are read.
        let sandbox = match get("SANDBOX").map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0" | "no" | "off") => false,
            Some("true" | "1" | "yes" | "on") => true,
            Some(other) => return Err(invalid("SANDBOX", format!("`{other}` is not true or false"))),
        };
        if sandbox {
            sandbox::refuse_real_integrations(&get)?;
        }

        let host = match get("HOST") {
            None => IpAddr::from([127, 0, 0, 1]),
            Some(v) => v.parse().map_err(|_| invalid("HOST", format!("`{v}` is not an IP address")))?,
        };
        let port = parse_number::<u16>(get("PORT"), "PORT", 8000)?;
        let database_url = get("DATABASE_URL").unwrap_or("sqlite://clara.db?mode=rwc").to_string();
        let parsed_db =
            url::Url::parse(&database_url).map_err(|e| invalid("DATABASE_URL", format!("not a URL ({e})")))?;
        if !matches!(parsed_db.scheme(), "sqlite" | "postgres" | "postgresql") {
            return Err(invalid(
                "DATABASE_URL",
                format!("scheme `{}` is not supported (use sqlite:// or postgres://)", parsed_db.scheme()),
            ));
        }
        let jwt_secret = get("JWT_SECRET").map(str::to_string);
        if let Some(secret) = &jwt_secret
            && secret.len() < MIN_SECRET_BYTES
        {
            return Err(invalid("JWT_SECRET", format!("must be at least {MIN_SECRET_BYTES} bytes")));
        }
        let public_api_keys = get("PUBLIC_API_KEYS")
            .map(|v| v.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        let admin_api_key = get("ADMIN_API_KEY").map(str::to_string);
        check_secrets_for_exposure(host, parsed_db.scheme(), jwt_secret.as_deref(), admin_api_key.as_deref())?;
        let bcrypt_cost = parse_number::<u32>(get("BCRYPT_COST"), "BCRYPT_COST", 12)?;
        if !(4..=31).contains(&bcrypt_cost) {
            return Err(invalid("BCRYPT_COST", format!("{bcrypt_cost} is outside 4..=31")));
        }
        let session_days = parse_number::<u64>(get("SESSION_TTL_DAYS"), "SESSION_TTL_DAYS", 7)?;
        if !(1..=365).contains(&session_days) {
            return Err(invalid("SESSION_TTL_DAYS", "must be between 1 and 365"));
        }
        let otp_minutes = parse_number::<u64>(get("OTP_TTL_MINUTES"), "OTP_TTL_MINUTES", 10)?;
        if !(1..=1440).contains(&otp_minutes) {
            return Err(invalid("OTP_TTL_MINUTES", "must be between 1 and 1440"));
        }
        let smtp_url = get("SMTP_URL").map(str::to_string);
        if let Some(smtp) = &smtp_url {
            let parsed = url::Url::parse(smtp).map_err(|e| invalid("SMTP_URL", format!("not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "smtp" | "smtps") {
                return Err(invalid("SMTP_URL", "scheme must be smtp:// or smtps://"));
            }
        }
        let mail_from = get("MAIL_FROM").unwrap_or("Clara <no-reply@clara.local>").to_string();
        // `Name <address>` or a bare address; the SMTP adapter parses it again as it sends.
        let Ok(from_mailbox) = mail_from.parse::<email_address::EmailAddress>() else {
            return Err(invalid("MAIL_FROM", format!("`{mail_from}` is not a mailbox")));
        };
        let app_name = get("APP_NAME").unwrap_or("Clara").to_string();
        if app_name.chars().any(char::is_control) || app_name.chars().count() > 100 {
            return Err(invalid("APP_NAME", "must be one line of at most 100 characters"));
        }
        let app_url = get("APP_URL").map(|v| http_url(v, "APP_URL")).transpose()?;
        let support_email = match get("SUPPORT_EMAIL") {
            None => from_mailbox.email(),
            Some(v) => email_address::EmailAddress::parse_with_options(
                v,
                email_address::Options::default().without_display_text(),
            )
            .map_err(|_| invalid("SUPPORT_EMAIL", format!("`{v}` is not an e-mail address")))?
            .email(),
        };
        let email_templates_dir = get("EMAIL_TEMPLATES_DIR").map(std::path::PathBuf::from);
        let google_client_id = get("GOOGLE_CLIENT_ID").map(str::to_string);
        let google_jwks_url = get("GOOGLE_JWKS_URL").unwrap_or(DEFAULT_GOOGLE_JWKS_URL).to_string();
        url::Url::parse(&google_jwks_url).map_err(|e| invalid("GOOGLE_JWKS_URL", format!("not a URL ({e})")))?;
        let apple_client_ids: Vec<String> = get("APPLE_CLIENT_IDS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .collect();
        let apple_jwks_url = get("APPLE_JWKS_URL").unwrap_or(DEFAULT_APPLE_JWKS_URL).to_string();
        url::Url::parse(&apple_jwks_url).map_err(|e| invalid("APPLE_JWKS_URL", format!("not a URL ({e})")))?;
        let apple_require_nonce = match get("APPLE_REQUIRE_NONCE").map(str::to_ascii_lowercase).as_deref() {
            None | Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(other) => return Err(invalid("APPLE_REQUIRE_NONCE", format!("`{other}` is not true or false"))),
        };
        let webauthn =
            WebauthnConfig::from_vars(get("WEBAUTHN_RP_ID"), get("WEBAUTHN_RP_NAME"), get("WEBAUTHN_ORIGINS"))?;
        let log_format = match get("LOG_FORMAT").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("LOG_FORMAT", format!("`{other}` is not `text` or `json`"))),
        };

        let outbound_ms = parse_number::<u64>(get("OUTBOUND_TIMEOUT_MS"), "OUTBOUND_TIMEOUT_MS", 10_000)?;
        if !(100..=120_000).contains(&outbound_ms) {
            return Err(invalid("OUTBOUND_TIMEOUT_MS", "must be between 100 and 120000"));
        }
        let stripe_secret_key = get("STRIPE_SECRET_KEY").map(str::to_string);
        let stripe_webhook_secret = get("STRIPE_WEBHOOK_SECRET").map(str::to_string);
        let stripe_api_base = http_url(get("STRIPE_API_BASE").unwrap_or(DEFAULT_STRIPE_API_BASE), "STRIPE_API_BASE")?;
        let client_url = get("CLIENT_URL").map(|v| http_url(v, "CLIENT_URL")).transpose()?;
        let credit_bands = CreditBands::parse(get("CREDIT_RATES").unwrap_or(DEFAULT_CREDIT_RATES))
            .map_err(|reason| invalid("CREDIT_RATES", reason))?;

        let agent = match get("AGENT_API_BASE") {
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
        let search = search_config(&get)?;
        let fact_check = fact_check_config(&get)?;
        let analysis_cost = match get("ANALYSIS_COST_CREDITS") {
            None => 2_000,
            Some(v) => serde_json::from_str::<serde_json::Number>(v)
                .ok()
                .and_then(|n| crate::domain::parse_hundredths(&n).ok())
                .filter(|c| *c > 0)
                .ok_or_else(|| {
                    invalid("ANALYSIS_COST_CREDITS", format!("`{v}` is not a positive number of credits"))
                })?,
        };
        let max_attachments = parse_number::<usize>(get("MAX_ATTACHMENTS"), "MAX_ATTACHMENTS", 5)?;
        if !(1..=20).contains(&max_attachments) {
            return Err(invalid("MAX_ATTACHMENTS", "must be between 1 and 20"));
        }
        let max_attachment_bytes =
            parse_number::<u64>(get("MAX_ATTACHMENT_BYTES"), "MAX_ATTACHMENT_BYTES", 26_214_400)?;
        if !(1..=1 << 30).contains(&max_attachment_bytes) {
            return Err(invalid("MAX_ATTACHMENT_BYTES", "must be between 1 and 1073741824"));
        }
        let attachments_dir = get("ATTACHMENTS_DIR").unwrap_or("clara-attachments").into();
        let worker_concurrency = parse_number::<usize>(get("WORKER_CONCURRENCY"), "WORKER_CONCURRENCY", 4)?;
        if !(1..=256).contains(&worker_concurrency) {
            return Err(invalid("WORKER_CONCURRENCY", "must be between 1 and 256"));
        }
        let tasks_per_user_running = parse_number::<u64>(get("TASKS_PER_USER_RUNNING"), "TASKS_PER_USER_RUNNING", 2)?;
        if !(1..=256).contains(&tasks_per_user_running) {
            return Err(invalid("TASKS_PER_USER_RUNNING", "must be between 1 and 256"));
        }
        let rate = parse_number::<u32>(get("RATE_LIMIT_PER_SECOND"), "RATE_LIMIT_PER_SECOND", 10)?;
        let rate_limit_per_second = std::num::NonZeroU32::new(rate)
            .filter(|r| r.get() <= 1_000_000)
            .ok_or_else(|| invalid("RATE_LIMIT_PER_SECOND", "must be between 1 and 1000000"))?;
        let signups_per_address_hour =
            parse_number::<u32>(get("SIGNUPS_PER_ADDRESS_HOUR"), "SIGNUPS_PER_ADDRESS_HOUR", 20)?;
        if !(1..=1_000_000).contains(&signups_per_address_hour) {
            return Err(invalid("SIGNUPS_PER_ADDRESS_HOUR", "must be between 1 and 1000000"));
        }
        let redis_url = get("REDIS_URL").map(str::to_string);
        if let Some(url) = &redis_url {
            let parsed = url::Url::parse(url).map_err(|e| invalid("REDIS_URL", format!("not a URL ({e})")))?;
            if !matches!(parsed.scheme(), "redis" | "rediss") {
                return Err(invalid("REDIS_URL", "scheme must be redis:// or rediss://"));
            }
        }
        let redis_prefix = get("REDIS_PREFIX").unwrap_or("clara:").to_string();
        let auth_cache_secs = parse_number::<u64>(get("AUTH_CACHE_TTL_SECS"), "AUTH_CACHE_TTL_SECS", 30)?;
        if auth_cache_secs > 3_600 {
            return Err(invalid("AUTH_CACHE_TTL_SECS", "must be between 0 and 3600"));
        }
        let auth_cache_capacity = parse_number::<usize>(get("AUTH_CACHE_CAPACITY"), "AUTH_CACHE_CAPACITY", 10_000)?;
        if auth_cache_capacity > 10_000_000 {
            return Err(invalid("AUTH_CACHE_CAPACITY", "must be between 0 and 10000000"));
        }
        let trusted_proxies = get("TRUSTED_PROXIES")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        p.parse::<ipnet::IpNet>().or_else(|_| p.parse::<IpAddr>().map(ipnet::IpNet::from)).map_err(
                            |_| invalid("TRUSTED_PROXIES", format!("`{p}` is not an IP address or CIDR range")),
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let cors_allowed_origins: Vec<String> = get("CORS_ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(|o| o.trim_end_matches('/').to_string())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &cors_allowed_origins {
            if origin != "*" {
                let parsed = url::Url::parse(origin)
                    .map_err(|_| invalid("CORS_ALLOWED_ORIGINS", format!("`{origin}` is not an origin")))?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.path() != "/" {
                    return Err(invalid(
                        "CORS_ALLOWED_ORIGINS",
                        format!("`{origin}` is not an origin like https://app.example.com"),
                    ));
                }
            }
        }
        let timeout_secs = parse_number::<u64>(get("REQUEST_TIMEOUT_SECS"), "REQUEST_TIMEOUT_SECS", 30)?;
        if !(1..=3600).contains(&timeout_secs) {
            return Err(invalid("REQUEST_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let metrics_token = get("METRICS_TOKEN").map(str::to_string);
        if let Some(token) = &metrics_token
            && token.chars().count() < MIN_SECRET_BYTES
        {
            // A short token is guessed (a 2-character one fell in 0.4 s).
            return Err(invalid("METRICS_TOKEN", format!("must be at least {MIN_SECRET_BYTES} characters")));
        }
        let grace_secs = parse_number::<u64>(get("SHUTDOWN_GRACE_SECS"), "SHUTDOWN_GRACE_SECS", 20)?;
        if grace_secs > 3600 {
            return Err(invalid("SHUTDOWN_GRACE_SECS", "must be at most 3600"));
        }
        let extractor_program = get("EXTRACTOR_PROGRAM").map(std::path::PathBuf::from);
        let extract_max_memory_mb = parse_number::<u64>(get("EXTRACT_MAX_MEMORY_MB"), "EXTRACT_MAX_MEMORY_MB", 512)?;
        if !(64..=65_536).contains(&extract_max_memory_mb) {
            return Err(invalid("EXTRACT_MAX_MEMORY_MB", "must be between 64 and 65536"));
        }
        let extract_secs = parse_number::<u64>(get("EXTRACT_TIMEOUT_SECS"), "EXTRACT_TIMEOUT_SECS", 20)?;
        if !(1..=3600).contains(&extract_secs) {
            return Err(invalid("EXTRACT_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let extract_max_output_bytes =
            parse_number::<usize>(get("EXTRACT_MAX_OUTPUT_BYTES"), "EXTRACT_MAX_OUTPUT_BYTES", 8 << 20)?;
        if !(1024..=1 << 30).contains(&extract_max_output_bytes) {
            return Err(invalid("EXTRACT_MAX_OUTPUT_BYTES", "must be between 1024 and 1073741824"));
        }
        let extract_concurrency = parse_number::<usize>(get("EXTRACT_CONCURRENCY"), "EXTRACT_CONCURRENCY", 2)?;
        if !(1..=256).contains(&extract_concurrency) {
            return Err(invalid("EXTRACT_CONCURRENCY", "must be between 1 and 256"));
        }
        let sweep_secs = parse_number::<u64>(get("ATTACHMENTS_SWEEP_SECS"), "ATTACHMENTS_SWEEP_SECS", 600)?;
        if !(1..=86_400).contains(&sweep_secs) {
            return Err(invalid("ATTACHMENTS_SWEEP_SECS", "must be between 1 and 86400"));
        }
        let header_read_secs = parse_number::<u64>(get("HEADER_READ_TIMEOUT_SECS"), "HEADER_READ_TIMEOUT_SECS", 10)?;
        if !(1..=300).contains(&header_read_secs) {
            return Err(invalid("HEADER_READ_TIMEOUT_SECS", "must be between 1 and 300"));
        }
        let idle_secs = parse_number::<u64>(get("IDLE_TIMEOUT_SECS"), "IDLE_TIMEOUT_SECS", 60)?;
        if !(1..=3600).contains(&idle_secs) {
            return Err(invalid("IDLE_TIMEOUT_SECS", "must be between 1 and 3600"));
        }
        let max_age_secs = parse_number::<u64>(get("MAX_CONNECTION_AGE_SECS"), "MAX_CONNECTION_AGE_SECS", 3600)?;
        if !(1..=86_400).contains(&max_age_secs) {
            return Err(invalid("MAX_CONNECTION_AGE_SECS", "must be between 1 and 86400"));
        }
        let max_connections = parse_number::<usize>(get("MAX_CONNECTIONS"), "MAX_CONNECTIONS", 10_000)?;
        if !(1..=1_000_000).contains(&max_connections) {
            return Err(invalid("MAX_CONNECTIONS", "must be between 1 and 1000000"));
        }
        let max_connections_per_address =
            parse_number::<usize>(get("MAX_CONNECTIONS_PER_ADDRESS"), "MAX_CONNECTIONS_PER_ADDRESS", 256)?;
        if !(1..=1_000_000).contains(&max_connections_per_address) {
            return Err(invalid("MAX_CONNECTIONS_PER_ADDRESS", "must be between 1 and 1000000"));
        }

        let public_url = get("PUBLIC_URL").map(|v| http_url(v, "PUBLIC_URL")).transpose()?;

        let fetch_allow_private_networks =
            match get("FETCH_ALLOW_PRIVATE_NETWORKS").map(str::to_ascii_lowercase).as_deref() {
                None | Some("false" | "0" | "no" | "off") => false,
                Some("true" | "1" | "yes" | "on") => true,
                Some(other) => {
                    return Err(invalid("FETCH_ALLOW_PRIVATE_NETWORKS", format!("`{other}` is not true or false")));
                }
            };
        let webhook_allow_private_networks =
            match get("WEBHOOK_ALLOW_PRIVATE_NETWORKS").map(str::to_ascii_lowercase).as_deref() {
                None | Some("false" | "0" | "no" | "off") => false,
                Some("true" | "1" | "yes" | "on") => true,
                Some(other) => {
                    return Err(invalid("WEBHOOK_ALLOW_PRIVATE_NETWORKS", format!("`{other}` is not true or false")));
                }
            };
        let webhook_retry_schedule = match get("WEBHOOK_RETRY_SCHEDULE") {
            None => crate::services::webhooks::DEFAULT_RETRY_SCHEDULE.to_vec(),
            Some(text) => text
                .split(',')
                .map(|part| part.trim().parse::<u64>().ok().filter(|secs| (1..=7 * 86_400).contains(secs)))
                .collect::<Option<Vec<u64>>>()
                .filter(|delays| delays.len() <= 20)
                .ok_or_else(|| {
                    invalid("WEBHOOK_RETRY_SCHEDULE", "must be up to 20 comma-separated seconds, each 1 to 604800")
                })?,
        };
        let fetch_max_bytes = parse_number::<usize>(get("FETCH_MAX_BYTES"), "FETCH_MAX_BYTES", 2 << 20)?;
        if !(1024..=64 << 20).contains(&fetch_max_bytes) {
            return Err(invalid("FETCH_MAX_BYTES", "must be between 1024 and 67108864"));
        }
        let fetch_secs = parse_number::<u64>(get("FETCH_TIMEOUT_SECS"), "FETCH_TIMEOUT_SECS", 15)?;
        if !(1..=120).contains(&fetch_secs) {
            return Err(invalid("FETCH_TIMEOUT_SECS", "must be between 1 and 120"));
        }

        Ok(Self {
            host,
            port,
            database_url,
            jwt_secret,
            public_api_keys,
            admin_api_key,
            bcrypt_cost,
            session_ttl: Duration::from_secs(session_days * 86_400),
            otp_ttl: Duration::from_secs(otp_minutes * 60),
            smtp_url,
            mail_from,
            app_name,
            app_url,
            support_email,
            email_templates_dir,
            google_client_id,
            google_jwks_url,
            apple_client_ids,
            apple_jwks_url,
            apple_require_nonce,
            webauthn,
            log_format,
            json_body_limit: 1024 * 1024,
            outbound_timeout: Duration::from_millis(outbound_ms),
            stripe_secret_key,
            stripe_webhook_secret,
            stripe_api_base,
            client_url,
            credit_bands,
            agent,
            search,
            fact_check,
            analysis_cost,
            max_attachments,
            max_attachment_bytes,
            attachments_dir,
            worker_concurrency,
            tasks_per_user_running,
            rate_limit_per_second,
            signups_per_address_hour,
            redis_url,
            redis_prefix,
            auth_cache_ttl: Duration::from_secs(auth_cache_secs),
            auth_cache_capacity,
            trusted_proxies,
            cors_allowed_origins,
            request_timeout: Duration::from_secs(timeout_secs),
            metrics_token,
            shutdown_grace: Duration::from_secs(grace_secs),
            extractor_program,
            extract_max_memory_mb,
            extract_timeout: Duration::from_secs(extract_secs),
            extract_max_output_bytes,
            extract_concurrency,
            attachments_sweep_interval: Duration::from_secs(sweep_secs),
            header_read_timeout: Duration::from_secs(header_read_secs),
            idle_timeout: Duration::from_secs(idle_secs),
            max_connection_age: Duration::from_secs(max_age_secs),
            max_connections,
            max_connections_per_address,
            sandbox,
            public_url,
            fetch_allow_private_networks,
            fetch_max_bytes,
            fetch_timeout: Duration::from_secs(fetch_secs),
            webhook_allow_private_networks,
            webhook_retry_schedule,
        })
    }
}

/// Shortest `JWT_SECRET`, `METRICS_TOKEN` and, where it is enforced, `ADMIN_API_KEY`.
pub const MIN_SECRET_BYTES: usize = 32;

/// A secret generated into the database is readable by anyone with a copy of it (a
/// backup, a replica, a read-only role) who could then forge tokens. That is accepted
/// only for the zero-config local server: SQLite on a loopback address. On PostgreSQL or
/// a reachable address the secret must come from the environment, and the admin key
/// must be long enough not to be guessed.
fn check_secrets_for_exposure(
    host: IpAddr,
    database_scheme: &str,
    jwt_secret: Option<&str>,
    admin_api_key: Option<&str>,
) -> Result<(), ConfigError> {
    let shared_database = database_scheme != "sqlite";
    if !shared_database && host.is_loopback() {
        return Ok(());
    }
    let why = if shared_database { "with a PostgreSQL DATABASE_URL" } else { "when HOST is not a loopback address" };
    if jwt_secret.is_none() {
        return Err(invalid(
            "JWT_SECRET",
            format!(
                "must be set ({MIN_SECRET_BYTES} bytes or more) {why}: a secret kept in the database lets anyone who can read it forge tokens"
            ),
        ));
    }
    if let Some(key) = admin_api_key
        && key.chars().count() < MIN_SECRET_BYTES
    {
        return Err(invalid("ADMIN_API_KEY", format!("must be at least {MIN_SECRET_BYTES} characters {why}")));
    }
    Ok(())
}

/// An http(s) URL without query or fragment, returned without its trailing slash.
fn http_url(value: &str, variable: &'static str) -> Result<String, ConfigError> {
    let parsed = url::Url::parse(value).map_err(|e| invalid(variable, format!("not a URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(variable, "must be an http:// or https:// URL without query or fragment"));
    }
    Ok(value.trim_end_matches('/').to_string())
}

fn parse_number<T: std::str::FromStr>(
    value: Option<&str>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| invalid(variable, format!("`{v}` is not a valid number"))),
    }
}

#[cfg(test)]
mod tests;
