//! Host-name resolution without NSS: `/etc/hosts`, then DNS over UDP (TCP when a reply is
//! truncated) to the name servers of `/etc/resolv.conf`.
//!
//! # Why not `getaddrinfo`
//!
//! The layer's binary is linked statically (`+crt-static`) so that it runs on Amazon Linux 2
//! (glibc 2.26) and 2023 alike, whatever the function's image. A statically linked glibc still
//! resolves names through NSS, and NSS `dlopen`s `libnss_*.so.2` *of the glibc the binary was
//! linked with* from the sandbox's `/lib`: a different glibc there gives failures or crashes, and
//! a sandbox with none of them gives no resolution at all. `std::net::ToSocketAddrs` and ureq's
//! default resolver both call `getaddrinfo`, so every name Vigil resolves in Lambda — the
//! policy's `host:port` destinations and the collector URL's host — goes through this module
//! instead. It does what a Lambda sandbox needs and no more: the `files` and `dns` sources in
//! that order (Lambda's `nsswitch.conf`), A and AAAA, `search`/`ndots`, `timeout`/`attempts`,
//! and an overall deadline so that a dead name server cannot stall a cold start.
//!
//! Messages are built and parsed with `simple-dns` (no I/O of its own); the transport is std's
//! `UdpSocket`/`TcpStream`.
//!
//! ```
//! use vigil_lambda::dns::Resolver;
//! let r = Resolver::system();
//! // IP literals never touch the network.
//! let addrs = r.resolve_netloc("127.0.0.1:9001").unwrap();
//! assert_eq!(addrs, vec!["127.0.0.1:9001".parse().unwrap()]);
//! ```

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, QCLASS, QTYPE, RCODE, TYPE};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Where the static host table is.
pub const HOSTS: &str = "/etc/hosts";
/// Where the resolver configuration is.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// The longest one name may take to resolve, over every server, attempt and search suffix.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(5);

/// Why a name did not resolve.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The name is not a valid DNS name.
    #[error("`{0}` is not a valid host name")]
    InvalidName(String),
    /// The name servers say the name does not exist (or has no address).
    #[error("`{0}` has no address (not in {HOSTS}; the name servers know no A or AAAA record)")]
    NotFound(String),
    /// No name server answered in time.
    #[error("`{name}`: no answer from the name servers {servers} within {ms} ms")]
    Timeout {
        /// The name.
        name: String,
        /// The servers asked.
        servers: String,
        /// The deadline.
        ms: u128,
    },
    /// The servers answered with an error (SERVFAIL, REFUSED, …) or could not be reached.
    #[error("`{name}`: {detail}")]
    Failed {
        /// The name.
        name: String,
        /// What the servers said, or the socket error.
        detail: String,
    },
}

impl From<DnsError> for std::io::Error {
    fn from(e: DnsError) -> Self {
        let kind = match e {
            DnsError::Timeout { .. } => std::io::ErrorKind::TimedOut,
            DnsError::InvalidName(_) => std::io::ErrorKind::InvalidInput,
            _ => std::io::ErrorKind::NotFound,
        };
        std::io::Error::new(kind, e)
    }
}

/// What `/etc/resolv.conf` says (the parts glibc's stub resolver uses for A/AAAA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvConf {
    /// `nameserver` lines (port 53), at most three as in glibc; `127.0.0.1` when there is none.
    pub nameservers: Vec<SocketAddr>,
    /// `search` (or `domain`) suffixes.
    pub search: Vec<String>,
    /// `options ndots:N` (default 1).
    pub ndots: usize,
    /// `options timeout:N` seconds per try (default 5).
    pub timeout: Duration,
    /// `options attempts:N` rounds over the servers (default 2).
    pub attempts: u32,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            nameservers: vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 53))],
            search: Vec::new(),
            ndots: 1,
            timeout: Duration::from_secs(5),
            attempts: 2,
        }
    }
}

