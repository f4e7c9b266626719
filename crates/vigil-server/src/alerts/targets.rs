//! Where channels added through the API or CLI may send: public addresses only, unless the
//! operator allows others (`[alerts] allow_private_targets`). An admin of alerts could otherwise
//! make the server call its own network (a metadata endpoint, an internal service) and read the
//! answer back from a test message's error.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Whether an address is one the public Internet routes: not loopback, private, link-local,
/// shared (CGNAT), unspecified, broadcast, multicast, documentation, benchmarking or reserved
/// (IPv4), nor loopback, unspecified, unique-local, link-local, multicast or documentation
/// (IPv6); an IPv4-mapped or -compatible IPv6 address is judged as its IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public_v4(v4);
            }
            let s = v6.segments();
            // ::a.b.c.d (deprecated IPv4-compatible) and the NAT64 prefix carry an IPv4 address.
            if s[..6] == [0; 6] && !v6.is_unspecified() && !v6.is_loopback() {
                return public_v4(Ipv4Addr::from(v6.to_bits() as u32));
            }
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return public_v4(Ipv4Addr::from(v6.to_bits() as u32));
            }
            // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
            if s[0] == 0x2002 {
                return public_v4(Ipv4Addr::from(((s[1] as u32) << 16) | s[2] as u32));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64
                || (s[0] == 0x2001 && s[1] < 0x0200)) // IETF protocol assignments (Teredo, …)
        }
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// Why a host was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// It is (or resolves to) an address that is not public.
    #[error("{0}")]
    NotPublic(String),
    /// It does not resolve now.
    #[error("{0}")]
    Unresolved(String),
}

/// Resolves `host` (a name or an address) and refuses it unless every address is public: the
/// message says which address is not.
pub async fn check_public(field: &str, host: &str) -> Result<(), TargetError> {
    let literal = host.trim_matches(['[', ']']);
    let addresses: Vec<IpAddr> = match literal.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((literal, 0))
            .await
            .map_err(|e| {
                TargetError::Unresolved(format!("{field}: {host:?} does not resolve ({e})"))
            })?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(TargetError::Unresolved(format!(
            "{field}: {host:?} does not resolve"
        )));
    }
    match addresses.into_iter().find(|ip| !is_public(*ip)) {
        None => Ok(()),
        Some(ip) => Err(TargetError::NotPublic(format!(
            "{field}: {host:?} is {ip}, not a public address: channels added through the API \
             send only to public addresses (the operator may allow others with \
             allow_private_targets = true in [alerts] of vigil.toml)"
        ))),
    }
}

/// A resolver for the HTTP client of channels added through the API or CLI: names resolve
/// only to public addresses, checked at the moment of connecting (so that a name cannot
/// resolve to a public address when checked and to a private one when used).
#[derive(Debug, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!(
                    "{host:?} resolves to no public address (allow_private_targets is off)"
                )
                .into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.10",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "64:ff9b:1::a00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "1.1.1.1",
            "149.154.167.220",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
