//! Whose budget a client address spends. One holder of an IPv4 address rarely has more
//! than a few, but an IPv6 customer is routinely handed a whole /64 (2^64 addresses):
//! counting each IPv6 address on its own would give that one client unlimited fresh
//! budgets. So every per-address budget (rate limit, sign-ups, code e-mails, lockouts,
//! the admin-key lock, the fair share of the password hasher, open connections) is kept
//! under this key: an IPv4 address as itself, an IPv6 address by its /64.

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

/// A client address reduced to what one client controls (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// An IPv4 address (also one written as IPv4-mapped IPv6, `::ffff:a.b.c.d`) keeps
    /// all its bits; an IPv6 address keeps its first 64.
    pub fn of(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => Self(IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX)))),
        }
    }
}

impl fmt::Display for AddressKey {
    /// `203.0.113.7` for IPv4 (the form keys had before IPv6 was grouped), `2001:db8::/64`
    /// for an IPv6 network.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// The key of an optional address as budget keys spell it (`unknown` when the address is
/// not known, e.g. a Unix socket).
pub fn key_text(client: Option<IpAddr>) -> String {
    client.map_or_else(|| "unknown".to_string(), |ip| AddressKey::of(ip).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> AddressKey {
        AddressKey::of(text.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key() {
        assert_eq!(key("2001:db8::1"), key("2001:db8::2"));
        assert_eq!(key("2001:db8::1"), key("2001:db8::ffff:ffff:ffff:ffff"));
        assert_ne!(key("2001:db8::1"), key("2001:db8:0:1::1"), "the next /64 is another client");
        assert_ne!(key("2001:db8::1"), key("2001:db9::1"));
        assert_eq!(key("2001:db8:aaaa:bbbb:1:2:3:4").to_string(), "2001:db8:aaaa:bbbb::/64");
        assert_eq!(key("::1").to_string(), "::/64");
    }

    #[test]
    fn ipv4_addresses_stay_per_address() {
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("203.0.113.7").to_string(), "203.0.113.7");
        assert_eq!(key("127.0.0.2").to_string(), "127.0.0.2");
    }

    #[test]
    fn an_ipv4_mapped_address_is_its_ipv4_address() {
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("::ffff:203.0.113.7"), key("::ffff:203.0.113.8"), "not one /64 for all of IPv4");
    }

    #[test]
    fn an_unknown_address_has_one_key() {
        assert_eq!(key_text(None), "unknown");
        assert_eq!(key_text(Some("2001:db8::9".parse().unwrap())), "2001:db8::/64");
    }
}
