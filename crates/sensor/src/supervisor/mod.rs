//! The supervisor: receives the notified system calls of every monitored process, decides
//! against the policy, performs allowed operations on the process's behalf where a pointer
//! argument could be rewritten after the check, and reports.
//!
//! It is one thread with one `poll` loop over the listener, a signalfd, a pidfd per known
//! process, and the sockets of operations still in progress (a blocking `connect`). The
//! monitored processes cannot signal it (in-kernel argument checks, Landlock scoping) and it is
//! not dumpable; if it dies anyway every notified call fails with `ENOSYS`.

mod barrier;
mod exec;
mod fs;
mod mem;
mod meta;
mod misc;
mod net;
mod report;

use crate::arch::Sys;
use crate::filter;
use crate::install::Report as InstallReport;
use crate::procfs::{self, Identity};
use crate::sys::{self, Answer, Notif};
pub use barrier::Barrier;
use report::Obs;
use rustix::event::{poll, PollFd, PollFlags};
use rustix::io::Errno;
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};
use vigil_events::{Device, Sink};
use vigil_policy::{Mode, Observed, Policy};

/// The signals the supervisor takes through its signalfd: `SIGCHLD`, and those it forwards to
/// the function's process group.
pub const HANDLED_SIGNALS: [i32; 8] = [
    libc::SIGCHLD,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];

/// What the supervisor needs to know.
pub struct Config {
    /// The mode.
    pub mode: Mode,
    /// The policy.
    pub policy: Policy,
    /// Host names of the policy, resolved: `(name, address)`.
    pub hosts: Vec<(String, IpAddr)>,
    /// The sandbox, for events.
    pub device: Device,
    /// The first process of the function (the supervisor's child).
    pub main_pid: u32,
    /// Processes the function must not touch: the supervisor (and a watchdog).
    pub protected: Vec<u32>,
    /// Their process groups.
    pub protected_pgids: Vec<u32>,
    /// What the installing side reported.
    pub install: InstallReport,
    /// Signals received by the supervisor are forwarded to this process group.
    pub forward_to_pgid: u32,
    /// Extra `unmapped` fields on every event (e.g. the function's identity).
    pub tags: serde_json::Map<String, serde_json::Value>,
    /// The main process is the supervisor's child (`vigil run`); in the Lambda extension
    /// model it is not, and the run ends when every monitored process is gone.
    pub main_is_child: bool,
}

/// Counters, reported at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Notifications handled.
    pub notifications: u64,
    /// Calls denied.
    pub denied: u64,
    /// Processes killed.
    pub killed: u64,
    /// Violations let through (detect mode).
    pub alerts: u64,
}

/// How the run ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The main process's exit status (128+N for signal N).
    pub exit_code: i32,
    /// What learn mode saw (empty in other modes).
    pub observed: Observed,
    /// Counters.
    pub stats: Stats,
}

/// A decision about one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allow,
    Deny(i32),
    Kill,
}

/// How to answer a notification.
pub(crate) enum Reply {
    Now(Answer),
    /// Install this fd in the process and return its number (an open performed for it).
    AddFd {
        fd: OwnedFd,
        cloexec: bool,
    },
    /// Answered later (an operation in progress).
    Later,
}

impl Reply {
    fn err(e: i32) -> Reply {
        Reply::Now(Answer::Error(e))
    }
    fn errno(e: Errno) -> Reply {
        Reply::Now(Answer::Error(e.raw_os_error()))
    }
    fn val(v: i64) -> Reply {
        Reply::Now(Answer::Value(v))
    }
    fn cont() -> Reply {
        Reply::Now(Answer::Continue)
    }
}

/// A process the supervisor knows.
pub(crate) struct Proc {
    pub tgid: u32,
    pub ppid: u32,
    pub pidfd: Option<OwnedFd>,
    /// Its `/proc` directory, held open once it execs (see [`Supervisor::after_answer`]).
    pub dir: Option<OwnedFd>,
    pub exe: String,
    /// Identity of the running image: read when the process is first seen, then the image
    /// each verified exec ran (an exec is the only way it changes, and every exec is seen).
    pub exe_id: Option<Identity>,
    pub cmdline: Option<String>,
    /// Execs let through and not yet settled (usually none or one; one per thread at most).
    pub pending_execs: Vec<PendingExec>,
    /// When they were last polled (see `verify_execs_actively`).
    pub exec_polled: Option<Instant>,
    /// Threads let through an executable mapping of a file that may not have happened yet
    /// (the kernel maps after the answer, and the descriptor may have been swapped in
    /// between). While any is left, every other watched call of the process has its
    /// mappings checked first (see `verify_maps`).
    pub maps_pending: Vec<u32>,
    /// A process found after the start owes a check of the memory it was forked with, at its
    /// first watched call that keeps it (not an exec: the fork-and-exec path stays free of it).
    pub maps_inherited: bool,
    /// Killed by the supervisor: its calls still queued (or arriving before it dies) are
    /// refused, none acted on.
    pub killed: bool,
    /// It created a process sharing its descriptors or working directory (`clone` with
    /// `CLONE_FILES` or `CLONE_FS`, without `CLONE_THREAD`) since its last exec.
    pub shares_files_or_fs: bool,
    pub seen_dest: HashSet<String>,
    /// Every child this process has forked, or will fork until its next exec, started with
    /// its current image: true from first sight (no exec can complete before it: every exec
    /// is notified), false after an exec unless it then had no children (see `exec_done`).
    pub children_share_image: bool,
    pub exited: bool,
    pub uid: Option<u32>,
    /// Threads of this process seen so far (keys of `Supervisor::tids`, dropped with it).
    pub threads: Vec<u32>,
}

/// What the supervisor learns about a process when it first sees it.
pub(crate) struct FirstSight {
    pidfd: Option<OwnedFd>,
    ppid: u32,
    uid: Option<u32>,
    /// Its ids, when the kernel told them (`PIDFD_GET_INFO`).
    ids: Option<([u32; 4], [u32; 4])>,
}

/// A pidfd for process `pid` (`None` if it is gone, or not a process).
fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    rustix::process::Pid::from_raw(pid as i32)
        .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok())
}

impl FirstSight {
    /// A pidfd for `tgid`, and its parent and user from `status` (read here when not given).
    fn read(tgid: u32, status: Option<&procfs::Status>) -> FirstSight {
        match status.cloned().or_else(|| procfs::status(tgid).ok()) {
            Some(st) => FirstSight::read_with(None, &st),
            None => FirstSight {
                pidfd: open_pidfd(tgid),
                ppid: 0,
                uid: None,
                ids: None,
            },
        }
    }

    /// From a status already read (and the pidfd, when one was opened).
    fn read_with(pidfd: Option<OwnedFd>, st: &procfs::Status) -> FirstSight {
        FirstSight {
            pidfd: pidfd.or_else(|| open_pidfd(st.tgid)),
            ppid: st.ppid,
            uid: Some(st.uids[0]),
            ids: None,
        }
    }

