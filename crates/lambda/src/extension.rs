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
use crate::sink::{Function, Invocation, LambdaSink, Shared};
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
/// The shutdown phase when SHUTDOWN carries no deadline (Lambda's limit with external
/// extensions).
const SHUTDOWN_DEFAULT: Duration = Duration::from_millis(2000);
/// Kept free at the end of the shutdown phase to write the Stop event and exit.
const SHUTDOWN_MARGIN: Duration = Duration::from_millis(300);
/// How long SHUTDOWN waits for the supervisor to report the runtime's end.
const RUNTIME_END_WAIT: Duration = Duration::from_millis(300);
/// How long to wait for `platform.start` of an invocation once INVOKE is read (telemetry is
/// buffered for 25 ms).
const START_WAIT: Duration = Duration::from_secs(1);

/// What the Telemetry API tells the extension.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Platform {
    /// `platform.start`: the runtime got invocation `request` at `time_ms`.
    Start {
        request: String,
        time_ms: Option<i64>,
    },
    /// `platform.runtimeDone`: the runtime answered `request`.
    RuntimeDone { request: String },
}

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

    let (platform_tx, platform_rx) = channel::<Platform>();
    let telemetry = start_telemetry(platform_tx).and_then(|port| {
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

    // Until the first invocation begins, events may be init's or already the first
    // invocation's: hold them (see crate::sink). Without telemetry there is no start time to
    // tell them apart, and events are tagged as INVOKE is read.
    if telemetry.is_ok() {
        if let Ok(mut s) = shared.lock() {
            s.hold();
        }
    }
    let mut invocations = 0u64;
    loop {
        let ev = match api.next_event(&reg.id) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("vigil extension: {e}");
                flush(&shared, &api, &device, FLUSH_BUDGET, true);
                return 1;
            }
        };
        match ev["eventType"].as_str() {
            Some("INVOKE") => {
                invocations += 1;
                let request = ev["requestId"].as_str().unwrap_or_default().to_string();
                let started = if telemetry.is_ok() {
                    wait_platform(&platform_rx, START_WAIT, |p| match p {
                        Platform::Start {
                            request: r,
                            time_ms,
                        } if *r == request => Some(*time_ms),
                        _ => None,
                    })
                    .flatten()
                } else {
                    None
                };
                if let Ok(mut s) = shared.lock() {
                    let next = Invocation {
                        request_id: Some(request.clone()),
                        arn: ev["invokedFunctionArn"].as_str().map(str::to_string),
                        cold_start: invocations == 1,
                        count: invocations,
                    };
                    s.begin_invocation(next, started);
                }
                if telemetry.is_ok() {
                    let deadline = ev["deadlineMs"].as_u64().map(|ms| {
                        let now = vigil_events::now_ms().max(0) as u64;
                        Duration::from_millis(ms.saturating_sub(now))
                    });
                    wait_platform(
                        &platform_rx,
                        deadline.unwrap_or(Duration::from_secs(900)),
                        |p| match p {
                            Platform::RuntimeDone { request: r } if *r == request => Some(()),
                            _ => None,
                        },
                    );
                }
                flush(&shared, &api, &device, FLUSH_BUDGET, false);
                // The runtime is idle: what comes next may be the next invocation's.
                if telemetry.is_ok() {
                    if let Ok(mut s) = shared.lock() {
                        s.hold();
                    }
                }
            }
            Some("SHUTDOWN") => {
                if let Ok(mut s) = shared.lock() {
                    s.release();
                }
                let deadline = ev["deadlineMs"].as_i64().map(|ms| {
                    let left = ms.saturating_sub(vigil_events::now_ms()).max(0);
                    Instant::now() + Duration::from_millis(left.unsigned_abs())
                });
                shutdown(
                    &shared,
                    &api,
                    &device,
                    ev["shutdownReason"].as_str().unwrap_or("unknown"),
                    deadline.unwrap_or_else(|| Instant::now() + SHUTDOWN_DEFAULT),
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

/// Waits, within `limit`, for the platform event that `want` picks; the others are dropped.
fn wait_platform<T>(
    rx: &Receiver<Platform>,
    limit: Duration,
    want: impl Fn(&Platform) -> Option<T>,
) -> Option<T> {
    let until = Instant::now() + limit;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.max(Duration::from_millis(1))) {
            Ok(p) => {
                if let Some(t) = want(&p) {
                    return Some(t);
                }
            }
            Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (`2024-05-01T12:00:00.123Z`, or with an
/// offset), as the Telemetry API writes them.
fn rfc3339_ms(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { t.get(r)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut ms = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = t.get(start..i)?;
        let digits: String = frac.chars().chain("000".chars()).take(3).collect();
        ms = digits.parse().ok()?;
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') => 0,
        Some(&sign @ (b'+' | b'-')) => {
            let v = num(i + 1..i + 3)? * 60 + num(i + 4..i + 6)?;
            if sign == b'+' {
                v
            } else {
                -v
            }
        }
        _ => return None,
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Ships queued events to the collector within `budget` and reports drops. Skipped while the
/// collector is [backing off](Collector::backing_off) after a failure, unless `last` (at
/// SHUTDOWN there is no later flush).
pub fn flush(
    shared: &Arc<Mutex<Shared>>,
    api: &Api,
    device: &Device,
    budget: Duration,
    last: bool,
) {
    let until = Instant::now() + budget;
    loop {
        let (url, batch) = match shared.lock() {
            Ok(mut s) => match s.collector.as_mut() {
                Some(c) if c.pending() > 0 && (last || !c.backing_off(Instant::now())) => {
                    (c.url.clone(), c.take_batch())
                }
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
                    c.succeeded();
                } else {
                    c.put_back(batch);
                    c.failed(Instant::now());
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

/// SHUTDOWN: reports the end of the runtime, the learned policy (learn mode) and what the
/// collector did not get, and ships what it can, all before `deadline` (after it Lambda kills
/// the extension).
fn shutdown(
    shared: &Arc<Mutex<Shared>>,
    api: &Api,
    device: &Device,
    reason: &str,
    deadline: Instant,
) {
    // Lambda sent the runtime SIGTERM just before: let the supervisor report its end.
    let until = Instant::now() + RUNTIME_END_WAIT.min(remaining(deadline) / 4);
    while shared.lock().map(|s| s.supervising > 0).unwrap_or(false) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    if let Ok(mut s) = shared.lock() {
        s.release();
    }
    // Everything before the Stop event, then the Stop event with what is still undelivered:
    // keep a margin to write it and exit.
    let budget = remaining(deadline).saturating_sub(SHUTDOWN_MARGIN);
    flush(shared, api, device, budget.min(FLUSH_BUDGET), true);
    let collector = shared.lock().ok().and_then(|s| {
        s.collector.as_ref().map(|c| {
            (
                c.delivered,
                c.pending() as u64,
                c.dropped,
                c.backing_off(Instant::now()),
            )
        })
    });
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
            if let Some((delivered, undelivered, dropped, _)) = collector {
                e.set("collector_delivered", delivered);
                e.set("collector_undelivered", undelivered);
                e.set("collector_dropped", dropped);
            }
            if let Some(p) = &learned {
                let header = vec![format!("Vigil policy learned in Lambda for function {fname}, across this sandbox's invocations")];
                e.set("learned_policy", vigil_policy::render(p, &header));
            }
        },
    );
    // The Stop event itself, if the collector is answering.
    if collector.is_some_and(|(_, _, _, failing)| !failing) {
        let budget = remaining(deadline).saturating_sub(SHUTDOWN_MARGIN);
        flush(shared, api, device, budget.min(FLUSH_BUDGET), true);
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
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
        if let Ok(mut s) = shared.lock() {
            s.supervising += 1;
        }
        let result = supervise_one(conn, &shared, &device, &runtime_api);
        if let Ok(mut s) = shared.lock() {
            s.supervising = s.supervising.saturating_sub(1);
        }
        if let Err(e) = result {
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
    // The wrapper dropped the function's dangerous capabilities; this thread, which acts for
    // the function, gives them up too (capabilities are per thread).
    if !policy
        .hardening_allow
        .iter()
        .any(|n| n.name == "capabilities")
    {
        let _ = vigil_sensor::caps::drop_dangerous();
    }
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
    let hosts = crate::dns::policy_hosts(&policy);
    let cfg = Config {
        mode,
        policy,
        hosts,
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

/// Serves the Telemetry API's pushes on a port of our own; reports `platform.start` and
/// `platform.runtimeDone`. Returns the port.
///
/// Hand-rolled rather than an HTTP server crate: the requests are simple (a POST with a
/// Content-Length JSON body) and, unlike server crates with worker pools, this keeps the
/// extension's set of threads fixed — the seccomp filter protects each of them by id. One
/// thread serves one connection at a time, so each is closed after its request
/// (`Connection: close`): an idle keep-alive connection would otherwise hold up the next
/// connection's batch — `platform.runtimeDone`, and the end of the invocation — until its read
/// timed out.
fn start_telemetry(platform: Sender<Platform>) -> Result<u16, String> {
    let l = TcpListener::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    let port = l.local_addr().map_err(|e| e.to_string())?.port();
    std::thread::Builder::new()
        .name("vigil-telemetry".into())
        .spawn(move || {
            for conn in l.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
                let Ok(read_half) = conn.try_clone() else {
                    continue;
                };
                let mut reader = BufReader::new(read_half);
                let Some(body) = read_request(&mut reader) else {
                    continue;
                };
                if let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(&body) {
                    for e in events {
                        let request = e["record"]["requestId"].as_str().map(str::to_string);
                        let msg = match (e["type"].as_str(), request) {
                            (Some("platform.start"), Some(request)) => Platform::Start {
                                request,
                                time_ms: e["time"].as_str().and_then(rfc3339_ms),
                            },
                            (Some("platform.runtimeDone"), Some(request)) => {
                                Platform::RuntimeDone { request }
                            }
                            _ => continue,
                        };
                        let _ = platform.send(msg);
                    }
                }
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_times_to_epoch_ms() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_ms("2022-10-12T00:00:00.123Z"),
            Some(1_665_532_800_123)
        );
        // More digits than milliseconds (chrono writes nanoseconds) are truncated.
        assert_eq!(
            rfc3339_ms("2022-10-12T00:00:00.123456789Z"),
            Some(1_665_532_800_123)
        );
        assert_eq!(
            rfc3339_ms("2022-10-12T02:00:00.5+02:00"),
            Some(1_665_532_800_500)
        );
        assert_eq!(rfc3339_ms("2024-02-29T23:59:59Z"), Some(1_709_251_199_000));
        assert_eq!(rfc3339_ms("yesterday"), None);
        assert_eq!(rfc3339_ms("2022-10-12T00:00:00"), None);
    }
}
