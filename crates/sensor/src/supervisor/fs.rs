//! Filesystem writes: opens for writing, and the calls that create, replace or remove names
//! (`rename`, `link`, `symlink`, `unlink`, `mkdir`, `mknod`, `truncate`) — "another syscall
//! doing the same thing" as a write.
//!
//! Each is resolved in the process's view, checked, and performed by the supervisor relative
//! to the directory fd it resolved, with `O_NOFOLLOW` on the last component; the resulting fd
//! of an open is installed in the process with `SECCOMP_IOCTL_NOTIF_ADDFD`. So a path or
//! symlink changed after the check cannot redirect the write. This requires the process's
//! filesystem credentials to be the supervisor's (the kernel then checks permissions exactly
//! as for the process); otherwise the call is denied and reported.

use super::net::with_umask;
use super::report::{Activity, Decision, Obs};
use super::{Call, Reply, Supervisor, Verdict};
use crate::arch::Sys;
use crate::procfs;
use crate::resolve::{proc_pid_of, resolve, Opts, Resolved, Start};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode as FMode, OFlags, RenameFlags};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use vigil_events::{Outcome, Severity};
use vigil_policy::Section;

/// Character devices any program may write without a policy entry.
const HARMLESS_DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/urandom",
    "/dev/random",
];

