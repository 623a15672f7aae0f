//! Installing the sensor on the calling process (just before it executes the function) and
//! handing the listener to the supervisor.
//!
//! The listener is created by the filter installation itself, and from then on every
//! `sendmsg` of this thread is one the filter hands to the supervisor — which does not have
//! the listener yet. So a helper thread is started *before* the filter: it is not under the
//! filter (seccomp filters apply to the installing thread and what it creates afterwards) and
//! sends the listener over the Unix socket with `SCM_RIGHTS`, then exits before the exec.

use crate::bpf::Program;
use crate::sys::{self, flags};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// The protection layer that was installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Seccomp filter with a supervisor (user notification) — the full sensor.
    Supervised,
    /// Seccomp filter deciding statically, no supervisor.
    KernelOnly,
    /// Nothing could be installed: the command runs unprotected.
    None,
}

impl Layer {
    /// The name used in events and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Supervised => "kernel-sensor",
            Layer::KernelOnly => "kernel-filter",
            Layer::None => "none",
        }
    }

    /// Parses a layer name.
    pub fn parse(s: &str) -> Option<Layer> {
        match s {
            "kernel-sensor" => Some(Layer::Supervised),
            "kernel-filter" => Some(Layer::KernelOnly),
            "none" => Some(Layer::None),
            _ => None,
        }
    }

    fn code(self) -> u8 {
        match self {
            Layer::Supervised => 2,
            Layer::KernelOnly => 1,
            Layer::None => 0,
        }
    }

    fn from_code(c: u8) -> Layer {
        match c {
            2 => Layer::Supervised,
            1 => Layer::KernelOnly,
            _ => Layer::None,
        }
    }
}

