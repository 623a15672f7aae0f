//! `vigil run`'s process model: the supervisor forks the function, the function installs the
//! sensor on itself and hands the listener back, then executes the command.
//!
//! ```text
//! vigil (supervisor, not dumpable, child subreaper)
//!   └─ fork ─ child: own process group, Landlock, seccomp filter ──SCM_RIGHTS──► supervisor
//!             └─ execve(command)   ◄── the first notified call, decided like any other
//! ```

use crate::filter::{self, Layer as FilterLayer, Protected, Spec};
use crate::install::{install_and_handoff, Handoff, Layer, Programs, Report};
use crate::supervisor::{Config, Outcome, Supervisor};
use crate::{landlock, sys};
use std::ffi::{CString, OsString};
use std::io::Read;
use std::net::IpAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use vigil_events::{Class, Device, Event, Severity, Sink};
use vigil_policy::{Mode, Policy};

/// What to run, and how.
pub struct RunSpec {
    /// The policy.
    pub policy: Policy,
    /// The mode (the command line's, else the policy's, else enforce).
    pub mode: Mode,
    /// The program, as an absolute path (PATH already searched).
    pub program: String,
    /// `argv`, including `argv[0]`.
    pub argv: Vec<OsString>,
    /// The weakest layer acceptable: below it, the command is not run.
    pub require: Layer,
    /// Host names of the policy, resolved.
    pub hosts: Vec<(String, IpAddr)>,
    /// The sandbox, for events.
    pub device: Device,
    /// Extra `unmapped` fields on every event.
    pub tags: serde_json::Map<String, serde_json::Value>,
    /// The policy file, for the start event.
    pub policy_source: Option<String>,
    /// Use Landlock where the kernel has it (off only to debug, or to test the layers under
    /// it on their own).
    pub landlock: bool,
    /// If the supervisor dies, kill every process of the function (instead of letting their
    /// notified calls fail with `ENOSYS`, the default).
    pub kill_on_supervisor_death: bool,
}

/// Why a run could not start (the command did not run).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Setting up the sensor failed.
    #[error("{0}")]
    Setup(String),
    /// The available protection is weaker than required.
    #[error("the strongest protection available here is `{got}` ({reason}), but `{required}` is required; the command was not run")]
    LayerRequired {
        /// What could be had.
        got: &'static str,
        /// What was required.
        required: &'static str,
        /// Why.
        reason: String,
    },
}

/// How a run ended.
#[derive(Debug)]
pub struct RunResult {
    /// The supervisor's outcome (exit status, learned behaviour, counters).
    pub outcome: Outcome,
    /// The layer that protected the command.
    pub layer: Layer,
    /// The command could not be executed: the errno of its exec.
    pub exec_error: Option<i32>,
}

/// Tells the child to give up (it has not executed the command) and waits for it.
fn abort(sock: &OwnedFd, child: u32, why: RunError) -> RunError {
    let _ = rustix::io::write(sock, &[0]);
    let _ = rustix::process::waitpid(
        rustix::process::Pid::from_raw(child as i32),
        rustix::process::WaitOptions::empty(),
    );
    why
}

/// Takes fd `fd` of process `pid` (`pidfd_getfd`).
fn take_fd(pid: u32, fd: i32) -> std::io::Result<OwnedFd> {
    let pid = rustix::process::Pid::from_raw(pid as i32)
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::ESRCH))?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())?;
    Ok(rustix::process::pidfd_getfd(
        &pidfd,
        fd,
        rustix::process::PidfdGetfdFlags::empty(),
    )?)
}

/// How the child hands the listener over: `pidfd_getfd` unless Yama forbids a parent to
/// ptrace its child (`ptrace_scope` 2 or 3). `VIGIL_HANDOFF=thread` forces the other way (to
/// debug it, and for the tests that exercise it).
fn handoff_mode() -> Handoff {
    if std::env::var_os("VIGIL_HANDOFF").is_some_and(|v| v == "thread") {
        return Handoff::Thread;
    }
    match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope") {
        Ok(v) if !matches!(v.trim(), "0" | "1") => Handoff::Thread,
        _ => Handoff::Getfd,
    }
}

