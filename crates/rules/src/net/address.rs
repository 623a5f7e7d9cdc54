//! Which addresses `fetch_url` may connect to, decided on the address value alone.
//!
//! Public unicast is allowed. Everything else is refused by default: private, loopback,
//! link-local, unique-local, shared (CGNAT), documentation, benchmarking and reserved
//! ranges, and the same addresses hidden in IPv6 (IPv4-mapped `::ffff:a.b.c.d`,
//! IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`).
//! `FETCH_ALLOW_PRIVATE_NETWORKS=true` opens those, except four kinds that are never a
//! page to read: unspecified addresses (0.0.0.0 reaches this machine), broadcast,
//! multicast and the cloud metadata services (instance credentials live there).

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// Why an address is not fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16).
    Private,
    LinkLocal,
    /// fc00::/7, and the deprecated site-local fec0::/10.
    UniqueLocal,
    /// 100.64/10, carrier-grade NAT.
    SharedAddressSpace,
    Documentation,
    /// Not allocated for use on the Internet (0/8 beyond 0.0.0.0, 192.0.0/24, 198.18/15,
    /// 240/4, IPv6 outside 2000::/3, deprecated transition forms...).
    Reserved,
    /// Never fetched, whatever the configuration.
    Unspecified,
    Broadcast,
    Multicast,
    CloudMetadata,
}

impl Refusal {
    /// Whether `FETCH_ALLOW_PRIVATE_NETWORKS=true` lets the address through.
    pub fn opened_by_allow_private(self) -> bool {
        !matches!(self, Refusal::Unspecified | Refusal::Broadcast | Refusal::Multicast | Refusal::CloudMetadata)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Loopback => "a loopback address",
            Refusal::Private => "a private network address",
            Refusal::LinkLocal => "a link-local address",
            Refusal::UniqueLocal => "a unique-local (private) IPv6 address",
            Refusal::SharedAddressSpace => "a carrier-grade NAT (shared) address",
            Refusal::Documentation => "a documentation-only address",
            Refusal::Reserved => "a reserved address",
            Refusal::Unspecified => "the unspecified address",
            Refusal::Broadcast => "the broadcast address",
            Refusal::Multicast => "a multicast address",
            Refusal::CloudMetadata => "a cloud metadata service address",
        })
    }
}

/// Known instance-metadata endpoints (AWS, GCP, Azure, OpenStack, Oracle: 169.254.169.254;
/// AWS DNS and ECS task credentials; Alibaba; AWS over IPv6).
const METADATA_V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 169, 253),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(100, 100, 100, 200),
];
const METADATA_V6: [Ipv6Addr; 2] =
    [Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254), Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0023)];

/// None: a public address, fetched. Some: why not (before the configuration is applied).
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// Whether the address may be connected to, given `FETCH_ALLOW_PRIVATE_NETWORKS`.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    match classify(ip) {
        None => Ok(()),
        Some(refusal) if allow_private && refusal.opened_by_allow_private() => Ok(()),
        Some(refusal) => Err(refusal),
    }
}

/// Every address must pass; the first that does not is returned with its reason. An
/// empty list passes (the caller treats "no address" as a resolution failure).
pub fn check_all(ips: &[IpAddr], allow_private: bool) -> Result<(), (IpAddr, Refusal)> {
    ips.iter().try_for_each(|ip| check(*ip, allow_private).map_err(|refusal| (*ip, refusal)))
}

