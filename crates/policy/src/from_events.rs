//! Rebuilding a policy from collected event logs (`vigil policy from-events`).
//!
//! A function under the sensor writes one JSON event per line to its log (on Lambda: CloudWatch
//! Logs, between the runtime's own output). Every event that records behaviour carries
//! `unmapped.observation`, the observation in a stable text form (read by
//! [`Observed::record_key`]); a learn run
//! may also log the whole learned policy at shutdown as `unmapped.learned_policy`. This module
//! reads such logs — whatever else is on the lines — and turns them back into an [`Observed`]
//! and a [`Policy`].
//!
//! What a line may look like (the event is found wherever it is on the line):
//!
//! ```text
//! {"class_uid":1007,…,"metadata":{"product":{"name":"vigil",…}},…}            (vigil run --events)
//! 2026-11-26T12:00:00.000Z\t4f1c…\tINFO\t{"class_uid":1007,…}                  (CloudWatch Logs)
//! 2026-11-26T12:00:00.000000+00:00 2026/11/26/[$LATEST]ab12… {"class_uid":…}    (aws logs tail)
//! {"timestamp":"…","level":"INFO","message":"{\"class_uid\":1007,…}"}          (JSON log format)
//!             "message": "{\"class_uid\":1007,…}\n",                           (filter-log-events JSON)
//! 2026-11-26 12:00:00.000,"{""class_uid"":1007,…}"                             (Logs Insights CSV)
//! ```
//!
//! Rules:
//! - a Vigil event is a JSON object with `metadata.product.name == "vigil"`; anything else is
//!   skipped quietly (the runtime's output, other JSON);
//! - observations of events that were **blocked** (`action_id` 2) are never learned: in enforce
//!   mode those are what the policy kept out, possibly an attack. They are listed instead
//!   ([`EventLog::blocked`]). Detect-mode alerts (allowed, `disposition_id` 15) are learned:
//!   accepting them is what rebuilding a policy from detect-mode logs is for;
//! - the Lambda Runtime API is the runtime's own channel, never the function's behaviour: every
//!   `unmapped.runtime_api` address seen (e.g. `127.0.0.1:9001`) is excluded from what is
//!   learned, in every file, and so is a `connect` observation of an event that carries
//!   `runtime_api` itself;
//! - a process created by a monitored process is a fork even when no `fork` observation was
//!   logged: when a monitored process's parent is itself a monitored process on the same host,
//!   `fork` is learned;
//! - an observation that does not parse, a learned policy that does not parse, and a line that
//!   looks like a truncated Vigil event are [`Warning`]s with file and line; they never stop
//!   the rest.

use crate::learn::{Observed, ObservedDest};
use crate::model::*;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Something in a log that could not be used, at a 1-based line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The file name, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// An observation that was not learned because the sensor blocked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The file name, as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The observation's text form.
    pub observation: String,
}

/// What the logs read so far hold. Feed it files with [`EventLog::read`], then take the
/// result with [`EventLog::observed`] or [`EventLog::build`]: exclusions (the Runtime API)
/// apply across all files, whatever the order.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    observed: Observed,
    learned: Vec<Policy>,
    runtime_api: BTreeSet<ObservedDest>,
    /// (host, pid) of every monitored process seen, and of every monitored process's parent.
    actors: BTreeSet<(String, u64)>,
    parents: BTreeSet<(String, u64)>,
    /// Vigil events read.
    pub events: usize,
    /// Observations read (before exclusions; the same one logged twice counts twice).
    pub observations: usize,
    /// Learned policies read and merged.
    pub learned_policies: usize,
    /// Observations of blocked events, not learned.
    pub blocked: Vec<Blocked>,
    /// Problems, in reading order.
    pub warnings: Vec<Warning>,
}

/// What one file held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// Vigil events found.
    pub events: usize,
    /// Observations found.
    pub observations: usize,
    /// Learned policies found.
    pub learned_policies: usize,
}

