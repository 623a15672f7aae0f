//! The meeting of the exec wrapper and the extension on a Unix socket (`SOCK_SEQPACKET`, so
//! each message arrives whole):
//!
//! 1. wrapper → extension: [`Hello`] (the runtime's pid, the mode and policy it uses);
//! 2. extension → wrapper: [`Welcome`] (the pids the filter must protect);
//! 3. wrapper → extension: the install report with the seccomp listener (`SCM_RIGHTS`),
//!    sent by [`vigil_sensor::install::install_and_handoff`];
//!
//! then the wrapper executes the runtime, whose first notified call is that exec.

use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
use serde::{Deserialize, Serialize};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

/// What the wrapper says first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Hello {
    /// The runtime's pid (the wrapper's own: it executes the runtime in place).
    pub runtime_pid: u32,
    /// The mode.
    pub mode: String,
    /// The policy file the wrapper loaded.
    pub policy: String,
}

/// What the extension answers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Welcome {
    /// The extension's pid.
    pub pid: u32,
    /// Its process group.
    pub pgid: u32,
    /// Its threads (a signal to any thread id reaches the whole process).
    pub tids: Vec<u32>,
}

fn seqpacket() -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

/// Binds and listens on `path` (a stale socket file is replaced).
pub fn listen(path: &Path) -> io::Result<OwnedFd> {
    let _ = std::fs::remove_file(path);
    let fd = seqpacket()?;
    rustix::net::bind(&fd, &SocketAddrUnix::new(path)?)?;
    rustix::net::listen(&fd, 4)?;
    Ok(fd)
}

/// Connects to the extension, retrying until `timeout` (the extension may still be starting).
pub fn connect(path: &Path, timeout: Duration) -> Option<OwnedFd> {
    let until = Instant::now() + timeout;
    loop {
        if let (Ok(fd), Ok(addr)) = (seqpacket(), SocketAddrUnix::new(path)) {
            if rustix::net::connect(&fd, &addr).is_ok() {
                return Some(fd);
            }
        }
        if Instant::now() >= until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends one JSON message.
pub fn send<T: Serialize>(fd: impl AsFd, msg: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec(msg).map_err(io::Error::other)?;
    rustix::io::write(fd, &bytes)?;
    Ok(())
}

/// Receives one JSON message, waiting at most `timeout`.
pub fn recv<T: for<'de> Deserialize<'de>>(fd: impl AsFd, timeout: Duration) -> io::Result<T> {
    let mut pfd = [rustix::event::PollFd::new(
        &fd,
        rustix::event::PollFlags::IN,
    )];
    let ts = rustix::time::Timespec {
        tv_sec: timeout.as_secs() as i64,
        tv_nsec: i64::from(timeout.subsec_nanos()),
    };
    if rustix::event::poll(&mut pfd, Some(&ts))? == 0 {
        return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
    }
    let mut buf = vec![0u8; 64 * 1024];
    let n = rustix::io::read(&fd, &mut buf)?;
    serde_json::from_slice(&buf[..n]).map_err(io::Error::other)
}

/// The pid of the peer of a connected Unix socket.
pub fn peer_pid(fd: impl AsFd) -> Option<u32> {
    rustix::net::sockopt::socket_peercred(fd)
        .ok()
        .map(|c| c.pid.as_raw_nonzero().get() as u32)
}

/// This process's thread ids.
pub fn my_tids() -> Vec<u32> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}
