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
use std::collections::HashSet;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};
use vigil_events::{Outcome, Severity};
use vigil_policy::Section;

/// Most processes looked through, and rounds, when killing the children of a swapped program
/// (see `kill_image_descendants`).
const SEARCH_MAX: usize = 1 << 16;
const SEARCH_ROUNDS: usize = 64;

/// How often the supervisor polls the image of a process with an exec in flight: every
/// millisecond for the first 200 ms, then less often for as long as the exec is not settled (an
/// exec can be made to take seconds before the kernel switches images).
fn poll_interval(age: Duration) -> Duration {
    if age < Duration::from_millis(200) {
        Duration::from_millis(1)
    } else if age < Duration::from_secs(2) {
        Duration::from_millis(10)
    } else {
        Duration::from_millis(100)
    }
}

impl Supervisor<'_> {
    pub(super) fn on_exec(&mut self, c: &Call) -> Reply {
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
        // The program's name, when this path found this very file before (see `KnownNames`):
        // asking the kernel again (`readlink` of the descriptor) is the dearest part of the
        // walk. Only names from the kernel's walk from the same root (`r.stat`) are kept.
        let known = std::cell::Cell::new(false);
        let names = &self.program_names;
        let known_name = |st: &rustix::fs::Stat| {
            let name = names.get(path.clone(), st)?;
            known.set(true);
            Some(name)
        };
        let mut r = match resolve_object(
            c.tid,
            c.tgid,
            start,
            &path,
            opts,
            self.root_check,
            known_name,
        ) {
            Ok(r) => r,
            Err(e) => return Reply::errno(e),
        };
        if let Some(st) = r.stat.as_ref().filter(|_| !known.get()) {
            self.program_names.learn(path.clone(), st, &r.path);
        }
        if !self.proc_reach(c, &r) {
            return Reply::err(libc::EACCES);
        }
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
        // Done with the program's descriptor: closed after the answer.
        self.to_close.extend(r.object.take());
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

        if script.is_some() && !self.script_name_pinned(c, &filename, r.via_magic) {
            let d = Decision {
                allowed: false,
                section: Section::Process,
                errno: libc::EACCES,
                rule: "process.exec.script_name",
                title: format!(
                    "Script {} run by a name another thread can redirect ({filename}): its interpreter would reopen whatever the name then points to",
                    r.path
                ),
                severity: Severity::High,
                obs: None,
                activity: Activity::Launch {
                    path: r.path.clone(),
                    cmd_line: argv.join(" "),
                },
                always: true,
            };
            match self.decide(c, d) {
                Verdict::Allow => {}
                Verdict::Deny(e) => return Reply::err(e),
                Verdict::Kill => return Reply::err(libc::EPERM),
            }
        }
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
                // An exec of the image the process runs cannot be told done by its image: its
                // memory layout, which only an exec replaces, tells it instead.
                let old_layout = if old.is_none_or(|o| o == expected) {
                    procfs::mm_layout(c.tgid)
                } else {
                    None
                };
                self.warm = Some(c.tgid);
                if let Some(p) = self.procs.get_mut(&c.tgid) {
                    // First polled a millisecond from now: the kernel has hardly started.
                    p.exec_polled = Some(Instant::now());
                    p.pending_execs.push(PendingExec {
                        expected,
                        old,
                        old_layout,
                        script,
                        tid: c.tid,
                        path: r.path,
                        cmd_line,
                        since: Instant::now(),
                    });
                }
                Reply::cont()
            }
            Verdict::Deny(e) => Reply::err(e),
            Verdict::Kill => Reply::err(libc::EPERM),
        }
    }

    /// Will a script's interpreter reopen the file that was checked? It reopens it by the
    /// name the kernel hands it: `/dev/fd/N…` for an exec through a descriptor, or the path as
    /// written, resolved again. Anything that can change what that name leads to between the
    /// check and the reopen runs another script, one no policy lists, read rather than
    /// executed (Landlock does not see it either):
    /// - a descriptor name (`/dev/fd/N`, the kernel's for an exec through a descriptor) or one
    ///   that went through a `/proc` magic link (`/proc/self/fd/N`, `/proc/self/cwd/…`,
    ///   `/dev/stdin`, however spelled: `via_magic` from the walk): another thread's `dup2` or
    ///   `chdir`; refused;
    /// - a relative name: the working directory, which another thread, or a process sharing it
    ///   (`CLONE_FS`), can move: refused unless the process has one thread and shares it with
    ///   no process (known ones by `kcmp`; created ones are notified);
    /// - any directory on the way that the policy lets the function write (rename, replace
    ///   or re-point it): refused. The script file itself may be writable: rewriting it is
    ///   what that entry allows anyway.
    fn script_name_pinned(&self, c: &Call, filename: &str, via_magic: bool) -> bool {
        if via_magic || filename.starts_with("/dev/fd/") {
            return false;
        }
        let absolute = if filename.starts_with('/') {
            filename.to_string()
        } else {
            if procfs::thread_count(c.tgid) != Some(1)
                || self
                    .procs
                    .get(&c.tgid)
                    .is_some_and(|p| p.shares_files_or_fs)
                || self
                    .procs
                    .iter()
                    .filter(|(t, p)| **t != c.tgid && !p.exited)
                    .any(|(t, _)| crate::sys::kcmp(c.tid, *t, crate::sys::Shared::Fs) == Some(true))
            {
                return false;
            }
            let Ok(cwd) = std::fs::read_link(format!("/proc/{}/cwd", c.tid)) else {
                return false;
            };
            format!(
                "{}/{}",
                cwd.to_string_lossy().trim_end_matches('/'),
                filename
            )
        };
        // Every directory on the way, `/a`, `/a/b`, …, but not the script itself.
        let mut prefix = String::new();
        let parts: Vec<&str> = absolute
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        for part in parts.iter().take(parts.len().saturating_sub(1)) {
            prefix.push('/');
            prefix.push_str(part);
            if *part == ".." || self.cfg.policy.allows_write(&prefix) {
                return false;
            }
        }
        true
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
            // Only the interpreter's identity is needed, not its name.
            let Ok(ir) = resolve_object(
                c.tid,
                c.tgid,
                Start::Cwd,
                interp.as_bytes(),
                follow,
                self.root_check,
                |_| Some(interp.clone()),
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
        let key = super::FileKey::of(&st);
        if let Some(hit) = self.shebangs.get(&key) {
            return hit.clone();
        }
        let file = crate::resolve::reopen(fd, OFlags::RDONLY | OFlags::CLOEXEC)
            .ok()
            .map(std::fs::File::from)?;
        let found = image::shebang(&file).ok()?;
        if key.settled() {
            self.shebangs.insert(key, found.clone());
        }
        found
    }

    /// The command line of `tgid` fits the script check of `pe` (always, for a binary).
    fn script_fits(tgid: u32, pe: &PendingExec) -> Result<(), String> {
        let Some(s) = &pe.script else {
            return Ok(());
        };
        let cl = procfs::cmdline(tgid);
        let prefix_ok = cl.len() >= s.prefix.len() && cl[..s.prefix.len()] == s.prefix[..];
        let tail_ok = s
            .tail
            .as_ref()
            .is_none_or(|t| cl[s.prefix.len().min(cl.len())..] == t[..]);
        if prefix_ok && tail_ok {
            Ok(())
        } else {
            Err(format!("{} with command line {:?}", pe.path, cl))
        }
    }

    fn exec_mismatch(&mut self, tgid: u32, tid: u32, pe: &PendingExec, found: String) {
        // The earliest exec let through: whichever of them landed, it was after that.
        let mut first = pe.since;
        if let Some(p) = self.procs.get_mut(&tgid) {
            first = p
                .pending_execs
                .iter()
                .map(|e| e.since)
                .fold(first, Instant::min);
            p.pending_execs.clear();
        }
        // What the unchecked program forked before it was found (a fork allowed by the policy
        // is decided in the kernel) runs it too, and dies with it. It is killed first: a fork
        // under way when a kill comes fails, so it has no child it did not have then. Its
        // children are then looked for in the whole tree below the supervisor, not only below
        // it: an orphan is handed to the nearest subreaper (the supervisor, or a process of the
        // function that made itself one), maybe before the swap was found. What runs the image
        // and started no earlier than the exec was let through is the program's doing.
        let image = procfs::identity(&format!("/proc/{tgid}/exe")).ok();
        let since = procfs::ticks_at(first);
        let c = Call {
            id: 0,
            tid,
            tgid,
            sys: crate::arch::Sys::execve,
            args: [0; 6],
        };
        self.kill_and_report(
            &c,
            "process.exec.swapped",
            format!(
                "Executed image is not the one checked: {} was allowed but {found} ran (path rewritten after the check); process killed",
                pe.path
            ),
            Severity::Critical,
        );
        if let Some(id) = image {
            self.kill_image_descendants(tgid, id, since);
        }
    }

    /// Kills every process running image `id` that started at clock tick `since` or later,
    /// below the killed process `tgid` or anywhere below the supervisor, round after round
    /// until none is new (each one killed has no child it did not have then). A process of
    /// the function running the same image that started in that tick or later is killed too:
    /// the search cannot tell it apart. Where the search cannot be completed (more than
    /// [`SEARCH_MAX`] processes, or rounds), every process found below `tgid` is killed,
    /// whatever it runs: fail closed.
    fn kill_image_descendants(&mut self, tgid: u32, id: Identity, since: u64) {
        let me = std::process::id();
        let mut killed: HashSet<u32> = HashSet::from([tgid]);
        for _ in 0..SEARCH_ROUNDS {
            let mut below: Vec<u32> = Vec::new();
            for root in &killed {
                below.extend(procfs::descendants(*root, SEARCH_MAX));
            }
            if below.len() >= SEARCH_MAX {
                self.kill_new(&mut killed, below);
                continue;
            }
            let tree = procfs::descendants(me, SEARCH_MAX);
            let found: Vec<u32> = below
                .into_iter()
                .chain(tree)
                .filter(|p| !killed.contains(p))
                .filter(|p| procfs::identity(&format!("/proc/{p}/exe")).ok() == Some(id))
                .filter(|p| procfs::start_ticks(*p).is_some_and(|t| t >= since))
                .collect();
            if found.is_empty() {
                return;
            }
            self.kill_new(&mut killed, found);
        }
        // Still finding new ones: kill whatever is left below.
        let rest: Vec<u32> = killed
            .iter()
            .flat_map(|k| procfs::descendants(*k, SEARCH_MAX))
            .collect();
        self.kill_new(&mut killed, rest);
    }

    /// Kills each of `procs` not in `killed` yet, and adds it there.
    fn kill_new(&mut self, killed: &mut HashSet<u32>, procs: Vec<u32>) {
        for p in procs {
            if killed.insert(p) {
                self.kill(p);
            }
        }
    }

    /// Before any call of a process with an exec in flight is answered: the image must be
    /// one that was checked. Returns false when the process was killed.
    pub(super) fn verify_exec(&mut self, c: &Call) -> bool {
        self.settle_execs(c.tgid, Some(c.tid))
    }

    /// Settles the execs in flight of `tgid`, seen from a call of thread `caller` (or from
    /// polling). Every exec of the process is checked, not only the last one: another
    /// thread's exec that fails must not end the check of one that lands. Returns false when
    /// the process was killed.
    ///
    /// - The image is another than the old one, or the memory layout another than the old
    ///   one (for an exec of the image already running, where the image cannot tell): an
    ///   exec landed, which ended every other (the kernel kills the other threads first). The
    ///   image must be one expected, with its script's command line; else the process is
    ///   killed.
    /// - Nothing landed: an exec whose thread is back in a call failed. The others may still
    ///   be under way (copying their arguments, then ending the other threads), and stay.
    fn settle_execs(&mut self, tgid: u32, caller: Option<u32>) -> bool {
        let Some(pending) = self
            .procs
            .get(&tgid)
            .map(|p| p.pending_execs.clone())
            .filter(|v| !v.is_empty())
        else {
            return true;
        };
        let now = match self.image_of(tgid, caller, &pending[0]) {
            Ok(id) => id,
            Err(verdict) => return verdict,
        };
        // A layout being built (an exec between switching the memory and loading the program)
        // is neither the old one nor a landed one yet: the exec is settled at a later call or
        // poll, once the program, its arguments included, is in place. A hidden or unreadable
        // one counts as changed (fail closed: the checks that follow then fail).
        let layout = std::cell::OnceCell::new();
        let changed = |old: [u64; 10]| match *layout.get_or_init(|| procfs::mm_layout(tgid)) {
            Some(l) => l != old && procfs::layout_complete(&l),
            None => true,
        };
        let by_image = pending.iter().any(|pe| pe.old.is_some_and(|o| o != now));
        let landed = by_image || pending.iter().any(|pe| pe.old_layout.is_some_and(changed));
        let returned = |pe: &PendingExec| caller == Some(pe.tid);
        if landed {
            // An image other than the old one is final: the kernel switches the image and
            // the memory together, after the other threads (and their execs) are gone. But
            // when the layout told, the image was read before it: an exec that landed in
            // between showed the old image with the new layout. Read it again then.
            let now = if by_image {
                now
            } else {
                match self.image_of(tgid, caller, &pending[0]) {
                    Ok(id) => id,
                    Err(verdict) => return verdict,
                }
            };
            let found = match pending.iter().find(|pe| pe.expected == now) {
                Some(pe)
                    if pe.script.is_some()
                        && layout
                            .get_or_init(|| procfs::mm_layout(tgid))
                            .is_some_and(|l| !procfs::layout_complete(&l)) =>
                {
                    // The script's interpreter, but the kernel is still loading it, and the
                    // command line to check is not there yet. No code of the process runs
                    // before the load is done (the exec'ing thread is the only one left, in
                    // the kernel): settled at a later call or poll.
                    return true;
                }
                Some(pe) => match Self::script_fits(tgid, pe) {
                    Ok(()) => {
                        self.exec_done(tgid, pe);
                        return true;
                    }
                    Err(found) => found,
                },
                None => procfs::exe_path(tgid).unwrap_or_else(|| "an unknown image".into()),
            };
            let pe = pending
                .iter()
                .find(|pe| returned(pe))
                .unwrap_or(&pending[0]);
            self.exec_mismatch(tgid, caller.unwrap_or(tgid), pe, found);
            return false;
        }
        // Nothing landed. An exec whose old image is unknown cannot be told failed from done
        // when its thread is back: the image must then be the expected one.
        if let Some(pe) = pending.iter().find(|pe| returned(pe) && pe.old.is_none()) {
            if pe.expected != now {
                let found = procfs::exe_path(tgid).unwrap_or_else(|| "an unknown image".into());
                self.exec_mismatch(tgid, caller.unwrap_or(tgid), pe, found);
                return false;
            }
        }
        self.drop_returned(tgid, caller);
        true
    }

    /// The identity of the image `tgid` runs (`/proc/<pid>/exe`, under its held directory when
    /// there is one), or what `settle_execs` returns when there is none to verify:
    /// `Err(false)` when it cannot be read (an execute-only program makes the process
    /// non-dumpable), so cannot be verified and is not accepted (the process was killed, as
    /// for `pe`); `Err(true)` when the process is gone, or its leader exited (an exec from
    /// another thread makes it the leader again), and `caller`'s execs are dropped.
    fn image_of(
        &mut self,
        tgid: u32,
        caller: Option<u32>,
        pe: &PendingExec,
    ) -> Result<Identity, bool> {
        let read = match self.proc_dir(tgid) {
            Some(dir) => procfs::exe_identity_at(dir),
            None => procfs::identity(&format!("/proc/{tgid}/exe")),
        };
        match read {
            Ok(id) => Ok(id),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                let found = "an image the supervisor cannot read".to_string();
                self.exec_mismatch(tgid, caller.unwrap_or(tgid), pe, found);
                Err(false)
            }
            Err(_) => {
                self.drop_returned(tgid, caller);
                Err(true)
            }
        }
    }

    /// The execs of `tgid` whose thread is back in a call are over (they failed).
    fn drop_returned(&mut self, tgid: u32, caller: Option<u32>) {
        if let (Some(t), Some(p)) = (caller, self.procs.get_mut(&tgid)) {
            p.pending_execs.retain(|pe| pe.tid != t);
        }
    }

    fn exec_done(&mut self, tgid: u32, pe: &PendingExec) {
        // An exec can change capabilities: re-read them (not the ids: see `forget_caps`).
        // Except when the supervisor has no capabilities: the process has no_new_privs, so
        // set-id bits and file capabilities do not apply, and an exec can only shrink the
        // permitted set — which is already empty in a process whose credentials were found
        // equal to the supervisor's.
        if self.my_creds.caps != [0, 0] {
            self.forget_caps(tgid);
        }
        // Children forked before the exec run the old image; if there are none (now that the
        // exec is done, the caller is the only thread and has every child), all later ones
        // run the new image. Asked only of the first process (once per run, as a rule): other
        // processes are forked again and again, and the answer costs a read.
        let share = tgid == self.cfg.main_pid && procfs::has_children(tgid) == Some(false);
        if self
            .procs
            .get(&tgid)
            .is_some_and(|p| !p.maps_pending.is_empty())
        {
            // The memory left behind, a mapping in it still owed a check, may be another
            // process's too.
            self.owe_everyone_else(tgid);
        }
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.children_share_image = share;
            p.pending_execs.clear();
            p.exe = pe.path.clone();
            p.exe_id = Some(pe.expected);
            p.cmdline = Some(pe.cmd_line.clone());
            p.maps_pending.clear();
            p.maps_inherited = false;
            // The exec unshared its descriptors and the sharers' hold on them.
            p.shares_files_or_fs = false;
            p.seen_dest.clear();
        }
    }

    /// Polls images of execs in flight, so a swapped program is killed even if it never makes
    /// another notified call: within a millisecond of landing in the first 200 ms, and less
    /// promptly after (see [`poll_interval`]).
    pub(super) fn verify_execs_actively(&mut self) {
        let now = Instant::now();
        // Each process at its own pace, whatever else wakes the supervisor.
        let due: Vec<u32> = self
            .procs
            .values()
            .filter(|p| !p.exited && Self::next_exec_poll(p).is_some_and(|t| t <= now))
            .map(|p| p.tgid)
            .collect();
        for tgid in due {
            if let Some(p) = self.procs.get_mut(&tgid) {
                p.exec_polled = Some(now);
            }
            self.settle_execs(tgid, None);
        }
    }

    /// When process `p`'s execs in flight are due to be polled (`None`: none in flight).
    fn next_exec_poll(p: &super::Proc) -> Option<Instant> {
        let interval = p
            .pending_execs
            .iter()
            .map(|pe| poll_interval(pe.since.elapsed()))
            .min()?;
        Some(p.exec_polled.map_or_else(Instant::now, |t| t + interval))
    }

    /// How long until execs in flight should be polled again (`None`: none in flight).
    pub(super) fn exec_polling(&self) -> Option<Duration> {
        let now = Instant::now();
        self.procs
            .values()
            .filter(|p| !p.exited)
            .filter_map(Self::next_exec_poll)
            .min()
            .map(|t| t.saturating_duration_since(now))
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
        if c.sys == crate::arch::Sys::clone
            && c.args[0] & (libc::CLONE_FILES | libc::CLONE_FS) as u64 != 0
        {
            if let Some(p) = self.procs.get_mut(&c.tgid) {
                p.shares_files_or_fs = true;
            }
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