/// Parses `resolv.conf(5)` text; unknown lines and options are ignored, as glibc does.
pub fn parse_resolv_conf(text: &str) -> ResolvConf {
    let mut c = ResolvConf {
        nameservers: Vec::new(),
        ..ResolvConf::default()
    };
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or_default();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                // `fe80::1%eth0`: the zone is dropped (a Lambda sandbox has no link-local DNS).
                let ip = words
                    .next()
                    .map(|w| w.split('%').next().unwrap_or(w))
                    .and_then(|w| w.parse::<IpAddr>().ok());
                if let Some(ip) = ip {
                    if c.nameservers.len() < 3 {
                        c.nameservers.push(SocketAddr::new(ip, 53));
                    }
                }
            }
            // The last of `search` and `domain` wins.
            Some("search") => c.search = words.map(normalise).collect(),
            Some("domain") => c.search = words.next().map(normalise).into_iter().collect(),
            Some("options") => {
                for o in words {
                    let (k, v) = o.split_once(':').unwrap_or((o, ""));
                    let n = v.parse::<u64>().ok();
                    match (k, n) {
                        ("ndots", Some(n)) => c.ndots = n.min(15) as usize,
                        ("timeout", Some(n)) => c.timeout = Duration::from_secs(n.clamp(1, 30)),
                        ("attempts", Some(n)) => c.attempts = n.clamp(1, 5) as u32,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    c.search.retain(|s| !s.is_empty());
    if c.nameservers.is_empty() {
        c.nameservers = ResolvConf::default().nameservers;
    }
    c
}

/// Letters, digits, `-` and `_` in labels of 1 to 63 bytes, 253 in all (RFC 1123, with the
/// underscore that internal names use). Anything else would be sent as an odd query.
fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Lower case, without the trailing dot.
fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Parses `hosts(5)` text into (name, address) pairs, names lower-cased, in file order.
pub fn parse_hosts(text: &str) -> Vec<(String, IpAddr)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(ip) = words.next() else { continue };
        let Ok(ip) = ip.split('%').next().unwrap_or(ip).parse::<IpAddr>() else {
            continue;
        };
        out.extend(words.map(|n| (normalise(n), ip)));
    }
    out
}

/// A resolver reading `/etc/hosts` and `/etc/resolv.conf` (re-read at each lookup, as they
/// are small and a long-lived extension should follow changes).
#[derive(Debug, Clone)]
pub struct Resolver {
    hosts: PathBuf,
    conf: Conf,
    deadline: Duration,
}

#[derive(Debug, Clone)]
enum Conf {
    File(PathBuf),
    Fixed(ResolvConf),
}

impl Default for Resolver {
    fn default() -> Self {
        Resolver::system()
    }
}

impl Resolver {
    /// The system's files, with [`DEFAULT_DEADLINE`].
    pub fn system() -> Resolver {
        Resolver::with_files(HOSTS, RESOLV_CONF)
    }