fn rank(l: Layer) -> u8 {
    match l {
        Layer::Supervised => 2,
        Layer::KernelOnly => 1,
        Layer::None => 0,
    }
}

fn cstring(b: &[u8], what: &str) -> Result<CString, RunError> {
    CString::new(b).map_err(|_| RunError::Setup(format!("{what} contains a NUL byte")))
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> RunError + '_ {
    move |e| RunError::Setup(format!("{what}: {e}"))
}

/// Runs the command under the sensor and supervises it to the end.
pub fn run(spec: RunSpec, sink: &mut dyn Sink) -> Result<RunResult, RunError> {
    let watchdog = if spec.kill_on_supervisor_death {
        Some(
            crate::watchdog::start(sink, &spec.device)
                .map_err(|e| RunError::Setup(format!("watchdog: {e}")))?,
        )
    } else {
        None
    };
    let me = std::process::id();
    let my_pgid = rustix::process::getpgid(None)
        .map(|p| p.as_raw_nonzero().get() as u32)
        .unwrap_or(me);
    let mut pids = vec![me];
    pids.extend(watchdog);
    let protected = Protected {
        pids,
        pgids: vec![my_pgid],
    };
    let spec_for = |layer| Spec {
        layer,
        mode: spec.mode,
        policy: &spec.policy,
        protected: protected.clone(),
    };
    let progs = Programs {
        supervised: filter::build(&spec_for(FilterLayer::Supervised))
            .map_err(|e| RunError::Setup(e.to_string()))?,
        kernel_only: filter::build(&spec_for(FilterLayer::KernelOnly))
            .map_err(|e| RunError::Setup(e.to_string()))?,
    };
    let abi = sys::landlock_abi().unwrap_or(0);
    let keep_caps = spec.policy.exempts("capabilities");
    let ll_plan = if spec.landlock {
        landlock::plan(&spec.policy, spec.mode, &spec.program)
    } else {
        landlock::Plan::default()
    };

    // Everything the child needs is prepared before fork.
    let program = cstring(spec.program.as_bytes(), "the program path")?;
    let argv: Vec<CString> = spec
        .argv
        .iter()
        .map(|a| cstring(a.as_bytes(), "an argument"))
        .collect::<Result<_, _>>()?;
    let envp: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());

    // The monitored processes must not read or write the supervisor's memory, and orphans of
    // the function are re-parented here so their exits are seen.
    // Under another sensor (nested vigil) PR_SET_DUMPABLE may be refused: the seccomp checks
    // on signals and Landlock scoping still protect this supervisor, and the start event says so.
    let dumpable_note =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
            .err()
            .map(|e| format!("the supervisor could not be made non-dumpable ({e})"));
    let _ = rustix::process::set_child_subreaper(Some(
        rustix::process::Pid::from_raw(me as i32)
            .ok_or_else(|| RunError::Setup("bad pid".into()))?,
    ));
    let signals = sys::block_signals_to_fd(&crate::supervisor::HANDLED_SIGNALS)
        .map_err(io_err("signalfd"))?;
    let tty_fg = rustix::termios::tcgetpgrp(std::io::stdin())
        .ok()
        .is_some_and(|fg| fg.as_raw_nonzero().get() as u32 == my_pgid);

    // The listener is taken with pidfd_getfd where this process may (it is the parent; Yama at
    // 2 or more forbids even that): no hand-off thread to start in the child. Should the kernel
    // refuse anyway (another LSM), the child is let go and a new one hands it over by thread.
    let modes: &[Handoff] = match handoff_mode() {
        Handoff::Getfd => &[Handoff::Getfd, Handoff::Thread],
        Handoff::Thread => &[Handoff::Thread],
    };
    let mut refused = String::new();
    let mut started = None;
    for &handoff in modes {
        let (parent_sock, child_sock) = rustix::net::socketpair(
            rustix::net::AddressFamily::UNIX,
            rustix::net::SocketType::SEQPACKET,
            rustix::net::SocketFlags::CLOEXEC,
            None,
        )
        .map_err(|e| RunError::Setup(format!("socketpair: {e}")))?;
        let (exec_err_r, exec_err_w) = std::io::pipe().map_err(io_err("pipe"))?;
        let child = sys::fork().map_err(io_err("fork"))?;
        let Some(child) = child else {
            // The child. Only this thread exists; it never returns.
            drop(parent_sock);
            drop(exec_err_r);
            // fork copied the supervisor's non-dumpable flag; the supervisor must be able to read
            // this process's memory to check its first exec (the flag resets at exec anyway).
            let _ =
                rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::Dumpable);
            let _ = rustix::process::setpgid(None, None);
            if tty_fg {
                // Take the terminal, as a shell gives it to a foreground job (SIGTTOU is blocked
                // along with the signals the supervisor handles).
                sys::block_signal(libc::SIGTTOU);
                let _ = rustix::termios::tcsetpgrp(std::io::stdin(), rustix::process::getpid());
            }
            sys::reset_signals();
            let applied = landlock::apply(&ll_plan, abi);
            let mut notes = applied.summary();
            if !keep_caps {
                notes.push_str("; ");
                notes.push_str(&crate::caps::drop_dangerous());
            }
            let _report = install_and_handoff(&progs, child_sock.as_fd(), true, &notes, handoff);
            let mut go = [0u8; 1];
            match rustix::io::read(&child_sock, &mut go) {
                Ok(1) if go[0] == 1 => {}
                _ => sys::exit_now(125),
            }
            drop(child_sock);
            let err = sys::execve(&program, &argv_p, &envp_p);
            let code = err.raw_os_error().unwrap_or(libc::ENOEXEC);
            let mut w = exec_err_w;
            let _ = std::io::Write::write_all(&mut w, &code.to_le_bytes());
            sys::exit_now(if code == libc::ENOENT { 127 } else { 126 });
        };
        drop(child_sock);
        drop(exec_err_w);
        let mut buf = [0u8; 512];
        let (n, sent) = match sys::recv_fd(parent_sock.as_fd(), &mut buf) {
            Ok(r) => r,
            Err(e) => {
                return Err(abort(
                    &parent_sock,
                    child,
                    RunError::Setup(format!("no report from the sensor: {e}")),
                ))
            }
        };
        let Some(report) = Report::decode(&buf[..n]) else {
            return Err(abort(
                &parent_sock,
                child,
                RunError::Setup("the sensor sent no report (it failed before installing)".into()),
            ));
        };
        let listener = match (handoff, report.listener_fd) {
            (Handoff::Getfd, Some(fd)) => match take_fd(child, fd) {
                Ok(l) => Some(l),
                Err(e) => {
                    // The child has not run the command: let it go, and try the next way.
                    abort(&parent_sock, child, RunError::Setup(String::new()));
                    refused = format!("pidfd_getfd: {e}");
                    continue;
                }
            },
            _ => sent,
        };
        started = Some((child, parent_sock, exec_err_r, report, listener));
        break;
    }
    let Some((child, parent_sock, mut exec_err_r, report, listener)) = started else {
        return Err(RunError::Setup(format!(
            "the listener could not be handed to the supervisor ({refused})"
        )));
    };
    // The function may own the terminal (and set TOSTOP): a background supervisor writing an
    // event must not be stopped by SIGTTOU, nor by SIGTTIN/SIGTSTP.
    for sig in [libc::SIGTTOU, libc::SIGTTIN, libc::SIGTSTP] {
        sys::ignore_signal(sig);
    }
    sys::raise_fd_limit();
    // The supervisor acts for the function only with the function's own power: it gives up
    // what the function gave up (compared in `same_creds`).
    if !keep_caps {
        let _ = crate::caps::drop_dangerous();
    }
    let abort = |why: RunError| -> RunError { abort(&parent_sock, child, why) };
    if rank(report.layer) < rank(spec.require) {
        return Err(abort(RunError::LayerRequired {
            got: report.layer.as_str(),
            required: spec.require.as_str(),
            reason: report.reason.clone(),
        }));
    }
    if report.layer == Layer::Supervised && listener.is_none() {
        return Err(abort(RunError::Setup(
            "the sensor reported a listener but none arrived".into(),
        )));
    }

    let mut start = start_event(&spec, &report, abi, &ll_plan);
    if let Some(n) = &dumpable_note {
        start.set("warning", n.clone());
    }
    let warning = (report.layer != Layer::Supervised).then(|| {
        format!(
            "vigil: warning: running with protection layer `{}`: {}",
            report.layer.as_str(),
            if report.reason.is_empty() {
                "no supervisor"
            } else {
                &report.reason
            }
        )
    });

    let layer = report.layer;
    let device = spec.device.clone();
    let mode = spec.mode;
    let cfg = Config {
        mode: spec.mode,
        policy: spec.policy,
        hosts: spec.hosts,
        device: spec.device,
        main_pid: child,
        protected: protected.pids.clone(),
        protected_pgids: protected.pgids.clone(),
        install: report,
        forward_to_pgid: child,
        tags: spec.tags,
        main_is_child: true,
    };
    let mut supervisor = Supervisor::new(cfg, listener, Some(signals), sink)
        .map_err(|e| abort(RunError::Setup(format!("supervisor: {e}"))))?;
    // The supervisor holds the listener: the function may start (its calls wait for answers),
    // while the start event is written.
    if rustix::io::write(&parent_sock, &[1]).is_err() {
        return Err(abort(RunError::Setup(
            "the function went away before it started".into(),
        )));
    }
    supervisor.emit_now(&start);
    if let Some(w) = warning {
        eprintln!("{w}");
    }
    let outcome = supervisor.run().map_err(io_err("supervisor"))?;
    let st = outcome.stats;
    let mut stop = Event::new(
        Class::ApplicationLifecycle,
        4,
        Severity::Informational,
        format!(
            "vigil sensor stopped: the command exited with status {}; {} denied, {} killed, {} alerted",
            outcome.exit_code, st.denied, st.killed, st.alerts
        ),
        device,
    );
    stop.status_id = Some(1);
    stop.set("mode", mode.as_str());
    stop.set("layer", layer.as_str());
    stop.set("exit_code", outcome.exit_code);
    stop.set(
        "stats",
        serde_json::json!({
            "notifications": st.notifications,
            "denied": st.denied,
            "killed": st.killed,
            "alerts": st.alerts,
            "events_dropped": sink.dropped(),
        }),
    );
    sink.emit(&stop);
    if tty_fg {
        sys::block_signal(libc::SIGTTOU);
        let _ = rustix::termios::tcsetpgrp(
            std::io::stdin(),
            rustix::process::Pid::from_raw(my_pgid as i32).unwrap_or(rustix::process::getpid()),
        );
    }
    let mut e = [0u8; 4];
    let exec_error = match exec_err_r.read(&mut e) {
        Ok(4) => Some(i32::from_le_bytes(e)),
        _ => None,
    };
    Ok(RunResult {
        outcome,
        layer,
        exec_error,
    })
}