    /// The quick way for a thread number not seen before: `pidfd_open` succeeds only for a
    /// process (a thread-group leader), and `PIDFD_GET_INFO` gives its parent and ids without
    /// reading `/proc/<pid>/status` — for a process just created, one of the supervisor's
    /// dearest reads. `Err` keeps the pidfd when it was a process but the kernel has no
    /// `PIDFD_GET_INFO`; `Err(None)` when `tid` is not a process (a new thread).
    fn quick(tid: u32) -> Result<FirstSight, Option<OwnedFd>> {
        let pidfd = open_pidfd(tid).ok_or(None)?;
        match sys::pidfd_info(pidfd.as_fd()) {
            Some(info) if info.tgid == tid => Ok(FirstSight {
                pidfd: Some(pidfd),
                ppid: info.ppid,
                uid: Some(info.uids[0]),
                ids: Some((info.uids, info.gids)),
            }),
            _ => Err(Some(pidfd)),
        }
    }
}

impl Proc {
    /// A process seen for the first time. `known` are the processes already known (its parent
    /// may be one of them); `lineage_exact` says whether the kernel's parent of a process is
    /// the process that forked it (see `Supervisor::lineage_exact`).
    fn load(known: &HashMap<u32, Proc>, tgid: u32, seen: FirstSight, lineage_exact: bool) -> Proc {
        // A process at first sight has not exec'd (every exec is notified, and answered only
        // after its process was seen), so it runs the image its forker ran when forking it.
        // When the parent is the forker and every child of the parent started with the
        // parent's current image, that image is this one's: `/proc/<pid>/exe` (the first touch
        // of a new process's `/proc` directory, one of the supervisor's dearest reads) need not
        // be read. A parent without a pidfd may be gone, its number reused.
        let forker = known.get(&seen.ppid).filter(|p| {
            lineage_exact
                && !p.exited
                && p.pidfd.is_some()
                && p.children_share_image
                && p.pending_execs.is_empty()
                && p.exe_id.is_some()
        });
        let exe_id = match forker {
            Some(p) => p.exe_id,
            None => procfs::identity(&format!("/proc/{tgid}/exe")).ok(),
        };
        // A forked child that runs its parent's image has its parent's path and command line
        // (until it execs): copying them saves reading them.
        let parent = known
            .get(&seen.ppid)
            .filter(|p| exe_id.is_some() && p.exe_id == exe_id && p.pending_execs.is_empty());
        let exe = match parent {
            Some(p) if !p.exe.is_empty() => p.exe.clone(),
            _ => procfs::exe_path(tgid).unwrap_or_default(),
        };
        let cmdline = parent.and_then(|p| p.cmdline.clone());
        Proc {
            tgid,
            ppid: seen.ppid,
            pidfd: seen.pidfd,
            dir: None,
            exe,
            exe_id,
            cmdline,
            pending_execs: Vec::new(),
            exec_polled: None,
            maps_pending: Vec::new(),
            maps_inherited: false,
            killed: false,
            shares_files_or_fs: false,
            seen_dest: HashSet::new(),
            children_share_image: true,
            exited: false,
            uid: seen.uid,
            threads: Vec::new(),
        }
    }
}

/// An exec that was let through and must be verified.
#[derive(Debug, Clone)]
pub(crate) struct PendingExec {
    pub expected: Identity,
    /// The image the process ran when the exec was let through.
    pub old: Option<Identity>,
    /// Its memory layout then (see [`procfs::mm_layout`]), for an exec of the image it runs
    /// (or of an unknown one), where the image cannot tell whether the exec landed.
    pub old_layout: Option<[u64; 10]>,
    pub script: Option<ScriptCheck>,
    /// The thread that made the exec call.
    pub tid: u32,
    pub path: String,
    /// The command line the new image starts with, as far as it was read.
    pub cmd_line: String,
    /// When it was let through.
    pub since: Instant,
}

/// What the command line of an executed `#!` script must be: the kernel builds it as
/// `[interpreter as written, (its one argument), script filename, argv[1..]]`, once per level
/// of interpreters, so every position is known.
#[derive(Debug, Clone)]
pub(crate) struct ScriptCheck {
    /// The expected start of `/proc/<pid>/cmdline`.
    pub prefix: Vec<String>,
    /// The checked `argv[1..]`, when it was read whole.
    pub tail: Option<Vec<String>>,
}

/// An operation performed for a process that has not completed (a blocking connect or send).
pub(crate) struct Pending {
    pub id: u64,
    pub tid: u32,
    pub fd: OwnedFd,
    pub kind: net::PendingKind,
    /// When the caller's own timeout (SO_SNDTIMEO) runs out.
    pub deadline: Option<Instant>,
}

/// The supervisor.
pub struct Supervisor<'s> {
    cfg: Config,
    listener: Option<OwnedFd>,
    sink: &'s mut dyn Sink,
    signals: Option<OwnedFd>,
    procs: HashMap<u32, Proc>,
    tids: HashMap<u32, u32>,
    pending: Vec<Pending>,
    observed: Observed,
    learned: HashSet<String>,
    stats: Stats,
    main_status: Option<i32>,
    reaped: HashMap<u32, (i32, Option<i32>)>,
    my_creds: procfs::Status,
    debug: bool,
    /// Sockets bound to port 0 (the kernel chose the port), by identity, until they listen.
    ephemeral: HashSet<(u64, u64)>,
    /// Threads whose credentials were found equal to the supervisor's (until they change).
    creds_ok: HashSet<u32>,
    /// Threads whose ids (not their groups or capabilities) were found equal to the
    /// supervisor's: enough for calls the supervisor only decides on (see `ids_check`).
    ids_ok: HashSet<u32>,
    /// Bounds how many identical events are reported per second.
    limiter: report::RateLimiter,
    /// Lets another thread wait until what is ready has been handled (see [`Barrier`]).
    barrier: Option<Barrier>,
    /// While a notification is being handled, events (and the reports of decisions let
    /// through or denied, which are built from them) wait in `deferred` until it is answered.
    defer_events: bool,
    deferred: Vec<report::Deferred>,
    /// The process whose `/proc` directory is to be opened after the answer (see
    /// `after_answer`).
    warm: Option<u32>,
    /// Descriptors the supervisor is done with, closed after the answer: a close is a few
    /// microseconds the caller need not wait for.
    to_close: Vec<OwnedFd>,
    /// The supervisor has no capabilities and the first process had its credentials: then so
    /// does every process with its ids (see `tgid_of`).
    tree_creds_same: bool,
    /// Every process has the supervisor's supplementary groups: the first process had them,
    /// and no `setgroups` call has been let through since (the only way to change them; it is
    /// notified). Then the kernel's word on ids and capabilities is a whole credential check.
    groups_fixed: bool,
    /// Whether the parent the kernel reports for a process is the process that forked it.
    /// It stops being so, for the rest of the run, once a process may have been adopted by
    /// another than the supervisor (a subreaper, a namespace's init) or created with
    /// `CLONE_PARENT` — each of which the filter notifies or denies.
    lineage_exact: bool,
    /// Whether the processes' root is known to be the supervisor's (see [`RootCheck`]).
    root_check: crate::resolve::RootCheck,
    /// `#!` lines of executed files (see `shebang_of`).
    shebangs: Cache<FileKey, Option<(String, Option<String>)>>,
    /// The names the kernel gave executed programs, by the path the exec named and the file
    /// found (see `on_exec`).
    program_names: KnownNames<Vec<u8>>,
    /// The names the kernel gave files mapped executable, by the file (see `mapped_file`).
    library_names: KnownNames<()>,
    /// Closes copies of descriptors that are not plain files (see [`Closer`]).
    closer: Closer,
}

