//! The external extension (`/opt/extensions/vigil`): registers for INVOKE and SHUTDOWN,
//! subscribes to platform telemetry (to know when the runtime finished an invocation),
//! receives the seccomp listener from the wrapper and supervises the runtime, and ships events
//! — each tagged with its invocation — to stdout and the collector.
//!
//! Threads: the main thread follows the Extensions API; one thread serves telemetry; one
//! supervises. All three exist before the wrapper connects, so the filter protects every one
//! of their ids.

use crate::api::Api;
use crate::collector::{self, Collector};
use crate::env::LambdaEnv;
use crate::handoff::{self, Hello, Welcome};
use crate::sink::{Function, LambdaSink, Shared};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigil_events::{Device, Severity};
use vigil_policy::{Destination, Mode};
use vigil_sensor::install::Report;
use vigil_sensor::supervisor::{Config, Supervisor};

/// The name the extension registers with (its file name in /opt/extensions).
pub const NAME: &str = "vigil";

/// Time budget of one collector flush.
const FLUSH_BUDGET: Duration = Duration::from_secs(2);

/// Runs the extension until SHUTDOWN; returns the exit status.
pub fn run(device: Device) -> i32 {
    let env = LambdaEnv::from_env();
    let Some(rt) = env.runtime_api.clone() else {
        eprintln!("vigil extension: AWS_LAMBDA_RUNTIME_API is not set: not running in Lambda");
        return 1;
    };
    let api = Api::new(&rt);
    // The wrapper may start as soon as we register: listen first.
    let listener = match handoff::listen(&env.socket) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "vigil extension: cannot listen on {}: {e}",
                env.socket.display()
            );
            return 1;
        }
    };
    let reg = match api.register(NAME) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("vigil extension: {e}");
            return 1;
        }
    };
    let mut shared = Shared::new(Box::new(std::io::stdout()));
    shared.function = Function {
        name: reg.info["functionName"]
            .as_str()
            .map(str::to_string)
            .or(env.function_name.clone()),
        version: reg.info["functionVersion"]
            .as_str()
            .map(str::to_string)
            .or(env.function_version.clone()),
        account: reg.info["accountId"].as_str().map(str::to_string),
        region: env.region.clone(),
    };
    shared.runtime_api = Some(rt.clone());
    shared.api = Some(api.clone());
    if let Some(url) = &env.collector {
        shared.collector = Some(Collector::new(url.clone(), collector::DEFAULT_CAPACITY));
    }
    let shared = Arc::new(Mutex::new(shared));

    let (done_tx, done_rx) = channel::<String>();
    let telemetry = start_telemetry(done_tx).and_then(|port| {
        api.subscribe_telemetry(&reg.id, port)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = &telemetry {
        eprintln!("vigil extension: no telemetry ({e}); events are flushed without waiting for the runtime");
    }
    {
        let shared = shared.clone();
        let device = device.clone();
        let rt = rt.clone();
        std::thread::Builder::new()
            .name("vigil-supervisor".into())
            .spawn(move || supervise_forever(listener, shared, device, rt))
            .ok();
    }
    emit_lifecycle(
        &shared,
        &device,
        3,
        Severity::Informational,
        "vigil extension registered".into(),
        |e| {
            e.set("telemetry", telemetry.is_ok());
        },
    );

    let mut invocations = 0u64;
    loop {
        let ev = match api.next_event(&reg.id) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("vigil extension: {e}");
                flush(&shared, &api, &device);
                return 1;
            }
        };
        match ev["eventType"].as_str() {
            Some("INVOKE") => {
                invocations += 1;
                let request = ev["requestId"].as_str().unwrap_or_default().to_string();
                if let Ok(mut s) = shared.lock() {
                    s.invocation.request_id = Some(request.clone());
                    s.invocation.arn = ev["invokedFunctionArn"].as_str().map(str::to_string);
                    s.invocation.cold_start = invocations == 1;
                    s.invocation.count = invocations;
                }
                if telemetry.is_ok() {
                    let deadline = ev["deadlineMs"].as_u64().map(|ms| {
                        let now = vigil_events::now_ms().max(0) as u64;
                        Duration::from_millis(ms.saturating_sub(now))
                    });
                    wait_runtime_done(
                        &done_rx,
                        &request,
                        deadline.unwrap_or(Duration::from_secs(900)),
                    );
                }
                flush(&shared, &api, &device);
            }
            Some("SHUTDOWN") => {
                shutdown(
                    &shared,
                    &api,
                    &device,
                    ev["shutdownReason"].as_str().unwrap_or("unknown"),
                );
                return 0;
            }
            other => eprintln!("vigil extension: unexpected event {other:?}"),
        }
    }
}

