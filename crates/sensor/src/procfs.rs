//! What `/proc` says about a monitored process, and reading its memory.

use crate::sys;
use std::fs;
use std::io;

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

fn parse_ids(v: &str) -> [u32; 4] {
    let mut out = [u32::MAX; 4];
    for (i, f) in v.split_whitespace().take(4).enumerate() {
        out[i] = f.parse().unwrap_or(u32::MAX);
    }
    out
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
    let bytes = read_proc(&format!("/proc/{tid}/status"))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut s = Status {
        umask: 0o022,
        ..Default::default()
    };
    let mut have_tgid = false;
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k {
            "Tgid" => {
                s.tgid = v.parse().unwrap_or(0);
                have_tgid = s.tgid != 0;
            }
            "PPid" => s.ppid = v.parse().unwrap_or(0),
            "Uid" => s.uids = parse_ids(v),
            "Gid" => s.gids = parse_ids(v),
            "Groups" => {
                s.groups = v
                    .split_whitespace()
                    .filter_map(|g| g.parse().ok())
                    .collect()
            }
            "Umask" => s.umask = u32::from_str_radix(v, 8).unwrap_or(0o022),
            "CapEff" => s.caps[0] = u64::from_str_radix(v, 16).unwrap_or(u64::MAX),
            "CapPrm" => s.caps[1] = u64::from_str_radix(v, 16).unwrap_or(u64::MAX),
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
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < max {
        let to_page_end = (PAGE - (at % PAGE)) as usize;
        let want = to_page_end.min(max - out.len());
        let mut chunk = vec![0u8; want];
        let n = sys::read_mem(tid, at, &mut chunk)?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        if let Some(nul) = chunk[..n].iter().position(|b| *b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..n]);
        at += n as u64;
    }
    Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG))
}

/// Reads a NULL-terminated array of string pointers (argv) at `addr`: at most `max_args`
/// entries and `max_bytes` in total; a longer command line is cut and marked with `…`.
pub fn read_argv(tid: u32, addr: u64, max_args: usize, max_bytes: usize) -> Vec<String> {
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut total = 0;
    // Pointers are read a page (or what is left of max_args) at a time, not one by one.
    let mut ptrs: Vec<u64> = Vec::new();
    let mut next = 0;
    for i in 0..max_args {
        if next == ptrs.len() {
            let at = addr + 8 * i as u64;
            let want = ((PAGE - at % PAGE) as usize).min(8 * (max_args - i)).max(8);
            let mut raw = vec![0u8; want];
            let n = match sys::read_mem(tid, at, &mut raw) {
                Ok(n) if n >= 8 => n,
                _ => break,
            };
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
        let Ok(s) = read_cstr(tid, ptr, 4096) else {
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
    fn own_status_and_maps() {
        let me = std::process::id();
        let s = status(me).unwrap();
        assert_eq!(s.tgid, me);
        assert!(s.uids[0] != u32::MAX);
        let m = maps(me).unwrap();
        assert!(m.iter().any(|m| m.exec && !m.is_anonymous()));
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
        let got = read_argv(me, ptrs.as_ptr() as u64, 1000, 1 << 20);
        assert_eq!(got.len(), 700);
        assert_eq!(got[0], "arg0");
        assert_eq!(got[699], "arg699");
        // Unaligned start, and a cap on the count.
        let got = read_argv(me, ptrs.as_ptr() as u64 + 8 * 3, 5, 1 << 20);
        assert_eq!(got, ["arg3", "arg4", "arg5", "arg6", "arg7", "…"]);
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