/// Closes, on a thread of its own, copies of a process's descriptors that are not plain files:
/// the supervisor's copy can end up the last reference when the process closes its own, and
/// the last close of a socket with `SO_LINGER`, or of a terminal draining its output, can
/// block — the supervisor must not. Started on first use. A close that blocks holds up the
/// ones queued behind it: past [`CLOSER_BACKLOG`] of them, no more copies are made
/// ([`Closer::backed_up`]), so the supervisor holds a bounded number of descriptors.
#[derive(Default)]
pub(crate) struct Closer(
    Option<(
        std::sync::mpsc::Sender<OwnedFd>,
        std::sync::Arc<std::sync::atomic::AtomicUsize>,
    )>,
);

/// Most copies waiting to be closed before the supervisor stops making them.
const CLOSER_BACKLOG: usize = 64;

impl Closer {
    pub(crate) fn close(&mut self, fd: OwnedFd) {
        use std::sync::atomic::Ordering;
        if self.0.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<OwnedFd>();
            let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let left = waiting.clone();
            let started = std::thread::Builder::new()
                .name("vigil-closer".into())
                .spawn(move || {
                    for fd in rx {
                        drop(fd);
                        left.fetch_sub(1, Ordering::Relaxed);
                    }
                });
            if started.is_err() {
                // No thread: closed here, as before there was one.
                return;
            }
            self.0 = Some((tx, waiting));
        }
        if let Some((tx, waiting)) = &self.0 {
            waiting.fetch_add(1, Ordering::Relaxed);
            // The thread lives as long as the sender; a send cannot fail while it does.
            let _ = tx.send(fd);
        }
    }

    /// Whether closes are held up: more than [`CLOSER_BACKLOG`] copies wait.
    pub(crate) fn backed_up(&self) -> bool {
        self.0.as_ref().is_some_and(|(_, waiting)| {
            waiting.load(std::sync::atomic::Ordering::Relaxed) > CLOSER_BACKLOG
        })
    }
}

impl std::fmt::Debug for Closer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Closer(started)"
        } else {
            "Closer"
        })
    }
}

/// Most `/proc/<pid>` directories held open at once (see `Supervisor::after_answer`).
const PROC_DIRS: usize = 64;

/// Most entries in each of the supervisor's caches of what files say or are named.
const FILE_CACHE: usize = 512;

/// A file in a given state: its identity, size and change times. What is learned about a file
/// (its `#!` line, its name) is kept under this, so a write to it, or a rename, link or
/// unlink of it (each changes its `ctime`), makes the answer be looked up again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileKey {
    pub id: Identity,
    pub size: i64,
    pub mtime: (i64, u64),
    pub ctime: (i64, u64),
}

impl FileKey {
    pub(crate) fn of(st: &rustix::fs::Stat) -> FileKey {
        FileKey {
            id: (st.st_dev, st.st_ino),
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
            ctime: (st.st_ctime, st.st_ctime_nsec),
        }
    }

    /// Whether what is learned about the file now may be kept: not if it changed in the last
    /// two seconds, where another change within the timestamps' granularity would go unseen.
    pub(crate) fn settled(&self) -> bool {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
        now.tv_sec.saturating_sub(self.ctime.0) >= 2
    }
}

/// A bounded map that starts over when full (its entries are cheap to learn again).
#[derive(Debug)]
pub(crate) struct Cache<K, V>(HashMap<K, V>);

impl<K: std::hash::Hash + Eq, V> Cache<K, V> {
    fn new() -> Self {
        Cache(HashMap::new())
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.0.get(k)
    }

    pub(crate) fn insert(&mut self, k: K, v: V) {
        if self.0.len() >= FILE_CACHE {
            self.0.clear();
        }
        self.0.insert(k, v);
    }
}

/// Names the kernel gave files (`readlink` of a descriptor), kept by `K` (what led to the
/// file) and the file in its state ([`FileKey`]), so that naming the same file found the same
/// way again costs a `stat` instead. A name is kept only for a file with one link (of a
/// hard-linked file the kernel names the link the walk went through, and each is judged as
/// itself) that has not changed in the last moments ([`FileKey::settled`]); it is given back
/// only while a `stat` of it still finds that very file (a directory renamed on the way leaves
/// its files' times alone).
#[derive(Debug)]
pub(crate) struct KnownNames<K>(Cache<(K, FileKey), String>);

impl<K: std::hash::Hash + Eq> KnownNames<K> {
    fn new() -> Self {
        KnownNames(Cache::new())
    }

    /// The name kept for `k` and the file whose status is `st`.
    pub(crate) fn get(&self, k: K, st: &rustix::fs::Stat) -> Option<String> {
        if st.st_nlink != 1 {
            return None;
        }
        let file = FileKey::of(st);
        let name = self.0.get(&(k, file))?;
        let now = rustix::fs::stat(name.as_str()).ok()?;
        (FileKey::of(&now) == file).then(|| name.clone())
    }

    /// Keeps `name`, the kernel's for the file whose status is `st`, found by `k`.
    pub(crate) fn learn(&mut self, k: K, st: &rustix::fs::Stat, name: &str) {
        let file = FileKey::of(st);
        if st.st_nlink == 1 && file.settled() && !name.is_empty() {
            self.0.insert((k, file), name.to_string());
        }
    }
}

fn wait_status_code(st: rustix::process::WaitStatus) -> i32 {
    if let Some(c) = st.exit_status() {
        c
    } else if let Some(s) = st.terminating_signal() {
        128 + s
    } else {
        1
    }
}

