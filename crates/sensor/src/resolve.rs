//! Path resolution as the kernel would do it *for the monitored process*: against its root and
//! working directory (or a directory fd of its), following symlinks, `..`, and `/proc` magic
//! links, with `/proc/self` meaning the monitored process and not the supervisor.
//!
//! The walk goes component by component with `O_PATH|O_NOFOLLOW` opens, so the result pins the
//! directory that holds the last component: the supervisor then performs the operation
//! relative to that fd with `O_NOFOLLOW`, and what it checked is what it does, whatever
//! another thread renames or rewrites in the meantime.

use rustix::fs::{self as rfs, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::ffi::{CString, OsStr};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::OnceLock;

/// The most symlinks followed in one resolution (the kernel's limit).
const MAX_LINKS: u32 = 40;

/// Where a relative path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The process's working directory (`AT_FDCWD`).
    Cwd,
    /// A directory fd of the process.
    Fd(i32),
}

impl Start {
    /// From a syscall's `dirfd` argument.
    pub fn from_dirfd(dirfd: u64) -> Start {
        let fd = dirfd as i32;
        if fd == libc::AT_FDCWD {
            Start::Cwd
        } else {
            Start::Fd(fd)
        }
    }
}

/// How to resolve.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Follow a symlink in the last component.
    pub follow_last: bool,
    /// An empty path names the start fd itself (`AT_EMPTY_PATH`).
    pub empty_path: bool,
    /// `RESOLVE_BENEATH`: fail with `EXDEV` when leaving the start directory.
    pub beneath: bool,
    /// `RESOLVE_IN_ROOT`: the start directory acts as the root.
    pub in_root: bool,
    /// `RESOLVE_NO_SYMLINKS`.
    pub no_symlinks: bool,
    /// `RESOLVE_NO_MAGICLINKS`.
    pub no_magiclinks: bool,
}

/// The result of a resolution.
#[derive(Debug)]
pub struct Resolved {
    /// The directory holding the last component (pinned), when the object has a name in one.
    pub parent: Option<OwnedFd>,
    /// The last component, to be used relative to `parent` with `O_NOFOLLOW`.
    pub name: Option<CString>,
    /// The object itself (`O_PATH`), when it exists.
    pub object: Option<OwnedFd>,
    /// Its type, when it exists.
    pub file_type: Option<FileType>,
    /// Its identity `(dev, ino)`, when it exists.
    pub identity: Option<(u64, u64)>,
    /// The absolute path in the process's view, symlinks resolved.
    pub path: String,
    /// Reached through a `/proc` magic link (an fd of the process, its cwd, …).
    pub via_magic: bool,
    /// The processes whose `/proc` magic links the walk followed (`/proc/<pid>/fd/N`, `cwd`,
    /// `root`, `exe`, `map_files/…`, under `task/<tid>` too), by the directory holding the
    /// link, however it was reached (a `/proc/<pid>` directory fd of the process's, say); 0
    /// for one whose number could not be read. The supervisor follows them with its own
    /// reach, so the caller must check whose they are.
    pub proc_owners: Vec<u32>,
    /// The object's status, when the resolution took it anyway.
    pub stat: Option<rfs::Stat>,
}

