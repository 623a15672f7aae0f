//! The validated policy: what a function may do, and what happens when it does something else.

use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// How the sensor treats behaviour that the policy does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Allow everything and record it, to be written out as a policy.
    Learn,
    /// Allow everything, but emit an alert for each violation.
    Detect,
    /// Deny each violation (or kill, where the policy says so) and emit an event.
    Enforce,
}

impl Mode {
    /// The lowercase name used in policy files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Learn => "learn",
            Mode::Detect => "detect",
            Mode::Enforce => "enforce",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "learn" => Ok(Mode::Learn),
            "detect" => Ok(Mode::Detect),
            "enforce" => Ok(Mode::Enforce),
            other => Err(format!(
                "unknown mode `{other}`: expected one of learn, detect, enforce"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What enforce mode does with a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The system call fails (`EPERM`/`EACCES`); the process goes on.
    Deny,
    /// The offending process is killed with `SIGKILL`.
    Kill,
}

impl Action {
    /// The lowercase name used in policy files.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Deny => "deny",
            Action::Kill => "kill",
        }
    }
}

/// The weakest protection layer a function may run under (see `vigil probe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequiredLayer {
    /// The supervisor with seccomp user notification.
    KernelSensor,
    /// At least the in-kernel seccomp filter.
    KernelFilter,
    /// Run even unprotected (saying so).
    None,
}

impl RequiredLayer {
    /// The name used in policies and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RequiredLayer::KernelSensor => "kernel-sensor",
            RequiredLayer::KernelFilter => "kernel-filter",
            RequiredLayer::None => "none",
        }
    }
}

impl std::str::FromStr for RequiredLayer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "kernel-sensor" => Ok(RequiredLayer::KernelSensor),
            "kernel-filter" => Ok(RequiredLayer::KernelFilter),
            "none" => Ok(RequiredLayer::None),
            other => Err(format!(
                "unknown layer `{other}`: expected kernel-sensor, kernel-filter or none"
            )),
        }
    }
}

/// A path, or a glob over paths: `*` matches within one component, `**` across components.
#[derive(Debug, Clone)]
pub struct PathPattern {
    text: String,
    matcher: Option<globset::GlobMatcher>,
}

impl PathPattern {
    /// Parses an absolute path or glob. Errors say what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!(
                "`{text}` is not an absolute path (it must start with `/`)"
            ));
        }
        if text.contains('\0') {
            return Err("a path cannot contain a NUL byte".into());
        }
        let is_glob = text.contains(['*', '?', '[', '{']);
        let matcher = if is_glob {
            let glob = globset::GlobBuilder::new(text)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|e| format!("`{text}` is not a valid glob: {}", e.kind()))?;
            Some(glob.compile_matcher())
        } else {
            None
        };
        Ok(PathPattern {
            text: text.to_string(),
            matcher,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the pattern is a plain path rather than a glob.
    pub fn is_exact(&self) -> bool {
        self.matcher.is_none()
    }

    /// Does `path` (an absolute, resolved path) match?
    pub fn matches(&self, path: &str) -> bool {
        match &self.matcher {
            None => self.text == path,
            Some(m) => m.is_match(path),
        }
    }
}

impl PartialEq for PathPattern {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for PathPattern {}

/// A set of ports: one, an inclusive range, or any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortRange {
    /// First port.
    pub lo: u16,
    /// Last port (inclusive).
    pub hi: u16,
}

impl PortRange {
    /// Any port.
    pub const ANY: PortRange = PortRange { lo: 0, hi: 65535 };

    /// Does it contain `port`?
    pub fn contains(self, port: u16) -> bool {
        self.lo <= port && port <= self.hi
    }

    fn parse(text: &str) -> Result<Self, String> {
        if text == "*" {
            return Ok(PortRange::ANY);
        }
        let one = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| format!("`{s}` is not a port number (0-65535)"))
        };
        match text.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (one(lo)?, one(hi)?);
                if lo > hi {
                    return Err(format!("port range `{text}` is empty ({lo} > {hi})"));
                }
                Ok(PortRange { lo, hi })
            }
            None => {
                let p = one(text)?;
                Ok(PortRange { lo: p, hi: p })
            }
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == PortRange::ANY {
            f.write_str("*")
        } else if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

