//! Where a webhook may be sent: the fetcher's address rules. https to public addresses
//! only; `WEBHOOK_ALLOW_PRIVATE_NETWORKS=true` (tests) also allows http and private
//! addresses; sandbox mode allows loopback targets (its receivers run on this machine).
//! Checked on the URL when an endpoint is created, and on every resolved address before
//! each attempt, which then connects to those addresses only.

use std::net::{IpAddr, SocketAddr};

use url::{Host, Url};

use crate::{
    net::{Resolve, SystemResolver, address},
    services::{ServiceError, ServiceResult},
    state::Core,
};

/// What the client is told about a refused target: never the address it resolved to.
pub const REFUSED: &str = "refused: the address is not public";

fn allow_private(state: &Core) -> bool {
    state.config.webhooks.webhook_allow_private_networks
}

/// Whether every address passes: the rules, or loopback in sandbox mode.
fn addresses_pass(state: &Core, ips: &[IpAddr]) -> bool {
    let sandbox_loopback = state.config.sandbox && ips.iter().all(|ip| ip.to_canonical().is_loopback());
    sandbox_loopback || address::check_all(ips, allow_private(state)).is_ok()
}

/// Parses and checks a URL as given (no resolution): scheme, host, and a literal address.
pub fn parse(state: &Core, raw: &str) -> Result<Url, &'static str> {
    if raw.len() > 2_048 {
        return Err("the URL is too long");
    }
    let url = Url::parse(raw).map_err(|_| "not a URL")?;
    let plain_http_allowed = allow_private(state) || state.config.sandbox;
    match url.scheme() {
        "https" => {}
        "http" if plain_http_allowed => {}
        _ => return Err("the URL must be https"),
    }
    if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
        return Err("the URL may not carry credentials or a fragment");
    }
    let literal: Option<IpAddr> = match url.host() {
        None => return Err("the URL has no host"),
        Some(Host::Ipv4(v4)) => Some(v4.into()),
        Some(Host::Ipv6(v6)) => Some(v6.into()),
        Some(Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => Some(IpAddr::from([127, 0, 0, 1])),
        Some(Host::Domain(_)) => None,
    };
    if let Some(ip) = literal
        && !addresses_pass(state, &[ip])
    {
        return Err(REFUSED);
    }
    Ok(url)
}

/// At creation: the URL's own checks.
pub fn check_url(state: &Core, raw: &str) -> ServiceResult<()> {
    parse(state, raw).map(|_| ()).map_err(ServiceError::WebhookUrl)
}

/// Before an attempt: the URL, then every address its host resolves to.
pub async fn resolve(state: &Core, raw: &str) -> Result<(Url, Vec<SocketAddr>), String> {
    let url = parse(state, raw).map_err(str::to_string)?;
    let port = url.port_or_known_default().ok_or("the URL has no port")?;
    let ips: Vec<IpAddr> = match url.host() {
        Some(Host::Ipv4(v4)) => vec![v4.into()],
        Some(Host::Ipv6(v6)) => vec![v6.into()],
        Some(Host::Domain(name)) => {
            SystemResolver.resolve(name, port).await.map_err(|_| "the host name did not resolve".to_string())?
        }
        None => return Err("the URL has no host".into()),
    };
    if ips.is_empty() {
        return Err("the host name did not resolve".into());
    }
    if !addresses_pass(state, &ips) {
        return Err(REFUSED.into());
    }
    Ok((url, ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()))
}
