//! Learned behaviour, and turning it into (or merging it into) a policy.
//!
//! A learned policy allows exactly what was observed: no implicit allowance of all of
//! loopback or all of `/tmp`. Generalising (globs, CIDRs, port ranges) is the user's choice,
//! and merging keeps what the user wrote: an observation already covered by an existing rule
//! adds nothing.

use crate::model::*;
use std::collections::BTreeSet;
use std::net::IpAddr;

/// One observed destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObservedDest {
    /// An IP endpoint.
    Ip(IpAddr, u16),
    /// A Unix socket path (resolved).
    UnixPath(String),
    /// An abstract Unix socket name.
    UnixAbstract(String),
}

/// Everything a learn run saw, in the policy's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Programs executed (resolved paths).
    pub exec: BTreeSet<String>,
    /// Whether any process was created.
    pub fork: bool,
    /// Destinations connected or sent to.
    pub connect: BTreeSet<ObservedDest>,
    /// Ports listened on (`0` for an ephemeral port).
    pub listen: BTreeSet<(Transport, u16)>,
    /// Paths written (opened for writing, created, renamed, linked, removed).
    pub write: BTreeSet<String>,
    /// Files mapped executable.
    pub exec_map: BTreeSet<String>,
    /// Anonymous writable+executable memory was used.
    pub write_execute: bool,
    /// Anonymous memory was made executable.
    pub anonymous_execute: bool,
    /// `memfd_create` was used.
    pub memfd: bool,
}

impl Observed {
    /// Records one observation in its stable text form — what events carry in
    /// `unmapped.observation`: `exec:/path`, `fork`, `connect:1.2.3.4:443`, `connect:[::1]:80`,
    /// `connect:unix:/path`, `connect:unix:@name`, `listen:tcp:8080`, `listen:udp:53`,
    /// `listen:8080`, `write:/path`, `exec_map:/path`, `memory:write_execute`,
    /// `memory:anonymous_execute`, `memory:memfd`.
    pub fn record_key(&mut self, key: &str) -> Result<(), String> {
        let bad = || format!("`{key}` is not an observation");
        let (kind, rest) = key.split_once(':').unwrap_or((key, ""));
        match kind {
            "fork" if rest.is_empty() => self.fork = true,
            "exec" if rest.starts_with('/') => {
                self.exec.insert(rest.to_string());
            }
            "write" if rest.starts_with('/') => {
                self.write.insert(rest.to_string());
            }
            "exec_map" if rest.starts_with('/') => {
                self.exec_map.insert(rest.to_string());
            }
            "memory" => match rest {
                "write_execute" => self.write_execute = true,
                "anonymous_execute" => self.anonymous_execute = true,
                "memfd" => self.memfd = true,
                _ => return Err(bad()),
            },
            "listen" => {
                let l = Listen::parse(rest)?;
                if l.ports.lo != l.ports.hi {
                    return Err(bad());
                }
                self.listen.insert((l.transport, l.ports.lo));
            }
            "connect" => {
                let d = match Destination::parse(rest)? {
                    Destination::Ip { net, ports }
                        if ports.lo == ports.hi && net.prefix_len() == net.max_prefix_len() =>
                    {
                        ObservedDest::Ip(net.addr(), ports.lo)
                    }
                    Destination::UnixPath(p) if p.is_exact() => {
                        ObservedDest::UnixPath(p.as_str().to_string())
                    }
                    Destination::UnixAbstract(n) => ObservedDest::UnixAbstract(n),
                    _ => return Err(bad()),
                };
                self.connect.insert(d);
            }
            _ => return Err(bad()),
        }
        Ok(())
    }

    /// Adds everything `other` saw.
    pub fn absorb(&mut self, other: Observed) {
        self.exec.extend(other.exec);
        self.fork |= other.fork;
        self.connect.extend(other.connect);
        self.listen.extend(other.listen);
        self.write.extend(other.write);
        self.exec_map.extend(other.exec_map);
        self.write_execute |= other.write_execute;
        self.anonymous_execute |= other.anonymous_execute;
        self.memfd |= other.memfd;
    }
}

