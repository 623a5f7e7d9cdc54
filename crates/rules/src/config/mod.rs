//! Every environment variable the server reads, parsed once at start-up, in typed
//! sections (one file each, with the table `docs/configuration.md` shows for it).
//!
//! A bad value stops start-up with one line naming the variable; nothing here panics.

use std::{collections::HashMap, net::IpAddr};

mod accounts;
mod agent;
mod analyses;
mod billing;
mod http;
mod mail;
pub mod sandbox;
pub mod settings;
mod sign_in;
mod storage;
mod webauthn;
mod webhooks;

pub use self::{
    accounts::Accounts,
    agent::{Agent, AgentConfig, DEFAULT_AGENT_MAX_STEPS, FactCheckConfig, SearchConfig, SearchProvider, ToolsMode},
    analyses::Analyses,
    billing::Billing,
    http::Http,
    mail::MailConfig,
    sign_in::SignIn,
    storage::Storage,
    webauthn::WebauthnConfig,
    webhooks::Webhooks,
};

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

/// Every setting, in typed sections; each section parses its own variables and keeps the
/// table `docs/configuration.md` shows for them ([`settings`]).
#[derive(Clone, Debug)]
pub struct Config {
    pub http: Http,
    pub storage: Storage,
    pub accounts: Accounts,
    pub mail: MailConfig,
    pub billing: Billing,
    pub sign_in: SignIn,
    pub agent: Agent,
    pub analyses: Analyses,
    pub webhooks: Webhooks,
    pub log_format: LogFormat,
    /// When set, `/metrics` needs `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// Sandbox mode: every outside service is a built-in double.
    pub sandbox: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// How a section reads a variable: trimmed, and None when unset or empty.
pub(crate) trait Get<'a>: Fn(&str) -> Option<&'a str> {}
impl<'a, F: Fn(&str) -> Option<&'a str>> Get<'a> for F {}

impl Config {
    /// The address this server reaches itself at: its listening address, or loopback when
    /// it listens on every address.
    pub fn loopback_ip(&self) -> IpAddr {
        match self.http.host {
            IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            other => other,
        }
    }

    /// This server as it reaches itself: the sandbox's doubles are called over loopback.
    pub fn loopback_url(&self) -> String {
        match self.loopback_ip() {
            IpAddr::V4(v4) => format!("http://{v4}:{}", self.http.port),
            IpAddr::V6(v6) => format!("http://[{v6}]:{}", self.http.port),
        }
    }

    /// This server as browsers reach it: `PUBLIC_URL`, or the loopback address.
    pub fn public_base(&self) -> String {
        self.http.public_url.clone().unwrap_or_else(|| self.loopback_url())
    }

    /// The address e-mails link to: `APP_URL`, else the web app (`CLIENT_URL`), else this
    /// server as browsers reach it.
    pub fn app_url(&self) -> String {
        self.mail.app_url.clone().or_else(|| self.billing.client_url.clone()).unwrap_or_else(|| self.public_base())
    }

    /// Reads the process environment (after `.env`, which `main` loads).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Parses a set of variables; unset and empty mean the same thing.
    pub fn from_map(vars: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        // First: a sandbox next to real integration settings is refused before they are read.
        let sandbox = yes_or_no(get("SANDBOX"), "SANDBOX", false)?;
        if sandbox {
            sandbox::refuse_real_integrations(&get)?;
        }
        let http = Http::parse(&get)?;
        let storage = Storage::parse(&get)?;
        let accounts = Accounts::parse(&get)?;
        check_secrets_for_exposure(
            http.host,
            storage.is_sqlite(),
            accounts.jwt_secret.as_deref(),
            accounts.admin_api_key.as_deref(),
        )?;
        let mail = MailConfig::parse(&get)?;
        let sign_in = SignIn::parse(&get)?;
        let log_format = match get("LOG_FORMAT").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("LOG_FORMAT", format!("`{other}` is not `text` or `json`"))),
        };
        let billing = Billing::parse(&get)?;
        let agent = Agent::parse(&get)?;
        let analyses = Analyses::parse(&get)?;
        let metrics_token = get("METRICS_TOKEN").map(str::to_string);
        if let Some(token) = &metrics_token
            && token.chars().count() < MIN_SECRET_BYTES
        {
            // A short token is guessed (a 2-character one fell in 0.4 s).
            return Err(invalid("METRICS_TOKEN", format!("must be at least {MIN_SECRET_BYTES} characters")));
        }
        let webhooks = Webhooks::parse(&get)?;
        Ok(Self {
            http,
            storage,
            accounts,
            mail,
            billing,
            sign_in,
            agent,
            analyses,
            webhooks,
            log_format,
            metrics_token,
            sandbox,
        })
    }
}

/// A yes/no variable: `true`, `1`, `yes`, `on` or `false`, `0`, `no`, `off`, in any case.
pub(crate) fn yes_or_no(value: Option<&str>, variable: &'static str, default: bool) -> Result<bool, ConfigError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(variable, format!("`{other}` is not true or false"))),
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
    sqlite: bool,
    jwt_secret: Option<&str>,
    admin_api_key: Option<&str>,
) -> Result<(), ConfigError> {
    let shared_database = !sqlite;
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
