//! `--on-supervisor-death kill`: a watchdog that kills the whole function if the supervisor
//! dies.
//!
//! The process started as `vigil run` becomes the watchdog: it is a child subreaper, forks the
//! real supervisor, and waits. The supervisor (also a subreaper) forks the function as usual,
//! so while it lives every orphan of the function is re-parented to it; when it dies they are
//! re-parented to the watchdog, which kills every descendant it has — repeatedly, until none
//! is left, so a process forking during the sweep is caught on the next pass. The watchdog is
//! protected from the function like the supervisor (its pid is in the filter's checks).

use crate::sys;
use rustix::process::{Pid, Signal, WaitOptions};
use std::collections::HashMap;
use std::io;
use std::os::fd::AsFd;
use vigil_events::{Class, Device, Event, Severity, Sink};

/// Becomes the watchdog: returns the watchdog's pid in the supervisor (the child); never
/// returns in the watchdog itself, which exits with the supervisor's status.
pub fn start(sink: &mut dyn Sink, device: &Device) -> io::Result<u32> {
    let me = std::process::id();
    rustix::process::set_child_subreaper(Pid::from_raw(me as i32))?;
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let signals = sys::block_signals_to_fd(&crate::supervisor::HANDLED_SIGNALS)?;
    // Both processes keep a copy of the sink: nothing kept back may be written twice.
    sink.flush();
    match sys::fork()? {
        None => {
            // The supervisor: it creates its own signalfd for the same (still blocked) signals.
            drop(signals);
            Ok(me)
        }
        Some(supervisor) => watch(supervisor, signals, sink, device),
    }
}

fn watch(
    supervisor: u32,
    signals: std::os::fd::OwnedFd,
    sink: &mut dyn Sink,
    device: &Device,
) -> ! {
    loop {
        let mut fds = [rustix::event::PollFd::new(
            &signals,
            rustix::event::PollFlags::IN,
        )];
        let _ = rustix::event::poll(&mut fds, None);
        while let Ok(Some((sig, _))) = sys::read_signalfd(signals.as_fd()) {
            if sig != libc::SIGCHLD {
                if let (Some(p), Some(s)) = (
                    Pid::from_raw(supervisor as i32),
                    Signal::from_named_raw(sig),
                ) {
                    let _ = rustix::process::kill_process(p, s);
                }
                continue;
            }
            // Reap whatever ended: the supervisor, or orphans of the function.
            loop {
                match rustix::process::wait(WaitOptions::NOHANG) {
                    Ok(Some((pid, st))) if pid.as_raw_nonzero().get() as u32 == supervisor => {
                        if let Some(code) = st.exit_status() {
                            // A normal end: the supervisor exits with the function's status.
                            // Anything left (it outlived the supervisor's wait) goes too.
                            let _ = kill_descendants();
                            sys::exit_now(code);
                        }
                        let sig = st.terminating_signal().unwrap_or(libc::SIGKILL);
                        eprintln!(
                            "vigil: the supervisor died (signal {sig}); killing every process of the function (--on-supervisor-death kill)"
                        );
                        let killed = kill_descendants();
                        let mut e = Event::new(
                            Class::ApplicationLifecycle,
                            4,
                            Severity::Critical,
                            format!("vigil supervisor died (signal {sig}); {killed} process(es) of the function killed"),
                            device.clone(),
                        );
                        e.status_id = Some(2);
                        e.status_detail = Some(format!(
                            "supervisor {supervisor} terminated by signal {sig}"
                        ));
                        e.set("on_supervisor_death", "kill");
                        e.set("killed", killed);
                        sink.emit(&e);
                        sys::exit_now(128 + sig);
                    }
                    Ok(Some(_)) => continue,
                    _ => break,
                }
            }
        }
    }
}

/// `pid -> ppid` for every process, from `/proc/<pid>/stat`.
fn parents() -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may contain anything: parse after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            out.insert(pid, ppid);
        }
    }
    out
}

/// Kills every descendant of this process until there are none, reaping them; returns how
/// many were killed.
pub fn kill_descendants() -> usize {
    let me = std::process::id();
    let mut total = 0;
    for _ in 0..100 {
        let map = parents();
        let mut victims = Vec::new();
        let mut frontier = vec![me];
        while let Some(p) = frontier.pop() {
            for (child, parent) in &map {
                if *parent == p {
                    victims.push(*child);
                    frontier.push(*child);
                }
            }
        }
        if victims.is_empty() {
            return total;
        }
        total += victims.len();
        for v in &victims {
            if let Some(p) = Pid::from_raw(*v as i32) {
                let _ = rustix::process::kill_process(p, Signal::KILL);
            }
        }
        while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    total
}