fn id(fd: BorrowedFd<'_>) -> Result<(u64, u64), Errno> {
    let st = rfs::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

fn proc_root_id() -> Option<(u64, u64)> {
    static ID: OnceLock<Option<(u64, u64)>> = OnceLock::new();
    *ID.get_or_init(|| rfs::stat("/proc").ok().map(|st| (st.st_dev, st.st_ino)))
}

fn open_path(dir: BorrowedFd<'_>, name: &[u8], follow: bool) -> Result<OwnedFd, Errno> {
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    rfs::openat(dir, OsStr::from_bytes(name), flags, Mode::empty())
}

/// Runs `f` with this process's `/proc/self/fd` directory, opened once per process (a
/// forked child opens its own): a name in it is then one lookup, not four (`self` is a link
/// made up on every walk). `None` if it cannot be opened.
fn with_own_fds<R>(f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
    use std::sync::Mutex;
    static DIR: Mutex<Option<(rustix::process::Pid, OwnedFd)>> = Mutex::new(None);
    let me = rustix::process::getpid();
    let mut dir = DIR.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if dir.as_ref().is_none_or(|(pid, _)| *pid != me) {
        let fd = rfs::open(
            "/proc/self/fd",
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        *dir = Some((me, fd));
    }
    dir.as_ref().map(|(_, fd)| f(fd.as_fd()))
}

/// The path of an fd we hold, as the kernel names it (`readlink /proc/self/fd/N`).
pub fn fd_path(fd: BorrowedFd<'_>) -> String {
    use std::os::fd::AsRawFd;
    let name = fd.as_raw_fd().to_string();
    with_own_fds(|dir| rfs::readlinkat(dir, name.as_str(), Vec::new()))
        .and_then(Result::ok)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Opens what the fd `fd` we hold refers to again, with `flags` (as `open("/proc/self/fd/N")`
/// does: an `O_PATH` fd becomes a readable one, with the opener's permissions checked).
pub fn reopen(fd: BorrowedFd<'_>, flags: OFlags) -> Result<OwnedFd, Errno> {
    use std::os::fd::AsRawFd;
    let name = fd.as_raw_fd().to_string();
    with_own_fds(|dir| rfs::openat(dir, name.as_str(), flags, Mode::empty()))
        .unwrap_or(Err(Errno::NOENT))
}

/// The pid of a `/proc/<pid>/…` path (in the supervisor's view).
pub fn proc_pid_of(path: &str) -> Option<u32> {
    let mut parts = path.trim_start_matches('/').split('/');
    (parts.next() == Some("proc"))
        .then(|| parts.next()?.parse().ok())
        .flatten()
}

fn join(dir: &str, name: &[u8]) -> String {
    let name = String::from_utf8_lossy(name);
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Strips the process's root prefix (normally `/`, so nothing) from a supervisor-view path.
fn in_view(path: String, root_prefix: &str) -> String {
    if root_prefix == "/" || root_prefix.is_empty() {
        return path;
    }
    match path.strip_prefix(root_prefix) {
        Some("") => "/".to_string(),
        Some(rest) if rest.starts_with('/') => rest.to_string(),
        _ => path,
    }
}

/// `(device, inode, mount id)` of a directory: two roots are the same only if all three are
/// (a bind mount of `/` shares the inode but not the mounts below it).
fn root_id(path: &str) -> Option<(u64, u64, u64)> {
    use rustix::fs::{statx, AtFlags, StatxFlags};
    let st = statx(
        rfs::CWD,
        path,
        AtFlags::empty(),
        StatxFlags::INO | StatxFlags::MNT_ID,
    )
    .ok()?;
    if st.stx_mask & StatxFlags::MNT_ID.bits() == 0 {
        return None;
    }
    Some((
        rustix::fs::makedev(st.stx_dev_major, st.stx_dev_minor),
        st.stx_ino,
        st.stx_mnt_id,
    ))
}

/// Whether thread `tid`'s root directory is the supervisor's (same directory in the same
/// mount).
pub fn same_root(tid: u32) -> bool {
    static OUR_ROOT: OnceLock<Option<(u64, u64, u64)>> = OnceLock::new();
    let Some(ours) = *OUR_ROOT.get_or_init(|| root_id("/")) else {
        return false;
    };
    root_id(&format!("/proc/{tid}/root")) == Some(ours)
}

/// How [`resolve_object`] learns that the process's root is the supervisor's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootCheck {
    /// Known already: the first process's root was checked, and no process can change its
    /// root (chroot, pivot_root, setns and unshare are denied).
    Known,
    /// Checked at each call.
    EachCall,
}

/// The kernel's own walk, for an object that needs no pinned parent (the program of an exec,
/// an interpreter): `openat2` from the process's working directory (or the root, for an
/// absolute path) with `RESOLVE_NO_MAGICLINKS`. It stands for the process's walk only when
/// the process's root is the supervisor's and nothing on the way can mean something else for
/// the process than for the supervisor: `/proc/self` can, so an object found in `/proc`, and
/// every magic link (refused by the flag), go to [`resolve`]. So does every error, for the
/// exact errno. `None`: use [`resolve`].
fn resolve_fast(
    tid: u32,
    start: Start,
    path: &[u8],
    opts: Opts,
    root: RootCheck,
    known_name: impl FnOnce(&rfs::Stat) -> Option<String>,
) -> Option<Resolved> {
    if path.is_empty()
        || start != Start::Cwd
        || opts.empty_path
        || opts.beneath
        || opts.in_root
        || opts.no_symlinks
        || opts.no_magiclinks
    {
        return None;
    }
    if root == RootCheck::EachCall && !same_root(tid) {
        return None;
    }
    let mut flags = OFlags::PATH | OFlags::CLOEXEC;
    if !opts.follow_last {
        flags |= OFlags::NOFOLLOW;
    }
    let how = rfs::ResolveFlags::NO_MAGICLINKS;
    let p = OsStr::from_bytes(path);
    let obj = if path.first() == Some(&b'/') {
        rfs::openat2(rfs::CWD, p, flags, Mode::empty(), how).ok()?
    } else {
        let cwd = rfs::open(
            format!("/proc/{tid}/cwd"),
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        rfs::openat2(&cwd, p, flags, Mode::empty(), how).ok()?
    };
    let st = rfs::fstat(&obj).ok()?;
    if proc_root_id().is_some_and(|p| p.0 == st.st_dev) {
        return None;
    }
    let path = known_name(&st).unwrap_or_else(|| fd_path(obj.as_fd()));
    if path.is_empty() {
        return None;
    }
    Some(Resolved {
        parent: None,
        name: None,
        file_type: Some(FileType::from_raw_mode(st.st_mode)),
        identity: Some((st.st_dev, st.st_ino)),
        object: Some(obj),
        path,
        via_magic: false,
        proc_owners: Vec::new(),
        stat: Some(st),
    })
}

/// Resolves `path` to the object it names, for a caller that only needs the object (its
/// identity, type and path), not a pinned parent directory: the kernel's own walk when it is
/// the same as the process's (see [`resolve_fast`]), else [`resolve`]. `parent` and `name`
/// may be `None` even when the object has a name in a directory.
///
/// `known_name`, given the status of the object the kernel's walk found, may name it from
/// what the caller learned before (the name the kernel gave the same file found by the same
/// path); `None` asks the kernel (`readlink` of the descriptor, the dearest part of the walk).
pub fn resolve_object(
    tid: u32,
    tgid: u32,
    start: Start,
    path: &[u8],
    opts: Opts,
    root: RootCheck,
    known_name: impl FnOnce(&rfs::Stat) -> Option<String>,
) -> Result<Resolved, Errno> {
    match resolve_fast(tid, start, path, opts, root, known_name) {
        Some(r) => Ok(r),
        None => resolve(tid, tgid, start, path, opts),
    }
}

/// Resolves `path` for thread `tid` of process `tgid`.
pub fn resolve(
    tid: u32,
    tgid: u32,
    start: Start,
    path: &[u8],
    opts: Opts,
) -> Result<Resolved, Errno> {
    let root = rfs::open(
        format!("/proc/{tid}/root"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let root_prefix = std::fs::read_link(format!("/proc/{tid}/root"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".to_string());
    let start_fd = || -> Result<OwnedFd, Errno> {
        let p = match start {
            Start::Cwd => format!("/proc/{tid}/cwd"),
            Start::Fd(fd) if fd < 0 => return Err(Errno::BADF),
            Start::Fd(fd) => format!("/proc/{tid}/fd/{fd}"),
        };
        // Opening the magic link follows it to the process's own directory (or file).
        rfs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
            if e == Errno::NOENT && matches!(start, Start::Fd(_)) {
                Errno::BADF
            } else {
                e
            }
        })
    };

    if path.is_empty() {
        if !opts.empty_path {
            return Err(Errno::NOENT);
        }
        let obj = start_fd()?;
        let st = rfs::fstat(&obj)?;
        let p = in_view(fd_path(obj.as_fd()), &root_prefix);
        return Ok(Resolved {
            parent: None,
            name: None,
            file_type: Some(FileType::from_raw_mode(st.st_mode)),
            identity: Some((st.st_dev, st.st_ino)),
            object: Some(obj),
            path: p,
            via_magic: true,
            proc_owners: Vec::new(),
            stat: None,
        });
    }

    let absolute = path.first() == Some(&b'/');
    let mut cur = if absolute {
        if opts.beneath {
            return Err(Errno::XDEV);
        }
        if opts.in_root {
            start_fd()?
        } else {
            rfs::openat(&root, ".", OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?
        }
    } else {
        let s = start_fd()?;
        if !rfs::fstat(&s).map(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)? {
            return Err(Errno::NOTDIR);
        }
        s
    };
    // The top a `..` cannot go above: the root, or the start directory for in_root/beneath.
    let top = if opts.in_root || opts.beneath {
        id(start_fd()?.as_fd())?
    } else {
        id(root.as_fd())?
    };
    let trailing_slash = path.last() == Some(&b'/');
    let mut comps: VecDeque<Vec<u8>> = path
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut links = 0u32;
    let mut via_magic = false;
    let mut proc_owners: Vec<u32> = Vec::new();

    while let Some(comp) = comps.pop_front() {
        let is_last = comps.is_empty();
        if comp == b"." {
            continue;
        }
        if comp == b".." {
            if id(cur.as_fd())? == top {
                if opts.beneath {
                    return Err(Errno::XDEV);
                }
                continue;
            }
            cur = open_path(cur.as_fd(), b"..", false)?;
            continue;
        }
        if Some(id(cur.as_fd())?) == proc_root_id() {
            let sub: Option<Vec<Vec<u8>>> = match comp.as_slice() {
                b"self" => Some(vec![tgid.to_string().into_bytes()]),
                b"thread-self" => Some(vec![
                    tgid.to_string().into_bytes(),
                    b"task".to_vec(),
                    tid.to_string().into_bytes(),
                ]),
                _ => None,
            };
            if let Some(sub) = sub {
                for c in sub.into_iter().rev() {
                    comps.push_front(c);
                }
                continue;
            }
        }
        let fd = match open_path(cur.as_fd(), &comp, false) {
            Ok(fd) => fd,
            Err(Errno::NOENT) if is_last => {
                let parent_path = in_view(fd_path(cur.as_fd()), &root_prefix);
                return Ok(Resolved {
                    path: join(&parent_path, &comp),
                    name: Some(CString::new(comp).map_err(|_| Errno::INVAL)?),
                    parent: Some(cur),
                    object: None,
                    file_type: None,
                    identity: None,
                    via_magic,
                    proc_owners,
                    stat: None,
                });
            }
            Err(e) => return Err(e),
        };
        let st = rfs::fstat(&fd)?;
        let ft = FileType::from_raw_mode(st.st_mode);
        if ft == FileType::Symlink && (!is_last || opts.follow_last || trailing_slash) {
            if opts.no_symlinks {
                return Err(Errno::LOOP);
            }
            links += 1;
            if links > MAX_LINKS {
                return Err(Errno::LOOP);
            }
            let text = rfs::readlinkat(&cur, OsStr::from_bytes(&comp), Vec::new())?.into_bytes();
            let in_proc = rfs::fstat(&cur)?.st_dev == proc_root_id().map_or(u64::MAX, |p| p.0);
            let plain_relative =
                text.first() != Some(&b'/') && !text.windows(2).any(|w| w == b":[");
            if in_proc && !plain_relative {
                // A magic link (an fd, cwd, root or exe of a process): let the kernel follow
                // it, as it would for the process itself.
                if opts.no_magiclinks {
                    return Err(Errno::LOOP);
                }
                via_magic = true;
                proc_owners.push(proc_pid_of(&fd_path(cur.as_fd())).unwrap_or(0));
                let obj = open_path(cur.as_fd(), &comp, true)?;
                if is_last {
                    let st = rfs::fstat(&obj)?;
                    return Ok(Resolved {
                        path: in_view(fd_path(obj.as_fd()), &root_prefix),
                        parent: None,
                        name: None,
                        file_type: Some(FileType::from_raw_mode(st.st_mode)),
                        identity: Some((st.st_dev, st.st_ino)),
                        object: Some(obj),
                        via_magic,
                        proc_owners,
                        stat: None,
                    });
                }
                cur = obj;
                continue;
            }
            if text.first() == Some(&b'/') {
                if opts.beneath {
                    return Err(Errno::XDEV);
                }
                cur = if opts.in_root {
                    start_fd()?
                } else {
                    rfs::openat(&root, ".", OFlags::PATH | OFlags::CLOEXEC, Mode::empty())?
                };
            }
            let mut new: Vec<Vec<u8>> = text
                .split(|b| *b == b'/')
                .filter(|c| !c.is_empty())
                .map(<[u8]>::to_vec)
                .collect();
            if new.is_empty() {
                new.push(b".".to_vec());
            }
            for c in new.into_iter().rev() {
                comps.push_front(c);
            }
            continue;
        }
        if is_last {
            if trailing_slash && ft != FileType::Directory {
                return Err(Errno::NOTDIR);
            }
            let parent_path = in_view(fd_path(cur.as_fd()), &root_prefix);
            return Ok(Resolved {
                path: join(&parent_path, &comp),
                name: Some(CString::new(comp).map_err(|_| Errno::INVAL)?),
                parent: Some(cur),
                file_type: Some(ft),
                identity: Some((st.st_dev, st.st_ino)),
                object: Some(fd),
                via_magic,
                proc_owners,
                stat: None,
            });
        }
        if ft != FileType::Directory {
            return Err(Errno::NOTDIR);
        }
        cur = fd;
    }
    // The path ended in `.`, `..` or named the root: the object is the directory itself.
    let st = rfs::fstat(&cur)?;
    Ok(Resolved {
        path: in_view(fd_path(cur.as_fd()), &root_prefix),
        parent: None,
        name: None,
        file_type: Some(FileType::from_raw_mode(st.st_mode)),
        identity: Some((st.st_dev, st.st_ino)),
        object: Some(cur),
        via_magic,
        proc_owners,
        stat: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn me() -> (u32, u32) {
        let tid = rustix::thread::gettid().as_raw_nonzero().get() as u32;
        (tid, std::process::id())
    }

    #[test]
    fn symlinks_dotdot_and_missing_last() {
        let dir = std::env::temp_dir().join(format!("vigil-resolve-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/f"), "x").unwrap();
        symlink(dir.join("a/b"), dir.join("link")).unwrap();
        symlink("b/f", dir.join("a/rel")).unwrap();
        let dir_s = std::fs::canonicalize(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let (tid, tgid) = me();
        let follow = Opts {
            follow_last: true,
            ..Default::default()
        };

        let p = format!("{}/link/../b/./f", dir.display());
        let r = resolve(tid, tgid, Start::Cwd, p.as_bytes(), follow).unwrap();
        // `..` after a symlink goes to the physical parent, as in the kernel.
        assert_eq!(r.path, format!("{dir_s}/a/b/f"));
        assert!(r.object.is_some());

        let p = format!("{}/a/rel", dir.display());
        let r = resolve(tid, tgid, Start::Cwd, p.as_bytes(), follow).unwrap();
        assert_eq!(r.path, format!("{dir_s}/a/b/f"));
        let r = resolve(tid, tgid, Start::Cwd, p.as_bytes(), Opts::default()).unwrap();
        assert_eq!(
            r.path,
            format!("{dir_s}/a/rel"),
            "the link itself when not following"
        );
        assert_eq!(r.file_type, Some(FileType::Symlink));

        let p = format!("{}/link/new", dir.display());
        let r = resolve(tid, tgid, Start::Cwd, p.as_bytes(), follow).unwrap();
        assert_eq!(r.path, format!("{dir_s}/a/b/new"));
        assert!(r.object.is_none() && r.parent.is_some());

        let p = format!("{}/missing/new", dir.display());
        assert_eq!(
            resolve(tid, tgid, Start::Cwd, p.as_bytes(), follow).unwrap_err(),
            Errno::NOENT
        );
        let p = format!("{}/a/b/f/x", dir.display());
        assert_eq!(
            resolve(tid, tgid, Start::Cwd, p.as_bytes(), follow).unwrap_err(),
            Errno::NOTDIR
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The kernel's walk stands in for the process's only where the two agree: `/proc/self`,
    /// magic links and the working directory are the other process's, not the supervisor's.
    #[test]
    fn quick_resolution_is_the_other_process_walk() {
        let dir = std::env::temp_dir().join(format!("vigil-resolve-quick-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/prog"), "x").unwrap();
        symlink("sub/prog", dir.join("rel-link")).unwrap();
        symlink(dir.join("sub"), dir.join("abs-link")).unwrap();
        let dir_s = std::fs::canonicalize(&dir)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(&dir)
            .stdin(std::fs::File::open(dir.join("sub/prog")).unwrap())
            .spawn()
            .unwrap();
        let pid = child.id();
        let sleep = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
        let follow = Opts {
            follow_last: true,
            ..Default::default()
        };
        let both = |path: &[u8], opts: Opts| {
            let quick = resolve_object(
                pid,
                pid,
                Start::Cwd,
                path,
                opts,
                RootCheck::EachCall,
                |_| None,
            );
            let walk = resolve(pid, pid, Start::Cwd, path, opts);
            (quick, walk)
        };
        for (path, want) in [
            (&b"rel-link"[..], format!("{dir_s}/sub/prog")),
            (b"abs-link/prog", format!("{dir_s}/sub/prog")),
            (b"sub/../sub/./prog", format!("{dir_s}/sub/prog")),
            (b"/proc/self/exe", sleep.to_string_lossy().into_owned()),
            (b"/proc/self/cwd/sub/prog", format!("{dir_s}/sub/prog")),
            (b"/dev/stdin", format!("{dir_s}/sub/prog")),
        ] {
            let (quick, walk) = both(path, follow);
            let (quick, walk) = (quick.unwrap(), walk.unwrap());
            let shown = String::from_utf8_lossy(path);
            assert_eq!(quick.path, want, "{shown}");
            assert_eq!(quick.path, walk.path, "{shown}");
            assert_eq!(quick.identity, walk.identity, "{shown}");
        }
        // The kernel's walk is used where it is the process's, and only there.
        let quick = |path: &[u8]| {
            resolve_fast(pid, Start::Cwd, path, follow, RootCheck::EachCall, |_| None)
        };
        assert!(quick(b"rel-link").is_some() && quick(b"abs-link/prog").is_some());
        for through_proc in [
            &b"/proc/self/exe"[..],
            b"/proc/self/cwd/sub/prog",
            b"/dev/stdin",
        ] {
            assert!(
                quick(through_proc).is_none(),
                "{}",
                String::from_utf8_lossy(through_proc)
            );
        }
        // Not following the last link: the link itself, as the walk says.
        let (quick, walk) = both(b"rel-link", Opts::default());
        assert_eq!(quick.unwrap().file_type, Some(FileType::Symlink));
        assert_eq!(walk.unwrap().file_type, Some(FileType::Symlink));
        // Errors are the walk's.
        let (quick, walk) = both(b"sub/prog/x", follow);
        assert_eq!(quick.unwrap_err(), walk.unwrap_err());
        let (quick, _) = both(b"missing", follow);
        assert!(
            quick.is_ok_and(|r| r.object.is_none()),
            "a missing name is the walk's answer"
        );
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn proc_self_is_the_monitored_process() {
        let (tid, tgid) = me();
        // Pretend a process with our tid/tgid; /proc/self must become /proc/<tgid>.
        let r = resolve(
            tid,
            tgid,
            Start::Cwd,
            b"/proc/self/status",
            Opts {
                follow_last: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(r.path, format!("/proc/{tgid}/status"));
    }
}
