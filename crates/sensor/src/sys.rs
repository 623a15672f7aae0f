//! Raw system calls that neither rustix nor the standard library wrap: seccomp installation
//! and the user-notification ioctls, `process_vm_readv`, and socket calls that take the raw
//! address bytes read from the monitored process. Every `unsafe` block of the crate lives
//! here, each wrapped in a safe function.

#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn cvt(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `SECCOMP_FILTER_FLAG_*`.
pub mod flags {
    /// Return a listener fd.
    pub const NEW_LISTENER: u32 = 1 << 3;
    /// Once a notification is received, only fatal signals interrupt the waiting thread (5.19+).
    pub const WAIT_KILLABLE_RECV: u32 = 1 << 5;
    /// Do not turn on the speculative-execution mitigations seccomp applies by default (SSBD,
    /// and IBPB/STIBP on every context switch). They protect a process from code it runs
    /// *itself*; the code under the filter is the function, and what it could read that way is
    /// its own memory. They make each round trip to the supervisor several times slower.
    pub const SPEC_ALLOW: u32 = 1 << 2;
}

/// Asks the kernel to wake the supervisor synchronously when a notification arrives, on the
/// notifying thread's CPU (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, 6.6+): a shorter round trip.
/// Best effort: older kernels say EINVAL/ENOTTY and nothing changes.
pub fn notif_sync_wakeup(listener: BorrowedFd<'_>) -> bool {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: libc::c_ulong = 1;
    // SAFETY: this ioctl takes its flags by value (the argument is not a pointer), so no
    // memory is read or written.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    ret == 0
}

/// What `PIDFD_GET_INFO` tells about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidfdInfo {
    /// Its thread group id (the process id).
    pub tgid: u32,
    /// Its parent (0 when the parent is outside the supervisor's pid namespace).
    pub ppid: u32,
    /// Real, effective, saved and filesystem user ids.
    pub uids: [u32; 4],
    /// Real, effective, saved and filesystem group ids.
    pub gids: [u32; 4],
}

/// Asks the kernel about the process `pidfd` refers to (`PIDFD_GET_INFO`, Linux 6.13+): far
/// cheaper than reading `/proc/<pid>/status`. `None` where the ioctl is missing or the process
/// is gone. Hand-rolled: neither libc nor rustix has the ioctl yet.
pub fn pidfd_info(pidfd: BorrowedFd<'_>) -> Option<PidfdInfo> {
    /// `struct pidfd_info` as of its first version (64 bytes; later versions only append).
    #[repr(C)]
    #[derive(Default)]
    struct Raw {
        mask: u64,
        cgroupid: u64,
        pid: u32,
        tgid: u32,
        ppid: u32,
        ruid: u32,
        rgid: u32,
        euid: u32,
        egid: u32,
        suid: u32,
        sgid: u32,
        fsuid: u32,
        fsgid: u32,
        spare: u32,
    }
    const PIDFD_INFO_PID: u64 = 1 << 0;
    const PIDFD_INFO_CREDS: u64 = 1 << 1;
    // _IOWR(PIDFS_IOCTL_MAGIC = 0xFF, 11, struct pidfd_info): the size is part of the number.
    const PIDFD_GET_INFO: libc::c_ulong =
        (3 << 30) | ((std::mem::size_of::<Raw>() as libc::c_ulong) << 16) | (0xFF << 8) | 11;
    let mut raw = Raw {
        mask: PIDFD_INFO_PID | PIDFD_INFO_CREDS,
        ..Default::default()
    };
    // SAFETY: `raw` is a live, writable `struct pidfd_info` of the size encoded in the request
    // number; the kernel writes at most that many bytes into it and keeps no pointer.
    let ret = unsafe { libc::ioctl(pidfd.as_raw_fd(), PIDFD_GET_INFO, &mut raw as *mut Raw) };
    let want = PIDFD_INFO_PID | PIDFD_INFO_CREDS;
    if ret != 0 || raw.mask & want != want || raw.tgid == 0 {
        return None;
    }
    Some(PidfdInfo {
        tgid: raw.tgid,
        ppid: raw.ppid,
        uids: [raw.ruid, raw.euid, raw.suid, raw.fsuid],
        gids: [raw.rgid, raw.egid, raw.sgid, raw.fsgid],
    })
}