impl EventLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the text of one log file (`file` names it in warnings).
    pub fn read(&mut self, file: &str, text: &str) -> FileSummary {
        let mut summary = FileSummary::default();
        for (i, line) in text.lines().enumerate() {
            let lineno = i + 1;
            let mut found = Vec::new();
            find_events(line, 0, &mut found);
            if found.is_empty() && looks_like_event(line) {
                self.warnings.push(Warning {
                    file: file.to_string(),
                    line: lineno,
                    message: "a Vigil event that is not complete JSON (truncated?); skipped".into(),
                });
            }
            for event in found {
                self.event(file, lineno, &event, &mut summary);
            }
        }
        self.events += summary.events;
        self.observations += summary.observations;
        self.learned_policies += summary.learned_policies;
        summary
    }

    fn event(&mut self, file: &str, line: usize, e: &Map<String, Value>, sum: &mut FileSummary) {
        sum.events += 1;
        let warn = |this: &mut Self, message: String| {
            this.warnings.push(Warning {
                file: file.to_string(),
                line,
                message,
            })
        };
        let host = e
            .get("device")
            .and_then(|d| d.get("hostname"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if let Some(actor) = e.get("actor").and_then(|a| a.get("process")) {
            if let Some(pid) = actor.get("pid").and_then(Value::as_u64) {
                self.actors.insert((host.clone(), pid));
            }
            if let Some(ppid) = actor
                .get("parent_process")
                .and_then(|p| p.get("pid"))
                .and_then(Value::as_u64)
            {
                self.parents.insert((host, ppid));
            }
        }
        let unmapped = e.get("unmapped").and_then(Value::as_object);
        let field = |k: &str| unmapped.and_then(|u| u.get(k));

        let mut carries_runtime_api = false;
        if let Some(v) = field("runtime_api") {
            carries_runtime_api = true;
            match v.as_str().map(runtime_api_addresses) {
                Some(Ok(addrs)) => self.runtime_api.extend(addrs),
                Some(Err(msg)) => warn(self, msg),
                None => warn(self, format!("`unmapped.runtime_api` is not a string: {v}")),
            }
        }

        if let Some(v) = field("learned_policy") {
            match v.as_str() {
                Some(text) => {
                    let name = format!("{file}:{line} (unmapped.learned_policy)");
                    match crate::parse(&name, text) {
                        Ok(p) => {
                            sum.learned_policies += 1;
                            self.learned.push(p);
                        }
                        Err(err) => {
                            let first = err.diagnostics.first().map_or_else(
                                || "invalid".to_string(),
                                |d| format!("line {}:{}: {}", d.line, d.column, d.message),
                            );
                            warn(
                                self,
                                format!(
                                    "the learned policy in this event does not parse ({first}); skipped"
                                ),
                            );
                        }
                    }
                }
                None => warn(self, "`unmapped.learned_policy` is not a string".into()),
            }
        }

        let Some(v) = field("observation") else {
            return;
        };
        let Some(text) = v.as_str() else {
            warn(self, format!("`unmapped.observation` is not a string: {v}"));
            return;
        };
        sum.observations += 1;
        let mut one = Observed::default();
        if let Err(msg) = one.record_key(text) {
            let msg = if msg.contains(text) {
                msg
            } else {
                format!("observation `{text}`: {msg}")
            };
            warn(self, format!("{msg}; skipped"));
            return;
        }
        if e.get("action_id").and_then(Value::as_u64) == Some(2) {
            self.blocked.push(Blocked {
                file: file.to_string(),
                line,
                observation: text.to_string(),
            });
            return;
        }
        if carries_runtime_api && !one.connect.is_empty() {
            return;
        }
        self.observed.absorb(one);
    }

    /// Runtime API addresses seen (`unmapped.runtime_api`), excluded from what is learned.
    pub fn runtime_api(&self) -> impl Iterator<Item = &ObservedDest> {
        self.runtime_api.iter()
    }

    /// What the events observed, less the Runtime API, with forks inferred from process
    /// parentage. Learned policies are not included (see [`EventLog::build`]).
    pub fn observed(&self) -> Observed {
        let mut o = self.observed.clone();
        o.connect.retain(|d| !self.runtime_api.contains(d));
        if self.actors.intersection(&self.parents).next().is_some() {
            o.fork = true;
        }
        o
    }

    /// `base` with every learned policy and every observation merged in: rules already there
    /// (globs, CIDRs, the mode) are kept, and only what is not yet allowed is added.
    pub fn build(&self, mut base: Policy) -> Policy {
        for learned in &self.learned {
            let mut learned = learned.clone();
            learned.network.connect.retain(|d| {
                !self
                    .runtime_api
                    .iter()
                    .any(|r| matches!(r, ObservedDest::Ip(ip, port) if is_single(d, *ip, *port)))
            });
            base.merge_policy(&learned);
        }
        base.merge_observed(&self.observed());
        base
    }
}

/// Reads one log's text: what it observed (less the Runtime API) and the problems found.
/// Learned policies in it are not included; use [`EventLog`] for those and for several files.
pub fn observations_from_log(text: &str) -> (Observed, Vec<Warning>) {
    let mut log = EventLog::new();
    log.read("<log>", text);
    (log.observed(), log.warnings)
}

fn is_single(d: &Destination, ip: IpAddr, port: u16) -> bool {
    match d {
        Destination::Ip { net, ports } => {
            net.prefix_len() == net.max_prefix_len()
                && net.addr() == ip
                && ports.lo == port
                && ports.hi == port
        }
        _ => false,
    }
}

/// The addresses an `AWS_LAMBDA_RUNTIME_API` value (`host:port`) stands for.
fn runtime_api_addresses(v: &str) -> Result<Vec<ObservedDest>, String> {
    let v = v.trim();
    if let Ok(sa) = v.parse::<SocketAddr>() {
        return Ok(vec![ObservedDest::Ip(sa.ip(), sa.port())]);
    }
    if let Some(p) = v.strip_prefix("localhost:") {
        if let Ok(p) = p.parse::<u16>() {
            return Ok(vec![
                ObservedDest::Ip(IpAddr::V4(Ipv4Addr::LOCALHOST), p),
                ObservedDest::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST), p),
            ]);
        }
    }
    Err(format!(
        "`unmapped.runtime_api` is `{v}`, not an `ip:port` (as AWS_LAMBDA_RUNTIME_API is): it cannot be excluded"
    ))
}

