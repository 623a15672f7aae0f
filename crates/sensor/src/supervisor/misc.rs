//! Tampering with the supervisor, signals through pidfds, and the hardening set.

use super::{Call, Reply, Supervisor};
use crate::arch::Sys;
use crate::hardening;
use crate::procfs;
use crate::sys;
use std::os::fd::{AsFd, AsRawFd};
use vigil_events::{Outcome, Severity};

impl Supervisor<'_> {
    /// Signals and pidfds aimed at the supervisor (the filter only notifies those).
    pub(super) fn on_tamper(&mut self, c: &Call) -> Reply {
        let target = c.args[0] as u32 as i32;
        let what = match c.sys {
            Sys::kill if target == -1 => "kill(-1): a signal to every process".to_string(),
            Sys::kill if target < 0 => {
                format!("kill({target}): a signal to the supervisor's process group")
            }
            Sys::setpgid => "setpgid into the supervisor's process group".to_string(),
            Sys::fcntl | Sys::ioctl => {
                "making the supervisor the owner of a file (SIGIO)".to_string()
            }
            s @ (Sys::setpriority | Sys::ioprio_set) => {
                format!(
                    "{}(…, {}) aimed at the supervisor",
                    s.name(),
                    c.args[1] as u32 as i32
                )
            }
            s => format!(
                "{}({}) aimed at the supervisor",
                s.name(),
                c.args[0] as u32 as i32
            ),
        };
        self.stats.denied += 1;
        self.report_incident(
            c,
            "tamper.signal",
            format!("Attempt to tamper with the Vigil supervisor: {what}"),
            Severity::Critical,
            Outcome::Blocked,
        );
        Reply::err(libc::EPERM)
    }

    /// `fcntl(F_SETOWN_EX)` and `ioctl(FIOSETOWN|SIOCSPGRP)`: the new owner of a file (who gets
    /// its SIGIO, or the signal chosen with F_SETSIG) is behind a pointer. The supervisor reads
    /// it, refuses the supervisor as owner, and otherwise sets it itself on the same open file.
    pub(super) fn on_set_owner(&mut self, c: &Call) -> Reply {
        // F_SETOWN takes the pid as an integer: the filter only notifies it when the pid is
        // protected.
        if c.sys == Sys::fcntl && c.args[1] as u32 == libc::F_SETOWN as u32 {
            return self.on_tamper(&Call {
                args: [c.args[2], 0, 0, 0, 0, 0],
                ..*c
            });
        }
        let Ok(raw) = procfs::read_bytes(c.tid, c.args[2], if c.sys == Sys::fcntl { 8 } else { 4 })
        else {
            return Reply::err(libc::EFAULT);
        };
        let int = |i: usize| i32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let (kind, who) = if c.sys == Sys::fcntl {
            (int(0), int(4))
        } else {
            // A negative value names a process group.
            let v = int(0);
            (
                if v < 0 {
                    sys::owner::PGRP
                } else {
                    sys::owner::PID
                },
                i32::try_from(v.unsigned_abs()).unwrap_or(i32::MAX),
            )
        };
        let aimed_at_supervisor = match kind {
            sys::owner::PGRP => self.cfg.protected_pgids.contains(&(who as u32)),
            _ => self.cfg.protected.contains(&(who as u32)),
        };
        if aimed_at_supervisor {
            return self.on_tamper(&Call {
                args: [who as u64, 0, 0, 0, 0, 0],
                ..*c
            });
        }
        // The supervisor sets the owner with its own reach: only the function's processes may
        // receive the function's SIGIO. Owner 0 clears it.
        if who < 0 || (who > 0 && !self.is_monitored(who as u32)) {
            return Reply::err(libc::EPERM);
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        let fd = match self.getfd(c, c.args[0]) {
            Ok(f) => f,
            Err(e) => return Reply::errno(e),
        };
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let res = if c.sys == Sys::fcntl {
            sys::fcntl_setown_ex(fd.as_fd(), kind, who)
        } else {
            sys::ioctl_set_int(fd.as_fd(), c.args[1] as u32, int(0))
        };
        match res {
            Ok(()) => Reply::val(0),
            Err(e) => Reply::err(e.raw_os_error().unwrap_or(libc::EINVAL)),
        }
    }

    /// `pidfd_send_signal` names its target by an fd (a pidfd or a `/proc/<pid>` directory),
    /// which the filter cannot see: the supervisor looks at the fd and, unless it is the
    /// supervisor, sends the signal itself.
    pub(super) fn on_pidfd_send_signal(&mut self, c: &Call) -> Reply {
        let fd = match self.getfd(c, c.args[0]) {
            Ok(f) => f,
            Err(e) => return Reply::errno(e),
        };
        let target = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
            .ok()
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.strip_prefix("Pid:").map(|v| v.trim().parse::<i64>().ok()))
                    .flatten()
            })
            .or_else(|| {
                std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
                    .ok()
                    .and_then(|p| p.to_str()?.strip_prefix("/proc/")?.parse::<i64>().ok())
            });
        if let Some(t) = target {
            if t > 0 && self.cfg.protected.contains(&(t as u32)) {
                return self.on_tamper(&Call {
                    args: [t as u64, 0, 0, 0, 0, 0],
                    ..*c
                });
            }
        }
        // The signal leaves with the supervisor's credentials and outside the function's
        // Landlock domain: only the function's own processes may be targets.
        match target {
            Some(t) if t > 0 && self.is_monitored(t as u32) => {}
            _ => return Reply::err(libc::EPERM),
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        let info = if c.args[2] != 0 {
            match procfs::read_bytes(c.tid, c.args[2], 128) {
                Ok(b) => {
                    let mut a = [0u8; 128];
                    a.copy_from_slice(&b);
                    Some(a)
                }
                Err(_) => return Reply::err(libc::EFAULT),
            }
        } else {
            None
        };
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        match sys::pidfd_send_signal_info(
            fd.as_fd(),
            c.args[1] as i32,
            info.as_ref(),
            c.args[3] as u32,
        ) {
            Ok(()) => Reply::val(0),
            Err(e) => Reply::err(e.raw_os_error().unwrap_or(libc::EPERM)),
        }
    }

    /// A call from the hardening set: denied in every mode, and reported.
    pub(super) fn on_hardening(&mut self, c: &Call) -> Reply {
        let group = if c.sys == Sys::clone {
            hardening::GROUPS.iter().find(|g| g.name == "namespaces")
        } else {
            hardening::group_of(c.sys)
        };
        let (name, errno, reason) = match group {
            Some(g) => (g.name, g.errno, g.reason),
            None => ("unknown", libc::EPERM, "not expected from a function"),
        };
        self.stats.denied += 1;
        self.report_incident(
            c,
            "hardening",
            format!(
                "{} denied (hardening group `{name}`): {reason}",
                c.sys.name()
            ),
            Severity::High,
            Outcome::Blocked,
        );
        Reply::err(errno)
    }
}
