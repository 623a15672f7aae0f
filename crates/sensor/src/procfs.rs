//! What `/proc` says about a monitored process, and reading its memory.

use crate::sys;
use std::fs;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

/// Fields of `/proc/<tid>/status` the supervisor uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Thread group id (the process id).
    pub tgid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Real, effective, saved and filesystem user ids.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem group ids.
    pub gids: [u32; 4],
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// File creation mask.
    pub umask: u32,
    /// Effective and permitted capabilities.
    pub caps: [u64; 2],
}

/// Parses a decimal number; `None` for anything else (empty, sign, overflow).
fn dec<T: std::str::FromStr>(v: &[u8]) -> Option<T> {
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn parse_ids(v: &[u8]) -> [u32; 4] {
    let mut out = [u32::MAX; 4];
    for (i, f) in fields(v).take(4).enumerate() {
        out[i] = dec(f).unwrap_or(u32::MAX);
    }
    out
}

/// Whitespace-separated fields of a status value.
fn fields(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

fn radix(v: &[u8], r: u32) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(v).ok()?, r).ok()
}

/// Reads a small `/proc` file whole with as few system calls as possible: open, read into a
/// page-sized buffer until end of file, close (`fs::read` adds a statx and small probing
/// reads, which for `/proc` files, sized 0, cost more calls than the content).
fn read_proc(path: &str) -> io::Result<Vec<u8>> {
    use rustix::fs::{Mode, OFlags};
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    buf.truncate(len);
    Ok(buf)
}

/// Reads `/proc/<tid>/status`.
pub fn status(tid: u32) -> io::Result<Status> {
    parse_status(&read_proc(&format!("/proc/{tid}/status"))?)
}

/// Parses the text of a `status` file. It is read for every new process and thread, so it
/// works on bytes, line by line, and only looks at the fields it needs (the `Name` line may
/// hold any bytes, so the text is not decoded as a whole).
fn parse_status(bytes: &[u8]) -> io::Result<Status> {
    let mut s = Status {
        umask: 0o022,
        ..Default::default()
    };
    let mut have_tgid = false;
    for line in bytes.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (k, v) = (&line[..colon], line[colon + 1..].trim_ascii());
        match k {
            b"Tgid" => {
                s.tgid = dec(v).unwrap_or(0);
                have_tgid = s.tgid != 0;
            }
            b"PPid" => s.ppid = dec(v).unwrap_or(0),
            b"Uid" => s.uids = parse_ids(v),
            b"Gid" => s.gids = parse_ids(v),
            b"Groups" => s.groups = fields(v).filter_map(dec).collect(),
            b"Umask" => s.umask = radix(v, 8).map_or(0o022, |m| m as u32),
            b"CapEff" => s.caps[0] = radix(v, 16).unwrap_or(u64::MAX),
            b"CapPrm" => s.caps[1] = radix(v, 16).unwrap_or(u64::MAX),
            // Everything the supervisor uses comes before the capabilities.
            b"CapBnd" => break,
            _ => {}
        }
    }
    if !have_tgid {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no Tgid in status",
        ));
    }
    Ok(s)
}

