//! `[serve]`: settings of the public endpoint (`newsletter serve`): where the
//! confirmation link points, which proxies may name the client address,
//! whether to record it as proof of consent, and the abuse limits.

use super::Errors;
use serde::Deserialize;
use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq)]
pub struct Serve {
    /// The link in confirmation messages, with `{token}`; None: sign-ups are off.
    pub confirm_url: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed (address or CIDR block).
    pub trusted_proxies: Vec<IpNet>,
    /// Store the client address of the sign-up and confirming requests.
    pub record_ip: bool,
    /// Sign-up requests per client address per hour (0: no limit).
    pub subscribe_per_hour: u32,
    /// Open connections at most; more are answered 503 and closed.
    pub max_connections: usize,
}

/// An address block such as `10.0.0.0/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

/// `::ffff:1.2.3.4` is 1.2.3.4 (a dual-stack socket reports IPv4 peers that way).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = ((bits / 8) as usize, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServe {
    confirm_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
    record_ip: Option<bool>,
    subscribe_per_hour: Option<u32>,
    max_connections: Option<usize>,
    signups: Option<bool>,
}

/// `[serve]` with defaults; problems go to `errors` at their line.
pub(super) fn parse(raw: Option<RawServe>, unsubscribe_url: Option<&str>, errors: &mut Errors<'_>) -> Serve {
    let r = raw.as_ref();
    let mut confirm_url = match r.and_then(|r| r.confirm_url.as_ref()) {
        Some(v) => {
            let problem = if !v.starts_with("https://") && !v.starts_with("http://") {
                Some("must be an http(s) URL")
            } else if v.contains(|c: char| c.is_whitespace() || c.is_control()) {
                Some("must not contain spaces or control characters")
            } else if !v.contains("{token}") {
                Some("must contain {token}")
            } else {
                None
            };
            if let Some(p) = problem {
                errors.at("serve.confirm_url", format!("[serve] confirm_url: {p}"));
            }
            Some(v.clone())
        }
        None => unsubscribe_url.map(confirm_url_beside),
    };
    if r.and_then(|r| r.signups) == Some(false) {
        confirm_url = None;
    }
    let trusted_proxies = match r.and_then(|r| r.trusted_proxies.as_ref()) {
        None => vec![
            IpNet::parse("127.0.0.1").expect("valid"),
            IpNet::parse("::1").expect("valid"),
        ],
        Some(list) => list
            .iter()
            .filter_map(|p| {
                let net = IpNet::parse(p.trim());
                if net.is_none() {
                    let msg = format!(
                        "[serve] trusted_proxies: \"{}\" is not an IP address or CIDR block",
                        p.escape_debug()
                    );
                    errors.at("serve.trusted_proxies", msg);
                }
                net
            })
            .collect(),
    };
    let max_connections = match r.and_then(|r| r.max_connections) {
        Some(m) if m < 16 => {
            errors.at(
                "serve.max_connections",
                "[serve] max_connections: must be at least 16".into(),
            );
            16
        }
        Some(m) => m,
        None => 512,
    };
    Serve {
        confirm_url,
        trusted_proxies,
        record_ip: r.and_then(|r| r.record_ip).unwrap_or(false),
        subscribe_per_hour: r.and_then(|r| r.subscribe_per_hour).unwrap_or(10),
        max_connections,
    }
}

/// `https://example.com/news/u?token={token}` → `https://example.com/news/confirm?token={token}`:
/// the endpoint serves both, so the confirmation link sits beside the unsubscribe link.
fn confirm_url_beside(unsubscribe_url: &str) -> String {
    let path_end = unsubscribe_url.find(['?', '#']).unwrap_or(unsubscribe_url.len());
    let after_scheme = unsubscribe_url.find("://").map_or(0, |i| i + 3);
    let folder_end = unsubscribe_url[after_scheme..path_end]
        .rfind('/')
        .map_or(path_end, |i| after_scheme + i);
    format!("{}/confirm?token={{token}}", &unsubscribe_url[..folder_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confirm_url_defaults_beside_the_unsubscribe_url() {
        assert_eq!(
            confirm_url_beside("https://example.com/u?token={token}"),
            "https://example.com/confirm?token={token}"
        );
        assert_eq!(
            confirm_url_beside("https://example.com/news/letter/u?token={token}"),
            "https://example.com/news/letter/confirm?token={token}"
        );
        assert_eq!(
            confirm_url_beside("https://example.com?token={token}"),
            "https://example.com/confirm?token={token}"
        );
    }

    #[test]
    fn bad_values_name_their_lines_and_defaults_apply() {
        let head = "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\nlanguage = \"ko\"\n";
        let text = format!(
            "{head}[serve]\nconfirm_url = \"https://example.com/confirm\"\ntrusted_proxies = [\"10.0.0.0/8\", \"proxy.local\"]\nmax_connections = 2\n"
        );
        let e = crate::config::parse(std::path::Path::new("n.toml"), &text).unwrap_err();
        let shown: Vec<String> = e.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "n.toml:6:15: error: [serve] confirm_url: must contain {token}",
                "n.toml:7:19: error: [serve] trusted_proxies: \"proxy.local\" is not an IP address or CIDR block",
                "n.toml:8:19: error: [serve] max_connections: must be at least 16",
            ]
        );
        let c = crate::config::parse(std::path::Path::new("n.toml"), head).unwrap();
        assert_eq!(c.newsletter.language, crate::config::Language::Ko);
        assert_eq!(
            (c.serve.confirm_url, c.serve.record_ip, c.serve.subscribe_per_hour),
            (None, false, 10)
        );
        let off = format!("{head}unsubscribe_url = \"https://e.com/u?token={{token}}\"\n[serve]\nsignups = false\n");
        assert_eq!(
            crate::config::parse(std::path::Path::new("n.toml"), &off)
                .unwrap()
                .serve
                .confirm_url,
            None
        );
        let bad = "[newsletter]\nname = \"N\"\nfrom = \"n@example.com\"\nlanguage = \"fr\"\n";
        let e = crate::config::parse(std::path::Path::new("n.toml"), bad).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "n.toml:4:12: error: [newsletter] language: unknown value \"fr\" (expected \"ko\" or \"en\")"
        );
    }

    #[test]
    fn ip_blocks() {
        let net = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()), "mapped IPv4");
        let one = IpNet::parse("::1").unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        let odd = IpNet::parse("192.168.0.0/23").unwrap();
        assert!(odd.contains("192.168.1.255".parse().unwrap()));
        assert!(!odd.contains("192.168.2.0".parse().unwrap()));
        assert_eq!(IpNet::parse("1.2.3.4/33"), None);
        assert_eq!(IpNet::parse("example.com"), None);
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }
}