/// [`HARMLESS_DEVICES`] and terminals (`/dev/pts/N`).
fn harmless_device(path: &str) -> bool {
    HARMLESS_DEVICES.contains(&path)
        || path
            .strip_prefix("/dev/pts/")
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// Objects that are not files in a directory: reopening one the process already has is not a
/// filesystem write.
fn is_anonymous_object(path: &str) -> bool {
    ["pipe:[", "socket:[", "anon_inode:"]
        .iter()
        .any(|p| path.starts_with(p))
}

fn is_proc_mem(path: &str) -> bool {
    let mut parts = path.trim_start_matches('/').split('/');
    parts.next() == Some("proc") && {
        let rest: Vec<&str> = parts.collect();
        matches!(rest.as_slice(), [_, "mem"] | [_, "task", _, "mem"])
    }
}

/// `/proc/<pid>/…` of one of `pids`.
fn under_proc_of(path: &str, pids: &[u32]) -> bool {
    proc_pid_of(path).is_some_and(|p| pids.contains(&p))
}

impl Supervisor<'_> {
    /// Decides on a write to `path` (resolved). `activity` is the OCSF File System activity.
    pub(super) fn write_decision(&mut self, c: &Call, path: &str, activity: u32) -> Verdict {
        if under_proc_of(path, &self.cfg.protected) {
            self.stats.denied += 1;
            self.report_incident(
                c,
                "tamper.supervisor",
                format!("Attempt to write {path}, a file of the Vigil supervisor"),
                Severity::Critical,
                Outcome::Blocked,
            );
            return Verdict::Deny(libc::EACCES);
        }
        if is_anonymous_object(path) || harmless_device(path) {
            return Verdict::Allow;
        }
        let mem = is_proc_mem(path);
        if mem && !self.cfg.policy.allows_write(path) {
            // Writing process memory through /proc defeats every executable-memory check:
            // denied in every mode, like the hardening set, unless the policy names it.
            self.stats.denied += 1;
            self.report_incident(
                c,
                "files.write.proc_mem",
                format!("Write access to process memory through {path} (code injection) denied"),
                Severity::Critical,
                Outcome::Blocked,
            );
            return Verdict::Deny(libc::EACCES);
        }
        let d = Decision {
            allowed: self.cfg.policy.allows_write(path),
            section: Section::Files,
            errno: libc::EACCES,
            rule: "files.write",
            title: format!("Write to {path} is not allowed by the policy"),
            severity: Severity::Medium,
            obs: Some(Obs::Write(path.to_string())),
            activity: Activity::File {
                activity,
                path: path.to_string(),
            },
            always: false,
        };
        self.decide(c, d)
    }

    /// Writing a device other than the harmless ones (a block device is every file of its
    /// filesystem): allowed only when `files.write` names the device by its exact path, not
    /// through a glob such as `/tmp/**` (where a device node may have been left).
    fn device_write_decision(&mut self, c: &Call, path: &str) -> Verdict {
        let named = self
            .cfg
            .policy
            .files
            .write
            .iter()
            .any(|p| p.is_exact() && p.as_str() == path);
        let d = Decision {
            allowed: named,
            section: Section::Files,
            errno: libc::EACCES,
            rule: "files.write.device",
            title: format!(
                "Write to the device {path} is not allowed: files.write must name it exactly"
            ),
            severity: Severity::High,
            obs: Some(Obs::Write(path.to_string())),
            activity: Activity::File {
                activity: 3,
                path: path.to_string(),
            },
            always: false,
        };
        self.decide(c, d)
    }

    /// The process's status if the supervisor may act on its behalf (same filesystem
    /// credentials); otherwise the reply that denies the call.
    pub(super) fn creds_for_fs(&mut self, c: &Call) -> Result<procfs::Status, Reply> {
        let st = procfs::status(c.tid).map_err(|_| Reply::err(libc::ESRCH))?;
        if self.same_creds(&st) {
            return Ok(st);
        }
        self.stats.denied += 1;
        self.report_incident(
            c,
            "sensor.credentials",
            format!(
                "Denied {}: the process changed its credentials (fsuid {}), and the supervisor cannot perform the call as that user",
                c.sys.name(),
                st.uids[3]
            ),
            Severity::Medium,
            Outcome::Blocked,
        );
        Err(Reply::err(libc::EACCES))
    }

    fn read_path(&self, c: &Call, ptr: u64) -> Result<Vec<u8>, Reply> {
        procfs::read_cstr(c.tid, ptr, libc::PATH_MAX as usize).map_err(|e| {
            Reply::err(if e.raw_os_error() == Some(libc::ENAMETOOLONG) {
                libc::ENAMETOOLONG
            } else {
                libc::EFAULT
            })
        })
    }

    /// Resolves a path argument of the caller, refusing what reaches into another process's
    /// `/proc` entries (see [`Supervisor::proc_reach`]).
    pub(super) fn resolve_arg(
        &mut self,
        c: &Call,
        dirfd: u64,
        path: &[u8],
        opts: Opts,
    ) -> Result<Resolved, Reply> {
        let r =
            resolve(c.tid, c.tgid, Start::from_dirfd(dirfd), path, opts).map_err(Reply::errno)?;
        if self.proc_reach(c, &r) {
            Ok(r)
        } else {
            Err(Reply::err(libc::EACCES))
        }
    }

    /// The supervisor resolves and acts with its own reach: `/proc` entries of processes that
    /// are not the function's (the supervisor's among them) must stay out of it, as the kernel
    /// and Landlock keep them from the function. Both the object (`/proc/<pid>/environ`) and
    /// every magic link followed on the way (`/proc/<pid>/fd/N`, `cwd`, `root`, reached by any
    /// path or directory fd) count. False, with a finding, when one is not the function's.
    pub(super) fn proc_reach(&mut self, c: &Call, r: &Resolved) -> bool {
        let outsider = r
            .proc_owners
            .iter()
            .copied()
            .chain(proc_pid_of(&r.path))
            .find(|&pid| pid == 0 || !self.is_monitored(pid));
        let Some(pid) = outsider else {
            return true;
        };
        self.stats.denied += 1;
        self.report_incident(
            c,
            "tamper.proc",
            format!(
                "Access to {} refused: it goes through /proc/{pid}, not a process of the function",
                r.path
            ),
            Severity::High,
            Outcome::Blocked,
        );
        false
    }

    pub(super) fn on_open(&mut self, c: &Call) -> Reply {
        let a = c.args;
        let (dirfd, path_ptr, flags, mode, how_resolve) = match c.sys {
            Sys::open => (libc::AT_FDCWD as u64, a[0], a[1] as i32, a[2] as u32, 0u64),
            Sys::creat => (
                libc::AT_FDCWD as u64,
                a[0],
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC,
                a[1] as u32,
                0,
            ),
            Sys::openat2 => {
                let size = a[3] as usize;
                if size < 24 {
                    return Reply::err(libc::EINVAL);
                }
                let Ok(how) = procfs::read_bytes(c.tid, a[2], 24) else {
                    return Reply::err(libc::EFAULT);
                };
                let u = |i: usize| u64::from_le_bytes(how[i..i + 8].try_into().unwrap_or([0; 8]));
                (a[0], a[1], u(0) as i32, u(8) as u32, u(16))
            }
            _ => (a[0], a[1], a[2] as i32, a[3] as u32, 0),
        };
        let path = match self.read_path(c, path_ptr) {
            Ok(p) => p,
            Err(r) => return r,
        };
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let tmpfile = flags & libc::O_TMPFILE == libc::O_TMPFILE;
        let excl_create = flags & libc::O_CREAT != 0 && flags & libc::O_EXCL != 0;
        const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
        const RESOLVE_NO_SYMLINKS: u64 = 0x04;
        const RESOLVE_BENEATH: u64 = 0x08;
        const RESOLVE_IN_ROOT: u64 = 0x10;
        let opts = Opts {
            follow_last: flags & libc::O_NOFOLLOW == 0 && !excl_create,
            empty_path: false,
            beneath: how_resolve & RESOLVE_BENEATH != 0,
            in_root: how_resolve & RESOLVE_IN_ROOT != 0,
            no_symlinks: how_resolve & RESOLVE_NO_SYMLINKS != 0,
            no_magiclinks: how_resolve & RESOLVE_NO_MAGICLINKS != 0,
        };
        let r = match self.resolve_arg(c, dirfd, &path, opts) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        let write = flags & libc::O_PATH == 0
            && flags & (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) != 0;
        if write {
            if excl_create && r.object.is_some() {
                return Reply::err(libc::EEXIST);
            }
            if r.object.is_none() && flags & libc::O_CREAT == 0 {
                return Reply::err(libc::ENOENT);
            }
            if r.file_type == Some(FileType::Directory) && !tmpfile {
                return Reply::err(libc::EISDIR);
            }
            if on_read_only_fs(&r) {
                // The kernel refuses it anyway (e.g. Python's bytecode cache under a read-only
                // /var/task): not a violation, and nothing to learn.
                return Reply::err(libc::EROFS);
            }
            let device = matches!(
                r.file_type,
                Some(FileType::BlockDevice | FileType::CharacterDevice)
            );
            if device && !harmless_device(&r.path) {
                match self.device_write_decision(c, &r.path) {
                    Verdict::Allow => {}
                    Verdict::Deny(e) => return Reply::err(e),
                    Verdict::Kill => return Reply::err(libc::EPERM),
                }
            }
            let activity = if r.object.is_some() { 3 } else { 1 };
            match self.write_decision(c, &r.path, activity) {
                Verdict::Allow => {}
                Verdict::Deny(e) => return Reply::err(e),
                Verdict::Kill => return Reply::err(libc::EPERM),
            }
        }
        let st = match self.creds_for_fs(c) {
            Ok(st) => st,
            Err(reply) => return reply,
        };
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let oflags =
            OFlags::from_bits_retain(((flags | libc::O_CLOEXEC) & !libc::O_NOFOLLOW) as u32);
        let mode = FMode::from_raw_mode(mode & 0o7777);
        let opened = with_umask(Some(st.umask), || open_resolved(&r, oflags, mode));
        match opened {
            Ok(fd) => Reply::AddFd { fd, cloexec },
            Err(e) => Reply::errno(e),
        }
    }

    pub(super) fn on_path_op(&mut self, c: &Call) -> Reply {
        match self.path_op(c) {
            Ok(r) | Err(r) => r,
        }
    }

    /// Checked after the decision, right before the supervisor acts for the process: an
    /// interrupted call must not take effect (it will be restarted or fail with EINTR).
    fn pending_or_eintr(&self, c: &Call) -> Result<(), Reply> {
        if self.still_valid(c.id) {
            Ok(())
        } else {
            Err(Reply::err(libc::EINTR))
        }
    }

    fn path_op(&mut self, c: &Call) -> Result<Reply, Reply> {
        let a = c.args;
        let cwd = libc::AT_FDCWD as u64;
        let nofollow = Opts::default();
        let follow = Opts {
            follow_last: true,
            ..Default::default()
        };
        match c.sys {
            Sys::truncate => {
                let p = self.read_path(c, a[0])?;
                let r = self.resolve_arg(c, cwd, &p, follow)?;
                match r.file_type {
                    None => return Ok(Reply::err(libc::ENOENT)),
                    Some(FileType::Directory) => return Ok(Reply::err(libc::EISDIR)),
                    Some(FileType::RegularFile) => {}
                    Some(_) => return Ok(Reply::err(libc::EINVAL)),
                }
                if on_read_only_fs(&r) {
                    return Ok(Reply::err(libc::EROFS));
                }
                self.allow_write(c, &r.path, 3)?;
                self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let fd = open_resolved(
                    &r,
                    OFlags::WRONLY | OFlags::CLOEXEC | OFlags::NONBLOCK,
                    FMode::empty(),
                )
                .map_err(Reply::errno)?;
                Ok(match rfs::ftruncate(&fd, a[1]) {
                    Ok(()) => Reply::val(0),
                    Err(e) => Reply::errno(e),
                })
            }
            Sys::rename | Sys::renameat | Sys::renameat2 => {
                let (od, op, nd, np, fl) = match c.sys {
                    Sys::rename => (cwd, a[0], cwd, a[1], 0),
                    Sys::renameat => (a[0], a[1], a[2], a[3], 0),
                    _ => (a[0], a[1], a[2], a[3], a[4] as u32),
                };
                let (old_p, new_p) = (self.read_path(c, op)?, self.read_path(c, np)?);
                let old = self.resolve_arg(c, od, &old_p, nofollow)?;
                let new = self.resolve_arg(c, nd, &new_p, nofollow)?;
                if old.object.is_none() {
                    return Ok(Reply::err(libc::ENOENT));
                }
                if on_read_only_fs(&old) || on_read_only_fs(&new) {
                    return Ok(Reply::err(libc::EROFS));
                }
                self.allow_write(c, &old.path, 5)?;
                self.allow_write(c, &new.path, 5)?;
                self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let (Some(opar), Some(oname), Some(npar), Some(nname)) =
                    (&old.parent, &old.name, &new.parent, &new.name)
                else {
                    return Ok(Reply::err(libc::EBUSY));
                };
                Ok(done(rfs::renameat_with(
                    opar,
                    oname.as_c_str(),
                    npar,
                    nname.as_c_str(),
                    RenameFlags::from_bits_retain(fl),
                )))
            }
            Sys::link | Sys::linkat => {
                let (od, op, nd, np, fl) = match c.sys {
                    Sys::link => (cwd, a[0], cwd, a[1], 0),
                    _ => (a[0], a[1], a[2], a[3], a[4] as i32),
                };
                let (old_p, new_p) = (self.read_path(c, op)?, self.read_path(c, np)?);
                let oopts = Opts {
                    follow_last: fl & libc::AT_SYMLINK_FOLLOW != 0,
                    empty_path: fl & libc::AT_EMPTY_PATH != 0,
                    ..Default::default()
                };
                let old = self.resolve_arg(c, od, &old_p, oopts)?;
                let new = self.resolve_arg(c, nd, &new_p, nofollow)?;
                if new.object.is_some() {
                    return Ok(Reply::err(libc::EEXIST));
                }
                if old.object.is_none() {
                    return Ok(Reply::err(libc::ENOENT));
                }
                // A hard link is a second name for the same file: writing through it writes
                // the original, so the original must be writable too.
                self.allow_write(c, &old.path, 1)?;
                self.allow_write(c, &new.path, 1)?;
                self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let (Some(npar), Some(nname)) = (&new.parent, &new.name) else {
                    return Ok(Reply::err(libc::ENOENT));
                };
                let res = match (&old.parent, &old.name, &old.object) {
                    (Some(opar), Some(oname), _) => rfs::linkat(
                        opar,
                        oname.as_c_str(),
                        npar,
                        nname.as_c_str(),
                        AtFlags::empty(),
                    ),
                    (_, _, Some(obj)) => rfs::linkat(
                        rfs::CWD,
                        format!("/proc/self/fd/{}", obj.as_raw_fd()),
                        npar,
                        nname.as_c_str(),
                        AtFlags::SYMLINK_FOLLOW,
                    ),
                    _ => Err(Errno::NOENT),
                };
                Ok(done(res))
            }
            Sys::symlink | Sys::symlinkat => {
                let (tp, nd, np) = match c.sys {
                    Sys::symlink => (a[0], cwd, a[1]),
                    _ => (a[0], a[1], a[2]),
                };
                let target = self.read_path(c, tp)?;
                let link_p = self.read_path(c, np)?;
                let new = self.resolve_arg(c, nd, &link_p, nofollow)?;
                if new.object.is_some() {
                    return Ok(Reply::err(libc::EEXIST));
                }
                self.allow_write(c, &new.path, 1)?;
                self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let (Some(npar), Some(nname)) = (&new.parent, &new.name) else {
                    return Ok(Reply::err(libc::ENOENT));
                };
                let target = CString::new(target).map_err(|_| Reply::err(libc::EINVAL))?;
                Ok(done(rfs::symlinkat(
                    target.as_c_str(),
                    npar,
                    nname.as_c_str(),
                )))
            }
            Sys::unlink | Sys::unlinkat | Sys::rmdir => {
                let (d, p, fl) = match c.sys {
                    Sys::unlink => (cwd, a[0], 0),
                    Sys::rmdir => (cwd, a[0], libc::AT_REMOVEDIR),
                    _ => (a[0], a[1], a[2] as i32),
                };
                let path = self.read_path(c, p)?;
                let r = self.resolve_arg(c, d, &path, nofollow)?;
                if r.object.is_none() {
                    return Ok(Reply::err(libc::ENOENT));
                }
                if on_read_only_fs(&r) {
                    return Ok(Reply::err(libc::EROFS));
                }
                self.allow_write(c, &r.path, 4)?;
                self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let (Some(par), Some(name)) = (&r.parent, &r.name) else {
                    return Ok(Reply::err(libc::EBUSY));
                };
                let flags = if fl & libc::AT_REMOVEDIR != 0 {
                    AtFlags::REMOVEDIR
                } else {
                    AtFlags::empty()
                };
                Ok(done(rfs::unlinkat(par, name.as_c_str(), flags)))
            }
            Sys::mkdir | Sys::mkdirat | Sys::mknod | Sys::mknodat => {
                let (d, p, mode, dev) = match c.sys {
                    Sys::mkdir => (cwd, a[0], a[1] as u32, 0),
                    Sys::mkdirat => (a[0], a[1], a[2] as u32, 0),
                    Sys::mknod => (cwd, a[0], a[1] as u32, a[2]),
                    _ => (a[0], a[1], a[2] as u32, a[3]),
                };
                let path = self.read_path(c, p)?;
                let r = self.resolve_arg(c, d, &path, nofollow)?;
                let kind = mode & libc::S_IFMT;
                if matches!(c.sys, Sys::mknod | Sys::mknodat)
                    && (kind == libc::S_IFBLK || kind == libc::S_IFCHR)
                {
                    // A device node where the function may write is a door to whatever the
                    // device holds (a disk: every file on it). Denied in every mode.
                    self.stats.denied += 1;
                    self.report_incident(
                        c,
                        "files.device",
                        format!(
                            "Creating the device node {} ({}) denied: a function never needs one",
                            r.path,
                            if kind == libc::S_IFBLK {
                                "block"
                            } else {
                                "character"
                            }
                        ),
                        Severity::High,
                        Outcome::Blocked,
                    );
                    return Ok(Reply::err(libc::EPERM));
                }
                if r.object.is_some() {
                    return Ok(Reply::err(libc::EEXIST));
                }
                if on_read_only_fs(&r) {
                    return Ok(Reply::err(libc::EROFS));
                }
                self.allow_write(c, &r.path, 1)?;
                let st = self.creds_for_fs(c)?;
                self.pending_or_eintr(c)?;
                let (Some(par), Some(name)) = (&r.parent, &r.name) else {
                    return Ok(Reply::err(libc::ENOENT));
                };
                let res = with_umask(Some(st.umask), || {
                    if matches!(c.sys, Sys::mkdir | Sys::mkdirat) {
                        rfs::mkdirat(par, name.as_c_str(), FMode::from_raw_mode(mode & 0o7777))
                    } else {
                        let ft = FileType::from_raw_mode(mode);
                        let ft = if mode & libc::S_IFMT == 0 {
                            FileType::RegularFile
                        } else {
                            ft
                        };
                        rfs::mknodat(
                            par,
                            name.as_c_str(),
                            ft,
                            FMode::from_raw_mode(mode & 0o7777),
                            dev,
                        )
                    }
                });
                Ok(done(res))
            }
            _ => Ok(Reply::err(libc::ENOSYS)),
        }
    }

    fn allow_write(&mut self, c: &Call, path: &str, activity: u32) -> Result<(), Reply> {
        match self.write_decision(c, path, activity) {
            Verdict::Allow => Ok(()),
            Verdict::Deny(e) => Err(Reply::err(e)),
            Verdict::Kill => Err(Reply::err(libc::EPERM)),
        }
    }
}