impl<'s> Supervisor<'s> {
    /// A supervisor for `cfg`, answering on `listener` (none for the kernel-only and
    /// unprotected layers, where it only waits and reports). `signals` is a signalfd for
    /// [`HANDLED_SIGNALS`], blocked before the function was forked so no exit is missed.
    pub fn new(
        cfg: Config,
        listener: Option<OwnedFd>,
        signals: Option<OwnedFd>,
        sink: &'s mut dyn Sink,
    ) -> io::Result<Self> {
        // This thread's credentials (in the Lambda extension the supervisor is one thread of
        // several, and capabilities are per thread).
        let me = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        let my_creds = procfs::status(me)?;
        if let Some(l) = &listener {
            sys::notif_sync_wakeup(l.as_fd());
        }
        Ok(Supervisor {
            cfg,
            listener,
            sink,
            signals,
            procs: HashMap::new(),
            tids: HashMap::new(),
            pending: Vec::new(),
            observed: Observed::default(),
            learned: HashSet::new(),
            stats: Stats::default(),
            main_status: None,
            reaped: HashMap::new(),
            my_creds,
            debug: std::env::var_os("VIGIL_DEBUG").is_some(),
            ephemeral: HashSet::new(),
            creds_ok: HashSet::new(),
            ids_ok: HashSet::new(),
            limiter: report::RateLimiter::default(),
            barrier: None,
            defer_events: false,
            deferred: Vec::new(),
            warm: None,
            to_close: Vec::new(),
            shebangs: Cache::new(),
            program_names: KnownNames::new(),
            library_names: KnownNames::new(),
            closer: Closer::default(),
            root_check: crate::resolve::RootCheck::EachCall,
            tree_creds_same: false,
            groups_fixed: false,
            lineage_exact: false,
        })
    }

    /// Writes `e` at once (the start event, before anything the function does).
    pub fn emit_now(&mut self, e: &vigil_events::Event) {
        self.sink.emit(e);
    }

    /// Serves `barrier` while running: [`Barrier::sync`] on another thread returns once this
    /// supervisor has handled everything that was ready when it was called.
    pub fn with_barrier(mut self, barrier: Barrier) -> Self {
        self.barrier = Some(barrier);
        self
    }

