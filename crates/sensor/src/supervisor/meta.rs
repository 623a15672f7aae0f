//! Metadata changes, which are writes too: modes (a setuid bit), owners, extended attributes
//! (`security.capability` gives a file capabilities), times. The path-based calls are resolved
//! like any write and performed on the object the supervisor resolved (through its `O_PATH`
//! fd, so a path or symlink swapped afterwards changes nothing); the fd-based ones on the
//! process's own open file, duplicated.

use super::{Call, Reply, Supervisor, Verdict};
use crate::arch::Sys;
use crate::procfs;
use crate::resolve::{fd_path, Opts};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode as FMode, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// What a metadata call acts on.
enum Target {
    /// A file descriptor of the process.
    Fd(u64),
    /// A path: `dirfd`, pointer to the path, follow a symlink in the last component.
    Path(u64, u64, bool),
}

/// Largest extended attribute value copied (the kernel's limit is 64 KiB).
const XATTR_MAX: usize = 64 * 1024;

fn done(res: Result<(), Errno>) -> Reply {
    match res {
        Ok(()) => Reply::val(0),
        Err(e) => Reply::errno(e),
    }
}

fn magic(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

const UTIME_NOW: i64 = (1 << 30) - 1;

impl Supervisor<'_> {
    pub(super) fn on_meta(&mut self, c: &Call) -> Reply {
        match self.meta(c) {
            Ok(r) | Err(r) => r,
        }
    }

    fn meta(&mut self, c: &Call) -> Result<Reply, Reply> {
        use Sys::*;
        let a = c.args;
        let cwd = libc::AT_FDCWD as u64;
        let nofollow = |flags: u64| (flags as i32) & libc::AT_SYMLINK_NOFOLLOW == 0;
        let empty = |flags: u64| (flags as i32) & libc::AT_EMPTY_PATH != 0;
        let target = match c.sys {
            fchmod | fchown | fsetxattr | fremovexattr => Target::Fd(a[0]),
            chmod | chown | setxattr | removexattr | utime | utimes => {
                Target::Path(cwd, a[0], true)
            }
            lchown | lsetxattr | lremovexattr => Target::Path(cwd, a[0], false),
            fchmodat | futimesat => Target::Path(a[0], a[1], true),
            fchmodat2 => Target::Path(a[0], a[1], nofollow(a[3])),
            fchownat => Target::Path(a[0], a[1], nofollow(a[4])),
            utimensat if a[1] == 0 => Target::Fd(a[0]),
            utimensat => Target::Path(a[0], a[1], nofollow(a[3])),
            _ => return Ok(Reply::err(libc::ENOSYS)),
        };
        // The object (an fd of ours) and its path.
        let (obj, path, is_fd, is_symlink) = match target {
            Target::Fd(fd) => {
                let ours = self.getfd(c, fd).map_err(Reply::errno)?;
                let p = fd_path(ours.as_fd());
                (ours, p, true, false)
            }
            Target::Path(dirfd, ptr, follow) => {
                let raw = procfs::read_cstr(c.tid, ptr, libc::PATH_MAX as usize)
                    .map_err(|_| Reply::err(libc::EFAULT))?;
                let flags_arg = match c.sys {
                    fchmodat2 | utimensat => a[3],
                    fchownat => a[4],
                    _ => 0,
                };
                if raw.is_empty() && empty(flags_arg) {
                    let ours = self.getfd(c, dirfd).map_err(Reply::errno)?;
                    let p = fd_path(ours.as_fd());
                    (ours, p, true, false)
                } else {
                    let opts = Opts {
                        follow_last: follow,
                        ..Default::default()
                    };
                    let r = self.resolve_arg(c, dirfd, &raw, opts)?;
                    let is_link = r.file_type == Some(FileType::Symlink);
                    let obj = r.object.ok_or(Reply::err(libc::ENOENT))?;
                    (obj, r.path, false, is_link)
                }
            }
        };
        match self.write_decision(c, &path, 3) {
            Verdict::Allow => {}
            Verdict::Deny(e) => return Ok(Reply::err(e)),
            Verdict::Kill => return Ok(Reply::err(libc::EPERM)),
        }
        self.creds_for_fs(c)?;
        if !self.still_valid(c.id) {
            return Ok(Reply::err(libc::EINTR));
        }
        let res = match c.sys {
            chmod | fchmod | fchmodat | fchmodat2 => {
                let mode = FMode::from_raw_mode(
                    (a[if c.sys == fchmod || c.sys == chmod {
                        1
                    } else {
                        2
                    }] as u32)
                        & 0o7777,
                );
                if is_fd {
                    rfs::fchmod(&obj, mode)
                } else if is_symlink {
                    // Linux has no mode on symlinks.
                    Err(Errno::OPNOTSUPP)
                } else {
                    rfs::chmod(magic(&obj), mode)
                }
            }
            chown | fchown | lchown | fchownat => {
                let (u, g) = match c.sys {
                    fchownat => (a[2], a[3]),
                    _ => (a[1], a[2]),
                };
                let uid = (u as u32 != u32::MAX).then(|| rustix::fs::Uid::from_raw(u as u32));
                let gid = (g as u32 != u32::MAX).then(|| rustix::fs::Gid::from_raw(g as u32));
                if is_fd {
                    rfs::fchown(&obj, uid, gid)
                } else {
                    rfs::chownat(&obj, "", uid, gid, AtFlags::EMPTY_PATH)
                }
            }
            setxattr | lsetxattr | fsetxattr => {
                let name =
                    procfs::read_cstr(c.tid, a[1], 256).map_err(|_| Reply::err(libc::EFAULT))?;
                let size = (a[3] as usize).min(XATTR_MAX);
                let value = if size == 0 {
                    Vec::new()
                } else {
                    procfs::read_bytes(c.tid, a[2], size).map_err(|_| Reply::err(libc::EFAULT))?
                };
                let name = CString::new(name).map_err(|_| Reply::err(libc::EINVAL))?;
                let flags = XattrFlags::from_bits_retain(a[4] as u32);
                if is_fd {
                    rfs::fsetxattr(&obj, name.as_c_str(), &value, flags)
                } else if is_symlink {
                    Err(Errno::PERM)
                } else {
                    rfs::setxattr(magic(&obj), name.as_c_str(), &value, flags)
                }
            }
            removexattr | lremovexattr | fremovexattr => {
                let name =
                    procfs::read_cstr(c.tid, a[1], 256).map_err(|_| Reply::err(libc::EFAULT))?;
                let name = CString::new(name).map_err(|_| Reply::err(libc::EINVAL))?;
                if is_fd {
                    rfs::fremovexattr(&obj, name.as_c_str())
                } else if is_symlink {
                    Err(Errno::PERM)
                } else {
                    rfs::removexattr(magic(&obj), name.as_c_str())
                }
            }
            utime | utimes | utimensat | futimesat => {
                let times = self.read_times(c)?;
                if is_fd {
                    rfs::futimens(&obj, &times)
                } else if is_symlink {
                    rfs::utimensat(
                        &obj,
                        "",
                        &times,
                        AtFlags::EMPTY_PATH | AtFlags::SYMLINK_NOFOLLOW,
                    )
                } else {
                    rfs::utimensat(rfs::CWD, magic(&obj), &times, AtFlags::empty())
                }
            }
            _ => Err(Errno::NOSYS),
        };
        Ok(done(res))
    }

    /// The times argument of the utime family, as `utimensat` takes them (NULL: now).
    fn read_times(&self, c: &Call) -> Result<Timestamps, Reply> {
        let now = Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_NOW,
        };
        let (ptr, kind) = match c.sys {
            Sys::utime => (c.args[1], 0),
            Sys::utimes => (c.args[1], 1),
            Sys::futimesat => (c.args[2], 1),
            _ => (c.args[2], 2),
        };
        if ptr == 0 {
            return Ok(Timestamps {
                last_access: now,
                last_modification: now,
            });
        }
        let len = if kind == 0 { 16 } else { 32 };
        let b = procfs::read_bytes(c.tid, ptr, len).map_err(|_| Reply::err(libc::EFAULT))?;
        let i = |o: usize| i64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
        let ts = |sec: i64, nsec: i64| Timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        };
        Ok(match kind {
            // struct utimbuf { actime, modtime }
            0 => Timestamps {
                last_access: ts(i(0), 0),
                last_modification: ts(i(8), 0),
            },
            // struct timeval[2]
            1 => Timestamps {
                last_access: ts(i(0), i(8) * 1000),
                last_modification: ts(i(16), i(24) * 1000),
            },
            // struct timespec[2]
            _ => Timestamps {
                last_access: ts(i(0), i(8)),
                last_modification: ts(i(16), i(24)),
            },
        })
    }
}