/// Installs `prog` on the calling thread (`seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`).
/// Returns the listener when `flags` has [`flags::NEW_LISTENER`].
pub fn install_filter(prog: &[libc::sock_filter], flags: u32) -> io::Result<Option<OwnedFd>> {
    let len = u16::try_from(prog.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp program too long"))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the program
    // and does not keep the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    let ret = cvt(ret)?;
    if flags & flags::NEW_LISTENER != 0 {
        let fd = RawFd::try_from(ret)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "listener fd out of range"))?;
        // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that nothing else owns.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }))
    } else {
        Ok(None)
    }
}

/// `SECCOMP_GET_NOTIF_SIZES`: `(seccomp_notif, seccomp_notif_resp, seccomp_data)` as the
/// running kernel knows them.
pub fn notif_sizes() -> io::Result<(u16, u16, u16)> {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: the kernel writes exactly one `struct seccomp_notif_sizes` to the pointer.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut libc::seccomp_notif_sizes,
        )
    };
    cvt(ret)?;
    Ok((
        sizes.seccomp_notif,
        sizes.seccomp_notif_resp,
        sizes.seccomp_data,
    ))
}

/// One notification: a thread of a monitored process is blocked in a system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notif {
    /// The cookie to answer with.
    pub id: u64,
    /// The thread id (in the supervisor's pid namespace).
    pub tid: u32,
    /// The syscall number.
    pub nr: i32,
    /// `seccomp_data.arch`.
    pub arch: u32,
    /// The arguments.
    pub args: [u64; 6],
}

/// Receives the next notification (blocks if none is pending; poll the fd first).
pub fn notif_recv(listener: BorrowedFd<'_>) -> io::Result<Notif> {
    // The kernel requires the buffer to be zeroed.
    // SAFETY: `seccomp_notif` is plain old data; all-zero is a valid value.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the ioctl writes one `struct seccomp_notif` (its size is encoded in the request
    // number) to the pointer, which is valid for that size.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut n as *mut libc::seccomp_notif,
        )
    };
    cvt(ret.into())?;
    Ok(Notif {
        id: n.id,
        tid: n.pid,
        nr: n.data.nr,
        arch: n.data.arch,
        args: n.data.args,
    })
}

/// How to answer a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Let the kernel run the call as the process made it.
    Continue,
    /// Fail the call with this errno.
    Error(i32),
    /// Return this value as the call's result (the supervisor performed it).
    Value(i64),
}

/// Answers notification `id`. `ENOENT` means the thread is gone or was interrupted.
pub fn notif_send(listener: BorrowedFd<'_>, id: u64, answer: Answer) -> io::Result<()> {
    let (val, error, flags) = match answer {
        Answer::Continue => (0, 0, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32),
        Answer::Error(e) => (0, -e, 0),
        Answer::Value(v) => (v, 0, 0),
    };
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: the ioctl reads one `struct seccomp_notif_resp` from the pointer.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
    cvt(ret.into()).map(drop)
}

/// Is notification `id` still pending (the thread still blocked in that call)?
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> bool {
    let mut id = id;
    // SAFETY: the ioctl reads one u64 from the pointer.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &mut id as *mut u64,
        )
    };
    ret == 0
}

/// Installs `src` into the notifying process's fd table (`SECCOMP_IOCTL_NOTIF_ADDFD`).
/// With `send`, the notification is answered atomically with the new fd as the result (5.14+).
/// Returns the fd number in the target.
pub fn notif_addfd(
    listener: BorrowedFd<'_>,
    id: u64,
    src: BorrowedFd<'_>,
    cloexec: bool,
    send: bool,
) -> io::Result<i32> {
    let mut add = libc::seccomp_notif_addfd {
        id,
        flags: if send {
            libc::SECCOMP_ADDFD_FLAG_SEND as u32
        } else {
            0
        },
        srcfd: src.as_raw_fd() as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: the ioctl reads one `struct seccomp_notif_addfd` from the pointer.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ADDFD,
            &mut add as *mut libc::seccomp_notif_addfd,
        )
    };
    cvt(ret.into()).map(|v| v as i32)
}