/// Where a function may connect or send datagrams to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An IP network (a single address is a /32 or /128) and ports.
    Ip {
        /// The addresses.
        net: IpNet,
        /// The ports.
        ports: PortRange,
    },
    /// A host name and ports; the sensor resolves it when the policy is loaded.
    Host {
        /// The name, lowercase.
        name: String,
        /// The ports.
        ports: PortRange,
    },
    /// A Unix socket by filesystem path (resolved, symlinks followed) or glob.
    UnixPath(PathPattern),
    /// A Unix socket in the abstract namespace, by name (without the leading NUL).
    UnixAbstract(String),
}

impl Destination {
    /// Parses `ip:port`, `[ipv6]:port`, `cidr:port`, `host:port`, `unix:/path`, `unix:@name`.
    /// Ports may be `*` or a range `lo-hi`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix("unix:") {
            if let Some(name) = rest.strip_prefix('@') {
                return Ok(Destination::UnixAbstract(name.to_string()));
            }
            return PathPattern::parse(rest).map(Destination::UnixPath);
        }
        let bracketed = text.starts_with('[');
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("`{text}`: missing `]` after an IPv6 address"))?;
            let port = after.strip_prefix(':').ok_or_else(|| {
                format!("`{text}`: expected `:port` after `]` (e.g. `[::1]:443`)")
            })?;
            (inside, port)
        } else {
            text.rsplit_once(':').ok_or_else(|| {
                format!(
                    "`{text}` has no port: write `host:port`, `ip:port`, `[ipv6]:port`, \
                     `cidr:port` or `unix:/path` (a port may be `*`)"
                )
            })?
        };
        if host.is_empty() {
            return Err(format!("`{text}`: the host is empty"));
        }
        if host.contains(':') && !bracketed {
            return Err(format!(
                "`{text}`: an IPv6 address must be written in brackets, e.g. `[{host}]:{port}` \
                 (without them the port is ambiguous)"
            ));
        }
        let ports = PortRange::parse(port).map_err(|e| format!("`{text}`: {e}"))?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Destination::Ip {
                net: IpNet::from(canonical_ip(ip)),
                ports,
            });
        }
        if host.contains('/') {
            let net = host
                .parse::<IpNet>()
                .map_err(|_| format!("`{host}` is not a valid CIDR network"))?;
            return Ok(Destination::Ip {
                net: net.trunc(),
                ports,
            });
        }
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if host.len() > 253 || !host.split('.').all(valid_label) {
            return Err(format!(
                "`{host}` is neither an IP address nor a valid host name"
            ));
        }
        Ok(Destination::Host {
            name: host.to_ascii_lowercase(),
            ports,
        })
    }

    /// Does this destination allow the IP endpoint `ip:port`?
    pub fn matches_ip(&self, ip: IpAddr, port: u16) -> bool {
        match self {
            Destination::Ip { net, ports } => ports.contains(port) && net_contains(net, ip),
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket shows for an IPv4
/// peer) as the IPv4 address it is; anything else unchanged.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// `IpNet::contains` with IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) treated as IPv4,
/// since a dual-stack socket reaches the same host either way.
fn net_contains(net: &IpNet, ip: IpAddr) -> bool {
    net.contains(&canonical_ip(ip))
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Ip { net, ports } => {
                let single = net.prefix_len() == net.max_prefix_len();
                match (net, single) {
                    (IpNet::V4(n), true) => write!(f, "{}:{ports}", n.addr()),
                    (IpNet::V6(n), true) => write!(f, "[{}]:{ports}", n.addr()),
                    (IpNet::V4(n), false) => write!(f, "{n}:{ports}"),
                    (IpNet::V6(n), false) => write!(f, "[{n}]:{ports}"),
                }
            }
            Destination::Host { name, ports } => write!(f, "{name}:{ports}"),
            Destination::UnixPath(p) => write!(f, "unix:{}", p.as_str()),
            Destination::UnixAbstract(n) => write!(f, "unix:@{n}"),
        }
    }
}

