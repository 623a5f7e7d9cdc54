//! Who may read `/metrics`: behind `METRICS_TOKEN` when it is set, and to this machine only
//! when it is not. What is counted is `rules::metrics`.

pub use rules::metrics::Metrics;

/// Who may read `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScrapeAccess {
    Allowed,
    /// A token is configured and was not presented (401).
    Unauthorized,
    /// No token is configured and the peer is not this machine (403).
    Forbidden,
}

/// With `METRICS_TOKEN`, whoever presents it (`Authorization` is the header's raw bytes);
/// without, only a peer on this machine. The peer is the TCP connection's own address:
/// `X-Forwarded-For` never grants access, since anyone can write it. A request that was
/// `forwarded` (it carries `X-Forwarded-For` or `Forwarded`) is refused even from
/// loopback: a reverse proxy on this machine relays it for someone elsewhere.
pub fn scrape_access(token: Option<&str>, authorization: &[u8], peer: &poem::Addr, forwarded: bool) -> ScrapeAccess {
    use subtle::ConstantTimeEq;
    if let Some(token) = token {
        let expected = format!("Bearer {token}");
        return if bool::from(authorization.ct_eq(expected.as_bytes())) {
            ScrapeAccess::Allowed
        } else {
            ScrapeAccess::Unauthorized
        };
    }
    let local = match peer {
        poem::Addr::SocketAddr(addr) => addr.ip().to_canonical().is_loopback(),
        // Only processes on this machine can reach a Unix socket.
        #[cfg(unix)]
        poem::Addr::Unix(_) => true,
        _ => false,
    };
    if local && !forwarded { ScrapeAccess::Allowed } else { ScrapeAccess::Forbidden }
}

/// Whether `/metrics` would be refused to every other host (the start-up log says so):
/// listening beyond loopback without `METRICS_TOKEN`.
pub fn closed_to_other_hosts(listening_on: &[std::net::IpAddr], token: Option<&str>) -> bool {
    token.is_none() && listening_on.iter().any(|ip| !ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(addr: &str) -> poem::Addr {
        poem::Addr::SocketAddr(addr.parse().unwrap())
    }

    #[test]
    fn without_a_token_only_loopback_peers_may_scrape() {
        for peer in ["127.0.0.1:1", "127.9.9.9:1", "[::1]:1", "[::ffff:127.0.0.1]:1"] {
            assert_eq!(scrape_access(None, b"", &socket(peer), false), ScrapeAccess::Allowed, "{peer}");
        }
        for peer in
            ["203.0.113.7:1", "10.0.0.1:1", "192.168.1.1:1", "[2001:db8::1]:1", "[::ffff:10.0.0.1]:1", "0.0.0.0:1"]
        {
            assert_eq!(scrape_access(None, b"", &socket(peer), false), ScrapeAccess::Forbidden, "{peer}");
        }
        let relayed = scrape_access(None, b"", &socket("127.0.0.1:1"), true);
        assert_eq!(relayed, ScrapeAccess::Forbidden, "a local proxy's relayed request is not local");
        let unknown = poem::Addr::Custom("test", "unknown".into());
        assert_eq!(scrape_access(None, b"", &unknown, false), ScrapeAccess::Forbidden);
    }

    #[test]
    fn with_a_token_the_token_decides_wherever_the_peer_is() {
        let token = Some("t0ken");
        for peer in ["127.0.0.1:1", "203.0.113.7:1"] {
            assert_eq!(scrape_access(token, b"Bearer t0ken", &socket(peer), true), ScrapeAccess::Allowed);
            assert_eq!(scrape_access(token, b"Bearer nope", &socket(peer), false), ScrapeAccess::Unauthorized);
            assert_eq!(scrape_access(token, b"", &socket(peer), false), ScrapeAccess::Unauthorized);
        }
    }

    #[test]
    fn the_start_up_warning_is_for_reachable_addresses_without_a_token() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(closed_to_other_hosts(&[ip("0.0.0.0")], None));
        assert!(closed_to_other_hosts(&[ip("::")], None));
        assert!(!closed_to_other_hosts(&[ip("127.0.0.1"), ip("::1")], None));
        assert!(!closed_to_other_hosts(&[ip("0.0.0.0")], Some("t")));
    }
}