fn is_vigil_event(m: &Map<String, Value>) -> bool {
    m.get("metadata")
        .and_then(|md| md.get("product"))
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        == Some("vigil")
}

fn looks_like_event(line: &str) -> bool {
    if !line.contains("vigil") {
        return false;
    }
    // `"name":"vigil"` as the sensor writes it, also escaped in a JSON string or a CSV field.
    let plain = line
        .replace("\\\"", "\"")
        .replace("\"\"", "\"")
        .replace([' ', '\t'], "");
    plain.contains("\"product\":{\"name\":\"vigil\"")
}

/// How deep events wrapped in other JSON (a JSON string in a JSON object in …) are looked for.
const MAX_WRAPPING: usize = 4;

/// Finds the Vigil events on `text`: JSON objects anywhere on it, and events wrapped in other
/// JSON (as a nested object or as a string holding JSON), in a JSON string literal, or in a
/// CSV field with doubled quotes.
fn find_events(text: &str, depth: usize, out: &mut Vec<Map<String, Value>>) {
    if depth > MAX_WRAPPING || !text.contains("vigil") {
        return;
    }
    let before = out.len();
    let mut i = 0;
    while let Some(off) = text[i..].find('{') {
        let start = i + off;
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(Value::Object(m))) => {
                let end = start + stream.byte_offset();
                if is_vigil_event(&m) {
                    out.push(m);
                } else {
                    for v in m.values() {
                        wrapped(v, depth + 1, out);
                    }
                }
                i = end.max(start + 1);
            }
            _ => i = start + 1,
        }
    }
    if out.len() > before {
        return;
    }
    // The event may be inside a JSON string literal on this line (`"message": "{\"class_uid\"…`).
    if text.contains("\\\"") {
        let mut i = 0;
        while let Some(off) = text[i..].find('"') {
            let start = i + off;
            let mut stream =
                serde_json::Deserializer::from_str(&text[start..]).into_iter::<String>();
            match stream.next() {
                Some(Ok(s)) => {
                    find_events(&s, depth + 1, out);
                    i = (start + stream.byte_offset()).max(start + 1);
                }
                _ => i = start + 1,
            }
        }
    }
    if out.len() == before && text.contains("\"\"") {
        find_events(&text.replace("\"\"", "\""), depth + 1, out);
    }
}

