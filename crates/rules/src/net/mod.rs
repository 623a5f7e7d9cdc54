//! Addresses the server may connect to on a user's behalf (fetched pages, webhook
//! endpoints), and the name resolution the checks run on.

pub mod address;

use std::net::IpAddr;

/// Host name resolution, replaceable in tests.
#[async_trait::async_trait]
pub trait Resolve: Send + Sync {
    /// Every address of `host`; an error or an empty list is a resolution failure.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system's resolver (getaddrinfo, /etc/hosts included).
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.map(|addr| addr.ip()).collect())
    }
}
