//! Where webhooks, callbacks and A2A push notifications may be sent: http(s) URLs only, and never
//! to loopback, private, link-local or other internal addresses unless the deployment allows them.
//! The check runs on the URL when a subscription is made and again on every address DNS returns at
//! delivery time (a hostname that later resolves to an internal address is refused then, DNS
//! rebinding included).
//!
//! # How an address is judged
//!
//! Every address lands in one of four classes: **public** (always allowed), **loopback** (allowed
//! only with `webhooks.allow_loopback`), **private** (only with `webhooks.allow_private`) and
//! **never** (no setting allows it: it is not a unicast address anything could answer on). An
//! IPv6 address that carries an IPv4 address is judged by the IPv4 address it reaches, so
//! `[::127.0.0.1]`, `[::ffff:7f00:1]` and `[2002:7f00:1::]` are all loopback. Numeric host
//! spellings (`0x7f.1`, `0177.0.0.1`, `2130706433`, `127.1`, `%31%32%37.0.0.1`) are read by the
//! WHATWG parser of the `url` crate into the IPv4 address a browser or resolver would use, and
//! judged as that; IPv6 zone ids (`[fe80::1%25eth0]`) do not parse at all.
//!
//! IPv4:
//!
//! | range | class | why |
//! |---|---|---|
//! | `0.0.0.0/8` | never | "this network"; connecting to 0.0.0.0 reaches the local host on Linux |
//! | `127.0.0.0/8` | loopback | |
//! | `10/8`, `172.16/12`, `192.168/16` | private | RFC 1918 |
//! | `100.64.0.0/10` | private | carrier-grade NAT shared space |
//! | `169.254.0.0/16` | private | link-local; cloud metadata services (169.254.169.254) live here |
//! | `192.0.0.0/24` | private | IETF protocol assignments (DS-Lite, NAT64 discovery, PCP/TURN anycast) |
//! | `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24` | private | documentation: never routed on the internet, so whatever answers is local (a lab may allow it) |
//! | `198.18.0.0/15` | private | benchmarking; also what fake-IP DNS proxies hand out |
//! | `192.88.99.0/24` | never | deprecated 6to4 relay anycast (RFC 7526): a relay router, never a receiver |
//! | `224.0.0.0/4` | never | multicast |
//! | `240.0.0.0/4` | never | reserved |
//! | `255.255.255.255` | never | limited broadcast |
//! | anything else | public | |
//!
//! IPv6 (an "embedded" class is the IPv4 table's class for the carried address):
//!
//! | range | class | why |
//! |---|---|---|
//! | `::1` | loopback | |
//! | `::` | never | unspecified |
//! | `::ffff:0:0/96` IPv4-mapped | embedded | a dual-stack socket connects to the IPv4 address itself |
//! | `::/96` IPv4-compatible (but `::`, `::1`) | embedded; public → never | deprecated (RFC 4291): some stacks tunnel it to the IPv4 address, others route it nowhere; no receiver has one, so write the IPv4 address itself |
//! | `::ffff:0:0:0/96` IPv4-translated | private; embedded never → never | SIIT: reaches IPv4 through a translator inside the operator's network |
//! | `64:ff9b::/96` NAT64 | private; embedded never → never | reaches IPv4 through the network's NAT64 translator, so even a public embedded address counts as private (as before); an embedded loopback is the translator's, not ours, so private too |
//! | `64:ff9b:1::/48` local-use NAT64 | private | RFC 8215: the operator picks where the IPv4 sits in it, so it is not decoded |
//! | `100::/64`, `100:0:0:1::/64` | never | discard-only (RFC 6666) and the dummy prefix (RFC 9780) |
//! | `2001::/32` Teredo | embedded, twice | the server (bits 32–63) and the client (last 32 bits XOR `0xffffffff`) are both judged; refused if either is refused, public when both are public (the relay delivers to the client's public NAT address) |
//! | `2001:10::/28`, `2001:20::/28`, `2001:30::/28` | never | ORCHID, ORCHIDv2, drone remote ID: identifiers, not locators |
//! | `2001:2::/48` | private | benchmarking |
//! | rest of `2001::/23` | private | IETF protocol assignments (anycast services, AMT, AS112): no receiver lives there |
//! | `2001:db8::/32`, `3fff::/20` | private | documentation (as for IPv4) |
//! | `2002::/16` 6to4 | embedded (bits 16–47) | the packet is tunnelled to that IPv4 address; a public one stays public |
//! | `5f00::/16` | private | SRv6 segment identifiers (RFC 9602), local to an SR domain |
//! | `fc00::/7` | private | unique local |
//! | `fe80::/10` | private | link-local |
//! | `fec0::/10` | private | deprecated site-local (RFC 3879); where still used it is internal, like `fc00::/7` |
//! | `ff00::/8` | never | multicast |
//! | rest of `2000::/3` | public | global unicast |
//! | anything else (rest of `::/8`, `4000::/3`, …) | never | reserved by the IETF, not global unicast |
//!
//! A refusal names the host as the URL wrote it, the address it was read as when that differs,
//! and, for an IPv6 form carrying IPv4, the IPv4 address it reaches.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest accepted URL.
const MAX_URL_LEN: usize = 2048;