    /// Other files (tests, chroots).
    pub fn with_files(hosts: impl Into<PathBuf>, resolv_conf: impl Into<PathBuf>) -> Resolver {
        Resolver {
            hosts: hosts.into(),
            conf: Conf::File(resolv_conf.into()),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// A hosts file and a given configuration (name servers on any port: a local resolver,
    /// tests).
    pub fn with_conf(hosts: impl Into<PathBuf>, conf: ResolvConf) -> Resolver {
        Resolver {
            hosts: hosts.into(),
            conf: Conf::Fixed(conf),
            deadline: DEFAULT_DEADLINE,
        }
    }

    /// Sets the longest one lookup may take in all.
    pub fn deadline(mut self, deadline: Duration) -> Resolver {
        self.deadline = deadline;
        self
    }

    /// The addresses of `name` (IPv4 first, then IPv6, each in the order given): an IP literal
    /// is itself; then `/etc/hosts`; then DNS. `localhost` (and `*.localhost`, RFC 6761) is
    /// loopback when the hosts file does not say otherwise.
    pub fn lookup(&self, name: &str) -> Result<Vec<IpAddr>, DnsError> {
        let literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        if let Ok(ip) = literal.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let key = normalise(name);
        if !valid_host_name(&key) {
            return Err(DnsError::InvalidName(name.to_string()));
        }
        let hosts = std::fs::read_to_string(&self.hosts).unwrap_or_default();
        let mut from_file: Vec<IpAddr> = parse_hosts(&hosts)
            .into_iter()
            .filter(|(n, _)| *n == key)
            .map(|(_, ip)| ip)
            .collect();
        if !from_file.is_empty() {
            dedup_v4_first(&mut from_file);
            return Ok(from_file);
        }
        if key == "localhost" || key.ends_with(".localhost") {
            return Ok(vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]);
        }
        let conf = match &self.conf {
            Conf::Fixed(c) => c.clone(),
            // A missing file means glibc's defaults (a name server on 127.0.0.1).
            Conf::File(p) => std::fs::read_to_string(p)
                .map(|t| parse_resolv_conf(&t))
                .unwrap_or_default(),
        };
        self.query_dns(name, &key, &conf)
    }

    /// Resolves `host:port` (or `[v6]:port`) as ureq's resolver does.
    pub fn resolve_netloc(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        if let Ok(a) = netloc.parse::<SocketAddr>() {
            return Ok(vec![a]);
        }
        let bad = || {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("`{netloc}` is not host:port"),
            )
        };
        let (host, port) = netloc.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        Ok(self
            .lookup(host)?
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }

    /// The search list, as glibc's `res_search` orders it.
    fn candidates(key: &str, absolute: bool, conf: &ResolvConf) -> Vec<String> {
        if absolute {
            return vec![key.to_string()];
        }
        let suffixed = conf.search.iter().map(|s| format!("{key}.{s}"));
        if key.matches('.').count() >= conf.ndots {
            std::iter::once(key.to_string()).chain(suffixed).collect()
        } else {
            suffixed.chain(std::iter::once(key.to_string())).collect()
        }
    }

    fn query_dns(
        &self,
        given: &str,
        key: &str,
        conf: &ResolvConf,
    ) -> Result<Vec<IpAddr>, DnsError> {
        let until = Instant::now() + self.deadline;
        let mut last: Option<Failure> = None;
        for candidate in Self::candidates(key, given.ends_with('.'), conf) {
            match query_servers(&candidate, conf, until) {
                Ok(Answer::Addresses(mut ips)) => {
                    dedup_v4_first(&mut ips);
                    return Ok(ips);
                }
                // NXDOMAIN or no data: try the next suffix.
                Ok(Answer::NoSuchName) => {}
                Err(e) => last = Some(e),
            }
            if Instant::now() >= until {
                break;
            }
        }
        Err(match last {
            Some(Failure::Timeout) => DnsError::Timeout {
                name: given.to_string(),
                servers: servers_text(conf),
                ms: self.deadline.as_millis(),
            },
            Some(Failure::Other(detail)) => DnsError::Failed {
                name: given.to_string(),
                detail,
            },
            None => DnsError::NotFound(given.to_string()),
        })
    }
}

impl ureq::Resolver for Resolver {
    fn resolve(&self, netloc: &str) -> std::io::Result<Vec<SocketAddr>> {
        self.resolve_netloc(netloc)
    }
}

/// A ureq agent builder whose host names go through [`Resolver::system`] (never NSS).
pub fn agent_builder() -> ureq::AgentBuilder {
    ureq::AgentBuilder::new().resolver(Resolver::system())
}

/// Resolves every name (the policy's `host:port` destinations), in order; a name that does not
/// resolve is left out and its error returned beside the addresses.
pub fn resolve_all<'a>(
    resolver: &Resolver,
    names: impl IntoIterator<Item = &'a str>,
) -> (Vec<(String, IpAddr)>, Vec<DnsError>) {
    let (mut found, mut errors) = (Vec::new(), Vec::new());
    for name in names {
        match resolver.lookup(name) {
            Ok(ips) => found.extend(ips.into_iter().map(|ip| (name.to_string(), ip))),
            Err(e) => errors.push(e),
        }
    }
    (found, errors)
}

/// The addresses of a policy's `host:port` destinations, for the supervisor; a name that does
/// not resolve is reported on stderr (the function's log) and matches nothing.
pub fn policy_hosts(policy: &vigil_policy::Policy) -> Vec<(String, IpAddr)> {
    let (found, errors) = resolve_all(&Resolver::system(), policy.host_names());
    for e in errors {
        eprintln!("vigil: warning: host {e}; it matches nothing in the policy");
    }
    found
}

