//! What sandbox mode means for the settings: the real integrations and shared infrastructure
//! it refuses to start with, and where its doubles answer on this server (the sandbox's routes
//! and the settings it points at them share these paths).

use super::{ConfigError, invalid};

/// Where the doubles live, under this server's own URL.
pub const PREFIX: &str = "/api/v1/sandbox";
pub const STRIPE_API_PATH: &str = "/api/v1/sandbox/stripe";
pub const GOOGLE_CERTS_PATH: &str = "/api/v1/sandbox/google/certs";
pub const APPLE_KEYS_PATH: &str = "/api/v1/sandbox/apple/auth/keys";
pub const MODEL_API_PATH: &str = "/api/v1/sandbox/model/v1";
/// The pages the search double's results lead to.
pub const PAGES_PATH: &str = "/api/v1/sandbox/pages/";
/// The search double's root (SearXNG's API is `{root}/search`).
pub const SEARCH_PATH: &str = "/api/v1/sandbox/search";
/// Where Stripe's success and cancel URLs lead when `CLIENT_URL` is not set.
pub const APP_PATH: &str = "/api/v1/sandbox/app";

/// Variables naming real integrations, which the sandbox would silently replace.
const SHADOWED: &[&str] = &[
    "SMTP_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_API_BASE",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_JWKS_URL",
    "APPLE_CLIENT_IDS",
    "APPLE_JWKS_URL",
    "AGENT_API_BASE",
    "AGENT_API_KEY",
    "AGENT_MODEL",
    "AGENT_TRANSCRIPTION_MODEL",
    "SEARCH_PROVIDER",
    "SEARCH_API_BASE",
    "SEARCH_API_KEY",
    "FACT_CHECK_API_KEY",
    "FACT_CHECK_API_BASE",
];

/// Start-up refuses a sandbox next to a live Stripe key, or next to real integration
/// settings it would shadow: either means someone meant to talk to the real services.
pub fn refuse_real_integrations<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<(), ConfigError> {
    if get("STRIPE_SECRET_KEY").is_some_and(|key| key.starts_with("sk_live_") || key.starts_with("rk_live_")) {
        return Err(invalid(
            "STRIPE_SECRET_KEY",
            "SANDBOX refuses to start with a live Stripe key (sk_live_…): unset STRIPE_SECRET_KEY, or run without --sandbox",
        ));
    }
    refuse_real_infrastructure(get)?;
    let set: Vec<&str> = SHADOWED.iter().copied().filter(|name| get(name).is_some()).collect();
    if !set.is_empty() {
        return Err(invalid(
            "SANDBOX",
            format!(
                "the sandbox replaces every outside service, and these real integration variables are set: {}; unset them, or run without --sandbox",
                set.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The sandbox's token minter and mailbox open any account they are asked for: on a
/// shared database (PostgreSQL, or several processes on Redis) that could be a real
/// one, and on a reachable address anyone could ask. So the sandbox runs only on SQLite,
/// alone, on a loopback address.
fn refuse_real_infrastructure<'a>(get: &impl Fn(&str) -> Option<&'a str>) -> Result<(), ConfigError> {
    let why = "the sandbox's token minter and mailbox open every account";
    // A benchmark of several processes on one machine needs PostgreSQL and Redis next to
    // the doubles: allowed only when asked for by name and only on this machine.
    let local_services = get("SANDBOX_LOCAL_SERVICES").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if let Some(url) = get("DATABASE_URL")
        && !url.to_ascii_lowercase().starts_with("sqlite:")
        && !(local_services && on_this_machine(url))
    {
        return Err(invalid(
            "DATABASE_URL",
            format!("SANDBOX runs on SQLite only ({why}): use a sqlite:// DATABASE_URL, or run without --sandbox"),
        ));
    }
    if get("REDIS_URL").is_some_and(|url| !(local_services && on_this_machine(url))) {
        return Err(invalid(
            "REDIS_URL",
            format!(
                "SANDBOX runs as a single process without Redis ({why}): unset REDIS_URL, or run without --sandbox"
            ),
        ));
    }
    if let Some(host) = get("HOST")
        && host.parse::<std::net::IpAddr>().is_ok_and(|ip| !ip.to_canonical().is_loopback())
    {
        return Err(invalid(
            "HOST",
            format!(
                "SANDBOX listens on a loopback address only ({why}), not {host}: set HOST=127.0.0.1 (or ::1), or run without --sandbox"
            ),
        ));
    }
    Ok(())
}

/// Whether a service URL names a loopback host (`localhost`, 127.0.0.0/8 or ::1).
fn on_this_machine(url: &str) -> bool {
    match url::Url::parse(url).ok().and_then(|u| u.host().map(|h| h.to_owned())) {
        // `postgres://` and `redis://` are not special schemes, so an IPv4 host stays text.
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