fn wrapped(v: &Value, depth: usize, out: &mut Vec<Map<String, Value>>) {
    if depth > MAX_WRAPPING {
        return;
    }
    match v {
        Value::String(s) => find_events(s, depth, out),
        Value::Object(m) if is_vigil_event(m) => out.push(m.clone()),
        Value::Object(m) => m.values().for_each(|v| wrapped(v, depth + 1, out)),
        Value::Array(a) => a.iter().for_each(|v| wrapped(v, depth + 1, out)),
        _ => {}
    }
}

impl Policy {
    /// Adds the rules of `other` that this policy does not already have (a rule equal to one
    /// here, or an exact path or address already allowed, adds nothing). Booleans are or-ed;
    /// the mode and the `on_violation` actions of `self` are kept.
    pub fn merge_policy(&mut self, other: &Policy) {
        for p in &other.process.exec {
            let covered =
                self.process.exec.contains(p) || (p.is_exact() && self.allows_exec(p.as_str()));
            if !covered {
                self.process.exec.push(p.clone());
            }
        }
        self.process.fork |= other.process.fork;
        for d in &other.network.connect {
            let covered = self.network.connect.contains(d)
                || match d {
                    Destination::Ip { net, ports }
                        if net.prefix_len() == net.max_prefix_len() && ports.lo == ports.hi =>
                    {
                        self.allows_ip(net.addr(), ports.lo, &[]).is_some()
                    }
                    Destination::UnixPath(p) if p.is_exact() => self.allows_unix_path(p.as_str()),
                    _ => false,
                };
            if !covered {
                self.network.connect.push(d.clone());
            }
        }
        for l in &other.network.listen {
            let covered = self.network.listen.contains(l)
                || (l.ports.lo == l.ports.hi && self.allows_listen(l.transport, l.ports.lo));
            if !covered {
                self.network.listen.push(*l);
            }
        }
        for p in &other.files.write {
            let covered =
                self.files.write.contains(p) || (p.is_exact() && self.allows_write(p.as_str()));
            if !covered {
                self.files.write.push(p.clone());
            }
        }
        for p in &other.files.exec_map {
            let covered = self.files.exec_map.contains(p)
                || (p.is_exact() && self.allows_exec_map(p.as_str()));
            if !covered {
                self.files.exec_map.push(p.clone());
            }
        }
        self.memory.write_execute |= other.memory.write_execute;
        self.memory.anonymous_execute |= other.memory.anonymous_execute;
        self.memory.memfd |= other.memory.memfd;
        for n in &other.hardening_allow {
            if !self.hardening_allow.contains(n) {
                self.hardening_allow.push(n.clone());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A sensor event as `vigil run --events` writes it, with `observation` and more
    /// `unmapped` fields.
    fn event(observation: Option<&str>, unmapped: Value) -> String {
        let mut e = json!({
            "class_uid": 1007, "class_name": "Process Activity", "category_uid": 1,
            "activity_id": 1, "type_uid": 100701, "time": 1795723598546_i64,
            "severity_id": 1, "message": "8 executes /usr/bin/ls",
            "action_id": 1, "disposition_id": 17,
            "metadata": {"product": {"name": "vigil", "vendor_name": "Vigil", "version": "0.1.0"}, "version": "1.3.0"},
            "actor": {"process": {"pid": 8, "parent_process": {"pid": 1}}},
            "device": {"type_id": 6, "hostname": "169.254.12.1"},
            "unmapped": {"mode": "learn", "layer": "kernel-sensor"}
        });
        if let (Some(u), Value::Object(extra)) = (e["unmapped"].as_object_mut(), unmapped) {
            u.extend(extra);
            if let Some(o) = observation {
                u.insert("observation".into(), json!(o));
            }
        }
        e.to_string()
    }

    fn obs(o: &str) -> String {
        event(Some(o), json!({}))
    }

    #[test]
    fn events_are_found_among_runtime_output_and_cloudwatch_prefixes() {
        let log = [
            "INIT_START Runtime Version: python:3.12.v38\tRuntime Version ARN: arn:aws:lambda:eu-west-1::runtime:abc".to_string(),
            "START RequestId: 4f1c2a7e-0b4e-4b8e-9a53-0f6a3c2b1d00 Version: $LATEST".to_string(),
            format!("2026-11-26T12:00:00.000Z\t4f1c2a7e-0b4e-4b8e-9a53-0f6a3c2b1d00\tINFO\t{}", obs("exec:/usr/bin/ls")),
            obs("write:/tmp/report.csv"),
            "[INFO]\t2026-11-26T12:00:00.120Z\t4f1c2a7e\tuploading {\"bucket\": \"vigil-reports\"}".to_string(),
            r#"{"level":"info","msg":"handled","product":"vigil-demo","vigil":true}"#.to_string(),
            format!("2026-11-26T12:00:00.200000+00:00 2026/11/26/[$LATEST]ab12cd {}", obs("connect:52.95.110.1:443")),
            obs("connect:unix:@lambda-x"),
            "END RequestId: 4f1c2a7e-0b4e-4b8e-9a53-0f6a3c2b1d00".to_string(),
            "REPORT RequestId: 4f1c2a7e\tDuration: 12.03 ms\tBilled Duration: 13 ms".to_string(),
        ]
        .join("\n");
        let (o, warnings) = observations_from_log(&log);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(o.exec.iter().collect::<Vec<_>>(), ["/usr/bin/ls"]);
        assert_eq!(o.write.iter().collect::<Vec<_>>(), ["/tmp/report.csv"]);
        assert_eq!(
            o.connect.iter().cloned().collect::<Vec<_>>(),
            [
                ObservedDest::Ip("52.95.110.1".parse().unwrap(), 443),
                ObservedDest::UnixAbstract("lambda-x".into()),
            ]
        );
        let mut log_ = EventLog::new();
        let s = log_.read("f.log", &log);
        assert_eq!(s.events, 4);
        assert_eq!(s.observations, 4);
    }

    #[test]
    fn wrapped_events_are_unwrapped() {
        let e = obs("exec:/usr/bin/git");
        let escaped = serde_json::to_string(&e).unwrap();
        let lines = [
            // Lambda's JSON log format: the event line as a string in `message` …
            format!(
                r#"{{"timestamp":"2026-11-26T12:00:00Z","level":"INFO","requestId":"4f1c","message":{escaped}}}"#
            ),
            // … or as an object.
            format!(
                r#"{{"time":"2026-11-26T12:00:00Z","type":"function","record":{}}}"#,
                obs("exec:/usr/bin/tar")
            ),
            // `aws logs filter-log-events --output json`, pretty-printed: one string per line.
            format!(
                r#"            "message": {},"#,
                serde_json::to_string(&format!(
                    "2026-11-26T12:00:00.000Z\tabc\tINFO\t{}\n",
                    obs("write:/tmp/a")
                ))
                .unwrap()
            ),
            // A Logs Insights CSV export.
            format!(
                "2026-11-26 12:00:00.000,\"{}\"",
                obs("write:/tmp/b").replace('"', "\"\"")
            ),
        ];
        let (o, warnings) = observations_from_log(&lines.join("\n"));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            o.exec.iter().collect::<Vec<_>>(),
            ["/usr/bin/git", "/usr/bin/tar"]
        );
        assert_eq!(o.write.iter().collect::<Vec<_>>(), ["/tmp/a", "/tmp/b"]);
    }

    #[test]
    fn problems_are_warnings_with_file_and_line() {
        let full = obs("exec:/usr/bin/ls");
        let log = [
            obs("exec:/usr/bin/env"),
            "not json at all {".to_string(),
            obs("connect:10.0.0.1"),
            full[..full.len() - 10].to_string(),
            event(
                None,
                json!({"learned_policy": "version: 1\nprocess:\n  exec: [relative]\n"}),
            ),
            event(None, json!({})).replace("\"unmapped\":{", "\"unmapped\":{\"observation\":42,"),
            obs("memory:memfd"),
        ]
        .join("\n");
        let mut l = EventLog::new();
        let s = l.read("app.log", &log);
        let w: Vec<String> = l.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(
            w[0].starts_with("app.log:3: observation `connect:10.0.0.1`: `10.0.0.1` has no port"),
            "{}",
            w[0]
        );
        assert!(
            w[1].starts_with("app.log:4: a Vigil event that is not complete JSON"),
            "{}",
            w[1]
        );
        assert!(
            w[2].starts_with("app.log:5: the learned policy in this event does not parse (line 3:"),
            "{}",
            w[2]
        );
        assert!(
            w[3].starts_with("app.log:6: `unmapped.observation` is not a string"),
            "{}",
            w[3]
        );
        assert_eq!(s.events, 5);
        let o = l.observed();
        assert_eq!(o.exec.iter().collect::<Vec<_>>(), ["/usr/bin/env"]);
        assert!(o.memfd);
    }

    #[test]
    fn each_malformed_observation_is_one_warning_and_the_rest_is_learned() {
        let bad = [
            "exec:python3",
            "connect:10.0.0.0/8:53",
            "connect:api.example.com:443",
            "listen:tcp:70000",
            "memory:rwx",
            "chmod:/tmp/x",
        ];
        let mut lines: Vec<String> = bad.iter().map(|b| obs(b)).collect();
        lines.push(obs("listen:tcp:8080"));
        let mut l = EventLog::new();
        l.read("w.log", &lines.join("\n"));
        let got: Vec<(usize, bool)> = l
            .warnings
            .iter()
            .map(|w| (w.line, w.message.ends_with("; skipped")))
            .collect();
        assert_eq!(got, (1..=bad.len()).map(|i| (i, true)).collect::<Vec<_>>());
        for (w, b) in l.warnings.iter().zip(bad) {
            assert!(w.message.contains(b), "{w} does not show `{b}`");
        }
        assert_eq!(
            l.observed().listen.iter().collect::<Vec<_>>(),
            [&(Transport::Tcp, 8080)]
        );
    }

    #[test]
    fn the_runtime_api_is_never_learned_whatever_the_file_order() {
        let first = [obs("connect:127.0.0.1:9001"), obs("connect:10.1.2.3:5432")].join("\n");
        let second = [
            event(Some("connect:169.254.100.1:9001"), json!({"runtime_api": "127.0.0.1:9001"})),
            event(None, json!({
                "runtime_api": "127.0.0.1:9001",
                "learned_policy": "version: 1\nnetwork:\n  connect: [\"127.0.0.1:9001\", \"10.9.9.9:443\"]\n"
            })),
        ]
        .join("\n");
        let mut l = EventLog::new();
        l.read("a.log", &first);
        l.read("b.log", &second);
        assert!(l.warnings.is_empty(), "{:?}", l.warnings);
        let o = l.observed();
        assert_eq!(
            o.connect.iter().cloned().collect::<Vec<_>>(),
            [ObservedDest::Ip("10.1.2.3".parse().unwrap(), 5432)]
        );
        let p = l.build(Policy::default());
        let dests: Vec<String> = p.network.connect.iter().map(ToString::to_string).collect();
        assert_eq!(dests, ["10.9.9.9:443", "10.1.2.3:5432"]);
    }

    #[test]
    fn blocked_observations_are_listed_not_learned() {
        let blocked = event(Some("exec:/bin/sh"), json!({"mode": "enforce"}))
            .replace("\"action_id\":1", "\"action_id\":2")
            .replace("\"disposition_id\":17", "\"disposition_id\":2");
        let detected = event(Some("connect:10.0.0.7:25"), json!({"mode": "detect"}))
            .replace("\"disposition_id\":17", "\"disposition_id\":15");
        let mut l = EventLog::new();
        l.read("prod.log", &format!("{blocked}\n{detected}\n"));
        assert!(l.observed().exec.is_empty());
        assert_eq!(
            l.blocked,
            [Blocked {
                file: "prod.log".into(),
                line: 1,
                observation: "exec:/bin/sh".into()
            }]
        );
        assert_eq!(l.observed().connect.len(), 1);
    }

    #[test]
    fn fork_is_inferred_when_a_monitored_process_has_a_monitored_parent() {
        let parent = obs("exec:/var/lang/bin/python3.12");
        let child = obs("exec:/usr/bin/ls").replace(
            "\"parent_process\":{\"pid\":1},\"pid\":8",
            "\"parent_process\":{\"pid\":8},\"pid\":9",
        );
        assert_ne!(child, obs("exec:/usr/bin/ls"), "the fixture changed shape");
        let (o, _) = observations_from_log(&parent);
        assert!(!o.fork);
        let (o, _) = observations_from_log(&format!("{parent}\n{child}"));
        assert!(o.fork);
        // The same pids on another host are another sandbox: no fork.
        let other_host = child.replace("169.254.12.1", "169.254.77.7");
        let (o, _) = observations_from_log(&format!("{parent}\n{other_host}"));
        assert!(!o.fork);
    }

    #[test]
    fn build_keeps_the_users_rules_and_adds_only_what_is_new() {
        let base = crate::parse(
            "vigil.yaml",
            "version: 1\nmode: enforce\nfiles:\n  write: [\"/tmp/**\"]\nnetwork:\n  connect: [\"dynamodb.eu-west-1.amazonaws.com:443\"]\n",
        )
        .unwrap();
        let log = [
            obs("write:/tmp/x.json"),
            obs("write:/var/task/cache"),
            event(None, json!({"learned_policy":
                "version: 1\nmode: learn\nprocess:\n  exec: [/usr/bin/ls, \"/opt/bin/*\"]\n  fork: true\nfiles:\n  write: [/tmp/y]\nhardening:\n  allow: [io_uring]\n"})),
        ]
        .join("\n");
        let mut l = EventLog::new();
        l.read("x.log", &log);
        let p = l.build(base);
        assert_eq!(p.mode, Some(Mode::Enforce));
        let writes: Vec<&str> = p.files.write.iter().map(PathPattern::as_str).collect();
        assert_eq!(writes, ["/tmp/**", "/var/task/cache"]);
        let execs: Vec<&str> = p.process.exec.iter().map(PathPattern::as_str).collect();
        assert_eq!(execs, ["/usr/bin/ls", "/opt/bin/*"]);
        assert!(p.process.fork);
        assert_eq!(p.hardening_allow.len(), 1);
        assert_eq!(p.network.connect.len(), 1);
        // Merging the same logs again changes nothing.
        assert_eq!(l.build(p.clone()), p);
    }

    #[test]
    fn lines_without_vigil_events_yield_nothing() {
        let log = "{\"metadata\":{\"product\":{\"name\":\"falco\"}},\"unmapped\":{\"observation\":\"exec:/bin/sh\"}}\n\
                   {\"vigil\": true, \"observation\": \"exec:/bin/sh\"}\n\
                   Traceback (most recent call last):\n  File \"/var/task/app.py\", line 3, in handler\n";
        let mut l = EventLog::new();
        let s = l.read("x.log", log);
        assert_eq!(s, FileSummary::default());
        assert!(l.warnings.is_empty());
        assert_eq!(l.observed(), Observed::default());
    }
}