/// Longest host spelling quoted back in a refusal.
const MAX_SHOWN_HOST: usize = 80;

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
    #[error("{0}; the deployment does not allow loopback webhook targets (webhooks.allow_loopback)")]
    Loopback(Refused),
    #[error("{0}; the deployment does not allow private webhook targets (webhooks.allow_private)")]
    Private(Refused),
    #[error("{0}; it is not a unicast address a webhook can be sent to")]
    NotUnicast(Refused),
}

/// A refused address: how it was written, what it was read as, and what it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The host as written, with the address it was read as when the spelling is not plain.
    shown: String,
    ip: IpAddr,
    verdict: Verdict,
}

impl Refused {
    /// The address that was refused.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The IPv4 address an IPv6 form carries, when that is what was judged.
    pub fn embedded(&self) -> Option<Ipv4Addr> {
        self.verdict.embeds.map(|(v4, _)| v4)
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = &self.verdict;
        match v.embeds {
            Some((v4, form)) => {
                write!(f, "{} embeds the IPv4 address {v4} ({form}), {}", self.shown, v.what)?
            }
            None => write!(f, "{} is {}", self.shown, v.what)?,
        }
        if let Some(note) = v.note {
            write!(f, "; {note}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TargetPolicy {
    /// 127.0.0.0/8, ::1, and IPv6 forms carrying a 127/8 address (the dev config allows these).
    pub allow_loopback: bool,
    /// RFC 1918, carrier-grade NAT, link-local (cloud metadata), documentation and benchmarking
    /// ranges, IPv6 unique/site/link-local, NAT64; see the module doc for the whole table.
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
        let written = written_host(raw);
        match url.host() {
            None => return Err(TargetError::NoHost),
            Some(url::Host::Ipv4(ip)) => self.check(written.as_deref(), IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check(written.as_deref(), IpAddr::V6(ip))?,
            Some(url::Host::Domain(name)) if is_localhost_name(name) => {
                self.check(written.as_deref().or(Some(name)), IpAddr::V4(Ipv4Addr::LOCALHOST))?
            }
            Some(url::Host::Domain(_)) => {}
        }
        Ok(url)
    }

    /// Whether deliveries may go to `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        self.check(None, ip)
    }

    fn check(&self, written: Option<&str>, ip: IpAddr) -> Result<(), TargetError> {
        for verdict in judge(ip) {
            let allowed = match verdict.class {
                Class::Public => true,
                Class::Loopback => self.allow_loopback,
                Class::Private => self.allow_private,
                Class::Never => false,
            };
            if allowed {
                continue;
            }
            let refused = Refused { shown: shown(written, ip), ip, verdict };
            return Err(match verdict.class {
                Class::Loopback => TargetError::Loopback(refused),
                Class::Private => TargetError::Private(refused),
                Class::Public | Class::Never => TargetError::NotUnicast(refused),
            });
        }
        Ok(())
    }
}

/// The host as written, followed by the address it was read as unless the spelling is the
/// plain text form of that address.
fn shown(written: Option<&str>, ip: IpAddr) -> String {
    match written {
        Some(w) if w.parse::<IpAddr>() == Ok(ip) => w.to_string(),
        Some(w) => format!("{w} ({ip})"),
        None => ip.to_string(),
    }
}

/// The host part of a URL as the subscriber typed it (only to quote it back; the `url` crate's
/// reading is what is judged). `None` when it cannot be picked out plainly.
fn written_host(raw: &str) -> Option<String> {
    let cleaned: String =
        raw.trim_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    let (_scheme, rest) = cleaned.split_once(':')?;
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = rest.split(['/', '\\', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(inner) => inner.split(']').next()?,
        None => host_port.split(':').next()?,
    };
    let plain = !host.is_empty()
        && host.chars().count() <= MAX_SHOWN_HOST
        && !host.chars().any(|c| c.is_control() || c.is_whitespace());
    plain.then(|| host.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Public,
    Loopback,
    Private,
    Never,
}

/// One judgement: the class, what the judged address is ("a loopback address (127.0.0.0/8)"),
/// the IPv4 address it carries when an IPv6 form was judged by that, and why the class differs
/// from the carried address's own, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Verdict {
    class: Class,
    what: &'static str,
    embeds: Option<(Ipv4Addr, &'static str)>,
    note: Option<&'static str>,
}

const fn plain(class: Class, what: &'static str) -> Verdict {
    Verdict { class, what, embeds: None, note: None }
}

/// Every judgement an address gets (one, or two for Teredo's server and client); it is allowed
/// only when the policy allows each.
fn judge(ip: IpAddr) -> Vec<Verdict> {
    match ip {
        IpAddr::V4(v4) => vec![judge_v4(v4)],
        IpAddr::V6(v6) => judge_v6(v6),
    }
}

fn judge_v4(ip: Ipv4Addr) -> Verdict {
    use Class::*;
    match ip.octets() {
        [0, ..] => plain(Never, "a \"this network\" address (0.0.0.0/8), which reaches the local host"),
        [127, ..] => plain(Loopback, "a loopback address (127.0.0.0/8)"),
        [255, 255, 255, 255] => plain(Never, "the broadcast address"),
        [224..=239, ..] => plain(Never, "a multicast address (224.0.0.0/4)"),
        [240..=255, ..] => plain(Never, "a reserved address (240.0.0.0/4)"),
        [10, ..] | [172, 16..=31, ..] | [192, 168, ..] => plain(Private, "a private address (RFC 1918)"),
        [100, 64..=127, ..] => plain(Private, "a carrier-grade NAT address (100.64.0.0/10)"),
        [169, 254, ..] => {
            plain(Private, "a link-local address (169.254.0.0/16, where cloud metadata services answer)")
        }
        [192, 0, 0, _] => plain(Private, "an IETF protocol address (192.0.0.0/24)"),
        [192, 0, 2, _] => plain(Private, "a documentation address (192.0.2.0/24)"),
        [198, 51, 100, _] => plain(Private, "a documentation address (198.51.100.0/24)"),
        [203, 0, 113, _] => plain(Private, "a documentation address (203.0.113.0/24)"),
        [198, 18..=19, ..] => plain(Private, "a benchmarking address (198.18.0.0/15)"),
        [192, 88, 99, _] => plain(Never, "a deprecated 6to4 relay anycast address (192.88.99.0/24)"),
        _ => plain(Public, "a public address"),
    }
}

/// How an IPv6 form that carries an IPv4 address turns the carried address's class into its own.
#[derive(Clone, Copy)]
enum Carries {
    /// The IPv4 address's class as it is.
    Same,
    /// As it is, but a public one is never (the form itself is dead).
    PublicIsNever(&'static str),
    /// Private at least (a translator in the operator's network delivers it); never stays never.
    AtLeastPrivate(&'static str),
}

fn carried(form: &'static str, v4: Ipv4Addr, rule: Carries) -> Verdict {
    let own = judge_v4(v4);
    let (class, note) = match (rule, own.class) {
        (Carries::PublicIsNever(why), Class::Public) => (Class::Never, Some(why)),
        (Carries::AtLeastPrivate(_), Class::Never | Class::Private) => (own.class, None),
        (Carries::AtLeastPrivate(why), _) => (Class::Private, Some(why)),
        _ => (own.class, None),
    };
    Verdict { class, what: own.what, embeds: Some((v4, form)), note }
}

const COMPATIBLE_NOTE: &str = "IPv4-compatible addresses (::/96) are deprecated and route nowhere reliable; \
     write the IPv4 address itself";
const TRANSLATED_NOTE: &str = "IPv4-translated addresses (::ffff:0:0:0/96) reach IPv4 through a translator \
     in the network, so they count as private";
const NAT64_NOTE: &str =
    "NAT64 addresses (64:ff9b::/96) reach IPv4 through the network's translator, so they count as private";
const LOCAL_NAT64: &str =
    "a local-use NAT64 address (64:ff9b:1::/48), which reaches IPv4 through the network's own translator";

fn judge_v6(ip: Ipv6Addr) -> Vec<Verdict> {
    use Class::*;
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let tail = v4(s[6], s[7]);
    let one = |v: Verdict| vec![v];
    match s {
        [0, 0, 0, 0, 0, 0, 0, 1] => one(plain(Loopback, "the IPv6 loopback address (::1)")),
        [0, 0, 0, 0, 0, 0, 0, 0] => one(plain(Never, "the unspecified address (::)")),
        [0, 0, 0, 0, 0, 0xffff, ..] => one(carried("IPv4-mapped", tail, Carries::Same)),
        [0, 0, 0, 0, 0, 0, ..] => {
            one(carried("IPv4-compatible, deprecated", tail, Carries::PublicIsNever(COMPATIBLE_NOTE)))
        }
        [0, 0, 0, 0, 0xffff, 0, ..] => {
            one(carried("IPv4-translated", tail, Carries::AtLeastPrivate(TRANSLATED_NOTE)))
        }
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => one(carried("NAT64", tail, Carries::AtLeastPrivate(NAT64_NOTE))),
        [0x64, 0xff9b, 1, ..] => one(plain(Private, LOCAL_NAT64)),
        [0x100, 0, 0, 0, ..] => one(plain(Never, "a discard-only address (100::/64)")),
        [0x100, 0, 0, 1, ..] => one(plain(Never, "a dummy address (100:0:0:1::/64)")),
        [0x2001, 0, ..] => vec![
            carried("Teredo server, bits 32-63", v4(s[2], s[3]), Carries::Same),
            carried("Teredo client, the last 32 bits inverted", !tail, Carries::Same),
        ],
        [0x2001, 0x10..=0x1f, ..] => one(plain(Never, "an ORCHID identifier (2001:10::/28), not a locator")),
        [0x2001, 0x20..=0x2f, ..] => {
            one(plain(Never, "an ORCHIDv2 identifier (2001:20::/28), not a locator"))
        }
        [0x2001, 0x30..=0x3f, ..] => {
            one(plain(Never, "a drone remote ID identifier (2001:30::/28), not a locator"))
        }
        [0x2001, 2, 0, ..] => one(plain(Private, "a benchmarking address (2001:2::/48)")),
        [0x2001, 0..=0x1ff, ..] => one(plain(Private, "an IETF protocol address (2001::/23)")),
        [0x2001, 0xdb8, ..] => one(plain(Private, "a documentation address (2001:db8::/32)")),
        [0x2002, hi, lo, ..] => one(carried("6to4, bits 16-47", v4(hi, lo), Carries::Same)),
        [0x3fff, 0..=0x0fff, ..] => one(plain(Private, "a documentation address (3fff::/20)")),
        [0x5f00, ..] => one(plain(Private, "an SRv6 segment identifier (5f00::/16)")),
        [0xfc00..=0xfdff, ..] => one(plain(Private, "a unique local address (fc00::/7)")),
        [0xfe80..=0xfebf, ..] => one(plain(Private, "a link-local address (fe80::/10)")),
        [0xfec0..=0xfeff, ..] => one(plain(Private, "a deprecated site-local address (fec0::/10)")),
        [0xff00..=0xffff, ..] => one(plain(Never, "a multicast address (ff00::/8)")),
        [0x2000..=0x3fff, ..] => one(plain(Public, "a public address")),
        _ => one(plain(Never, "a reserved address (outside global unicast 2000::/3)")),
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

    /// What a URL's host must be judged as.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Want {
        Public,
        Loopback,
        Private,
        Never,
        Unparsable,
    }

    const SPELLINGS: &[(&str, Want)] = {
        use Want::*;
        &[
            // IPv4, plain and in the spellings the WHATWG parser reads as numbers.
            ("http://127.0.0.1/", Loopback),
            ("http://127.255.255.254/", Loopback),
            ("http://0x7f.1/", Loopback),
            ("http://0x7f.0.0.0x1/", Loopback),
            ("http://0177.0.0.1/", Loopback),
            ("http://2130706433/", Loopback),
            ("http://0x7F000001/", Loopback),
            ("http://017700000001/", Loopback),
            ("http://127.1/", Loopback),
            ("http://127.0.1/", Loopback),
            ("http://127.0.0.1./", Loopback),
            ("http://%31%32%37.0.0.1/", Loopback),
            ("http://\u{ff11}\u{ff12}\u{ff17}.\u{ff10}.\u{ff10}.\u{ff11}/", Loopback),
            ("http:127.0.0.1", Loopback),
            ("http:\\\\127.0.0.1\\x", Loopback),
            ("http://12\t7.0.0.1/", Loopback),
            ("http://127.0.0.1:80\\@93.184.216.34/", Loopback),
            ("http://localhost/", Loopback),
            ("HTTP://LOCALHOST./", Loopback),
            ("http://hooks.localhost:8080/", Loopback),
            ("http://0/", Never),
            ("http://0x/", Never),
            ("http://00000/", Never),
            ("http://0x0.0x0.0x0.0x0/", Never),
            ("http://0.1.2.3/", Never),
            ("http://169.254.169.254/latest", Private),
            ("http://169.254.43518/", Private),
            ("http://0251.0376.0251.0376/", Private),
            ("http://0xa9fea9fe/", Private),
            ("http://10.0.0.1/", Private),
            ("http://012.1/", Private),
            ("http://172.16.0.1/", Private),
            ("http://172.31.255.255/", Private),
            ("http://192.168.0.1/", Private),
            ("http://100.64.0.1/", Private),
            ("http://100.127.255.255/", Private),
            ("http://192.0.0.8/", Private),
            ("http://192.0.2.1/", Private),
            ("http://198.51.100.7/", Private),
            ("http://203.0.113.9/", Private),
            ("http://198.18.0.1/", Private),
            ("http://198.19.255.255/", Private),
            ("http://192.88.99.1/", Never),
            ("http://224.0.0.1/", Never),
            ("http://239.255.255.250/", Never),
            ("http://240.0.0.1/", Never),
            ("http://255.255.255.255/", Never),
            ("http://0xffffffff/", Never),
            ("http://1.2.3.4.5/", Unparsable),
            ("http://256.0.0.1/", Unparsable),
            ("http://0x100000000/", Unparsable),
            ("http://93.184.216.34/", Public),
            ("https://8.8.8.8:8443/hook", Public),
            ("http://172.32.0.1/", Public),
            ("http://100.128.0.1/", Public),
            ("http://192.0.1.1/", Public),
            ("http://198.20.0.1/", Public),
            ("http://1572395042/", Public),
            ("https://hooks.example.com/kubently", Public),
            // IPv6: loopback, unspecified, bracket and case forms.
            ("http://[::1]/", Loopback),
            ("http://[::1]:8080/x", Loopback),
            ("http://[0:0:0:0:0:0:0:1]/", Loopback),
            ("http://[::]/", Never),
            ("http://[::0]/", Never),
            ("http://[fe80::1%25eth0]/", Unparsable),
            ("http://[fe80::1%eth0]/", Unparsable),
            ("http://::1/", Unparsable),
            ("http://[127.0.0.1]/", Unparsable),
            // IPv4-mapped.
            ("http://[::ffff:127.0.0.1]/", Loopback),
            ("http://[::FFFF:7F00:1]/", Loopback),
            ("http://[0:0:0:0:0:ffff:7f00:1]/", Loopback),
            ("http://[::ffff:169.254.169.254]/", Private),
            ("http://[::ffff:a00:1]/", Private),
            ("http://[::ffff:0.0.0.0]/", Never),
            ("http://[::ffff:255.255.255.255]/", Never),
            ("http://[::ffff:93.184.216.34]/", Public),
            ("http://[::ffff:5db8:d822]/", Public),
            // IPv4-compatible.
            ("http://[::127.0.0.1]/", Loopback),
            ("http://[::7F00:1]/", Loopback),
            ("http://[::a9fe:a9fe]/", Private),
            ("http://[::A9FE:A9FE]/", Private),
            ("http://[::10.1.2.3]/", Private),
            ("http://[::2]/", Never),
            ("http://[::224.0.0.1]/", Never),
            ("http://[::93.184.216.34]/", Never),
            // IPv4-translated and NAT64: private at least.
            ("http://[::ffff:0:127.0.0.1]/", Private),
            ("http://[::ffff:0:93.184.216.34]/", Private),
            ("http://[::ffff:0:0.0.0.0]/", Never),
            ("http://[64:ff9b::127.0.0.1]/", Private),
            ("http://[64:ff9b::7f00:1]/", Private),
            ("http://[64:FF9B::A9FE:A9FE]/", Private),
            ("http://[64:ff9b::93.184.216.34]/", Private),
            ("http://[64:ff9b::224.0.0.1]/", Never),
            ("http://[64:ff9b:1::1]/", Private),
            ("http://[64:ff9b:1:abcd::5db8:d822]/", Private),
            ("http://[64:ff9b:2::1]/", Never),
            // 6to4.
            ("http://[2002:7f00:1::]/", Loopback),
            ("http://[2002:7F00:0001::1]/", Loopback),
            ("http://[2002:a9fe:a9fe::]/", Private),
            ("http://[2002:a00:1::1]/", Private),
            ("http://[2002:c058:6301::]/", Never),
            ("http://[2002::]/", Never),
            ("http://[2002:5db8:d822::1]/", Public),
            // Teredo: the server (bits 32-63) and the inverted client (last 32 bits).
            ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", Loopback),
            ("http://[2001:0:4136:e378::5601:5601]/", Private),
            ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", Private),
            ("http://[2001:0:a00:1::a247:27dd]/", Private),
            ("http://[2001:0:4136:e378::ffff:ffff]/", Never),
            ("http://[2001::]/", Never),
            ("http://[2001:0:4136:e378::a247:27dd]/", Public),
            // Other special-purpose ranges.
            ("http://[fec0::1]/", Private),
            ("http://[FEC0::1]/", Private),
            ("http://[feff:ffff::1]/", Private),
            ("http://[fe80::1]/", Private),
            ("http://[FE80::1]/", Private),
            ("http://[febf::1]/", Private),
            ("http://[fd00::1]/", Private),
            ("http://[fc00::1]/", Private),
            ("http://[ff02::1]/", Never),
            ("http://[FF05::1:3]/", Never),
            ("http://[2001:db8::1]/", Private),
            ("http://[2001:DB8:85A3::8A2E:370:7334]/", Private),
            ("http://[3fff::1]/", Private),
            ("http://[3fff:fff::1]/", Private),
            ("http://[100::1]/", Never),
            ("http://[100:0:0:1::1]/", Never),
            ("http://[2001:10::1]/", Never),
            ("http://[2001:20::1]/", Never),
            ("http://[2001:30::1]/", Never),
            ("http://[2001:2::1]/", Private),
            ("http://[2001:1::1]/", Private),
            ("http://[2001:3::1]/", Private),
            ("http://[2001:4:112::1]/", Private),
            ("http://[2001:1ff::1]/", Private),
            ("http://[5f00::1]/", Private),
            ("http://[1::1]/", Never),
            ("http://[4000::1]/", Never),
            ("http://[::1:0:0:1]/", Never),
            // Public IPv6 stays accepted.
            ("http://[2606:4700::1111]/", Public),
            ("https://[2606:4700:4700::1111]:8443/hook", Public),
            ("http://[2001:4860:4860::8888]/", Public),
            ("http://[2A00:1450:4001:80B::200E]/", Public),
            ("http://[2001:200::1]/", Public),
            ("http://[2620:4f:8000::1]/", Public),
            ("http://[3ffe::1]/", Public),
            ("http://[3fff:1000::1]/", Public),
        ]
    };

    /// What a check came to, in the table's terms.
    fn outcome(result: &Result<Url, TargetError>) -> Want {
        match result {
            Ok(_) => Want::Public,
            Err(TargetError::Loopback(_)) => Want::Loopback,
            Err(TargetError::Private(_)) => Want::Private,
            Err(TargetError::NotUnicast(_)) => Want::Never,
            Err(TargetError::Unparsable(_)) => Want::Unparsable,
            Err(other) => panic!("unexpected refusal {other}"),
        }
    }

    #[test]
    fn every_spelling_is_judged_by_what_it_reaches() {
        let loopback = TargetPolicy { allow_loopback: true, allow_private: false };
        let private = TargetPolicy { allow_loopback: false, allow_private: true };
        let both = TargetPolicy { allow_loopback: true, allow_private: true };
        assert!(SPELLINGS.len() >= 60);
        let mut wrong = Vec::new();
        for &(url, want) in SPELLINGS {
            // Under each policy, what the host must come to (Public = accepted).
            let allowed_under = |allowed: bool| if allowed { Want::Public } else { want };
            let expected = [
                (STRICT, "strict", want),
                (loopback, "allow_loopback", allowed_under(want == Want::Loopback)),
                (private, "allow_private", allowed_under(want == Want::Private)),
                (both, "both", allowed_under(matches!(want, Want::Loopback | Want::Private))),
            ];
            for (policy, name, expect) in expected {
                let result = policy.check_url(url);
                let got = outcome(&result);
                if got != expect {
                    wrong.push(format!("{url:?} under {name}: want {expect:?}, got {got:?} ({result:?})"));
                }
            }
        }
        assert!(wrong.is_empty(), "{} wrong:\n{}", wrong.len(), wrong.join("\n"));
    }

    #[test]
    fn teredo_is_refused_when_either_embedded_address_is() {
        // Server 10.0.0.1 (private), client 127.0.0.1 (loopback).
        let url = "http://[2001:0:a00:1::80ff:fffe]/";
        let loopback = TargetPolicy { allow_loopback: true, allow_private: false };
        let private = TargetPolicy { allow_loopback: false, allow_private: true };
        let both = TargetPolicy { allow_loopback: true, allow_private: true };
        assert!(matches!(STRICT.check_url(url), Err(TargetError::Private(_))));
        assert!(matches!(loopback.check_url(url), Err(TargetError::Private(_))));
        let err = private.check_url(url).expect_err("client is loopback");
        assert!(matches!(err, TargetError::Loopback(_)));
        assert!(err.to_string().contains("127.0.0.1 (Teredo client"), "{err}");
        assert!(both.check_url(url).is_ok());
    }

    #[test]
    fn refusals_name_the_written_host_and_what_it_reaches() {
        let msg = |url: &str| STRICT.check_url(url).expect_err(url).to_string();
        let compatible = msg("http://[::127.0.0.1]/");
        assert!(
            compatible.starts_with("::127.0.0.1 embeds the IPv4 address 127.0.0.1 (IPv4-compatible"),
            "{compatible}"
        );
        assert!(compatible.contains("a loopback address") && compatible.contains("allow_loopback"));
        let six_to_four = msg("http://[2002:A9FE:A9FE::]/");
        assert!(
            six_to_four.starts_with("2002:A9FE:A9FE:: embeds the IPv4 address 169.254.169.254 (6to4"),
            "{six_to_four}"
        );
        let hex = msg("http://0x7f.1/");
        assert!(hex.starts_with("0x7f.1 (127.0.0.1) is a loopback address"), "{hex}");
        let decimal = msg("http://2130706433:80/");
        assert!(decimal.starts_with("2130706433 (127.0.0.1) is a loopback"), "{decimal}");
        let name = msg("http://localhost/");
        assert!(name.starts_with("localhost (127.0.0.1) is a loopback"), "{name}");
        let nat64 = msg("http://[64:ff9b::93.184.216.34]/");
        assert!(nat64.contains("embeds the IPv4 address 93.184.216.34 (NAT64), a public address"), "{nat64}");
        assert!(nat64.contains("count as private") && nat64.contains("allow_private"), "{nat64}");
        let site = msg("http://[fec0::1]:8080/");
        assert!(site.starts_with("fec0::1 is a deprecated site-local address (fec0::/10)"), "{site}");
        let mapped = msg("http://[::ffff:169.254.169.254]/");
        assert!(mapped.contains("(IPv4-mapped), a link-local address"), "{mapped}");
        let never = msg("http://[::93.184.216.34]/");
        assert!(never.contains("deprecated") && never.contains("unicast"), "{never}");
        // The resolver's path has no spelling: the address itself is named.
        let err = STRICT.check_ip("::ffff:127.0.0.1".parse().expect("ip")).expect_err("loopback");
        assert!(
            err.to_string().starts_with("::ffff:127.0.0.1 embeds the IPv4 address 127.0.0.1 (IPv4-mapped)"),
            "{err}"
        );
        match err {
            TargetError::Loopback(refused) => {
                assert_eq!(refused.embedded(), Some(Ipv4Addr::LOCALHOST));
                assert_eq!(refused.ip(), "::ffff:127.0.0.1".parse::<IpAddr>().expect("ip"));
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn the_resolver_path_judges_embedded_addresses_too() {
        for ip in ["::7f00:1", "2002:7f00:1::", "::ffff:7f00:1", "2001:0:4136:e378:8000:63bf:80ff:fffe"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(matches!(STRICT.check_ip(ip), Err(TargetError::Loopback(_))), "{ip}");
        }
        for ip in ["::a9fe:a9fe", "2002:a9fe:a9fe::", "fec0::1", "64:ff9b::5db8:d822"] {
            let ip: IpAddr = ip.parse().expect("ip");
            assert!(matches!(STRICT.check_ip(ip), Err(TargetError::Private(_))), "{ip}");
        }
        assert!(STRICT.check_ip("2606:4700::1111".parse().expect("ip")).is_ok());
        assert!(STRICT.check_ip("93.184.216.34".parse().expect("ip")).is_ok());
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