fn start_event(spec: &RunSpec, report: &Report, abi: u32, plan: &landlock::Plan) -> Event {
    let severity = if report.layer == Layer::Supervised {
        Severity::Informational
    } else {
        Severity::High
    };
    let mut e = Event::new(
        Class::ApplicationLifecycle,
        3,
        severity,
        format!(
            "vigil sensor started ({} mode, layer {})",
            spec.mode,
            report.layer.as_str()
        ),
        spec.device.clone(),
    );
    e.status_id = Some(if report.layer == Layer::None { 2 } else { 1 });
    if !report.reason.is_empty() {
        e.status_detail = Some(report.reason.clone());
    }
    e.set("mode", spec.mode.as_str());
    e.set("layer", report.layer.as_str());
    e.set(
        "kernel",
        serde_json::json!({
            "release": rustix::system::uname().release().to_string_lossy(),
            "wait_killable_recv": report.wait_killable,
            "addfd_send": report.addfd_send,
            "landlock_abi": abi,
            "landlock_exec_rules": plan.exec.as_ref().map(|v| v.len()),
            "landlock": report.landlock,
        }),
    );
    e.set(
        "command",
        spec.argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "),
    );
    if let Some(p) = &spec.policy_source {
        e.set("policy", p.clone());
    }
    for (k, v) in &spec.tags {
        e.unmapped.insert(k.clone(), v.clone());
    }
    e
}
