//! Turning decisions into events (the wire format is documented in docs/events.md).

use super::{Call, Supervisor, Verdict};
use crate::procfs;
use std::net::IpAddr;
use vigil_events::{
    Actor, Class, ConnectionInfo, Endpoint, Event, Evidence, File, FindingInfo, Module, Outcome,
    Process, Severity, User,
};
use vigil_policy::{Mode, Observed, ObservedDest, Section, Transport};

/// One observation, in the policy's terms (what learn mode records).
#[derive(Debug, Clone)]
pub(crate) enum Obs {
    Exec(String),
    Fork,
    Connect(ObservedDest),
    Listen(Transport, u16),
    Write(String),
    ExecMap(String),
    WriteExecute,
    AnonymousExecute,
    Memfd,
}

impl Obs {
    /// A stable text form, also written to events as `unmapped.observation` so that
    /// `vigil policy from-events` can rebuild a policy from logs.
    pub fn key(&self) -> String {
        match self {
            Obs::Exec(p) => format!("exec:{p}"),
            Obs::Fork => "fork".into(),
            Obs::Connect(ObservedDest::Ip(ip @ IpAddr::V6(_), port)) => {
                format!("connect:[{ip}]:{port}")
            }
            Obs::Connect(ObservedDest::Ip(ip, port)) => format!("connect:{ip}:{port}"),
            Obs::Connect(ObservedDest::UnixPath(p)) => format!("connect:unix:{p}"),
            Obs::Connect(ObservedDest::UnixAbstract(n)) => format!("connect:unix:@{n}"),
            Obs::Listen(Transport::Tcp, p) => format!("listen:tcp:{p}"),
            Obs::Listen(Transport::Udp, p) => format!("listen:udp:{p}"),
            Obs::Listen(Transport::Any, p) => format!("listen:{p}"),
            Obs::Write(p) => format!("write:{p}"),
            Obs::ExecMap(p) => format!("exec_map:{p}"),
            Obs::WriteExecute => "memory:write_execute".into(),
            Obs::AnonymousExecute => "memory:anonymous_execute".into(),
            Obs::Memfd => "memory:memfd".into(),
        }
    }

    pub fn record(&self, o: &mut Observed) {
        match self {
            Obs::Exec(p) => {
                o.exec.insert(p.clone());
            }
            Obs::Fork => o.fork = true,
            Obs::Connect(d) => {
                o.connect.insert(d.clone());
            }
            Obs::Listen(t, p) => {
                o.listen.insert((*t, *p));
            }
            Obs::Write(p) => {
                o.write.insert(p.clone());
            }
            Obs::ExecMap(p) => {
                o.exec_map.insert(p.clone());
            }
            Obs::WriteExecute => o.write_execute = true,
            Obs::AnonymousExecute => o.anonymous_execute = true,
            Obs::Memfd => o.memfd = true,
        }
    }
}

/// What happened, for the activity event.
#[derive(Debug, Clone)]
pub(crate) enum Activity {
    /// Process Activity: Launch (an exec).
    Launch { path: String, cmd_line: String },
    /// Process Activity: Launch (a fork, no exec).
    Fork,
    /// Network Activity (1 Open, 6 Traffic, 7 Listen).
    Network {
        activity: u32,
        endpoint: Endpoint,
        protocol: &'static str,
    },
    /// File System Activity (1 Create, 3 Update, 4 Delete, 5 Rename).
    File { activity: u32, path: String },
    /// Module Activity: Load (an executable mapping).
    Module { path: String },
    /// Process Activity: Inject (executable memory).
    Memory { what: String },
}

/// One decision to make and report.
#[derive(Debug)]
pub(crate) struct Decision {
    pub allowed: bool,
    pub section: Section,
    pub errno: i32,
    pub rule: &'static str,
    pub title: String,
    pub severity: Severity,
    pub obs: Option<Obs>,
    pub activity: Activity,
    /// Report the activity even when allowed (every exec, connect, listen).
    pub always: bool,
}

/// What waits to be written until the call being handled is answered.
#[derive(Debug)]
pub(crate) enum Deferred {
    Event(Box<Event>),
    /// A decision to report (see `report_decision`).
    Report {
        call: Call,
        decision: Box<Decision>,
        verdict: Verdict,
        new_obs: bool,
    },
}