/// The transport a listening rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// TCP (stream) and UDP (datagram) alike.
    Any,
    /// Stream sockets.
    Tcp,
    /// Datagram sockets.
    Udp,
}

/// A port the function may listen on (`bind` to a non-zero port, `listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Listen {
    /// Which transport.
    pub transport: Transport,
    /// Which ports; `0` means an ephemeral port chosen by the kernel.
    pub ports: PortRange,
}

impl Listen {
    /// Parses `8080`, `tcp:8080`, `udp:5353`, `9000-9100`, `0` (ephemeral).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (transport, port) = if let Some(p) = text.strip_prefix("tcp:") {
            (Transport::Tcp, p)
        } else if let Some(p) = text.strip_prefix("udp:") {
            (Transport::Udp, p)
        } else {
            (Transport::Any, text)
        };
        let ports = PortRange::parse(port)?;
        Ok(Listen { transport, ports })
    }

    /// Does the rule allow listening on `port` with a socket of `transport`?
    pub fn matches(&self, transport: Transport, port: u16) -> bool {
        (self.transport == Transport::Any || self.transport == transport)
            && self.ports.contains(port)
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Any => write!(f, "{}", self.ports),
            Transport::Tcp => write!(f, "tcp:{}", self.ports),
            Transport::Udp => write!(f, "udp:{}", self.ports),
        }
    }
}

/// Program execution and process creation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessRules {
    /// Programs that may be executed, by resolved path. A script's interpreter (`#!`) is
    /// implied by the script.
    pub exec: Vec<PathPattern>,
    /// May the function create processes (fork, vfork, clone without `CLONE_THREAD`)?
    pub fork: bool,
    /// Enforce-mode action for violations in this section (default: the policy's).
    pub on_violation: Option<Action>,
}

/// Network activity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkRules {
    /// Destinations of `connect`, and of `sendto`/`sendmsg` with an address.
    pub connect: Vec<Destination>,
    /// Ports that may be bound (non-zero) and listened on.
    pub listen: Vec<Listen>,
    /// Enforce-mode action for violations in this section.
    pub on_violation: Option<Action>,
}

/// Filesystem writes and executable mappings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRules {
    /// Paths that may be opened for writing, created, truncated, renamed, linked or removed.
    pub write: Vec<PathPattern>,
    /// Files that may be mapped executable (shared libraries); the programs in
    /// `process.exec` may always be.
    pub exec_map: Vec<PathPattern>,
    /// Enforce-mode action for violations in this section.
    pub on_violation: Option<Action>,
}

/// Executable memory.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryRules {
    /// Memory writable and executable at once: anonymous, or a writable (shared or private)
    /// file mapping, by `mmap` or `mprotect`.
    pub write_execute: bool,
    /// Memory made executable after it was mapped (`mprotect`, whatever backs it), or anonymous
    /// memory mapped executable: how JIT compilers and shellcode
    /// loaders both flip written memory to run it.
    pub anonymous_execute: bool,
    /// `memfd_create`: anonymous in-memory files (used by fileless payloads).
    pub memfd: bool,
    /// Enforce-mode action for violations in this section.
    pub on_violation: Option<Action>,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The mode the file asks for (the command line overrides it).
    pub mode: Option<Mode>,
    /// Default enforce-mode action.
    pub on_violation: Action,
    /// The weakest layer the function may run under; below it, it is not started (in Lambda
    /// the init fails). `None` in the file means unset (run, saying so).
    pub require: Option<RequiredLayer>,
    /// Programs and processes.
    pub process: ProcessRules,
    /// Network.
    pub network: NetworkRules,
    /// Files.
    pub files: FileRules,
    /// Memory.
    pub memory: MemoryRules,
    /// Hardening groups the function is exempted from (names from the sensor's table,
    /// checked by the sensor, hence kept with their position).
    pub hardening_allow: Vec<Named>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: None,
            on_violation: Action::Deny,
            require: None,
            process: ProcessRules::default(),
            network: NetworkRules::default(),
            files: FileRules::default(),
            memory: MemoryRules::default(),
            hardening_allow: Vec::new(),
        }
    }
}

