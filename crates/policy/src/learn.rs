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
                    net: (*ip).into(),
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
    fn learned_paths_with_glob_characters_stay_literal() {
        let mut obs = Observed::default();
        obs.write.insert("/tmp/a[1]*".into());
        let p = Policy::from_observed(&obs);
        assert!(p.allows_write("/tmp/a[1]*"));
        assert!(!p.allows_write("/tmp/a1x"));
    }
}