    /// Runs until every monitored process is gone (the listener hangs up) and the main process
    /// has been reaped.
    pub fn run(mut self) -> io::Result<Outcome> {
        // The main process is known from the start, so its exit is reported even if it never
        // makes a notified call.
        let main_status = procfs::status(self.cfg.main_pid).ok();
        self.tree_creds_same = self.my_creds.caps == [0, 0]
            && main_status.as_ref().is_some_and(|st| self.same_creds(st));
        self.groups_fixed = main_status
            .as_ref()
            .is_some_and(|st| st.groups == self.my_creds.groups);
        self.known_with(self.cfg.main_pid, main_status.as_ref());
        let exempt = |group: &str| self.cfg.policy.exempts(group);
        // In a new PID namespace, its first process adopts orphans.
        self.lineage_exact = !exempt("namespaces");
        // No process can change its root while the groups that do it stay denied: then the
        // first process's root is every process's root.
        let root_fixed = !exempt("namespaces") && !exempt("mount");
        if root_fixed && crate::resolve::same_root(self.cfg.main_pid) {
            self.root_check = crate::resolve::RootCheck::Known;
        }
        let mut hung_up = self.listener.is_none();
        // While a barrier request is being served: (ticket, rounds so far).
        let mut sync: Option<(u64, u32)> = None;
        struct Serving(Barrier);
        impl Drop for Serving {
            fn drop(&mut self) {
                self.0.set_running(false);
            }
        }
        let _serving = self.barrier.clone().map(|b| {
            b.set_running(true);
            Serving(b)
        });
        loop {
            if hung_up && (self.main_status.is_some() || !self.cfg.main_is_child) {
                break;
            }
            let timeout = if sync.is_some() {
                // Serving a barrier: handle what is ready, without waiting for more.
                Some(Duration::ZERO)
            } else if let Some(d) = self.exec_polling() {
                Some(d)
            } else if !self.pending.is_empty() {
                let now = Instant::now();
                let soonest = self.pending.iter().filter_map(|p| p.deadline).min();
                Some(soonest.map_or(Duration::from_millis(50), |d| {
                    d.saturating_duration_since(now)
                        .clamp(Duration::from_millis(1), Duration::from_millis(50))
                }))
            } else {
                None
            };
            // Events the sink keeps back are written by their deadline.
            let timeout = match self.sink.due() {
                Some(due) => {
                    let left = due.saturating_duration_since(Instant::now());
                    Some(timeout.map_or(left, |t| t.min(left)))
                }
                None => timeout,
            };
            let (listener_ev, signal_ev, exited, ready, barrier_ev) = {
                let mut fds: Vec<PollFd<'_>> = Vec::new();
                // Without a signalfd (extension model), poll a never-ready placeholder: the
                // listener itself, asking for no events.
                match &self.signals {
                    Some(s) => fds.push(PollFd::new(s, PollFlags::IN)),
                    None => match &self.listener {
                        Some(l) => fds.push(PollFd::new(l, PollFlags::empty())),
                        None => return Ok(Outcome::default()),
                    },
                }
                let listener_at = self.listener.as_ref().filter(|_| !hung_up).map(|l| {
                    fds.push(PollFd::new(l, PollFlags::IN));
                    fds.len() - 1
                });
                let proc_start = fds.len();
                let proc_ids: Vec<u32> = self
                    .procs
                    .values()
                    .filter(|p| !p.exited && p.pidfd.is_some())
                    .map(|p| p.tgid)
                    .collect();
                for t in &proc_ids {
                    if let Some(fd) = self.procs.get(t).and_then(|p| p.pidfd.as_ref()) {
                        fds.push(PollFd::new(fd, PollFlags::IN));
                    }
                }
                let pend_start = fds.len();
                for p in &self.pending {
                    fds.push(PollFd::new(&p.fd, p.kind.poll_flags()));
                }
                let barrier_at = self.barrier.as_ref().map(|b| {
                    fds.push(PollFd::from_borrowed_fd(b.fd(), PollFlags::IN));
                    fds.len() - 1
                });
                let ts = timeout.map(|d| rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: d.as_nanos() as i64,
                });
                match poll(&mut fds, ts.as_ref()) {
                    Ok(_) => {}
                    Err(Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
                let signal_ev = self.signals.is_some() && !fds[0].revents().is_empty();
                let listener_ev = listener_at
                    .map(|i| fds[i].revents())
                    .unwrap_or(PollFlags::empty());
                let exited: Vec<u32> = proc_ids
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !fds[proc_start + i].revents().is_empty())
                    .map(|(_, t)| *t)
                    .collect();
                let ready: Vec<usize> = (0..self.pending.len())
                    .filter(|i| !fds[pend_start + i].revents().is_empty())
                    .collect();
                let barrier_ev = barrier_at.is_some_and(|i| !fds[i].revents().is_empty());
                (listener_ev, signal_ev, exited, ready, barrier_ev)
            };
            // Nothing was ready in this round: a barrier being served is answered after it.
            let idle = !signal_ev
                && exited.is_empty()
                && ready.is_empty()
                && !barrier_ev
                && !listener_ev.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR);
            if barrier_ev {
                if let Some(b) = &self.barrier {
                    let ticket = b.take();
                    let rounds = sync.map_or(0, |(_, r)| r);
                    sync = Some((ticket, rounds));
                }
            }
            if self.sink.due().is_some_and(|due| due <= Instant::now()) {
                self.sink.flush();
            }
            if signal_ev {
                self.on_signals();
            }
            if !exited.is_empty() {
                // Collect exit statuses of our own children first, so their events have one.
                self.reap(false);
            }
            for t in exited {
                self.on_exit(t);
            }
            self.progress_pending(&ready);
            self.verify_execs_actively();
            self.report_suppressed(false);
            if listener_ev.contains(PollFlags::IN) {
                self.on_notification();
            } else if listener_ev.intersects(PollFlags::HUP | PollFlags::ERR) {
                hung_up = true;
                self.pending.clear();
            }
            if hung_up && self.main_status.is_none() && self.cfg.main_is_child {
                // Every monitored process is gone; collect the main one's status.
                self.reap(true);
            }
            if let Some((ticket, rounds)) = sync {
                if idle || rounds >= barrier::MAX_ROUNDS {
                    // What was handled is written before the other thread goes on.
                    self.sink.flush();
                    if let Some(b) = &self.barrier {
                        b.answer(ticket);
                    }
                    sync = None;
                } else {
                    sync = Some((ticket, rounds + 1));
                }
            }
        }
        self.report_suppressed(true);
        // Exits not yet reported (processes reaped by their own parents).
        let left: Vec<u32> = self
            .procs
            .values()
            .filter(|p| !p.exited)
            .map(|p| p.tgid)
            .collect();
        for t in left {
            self.on_exit(t);
        }
        self.sink.flush();
        Ok(Outcome {
            exit_code: self.main_status.unwrap_or(1),
            observed: std::mem::take(&mut self.observed),
            stats: self.stats,
        })
    }

    fn listener(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().map(|l| l.as_fd())
    }

    fn on_signals(&mut self) {
        let Some(signals) = self
            .signals
            .as_ref()
            .map(|s| s.as_fd().try_clone_to_owned())
        else {
            return;
        };
        let Ok(signals) = signals else {
            return;
        };
        while let Ok(Some((sig, _sender))) = sys::read_signalfd(signals.as_fd()) {
            if sig == libc::SIGCHLD {
                self.reap(false);
            } else if let (Some(pg), Some(s)) = (
                rustix::process::Pid::from_raw(self.cfg.forward_to_pgid as i32),
                rustix::process::Signal::from_named_raw(sig),
            ) {
                let _ = rustix::process::kill_process_group(pg, s);
            }
        }
    }

    /// Reaps children (the main process, and orphans adopted as subreaper).
    fn reap(&mut self, block_for_main: bool) {
        use rustix::process::{wait, WaitOptions};
        loop {
            let opts = if block_for_main && self.main_status.is_none() {
                WaitOptions::empty()
            } else {
                WaitOptions::NOHANG
            };
            match wait(opts) {
                Ok(Some((pid, st))) => {
                    let pid = pid.as_raw_nonzero().get() as u32;
                    let code = wait_status_code(st);
                    if pid == self.cfg.main_pid {
                        self.main_status = Some(code);
                    }
                    self.reaped.insert(pid, (code, st.terminating_signal()));
                    self.on_exit(pid);
                }
                Ok(None) => return,
                Err(Errno::INTR) => continue,
                Err(_) => {
                    if self.main_status.is_none() && block_for_main {
                        self.main_status = Some(1);
                    }
                    return;
                }
            }
        }
    }

    /// The process `tgid`, creating its entry (and pidfd) on first sight.
    fn known(&mut self, tgid: u32) -> &mut Proc {
        self.known_with(tgid, None)
    }

    /// [`Self::known`], given the process's status when the caller already read it.
    fn known_with(&mut self, tgid: u32, status: Option<&procfs::Status>) -> &mut Proc {
        if !self.procs.contains_key(&tgid) {
            let p = Proc::load(
                &self.procs,
                tgid,
                FirstSight::read(tgid, status),
                self.lineage_exact,
            );
            self.procs.insert(tgid, p);
        }
        // Present now; the closure never runs.
        self.procs.entry(tgid).or_insert_with(|| {
            Proc::load(&HashMap::new(), tgid, FirstSight::read(tgid, status), false)
        })
    }

    /// The process a thread belongs to, `None` if the thread is gone.
    fn tgid_of(&mut self, tid: u32) -> Option<u32> {
        if let Some(&tg) = self.tids.get(&tid) {
            let alive = self.procs.get(&tg).is_some_and(|p| !p.exited);
            if alive
                && (tg == tid || std::path::Path::new(&format!("/proc/{tg}/task/{tid}")).exists())
            {
                return Some(tg);
            }
        }
        // A thread number seen before belonged to a thread that is gone: its credential check
        // does not carry over to this one.
        self.creds_ok.remove(&tid);
        self.ids_ok.remove(&tid);
        let (tgid, sight) = match FirstSight::quick(tid) {
            Ok(sight) => {
                // Without capabilities, the kernel's word on the ids is the whole credential
                // check: under no_new_privs no capability can be gained, and without one the
                // groups cannot change from the first process's, which had the supervisor's
                // (`tree_creds_same`); so equal ids mean equal credentials. A supervisor with
                // capabilities (root) also needs the child's capabilities and groups: a child
                // has the credentials its forking thread had at the fork, which its parent's
                // do not tell (they may have changed since, or not be its parent at all). Its
                // capabilities come from `capget`; its groups are everyone's while no
                // `setgroups` was let through (`groups_fixed`); else its status is read.
                if sight.ids == Some((self.my_creds.uids, self.my_creds.gids)) {
                    self.ids_ok.insert(tid);
                    if self.tree_creds_same || self.same_caps_and_groups(tid) {
                        self.creds_ok.insert(tid);
                    }
                }
                (tid, Some(sight))
            }
            Err(pidfd) => {
                let st = procfs::status(tid).ok()?;
                let sight = (st.tgid == tid).then(|| FirstSight::read_with(pidfd, &st));
                // The status just read is this thread's, read while its call waits: it is the
                // credential check for this call too.
                if self.same_creds(&st) {
                    self.creds_ok.insert(tid);
                }
                (st.tgid, sight)
            }
        };
        self.tids.insert(tid, tgid);
        let new =
            !self.procs.contains_key(&tgid) || self.procs.get(&tgid).is_some_and(|p| p.exited);
        if new {
            // First sight, or a new process reusing the number of one that exited.
            self.procs.remove(&tgid);
            let sight = match sight {
                Some(s) => s,
                None => FirstSight::read(tgid, None),
            };
            let p = Proc::load(&self.procs, tgid, sight, self.lineage_exact);
            self.procs.insert(tgid, p);
        }
        if let Some(p) = self.procs.get_mut(&tgid) {
            if !p.threads.contains(&tid) {
                p.threads.push(tid);
            }
        }
        if new && tgid != self.cfg.main_pid {
            // Forked (or cloned) with a copy of its parent's memory, or a share of it, taken
            // when nothing says: a mapping of the parent's still owed a check may be in it.
            if self.cfg.mode == Mode::Enforce {
                if let Some(p) = self.procs.get_mut(&tgid) {
                    p.maps_inherited = true;
                }
            }
            self.on_new_process(tgid);
        }
        Some(tgid)
    }

    /// A process other than the first one shows up: the function forked. Allowed forks are
    /// decided in the kernel, so this is where learn mode records them and detect mode alerts
    /// on a policy without `fork: true`.
    fn on_new_process(&mut self, tgid: u32) {
        // Forks the filter notifies are decided (and reported) in `on_fork`; here only learn
        // mode has something to do: record that the function forks, with an event carrying the
        // observation (so logs can rebuild the policy).
        if self.cfg.mode != Mode::Learn || !self.observe(&report::Obs::Fork) {
            return;
        }
        let process = self.process_of(tgid, None);
        let mut e = self.event(
            vigil_events::Class::Process,
            1,
            vigil_events::Severity::Informational,
            format!(
                "{} started (forked by {})",
                tgid,
                process.parent_process.as_ref().map_or(0, |p| p.pid)
            ),
        );
        e.actor = Some(vigil_events::Actor {
            process: process.clone(),
        });
        e.process = Some(process);
        e = e.with_outcome(vigil_events::Outcome::Logged);
        e.set("observation", report::Obs::Fork.key());
        e.set("syscall", "clone");
        self.emit(e);
    }

    fn on_exit(&mut self, tgid: u32) {
        let Some(p) = self.procs.get_mut(&tgid) else {
            return;
        };
        if p.exited {
            return;
        }
        p.exited = true;
        p.pidfd = None;
        p.dir = None;
        let owed = !std::mem::take(&mut p.maps_pending).is_empty();
        p.maps_inherited = false;
        for t in std::mem::take(&mut p.threads) {
            if self.tids.get(&t) == Some(&tgid) {
                self.tids.remove(&t);
            }
            self.creds_ok.remove(&t);
            self.ids_ok.remove(&t);
        }
        self.creds_ok.remove(&tgid);
        self.ids_ok.remove(&tgid);
        if owed {
            // Its memory may live on in a process that shared it.
            self.owe_everyone_else(tgid);
        }
        let code = self.reaped.get(&tgid).copied();
        self.report_exit(tgid, code);
        if tgid != self.cfg.main_pid {
            self.procs.remove(&tgid);
        }
    }

    fn on_notification(&mut self) {
        let Some(listener) = self.listener() else {
            return;
        };
        let n = match sys::notif_recv(listener) {
            Ok(n) => n,
            // ENOENT: the thread died (or the call was interrupted) before we read it.
            Err(_) => return,
        };
        self.stats.notifications += 1;
        self.defer_events = true;
        let reply = self.handle(&n);
        self.defer_events = false;
        if self.debug {
            let what = match &reply {
                Reply::Now(a) => format!("{a:?}"),
                Reply::AddFd { .. } => "addfd".to_string(),
                Reply::Later => "later".to_string(),
            };
            eprintln!(
                "vigil-debug: tid {} {} {:x?} -> {what}",
                n.tid,
                Sys::from_nr(n.nr).map_or("?", Sys::name),
                &n.args[..3]
            );
        }
        self.answer(n.id, reply);
        self.flush_deferred();
        self.after_answer();
    }

    /// Work for the process of the call just answered that need not make it wait: a process
    /// with an exec in flight has its image checked at its next call, under `/proc/<pid>`,
    /// whose first lookups are the dearest part of it. Its directory is opened, and looked
    /// into, now: on a second CPU this overlaps with the kernel's exec. At most [`PROC_DIRS`]
    /// are held: each is a file descriptor for as long as its process lives, and the rest are
    /// looked up by number as before. (Descriptors kept to be closed after the answer are
    /// closed here too.)
    fn after_answer(&mut self) {
        self.to_close.clear();
        let Some(tgid) = self.warm.take() else {
            return;
        };
        let held = self.procs.values().filter(|p| p.dir.is_some()).count();
        let Some(p) = self.procs.get_mut(&tgid) else {
            return;
        };
        if p.dir.is_some() || p.exited || held >= PROC_DIRS {
            return;
        }
        if let Ok(dir) = procfs::open_dir(tgid) {
            procfs::warm_up(dir.as_fd());
            p.dir = Some(dir);
        }
    }

    /// Kills process `tgid` (SIGKILL), and refuses whatever it asks until it is gone.
    pub(crate) fn kill(&mut self, tgid: u32) {
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.killed = true;
        }
        procfs::kill_process(tgid);
    }

    /// The `/proc` directory of `tgid`, when it is held open.
    pub(crate) fn proc_dir(&self, tgid: u32) -> Option<BorrowedFd<'_>> {
        self.procs
            .get(&tgid)
            .and_then(|p| p.dir.as_ref())
            .map(|d| d.as_fd())
    }

    fn answer(&mut self, id: u64, reply: Reply) {
        let Some(listener) = self.listener.as_ref().map(|l| l.as_fd()) else {
            return;
        };
        match reply {
            Reply::Now(a) => {
                let _ = sys::notif_send(listener, id, a);
            }
            Reply::AddFd { fd, cloexec } => {
                if self.cfg.install.addfd_send {
                    // Installs the fd and answers with its number, atomically. If it cannot
                    // (EMFILE: the process is at its fd limit), the call must still be answered.
                    if let Err(e) = sys::notif_addfd(listener, id, fd.as_fd(), cloexec, true) {
                        if e.raw_os_error() != Some(libc::ENOENT) {
                            let _ = sys::notif_send(
                                listener,
                                id,
                                Answer::Error(e.raw_os_error().unwrap_or(libc::EMFILE)),
                            );
                        }
                    }
                } else {
                    match sys::notif_addfd(listener, id, fd.as_fd(), cloexec, false) {
                        Ok(n) => {
                            let _ = sys::notif_send(listener, id, Answer::Value(i64::from(n)));
                        }
                        Err(e) => {
                            let _ = sys::notif_send(
                                listener,
                                id,
                                Answer::Error(e.raw_os_error().unwrap_or(libc::EMFILE)),
                            );
                        }
                    }
                }
            }
            Reply::Later => {}
        }
    }

    /// Is the notification still pending (the thread still in the call)? Checked after
    /// reading pointer arguments and before performing an operation for the process.
    fn still_valid(&self, id: u64) -> bool {
        self.listener().is_some_and(|l| sys::notif_id_valid(l, id))
    }

    fn handle(&mut self, n: &Notif) -> Reply {
        let Some(sys) = Sys::from_nr(n.nr) else {
            // The filter only notifies syscalls from the table; anything else is a bug: fail
            // closed.
            return Reply::err(libc::ENOSYS);
        };
        let Some(tgid) = self.tgid_of(n.tid) else {
            return Reply::err(libc::ESRCH);
        };
        if self.procs.get(&tgid).is_some_and(|p| p.killed) {
            // Its SIGKILL is on the way: whatever it asks now must not happen (an open
            // performed for it would still create the file).
            return Reply::err(libc::EPERM);
        }
        let c = Call {
            id: n.id,
            tid: n.tid,
            tgid,
            sys,
            args: n.args,
        };
        // A process whose credentials are no longer the supervisor's (a root function that
        // switched user) can neither be inspected nor be acted for: every watched call of it
        // fails, with a finding saying why — except the credential changes themselves. Calls
        // only decided on need equal ids (`ids_check`); calls the supervisor may perform for
        // the process need equal credentials in full (`creds_check`).
        let creds_change = matches!(
            sys,
            Sys::prctl
                | Sys::setuid
                | Sys::setgid
                | Sys::setreuid
                | Sys::setregid
                | Sys::setresuid
                | Sys::setresgid
                | Sys::setfsuid
                | Sys::setfsgid
                | Sys::setgroups
                | Sys::capset
        );
        if self.my_creds.caps != [0, 0]
            && self
                .procs
                .get(&tgid)
                .is_some_and(|p| !p.pending_execs.is_empty())
        {
            // An exec in flight may have changed the capabilities already (not the ids: see
            // `forget_caps`).
            self.forget_caps(tgid);
        }
        // (Not exec: deciding it, the supervisor opens the program and its interpreters with
        // its own credentials, and reports their `#!` lines.)
        let decide_only = matches!(
            sys,
            Sys::mmap
                | Sys::mprotect
                | Sys::pkey_mprotect
                | Sys::fork
                | Sys::vfork
                | Sys::clone
                | Sys::memfd_create
                | Sys::shmat
        );
        if !creds_change {
            let gate = if decide_only {
                self.ids_check(&c)
            } else {
                self.creds_check(&c)
            };
            if let Err(r) = gate {
                return r;
            }
        }
        if !self.verify_exec(&c) {
            return Reply::err(libc::EPERM);
        }
        if self.cfg.mode == Mode::Learn && !self.observed.fork {
            // Allowed forks are decided in the kernel; a child that makes no watched call of
            // its own is found here, as a child of a process that does.
            if let Some(child) = procfs::first_child(tgid) {
                if !self.procs.contains_key(&child) {
                    self.known(child);
                    self.on_new_process(child);
                }
            }
        }
        // Not before a mapping call: the loader's run of them is checked once, after.
        if !matches!(sys, Sys::mmap | Sys::mprotect | Sys::pkey_mprotect)
            && !self.check_owed_maps(&c)
        {
            return Reply::err(libc::EPERM);
        }
        use Sys::*;
        match sys {
            execve | execveat => self.on_exec(&c),
            fork | vfork | clone => self.on_fork(&c),
            connect => self.on_connect(&c),
            sendto => self.on_sendto(&c),
            sendmsg => self.on_sendmsg(&c),
            sendmmsg => self.on_sendmmsg(&c),
            bind => self.on_bind(&c),
            listen => self.on_listen(&c),
            open | openat | creat | openat2 => self.on_open(&c),
            truncate | rename | renameat | renameat2 | link | linkat | symlink | symlinkat
            | unlink | unlinkat | mkdir | mkdirat | rmdir | mknod | mknodat => self.on_path_op(&c),
            mmap | mprotect | pkey_mprotect => self.on_exec_memory(&c),
            chmod | fchmod | fchmodat | fchmodat2 | chown | fchown | lchown | fchownat
            | setxattr | lsetxattr | fsetxattr | removexattr | lremovexattr | fremovexattr
            | utime | utimes | utimensat | futimesat => self.on_meta(&c),
            shmat => self.on_shmat(&c),
            memfd_create => self.on_memfd(&c),
            pidfd_send_signal => self.on_pidfd_send_signal(&c),
            kill | tkill | tgkill | rt_sigqueueinfo | rt_tgsigqueueinfo | pidfd_open | setpgid
            | prlimit64 | sched_setaffinity | sched_setscheduler | sched_setparam
            | sched_setattr | migrate_pages | move_pages | setpriority | ioprio_set => {
                self.on_tamper(&c)
            }
            // `option` is an int: the kernel ignores the upper half, as the filter does.
            prctl if c.args[0] as u32 == libc::PR_SET_CHILD_SUBREAPER as u32 => {
                // Orphans may now be adopted by a monitored process (see `lineage_exact`).
                self.lineage_exact = false;
                Reply::cont()
            }
            ioctl if matches!(c.args[1] as u32, filter::FIOSETOWN | filter::SIOCSPGRP) => {
                self.on_set_owner(&c)
            }
            fcntl => self.on_set_owner(&c),
            setuid | setgid | setreuid | setregid | setresuid | setresgid | setfsuid | setfsgid
            | setgroups | capset => {
                if sys == setgroups {
                    self.groups_fixed = false;
                }
                // Re-read this process's credentials before acting for it again.
                self.forget_creds(tgid);
                self.creds_ok.remove(&c.tid);
                self.ids_ok.remove(&c.tid);
                Reply::cont()
            }
            _ => self.on_hardening(&c),
        }
    }

    /// Decides on an action: learn records it, detect alerts on violations, enforce denies or
    /// kills them. Reports the activity and, for violations, a finding.
    fn decide(&mut self, c: &Call, d: report::Decision) -> Verdict {
        let mode = self.cfg.mode;
        let new_obs = d.obs.as_ref().map(|o| self.observe(o)).unwrap_or(false);
        let verdict = match mode {
            Mode::Learn => Verdict::Allow,
            Mode::Detect => Verdict::Allow,
            Mode::Enforce if d.allowed => Verdict::Allow,
            Mode::Enforce => match self.cfg.policy.action_for(d.section) {
                vigil_policy::Action::Deny => Verdict::Deny(d.errno),
                vigil_policy::Action::Kill => Verdict::Kill,
            },
        };
        let alert = verdict == Verdict::Allow && !d.allowed && mode == Mode::Detect;
        if self.reports_something(&d, new_obs) {
            if self.defer_events && verdict != Verdict::Kill {
                // The caller waits for the answer, not for the report: it is built after the
                // answer, from what is known now (the actor's command line is read now if it
                // was not known: after the answer, an exec may replace it).
                self.fill_cmdline(c.tgid);
                self.deferred.push(report::Deferred::Report {
                    call: *c,
                    decision: Box::new(d),
                    verdict,
                    new_obs,
                });
            } else {
                self.report_decision(c, &d, verdict, new_obs);
            }
        }
        match verdict {
            Verdict::Allow if alert => self.stats.alerts += 1,
            Verdict::Deny(_) => self.stats.denied += 1,
            Verdict::Kill => {
                self.stats.killed += 1;
                // The finding goes out first (the Lambda extension fails the invocation with
                // it before the runtime is seen to die); the call waits meanwhile.
                self.flush_deferred();
                self.kill(c.tgid);
            }
            _ => {}
        }
        verdict
    }

    fn observe(&mut self, o: &Obs) -> bool {
        if self.cfg.mode != Mode::Learn {
            return false;
        }
        let key = o.key();
        if !self.learned.insert(key) {
            return false;
        }
        o.record(&mut self.observed);
        true
    }

    fn getfd(&self, c: &Call, fd: u64) -> Result<OwnedFd, Errno> {
        let pidfd = self
            .procs
            .get(&c.tgid)
            .and_then(|p| p.pidfd.as_ref())
            .ok_or(Errno::SRCH)?;
        let fd = i32::try_from(fd as i64).map_err(|_| Errno::BADF)?;
        rustix::process::pidfd_getfd(pidfd, fd, rustix::process::PidfdGetfdFlags::empty())
    }

    /// Whether a thread's credentials are exactly the supervisor's (every uid and gid, the
    /// groups, the effective and permitted capabilities), so an operation the supervisor
    /// performs for it is checked by the kernel exactly as its own would be — no more power.
    fn same_creds(&self, st: &procfs::Status) -> bool {
        st.uids == self.my_creds.uids
            && st.gids == self.my_creds.gids
            && st.groups == self.my_creds.groups
            && st.caps == self.my_creds.caps
    }

    /// Whether thread `tid` has the supervisor's capabilities (effective and permitted, from
    /// `capget`, which reads them without `/proc`) while every process has its groups
    /// (`groups_fixed`): with equal ids, its credentials are the supervisor's.
    fn same_caps_and_groups(&self, tid: u32) -> bool {
        self.groups_fixed
            && rustix::process::Pid::from_raw(tid as i32)
                .and_then(|p| rustix::thread::capabilities(Some(p)).ok())
                .is_some_and(|c| [c.effective.bits(), c.permitted.bits()] == self.my_creds.caps)
    }

    /// Forgets that process `tgid`'s capabilities were found equal to the supervisor's, and
    /// keeps what is known of its ids: an exec can change the one (a root process's exec
    /// recomputes its capabilities) but not the other (under no_new_privs, which every
    /// monitored process has, set-user-ID and set-group-ID bits are not honoured).
    pub(crate) fn forget_caps(&mut self, tgid: u32) {
        self.creds_ok.remove(&tgid);
        if let Some(p) = self.procs.get(&tgid) {
            for t in &p.threads {
                self.creds_ok.remove(t);
            }
        }
    }

    /// Drops the cached credential checks of every thread of `tgid`, ids included.
    pub(crate) fn forget_creds(&mut self, tgid: u32) {
        self.forget_caps(tgid);
        self.ids_ok.remove(&tgid);
        if let Some(p) = self.procs.get(&tgid) {
            for t in &p.threads {
                self.ids_ok.remove(t);
            }
        }
    }

    /// The gate for calls the supervisor only decides on, opening nothing and performing
    /// nothing for the process (executable mappings, process creation, memfd, shmat): the
    /// kernel carries them out with the process's own credentials, so what matters is only
    /// that a process that switched user — which the supervisor cannot inspect any more — is
    /// told why with a finding. Equal ids, from the kernel (`PIDFD_GET_INFO`), say it did not;
    /// otherwise, on a kernel without it, or for a thread other than the main one (the
    /// process's pidfd tells the main thread's ids; credentials are per thread),
    /// [`Self::creds_check`] reads the thread's status.
    pub(crate) fn ids_check(&mut self, c: &Call) -> Result<(), Reply> {
        if self.creds_ok.contains(&c.tid) || self.ids_ok.contains(&c.tid) {
            return Ok(());
        }
        if c.tid != c.tgid {
            return self.creds_check(c);
        }
        let info = self
            .procs
            .get(&c.tgid)
            .and_then(|p| p.pidfd.as_ref())
            .and_then(|fd| sys::pidfd_info(fd.as_fd()));
        if info.is_some_and(|i| (i.uids, i.gids) == (self.my_creds.uids, self.my_creds.gids)) {
            self.ids_ok.insert(c.tid);
            return Ok(());
        }
        self.creds_check(c)
    }

    /// The credential check for network operations, cached per thread until it changes its
    /// credentials (those calls are notified). `Err` is the reply denying the call.
    pub(crate) fn creds_check(&mut self, c: &Call) -> Result<(), Reply> {
        if self.creds_ok.contains(&c.tid) {
            return Ok(());
        }
        // The main thread's ids from its pidfd and its capabilities from `capget` say as much
        // as its status, for less (credentials are per thread: other threads read theirs).
        if c.tid == c.tgid && self.groups_fixed {
            let ids = self
                .procs
                .get(&c.tgid)
                .and_then(|p| p.pidfd.as_ref())
                .and_then(|fd| sys::pidfd_info(fd.as_fd()));
            if ids.is_some_and(|i| (i.uids, i.gids) == (self.my_creds.uids, self.my_creds.gids))
                && self.same_caps_and_groups(c.tid)
            {
                self.creds_ok.insert(c.tid);
                return Ok(());
            }
        }
        self.creds_for_fs(c)?;
        self.creds_ok.insert(c.tid);
        Ok(())
    }

    /// Is `pid` one of the function's processes (a known one, or a descendant of one)? The
    /// supervisor only acts on the function's own processes: acting on others would let the
    /// function use the supervisor's reach (its Landlock domain, its credentials).
    pub(crate) fn is_monitored(&self, pid: u32) -> bool {
        let mut p = pid;
        for _ in 0..64 {
            // The main process counts until it is known to have exited: its number may then
            // be another process's.
            let known = match self.procs.get(&p) {
                Some(pr) => !pr.exited,
                None => p == self.cfg.main_pid && self.main_status.is_none(),
            };
            if known {
                return true;
            }
            if p <= 1 || self.cfg.protected.contains(&p) {
                return false;
            }
            match procfs::status(p) {
                Ok(st) if st.ppid != p => p = st.ppid,
                _ => return false,
            }
        }
        false
    }
}