/// What the installing side reports to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The layer installed.
    pub layer: Layer,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` is in effect.
    pub wait_killable: bool,
    /// `SECCOMP_ADDFD_FLAG_SEND` works.
    pub addfd_send: bool,
    /// Why a stronger layer could not be had (empty when the strongest was).
    pub reason: String,
    /// What Landlock did (applied by the installing side before the filter).
    pub landlock: String,
}

impl Report {
    fn encode(&self) -> Vec<u8> {
        let mut v = vec![
            b'V',
            self.layer.code(),
            u8::from(self.wait_killable),
            u8::from(self.addfd_send),
        ];
        v.extend_from_slice(self.reason.as_bytes());
        v.push(0);
        v.extend_from_slice(self.landlock.as_bytes());
        v
    }

    /// Decodes a report received by the supervisor.
    pub fn decode(b: &[u8]) -> Option<Report> {
        if b.len() < 4 || b[0] != b'V' {
            return None;
        }
        let rest = &b[4..];
        let (reason, landlock) = match rest.iter().position(|c| *c == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        Some(Report {
            layer: Layer::from_code(b[1]),
            wait_killable: b[2] != 0,
            addfd_send: b[3] != 0,
            reason: String::from_utf8_lossy(reason).into_owned(),
            landlock: String::from_utf8_lossy(landlock).into_owned(),
        })
    }
}

/// The two programs compiled from the policy.
pub struct Programs {
    /// For the supervised layer (notifies).
    pub supervised: Program,
    /// For the kernel-only layer.
    pub kernel_only: Program,
}

fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Checks on a fresh listener that the kernel has `SECCOMP_IOCTL_NOTIF_ADDFD` (5.9). Returns
/// whether `SECCOMP_ADDFD_FLAG_SEND` (5.14) works, or what is missing.
/// Must not make any call the filter notifies (the listener has no reader yet): `pidfd_getfd`
/// is checked before the filter is installed.
pub fn supervisor_features(listener: BorrowedFd<'_>) -> Result<bool, String> {
    let probe_fd = listener; // any valid fd will do as the source
    match sys::notif_addfd(listener, 0, probe_fd, false, false) {
        Err(e) if errno_of(&e) == libc::ENOENT => {}
        Err(e) => {
            return Err(format!(
                "the kernel has no SECCOMP_IOCTL_NOTIF_ADDFD (Linux 5.9+): {e}"
            ))
        }
        Ok(_) => return Err("SECCOMP_IOCTL_NOTIF_ADDFD accepted a bogus id".into()),
    }
    Ok(
        matches!(sys::notif_addfd(listener, 0, probe_fd, false, true),
        Err(e) if errno_of(&e) == libc::ENOENT),
    )
}

/// Installs the strongest layer that works on the calling thread and sends the report (and
/// the listener, for the supervised layer) over `sock`. `want_supervised` false skips straight
/// to the kernel-only layer. The calling process must be single-threaded.
pub fn install_and_handoff(
    progs: &Programs,
    sock: BorrowedFd<'_>,
    want_supervised: bool,
    landlock: &str,
) -> Report {
    if let Err(e) = rustix::thread::set_no_new_privs(true) {
        let report = Report {
            layer: Layer::None,
            wait_killable: false,
            addfd_send: false,
            reason: format!(
                "PR_SET_NO_NEW_PRIVS refused ({e}): no seccomp filter can be installed"
            ),
            landlock: landlock.to_string(),
        };
        let _ = sys::send_fd(sock, None, &report.encode());
        return report;
    }

    // The sender thread must exist before the filter does.
    let (tx, rx) = std::sync::mpsc::channel::<(Option<OwnedFd>, Vec<u8>)>();
    let sender = sock.try_clone_to_owned().and_then(|own| {
        std::thread::Builder::new()
            .name("vigil-handoff".into())
            .spawn(move || {
                if let Ok((fd, msg)) = rx.recv() {
                    return sys::send_fd(own.as_fd(), fd.as_ref().map(|f| f.as_fd()), &msg);
                }
                Ok(())
            })
    });
    let Ok(sender) = sender else {
        let report = Report {
            layer: Layer::None,
            wait_killable: false,
            addfd_send: false,
            reason: "could not start the hand-off thread".into(),
            landlock: landlock.to_string(),
        };
        let _ = sys::send_fd(sock, None, &report.encode());
        return report;
    };

    let mut reason = String::new();
    let mut result: Option<(Report, Option<OwnedFd>)> = None;
    let mut want_supervised = want_supervised;
    if want_supervised && !(kernel_at_least(5, 9) && sys::syscall_exists(libc::SYS_pidfd_getfd)) {
        reason = "the supervisor needs Linux 5.9+ (pidfd_getfd, SECCOMP_IOCTL_NOTIF_ADDFD)".into();
        want_supervised = false;
    }
    if want_supervised {
        let attempt = sys::install_filter(
            &progs.supervised,
            flags::NEW_LISTENER | flags::WAIT_KILLABLE_RECV,
        )
        .map(|l| (l, true))
        .or_else(|e| {
            if errno_of(&e) == libc::EINVAL {
                sys::install_filter(&progs.supervised, flags::NEW_LISTENER).map(|l| (l, false))
            } else {
                Err(e)
            }
        });
        match attempt {
            Ok((Some(listener), killable)) => match supervisor_features(listener.as_fd()) {
                Ok(addfd_send) => {
                    result = Some((
                        Report {
                            layer: Layer::Supervised,
                            wait_killable: killable,
                            addfd_send,
                            reason: String::new(),
                            landlock: landlock.to_string(),
                        },
                        Some(listener),
                    ));
                }
                Err(why) => {
                    // The filter is installed and notifies, but no supervisor can serve it
                    // properly: drop the listener so every notified call fails (ENOSYS) —
                    // fail closed — and say so.
                    reason = format!("{why}; fail closed: every watched call fails with ENOSYS");
                    result = Some((
                        Report {
                            layer: Layer::None,
                            wait_killable: false,
                            addfd_send: false,
                            reason: reason.clone(),
                            landlock: landlock.to_string(),
                        },
                        None,
                    ));
                }
            },
            Ok((None, _)) => reason = "the kernel returned no listener".into(),
            Err(e) if errno_of(&e) == libc::EBUSY => {
                reason = "a seccomp listener already exists in this process tree (another supervisor); seccomp allows only one".into()
            }
            Err(e) if errno_of(&e) == libc::EPERM => {
                reason = "a seccomp filter above this process refuses new listeners (another sensor, such as an outer vigil, supervises it)".into()
            }
            Err(e) => reason = format!("seccomp user notification unavailable: {e}"),
        }
    }
    let (report, listener) = match result {
        Some(r) => r,
        None => match sys::install_filter(&progs.kernel_only, 0) {
            Ok(_) => (
                Report {
                    layer: Layer::KernelOnly,
                    wait_killable: false,
                    addfd_send: false,
                    reason,
                    landlock: landlock.to_string(),
                },
                None,
            ),
            Err(e) => (
                Report {
                    layer: Layer::None,
                    wait_killable: false,
                    addfd_send: false,
                    reason: format!("{reason}; seccomp filter refused: {e}"),
                    landlock: landlock.to_string(),
                },
                None,
            ),
        },
    };
    let _ = tx.send((listener, report.encode()));
    match sender.join() {
        Ok(Ok(())) => report,
        _ => Report {
            layer: Layer::None,
            wait_killable: false,
            addfd_send: false,
            reason: "the listener could not be handed to the supervisor".into(),
            landlock: landlock.to_string(),
        },
    }
}

/// Whether the running kernel is at least `major.minor` (from `uname -r`).
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    let uts = rustix::system::uname();
    let release = uts.release().to_string_lossy();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let maj: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let min: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (maj, min) >= (major, minor)
}