/// A name with the place it was written, for checks made outside this crate. Two names are
/// equal when their text is, wherever they were written.
#[derive(Debug, Clone)]
pub struct Named {
    /// The name.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl PartialEq for Named {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Named {}

/// Which part of the policy a decision falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// `process`
    Process,
    /// `network`
    Network,
    /// `files`
    Files,
    /// `memory`
    Memory,
}

impl Policy {
    /// The enforce-mode action for a violation in `section`.
    pub fn action_for(&self, section: Section) -> Action {
        let own = match section {
            Section::Process => self.process.on_violation,
            Section::Network => self.network.on_violation,
            Section::Files => self.files.on_violation,
            Section::Memory => self.memory.on_violation,
        };
        own.unwrap_or(self.on_violation)
    }

    /// May `path` (resolved) be executed?
    pub fn allows_exec(&self, path: &str) -> bool {
        self.process.exec.iter().any(|p| p.matches(path))
    }

    /// Does `hardening.allow` exempt the hardening group `group`?
    pub fn exempts(&self, group: &str) -> bool {
        self.hardening_allow.iter().any(|n| n.name == group)
    }

    /// May `path` (resolved) be opened for writing or otherwise modified?
    pub fn allows_write(&self, path: &str) -> bool {
        self.files.write.iter().any(|p| p.matches(path))
    }

    /// May `path` (resolved) be mapped executable?
    pub fn allows_exec_map(&self, path: &str) -> bool {
        self.files.exec_map.iter().any(|p| p.matches(path)) || self.allows_exec(path)
    }

    /// May the function connect or send to `ip:port`? Host names must have been resolved
    /// into `resolved` (name, address) pairs by the caller; the matching name is returned.
    pub fn allows_ip<'a>(
        &'a self,
        ip: IpAddr,
        port: u16,
        resolved: &'a [(String, IpAddr)],
    ) -> Option<Option<&'a str>> {
        for d in &self.network.connect {
            match d {
                Destination::Ip { .. } if d.matches_ip(ip, port) => return Some(None),
                Destination::Host { name, ports } if ports.contains(port) => {
                    let hit = resolved
                        .iter()
                        .any(|(n, a)| n == name && net_contains(&IpNet::from(*a), ip));
                    if hit {
                        return Some(Some(name.as_str()));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// May the function connect or send to the Unix socket at `path` (resolved)?
    pub fn allows_unix_path(&self, path: &str) -> bool {
        self.network.connect.iter().any(|d| match d {
            Destination::UnixPath(p) => p.matches(path),
            _ => false,
        })
    }

    /// May the function connect or send to the abstract Unix socket `name`?
    pub fn allows_unix_abstract(&self, name: &str) -> bool {
        self.network.connect.iter().any(|d| match d {
            Destination::UnixAbstract(n) => n == name,
            _ => false,
        })
    }

    /// May the function listen on `port`?
    pub fn allows_listen(&self, transport: Transport, port: u16) -> bool {
        self.network
            .listen
            .iter()
            .any(|l| l.matches(transport, port))
    }

    /// Host names in `network.connect`, for the caller to resolve.
    pub fn host_names(&self) -> impl Iterator<Item = &str> {
        self.network.connect.iter().filter_map(|d| match d {
            Destination::Host { name, .. } => Some(name.as_str()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_mapped_addresses_are_ipv4() {
        let d = Destination::parse("[::ffff:10.0.0.1]:443").unwrap();
        assert_eq!(d.to_string(), "10.0.0.1:443");
        assert!(d.matches_ip("10.0.0.1".parse().unwrap(), 443));
        assert!(d.matches_ip("::ffff:10.0.0.1".parse().unwrap(), 443));
    }

    #[test]
    fn unbracketed_ipv6_is_refused() {
        let e = Destination::parse("2001:db8::1:443").unwrap_err();
        assert!(e.contains("brackets"), "{e}");
        assert!(Destination::parse("[2001:db8::1]:443").is_ok());
        assert!(Destination::parse("example.com:443").is_ok());
    }
}
