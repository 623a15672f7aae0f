//! Executable memory: anonymous memory made writable and executable, anonymous memory made
//! executable, executable mappings of files (how an `LD_PRELOAD`ed or dropped library shows
//! up), executable shared memory, and `memfd_create`.
//!
//! `mmap`'s file is named by an fd that another thread can replace after the check, so after
//! an allowed file mapping the process's executable mappings are re-checked (in enforce mode)
//! before its next non-mapping call is answered.

use super::report::{Activity, Decision, Obs};
use super::{Call, Reply, Supervisor, Verdict};
use crate::arch::Sys;
use crate::image::exec_chain;
use crate::procfs;
use crate::sys;
use rustix::fs::FileType;
use vigil_events::Severity;
use vigil_policy::{Mode, Section};

impl Supervisor<'_> {
    fn anon_exec(&mut self, c: &Call, writable: bool, how: &str) -> Verdict {
        let (allowed, rule, obs, what) = if writable {
            (
                self.cfg.policy.memory.write_execute,
                "memory.write_execute",
                Obs::WriteExecute,
                "writable and executable",
            )
        } else {
            (
                self.cfg.policy.memory.anonymous_execute,
                "memory.anonymous_execute",
                Obs::AnonymousExecute,
                "executable",
            )
        };
        let d = Decision {
            allowed,
            section: Section::Memory,
            errno: libc::EACCES,
            rule,
            title: format!(
                "Memory made {what} after it was mapped ({how}) is not allowed by the policy"
            ),
            severity: Severity::High,
            obs: Some(obs),
            activity: Activity::Memory {
                what: format!("makes memory {what} with {how}"),
            },
            always: false,
        };
        self.decide(c, d)
    }

    fn file_exec(&mut self, c: &Call, path: &str) -> Verdict {
        let d = Decision {
            allowed: self.cfg.policy.allows_exec_map(path) || self.image_file(c.tgid, path),
            section: Section::Files,
            errno: libc::EACCES,
            rule: "files.exec_map",
            title: format!(
                "Executable mapping of {path} (a library not in the policy) is not allowed"
            ),
            severity: Severity::High,
            obs: Some(Obs::ExecMap(path.to_string())),
            activity: Activity::Module {
                path: path.to_string(),
            },
            always: false,
        };
        self.decide(c, d)
    }

    /// The process's own program and the interpreters the kernel mapped for it.
    fn image_file(&self, tgid: u32, path: &str) -> bool {
        let Some(p) = self.procs.get(&tgid) else {
            return false;
        };
        p.exe == path || exec_chain(&p.exe).iter().any(|f| f == path)
    }

    /// The name of the file that the fd `fd` of the caller is, for a mapping of it: what the
    /// kernel says (`readlink /proc/<pid>/fd/<fd>`), under the process's `/proc` directory when
    /// it is held open and warm (see `after_answer`), which is the caller's fd table when the
    /// caller is the process's main thread (another thread may have been created without
    /// `CLONE_FILES`: its own is read through `/proc/<tid>`).
    ///
    /// A library is mapped again and again, by every new program: the main thread's fd is
    /// copied (`pidfd_getfd`, several times cheaper than the first lookup of a new process's
    /// fd under `/proc`), and a plain file with one name whose identity, size and times are
    /// those of a file named before, under a name that still leads to it, has that name. The
    /// copy is closed after the answer; one of anything else (a socket, whose last close can
    /// block) on the closer's thread — and while closes there are held up, no copy is made.
    fn mapped_file(&mut self, c: &Call, fd: i32) -> std::io::Result<String> {
        let copy = (c.tid == c.tgid && !self.closer.backed_up())
            .then(|| self.getfd(c, fd as u64).ok())
            .flatten();
        let file = match copy.map(|f| (rustix::fs::fstat(&f), f)) {
            Some((Ok(st), f)) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
                self.to_close.push(f);
                Some(st)
            }
            Some((_, f)) => {
                self.closer.close(f);
                None
            }
            None => None,
        };
        if let Some(name) = file.as_ref().and_then(|st| self.library_names.get((), st)) {
            return Ok(name);
        }
        let name = match self.proc_dir(c.tgid).filter(|_| c.tid == c.tgid) {
            Some(dir) => procfs::fd_target_at(dir, fd),
            None => procfs::fd_target(c.tid, fd),
        }?;
        if let Some(st) = &file {
            self.library_names.learn((), st, &name);
        }
        Ok(name)
    }

    pub(super) fn on_exec_memory(&mut self, c: &Call) -> Reply {
        let prot = c.args[2] as i32;
        let writable = prot & libc::PROT_WRITE != 0;
        let verdict = if c.sys == Sys::mmap {
            let flags = c.args[3] as i32;
            let fd = c.args[4] as i32;
            if flags & libc::MAP_ANONYMOUS != 0 || fd < 0 {
                self.anon_exec(c, writable, "mmap")
            } else {
                let Ok(path) = self.mapped_file(c, fd) else {
                    return Reply::err(libc::EBADF);
                };
                let mut v = self.file_exec(c, &path);
                if v == Verdict::Allow && writable {
                    // Writable and executable at once, shared or private (copy-on-write pages
                    // of a private mapping hold whatever the process writes into them).
                    v = self.anon_exec(c, true, "a writable file mapping");
                }
                if v == Verdict::Allow && self.cfg.mode == Mode::Enforce {
                    if let Some(p) = self.procs.get_mut(&c.tgid) {
                        if !p.maps_pending.contains(&c.tid) {
                            p.maps_pending.push(c.tid);
                        }
                    }
                }
                v
            }
        } else {
            // mprotect: the region could be swapped for another mapping (MAP_FIXED from
            // another thread) between the supervisor reading /proc/<pid>/maps and the kernel
            // applying the protection, so what backs it cannot be trusted. Making memory
            // executable after it was mapped is judged as such, whatever backs it: the
            // loader maps libraries executable with mmap and does not need this.
            self.anon_exec(c, writable, c.sys.name())
        };
        match verdict {
            Verdict::Allow => Reply::cont(),
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }

    /// Before a watched call other than a mapping, in enforce mode: the checks of executable
    /// file mappings owed by the caller's process (`verify_maps`) and by any other process that
    /// may share its memory (`settle_other_maps`). False when the caller was killed.
    pub(super) fn check_owed_maps(&mut self, c: &Call) -> bool {
        let exec = matches!(c.sys, Sys::execve | Sys::execveat);
        if self
            .procs
            .get(&c.tgid)
            .is_some_and(|p| !p.maps_pending.is_empty() || (p.maps_inherited && !exec))
            && !self.verify_maps(c)
        {
            return false;
        }
        let others: Vec<u32> = self
            .procs
            .iter()
            .filter(|(t, p)| **t != c.tgid && !p.exited && !p.maps_pending.is_empty())
            .map(|(t, _)| *t)
            .collect();
        let mut recheck = false;
        for tgid in others {
            recheck |= self.settle_other_maps(c, tgid);
        }
        !recheck || self.read_and_check_maps(c) != Some(false)
    }

    /// After an allowed file mapping: every executable file mapping must be of an allowed
    /// file (the mapped fd may have been swapped after the check). Enforce mode kills a
    /// process that mapped something else.
    ///
    /// A check proves nothing about a mapping that has not happened yet: a thread let through
    /// may not have run since (one that lowered its own priority, say), while another thread's
    /// call has the mappings read. So a thread stays owed a check until its mapping is
    /// certainly over by the time the mappings are read: it is the caller (it is in a later
    /// call), it is gone, or it waits in another call (see `procfs::past_mmap`). Those are
    /// found before the read; the others are checked again at the process's next calls.
    fn verify_maps(&mut self, c: &Call) -> bool {
        let over: Vec<u32> = self
            .procs
            .get(&c.tgid)
            .map(|p| {
                p.maps_pending
                    .iter()
                    .copied()
                    .filter(|&t| t == c.tid || procfs::past_mmap(c.tgid, t))
                    .collect()
            })
            .unwrap_or_default();
        match self.read_and_check_maps(c) {
            Some(true) => {
                if let Some(p) = self.procs.get_mut(&c.tgid) {
                    p.maps_pending.retain(|t| !over.contains(t));
                    p.maps_inherited = false;
                }
                true
            }
            Some(false) => false,
            // Not read: still owed, at the process's next call.
            None => true,
        }
    }

    /// Reads the caller's executable mappings and checks them: `Some(true)` when they are all
    /// allowed, `Some(false)` when the process was killed (one was not, or they could not be
    /// read: fail closed), `None` when the call is gone (a signal interrupted it) before they
    /// could be read.
    fn read_and_check_maps(&mut self, c: &Call) -> Option<bool> {
        // The caller's own number: it is in the call, so its memory is there to read (the
        // process's main thread may have exited, leaving `/proc/<tgid>/maps` empty).
        let why = match procfs::maps(c.tid) {
            Ok(m) if !m.is_empty() => return Some(self.check_maps(c, &m)),
            Ok(_) => "empty".to_string(),
            Err(e) => e.to_string(),
        };
        if !self.still_valid(c.id) {
            return None;
        }
        // Unreadable (the supervisor out of file descriptors, say): fail closed.
        self.kill_for_mappings(
            c,
            "files.exec_map.unverified",
            format!("The executable mappings of process {} could not be read to check them ({why}); process killed (fail closed)", c.tgid),
            Severity::High,
        );
        Some(false)
    }

    /// The check owed by another process `tgid`, at the caller's call. When every thread of it
    /// let through has certainly mapped, its mappings are read and checked now (it is killed
    /// if one is not allowed, or if they cannot be read while it lives), and nothing is owed
    /// any more: a process that makes no further watched call is not left owing forever.
    /// Otherwise it stays owed, to be settled at a later call of either.
    ///
    /// True when the caller's own mappings must be checked as well: it may share that
    /// process's memory (`clone(CLONE_VM)` without `CLONE_THREAD`, which is not a thread and
    /// owes nothing of its own) while a mapping may still land there (`kcmp`; when the kernel
    /// cannot tell, it is checked), or that process was just killed for its mappings.
    fn settle_other_maps(&mut self, c: &Call, tgid: u32) -> bool {
        let Some(pending) = self.procs.get(&tgid).map(|p| p.maps_pending.clone()) else {
            return false;
        };
        if let Some(&t) = pending.iter().find(|&&t| !procfs::past_mmap(tgid, t)) {
            return sys::same_mm(c.tid, t) != Some(false);
        }
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.maps_pending.clear();
        }
        // The finding is about that process and its mapping.
        let other = Call {
            id: c.id,
            tid: pending.first().copied().unwrap_or(tgid),
            tgid,
            sys: Sys::mmap,
            args: [0; 6],
        };
        match procfs::process_maps(tgid) {
            Ok(m) if !m.is_empty() => !self.check_maps(&other, &m),
            // No thread left with memory, or gone: it is exiting, and its exit is reported
            // later. What it held unchecked may live on in a sharer.
            Ok(_) => {
                self.owe_everyone_else(tgid);
                false
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ESRCH) =>
            {
                self.owe_everyone_else(tgid);
                false
            }
            Err(e) => {
                self.kill_for_mappings(
                    &other,
                    "files.exec_map.unverified",
                    format!("The executable mappings of process {tgid} could not be read to check them ({e}); process killed (fail closed)"),
                    Severity::High,
                );
                true
            }
        }
    }

    /// Every executable file mapping in `maps` must be of an allowed file; else the process is
    /// killed. Returns false when it was.
    fn check_maps(&mut self, c: &Call, maps: &[procfs::Mapping]) -> bool {
        // A file deleted since it was mapped (a library unpacked to a temporary file, loaded,
        // then removed, as netty and JNA do) is shown with " (deleted)": it is judged by the
        // name it had. Only a file at an allowed name could have been mapped under it, so the
        // name grants nothing the policy's write rules do not already give.
        let bad = maps
            .iter()
            .filter(|m| m.exec && !m.is_anonymous())
            .find(|m| {
                let path = m.path.strip_suffix(" (deleted)").unwrap_or(&m.path);
                !(self.cfg.policy.allows_exec_map(path) || self.image_file(c.tgid, path))
            })
            .map(|m| m.path.clone());
        let Some(bad) = bad else {
            return true;
        };
        self.kill_for_mappings(
            c,
            "files.exec_map.swapped",
            format!("{bad} is mapped executable but was not the file checked (descriptor replaced after the check); process killed"),
            Severity::Critical,
        );
        false
    }

    /// Kills `c`'s process for its mappings (see `kill_and_report`), and has every other
    /// process check its own: they may share the memory (see `owe_everyone_else`).
    fn kill_for_mappings(
        &mut self,
        c: &Call,
        rule: &'static str,
        title: String,
        severity: Severity,
    ) {
        self.kill_and_report(c, rule, title, severity);
        self.owe_everyone_else(c.tgid);
    }

    /// What `tgid` owed, or held unchecked, may be in the memory of another process sharing it
    /// (`clone(CLONE_VM)` without `CLONE_THREAD`), which owes nothing of its own: when `tgid`
    /// is killed for its mappings, or exits or execs with a mapping still owed a check, every
    /// other process has its mappings checked at its next call that keeps its memory. Rare,
    /// and a read of `/proc/<pid>/maps` for each.
    pub(super) fn owe_everyone_else(&mut self, tgid: u32) {
        if self.cfg.mode != Mode::Enforce {
            return;
        }
        for (t, p) in self.procs.iter_mut() {
            if *t != tgid && !p.exited && !p.killed {
                p.maps_inherited = true;
            }
        }
    }

    pub(super) fn on_shmat(&mut self, c: &Call) -> Reply {
        let writable = (c.args[2] as i32) & libc::SHM_RDONLY == 0;
        match self.anon_exec(c, writable, "shmat(SHM_EXEC)") {
            Verdict::Allow => Reply::cont(),
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }

    pub(super) fn on_memfd(&mut self, c: &Call) -> Reply {
        let name = procfs::read_cstr(c.tid, c.args[0], 256)
            .map(|n| String::from_utf8_lossy(&n).into_owned())
            .unwrap_or_default();
        let d = Decision {
            allowed: self.cfg.policy.memory.memfd,
            section: Section::Memory,
            errno: libc::EPERM,
            rule: "memory.memfd",
            title: format!(
                "memfd_create(\"{name}\"): in-memory files are not allowed by the policy"
            ),
            severity: Severity::Medium,
            obs: Some(Obs::Memfd),
            activity: Activity::File {
                activity: 1,
                path: format!("memfd:{name}"),
            },
            always: false,
        };
        match self.decide(c, d) {
            Verdict::Allow => Reply::cont(),
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }
}