/// Reads `buf.len()` bytes (or fewer, at an unmapped page) at `addr` in process `tid`.
pub fn read_mem(tid: u32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: `local` describes `buf`, valid for writes of its length; `remote` is only read
    // by the kernel on the other process's side, with its own checks.
    let ret = unsafe { libc::process_vm_readv(tid as libc::pid_t, &local, 1, &remote, 1, 0) };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

/// Reads each `(addr, buf)` of `ranges` in process `tid`, in one call: the count of bytes read,
/// filling the buffers in order (it stops at the first unmapped page).
pub fn read_mem_many(tid: u32, ranges: &mut [(u64, &mut [u8])]) -> io::Result<usize> {
    let local: Vec<libc::iovec> = ranges
        .iter_mut()
        .map(|(_, b)| libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        })
        .collect();
    let remote: Vec<libc::iovec> = ranges
        .iter()
        .map(|(a, b)| libc::iovec {
            iov_base: *a as *mut libc::c_void,
            iov_len: b.len(),
        })
        .collect();
    if local.is_empty() {
        return Ok(0);
    }
    let count = libc::c_ulong::try_from(local.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: each `local` entry describes one of the buffers in `ranges`, valid for writes of
    // its length and borrowed for the whole call; `remote` is only read by the kernel on the
    // other process's side, with its own checks.
    let ret = unsafe {
        libc::process_vm_readv(
            tid as libc::pid_t,
            local.as_ptr(),
            count,
            remote.as_ptr(),
            count,
            0,
        )
    };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

/// `connect(fd, addr)` with the raw address bytes.
pub fn connect_raw(fd: BorrowedFd<'_>, addr: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(addr.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `addr` is valid for `len` bytes; the kernel copies them.
    let ret = unsafe { libc::connect(fd.as_raw_fd(), addr.as_ptr().cast(), len) };
    cvt(ret.into()).map(drop)
}

/// `bind(fd, addr)` with the raw address bytes.
pub fn bind_raw(fd: BorrowedFd<'_>, addr: &[u8]) -> io::Result<()> {
    let len = libc::socklen_t::try_from(addr.len())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: `addr` is valid for `len` bytes; the kernel copies them.
    let ret = unsafe { libc::bind(fd.as_raw_fd(), addr.as_ptr().cast(), len) };
    cvt(ret.into()).map(drop)
}

/// One message to send on the process's behalf.
pub struct OutMsg<'a> {
    /// Destination address bytes, if any.
    pub name: Option<&'a [u8]>,
    /// The payload.
    pub data: &'a [u8],
    /// Control messages (already translated to the supervisor's fds).
    pub control: &'a [u8],
}

/// `sendmsg(fd, msg, flags)` built from raw parts.
pub fn sendmsg_raw(fd: BorrowedFd<'_>, msg: &OutMsg<'_>, flags: i32) -> io::Result<usize> {
    let mut iov = libc::iovec {
        iov_base: msg.data.as_ptr().cast_mut().cast(),
        iov_len: msg.data.len(),
    };
    // SAFETY: `msghdr` is plain old data; all-zero is a valid value.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    if let Some(name) = msg.name {
        hdr.msg_name = name.as_ptr().cast_mut().cast();
        hdr.msg_namelen = libc::socklen_t::try_from(name.len())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    }
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    if !msg.control.is_empty() {
        hdr.msg_control = msg.control.as_ptr().cast_mut().cast();
        hdr.msg_controllen = msg.control.len();
    }
    // SAFETY: every pointer in `hdr` refers to memory borrowed for this call; the kernel only
    // reads through them.
    let ret = unsafe { libc::sendmsg(fd.as_raw_fd(), &hdr, flags) };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

/// Probes whether a syscall exists (`ENOSYS` or not) by calling it with arguments that can
/// only fail (`-1` fds).
pub fn syscall_exists(nr: libc::c_long) -> bool {
    // SAFETY: called only for pidfd_getfd/pidfd_open-style calls whose first argument is an
    // fd or pid; -1 makes them fail with EBADF/EINVAL/ESRCH without side effects.
    let ret = unsafe { libc::syscall(nr, -1, 0, 0) };
    !(ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS))
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the ABI version, or
/// the errno (`ENOSYS` not built, `EOPNOTSUPP` disabled at boot).
pub fn landlock_abi() -> Result<u32, i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: with a NULL attribute pointer and size 0 the kernel reads nothing.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENOSYS))
    } else {
        Ok(ret as u32)
    }
}

/// `fork()`. The child must only call async-signal-safe functions until it execs or exits if
/// the caller has other threads; callers fork while single-threaded.
pub fn fork() -> io::Result<Option<u32>> {
    // SAFETY: fork has no memory-safety preconditions of its own; the callers' contract above
    // covers what the child may do afterwards.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some(p as u32)),
    }
}

