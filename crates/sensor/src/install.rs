//! Installing the sensor on the calling process (just before it executes the function) and
//! handing the listener to the supervisor.
//!
//! The listener is created by the filter installation itself, and from then on every
//! `sendmsg` of this thread is one the filter hands to the supervisor — which does not have
//! the listener yet. Two ways around that ([`Handoff`]):
//! - the supervisor takes the listener itself with `pidfd_getfd`, told its number by a plain
//!   `write` (which the filter lets through): `vigil run`, whose supervisor is the parent;
//! - a helper thread started *before* the filter (seccomp filters apply to the installing
//!   thread and what it creates afterwards) sends it over the Unix socket with `SCM_RIGHTS`,
//!   then exits before the exec: for a receiver that may not ptrace this process (the Lambda
//!   extension is not its ancestor), and where Yama or another LSM forbids even the parent.

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
    /// The listener's fd number in the installing process, for [`Handoff::Getfd`].
    pub listener_fd: Option<i32>,
}

/// How the listener reaches the supervisor (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// `SCM_RIGHTS` from a helper thread started before the filter: works for any receiver.
    Thread,
    /// The receiver takes it with `pidfd_getfd`: no thread to start and join (about a quarter
    /// of a millisecond of start-up), but the receiver must be allowed to ptrace this process.
    Getfd,
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
        if let Some(fd) = self.listener_fd {
            v.push(0);
            v.extend_from_slice(fd.to_string().as_bytes());
        }
        v
    }

    /// Decodes a report received by the supervisor.
    pub fn decode(b: &[u8]) -> Option<Report> {
        if b.len() < 4 || b[0] != b'V' {
            return None;
        }
        let mut parts = b[4..].split(|c| *c == 0);
        let reason = parts.next().unwrap_or_default();
        let landlock = parts.next().unwrap_or_default();
        let listener_fd = match parts.next() {
            Some(n) => Some(std::str::from_utf8(n).ok()?.parse().ok()?),
            None => None,
        };
        Some(Report {
            layer: Layer::from_code(b[1]),
            wait_killable: b[2] != 0,
            addfd_send: b[3] != 0,
            reason: String::from_utf8_lossy(reason).into_owned(),
            landlock: String::from_utf8_lossy(landlock).into_owned(),
            listener_fd,
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

/// Installs the strongest layer that works on the calling thread and hands the report (and
/// the listener, for the supervised layer) to the supervisor over `sock`, as `handoff` says.
/// `want_supervised` false skips straight to the kernel-only layer. The calling process must
/// be single-threaded. With [`Handoff::Getfd`] the listener stays open here until the exec
/// (it is close-on-exec), for the supervisor to take.
pub fn install_and_handoff(
    progs: &Programs,
    sock: BorrowedFd<'_>,
    want_supervised: bool,
    landlock: &str,
    handoff: Handoff,
) -> Report {
    let fail = |reason: String| {
        let report = Report {
            layer: Layer::None,
            wait_killable: false,
            addfd_send: false,
            reason,
            landlock: landlock.to_string(),
            listener_fd: None,
        };
        let _ = sys::send_fd(sock, None, &report.encode());
        report
    };
    if let Err(e) = rustix::thread::set_no_new_privs(true) {
        return fail(format!(
            "PR_SET_NO_NEW_PRIVS refused ({e}): no seccomp filter can be installed"
        ));
    }
    if handoff == Handoff::Getfd {
        let (mut report, listener) = install(progs, want_supervised, landlock);
        // Kept open until the exec closes it: the supervisor takes it before letting the exec
        // happen. The kernel creates it close-on-exec; made sure of here, as the function
        // holding its own listener could answer its own calls.
        report.listener_fd = listener.and_then(|l| {
            let flags = rustix::io::fcntl_getfd(&l).ok()?;
            if !flags.contains(rustix::io::FdFlags::CLOEXEC) {
                rustix::io::fcntl_setfd(&l, flags | rustix::io::FdFlags::CLOEXEC).ok()?;
            }
            Some(std::os::fd::IntoRawFd::into_raw_fd(l))
        });
        // A plain write, which the filter lets through (a sendmsg would wait for a supervisor
        // that has no listener yet).
        return match rustix::io::write(sock, &report.encode()) {
            Ok(_) => report,
            Err(e) => Report {
                layer: Layer::None,
                reason: format!("the report could not be sent to the supervisor: {e}"),
                listener_fd: None,
                ..report
            },
        };
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
        return fail("could not start the hand-off thread".into());
    };
    let (report, listener) = install(progs, want_supervised, landlock);
    let _ = tx.send((listener, report.encode()));
    match sender.join() {
        Ok(Ok(())) => report,
        _ => Report {
            layer: Layer::None,
            wait_killable: false,
            addfd_send: false,
            reason: "the listener could not be handed to the supervisor".into(),
            landlock: landlock.to_string(),
            listener_fd: None,
        },
    }
}

/// Installs the strongest layer that works on the calling thread (no_new_privs is set): the
/// report, and the listener for the supervised layer.
fn install(progs: &Programs, want_supervised: bool, landlock: &str) -> (Report, Option<OwnedFd>) {
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
            flags::NEW_LISTENER | flags::WAIT_KILLABLE_RECV | flags::SPEC_ALLOW,
        )
        .map(|l| (l, true))
        .or_else(|e| {
            if errno_of(&e) == libc::EINVAL {
                sys::install_filter(&progs.supervised, flags::NEW_LISTENER | flags::SPEC_ALLOW)
                    .map(|l| (l, false))
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
                            listener_fd: None,
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
                            listener_fd: None,
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
    match result {
        Some(r) => r,
        None => match sys::install_filter(&progs.kernel_only, flags::SPEC_ALLOW) {
            Ok(_) => (
                Report {
                    layer: Layer::KernelOnly,
                    wait_killable: false,
                    addfd_send: false,
                    reason,
                    landlock: landlock.to_string(),
                    listener_fd: None,
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
                    listener_fd: None,
                },
                None,
            ),
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