/// The command line of `pid`, arguments as (lossy) strings.
pub fn cmdline(pid: u32) -> Vec<String> {
    read_proc(&format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// `(device, inode)` of a file: its identity.
pub type Identity = (u64, u64);

/// Identity of what `path` names (following links; `/proc/<pid>/exe` gives the running image).
pub fn identity(path: &str) -> io::Result<Identity> {
    let st = rustix::fs::stat(path)?;
    Ok((st.st_dev, st.st_ino))
}

/// `/proc/<pid>`, held open: what is looked up under it is found without looking the process
/// up again by its number, and for this process only (a process that exits leaves it empty
/// rather than naming another one given its number).
pub fn open_dir(pid: u32) -> io::Result<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    Ok(rustix::fs::open(
        format!("/proc/{pid}"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Identity of the running image of the process whose `/proc` directory is `dir`.
pub fn exe_identity_at(dir: BorrowedFd<'_>) -> io::Result<Identity> {
    let st = rustix::fs::statat(dir, "exe", rustix::fs::AtFlags::empty())?;
    Ok((st.st_dev, st.st_ino))
}

/// What `readlink <dir>/fd/<fd>` says, for the `/proc` directory `dir` of a process (see
/// [`fd_target`]).
pub fn fd_target_at(dir: BorrowedFd<'_>, fd: i32) -> io::Result<String> {
    let p = rustix::fs::readlinkat(dir, format!("fd/{fd}"), Vec::new())?;
    Ok(p.to_string_lossy().into_owned())
}

/// Looks up, and so brings into the kernel's caches, the entry of the `/proc` directory `dir`
/// that checking an exec reads (`exe`): the first lookup costs several times what later ones
/// do. (Mapped libraries are named through a copy of their descriptor, as a rule: see
/// `Supervisor::mapped_file`; `fd` is looked up only for one not named before.)
pub fn warm_up(dir: BorrowedFd<'_>) {
    let _ = rustix::fs::statat(dir, "exe", rustix::fs::AtFlags::SYMLINK_NOFOLLOW);
}

/// The executable of `pid` as a path (`readlink /proc/<pid>/exe`).
pub fn exe_path(pid: u32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// Start address.
    pub start: u64,
    /// End address (exclusive).
    pub end: u64,
    /// Readable.
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
    /// Inode (0 for anonymous memory).
    pub inode: u64,
    /// Path, `[heap]`-style pseudo name, or empty.
    pub path: String,
}

impl Mapping {
    /// Anonymous memory (including `[heap]`, `[stack]`, named anonymous mappings).
    pub fn is_anonymous(&self) -> bool {
        self.inode == 0
    }
}

/// Parses `/proc/<pid>/maps`.
pub fn maps(pid: u32) -> io::Result<Vec<Mapping>> {
    let text = fs::read_to_string(format!("/proc/{pid}/maps"))?;
    Ok(text.lines().filter_map(parse_map_line).collect())
}

/// The mappings of process `tgid`, read through its main thread or, when that one has exited
/// (its list is then empty), through any other. Empty when no thread of it has memory left.
pub fn process_maps(tgid: u32) -> io::Result<Vec<Mapping>> {
    let m = maps(tgid)?;
    if !m.is_empty() {
        return Ok(m);
    }
    for e in fs::read_dir(format!("/proc/{tgid}/task"))?.flatten() {
        let path = e.path().join("maps");
        match fs::read_to_string(&path) {
            Ok(text) if !text.is_empty() => {
                return Ok(text.lines().filter_map(parse_map_line).collect())
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Vec::new())
}

fn parse_map_line(line: &str) -> Option<Mapping> {
    let mut it = line.splitn(6, ' ');
    let range = it.next()?;
    let perms = it.next()?.as_bytes();
    let _offset = it.next()?;
    let _dev = it.next()?;
    let inode: u64 = it.next()?.parse().ok()?;
    let path = it.next().unwrap_or("").trim_start().to_string();
    let (s, e) = range.split_once('-')?;
    Some(Mapping {
        start: u64::from_str_radix(s, 16).ok()?,
        end: u64::from_str_radix(e, 16).ok()?,
        read: perms.first() == Some(&b'r'),
        write: perms.get(1) == Some(&b'w'),
        exec: perms.get(2) == Some(&b'x'),
        inode,
        path,
    })
}

/// How many threads process `tgid` has (`Threads:` of its status); `None` if unreadable.
pub fn thread_count(tgid: u32) -> Option<u32> {
    let text = fs::read_to_string(format!("/proc/{tgid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Is thread `tid` of `tgid` certainly past any `mmap` it was let through? It is if it is gone,
/// or if it waits outside `mmap`: in another system call, or in none (`/proc/<tid>/syscall`
/// says `-1`). A thread that is running, in `mmap` (perhaps waiting for its next answer), or
/// whose state cannot be read, may not be.
pub fn past_mmap(tgid: u32, tid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{tgid}/task/{tid}/syscall")) {
        Ok(text) => text
            .split_whitespace()
            .next()
            .and_then(|nr| nr.parse::<i64>().ok())
            .is_some_and(|nr| nr != libc::SYS_mmap),
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// What `readlink /proc/<tid>/fd/<fd>` says: a path, or `pipe:[…]`, `socket:[…]`, …
pub fn fd_target(tid: u32, fd: i32) -> io::Result<String> {
    fs::read_link(format!("/proc/{tid}/fd/{fd}")).map(|p| p.to_string_lossy().into_owned())
}

/// Reads `len` bytes at `addr` in `tid`; fails unless all of them could be read.
pub fn read_bytes(tid: u32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let n = sys::read_mem(tid, addr + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        done += n;
    }
    Ok(buf)
}

/// Reads a NUL-terminated string of at most `max` bytes at `addr` in `tid`, page by page so a
/// string that ends just before an unmapped page is still read.
pub fn read_cstr(tid: u32, addr: u64, max: usize) -> io::Result<Vec<u8>> {
    Mem::new(tid).cstr(addr, max)
}

/// Chunks read ahead that a [`Mem`] keeps besides the last one it read.
const MEM_PREFETCH_MAX: usize = 4;

/// Reads strings from a process's memory, keeping the last chunk read (up to a page end): the
/// strings of an argv sit next to each other, and often next to the exec's path, so most of
/// them come from a chunk already read, not from another system call.
pub struct Mem {
    tid: u32,
    /// `(address, bytes)`: the chunk read last, and those read ahead by [`Mem::prefetch`].
    chunks: Vec<(u64, Vec<u8>)>,
}

impl Mem {
    /// A reader of `tid`'s memory.
    pub fn new(tid: u32) -> Mem {
        Mem {
            tid,
            chunks: Vec::new(),
        }
    }

    /// Reads, in one system call, from each of `addrs` to the end of its page: what a caller
    /// about to read strings or pointers there would read one call at a time. A chunk that
    /// could not be read is left out (reading it later fails or succeeds as it would have).
    pub fn prefetch(&mut self, addrs: &[u64]) {
        const PAGE: u64 = 4096;
        let mut bufs: Vec<(u64, Vec<u8>)> = addrs
            .iter()
            .map(|a| (*a, vec![0u8; (PAGE - a % PAGE) as usize]))
            .collect();
        let mut ranges: Vec<(u64, &mut [u8])> = bufs
            .iter_mut()
            .map(|(a, b)| (*a, b.as_mut_slice()))
            .collect();
        let Ok(mut n) = sys::read_mem_many(self.tid, &mut ranges) else {
            return;
        };
        for (a, mut b) in bufs {
            // Each range is within a page, so it was read whole or not at all.
            if n < b.len() {
                b.truncate(n);
            }
            n -= b.len();
            if !b.is_empty() {
                self.chunks.push((a, b));
            }
        }
    }

    /// The bytes known from `addr` on, up to the end of a chunk already read.
    fn known(&self, addr: u64) -> Option<&[u8]> {
        self.chunks.iter().rev().find_map(|(at, chunk)| {
            let off = addr.checked_sub(*at).filter(|o| *o < chunk.len() as u64)?;
            Some(&chunk[off as usize..])
        })
    }

    /// Up to `want` bytes at `addr`: from a chunk already read when it holds at least `min`
    /// of them, else read now (to the end of the page, at most `want`).
    pub fn bytes(&mut self, addr: u64, want: usize, min: usize) -> io::Result<Vec<u8>> {
        const PAGE: u64 = 4096;
        if let Some(b) = self.known(addr).filter(|b| b.len() >= min) {
            return Ok(b[..b.len().min(want)].to_vec());
        }
        let len = ((PAGE - addr % PAGE) as usize).min(want).max(min);
        let mut raw = vec![0u8; len];
        let n = sys::read_mem(self.tid, addr, &mut raw)?;
        raw.truncate(n);
        Ok(raw)
    }

    /// [`read_cstr`], from a chunk already read when the whole string is in it.
    pub fn cstr(&mut self, addr: u64, max: usize) -> io::Result<Vec<u8>> {
        const PAGE: u64 = 4096;
        if let Some(rest) = self.known(addr) {
            if let Some(nul) = rest.iter().take(max).position(|b| *b == 0) {
                return Ok(rest[..nul].to_vec());
            }
        }
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            let to_page_end = (PAGE - (at % PAGE)) as usize;
            let want = to_page_end.min(max - out.len());
            let mut chunk = vec![0u8; want];
            let n = sys::read_mem(self.tid, at, &mut chunk)?;
            if n == 0 {
                return Err(io::Error::from_raw_os_error(libc::EFAULT));
            }
            chunk.truncate(n);
            let nul = chunk.iter().position(|b| *b == 0);
            out.extend_from_slice(&chunk[..nul.unwrap_or(n)]);
            // Keep the prefetched chunks and this last one.
            self.chunks.truncate(MEM_PREFETCH_MAX);
            self.chunks.push((at, chunk));
            if nul.is_some() {
                return Ok(out);
            }
            at += n as u64;
        }
        Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
    }
}

/// Reads a NULL-terminated array of string pointers (argv) at `addr`: at most `max_args`
/// entries and `max_bytes` in total; a longer command line is cut and marked with `…`.
pub fn read_argv(mem: &mut Mem, addr: u64, max_args: usize, max_bytes: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut total = 0;
    // Pointers are read a page (or what is left of max_args) at a time, not one by one.
    let mut ptrs: Vec<u64> = Vec::new();
    let mut next = 0;
    for i in 0..max_args {
        if next == ptrs.len() {
            let at = addr + 8 * i as u64;
            let raw = match mem.bytes(at, 8 * (max_args - i), 8) {
                Ok(raw) if raw.len() >= 8 => raw,
                _ => break,
            };
            let n = raw.len();
            ptrs = raw[..n - n % 8]
                .chunks_exact(8)
                .map(|b| {
                    let mut p = [0u8; 8];
                    p.copy_from_slice(b);
                    u64::from_le_bytes(p)
                })
                .collect();
            next = 0;
        }
        let ptr = ptrs[next];
        next += 1;
        if ptr == 0 {
            return out;
        }
        let Ok(s) = mem.cstr(ptr, 4096) else {
            break;
        };
        total += s.len();
        out.push(String::from_utf8_lossy(&s).into_owned());
        if total > max_bytes {
            break;
        }
    }
    out.push("…".to_string());
    out
}

/// The processes descended from `pid` (children of any of its threads, theirs, …), at most
/// `max` of them.
pub fn descendants(pid: u32, max: usize) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(p) = queue.pop() {
        let Ok(tasks) = fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let children = fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                if found.len() >= max {
                    return found;
                }
                found.push(c);
                queue.push(c);
            }
        }
    }
    found
}

/// Some child of process `pid` (any of its threads' children), if it has one.
pub fn first_child(pid: u32) -> Option<u32> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    for t in tasks.flatten() {
        let children = fs::read_to_string(t.path().join("children")).unwrap_or_default();
        if let Some(c) = children
            .split_whitespace()
            .next()
            .and_then(|c| c.parse().ok())
        {
            return Some(c);
        }
    }
    None
}

/// The memory layout of process `pid` as `/proc/<pid>/stat` shows it: where its code, stack,
/// data, heap start, arguments and environment are (fields 26–28 and 45–51). Only an exec
/// replaces them (`prctl(PR_SET_MM)` is denied to the function), so a change says an exec
/// landed even when it ran the same program. `None` if unreadable, or hidden (the kernel
/// shows 1, 1, 0 and zeros when the supervisor may not look at that process's memory). A
/// layout whose code start is still 0 is one an exec is building (see [`layout_complete`]).
pub fn mm_layout(pid: u32) -> Option<[u64; 10]> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_mm_layout(&stat)
}

/// When process `pid` started, in clock ticks since boot (`/proc/<pid>/stat`, field 22).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    dec(stat_fields(&stat)?.get(22 - 3)?)
}

/// The fields of a `/proc/<pid>/stat` line from field 3 on. The name (field 2) is in
/// parentheses and may hold any byte: fields are counted after its closing one.
fn stat_fields(stat: &[u8]) -> Option<Vec<&[u8]>> {
    let close = stat.iter().rposition(|b| *b == b')')?;
    Some(
        stat[close + 1..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .collect(),
    )
}

/// The clock tick since boot that `at` fell in (the unit of [`start_ticks`]).
pub fn ticks_at(at: std::time::Instant) -> u64 {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let now_ns = (now.tv_sec as u128) * 1_000_000_000 + now.tv_nsec as u128;
    let ago = at.elapsed().as_nanos();
    let tick_ns = 1_000_000_000 / u128::from(rustix::param::clock_ticks_per_second().max(1));
    (now_ns.saturating_sub(ago) / tick_ns) as u64
}

fn parse_mm_layout(stat: &[u8]) -> Option<[u64; 10]> {
    let fields = stat_fields(stat)?;
    let mut out = [0u64; 10];
    for (slot, field) in out.iter_mut().zip([26, 27, 28, 45, 46, 47, 48, 49, 50, 51]) {
        *slot = dec(fields.get(field - 3)?)?;
    }
    // Without access, the kernel shows 1, 1, 0 and zeros.
    let hidden = out[0] == 1 && out[1] == 1 && out[2..].iter().all(|v| *v == 0);
    (!hidden).then_some(out)
}

/// Has an exec finished setting up this layout? The kernel switches a process to its new
/// memory first, and fills in where the code, arguments and environment are while it loads
/// the program, the code's start last: until then `/proc/<pid>/cmdline` is empty.
pub fn layout_complete(layout: &[u64; 10]) -> bool {
    layout[0] != 0
}

/// Whether the process `pid`, with one thread, has children: `None` when it cannot be told
/// (the kernel has no `children` files, or the process is gone).
pub fn has_children(pid: u32) -> Option<bool> {
    let children = fs::read(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    Some(children.iter().any(u8::is_ascii_digit))
}

/// Sends `SIGKILL` to a whole process.
pub fn kill_process(tgid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(tgid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_waiting_in_another_call_is_past_mmap_and_one_running_is_not() {
        let me = std::process::id();
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(rustix::thread::gettid().as_raw_nonzero().get() as u32);
            // Waits in a futex until told to stop.
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().expect("the thread's id");
        // Until it waits, it may still be running; then it is in a call other than mmap.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !past_mmap(me, tid) {
            assert!(std::time::Instant::now() < deadline, "never seen waiting");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let _ = stop_tx.send(());
        let _ = waiter.join();
        // Gone: whatever it mapped is over.
        assert!(past_mmap(me, tid));
        assert!(past_mmap(me, u32::MAX >> 1));
        // Running (spinning, or waiting for a CPU): it may still be on its way into a mapping.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, rx) = std::sync::mpsc::channel();
        let flag = stop.clone();
        let spinner = std::thread::spawn(move || {
            let _ = tx.send(rustix::thread::gettid().as_raw_nonzero().get() as u32);
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        });
        let tid = rx.recv().expect("the thread's id");
        for _ in 0..20 {
            assert!(
                !past_mmap(me, tid),
                "a spinning thread was taken as past mmap"
            );
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = spinner.join();
    }

    #[test]
    fn own_status_and_maps() {
        let me = std::process::id();
        let s = status(me).unwrap();
        assert_eq!(s.tgid, me);
        assert!(s.uids[0] != u32::MAX);
        let m = maps(me).unwrap();
        assert!(m.iter().any(|m| m.exec && !m.is_anonymous()));
    }

    #[test]
    fn status_fields_from_bytes() {
        let text = b"Name:\tw\xffeird: Tgid:\t9\nUmask:\t0027\nState:\tS (sleeping)\nTgid:\t4242\n\
Ngid:\t0\nPid:\t4243\nPPid:\t17\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\n\
Gid:\t5\t6\t7\t8\nFDSize:\t64\nGroups:\t5 27 100 \nVmPeak:\t  100 kB\nThreads:\t3\n\
CapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t0000000000000400\n\
CapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n";
        let s = parse_status(text).unwrap();
        assert_eq!(s.tgid, 4242, "the Tgid line, not the one inside the name");
        assert_eq!(s.ppid, 17);
        assert_eq!(s.uids, [1000, 1001, 1002, 1003]);
        assert_eq!(s.gids, [5, 6, 7, 8]);
        assert_eq!(s.groups, vec![5, 27, 100]);
        assert_eq!(s.umask, 0o027);
        assert_eq!(s.caps, [0x400, 0xa804_25fb]);
        assert!(parse_status(b"Name:\tx\nPid:\t3\n").is_err(), "no Tgid");
        let bad = parse_status(b"Tgid:\t3\nUid:\t1\tx\n").unwrap();
        assert_eq!(
            bad.uids,
            [1, u32::MAX, u32::MAX, u32::MAX],
            "unparsable ids never match"
        );
    }

    #[test]
    fn map_line_with_spaces_in_path() {
        let m =
            parse_map_line("7f00-7f10 r-xp 00000000 08:01 1234                       /tmp/a b.so")
                .unwrap();
        assert_eq!(m.path, "/tmp/a b.so");
        assert!(m.exec && !m.write);
        let a = parse_map_line("7f00-7f10 rw-p 00000000 00:00 0 ").unwrap();
        assert!(a.is_anonymous());
    }

    #[test]
    fn argv_read_in_chunks_across_a_page() {
        let me = std::process::id();
        let strings: Vec<std::ffi::CString> = (0..700)
            .map(|i| std::ffi::CString::new(format!("arg{i}")).unwrap())
            .collect();
        let mut ptrs: Vec<u64> = strings.iter().map(|s| s.as_ptr() as u64).collect();
        ptrs.push(0);
        // 701 pointers span at least one page boundary.
        let got = read_argv(&mut Mem::new(me), ptrs.as_ptr() as u64, 1000, 1 << 20);
        assert_eq!(got.len(), 700);
        assert_eq!(got[0], "arg0");
        assert_eq!(got[699], "arg699");
        // Unaligned start, and a cap on the count.
        let got = read_argv(&mut Mem::new(me), ptrs.as_ptr() as u64 + 8 * 3, 5, 1 << 20);
        assert_eq!(got, ["arg3", "arg4", "arg5", "arg6", "arg7", "…"]);
    }

    #[test]
    fn memory_layout_from_stat() {
        let own = mm_layout(std::process::id()).expect("own layout");
        assert!(own[0] > 1 && own[2] > 1, "{own:?}");
        // A name with spaces and parentheses; without access the kernel shows 1 1 0 and zeros.
        let mut line = b"42 (a) b (c) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 \
18446744073709551615"
            .to_vec();
        let visible = b" 4096 8192 140000 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 12288 16384 20480 \
140100 140200 140300 140400 0\n";
        let hidden = b" 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let mut shown = line.clone();
        shown.extend_from_slice(visible);
        assert_eq!(
            parse_mm_layout(&shown),
            Some([4096, 8192, 140000, 12288, 16384, 20480, 140100, 140200, 140300, 140400])
        );
        let mut building = line.clone();
        line.extend_from_slice(hidden);
        assert_eq!(parse_mm_layout(&line), None);
        assert_eq!(parse_mm_layout(b"42 (x) S 1"), None);
        // An exec that switched the memory and has not set it up yet: all zeros.
        building.extend_from_slice(b" 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n");
        let zeros = parse_mm_layout(&building).expect("shown");
        assert!(!layout_complete(&zeros));
        assert!(layout_complete(&own));
    }

    #[test]
    fn prefetched_path_and_argv_read_as_without() {
        let me = std::process::id();
        let path = std::ffi::CString::new("/usr/bin/env").unwrap();
        let strings: Vec<std::ffi::CString> = ["env", "-i", "true"]
            .iter()
            .map(|s| std::ffi::CString::new(*s).unwrap())
            .collect();
        let mut ptrs: Vec<u64> = strings.iter().map(|s| s.as_ptr() as u64).collect();
        ptrs.push(0);
        let (p, a) = (path.as_ptr() as u64, ptrs.as_ptr() as u64);
        for first in [p, 0, 8] {
            // An unreadable first address (NULL, or the first page) reads nothing ahead.
            let mut mem = Mem::new(me);
            mem.prefetch(&[first, a]);
            assert_eq!(mem.chunks.len(), usize::from(first == p) * 2, "{first:#x}");
            assert_eq!(mem.cstr(p, 4096).unwrap(), b"/usr/bin/env");
            assert_eq!(read_argv(&mut mem, a, 256, 1 << 20), ["env", "-i", "true"]);
            if first != p {
                assert!(mem.cstr(first, 4096).is_err());
            }
        }
    }

    #[test]
    fn status_with_a_name_that_is_not_utf8() {
        // A thread may name itself with any bytes (prctl PR_SET_NAME); its status must
        // still be read, or every watched call of it would fail.
        let t = std::thread::spawn(|| {
            let name = std::ffi::CStr::from_bytes_with_nul(b"\xff\xfeodd\0").unwrap();
            rustix::thread::set_name(name).unwrap();
            let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
            status(tid).map(|s| s.tgid)
        });
        assert_eq!(t.join().unwrap().unwrap(), std::process::id());
    }
}