impl Supervisor<'_> {
    pub(crate) fn event(
        &self,
        class: Class,
        activity: u32,
        severity: Severity,
        message: String,
    ) -> Event {
        let mut e = Event::new(class, activity, severity, message, self.cfg.device.clone());
        e.set("mode", self.cfg.mode.as_str());
        e.set("layer", self.cfg.install.layer.as_str());
        for (k, v) in &self.cfg.tags {
            e.unmapped.insert(k.clone(), v.clone());
        }
        e
    }

    /// Writes `e`, or, while a notification is being answered, keeps it to be written right
    /// after the answer: the caller waits for the answer, not for the event.
    pub(crate) fn emit(&mut self, e: Event) {
        if self.defer_events {
            self.deferred.push(Deferred::Event(Box::new(e)));
        } else {
            self.sink.emit(&e);
        }
    }

    /// Writes the events kept while answering, in order, building the reports kept.
    pub(crate) fn flush_deferred(&mut self) {
        // The events of the reports built here are written here, in order: not kept back
        // again behind those of a kill (which flushes while its call is being handled).
        let deferring = std::mem::replace(&mut self.defer_events, false);
        for d in std::mem::take(&mut self.deferred) {
            match d {
                Deferred::Event(e) => self.sink.emit(&e),
                Deferred::Report {
                    call,
                    decision,
                    verdict,
                    new_obs,
                } => self.report_decision(&call, &decision, verdict, new_obs),
            }
        }
        self.defer_events = deferring;
    }

    /// Reads the command line of `tgid` if it is not known yet (see `process_of`).
    pub(crate) fn fill_cmdline(&mut self, tgid: u32) {
        if let Some(p) = self.procs.get_mut(&tgid) {
            // An exited process's command line is gone (and was known if it was ever
            // reported on).
            if p.cmdline.is_none() && !p.exited {
                let cl = procfs::cmdline(tgid).join(" ");
                p.cmdline = Some(cl);
            }
        }
    }

    pub(crate) fn process_of(&mut self, tgid: u32, tid: Option<u32>) -> Process {
        self.fill_cmdline(tgid);
        let p = self.procs.get(&tgid);
        let (exe, ppid, cmd, uid) = match p {
            Some(p) => (p.exe.clone(), p.ppid, p.cmdline.clone(), p.uid),
            None => (procfs::exe_path(tgid).unwrap_or_default(), 0, None, None),
        };
        Process {
            pid: tgid,
            tid: tid.filter(|t| *t != tgid),
            file: (!exe.is_empty()).then(|| File::at(exe)),
            cmd_line: cmd.filter(|c| !c.is_empty()),
            parent_process: (ppid != 0).then(|| {
                Box::new(Process {
                    pid: ppid,
                    ..Default::default()
                })
            }),
            user: uid.map(|u| User { uid: u.to_string() }),
            cwd: None,
        }
    }

    /// Whether `report_decision` writes anything for `d`: a violation, or an activity reported
    /// always or newly learned (a fork has no activity event: its child's pid is not known yet).
    pub(crate) fn reports_something(&self, d: &Decision, new_obs: bool) -> bool {
        let violation = !d.allowed && self.cfg.mode != Mode::Learn;
        violation || ((d.always || new_obs) && !matches!(d.activity, Activity::Fork))
    }

    pub(crate) fn report_decision(
        &mut self,
        c: &Call,
        d: &super::report::Decision,
        verdict: Verdict,
        new_obs: bool,
    ) {
        let mode = self.cfg.mode;
        let outcome = match (mode, d.allowed, verdict) {
            (Mode::Learn, _, _) => Outcome::Logged,
            (_, true, _) => Outcome::Allowed,
            (_, false, Verdict::Allow) => Outcome::Detected,
            (_, false, Verdict::Deny(_)) => Outcome::Blocked,
            (_, false, Verdict::Kill) => Outcome::Killed,
        };
        let violation = !d.allowed && mode != Mode::Learn;
        let emit_activity = d.always || violation || new_obs;
        if !self.reports_something(d, new_obs) {
            // Nothing to write: skip reading the actor from /proc.
            return;
        }
        let obs_key = d.obs.as_ref().map(|o| o.key());
        // The same thing, again and again (a loop of refused connects): reported at a bounded
        // rate, the rest counted and summarised.
        let flood_key = format!(
            "{}|{}|{}|{:?}",
            d.rule,
            c.tgid,
            obs_key.as_deref().unwrap_or(&d.title),
            outcome
        );
        if !new_obs && !self.limiter.admit(&flood_key) {
            return;
        }
        let actor = self.process_of(c.tgid, Some(c.tid));
        let syscall = c.sys.name();

        let mut evidence = Evidence {
            process: Some(actor.clone()),
            ..Default::default()
        };
        let activity_event = match &d.activity {
            Activity::Launch { path, cmd_line } => {
                evidence.file = Some(File::at(path.clone()));
                let mut e = self.event(
                    Class::Process,
                    1,
                    sev(violation, d.severity),
                    format!("{} executes {path}", actor.pid),
                );
                e.process = Some(Process {
                    pid: c.tgid,
                    file: Some(File::at(path.clone())),
                    cmd_line: Some(cmd_line.clone()),
                    parent_process: Some(Box::new(Process {
                        pid: actor.parent_process.as_ref().map_or(0, |p| p.pid),
                        ..Default::default()
                    })),
                    user: actor.user.clone(),
                    ..Default::default()
                });
                Some(e)
            }
            // The new process's pid is not known when its creation is decided: the finding
            // (with the parent as actor) reports it.
            Activity::Fork => None,
            Activity::Network {
                activity,
                endpoint,
                protocol,
            } => {
                evidence.dst_endpoint = Some(endpoint.clone());
                // A refused connection is activity 5 (Refuse); a refused listen stays 7.
                let refused = violation && verdict != Verdict::Allow;
                let act = if refused && *activity != 7 {
                    5
                } else {
                    *activity
                };
                let what = endpoint
                    .path
                    .clone()
                    .or_else(|| {
                        endpoint.ip.as_ref().map(|ip| match endpoint.port {
                            Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
                            Some(p) => format!("{ip}:{p}"),
                            None => ip.clone(),
                        })
                    })
                    .unwrap_or_default();
                let verb = match act {
                    5 => "refused: connection to",
                    7 if refused => "refused: listening on",
                    7 => "listens on",
                    6 => "sends to",
                    _ => "connects to",
                };
                let mut e = self.event(
                    Class::Network,
                    act,
                    sev(violation, d.severity),
                    format!("{} {verb} {what}", actor.pid),
                );
                e.dst_endpoint = Some(endpoint.clone());
                e.connection_info = Some(ConnectionInfo {
                    protocol_name: protocol.to_string(),
                    direction_id: if act == 7 { 1 } else { 2 },
                });
                Some(e)
            }
            Activity::File { activity, path } => {
                evidence.file = Some(File::at(path.clone()));
                let mut e = self.event(
                    Class::FileSystem,
                    *activity,
                    sev(violation, d.severity),
                    format!("{} writes {path}", actor.pid),
                );
                e.file = Some(File::at(path.clone()));
                Some(e)
            }
            Activity::Module { path } => {
                evidence.file = Some(File::at(path.clone()));
                let mut e = self.event(
                    Class::Module,
                    1,
                    sev(violation, d.severity),
                    format!("{} maps {path} executable", actor.pid),
                );
                e.module = Some(Module {
                    file: File::at(path.clone()),
                    load_type_id: Some(99),
                });
                Some(e)
            }
            Activity::Memory { what } => {
                let mut e = self.event(
                    Class::Process,
                    4,
                    sev(violation, d.severity),
                    format!("{} {what}", actor.pid),
                );
                e.process = Some(actor.clone());
                Some(e)
            }
        };
        if emit_activity {
            if let Some(mut e) = activity_event {
                e.actor = Some(Actor {
                    process: actor.clone(),
                });
                e = e.with_outcome(outcome);
                e.set("syscall", syscall);
                if let Some(k) = &obs_key {
                    e.set("observation", k.clone());
                }
                if violation {
                    e.set("rule", d.rule);
                }
                self.emit(e);
            }
        }
        if violation {
            let mut f = self.event(Class::DetectionFinding, 1, d.severity, d.title.clone());
            f.finding_info = Some(FindingInfo {
                uid: d.rule.to_string(),
                title: d.title.clone(),
                desc: None,
                types: Vec::new(),
            });
            f.actor = Some(Actor { process: actor });
            f.evidences = vec![evidence];
            f.is_alert = Some(true);
            f = f.with_outcome(outcome);
            f.set("syscall", syscall);
            if let Some(k) = obs_key {
                f.set("observation", k);
            }
            if d.errno != 0 && matches!(verdict, Verdict::Deny(_)) {
                f.set("errno", d.errno);
            }
            self.emit(f);
        }
    }

    /// Summaries of what the rate limiter held back (called as windows close and at the end).
    pub(crate) fn report_suppressed(&mut self, all: bool) {
        for (key, n) in self.limiter.take_suppressed(all) {
            let mut e = self.event(
                Class::ApplicationLifecycle,
                99,
                Severity::Low,
                format!("{n} more decision(s) of the same kind not reported (rate limit): {key}"),
            );
            e.set("suppressed", n);
            e.set("suppressed_key", key);
            self.emit(e);
        }
    }

    /// A finding for something no policy can allow (tampering, a forged exec image).
    pub(crate) fn report_incident(
        &mut self,
        c: &Call,
        rule: &'static str,
        title: String,
        severity: Severity,
        outcome: Outcome,
    ) {
        let key = format!("{rule}|{}|{title}", c.tgid);
        if !self.limiter.admit(&key) {
            return;
        }
        let actor = self.process_of(c.tgid, Some(c.tid));
        let mut f = self.event(Class::DetectionFinding, 1, severity, title.clone());
        f.finding_info = Some(FindingInfo {
            uid: rule.to_string(),
            title,
            desc: None,
            types: Vec::new(),
        });
        f.evidences = vec![Evidence {
            process: Some(actor.clone()),
            ..Default::default()
        }];
        f.actor = Some(Actor { process: actor });
        f.is_alert = Some(true);
        f = f.with_outcome(outcome);
        f.set("syscall", c.sys.name());
        self.emit(f);
    }

    /// Kills the caller's process at once (what it runs was not checked, so it must not go
    /// on), then reports why.
    pub(crate) fn kill_and_report(
        &mut self,
        c: &Call,
        rule: &'static str,
        title: String,
        severity: Severity,
    ) {
        self.kill(c.tgid);
        self.stats.killed += 1;
        self.report_incident(c, rule, title, severity, Outcome::Killed);
    }

    /// `status`: the exit code (128+N for signal N) and the signal, when the supervisor
    /// reaped the process itself.
    pub(crate) fn report_exit(&mut self, tgid: u32, status: Option<(i32, Option<i32>)>) {
        let process = self.process_of(tgid, None);
        let code = status.map(|s| s.0);
        let msg = match status {
            Some((_, Some(sig))) => format!("{tgid} killed by signal {sig}"),
            Some((c, None)) => format!("{tgid} exited with status {c}"),
            None => format!("{tgid} exited"),
        };
        let mut e = self.event(Class::Process, 2, Severity::Informational, msg);
        e.actor = Some(Actor {
            process: process.clone(),
        });
        e.process = Some(process);
        e.exit_code = code;
        self.emit(e);
    }
}

