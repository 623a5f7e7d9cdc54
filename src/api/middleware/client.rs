//! The client's address, resolved once a request.

use std::net::IpAddr;

use poem::{Endpoint, Middleware, Request, Result};

use crate::state::AppState;

/// The client's address: the peer, or the first address in `X-Forwarded-For` (from the
/// right) that is not a trusted proxy when the peer is one.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

fn client_addr(req: &Request, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|a| a.ip().to_canonical())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    Some(forwarded.into_iter().rev().find(|ip| !is_trusted(ip)).unwrap_or(peer))
}

/// Puts the request's [`ClientAddr`] in its extensions, for the rate limiter, the
/// lockouts and the metrics route.
pub struct ResolveClient;

impl<E: Endpoint> Middleware<E> for ResolveClient {
    type Output = ResolveClientEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ResolveClientEndpoint { inner }
    }
}

pub struct ResolveClientEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for ResolveClientEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        if let Some(state) = req.data::<AppState>() {
            let client = client_addr(&req, &state.config.http.trusted_proxies);
            req.extensions_mut().insert(ClientAddr(client));
        }
        self.inner.call(req).await
    }
}