fn servers_text(conf: &ResolvConf) -> String {
    conf.nameservers
        .iter()
        .map(|s| s.ip().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup_v4_first(ips: &mut Vec<IpAddr>) {
    let mut seen = Vec::with_capacity(ips.len());
    for ip in ips.iter() {
        if !seen.contains(ip) {
            seen.push(*ip);
        }
    }
    seen.sort_by_key(|ip| ip.is_ipv6());
    *ips = seen;
}

enum Answer {
    Addresses(Vec<IpAddr>),
    NoSuchName,
}

/// Why one candidate name got no answer (kept as the error if no candidate resolves).
enum Failure {
    Timeout,
    Other(String),
}

/// A query id no off-path host can guess (std's `RandomState` is keyed from the OS's random
/// source); with the kernel's random source port this is what stub resolvers rely on.
fn query_id() -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish() as u16
}

fn query(id: u16, name: &str, qtype: TYPE) -> Result<Vec<u8>, Failure> {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|e| Failure::Other(e.to_string()))?;
    p.questions.push(Question::new(
        qname,
        QTYPE::TYPE(qtype),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    p.build_bytes_vec()
        .map_err(|e| Failure::Other(e.to_string()))
}

/// What one reply says, once it is known to answer our question.
enum Reply {
    Addresses(Vec<IpAddr>),
    /// NXDOMAIN, or NOERROR without an address of this type.
    Nothing,
    /// The answer did not fit in UDP: ask again over TCP.
    Truncated,
    /// SERVFAIL, REFUSED…: ask the next server.
    Error(String),
}

/// Checks that `bytes` answers `(id, name, qtype)` and reads its addresses, following CNAMEs
/// from `name` within the answer section.
fn read_reply(bytes: &[u8], id: u16, name: &str, qtype: TYPE) -> Option<Reply> {
    let p = Packet::parse(bytes).ok()?;
    if p.id() != id || !p.has_flags(PacketFlag::RESPONSE) {
        return None;
    }
    let q = p.questions.first()?;
    if normalise(&q.qname.to_string()) != name || q.qtype != QTYPE::TYPE(qtype) {
        return None;
    }
    if p.has_flags(PacketFlag::TRUNCATION) {
        return Some(Reply::Truncated);
    }
    match p.rcode() {
        RCODE::NoError => {}
        RCODE::NameError => return Some(Reply::Nothing),
        other => return Some(Reply::Error(format!("the name server answered {other:?}"))),
    }
    let mut names = vec![name.to_string()];
    // A chain is at most as long as the answer section.
    for _ in 0..=p.answers.len() {
        let mut grew = false;
        for rr in &p.answers {
            if let RData::CNAME(target) = &rr.rdata {
                let (from, to) = (
                    normalise(&rr.name.to_string()),
                    normalise(&target.0.to_string()),
                );
                if names.contains(&from) && !names.contains(&to) {
                    names.push(to);
                    grew = true;
                }
            }
        }
        if !grew {
            break;
        }
    }
    let ips: Vec<IpAddr> = p
        .answers
        .iter()
        .filter(|rr| names.contains(&normalise(&rr.name.to_string())))
        .filter_map(|rr| match &rr.rdata {
            RData::A(a) if qtype == TYPE::A => Some(Ipv4Addr::from(a.address).into()),
            RData::AAAA(a) if qtype == TYPE::AAAA => Some(Ipv6Addr::from(a.address).into()),
            _ => None,
        })
        .collect();
    Some(if ips.is_empty() {
        Reply::Nothing
    } else {
        Reply::Addresses(ips)
    })
}

/// Asks the servers for the A and AAAA records of `name` (both at once, as glibc does),
/// `attempts` rounds over the servers, each try bounded by `timeout`, all by `until`.
fn query_servers(name: &str, conf: &ResolvConf, until: Instant) -> Result<Answer, Failure> {
    let mut failure = Failure::Timeout;
    for _ in 0..conf.attempts {
        for &server in &conf.nameservers {
            let now = Instant::now();
            if now >= until {
                return Err(Failure::Timeout);
            }
            let try_until = until.min(now + conf.timeout);
            match ask(server, name, try_until) {
                Ok(a) => return Ok(a),
                Err(Failure::Timeout) => {}
                Err(e) => failure = e,
            }
        }
    }
    Err(failure)
}

fn ask(server: SocketAddr, name: &str, until: Instant) -> Result<Answer, Failure> {
    let other = |e: std::io::Error| Failure::Other(format!("name server {}: {e}", server.ip()));
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = UdpSocket::bind(bind).map_err(other)?;
    // connect: the kernel then drops datagrams from any other address.
    sock.connect(server).map_err(other)?;
    let mut pending: Vec<(u16, TYPE)> = Vec::new();
    for qtype in [TYPE::A, TYPE::AAAA] {
        let id = query_id();
        sock.send(&query(id, name, qtype)?).map_err(other)?;
        pending.push((id, qtype));
    }
    let mut ips = Vec::new();
    let mut buf = [0u8; 1500];
    while !pending.is_empty() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Timeout);
        }
        sock.set_read_timeout(Some(left)).map_err(other)?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Failure::Timeout)
            }
            // ECONNREFUSED: nothing listens there; the next server may.
            Err(e) => return Err(other(e)),
        };
        let Some(i) = pending
            .iter()
            .position(|&(id, t)| read_reply(&buf[..n], id, name, t).is_some())
        else {
            continue; // not ours: a stale or forged datagram
        };
        let (id, qtype) = pending.remove(i);
        let reply = match read_reply(&buf[..n], id, name, qtype) {
            Some(Reply::Truncated) => ask_tcp(server, id, name, qtype, until)?,
            Some(r) => r,
            None => continue,
        };
        match reply {
            Reply::Addresses(a) => ips.extend(a),
            Reply::Nothing => {}
            Reply::Error(e) => return Err(Failure::Other(e)),
            Reply::Truncated => return Err(Failure::Other("truncated over TCP".into())),
        }
    }
    Ok(if ips.is_empty() {
        Answer::NoSuchName
    } else {
        Answer::Addresses(ips)
    })
}