fn sev(violation: bool, s: Severity) -> Severity {
    if violation {
        s
    } else {
        Severity::Informational
    }
}

/// Lets at most [`RateLimiter::BURST`] events with the same key through per second, and counts
/// the rest. Keys include the pid, so the map is pruned of idle windows as it goes, and only
/// keys with something held back are walked when windows close.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    windows: std::collections::HashMap<String, Window>,
    /// Keys whose window has a suppressed count to report.
    pending: std::collections::HashSet<String>,
    last_prune: std::time::Instant,
}

#[derive(Debug)]
struct Window {
    start: std::time::Instant,
    admitted: u32,
    suppressed: u64,
}

const WINDOW: std::time::Duration = std::time::Duration::from_secs(1);

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter {
            windows: Default::default(),
            pending: Default::default(),
            last_prune: std::time::Instant::now(),
        }
    }
}

impl RateLimiter {
    /// Events of one kind per second.
    pub const BURST: u32 = 20;

    /// Whether an event with `key` may be reported now.
    pub fn admit(&mut self, key: &str) -> bool {
        let now = std::time::Instant::now();
        let w = match self.windows.get_mut(key) {
            Some(w) => w,
            None => self.windows.entry(key.to_string()).or_insert(Window {
                start: now,
                admitted: 0,
                suppressed: 0,
            }),
        };
        if now.duration_since(w.start) >= WINDOW {
            w.start = now;
            w.admitted = 0;
        }
        if w.admitted < Self::BURST {
            w.admitted += 1;
            true
        } else {
            w.suppressed += 1;
            if w.suppressed == 1 {
                self.pending.insert(key.to_string());
            }
            false
        }
    }