/// Whether what `r` names lives on a read-only mount (where any write fails with EROFS).
pub(super) fn on_read_only_fs(r: &Resolved) -> bool {
    let fd = match (&r.object, &r.parent) {
        (Some(o), _) => o.as_fd(),
        (None, Some(p)) => p.as_fd(),
        _ => return false,
    };
    rfs::fstatvfs(fd).is_ok_and(|v| v.f_flag.contains(rfs::StatVfsMountFlags::RDONLY))
}

fn done(res: Result<(), Errno>) -> Reply {
    match res {
        Ok(()) => Reply::val(0),
        Err(e) => Reply::errno(e),
    }
}

/// Opens what `r` resolved to, relative to the pinned directory with `O_NOFOLLOW` (so a
/// symlink planted after the check fails with `ELOOP`), or by reopening the object itself when
/// it was reached through a magic link.
fn open_resolved(r: &Resolved, flags: OFlags, mode: FMode) -> Result<OwnedFd, Errno> {
    let fifo = r.file_type == Some(FileType::Fifo);
    let wants_block = !flags.contains(OFlags::NONBLOCK);
    let attempt = |flags: OFlags| match (&r.parent, &r.name, &r.object) {
        (Some(parent), Some(name), _) => {
            rfs::openat(parent, name.as_c_str(), flags | OFlags::NOFOLLOW, mode)
        }
        (_, _, Some(obj)) => rfs::open(
            format!("/proc/self/fd/{}", obj.as_fd().as_raw_fd()),
            flags,
            mode,
        ),
        _ => Err(Errno::NOENT),
    };
    if !fifo || !wants_block {
        return attempt(flags);
    }
    // A blocking open of a FIFO would block the supervisor until a reader appears: open it
    // non-blocking (read-write if no reader is there yet), then make the fd blocking again.
    let fd = match attempt(flags | OFlags::NONBLOCK) {
        Err(Errno::NXIO) => attempt((flags - OFlags::WRONLY) | OFlags::RDWR | OFlags::NONBLOCK)?,
        other => other?,
    };
    let fl = rfs::fcntl_getfl(&fd)?;
    rfs::fcntl_setfl(&fd, fl - OFlags::NONBLOCK)?;
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_paths() {
        assert!(is_proc_mem("/proc/12/mem"));
        assert!(is_proc_mem("/proc/12/task/13/mem"));
        assert!(!is_proc_mem("/proc/12/memory"));
        assert!(under_proc_of("/proc/7/fd/1", &[7]));
        assert!(!under_proc_of("/proc/70/fd/1", &[7]));
        assert!(is_anonymous_object("pipe:[1234]"));
    }
}
