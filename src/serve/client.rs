//! Who is asking: the client address (the TCP peer, or behind a trusted
//! reverse proxy the right-most untrusted `X-Forwarded-For` hop), and the
//! per-client limit on sign-up requests.

use crate::config::serve::{canonical, IpNet};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

/// The client address of a request that came from `peer`. Only a peer in
/// `trusted` may name another address; the list is read from the right (the
/// hop nearest to us) and the first address not in `trusted` is the client,
/// so a client cannot forge its address by sending the header itself.
pub fn client_ip<'a>(peer: IpAddr, forwarded_for: impl Iterator<Item = &'a str>, trusted: &[IpNet]) -> IpAddr {
    let mut client = canonical(peer);
    if !trusted.iter().any(|n| n.contains(client)) {
        return client;
    }
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).map(str::trim).collect();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = canonical(ip);
        if !trusted.iter().any(|n| n.contains(client)) {
            break;
        }
    }
    client
}

/// The key a client is limited under: the address, or its /64 for IPv6
/// (one subscriber line usually holds a whole /64).
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// At most N sign-up requests per client per hour (a burst of N, then one
/// every hour/N). None: no limit.
pub struct SignupLimit(Option<DefaultKeyedRateLimiter<IpAddr>>);

impl SignupLimit {
    pub fn per_hour(n: u32) -> SignupLimit {
        SignupLimit(NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_hour(n))))
    }

    /// Whether this client may make another request now (and counts it).
    pub fn allow(&self, ip: IpAddr) -> bool {
        self.0.as_ref().is_none_or(|l| l.check_key(&limit_key(ip)).is_ok())
    }

    /// Forgets clients whose allowance is full again, so memory stays bounded.
    pub fn prune(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| IpNet::parse(n).unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8"]);
        // Not behind a proxy: the header is the client's own invention.
        assert_eq!(
            client_ip(ip("203.0.113.9"), ["198.51.100.1"].into_iter(), &trusted),
            ip("203.0.113.9")
        );
        // Behind the proxy: the right-most hop the proxy added.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["198.51.100.1"].into_iter(), &trusted),
            ip("198.51.100.1")
        );
        // A client that sends its own header cannot hide behind it.
        let forged = ["6.6.6.6, 198.51.100.1"];
        assert_eq!(
            client_ip(ip("127.0.0.1"), forged.into_iter(), &trusted),
            ip("198.51.100.1")
        );
        // Two proxies (CDN, then ours), and several header lines.
        let two = ["198.51.100.1", "10.1.2.3"];
        assert_eq!(
            client_ip(ip("127.0.0.1"), two.into_iter(), &trusted),
            ip("198.51.100.1")
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["junk, 10.1.2.3"].into_iter(), &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), [].into_iter(), &trusted), ip("127.0.0.1"));
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), ["192.0.2.5"].into_iter(), &trusted),
            ip("192.0.2.5")
        );
        assert_eq!(
            client_ip(ip("127.0.0.1"), ["192.0.2.5"].into_iter(), &[]),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn limit_per_client_and_per_ipv6_64() {
        let limit = SignupLimit::per_hour(3);
        for _ in 0..3 {
            assert!(limit.allow(ip("192.0.2.1")));
        }
        assert!(!limit.allow(ip("192.0.2.1")));
        assert!(limit.allow(ip("192.0.2.2")), "another client is not affected");
        for i in 0..3 {
            assert!(limit.allow(ip(&format!("2001:db8:1:2::{i}"))));
        }
        assert!(!limit.allow(ip("2001:db8:1:2:ffff::9")), "same /64");
        assert!(limit.allow(ip("2001:db8:1:3::1")));
        let off = SignupLimit::per_hour(0);
        assert!((0..100).all(|_| off.allow(ip("192.0.2.1"))));
    }
}
