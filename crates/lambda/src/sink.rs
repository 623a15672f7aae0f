//! Events inside a function: every event is decorated with the function and the invocation it
//! belongs to, written to stdout as a JSON line (CloudWatch Logs carries it), and queued for the
//! collector when one is configured.

use crate::api::Api;
use crate::collector::Collector;
use std::io::Write;
use std::sync::{Arc, Mutex};
use vigil_events::{Account, Class, Cloud, Event, Severity, Sink};
use vigil_policy::Observed;

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

    /// Decorates, records and writes one event.
    pub fn emit(&mut self, e: &Event) {
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
