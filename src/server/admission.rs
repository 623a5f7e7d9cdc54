//! How many connections may be open at once: `MAX_CONNECTIONS` in all and
//! `MAX_CONNECTIONS_PER_ADDRESS` from one client (IPv6 counted per /64, see
//! [`AddressKey`]). A connection over a cap is dropped as soon as it is accepted, before
//! a byte is read, so that one client holding many connections (each cheap for it, a
//! socket and a task for us) cannot use up the server's file descriptors and lock
//! everyone else out.
//!
//! A trusted proxy (`TRUSTED_PROXIES`) relays many clients over its connections, so its
//! address is held only to the total; the clients behind it are bounded by the proxy.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use prometheus::{IntCounterVec, IntGauge};

use crate::address_key::AddressKey;

/// The caps and where refusals are counted.
pub struct Admission {
    max_total: usize,
    max_per_address: usize,
    trusted_proxies: Vec<ipnet::IpNet>,
    open: Mutex<Open>,
    /// Connections refused, by the cap that refused them (`total`, `per_address`).
    refused: IntCounterVec,
    /// Connections open now.
    gauge: IntGauge,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_address: HashMap<AddressKey, usize>,
}

/// Which cap refused a connection (the metric's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Total,
    PerAddress,
}

impl Refused {
    pub fn label(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::PerAddress => "per_address",
        }
    }
}

/// A connection's place under the caps; given back when dropped.
pub struct Place {
    admission: Arc<Admission>,
    key: Option<AddressKey>,
}

impl Admission {
    pub fn new(
        max_total: usize,
        max_per_address: usize,
        trusted_proxies: Vec<ipnet::IpNet>,
        refused: IntCounterVec,
        gauge: IntGauge,
    ) -> Arc<Self> {
        Arc::new(Self { max_total, max_per_address, trusted_proxies, open: Mutex::default(), refused, gauge })
    }

    /// A place for a connection from `peer` (None: not an IP peer, e.g. a Unix socket,
    /// held to the total only), or the cap it would exceed (counted in the metric).
    pub fn admit(self: &Arc<Self>, peer: Option<IpAddr>) -> Result<Place, Refused> {
        let key = peer
            .map(|ip| ip.to_canonical())
            .filter(|ip| !self.trusted_proxies.iter().any(|net| net.contains(ip)))
            .map(AddressKey::of);
        let admitted = {
            let mut open = self.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if open.total >= self.max_total {
                Err(Refused::Total)
            } else if key.is_some_and(|key| open.per_address.get(&key).copied().unwrap_or(0) >= self.max_per_address) {
                Err(Refused::PerAddress)
            } else {
                open.total += 1;
                if let Some(key) = key {
                    *open.per_address.entry(key).or_default() += 1;
                }
                Ok(())
            }
        };
        match admitted {
            Ok(()) => {
                self.gauge.inc();
                Ok(Place { admission: self.clone(), key })
            }
            Err(refused) => {
                self.refused.with_label_values(&[refused.label()]).inc();
                Err(refused)
            }
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let admission = &self.admission;
        {
            let mut open = admission.open.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            open.total -= 1;
            if let Some(key) = self.key
                && let Some(count) = open.per_address.get_mut(&key)
            {
                *count -= 1;
                if *count == 0 {
                    // Forget addresses with nothing open: the map stays as small as the
                    // set of clients connected now.
                    open.per_address.remove(&key);
                }
            }
        }
        admission.gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max_total: usize, max_per_address: usize, trusted: &[&str]) -> Arc<Admission> {
        let refused = IntCounterVec::new(prometheus::Opts::new("refused", "test"), &["reason"]).unwrap();
        let gauge = IntGauge::new("open", "test").unwrap();
        Admission::new(max_total, max_per_address, trusted.iter().map(|t| t.parse().unwrap()).collect(), refused, gauge)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn one_ipv6_64_shares_one_per_address_cap() {
        let admission = admission(100, 2, &[]);
        let _a = admission.admit(ip("2001:db8::1")).unwrap();
        let _b = admission.admit(ip("2001:db8::2")).unwrap();
        assert_eq!(admission.admit(ip("2001:db8::3")).err(), Some(Refused::PerAddress));
        assert!(admission.admit(ip("2001:db8:0:1::1")).is_ok(), "another /64 is another client");
        assert_eq!(admission.refused.with_label_values(&["per_address"]).get(), 1);
    }

    #[test]
    fn a_place_is_given_back_when_its_connection_ends() {
        let admission = admission(2, 1, &[]);
        let a = admission.admit(ip("203.0.113.1")).unwrap();
        assert_eq!(admission.admit(ip("203.0.113.1")).err(), Some(Refused::PerAddress));
        let _b = admission.admit(ip("203.0.113.2")).unwrap();
        assert_eq!(admission.admit(ip("203.0.113.3")).err(), Some(Refused::Total));
        assert_eq!(admission.gauge.get(), 2);
        drop(a);
        assert_eq!(admission.gauge.get(), 1);
        let forgotten = AddressKey::of("203.0.113.1".parse().unwrap());
        assert!(!admission.open.lock().unwrap().per_address.contains_key(&forgotten), "nothing open: forgotten");
        assert!(admission.admit(ip("203.0.113.1")).is_ok());
    }

    #[test]
    fn a_trusted_proxy_is_held_to_the_total_only() {
        let admission = admission(3, 1, &["10.0.0.0/8"]);
        let _held: Vec<_> = (0..3).map(|_| admission.admit(ip("10.0.0.5")).unwrap()).collect();
        assert_eq!(admission.admit(ip("10.0.0.5")).err(), Some(Refused::Total));
    }

    #[test]
    fn a_peer_without_an_address_is_held_to_the_total_only() {
        let admission = admission(2, 1, &[]);
        let _a = admission.admit(None).unwrap();
        let _b = admission.admit(None).unwrap();
        assert_eq!(admission.admit(None).err(), Some(Refused::Total));
    }
}
