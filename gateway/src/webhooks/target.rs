//! Where webhooks may be sent: http(s) URLs only, and never to loopback, private, link-local or
//! other internal addresses unless the deployment allows them. The check runs on the URL when a
//! subscription is made and again on every address DNS returns at delivery time (a hostname
//! that later resolves to an internal address is refused then, DNS rebinding included).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest accepted URL.
const MAX_URL_LEN: usize = 2048;

/// Why a target is refused; the text completes "url …" in a 422.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("must be at most {MAX_URL_LEN} characters")]
    TooLong,
    #[error("is not a valid absolute URL: {0}")]
    Unparsable(#[source] url::ParseError),
    #[error("must use http or https, not `{0}`")]
    Scheme(String),
    #[error("must not carry credentials (user:password@); verify deliveries by their signature instead")]
    Credentials,
    #[error("must not have a #fragment")]
    Fragment,
    #[error("must have a host")]
    NoHost,
    #[error(
        "{0} is a loopback address; the deployment does not allow loopback webhook targets (webhooks.allow_loopback)"
    )]
    Loopback(IpAddr),
    #[error(
        "{0} is a private or link-local address; the deployment does not allow private webhook targets (webhooks.allow_private)"
    )]
    Private(IpAddr),
    #[error("{0} is not a unicast address a webhook can be sent to")]
    NotUnicast(IpAddr),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TargetPolicy {
    /// 127.0.0.0/8, ::1 (the dev config allows these).
    pub allow_loopback: bool,
    /// RFC 1918, carrier-grade NAT, link-local (cloud metadata), IPv6 unique/link-local.
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Parses and checks a subscriber's URL (literal IP hosts are checked here; names at delivery).
    pub fn check_url(&self, raw: &str) -> Result<Url, TargetError> {
        if raw.len() > MAX_URL_LEN {
            return Err(TargetError::TooLong);
        }
        let url = Url::parse(raw).map_err(TargetError::Unparsable)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TargetError::Scheme(url.scheme().to_string()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        if url.fragment().is_some() {
            return Err(TargetError::Fragment);
        }
        match url.host() {
            None => return Err(TargetError::NoHost),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(name)) if is_localhost_name(name) => {
                self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))?
            }
            Some(url::Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// Whether deliveries may go to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        match classify(ip) {
            Class::Public => Ok(()),
            Class::Loopback if self.allow_loopback => Ok(()),
            Class::Private if self.allow_private => Ok(()),
            Class::Loopback => Err(TargetError::Loopback(ip)),
            Class::Private => Err(TargetError::Private(ip)),
            Class::Never => Err(TargetError::NotUnicast(ip)),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
    Never,
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 || a >= 240 {
        Class::Never
    } else if ip.is_private()
        || ip.is_link_local()
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        // RFC 1918, 169.254/16, CGNAT 100.64/10, IETF 192.0.0/24 (and 192.0.2/24), benchmarking 198.18/15.
        Class::Private
    } else {
        Class::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> Class {
    if ip.is_loopback() {
        Class::Loopback
    } else if ip.is_unspecified() || ip.is_multicast() {
        Class::Never
    } else if ip.is_unique_local()
        || ip.is_unicast_link_local()
        || ip.segments()[0] == 0x64 && ip.segments()[1] == 0xff9b
    {
        // fc00::/7, fe80::/10, NAT64 64:ff9b::/96 (reaches IPv4 space through a translator).
        Class::Private
    } else {
        Class::Public
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// A DNS resolver for the delivery client that drops every address the policy refuses, and
/// fails when none is left (so reqwest never connects to one).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: TargetPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused = Some(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused.map_or_else(|| "no addresses".to_string(), |e| e.to_string());
                return Err(format!("{host} resolves to no allowed address: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

impl GuardedResolver {
    pub fn shared(policy: TargetPolicy) -> Arc<Self> {
        Arc::new(Self { policy })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy { allow_loopback: false, allow_private: false };

    #[test]
    fn only_http_and_https_urls_are_accepted() {
        assert!(STRICT.check_url("https://hooks.example.com/kubently").is_ok());
        assert!(STRICT.check_url("http://93.184.216.34:8080/x").is_ok());
        assert!(
            STRICT.check_url("ftp://example.com/").expect_err("scheme").to_string().contains("http or https")
        );
        assert!(STRICT.check_url("not a url").expect_err("parse").to_string().contains("valid absolute URL"));
        assert!(
            STRICT
                .check_url("https://user:pw@example.com/")
                .expect_err("creds")
                .to_string()
                .contains("credentials")
        );
    }

    #[test]
    fn internal_targets_are_refused_unless_allowed() {
        for url in
            ["http://127.0.0.1:9000/", "http://localhost/", "http://[::1]/", "http://[::ffff:127.0.0.1]/"]
        {
            assert!(STRICT.check_url(url).expect_err(url).to_string().contains("loopback"), "{url}");
        }
        for url in [
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
        ] {
            assert!(STRICT.check_url(url).expect_err(url).to_string().contains("private"), "{url}");
        }
        for url in ["http://0.0.0.0/", "http://224.0.0.1/", "http://255.255.255.255/", "http://[::]/"] {
            assert!(STRICT.check_url(url).expect_err(url).to_string().contains("unicast"), "{url}");
        }
        let dev = TargetPolicy { allow_loopback: true, allow_private: false };
        assert!(dev.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(dev.check_url("http://10.0.0.1/").is_err());
        let open = TargetPolicy { allow_loopback: false, allow_private: true };
        assert!(open.check_url("http://10.0.0.1/").is_ok());
        assert!(open.check_url("http://0.0.0.0/").is_err());
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let strict = GuardedResolver { policy: STRICT };
        let err = match strict.resolve("localhost".parse().expect("name")).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("no allowed address"), "{err}");
        let dev = GuardedResolver { policy: TargetPolicy { allow_loopback: true, allow_private: false } };
        let addrs: Vec<SocketAddr> =
            dev.resolve("localhost".parse().expect("name")).await.expect("allowed").collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
