//! Events inside a function: every event is decorated with the function and the invocation it
//! belongs to, written to stdout as a JSON line (CloudWatch Logs carries it), and queued for the
//! collector when one is configured.
//!
//! # Which invocation an event belongs to
//!
//! Lambda hands the next invocation to the runtime and the INVOKE event to the extensions at
//! the same moment, so a fast handler's first calls can reach the supervisor before the
//! extension has read INVOKE. Tagging with "the invocation the extension saw last" then gives a
//! blocked attack the previous request id. So while the runtime is between invocations (and
//! during init) the extension [holds](Shared::hold) events back; when the next invocation
//! [begins](Shared::begin_invocation), those emitted at or after the platform's start time
//! (`platform.start` of the Telemetry API) get its request id and the earlier ones keep the tags
//! they had (none during init).

use crate::api::Api;
use crate::collector::Collector;
use std::io::Write;
use std::sync::{Arc, Mutex};
use vigil_events::{Account, Class, Cloud, Event, Severity, Sink};
use vigil_policy::Observed;

/// Most events held back while the runtime is between invocations; past it, events are written
/// at once with the tags of the previous invocation.
pub const MAX_HELD: usize = 10_000;

/// The function, as the Extensions API and the environment describe it.
#[derive(Debug, Clone, Default)]
pub struct Function {
    /// Name.
    pub name: Option<String>,
    /// Version (`$LATEST`, a number).
    pub version: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Region.
    pub region: Option<String>,
}

/// The invocation in progress.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Request id.
    pub request_id: Option<String>,
    /// The invoked function's ARN.
    pub arn: Option<String>,
    /// The first invocation of this sandbox.
    pub cold_start: bool,
    /// Invocations so far.
    pub count: u64,
}

/// State shared by the extension's threads.
pub struct Shared {
    /// The function.
    pub function: Function,
    /// The current invocation.
    pub invocation: Invocation,
    /// `host:port` of the Runtime API: allowed by the integration, never learned.
    pub runtime_api: Option<String>,
    /// The runtime's pid (the wrapper's), when known.
    pub runtime_pid: Option<u32>,
    /// Learn mode: what was observed so far, across invocations.
    pub observed: Observed,
    /// The collector, when `VIGIL_COLLECTOR` is set.
    pub collector: Option<Collector>,
    /// Where lines go (stdout in Lambda).
    pub out: Box<dyn Write + Send>,
    /// Lines that could not be written.
    pub write_failures: u64,
    /// To fail an invocation when the policy kills the runtime.
    pub api: Option<Api>,
    /// Events waiting to learn which invocation they belong to (see [`Shared::hold`]).
    held: Option<Vec<Event>>,
    /// Runtimes being supervised (the supervisor thread counts them).
    pub supervising: u32,
}

impl Shared {
    /// A new state writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Shared {
        Shared {
            function: Function::default(),
            invocation: Invocation::default(),
            runtime_api: None,
            runtime_pid: None,
            observed: Observed::default(),
            collector: None,
            out,
            write_failures: 0,
            api: None,
            held: None,
            supervising: 0,
        }
    }

    /// From now on, holds events back instead of writing them: the runtime is between
    /// invocations (or in init), so the next event may belong to an invocation whose INVOKE has
    /// not been read yet. Ended by [`Shared::begin_invocation`] or [`Shared::release`].
    pub fn hold(&mut self) {
        if self.held.is_none() {
            self.held = Some(Vec::new());
        }
    }

    /// Whether events are being held back.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// The next invocation begins. Held events emitted before `started_ms` (when the runtime
    /// got the invocation, from `platform.start`) are written with the tags they had; the
    /// others (all of them when the start is unknown), and every event from now on, with
    /// `next`'s.
    pub fn begin_invocation(&mut self, next: Invocation, started_ms: Option<i64>) {
        let held = self.held.take().unwrap_or_default();
        let (before, after): (Vec<Event>, Vec<Event>) = held
            .into_iter()
            .partition(|e| started_ms.is_some_and(|t| e.time < t));
        for e in &before {
            self.write(e);
        }
        self.invocation = next;
        for e in &after {
            self.write(e);
        }
    }

    /// Writes the held events with the current tags and stops holding (at SHUTDOWN).
    pub fn release(&mut self) {
        for e in self.held.take().unwrap_or_default() {
            self.write(&e);
        }
    }

    fn decorate(&self, e: &mut Event) {
        let f = &self.function;
        e.cloud = Some(Cloud {
            provider: "AWS".into(),
            region: f.region.clone(),
            account: f.account.clone().map(|uid| Account { uid }),
        });
        let mut func = serde_json::Map::new();
        if let Some(n) = &f.name {
            func.insert("name".into(), n.clone().into());
        }
        if let Some(v) = &f.version {
            func.insert("version".into(), v.clone().into());
        }
        if let Some(a) = &self.invocation.arn {
            func.insert("arn".into(), a.clone().into());
        }
        if !func.is_empty() {
            e.unmapped.insert("function".into(), func.into());
        }
        if let Some(r) = &self.invocation.request_id {
            e.metadata.correlation_uid = Some(r.clone());
            e.set("cold_start", self.invocation.cold_start);
        }
        // The Runtime API is the function's own lifeline: allowed by the integration, and
        // never learned into a policy.
        if let (Some(rt), Some(obs)) = (
            &self.runtime_api,
            e.get_str("observation").map(str::to_string),
        ) {
            if obs == format!("connect:{rt}") {
                e.unmapped.remove("observation");
                e.set("runtime_api", rt.clone());
            }
        }
    }

    /// Decorates, records and writes one event, or holds it back (see [`Shared::hold`]).
    pub fn emit(&mut self, e: &Event) {
        if let Some(held) = self.held.as_mut() {
            if held.len() < MAX_HELD {
                held.push(e.clone());
                return;
            }
        }
        self.write(e);
    }

    fn write(&mut self, e: &Event) {
        let mut e = e.clone();
        self.decorate(&mut e);
        if e.get_str("mode") == Some("learn") {
            if let Some(k) = e.get_str("observation") {
                // Keys come from the sensor, which only writes valid ones.
                let _ = self.observed.record_key(k);
            }
        }
        let Ok(mut line) = serde_json::to_string(&e) else {
            self.write_failures += 1;
            return;
        };
        line.push('\n');
        if self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.flush())
            .is_err()
        {
            self.write_failures += 1;
        }
        if let Some(c) = &mut self.collector {
            c.push(line);
        }
        if e.get_str("enforcement") == Some("kill") && e.class_uid == Class::DetectionFinding.uid()
        {
            self.fail_invocation_if_runtime_killed(&e);
        }
    }

    /// When the policy kills the runtime itself, the invocation is failed with a clear error
    /// type before Lambda notices the runtime died.
    fn fail_invocation_if_runtime_killed(&mut self, e: &Event) {
        let pid = e.actor.as_ref().map(|a| a.process.pid);
        if pid.is_none() || pid != self.runtime_pid {
            return;
        }
        if let (Some(api), Some(req)) = (&self.api, &self.invocation.request_id) {
            let title = e
                .finding_info
                .as_ref()
                .map(|f| f.title.clone())
                .unwrap_or_default();
            let _ = api.invocation_error(
                req,
                "Vigil.PolicyViolation",
                &format!("Vigil killed the runtime: {title}"),
            );
        }
    }

    /// An event about the sensor itself (6002), decorated like the others.
    pub fn lifecycle(
        &mut self,
        activity: u32,
        severity: Severity,
        message: String,
        device: &vigil_events::Device,
    ) -> Event {
        let mut e = Event::new(
            Class::ApplicationLifecycle,
            activity,
            severity,
            message,
            device.clone(),
        );
        e.set("integration", "lambda");
        e
    }
}

