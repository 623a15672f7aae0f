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
use crate::resolve::{resolve_object, Opts, Start};
use rustix::fs::{FileType, OFlags};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};
use vigil_events::{Outcome, Severity};
use vigil_policy::Section;

/// How long after an allowed exec the supervisor polls for the new image.
const ACTIVE_VERIFY: Duration = Duration::from_millis(200);

/// How long an exec of the image the process already runs is watched before the image, still
/// the same, is taken as the one that ran without a sign that the exec is over (see
/// `verify_exec`). The kernel switches images right after copying the arguments and the
/// environment, a few milliseconds at most.
const SAME_IMAGE_VERIFY: Duration = Duration::from_secs(1);

enum Image {
    Expected,
    Old,
    Other(String),
    Gone,
}

impl Supervisor<'_> {
    pub(super) fn on_exec(&mut self, c: &Call) -> Reply {
        if self
            .procs
            .get(&c.tgid)
            .is_some_and(|p| p.pending_exec.is_some())
        {
            // Another thread's exec is in flight (the caller's own would have been settled by
            // `verify_exec`): one image can be verified at a time, and only one exec of a
            // process can succeed anyway.
            self.stats.denied += 1;
            self.report_incident(
                c,
                "process.exec.concurrent",
                "Exec refused: another thread of the process has an exec in flight, which must be verified first".into(),
                Severity::Medium,
                Outcome::Blocked,
            );
            return Reply::err(libc::EAGAIN);
        }
        let (dirfd, path_ptr, argv_ptr, flags) = match c.sys {
            crate::arch::Sys::execveat => (c.args[0], c.args[1], c.args[2], c.args[4] as i32),
            _ => (libc::AT_FDCWD as u64, c.args[0], c.args[1], 0),
        };
        let mut mem = procfs::Mem::new(c.tid);
        // The path and the argv pointers, in one read.
        mem.prefetch(&[path_ptr, argv_ptr]);
        let Ok(path) = mem.cstr(path_ptr, libc::PATH_MAX as usize) else {
            return Reply::err(libc::EFAULT);
        };
        let argv = procfs::read_argv(&mut mem, argv_ptr, 256, 16 * 1024);
        if !self.still_valid(c.id) {
            return Reply::err(libc::ESRCH);
        }
        let opts = Opts {
            follow_last: flags & libc::AT_SYMLINK_NOFOLLOW == 0,
            empty_path: flags & libc::AT_EMPTY_PATH != 0,
            ..Default::default()
        };
        let start = Start::from_dirfd(dirfd);
        let r = match resolve_object(c.tid, c.tgid, start, &path, opts, self.root_check) {
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
        let (expected, levels) = self.final_image(c, obj.as_fd(), identity, r.stat);
        let script = (!levels.is_empty()).then(|| {
            // Innermost level last: each level puts [interp, (arg)] in front of the previous.
            let mut prefix = vec![filename.clone()];
            for (interp, arg) in &levels {
                let mut front = vec![interp.clone()];
                front.extend(arg.clone());
                front.extend(prefix);
                prefix = front;
            }
            let whole = argv.last().is_none_or(|a| a != "…");
            ScriptCheck {
                prefix,
                tail: whole.then(|| argv.iter().skip(1).cloned().collect()),
            }
        });

        let cmd_line = match &script {
            Some(s) => s
                .prefix
                .iter()
                .chain(argv.iter().skip(1))
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(" "),
            None => argv.join(" "),
        };
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
                cmd_line: cmd_line.clone(),
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
                // The image running now (known: it changes only by an exec, and every exec
                // is seen), to tell an exec that failed from one that ran another image.
                let old = match self.procs.get(&c.tgid).and_then(|p| p.exe_id) {
                    Some(id) => Some(id),
                    None => procfs::identity(&format!("/proc/{}/exe", c.tgid)).ok(),
                };
                let window = if old.is_none_or(|o| o == expected) {
                    SAME_IMAGE_VERIFY
                } else {
                    ACTIVE_VERIFY
                };
                if let Some(p) = self.procs.get_mut(&c.tgid) {
                    p.pending_exec = Some(PendingExec {
                        expected,
                        old,
                        script,
                        tid: c.tid,
                        path: r.path,
                        cmd_line,
                        deadline: Instant::now() + window,
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
        &mut self,
        c: &Call,
        obj: std::os::fd::BorrowedFd<'_>,
        identity: Identity,
        stat: Option<rustix::fs::Stat>,
    ) -> (Identity, Vec<(String, Option<String>)>) {
        let mut current = identity;
        let mut levels = Vec::new();
        let mut holder;
        let mut file = obj;
        let mut stat = stat;
        for _ in 0..image::MAX_SCRIPT_DEPTH {
            // Not readable (mode --x; the kernel only runs that for binaries), or not a script.
            let Some((interp, arg)) = self.shebang_of(file, stat.as_ref()) else {
                break;
            };
            levels.push((interp.clone(), arg));
            let follow = Opts {
                follow_last: true,
                ..Default::default()
            };
            let Ok(ir) = resolve_object(
                c.tid,
                c.tgid,
                Start::Cwd,
                interp.as_bytes(),
                follow,
                self.root_check,
            ) else {
                break;
            };
            let (Some(iobj), Some(iid)) = (ir.object, ir.identity) else {
                break;
            };
            current = iid;
            holder = iobj;
            file = holder.as_fd();
            stat = ir.stat;
        }
        (current, levels)
    }

    /// The `#!` line of the file `fd` (an `O_PATH` fd) names, if it is a readable script;
    /// `stat` is the file's status when the caller has it. Programs are executed again and again, so the answer is kept by the file's identity,
    /// size and change times; a file changed in the last two seconds is read every time (a
    /// change within the timestamps' granularity would go unseen). An answer can still go
    /// stale (a write through a shared mapping to a page already dirty changes no timestamp),
    /// but the `#!` line decides nothing in the policy: it only says which image to expect,
    /// and the image that runs is verified after the exec, so a stale answer gets the process
    /// killed, never an unchecked program run.
    fn shebang_of(
        &mut self,
        fd: std::os::fd::BorrowedFd<'_>,
        stat: Option<&rustix::fs::Stat>,
    ) -> Option<(String, Option<String>)> {
        let st = match stat {
            Some(st) => *st,
            None => rustix::fs::fstat(fd).ok()?,
        };
        let key = super::ShebangKey {
            id: (st.st_dev, st.st_ino),
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        };
        if let Some(hit) = self.shebangs.get(&key) {
            return hit.clone();
        }
        let file = crate::resolve::reopen(fd, OFlags::RDONLY | OFlags::CLOEXEC)
            .ok()
            .map(std::fs::File::from)?;
        let found = image::shebang(&file).ok()?;
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
        if now.tv_sec.saturating_sub(st.st_ctime) >= 2 {
            if self.shebangs.len() >= super::SHEBANG_CACHE {
                self.shebangs.clear();
            }
            self.shebangs.insert(key, found.clone());
        }
        found
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

    /// Whether the exec of `pe` is over (failed, or done) when process `c.tgid` makes call `c`:
    /// the exec'ing thread is in another call, or — an exec from another thread makes the
    /// caller the leader — the leader is, and that thread is gone.
    fn exec_over(c: &Call, pe: &PendingExec) -> bool {
        c.tid == pe.tid
            || (c.tid == c.tgid
                && !std::path::Path::new(&format!("/proc/{}/task/{}", c.tgid, pe.tid)).exists())
    }

    /// Before any call of a process with an exec in flight is answered: the image must be
    /// the one that was checked. Returns false when the process was killed.
    pub(super) fn verify_exec(&mut self, c: &Call) -> bool {
        let Some(pe) = self.procs.get(&c.tgid).and_then(|p| p.pending_exec.clone()) else {
            return true;
        };
        match self.check_image(c.tgid, &pe) {
            // An exec of the image the process already runs: finding it says nothing until
            // the exec is over (the kernel may still be copying the arguments before it
            // switches images, to whatever path it read) — or, failing any sign of that, until
            // the window for the switch has passed.
            Image::Expected
                if pe.same_image() && !Self::exec_over(c, &pe) && Instant::now() < pe.deadline =>
            {
                true
            }
            Image::Expected => {
                self.exec_done(c.tgid, &pe);
                true
            }
            Image::Old | Image::Gone if c.tid != pe.tid => {
                // Another thread while the exec may still be in progress (with the leader
                // exited, `/proc/<pid>/exe` is gone until the exec makes the caller the
                // leader): keep checking.
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
        // An exec can change credentials: re-read them. Except when the supervisor has no
        // capabilities: the process has no_new_privs, so set-id bits and file capabilities do
        // not apply, and an exec can only shrink the permitted set — which is already empty
        // in a process whose credentials were found equal to the supervisor's.
        if self.my_creds.caps != [0, 0] {
            self.forget_creds(tgid);
        }
        // Children forked before the exec run the old image; if there are none (now that the
        // exec is done, the caller is the only thread and has every child), all later ones
        // run the new image. Asked only of the first process (once per run, as a rule): other
        // processes are forked again and again, and the answer costs a read.
        let share = tgid == self.cfg.main_pid && procfs::has_children(tgid) == Some(false);
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.children_share_image = share;
            p.pending_exec = None;
            p.exe = pe.path.clone();
            p.exe_id = Some(pe.expected);
            p.cmdline = Some(pe.cmd_line.clone());
            p.maps_dirty = false;
            p.seen_dest.clear();
        }
    }

    /// Polls images of execs just let through, so a swapped program is killed within about a
    /// millisecond even if it never makes another notified call.
    pub(super) fn verify_execs_actively(&mut self) {
        let now = Instant::now();
        // Execs within their window, and those of the same image whose window just closed.
        let due: Vec<(u32, PendingExec)> = self
            .procs
            .values()
            .filter_map(|p| {
                p.pending_exec
                    .clone()
                    .filter(|pe| pe.deadline > now || pe.same_image())
                    .map(|pe| (p.tgid, pe))
            })
            .collect();
        for (tgid, pe) in due {
            match self.check_image(tgid, &pe) {
                // Not proof that the exec is over (see `verify_exec`): keep watching.
                Image::Expected if pe.same_image() && pe.deadline > now => {}
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
        if c.sys == crate::arch::Sys::clone && c.args[0] & libc::CLONE_PARENT as u64 != 0 {
            // The child's parent will be its forker's parent (see `lineage_exact`).
            self.lineage_exact = false;
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