    /// Counts held back, for windows that closed (or all), reset.
    pub fn take_suppressed(&mut self, all: bool) -> Vec<(String, u64)> {
        let now = std::time::Instant::now();
        let mut out = Vec::new();
        if !self.pending.is_empty() {
            let windows = &mut self.windows;
            self.pending.retain(|k| {
                let Some(w) = windows.get_mut(k) else {
                    return false;
                };
                if all || now.duration_since(w.start) >= WINDOW {
                    out.push((k.clone(), w.suppressed));
                    w.suppressed = 0;
                    false
                } else {
                    true
                }
            });
        }
        // Idle windows (nothing held back, closed) carry no state worth keeping.
        if now.duration_since(self.last_prune) >= 5 * WINDOW {
            self.last_prune = now;
            self.windows
                .retain(|_, w| w.suppressed > 0 || now.duration_since(w.start) < WINDOW);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::RateLimiter;

    #[test]
    fn burst_then_counted_then_reported_once() {
        let mut l = RateLimiter::default();
        for _ in 0..RateLimiter::BURST {
            assert!(l.admit("k"));
        }
        assert!(!l.admit("k"));
        assert!(!l.admit("k"));
        assert!(l.admit("other"));
        assert!(l.take_suppressed(false).is_empty(), "window still open");
        assert_eq!(l.take_suppressed(true), vec![("k".to_string(), 2)]);
        assert!(l.take_suppressed(true).is_empty(), "reported once");
    }
}
