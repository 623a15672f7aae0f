//! `vigil probe`: which mechanisms this sandbox supports, tested for real in a throwaway child
//! process (a seccomp filter cannot be removed once installed).

use crate::filter;
use crate::install::{kernel_at_least, supervisor_features, Layer};
use crate::sys::{self, flags};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::os::fd::AsFd;

/// The probe's findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// `uname -r`.
    pub kernel: String,
    /// The `Seccomp:` mode this process already runs under (0 none, 2 filter).
    pub seccomp_mode: u8,
    /// `PR_SET_NO_NEW_PRIVS` works.
    pub no_new_privs: bool,
    /// A seccomp filter can be installed.
    pub seccomp_filter: bool,
    /// `SECCOMP_FILTER_FLAG_NEW_LISTENER` works (user notification).
    pub user_notification: bool,
    /// A listener already exists in this process tree (seccomp allows one).
    pub existing_listener: bool,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (5.19+).
    pub wait_killable_recv: bool,
    /// `SECCOMP_IOCTL_NOTIF_ADDFD` (5.9+).
    pub addfd: bool,
    /// `SECCOMP_ADDFD_FLAG_SEND` (5.14+).
    pub addfd_send: bool,
    /// `pidfd_getfd` (5.6+).
    pub pidfd_getfd: bool,
    /// Landlock ABI version, 0 when unavailable.
    pub landlock_abi: u32,
    /// Why Landlock is unavailable.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub landlock_note: Option<String>,
    /// `/proc/sys/kernel/yama/ptrace_scope`, when Yama is present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub yama_ptrace_scope: Option<u8>,
    /// The layer `vigil run` would get.
    pub layer: String,
    /// Why not a stronger one.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub layer_reason: String,
}

fn child_checks() -> Probe {
    let mut p = Probe::default();
    if rustix::thread::set_no_new_privs(true).is_err() {
        return p;
    }
    p.no_new_privs = true;
    p.pidfd_getfd = sys::syscall_exists(libc::SYS_pidfd_getfd);
    let prog = filter::allow_all();
    let attempt = match sys::install_filter(&prog, flags::NEW_LISTENER | flags::WAIT_KILLABLE_RECV)
    {
        Ok(l) => {
            p.wait_killable_recv = true;
            Ok(l)
        }
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            sys::install_filter(&prog, flags::NEW_LISTENER)
        }
        Err(e) => Err(e),
    };
    match attempt {
        Ok(Some(listener)) => {
            p.seccomp_filter = true;
            p.user_notification = true;
            match supervisor_features(listener.as_fd()) {
                Ok(send) => {
                    p.addfd = true;
                    p.addfd_send = send;
                }
                Err(_) => p.addfd = false,
            }
        }
        Ok(None) => p.seccomp_filter = true,
        Err(e) => {
            p.existing_listener = e.raw_os_error() == Some(libc::EBUSY);
            p.seccomp_filter = sys::install_filter(&prog, 0).is_ok();
        }
    }
    p
}

/// Runs the probe.
pub fn probe() -> std::io::Result<Probe> {
    let (mut r, w) = std::io::pipe()?;
    let mut p = match sys::fork()? {
        None => {
            drop(r);
            let mut w = w;
            let p = child_checks();
            let json = serde_json::to_vec(&p).unwrap_or_default();
            let _ = w.write_all(&json);
            sys::exit_now(0);
        }
        Some(pid) => {
            drop(w);
            let mut buf = Vec::new();
            let read = r.read_to_end(&mut buf);
            let _ = rustix::process::waitpid(
                rustix::process::Pid::from_raw(pid as i32),
                rustix::process::WaitOptions::empty(),
            );
            read?;
            serde_json::from_slice::<Probe>(&buf).map_err(std::io::Error::other)?
        }
    };
    p.kernel = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    p.seccomp_mode = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Seccomp:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
        })
        .unwrap_or(0);
    match sys::landlock_abi() {
        Ok(abi) => p.landlock_abi = abi,
        Err(e) => {
            p.landlock_note = Some(match e {
                libc::ENOSYS => "not built into this kernel".to_string(),
                libc::EOPNOTSUPP => "disabled at boot (not in the lsm= list)".to_string(),
                other => format!("unavailable (errno {other})"),
            })
        }
    }
    p.yama_ptrace_scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    let (layer, reason) =
        if p.user_notification && p.addfd && p.pidfd_getfd && kernel_at_least(5, 9) {
            (Layer::Supervised, String::new())
        } else if p.seccomp_filter {
            let why = if p.existing_listener {
                "another seccomp listener exists in this process tree"
            } else if !p.user_notification {
                "seccomp user notification is unavailable"
            } else {
                "the kernel lacks pidfd_getfd or SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9+)"
            };
            (Layer::KernelOnly, why.to_string())
        } else if !p.no_new_privs {
            (Layer::None, "PR_SET_NO_NEW_PRIVS is refused".to_string())
        } else {
            (
                Layer::None,
                "seccomp filters cannot be installed".to_string(),
            )
        };
    p.layer = layer.as_str().to_string();
    p.layer_reason = reason;
    Ok(p)
}