fn exact(path: &str) -> Option<PathPattern> {
    // Learned paths are literal; escape glob metacharacters so they stay literal.
    let escaped: String = path
        .chars()
        .flat_map(|c| {
            let special = matches!(c, '*' | '?' | '[' | ']' | '{' | '}' | '\\');
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect();
    PathPattern::parse(&escaped).ok()
}

impl Policy {
    /// Adds what was observed and is not yet allowed. Existing rules, including the user's
    /// globs and the mode, are kept.
    pub fn merge_observed(&mut self, obs: &Observed) {
        for p in &obs.exec {
            if !self.allows_exec(p) {
                self.process.exec.extend(exact(p));
            }
        }
        self.process.fork |= obs.fork;
        for d in &obs.connect {
            let covered = match d {
                ObservedDest::Ip(ip, port) => self.allows_ip(*ip, *port, &[]).is_some(),
                ObservedDest::UnixPath(p) => self.allows_unix_path(p),
                ObservedDest::UnixAbstract(n) => self.allows_unix_abstract(n),
            };
            if covered {
                continue;
            }
            self.network.connect.push(match d {
                ObservedDest::Ip(ip, port) => Destination::Ip {
                    net: crate::canonical_ip(*ip).into(),
                    ports: PortRange {
                        lo: *port,
                        hi: *port,
                    },
                },
                ObservedDest::UnixPath(p) => match exact(p) {
                    Some(pat) => Destination::UnixPath(pat),
                    None => continue,
                },
                ObservedDest::UnixAbstract(n) => Destination::UnixAbstract(n.clone()),
            });
        }
        for (t, port) in &obs.listen {
            if !self.allows_listen(*t, *port) {
                self.network.listen.push(Listen {
                    transport: *t,
                    ports: PortRange {
                        lo: *port,
                        hi: *port,
                    },
                });
            }
        }
        for p in &obs.write {
            if !self.allows_write(p) {
                self.files.write.extend(exact(p));
            }
        }
        for p in &obs.exec_map {
            if !self.allows_exec_map(p) {
                self.files.exec_map.extend(exact(p));
            }
        }
        self.memory.write_execute |= obs.write_execute;
        self.memory.anonymous_execute |= obs.anonymous_execute;
        self.memory.memfd |= obs.memfd;
    }

    /// A new policy allowing exactly what was observed.
    pub fn from_observed(obs: &Observed) -> Policy {
        let mut p = Policy::default();
        p.merge_observed(obs);
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_user_globs_and_adds_only_new() {
        let mut policy = crate::parse(
            "p.yaml",
            "version: 1\nfiles:\n  write: [\"/tmp/cache/**\"]\nnetwork:\n  connect: [\"10.0.0.0/8:443\"]\n",
        )
        .unwrap();
        let mut obs = Observed::default();
        obs.write.insert("/tmp/cache/a/b".into());
        obs.write.insert("/tmp/out.json".into());
        obs.connect
            .insert(ObservedDest::Ip("10.1.2.3".parse().unwrap(), 443));
        obs.connect
            .insert(ObservedDest::Ip("127.0.0.1".parse().unwrap(), 8080));
        policy.merge_observed(&obs);
        let writes: Vec<_> = policy.files.write.iter().map(|p| p.as_str()).collect();
        assert_eq!(writes, ["/tmp/cache/**", "/tmp/out.json"]);
        let dests: Vec<_> = policy
            .network
            .connect
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(dests, ["10.0.0.0/8:443", "127.0.0.1:8080"]);
    }

    #[test]
    fn observation_keys_round_trip() {
        let mut o = Observed::default();
        for k in [
            "exec:/usr/bin/python3.11",
            "fork",
            "connect:10.0.0.2:53",
            "connect:[::1]:8080",
            "connect:unix:/run/x.sock",
            "connect:unix:@bus",
            "listen:tcp:8080",
            "listen:udp:53",
            "write:/tmp/out",
            "exec_map:/usr/lib/libz.so.1",
            "memory:write_execute",
        ] {
            o.record_key(k).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
        assert!(o.fork && o.write_execute && !o.memfd);
        assert!(o
            .connect
            .contains(&ObservedDest::Ip("::1".parse().unwrap(), 8080)));
        assert!(o.listen.contains(&(Transport::Udp, 53)));
        for bad in [
            "exec:relative",
            "connect:10.0.0.0/8:53",
            "listen:1-2",
            "memory:x",
            "nonsense",
        ] {
            assert!(o.record_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn learned_paths_with_glob_characters_stay_literal() {
        let mut obs = Observed::default();
        obs.write.insert("/tmp/a[1]*".into());
        let p = Policy::from_observed(&obs);
        assert!(p.allows_write("/tmp/a[1]*"));
        assert!(!p.allows_write("/tmp/a1x"));
    }
}