/// RFC 1035 §4.2.2: the same query over TCP, each message prefixed by its length.
fn ask_tcp(
    server: SocketAddr,
    id: u16,
    name: &str,
    qtype: TYPE,
    until: Instant,
) -> Result<Reply, Failure> {
    let other =
        |e: std::io::Error| Failure::Other(format!("name server {} (TCP): {e}", server.ip()));
    let left = || {
        let l = until.saturating_duration_since(Instant::now());
        if l.is_zero() {
            Err(Failure::Timeout)
        } else {
            Ok(l)
        }
    };
    let mut s = TcpStream::connect_timeout(&server, left()?).map_err(other)?;
    let q = query(id, name, qtype)?;
    let len = u16::try_from(q.len()).map_err(|_| Failure::Other("query too long".into()))?;
    let mut msg = len.to_be_bytes().to_vec();
    msg.extend_from_slice(&q);
    s.set_write_timeout(Some(left()?)).map_err(other)?;
    s.write_all(&msg).map_err(other)?;
    s.set_read_timeout(Some(left()?)).map_err(other)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).map_err(other)?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut body).map_err(other)?;
    read_reply(&body, id, name, qtype)
        .ok_or_else(|| Failure::Other("the TCP answer does not match the question".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const HOSTS_FIXTURE: &str = "\
# /etc/hosts as Lambda and Debian write it
127.0.0.1\tlocalhost
::1     localhost ip6-localhost ip6-loopback   # loopback
169.254.100.1 sandbox.localdomain sandbox
10.0.0.7 Collector.Internal. collector
10.0.0.8 collector.internal
fe80::1%eth0 linklocal
not-an-ip bogus
";

    /// A fixture file of its own (tests run in parallel: a shared file could be read while
    /// another test rewrites it), removed when the returned path drops.
    fn tmp(name: &str, text: &str) -> tempfile::TempPath {
        let mut f = tempfile::Builder::new()
            .prefix(&format!("vigil-dns-{name}-"))
            .tempfile()
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f.into_temp_path()
    }

    #[test]
    fn hosts_file_is_parsed_like_glibc() {
        let h = parse_hosts(HOSTS_FIXTURE);
        let get = |n: &str| -> Vec<IpAddr> {
            h.iter()
                .filter(|(k, _)| k == n)
                .map(|(_, ip)| *ip)
                .collect()
        };
        assert_eq!(
            get("localhost"),
            [
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(get("ip6-loopback"), ["::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(get("sandbox"), ["169.254.100.1".parse::<IpAddr>().unwrap()]);
        // Case and the trailing dot do not matter; every line for a name counts.
        assert_eq!(
            get("collector.internal"),
            [
                "10.0.0.7".parse::<IpAddr>().unwrap(),
                "10.0.0.8".parse().unwrap()
            ]
        );
        assert_eq!(get("linklocal"), ["fe80::1".parse::<IpAddr>().unwrap()]);
        assert!(get("bogus").is_empty());
        assert!(get("loopback").is_empty(), "comments are not names");
    }

    #[test]
    fn resolv_conf_is_parsed_like_glibc() {
        let c = parse_resolv_conf(
            "# comment\nnameserver 10.0.0.2\nnameserver fe80::53%eth0 ; zone\nnameserver nonsense\n\
             domain a.example\nsearch b.example. C.example\noptions ndots:2 timeout:1 attempts:3 rotate\n\
             nameserver 10.0.0.3\nnameserver 10.0.0.4\n",
        );
        assert_eq!(
            c.nameservers,
            ["10.0.0.2:53", "[fe80::53]:53", "10.0.0.3:53"]
                .map(|s| s.parse::<SocketAddr>().unwrap())
        );
        assert_eq!(c.search, ["b.example", "c.example"]);
        assert_eq!(
            (c.ndots, c.timeout, c.attempts),
            (2, Duration::from_secs(1), 3)
        );
        // Nothing usable: glibc's defaults.
        assert_eq!(parse_resolv_conf(""), ResolvConf::default());
        // The search order follows ndots.
        assert_eq!(
            Resolver::candidates("api", false, &c),
            ["api.b.example", "api.c.example", "api"]
        );
        assert_eq!(
            Resolver::candidates("a.b.c", false, &c),
            ["a.b.c", "a.b.c.b.example", "a.b.c.c.example"]
        );
        assert_eq!(Resolver::candidates("api", true, &c), ["api"]);
    }

    /// A name server for tests: answers A/AAAA from `zone` (name → addresses, or a CNAME
    /// written `cname:target`), NXDOMAIN for other names; with `truncate`, answers over UDP
    /// with TC set and serves the full answer over TCP on the same port.
    struct TestServer {
        addr: SocketAddr,
        udp_queries: Arc<AtomicUsize>,
        tcp_queries: Arc<AtomicUsize>,
    }

    fn answer(query: &[u8], zone: &[(&str, &str)], truncate: bool) -> Option<Vec<u8>> {
        let q = Packet::parse(query).ok()?;
        let mut r = q.clone().into_reply();
        r.set_flags(PacketFlag::RECURSION_AVAILABLE);
        let question = q.questions.first()?.clone();
        let mut name = normalise(&question.qname.to_string());
        let mut found = false;
        let mut owned: Vec<simple_dns::ResourceRecord<'static>> = Vec::new();
        for _ in 0..4 {
            let entries: Vec<&(&str, &str)> = zone.iter().filter(|(n, _)| *n == name).collect();
            for (n, v) in entries {
                found = true;
                let rname = Name::new_unchecked(n).into_owned();
                if let Some(target) = v.strip_prefix("cname:") {
                    let t = Name::new_unchecked(target).into_owned();
                    owned.push(simple_dns::ResourceRecord::new(
                        rname,
                        CLASS::IN,
                        60,
                        RData::CNAME(simple_dns::rdata::CNAME(t)),
                    ));
                    name = target.to_string();
                    continue;
                }
                let ip: IpAddr = v.parse().ok()?;
                let rdata = match (ip, question.qtype) {
                    (IpAddr::V4(v4), QTYPE::TYPE(TYPE::A)) => {
                        RData::A(simple_dns::rdata::A { address: v4.into() })
                    }
                    (IpAddr::V6(v6), QTYPE::TYPE(TYPE::AAAA)) => {
                        RData::AAAA(simple_dns::rdata::AAAA { address: v6.into() })
                    }
                    _ => continue,
                };
                owned.push(simple_dns::ResourceRecord::new(rname, CLASS::IN, 60, rdata));
            }
        }
        if !found {
            *r.rcode_mut() = RCODE::NameError;
        }
        if truncate {
            r.set_flags(PacketFlag::TRUNCATION);
        } else {
            r.answers = owned;
        }
        r.build_bytes_vec().ok()
    }

    impl TestServer {
        fn start(zone: &'static [(&'static str, &'static str)], truncate: bool) -> TestServer {
            // The TCP port must be the UDP one, which another socket may hold: try a few.
            let (udp, tcp) = (0..50)
                .find_map(|_| {
                    let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
                    let tcp = std::net::TcpListener::bind(udp.local_addr().ok()?).ok()?;
                    Some((udp, tcp))
                })
                .expect("a loopback port free for both UDP and TCP");
            let addr = udp.local_addr().unwrap();
            let (udp_queries, tcp_queries) =
                (Arc::<AtomicUsize>::default(), Arc::<AtomicUsize>::default());
            let uq = Arc::clone(&udp_queries);
            std::thread::spawn(move || {
                let mut buf = [0u8; 1500];
                while let Ok((n, from)) = udp.recv_from(&mut buf) {
                    uq.fetch_add(1, Ordering::SeqCst);
                    if let Some(r) = answer(&buf[..n], zone, truncate) {
                        let _ = udp.send_to(&r, from);
                    }
                }
            });
            let tq = Arc::clone(&tcp_queries);
            std::thread::spawn(move || {
                for s in tcp.incoming() {
                    let Ok(mut s) = s else { continue };
                    tq.fetch_add(1, Ordering::SeqCst);
                    let mut len = [0u8; 2];
                    if s.read_exact(&mut len).is_err() {
                        continue;
                    }
                    let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if s.read_exact(&mut q).is_err() {
                        continue;
                    }
                    if let Some(r) = answer(&q, zone, false) {
                        let mut out = (r.len() as u16).to_be_bytes().to_vec();
                        out.extend_from_slice(&r);
                        let _ = s.write_all(&out);
                    }
                }
            });
            TestServer {
                addr,
                udp_queries,
                tcp_queries,
            }
        }
    }

    static ZONE: &[(&str, &str)] = &[
        ("api.example.com", "192.0.2.10"),
        ("api.example.com", "2001:db8::10"),
        ("api.example.com", "192.0.2.11"),
        ("v6only.example.com", "2001:db8::6"),
        ("www.example.com", "cname:edge.example.net"),
        ("edge.example.net", "192.0.2.80"),
        ("short.corp.example", "192.0.2.99"),
    ];

    /// A resolver using the hosts fixture and `server` (on its own port) as name server, and
    /// the fixture's file, to be kept while the resolver is used.
    fn resolver_for(server: SocketAddr, options: &str) -> (tempfile::TempPath, Resolver) {
        let mut conf = parse_resolv_conf(options);
        conf.nameservers = vec![server];
        let hosts = tmp("hosts", HOSTS_FIXTURE);
        let r = Resolver::with_conf(hosts.to_path_buf(), conf);
        (hosts, r)
    }

    #[test]
    fn dns_answers_a_and_aaaa_v4_first() {
        let s = TestServer::start(ZONE, false);
        let (_hosts, r) = resolver_for(s.addr, "options timeout:1 attempts:1");
        let ips = r.lookup("API.example.com.").unwrap();
        assert_eq!(
            ips,
            ["192.0.2.10", "192.0.2.11", "2001:db8::10"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        assert_eq!(
            r.lookup("v6only.example.com").unwrap(),
            ["2001:db8::6".parse::<IpAddr>().unwrap()]
        );
        // CNAME chains are followed inside the answer.
        assert_eq!(
            r.lookup("www.example.com").unwrap(),
            ["192.0.2.80".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            s.udp_queries.load(Ordering::SeqCst),
            6,
            "A and AAAA per name"
        );
        let e = r.lookup("nope.example.com").unwrap_err();
        assert!(matches!(e, DnsError::NotFound(_)), "{e}");
        // Through ureq's trait, with the port.
        let addrs = ureq::Resolver::resolve(&r, "api.example.com:443").unwrap();
        assert_eq!(addrs[0], "192.0.2.10:443".parse::<SocketAddr>().unwrap());
        assert_eq!(
            addrs[2],
            "[2001:db8::10]:443".parse::<SocketAddr>().unwrap()
        );
    }

    #[test]
    fn hosts_file_wins_and_localhost_is_loopback() {
        // No server at all: these never reach DNS.
        let hosts = tmp("hosts", HOSTS_FIXTURE);
        let conf = tmp("none.conf", "nameserver 127.0.0.1\n");
        let r = Resolver::with_files(hosts.to_path_buf(), conf.to_path_buf())
            .deadline(Duration::from_millis(200));
        assert_eq!(
            r.lookup("Collector.internal").unwrap(),
            ["10.0.0.7", "10.0.0.8"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        assert_eq!(
            r.lookup("localhost").unwrap(),
            ["127.0.0.1", "::1"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        let r2 = Resolver::with_files("/nonexistent/hosts", "/nonexistent/resolv.conf");
        assert_eq!(
            r2.lookup("x.localhost").unwrap(),
            ["127.0.0.1", "::1"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        assert_eq!(
            r2.lookup("[::1]").unwrap(),
            ["::1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(
            r2.resolve_netloc("[::1]:8080").unwrap(),
            ["[::1]:8080".parse::<SocketAddr>().unwrap()]
        );
        assert!(matches!(
            r2.lookup("bad name!"),
            Err(DnsError::InvalidName(_))
        ));
    }

    #[test]
    fn search_domains_are_tried() {
        let s = TestServer::start(ZONE, false);
        let (_hosts, r) = resolver_for(s.addr, "search corp.example\noptions timeout:1 attempts:1");
        assert_eq!(
            r.lookup("short").unwrap(),
            ["192.0.2.99".parse::<IpAddr>().unwrap()]
        );
    }

    #[test]
    fn truncated_answers_are_asked_again_over_tcp() {
        let s = TestServer::start(ZONE, true);
        let (_hosts, r) = resolver_for(s.addr, "options timeout:1 attempts:1");
        assert_eq!(
            r.lookup("api.example.com").unwrap(),
            ["192.0.2.10", "192.0.2.11", "2001:db8::10"].map(|s| s.parse::<IpAddr>().unwrap())
        );
        assert_eq!(s.tcp_queries.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_silent_server_gives_a_timeout_within_the_deadline() {
        // A bound socket that never answers.
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (_hosts, r) =
            resolver_for(silent.local_addr().unwrap(), "options timeout:5 attempts:2");
        let r = r.deadline(Duration::from_millis(300));
        let e = r.lookup("api.example.com").unwrap_err();
        assert!(matches!(e, DnsError::Timeout { .. }), "{e}");
        assert!(e.to_string().contains("127.0.0.1"), "{e}");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    }

    #[test]
    fn forged_replies_are_ignored() {
        // A server answering with the wrong id first, then the right one.
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = udp.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                let Some(good) = answer(&buf[..n], ZONE, false) else {
                    continue;
                };
                let mut forged = Packet::parse(&good).unwrap();
                forged.set_id(forged.id().wrapping_add(1));
                forged.answers = vec![simple_dns::ResourceRecord::new(
                    Name::new_unchecked("api.example.com"),
                    CLASS::IN,
                    60,
                    RData::A(simple_dns::rdata::A {
                        address: 0x0a00_0001,
                    }),
                )];
                let _ = udp.send_to(&forged.build_bytes_vec().unwrap(), from);
                let _ = udp.send_to(&good, from);
            }
        });
        let (_hosts, r) = resolver_for(addr, "options timeout:1 attempts:1");
        let ips = r.lookup("api.example.com").unwrap();
        assert!(
            !ips.contains(&"10.0.0.1".parse::<IpAddr>().unwrap()),
            "{ips:?}"
        );
        assert_eq!(ips.len(), 3);
    }
}
