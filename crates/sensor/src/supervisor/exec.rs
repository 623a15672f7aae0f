//! Program execution and process creation.
//!
//! An exec's path lives in the process's memory, and another thread can rewrite it between
//! the check and the kernel's own read. So an allowed exec is *verified*: the identity
//! (device, inode) of the image the kernel ends up running — and for a `#!` script the script
//! path the interpreter received — must be the one that was checked. The supervisor polls for
//! it right after letting the exec through and checks again before answering any further
//! call of that process; a mismatch kills the process. With Landlock (enforce mode) the kernel
//! refuses the swapped program outright.

use super::report::{Activity, Decision, Obs};
use super::{Call, PendingExec, Reply, ScriptCheck, Supervisor, Verdict};
use crate::image;
use crate::procfs::{self, Identity};
use crate::resolve::{resolve, Opts, Start};
use rustix::fs::{FileType, Mode as FMode, OFlags};
use std::os::fd::AsFd;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};
use vigil_events::{Outcome, Severity};
use vigil_policy::Section;

/// How long after an allowed exec the supervisor polls for the new image.
const ACTIVE_VERIFY: Duration = Duration::from_millis(200);

enum Image {
    Expected,
    Old,
    Other(String),
    Gone,
}

impl Supervisor<'_> {
    pub(super) fn on_exec(&mut self, c: &Call) -> Reply {
        let (dirfd, path_ptr, argv_ptr, flags) = match c.sys {
            crate::arch::Sys::execveat => (c.args[0], c.args[1], c.args[2], c.args[4] as i32),
            _ => (libc::AT_FDCWD as u64, c.args[0], c.args[1], 0),
        };
        let Ok(path) = procfs::read_cstr(c.tid, path_ptr, libc::PATH_MAX as usize) else {
            return Reply::err(libc::EFAULT);
        };
        let argv = procfs::read_argv(c.tid, argv_ptr, 256, 16 * 1024);
        if !self.still_valid(c.id) {
            return Reply::err(libc::ESRCH);
        }
        let opts = Opts {
            follow_last: flags & libc::AT_SYMLINK_NOFOLLOW == 0,
            empty_path: flags & libc::AT_EMPTY_PATH != 0,
            ..Default::default()
        };
        let start = Start::from_dirfd(dirfd);
        let r = match resolve(c.tid, c.tgid, start, &path, opts) {
            Ok(r) => r,
            Err(e) => return Reply::errno(e),
        };
        let (Some(obj), Some(identity)) = (r.object.as_ref(), r.identity) else {
            return Reply::err(libc::ENOENT);
        };
        match r.file_type {
            Some(FileType::RegularFile) => {}
            Some(FileType::Symlink) => return Reply::err(libc::ELOOP),
            _ => return Reply::err(libc::EACCES),
        }
        // The filename the kernel hands a script's interpreter.
        let filename = match (start, path.is_empty()) {
            (Start::Fd(fd), true) => format!("/dev/fd/{fd}"),
            (Start::Fd(fd), false) if path.first() != Some(&b'/') => {
                format!("/dev/fd/{fd}/{}", String::from_utf8_lossy(&path))
            }
            _ => String::from_utf8_lossy(&path).into_owned(),
        };
        let (expected, levels) = self.final_image(c, obj.as_fd(), identity);
        let script = (!levels.is_empty()).then(|| {
            // Innermost level last: each level puts [interp, (arg)] in front of the previous.
            let mut prefix = vec![filename.clone()];
            for (interp, arg) in &levels {
                let mut front = vec![interp.clone()];
                front.extend(arg.clone());
                front.extend(prefix);
                prefix = front;
            }
            let whole = !argv.last().is_some_and(|a| a == "…");
            ScriptCheck {
                prefix,
                tail: whole.then(|| argv.iter().skip(1).cloned().collect()),
            }
        });

        let fileless = r.path.starts_with("/memfd:") || r.path.ends_with(" (deleted)");
        let allowed = self.cfg.policy.allows_exec(&r.path);
        let title = if fileless {
            format!(
                "Fileless execution: {} runs from memory or a deleted file",
                r.path
            )
        } else {
            format!("Execution of {} is not allowed by the policy", r.path)
        };
        let d = Decision {
            allowed,
            section: Section::Process,
            errno: libc::EACCES,
            rule: if fileless {
                "process.exec.fileless"
            } else {
                "process.exec"
            },
            title,
            severity: if fileless {
                Severity::Critical
            } else {
                Severity::High
            },
            // Fileless execution is never learned into a policy.
            obs: (!fileless).then(|| Obs::Exec(r.path.clone())),
            activity: Activity::Launch {
                path: r.path.clone(),
                cmd_line: argv.join(" "),
            },
            always: true,
        };
        if fileless && self.cfg.mode == vigil_policy::Mode::Learn {
            self.report_incident(
                c,
                "process.exec.fileless",
                format!(
                    "Fileless execution: {} runs from memory or a deleted file (not learned)",
                    r.path
                ),
                Severity::Critical,
                Outcome::Logged,
            );
        }
        match self.decide(c, d) {
            Verdict::Allow => {
                let old = procfs::identity(&format!("/proc/{}/exe", c.tgid)).ok();
                if let Some(p) = self.procs.get_mut(&c.tgid) {
                    p.pending_exec = Some(PendingExec {
                        expected,
                        old,
                        script,
                        tid: c.tid,
                        path: r.path,
                        deadline: Instant::now() + ACTIVE_VERIFY,
                    });
                }
                Reply::cont()
            }
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }

    /// The identity of the image that will run (the last interpreter for scripts), and the
    /// `#!` levels on the way, `(interpreter as written, its argument)`, outermost first.
    fn final_image(
        &self,
        c: &Call,
        obj: std::os::fd::BorrowedFd<'_>,
        identity: Identity,
    ) -> (Identity, Vec<(String, Option<String>)>) {
        let reopen = |fd: std::os::fd::BorrowedFd<'_>| {
            rustix::fs::open(
                format!("/proc/self/fd/{}", fd.as_raw_fd()),
                OFlags::RDONLY | OFlags::CLOEXEC,
                FMode::empty(),
            )
            .ok()
            .map(std::fs::File::from)
        };
        let Some(mut file) = reopen(obj) else {
            // Not readable (mode --x): the kernel only allows that for binaries.
            return (identity, Vec::new());
        };
        let mut current = identity;
        let mut levels = Vec::new();
        for _ in 0..image::MAX_SCRIPT_DEPTH {
            let Ok(Some((interp, arg))) = image::shebang(&mut file) else {
                break;
            };
            levels.push((interp.clone(), arg));
            let follow = Opts {
                follow_last: true,
                ..Default::default()
            };
            let Ok(ir) = resolve(c.tid, c.tgid, Start::Cwd, interp.as_bytes(), follow) else {
                break;
            };
            let (Some(iobj), Some(iid)) = (ir.object, ir.identity) else {
                break;
            };
            current = iid;
            match reopen(iobj.as_fd()) {
                Some(f) => file = f,
                None => break,
            }
        }
        (current, levels)
    }

    fn check_image(&self, tgid: u32, pe: &PendingExec) -> Image {
        let now = match procfs::identity(&format!("/proc/{tgid}/exe")) {
            Ok(id) => id,
            // The image cannot be read (an execute-only program makes the process
            // non-dumpable): it cannot be verified, so it is not accepted.
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                return Image::Other("an image the supervisor cannot read".into())
            }
            Err(_) => return Image::Gone,
        };
        if now == pe.expected {
            if let Some(s) = &pe.script {
                let cl = procfs::cmdline(tgid);
                let prefix_ok = cl.len() >= s.prefix.len() && cl[..s.prefix.len()] == s.prefix[..];
                let tail_ok = s
                    .tail
                    .as_ref()
                    .is_none_or(|t| cl[s.prefix.len().min(cl.len())..] == t[..]);
                if !prefix_ok || !tail_ok {
                    return Image::Other(format!("{} with command line {:?}", pe.path, cl));
                }
            }
            return Image::Expected;
        }
        if Some(now) == pe.old {
            return Image::Old;
        }
        Image::Other(procfs::exe_path(tgid).unwrap_or_else(|| "an unknown image".into()))
    }

    fn exec_mismatch(&mut self, tgid: u32, tid: u32, pe: &PendingExec, found: String) {
        procfs::kill_process(tgid);
        self.stats.killed += 1;
        let c = Call {
            id: 0,
            tid,
            tgid,
            sys: crate::arch::Sys::execve,
            args: [0; 6],
        };
        self.report_incident(
            &c,
            "process.exec.swapped",
            format!(
                "Executed image is not the one checked: {} was allowed but {found} ran (path rewritten after the check); process killed",
                pe.path
            ),
            Severity::Critical,
            Outcome::Killed,
        );
    }

    /// Before any call of a process with an exec in flight is answered: the image must be
    /// the one that was checked. Returns false when the process was killed.
    pub(super) fn verify_exec(&mut self, c: &Call) -> bool {
        let Some(pe) = self.procs.get(&c.tgid).and_then(|p| p.pending_exec.clone()) else {
            return true;
        };
        match self.check_image(c.tgid, &pe) {
            Image::Expected => {
                self.exec_done(c.tgid, &pe);
                true
            }
            Image::Old if c.tid != pe.tid => {
                // Another thread while the exec may still be in progress: keep checking.
                true
            }
            Image::Old | Image::Gone => {
                // The exec'ing thread itself is back: its exec failed and the old image runs.
                if let Some(p) = self.procs.get_mut(&c.tgid) {
                    p.pending_exec = None;
                }
                true
            }
            Image::Other(found) => {
                self.exec_mismatch(c.tgid, c.tid, &pe, found);
                false
            }
        }
    }

    fn exec_done(&mut self, tgid: u32, pe: &PendingExec) {
        // An exec can change credentials (capabilities): re-read them.
        self.forget_creds(tgid);
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.pending_exec = None;
            p.exe = pe.path.clone();
            p.cmdline = None;
            p.maps_dirty = false;
            p.seen_dest.clear();
        }
    }

    /// Polls images of execs just let through, so a swapped program is killed within about a
    /// millisecond even if it never makes another notified call.
    pub(super) fn verify_execs_actively(&mut self) {
        let now = Instant::now();
        let due: Vec<(u32, PendingExec)> = self
            .procs
            .values()
            .filter_map(|p| {
                p.pending_exec
                    .clone()
                    .filter(|pe| pe.deadline > now)
                    .map(|pe| (p.tgid, pe))
            })
            .collect();
        for (tgid, pe) in due {
            match self.check_image(tgid, &pe) {
                Image::Expected => self.exec_done(tgid, &pe),
                Image::Other(found) => self.exec_mismatch(tgid, tgid, &pe, found),
                Image::Old | Image::Gone => {}
            }
        }
    }

    /// Whether an exec verification still needs active polling.
    pub(super) fn exec_polling(&self) -> bool {
        let now = Instant::now();
        self.procs
            .values()
            .any(|p| p.pending_exec.as_ref().is_some_and(|pe| pe.deadline > now))
    }

    pub(super) fn on_fork(&mut self, c: &Call) -> Reply {
        if c.sys == crate::arch::Sys::clone
            && (c.args[0] as u32) & crate::hardening::CLONE_NEW_MASK != 0
        {
            return self.on_hardening(c);
        }
        let d = Decision {
            allowed: self.cfg.policy.process.fork,
            section: Section::Process,
            errno: libc::EPERM,
            rule: "process.fork",
            title: "Process creation is not allowed by the policy".into(),
            severity: Severity::Medium,
            obs: Some(Obs::Fork),
            activity: Activity::Fork,
            always: false,
        };
        match self.decide(c, d) {
            Verdict::Allow => Reply::cont(),
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }
}