fn in_v4(ip: Ipv4Addr, base: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(base)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refusal> {
    if METADATA_V4.contains(&ip) {
        return Some(Refusal::CloudMetadata);
    }
    if ip.is_unspecified() {
        return Some(Refusal::Unspecified);
    }
    if ip.is_broadcast() {
        return Some(Refusal::Broadcast);
    }
    const RANGES: &[([u8; 4], u32, Refusal)] = &[
        ([0, 0, 0, 0], 8, Refusal::Reserved),
        ([10, 0, 0, 0], 8, Refusal::Private),
        ([100, 64, 0, 0], 10, Refusal::SharedAddressSpace),
        ([127, 0, 0, 0], 8, Refusal::Loopback),
        ([169, 254, 0, 0], 16, Refusal::LinkLocal),
        ([172, 16, 0, 0], 12, Refusal::Private),
        ([192, 0, 0, 0], 24, Refusal::Reserved),
        ([192, 0, 2, 0], 24, Refusal::Documentation),
        ([192, 88, 99, 0], 24, Refusal::Reserved),
        ([192, 168, 0, 0], 16, Refusal::Private),
        ([198, 18, 0, 0], 15, Refusal::Reserved),
        ([198, 51, 100, 0], 24, Refusal::Documentation),
        ([203, 0, 113, 0], 24, Refusal::Documentation),
        ([224, 0, 0, 0], 4, Refusal::Multicast),
        ([240, 0, 0, 0], 4, Refusal::Reserved),
    ];
    RANGES.iter().find(|(base, prefix, _)| in_v4(ip, *base, *prefix)).map(|(_, _, refusal)| *refusal)
}

fn in_v6(ip: Ipv6Addr, base: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    u128::from(ip) & mask == u128::from(base) & mask
}

/// The IPv4 address in the low 32 bits.
fn low_v4(ip: Ipv6Addr) -> Ipv4Addr {
    Ipv4Addr::from(u128::from(ip) as u32)
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    if METADATA_V6.contains(&ip) {
        return Some(Refusal::CloudMetadata);
    }
    if ip.is_unspecified() {
        return Some(Refusal::Unspecified);
    }
    if ip.is_loopback() {
        return Some(Refusal::Loopback);
    }
    let v6 = |a, b, c, d, e, f, g, h| Ipv6Addr::new(a, b, c, d, e, f, g, h);
    // IPv4-mapped (::ffff:0:0/96): the connection goes to the IPv4 address.
    if in_v6(ip, v6(0, 0, 0, 0, 0, 0xffff, 0, 0), 96) {
        return classify_v4(low_v4(ip));
    }
    // IPv4-compatible (::/96, deprecated): refused, with the embedded address's reason
    // when it has one.
    if in_v6(ip, Ipv6Addr::UNSPECIFIED, 96) {
        return Some(classify_v4(low_v4(ip)).unwrap_or(Refusal::Reserved));
    }
    // NAT64 well-known prefix: a gateway forwards to the embedded IPv4 address.
    if in_v6(ip, v6(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return classify_v4(low_v4(ip));
    }
    // 6to4 embeds an IPv4 address in bits 16..48.
    if in_v6(ip, v6(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        let embedded = Ipv4Addr::from((u128::from(ip) >> 80) as u32);
        return classify_v4(embedded);
    }
    const RANGES: &[(Ipv6Addr, u32, Refusal)] = &[
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, Refusal::Multicast),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, Refusal::LinkLocal),
        (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, Refusal::UniqueLocal),
        (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, Refusal::UniqueLocal),
        // Local-use NAT64 (RFC 8215): a private translator.
        (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, Refusal::Private),
        (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32, Refusal::Documentation),
        (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, Refusal::Documentation),
        // IETF protocol assignments, Teredo (which embeds IPv4 addresses) among them.
        (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, Refusal::Reserved),
    ];
    if let Some((_, _, refusal)) = RANGES.iter().find(|(base, prefix, _)| in_v6(ip, *base, *prefix)) {
        return Some(*refusal);
    }
    // Only 2000::/3 is allocated as global unicast; the rest (discard-only 100::/64,
    // SRv6 5f00::/16...) is not a web server.
    if !in_v6(ip, v6(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return Some(Refusal::Reserved);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn class(text: &str) -> Option<Refusal> {
        classify(ip(text))
    }

    #[test]
    fn public_addresses_of_both_families_are_allowed() {
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "9.9.9.9",
            "93.184.215.14",
            "11.0.0.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            "2a00:1450:4007:80e::200e",
            "2400:cb00::1",
            // Public IPv4 behind the IPv6 forms that translate to it.
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(class(public), None, "{public}");
            assert_eq!(check(ip(public), false), Ok(()), "{public}");
        }
    }

    #[test]
    fn every_non_public_ipv4_range_is_refused() {
        for (addr, want) in [
            ("10.0.0.0", Refusal::Private),
            ("10.255.255.255", Refusal::Private),
            ("172.16.0.1", Refusal::Private),
            ("172.31.255.255", Refusal::Private),
            ("192.168.0.1", Refusal::Private),
            ("192.168.255.255", Refusal::Private),
            ("127.0.0.1", Refusal::Loopback),
            ("127.255.255.254", Refusal::Loopback),
            ("169.254.0.1", Refusal::LinkLocal),
            ("169.254.255.255", Refusal::LinkLocal),
            ("100.64.0.1", Refusal::SharedAddressSpace),
            ("100.127.255.255", Refusal::SharedAddressSpace),
            ("0.0.0.0", Refusal::Unspecified),
            ("0.1.2.3", Refusal::Reserved),
            ("255.255.255.255", Refusal::Broadcast),
            ("224.0.0.1", Refusal::Multicast),
            ("239.255.255.250", Refusal::Multicast),
            ("240.0.0.1", Refusal::Reserved),
            ("255.255.255.254", Refusal::Reserved),
            ("192.0.0.8", Refusal::Reserved),
            ("192.88.99.1", Refusal::Reserved),
            ("198.18.0.1", Refusal::Reserved),
            ("198.19.255.255", Refusal::Reserved),
            ("192.0.2.1", Refusal::Documentation),
            ("198.51.100.7", Refusal::Documentation),
            ("203.0.113.255", Refusal::Documentation),
        ] {
            assert_eq!(class(addr), Some(want), "{addr}");
            assert!(check(ip(addr), false).is_err(), "{addr}");
        }
    }

    #[test]
    fn every_non_public_ipv6_range_is_refused() {
        for (addr, want) in [
            ("::1", Refusal::Loopback),
            ("::", Refusal::Unspecified),
            ("fe80::1", Refusal::LinkLocal),
            ("febf:ffff::1", Refusal::LinkLocal),
            ("fc00::1", Refusal::UniqueLocal),
            ("fdff:ffff::1", Refusal::UniqueLocal),
            ("fec0::1", Refusal::UniqueLocal),
            ("ff02::1", Refusal::Multicast),
            ("ff0e::101", Refusal::Multicast),
            ("2001:db8::1", Refusal::Documentation),
            ("3fff::1", Refusal::Documentation),
            ("2001::1", Refusal::Reserved),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Refusal::Reserved),
            ("100::1", Refusal::Reserved),
            ("5f00::1", Refusal::Reserved),
            ("64:ff9b:1::a00:1", Refusal::Private),
            ("4000::1", Refusal::Reserved),
        ] {
            assert_eq!(class(addr), Some(want), "{addr}");
            assert!(check(ip(addr), false).is_err(), "{addr}");
        }
    }

    #[test]
    fn ipv4_hidden_in_ipv6_is_judged_as_ipv4() {
        for (addr, want) in [
            // IPv4-mapped.
            ("::ffff:127.0.0.1", Refusal::Loopback),
            ("::ffff:10.1.2.3", Refusal::Private),
            ("::ffff:192.168.1.1", Refusal::Private),
            ("::ffff:169.254.169.254", Refusal::CloudMetadata),
            ("::ffff:100.64.0.1", Refusal::SharedAddressSpace),
            ("::ffff:0.0.0.0", Refusal::Unspecified),
            ("::ffff:7f00:1", Refusal::Loopback),
            // IPv4-compatible (deprecated): refused even when public.
            ("::127.0.0.1", Refusal::Loopback),
            ("::10.0.0.1", Refusal::Private),
            ("::8.8.8.8", Refusal::Reserved),
            // NAT64 well-known prefix.
            ("64:ff9b::127.0.0.1", Refusal::Loopback),
            ("64:ff9b::a9fe:a9fe", Refusal::CloudMetadata),
            ("64:ff9b::192.168.0.1", Refusal::Private),
            ("64:ff9b::172.16.0.1", Refusal::Private),
            // 6to4.
            ("2002:7f00:0001::1", Refusal::Loopback),
            ("2002:0a00:0001::", Refusal::Private),
            ("2002:a9fe:a9fe::1", Refusal::CloudMetadata),
        ] {
            assert_eq!(class(addr), Some(want), "{addr}");
            assert!(check(ip(addr), false).is_err(), "{addr}");
        }
    }

    #[test]
    fn cloud_metadata_addresses_are_named() {
        for addr in ["169.254.169.254", "169.254.170.2", "169.254.169.253", "100.100.100.200", "fd00:ec2::254"] {
            assert_eq!(class(addr), Some(Refusal::CloudMetadata), "{addr}");
        }
    }

    #[test]
    fn allow_private_opens_private_ranges_but_not_metadata_or_unspecified() {
        for opened in ["127.0.0.1", "::1", "10.0.0.1", "192.168.1.1", "172.20.0.1", "fd12::1", "fe80::1", "100.64.1.1"]
        {
            assert!(check(ip(opened), false).is_err(), "{opened}");
            assert_eq!(check(ip(opened), true), Ok(()), "{opened}");
        }
        for closed in [
            "169.254.169.254",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "224.0.0.1",
            "ff02::1",
        ] {
            assert!(check(ip(closed), true).is_err(), "{closed}");
        }
    }

    #[test]
    fn one_bad_address_among_good_ones_refuses_the_host() {
        let public = ip("93.184.215.14");
        assert_eq!(check_all(&[public, ip("2606:4700::1")], false), Ok(()));
        assert_eq!(check_all(&[public, ip("10.0.0.7")], false), Err((ip("10.0.0.7"), Refusal::Private)));
        assert_eq!(check_all(&[ip("::1"), public], false), Err((ip("::1"), Refusal::Loopback)));
        assert_eq!(check_all(&[public, ip("127.0.0.1")], true), Ok(()));
        assert_eq!(
            check_all(&[public, ip("169.254.169.254")], true),
            Err((ip("169.254.169.254"), Refusal::CloudMetadata))
        );
    }

    #[test]
    fn reasons_read_as_sentences() {
        assert_eq!(Refusal::Loopback.to_string(), "a loopback address");
        assert_eq!(Refusal::CloudMetadata.to_string(), "a cloud metadata service address");
    }
}