/// Prepares signals in a child before exec, as `std::process::Command` does: SIGPIPE (which
/// the Rust runtime ignores) back to its default, and every signal unblocked. Handlers need
/// no reset (exec resets them), and signals ignored by whoever started vigil (`nohup`'s
/// SIGHUP) stay ignored, as a plain exec keeps them.
pub fn reset_signals() {
    // SAFETY: setting SIG_DFL installs no handler code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // SAFETY: `set` is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// Sets a signal's disposition to ignore.
pub fn ignore_signal(sig: i32) {
    // SAFETY: SIG_IGN installs no handler code.
    unsafe {
        libc::signal(sig, libc::SIG_IGN);
    }
}

/// Raises the soft limit on open files to the hard limit: the supervisor holds a pidfd per
/// monitored process.
pub fn raise_fd_limit() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `struct rlimit` to the pointer; setrlimit reads one.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

/// Blocks one signal in the calling thread.
pub fn block_signal(sig: i32) {
    // SAFETY: `set` is initialised by sigemptyset before use.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Blocks `sigs` in the calling thread and returns a signalfd for them.
pub fn block_signals_to_fd(sigs: &[i32]) -> io::Result<OwnedFd> {
    // SAFETY: `set` is initialised by sigemptyset before use, and every pointer passed is to
    // a local that outlives the call.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// Reads one pending signal from a signalfd: `(signo, sender pid)`.
pub fn read_signalfd(fd: BorrowedFd<'_>) -> io::Result<Option<(i32, u32)>> {
    // SAFETY: `signalfd_siginfo` is plain old data; all-zero is valid.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: reading at most `size` bytes into `info`, which is that large.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    if n as usize != size {
        return Ok(None);
    }
    Ok(Some((info.ssi_signo as i32, info.ssi_pid)))
}

/// `execve(path, argv, envp)`; returns only on failure.
pub fn execve(
    path: &std::ffi::CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> io::Error {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: `path` is NUL-terminated; `argv` and `envp` are NULL-terminated arrays of
    // pointers to NUL-terminated strings that the caller keeps alive across the call.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    io::Error::last_os_error()
}

/// `_exit(code)`: leaves without running destructors or atexit handlers (in a forked child).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions.
    unsafe { libc::_exit(code) }
}

/// Sends `fd` over the Unix socket `sock` with SCM_RIGHTS, with `payload` as data.
pub fn send_fd(sock: BorrowedFd<'_>, fd: Option<BorrowedFd<'_>>, payload: &[u8]) -> io::Result<()> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(fd) = fd {
        fds = [fd];
        if !anc.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
    }
    sendmsg(
        sock,
        &[io::IoSlice::new(payload)],
        &mut anc,
        SendFlags::NOSIGNAL,
    )?;
    Ok(())
}

/// Receives data and at most one fd from the Unix socket `sock`.
pub fn recv_fd(sock: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    use rustix::net::{recvmsg, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut anc = RecvAncillaryBuffer::new(&mut space);
    let msg = recvmsg(
        sock,
        &mut [io::IoSliceMut::new(buf)],
        &mut anc,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut got = None;
    for m in anc.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = m {
            for fd in fds {
                if got.is_none() {
                    got = Some(fd);
                }
            }
        }
    }
    Ok((msg.bytes, got))
}

/// Writes `data` at `addr` in process `tid` (results the kernel would have written, such as
/// `msg_len` of `sendmmsg`).
pub fn write_mem(tid: u32, addr: u64, data: &[u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: `local` describes `data`, valid for reads of its length; the remote side is
    // checked by the kernel against the other process's mappings.
    let ret = unsafe { libc::process_vm_writev(tid as libc::pid_t, &local, 1, &remote, 1, 0) };
    cvt(ret as libc::c_long).map(|n| n as usize)
}

/// `getsockname(fd)` as raw address bytes.
pub fn getsockname_raw(fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    // SAFETY: `sockaddr_storage` is plain old data; all-zero is valid.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: the kernel writes at most `len` bytes to `ss`, which is that large.
    let ret = unsafe {
        libc::getsockname(
            fd.as_raw_fd(),
            (&mut ss as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    cvt(ret.into())?;
    let len = (len as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: `ss` is `sockaddr_storage`-sized and `len` is clamped to that size.
    let bytes = unsafe {
        std::slice::from_raw_parts((&ss as *const libc::sockaddr_storage).cast::<u8>(), len)
    };
    Ok(bytes.to_vec())
}

/// `pidfd_send_signal` with a copied `siginfo_t` (128 bytes) when the process passed one.
pub fn pidfd_send_signal_info(
    fd: BorrowedFd<'_>,
    sig: i32,
    info: Option<&[u8; 128]>,
    flags: u32,
) -> io::Result<()> {
    let ptr = info.map_or(std::ptr::null(), |i| i.as_ptr());
    // SAFETY: `ptr` is NULL or points at 128 readable bytes (sizeof(siginfo_t)).
    let ret =
        unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig, ptr, flags) };
    cvt(ret).map(drop)
}

/// `F_OWNER_*` kinds of `struct f_owner_ex` (not exported by the libc crate).
pub mod owner {
    /// A thread.
    pub const TID: i32 = 0;
    /// A process.
    pub const PID: i32 = 1;
    /// A process group.
    pub const PGRP: i32 = 2;
}

/// `fcntl(fd, F_SETOWN_EX, &{kind, pid})`.
pub fn fcntl_setown_ex(fd: BorrowedFd<'_>, kind: i32, pid: i32) -> io::Result<()> {
    const F_SETOWN_EX: i32 = 15;
    // `struct f_owner_ex { int type; pid_t pid; }`
    let owner: [i32; 2] = [kind, pid];
    // SAFETY: `owner` has the layout of `struct f_owner_ex`; the kernel only reads it.
    let ret = unsafe { libc::fcntl(fd.as_raw_fd(), F_SETOWN_EX, owner.as_ptr()) };
    cvt(ret.into()).map(drop)
}

/// `ioctl(fd, request, &value)` for requests that read one `int` (FIOSETOWN, SIOCSPGRP).
pub fn ioctl_set_int(fd: BorrowedFd<'_>, request: u32, value: i32) -> io::Result<()> {
    // SAFETY: the requests this is used with read one `int` through the pointer.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), request as libc::Ioctl, &value as *const i32) };
    cvt(ret.into()).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's version as (major, minor).
    fn kernel() -> (u32, u32) {
        let rel = rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned();
        let mut it = rel.split(|c: char| !c.is_ascii_digit());
        let major = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let minor = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        (major, minor)
    }

    #[test]
    fn pidfd_info_names_the_process_its_parent_and_ids() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).unwrap();
        let info = pidfd_info(std::os::fd::AsFd::as_fd(&pidfd));
        let release = rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned();
        let mut v = release
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse::<u32>().ok());
        let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        let _ = child.kill();
        let _ = child.wait();
        if (major, minor) < (6, 13) {
            assert_eq!(info, None, "no PIDFD_GET_INFO before 6.13");
            return;
        }
        let info = info.expect("PIDFD_GET_INFO on a 6.13+ kernel");
        assert_eq!(info.tgid, child.id());
        assert_eq!(info.ppid, std::process::id());
        let uid = rustix::process::getuid().as_raw();
        let euid = rustix::process::geteuid().as_raw();
        assert_eq!((info.uids[0], info.uids[1]), (uid, euid));
        assert_eq!(info.gids[0], rustix::process::getgid().as_raw());
    }

    #[test]
    fn sync_wakeup_is_accepted_by_kernels_that_have_it() {
        if kernel() < (6, 6) {
            return;
        }
        // A filter on a thread of its own (filters are per thread without TSYNC) that allows
        // everything but still gives a listener.
        let ok = std::thread::spawn(|| {
            rustix::thread::set_no_new_privs(true).expect("no_new_privs");
            let mut asm = crate::bpf::Asm::new();
            asm.ret(libc::SECCOMP_RET_ALLOW);
            let prog = asm.finish().expect("program");
            let listener = install_filter(&prog, flags::NEW_LISTENER)
                .expect("install")
                .expect("listener");
            notif_sync_wakeup(std::os::fd::AsFd::as_fd(&listener))
        })
        .join()
        .expect("thread");
        assert!(ok, "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP refused");
    }
}

/// What two threads may share, for [`kcmp`] (from <linux/kcmp.h>; the libc crate does not
/// name them).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum Shared {
    /// Memory (`clone(CLONE_VM)`).
    Vm = 1,
    /// The file descriptor table (`CLONE_FILES`).
    Files = 2,
    /// The working directory and root (`CLONE_FS`).
    Fs = 3,
}

/// Do threads `a` and `b` share `what` (`kcmp`)? `None` when the kernel cannot say: no
/// `kcmp`, not permitted, or a thread gone.
pub fn kcmp(a: u32, b: u32, what: Shared) -> Option<bool> {
    // SAFETY: kcmp takes integers only; no memory of this process is read or written.
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            a as libc::pid_t,
            b as libc::pid_t,
            what as libc::c_int,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    (r >= 0).then_some(r == 0)
}

/// Do threads `a` and `b` share their memory? See [`kcmp`].
pub fn same_mm(a: u32, b: u32) -> Option<bool> {
    kcmp(a, b, Shared::Vm)
}