/// A [`Sink`] over the shared state, for the supervisor thread.
#[derive(Clone)]
pub struct LambdaSink(pub Arc<Mutex<Shared>>);

impl Sink for LambdaSink {
    fn emit(&mut self, event: &Event) {
        if let Ok(mut s) = self.0.lock() {
            s.emit(event);
        }
    }

    fn dropped(&self) -> u64 {
        self.0
            .lock()
            .map(|s| s.write_failures + s.collector.as_ref().map_or(0, |c| c.dropped))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn event(time: i64, message: &str) -> Event {
        let device = vigil_events::Device {
            type_id: 6,
            type_name: "Virtual".into(),
            hostname: "test".into(),
            os: None,
        };
        let mut e = Event::new(Class::Process, 1, Severity::Informational, message, device);
        e.time = time;
        e
    }

    fn written(lines: &Lines) -> Vec<(String, Option<String>)> {
        let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("utf-8");
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json line");
                (
                    v["message"].as_str().unwrap_or_default().to_string(),
                    v["metadata"]["correlation_uid"]
                        .as_str()
                        .map(str::to_string),
                )
            })
            .collect()
    }

    fn invocation(id: &str) -> Invocation {
        Invocation {
            request_id: Some(id.into()),
            ..Invocation::default()
        }
    }

    /// Regression: a handler's first calls raced INVOKE to the extension and were reported with
    /// the previous request id.
    #[test]
    fn held_events_go_to_the_invocation_that_had_started() {
        let lines = Lines::default();
        let mut s = Shared::new(Box::new(lines.clone()));
        s.hold();
        s.emit(&event(100, "init"));
        s.emit(&event(200, "first call of invocation 1"));
        assert!(
            written(&lines).is_empty(),
            "held events are not written yet"
        );
        s.begin_invocation(invocation("r1"), Some(150));
        s.emit(&event(300, "later in invocation 1"));
        s.hold();
        s.emit(&event(400, "straggler of invocation 1"));
        s.emit(&event(500, "first call of invocation 2"));
        s.begin_invocation(invocation("r2"), Some(450));
        s.hold();
        s.emit(&event(600, "idle"));
        s.release();
        let r = |x: &str| Some(x.to_string());
        assert_eq!(
            written(&lines),
            vec![
                ("init".to_string(), None),
                ("first call of invocation 1".to_string(), r("r1")),
                ("later in invocation 1".to_string(), r("r1")),
                ("straggler of invocation 1".to_string(), r("r1")),
                ("first call of invocation 2".to_string(), r("r2")),
                ("idle".to_string(), r("r2")),
            ]
        );
    }

    #[test]
    fn without_a_start_time_held_events_go_to_the_next_invocation() {
        let lines = Lines::default();
        let mut s = Shared::new(Box::new(lines.clone()));
        s.hold();
        s.emit(&event(100, "a"));
        s.begin_invocation(invocation("r1"), None);
        assert_eq!(
            written(&lines),
            vec![("a".to_string(), Some("r1".to_string()))]
        );
    }
}