/// One notified call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call {
    pub id: u64,
    pub tid: u32,
    pub tgid: u32,
    pub sys: Sys,
    pub args: [u64; 6],
}

#[cfg(test)]
mod tests {
    use super::Closer;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    /// A close that blocks (the last close of a socket with `SO_LINGER` and data its peer does
    /// not read) holds up the closer's thread, not the caller; copies queued behind it are
    /// counted, and past the backlog the caller is told to stop making them.
    #[test]
    fn a_blocking_close_backs_the_closer_up_without_blocking_the_caller() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
        let mut sock =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let _peer = listener.accept().expect("accept"); // never read
        sock.set_nonblocking(true).expect("nonblocking");
        let chunk = vec![0u8; 64 * 1024];
        while sock.write(&chunk).is_ok() {}
        sock.set_nonblocking(false).expect("blocking");
        let fd: OwnedFd = sock.into();
        rustix::net::sockopt::set_socket_linger(&fd, Some(std::time::Duration::from_secs(2)))
            .expect("SO_LINGER");
        let mut closer = Closer::default();
        let started = std::time::Instant::now();
        closer.close(fd);
        assert!(!closer.backed_up());
        for _ in 0..super::CLOSER_BACKLOG + 1 {
            let (r, _w) = rustix::pipe::pipe().expect("pipe");
            closer.close(r);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "the caller waited for the close"
        );
        // Still backed up a while later: the first close blocks (the pipes behind it would be
        // closed in microseconds).
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(closer.backed_up(), "the backlog was not seen");
    }
}