fn emit_lifecycle(
    shared: &Arc<Mutex<Shared>>,
    device: &Device,
    activity: u32,
    severity: Severity,
    message: String,
    extra: impl FnOnce(&mut vigil_events::Event),
) {
    if let Ok(mut s) = shared.lock() {
        let mut e = s.lifecycle(activity, severity, message, device);
        extra(&mut e);
        s.emit(&e);
    }
}

/// Waits for `platform.runtimeDone` of `request` (the runtime answered), within `limit`.
fn wait_runtime_done(rx: &Receiver<String>, request: &str, limit: Duration) {
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.max(Duration::from_millis(1))) {
            Ok(r) if r == request => return,
            Ok(_) => continue,
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Ships queued events to the collector (bounded by [`FLUSH_BUDGET`]) and reports drops.
pub fn flush(shared: &Arc<Mutex<Shared>>, api: &Api, device: &Device) {
    let until = Instant::now() + FLUSH_BUDGET;
    loop {
        let (url, batch) = match shared.lock() {
            Ok(mut s) => match s.collector.as_mut() {
                Some(c) if c.pending() > 0 => (c.url.clone(), c.take_batch()),
                _ => break,
            },
            Err(_) => return,
        };
        let left = until.saturating_duration_since(Instant::now());
        let sent = !left.is_zero() && collector::send(api.agent(), &url, &batch, left).is_ok();
        if let Ok(mut s) = shared.lock() {
            if let Some(c) = s.collector.as_mut() {
                if sent {
                    c.delivered += batch.len() as u64;
                } else {
                    c.put_back(batch);
                    break;
                }
            }
        }
        if Instant::now() >= until {
            break;
        }
    }
    let lost = shared.lock().ok().and_then(|s| {
        s.collector
            .as_ref()
            .filter(|c| c.dropped > c.reported)
            .map(|c| (c.dropped, c.dropped - c.reported))
    });
    if let Some((total, new)) = lost {
        emit_lifecycle(
            shared,
            device,
            99,
            Severity::Medium,
            format!("{new} event(s) dropped: the collector queue was full ({total} in all)"),
            |e| {
                e.set("dropped", total);
                e.set("dropped_since_last_report", new);
            },
        );
        if let Ok(mut s) = shared.lock() {
            if let Some(c) = s.collector.as_mut() {
                c.reported = total;
            }
        }
    }
}

fn shutdown(shared: &Arc<Mutex<Shared>>, api: &Api, device: &Device, reason: &str) {
    let learned = shared.lock().ok().and_then(|s| {
        let empty = s.observed == vigil_policy::Observed::default();
        (!empty).then(|| vigil_policy::Policy::from_observed(&s.observed))
    });
    let fname = shared
        .lock()
        .ok()
        .and_then(|s| s.function.name.clone())
        .unwrap_or_default();
    emit_lifecycle(
        shared,
        device,
        4,
        Severity::Informational,
        format!("vigil extension shutting down ({reason})"),
        |e| {
            e.set("shutdown_reason", reason);
            if let Some(p) = &learned {
                let header = vec![format!("Vigil policy learned in Lambda for function {fname}, across this sandbox's invocations")];
                e.set("learned_policy", vigil_policy::render(p, &header));
            }
        },
    );
    flush(shared, api, device);
}

/// Accepts wrappers (one per runtime start) and supervises each runtime to its end.
fn supervise_forever(
    listener: OwnedFd,
    shared: Arc<Mutex<Shared>>,
    device: Device,
    runtime_api: String,
) {
    loop {
        let Ok(conn) = rustix::net::accept_with(&listener, rustix::net::SocketFlags::CLOEXEC)
        else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if let Err(e) = supervise_one(conn, &shared, &device, &runtime_api) {
            emit_lifecycle(
                &shared,
                &device,
                4,
                Severity::High,
                format!("vigil supervisor failed: {e}"),
                |ev| {
                    ev.status_id = Some(2);
                },
            );
        }
    }
}

fn supervise_one(
    conn: OwnedFd,
    shared: &Arc<Mutex<Shared>>,
    device: &Device,
    runtime_api: &str,
) -> Result<(), String> {
    let hello: Hello =
        handoff::recv(&conn, Duration::from_secs(5)).map_err(|e| format!("hand-off: {e}"))?;
    let me = std::process::id();
    let pgid = rustix::process::getpgid(None)
        .map(|p| p.as_raw_nonzero().get() as u32)
        .unwrap_or(me);
    let tids = handoff::my_tids();
    handoff::send(
        &conn,
        &Welcome {
            pid: me,
            pgid,
            tids: tids.clone(),
        },
    )
    .map_err(|e| format!("hand-off: {e}"))?;
    let mut buf = [0u8; 1024];
    let (n, listener) =
        vigil_sensor::sys::recv_fd(conn.as_fd(), &mut buf).map_err(|e| format!("hand-off: {e}"))?;
    let report = Report::decode(&buf[..n]).ok_or("hand-off: no install report")?;
    let text = std::fs::read_to_string(&hello.policy)
        .map_err(|e| format!("policy {}: {e}", hello.policy))?;
    let mut policy = vigil_policy::parse(&hello.policy, &text).map_err(|e| e.to_string())?;
    if let Ok(d) = Destination::parse(runtime_api) {
        policy.network.connect.push(d);
    }
    let mode: Mode = hello.mode.parse()?;
    if let Ok(mut s) = shared.lock() {
        s.runtime_pid = Some(hello.runtime_pid);
    }
    let mut start = vigil_events::Event::new(
        vigil_events::Class::ApplicationLifecycle,
        3,
        if report.layer == vigil_sensor::install::Layer::Supervised {
            Severity::Informational
        } else {
            Severity::High
        },
        format!(
            "vigil sensor started ({mode} mode, layer {}) for runtime {}",
            report.layer.as_str(),
            hello.runtime_pid
        ),
        device.clone(),
    );
    start.status_id = Some(if report.layer == vigil_sensor::install::Layer::None {
        2
    } else {
        1
    });
    if !report.reason.is_empty() {
        start.status_detail = Some(report.reason.clone());
    }
    start.set("mode", mode.as_str());
    start.set("layer", report.layer.as_str());
    start.set("policy", hello.policy.clone());
    start.set("integration", "lambda");
    if let Ok(mut s) = shared.lock() {
        s.emit(&start);
    }
    let mut pids = vec![me];
    pids.extend(tids);
    let cfg = Config {
        mode,
        policy,
        hosts: Vec::new(),
        device: device.clone(),
        main_pid: hello.runtime_pid,
        protected: pids,
        protected_pgids: vec![pgid],
        install: report,
        forward_to_pgid: 0,
        tags: serde_json::Map::from_iter([("integration".to_string(), "lambda".into())]),
        main_is_child: false,
    };
    let mut sink = LambdaSink(shared.clone());
    let sup = Supervisor::new(cfg, listener, None, &mut sink).map_err(|e| e.to_string())?;
    sup.run().map_err(|e| e.to_string())?;
    Ok(())
}

/// Serves the Telemetry API's pushes on a port of our own; reports `platform.runtimeDone`
/// request ids. Returns the port.
///
/// Hand-rolled rather than an HTTP server crate: the requests are simple (a POST with a
/// Content-Length JSON body) and, unlike server crates with worker pools, this keeps the
/// extension's set of threads fixed — the seccomp filter protects each of them by id.
fn start_telemetry(done: Sender<String>) -> Result<u16, String> {
    let l = TcpListener::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::Builder::new()
        .name("vigil-telemetry".into())
        .spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let Ok(read_half) = conn.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                while let Some(body) = read_request(&mut reader) {
                    if let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(&body) {
                        for e in events {
                            if e["type"] == "platform.runtimeDone" {
                                if let Some(r) = e["record"]["requestId"].as_str() {
                                    let _ = done.send(r.to_string());
                                }
                            }
                        }
                    }
                    if conn
                        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                        .is_err()
                    {
                        break;
                    }
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(port)
}

/// Reads one HTTP/1.1 request's body from a keep-alive connection.
fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if line.is_empty() {
        return None;
    }
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().ok()?;
            }
        }
    }
    if len > 16 << 20 {
        return None;
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(body)
}
