//! Network: `connect`, `sendto`/`sendmsg`/`sendmmsg` with destinations, `bind`, `listen`.
//!
//! The address (and for `sendmsg` the whole message header) is in the process's memory, so
//! an allowed call is performed by the supervisor on a duplicate of the process's socket
//! (`pidfd_getfd`) with the bytes it checked, and the result returned; blocking sockets stay
//! blocking for the caller (the answer waits until the operation completes).

use super::report::{Activity, Decision, Obs};
use super::{Call, Pending, Reply, Supervisor, Verdict};
use crate::procfs;
use crate::resolve::{resolve, Opts, Start};
use crate::sockaddr::{self, SockAddr};
use crate::sys::{self, OutMsg};
use rustix::event::{PollFd, PollFlags};
use rustix::fs::OFlags;
use rustix::net::SocketType;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use vigil_events::{Endpoint, Severity};
use vigil_policy::{ObservedDest, Section, Transport};

/// Largest payload the supervisor copies for one send (bigger stream sends are partial, as
/// the kernel's own may be).
const SEND_CAP: usize = 4 << 20;
/// `UIO_MAXIOV`.
const MAX_IOV: usize = 1024;

/// An operation still in progress.
pub(crate) enum PendingKind {
    /// A blocking connect: answered when the socket is writable.
    Connect,
    /// A blocking send that would block: retried when writable.
    Send {
        msgs: Vec<OutMessage>,
        flags: i32,
        reply: SendReply,
    },
}

impl PendingKind {
    pub fn poll_flags(&self) -> PollFlags {
        PollFlags::OUT
    }
}

/// What a send call returns.
#[derive(Clone, Copy)]
pub(crate) enum SendReply {
    /// Bytes sent (`sendto`, `sendmsg`).
    Bytes,
    /// Messages sent, with `msg_len` written back into the process's array (`sendmmsg`).
    Count { vec_addr: u64 },
}

/// One message prepared for sending: what the process asked for, with fds translated.
pub(crate) struct OutMessage {
    name: Option<Vec<u8>>,
    data: Vec<u8>,
    control: Vec<u8>,
    _fds: Vec<OwnedFd>,
}

/// What a destination resolved to.
struct Dest {
    /// For the policy and the event.
    obs: Option<ObservedDest>,
    endpoint: Endpoint,
    allowed: bool,
    /// The address bytes to use for the operation (a Unix path rewritten to the pinned
    /// directory the supervisor resolved).
    raw: Vec<u8>,
    /// Keeps the pinned directory open while `raw` refers to it.
    _pin: Option<OwnedFd>,
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn protocol(sock: BorrowedFd<'_>) -> (&'static str, Transport) {
    match rustix::net::sockopt::socket_type(sock) {
        Ok(SocketType::STREAM) => ("tcp", Transport::Tcp),
        Ok(SocketType::DGRAM) => ("udp", Transport::Udp),
        _ => ("other", Transport::Any),
    }
}

impl Supervisor<'_> {
    /// Decodes and checks one destination address. `Err` is the errno for the caller.
    fn destination(&mut self, c: &Call, raw: Vec<u8>) -> Result<Dest, i32> {
        self.destination_as(c, raw, false)
    }

    /// `unspec_is_inet`: for datagram sends and binds the kernel reads an `AF_UNSPEC` address
    /// as `AF_INET` (`udp_sendmsg`, `inet_bind`), so it is checked — and used — as one.
    fn destination_as(
        &mut self,
        c: &Call,
        mut raw: Vec<u8>,
        unspec_is_inet: bool,
    ) -> Result<Dest, i32> {
        if unspec_is_inet
            && raw.len() >= 16
            && matches!(sockaddr::decode(&raw), Some(SockAddr::Unspec))
        {
            raw[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        }
        let sa = sockaddr::decode(&raw).ok_or(libc::EINVAL)?;
        Ok(match sa {
            SockAddr::Ip(ip, port) => {
                let hit = self
                    .cfg
                    .policy
                    .allows_ip(ip, port, &self.cfg.hosts)
                    .map(|h| h.map(str::to_string));
                Dest {
                    obs: Some(ObservedDest::Ip(vigil_policy::canonical_ip(ip), port)),
                    endpoint: Endpoint {
                        ip: Some(ip.to_string()),
                        port: Some(port),
                        hostname: hit.clone().flatten(),
                        path: None,
                    },
                    allowed: hit.is_some(),
                    raw,
                    _pin: None,
                }
            }
            SockAddr::UnixPath(p) => {
                let opts = Opts {
                    follow_last: true,
                    ..Default::default()
                };
                let r =
                    resolve(c.tid, c.tgid, Start::Cwd, &p, opts).map_err(|e| e.raw_os_error())?;
                if !self.proc_reach(c, &r) {
                    return Err(libc::EACCES);
                }
                // Address the resolved socket through the pinned directory, so the path the
                // process can still change is not the one used.
                let (pin, rel) = match (r.parent, r.name, r.object) {
                    (Some(parent), Some(name), _) => {
                        let rel = format!(
                            "/proc/self/fd/{}/{}",
                            parent.as_raw_fd(),
                            name.to_string_lossy()
                        );
                        (parent, rel)
                    }
                    (_, _, Some(obj)) => {
                        let rel = format!("/proc/self/fd/{}", obj.as_raw_fd());
                        (obj, rel)
                    }
                    _ => return Err(libc::ENOENT),
                };
                let raw = sockaddr::unix_path(rel.as_bytes()).ok_or(libc::ENAMETOOLONG)?;
                Dest {
                    allowed: self.cfg.policy.allows_unix_path(&r.path),
                    obs: Some(ObservedDest::UnixPath(r.path.clone())),
                    endpoint: Endpoint {
                        path: Some(r.path),
                        ..Default::default()
                    },
                    raw,
                    _pin: Some(pin),
                }
            }
            SockAddr::UnixAbstract(n) => {
                let name = String::from_utf8_lossy(&n).into_owned();
                Dest {
                    allowed: self.cfg.policy.allows_unix_abstract(&name),
                    obs: Some(ObservedDest::UnixAbstract(name.clone())),
                    endpoint: Endpoint {
                        path: Some(format!("@{name}")),
                        ..Default::default()
                    },
                    raw,
                    _pin: None,
                }
            }
            // Dissolving an association, talking to the kernel, or an address the kernel will
            // refuse on the sockets a function can create: nothing to check.
            SockAddr::Unspec | SockAddr::Netlink | SockAddr::UnixUnnamed | SockAddr::Other(_) => {
                Dest {
                    obs: None,
                    endpoint: Endpoint::default(),
                    allowed: true,
                    raw,
                    _pin: None,
                }
            }
        })
    }

    fn net_decision(
        &mut self,
        c: &Call,
        dest: &Dest,
        activity: u32,
        proto: &'static str,
        always: bool,
    ) -> Verdict {
        let Some(obs) = dest.obs.clone() else {
            return Verdict::Allow;
        };
        let what = Obs::Connect(obs).key();
        let what = what.trim_start_matches("connect:").to_string();
        let d = Decision {
            allowed: dest.allowed,
            section: Section::Network,
            errno: libc::EPERM,
            rule: "network.connect",
            title: format!("Connection to {what} is not allowed by the policy"),
            severity: Severity::High,
            obs: dest.obs.clone().map(Obs::Connect),
            activity: Activity::Network {
                activity,
                endpoint: dest.endpoint.clone(),
                protocol: proto,
            },
            always,
        };
        self.decide(c, d)
    }

    pub(super) fn on_connect(&mut self, c: &Call) -> Reply {
        let len = c.args[2] as usize;
        if !(2..=128).contains(&len) {
            return Reply::err(libc::EINVAL);
        }
        let Ok(raw) = procfs::read_bytes(c.tid, c.args[1], len) else {
            return Reply::err(libc::EFAULT);
        };
        let sock = match self.getfd(c, c.args[0]) {
            Ok(s) => s,
            Err(e) => return Reply::errno(e),
        };
        let dest = match self.destination(c, raw) {
            Ok(d) => d,
            Err(e) => return Reply::err(e),
        };
        let (proto, _) = protocol(sock.as_fd());
        let proto = if dest.endpoint.path.is_some() {
            "unix"
        } else {
            proto
        };
        match self.net_decision(c, &dest, 1, proto, true) {
            Verdict::Allow => {}
            Verdict::Deny(e) => return Reply::err(e),
            Verdict::Kill => return Reply::err(libc::EPERM),
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let flags = rustix::fs::fcntl_getfl(&sock).unwrap_or(OFlags::empty());
        let blocking = !flags.contains(OFlags::NONBLOCK);
        if blocking {
            let _ = rustix::fs::fcntl_setfl(&sock, flags | OFlags::NONBLOCK);
        }
        let res = sys::connect_raw(sock.as_fd(), &dest.raw);
        if blocking {
            let _ = rustix::fs::fcntl_setfl(&sock, flags);
        }
        match res {
            Ok(()) => Reply::val(0),
            // EALREADY: a blocking connect restarted after a signal; the kernel would wait for
            // the connection in progress, and so does the answer.
            Err(e)
                if blocking
                    && matches!(e.raw_os_error(), Some(libc::EINPROGRESS | libc::EALREADY)) =>
            {
                // Most connections (loopback, the local network) are established by the time
                // the call returns: look once before making it an operation in progress.
                let mut pfd = [PollFd::new(&sock, PollFlags::OUT)];
                let zero = rustix::time::Timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                if rustix::event::poll(&mut pfd, Some(&zero)).is_ok_and(|n| n > 0) {
                    return match rustix::net::sockopt::socket_error(&sock) {
                        Ok(Ok(())) => Reply::val(0),
                        Ok(Err(e)) | Err(e) => Reply::errno(e),
                    };
                }
                // A blocking connect gives up after SO_SNDTIMEO, with EINPROGRESS.
                let deadline = rustix::net::sockopt::socket_timeout(
                    &sock,
                    rustix::net::sockopt::Timeout::Send,
                )
                .ok()
                .flatten()
                .map(|t| std::time::Instant::now() + t);
                self.pending.push(Pending {
                    id: c.id,
                    tid: c.tid,
                    fd: sock,
                    deadline,
                    kind: PendingKind::Connect,
                });
                Reply::Later
            }
            // A blocking Unix-socket connect whose backlog is full would wait; EAGAIN from the
            // non-blocking attempt is reported as the kernel reports it for non-blocking ones.
            Err(e) => Reply::err(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// Reads a `struct msghdr` at `addr` and builds the message, translating `SCM_RIGHTS`.
    /// Copies at most `budget` payload bytes (shared by all messages of one call) and lowers it.
    fn read_msghdr(
        &mut self,
        c: &Call,
        addr: u64,
        budget: &mut usize,
    ) -> Result<(Option<Vec<u8>>, OutMessage), i32> {
        let h = procfs::read_bytes(c.tid, addr, 56).map_err(|_| libc::EFAULT)?;
        let name_ptr = le_u64(&h, 0);
        let name_len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let iov_ptr = le_u64(&h, 16);
        let iov_len = le_u64(&h, 24) as usize;
        let ctl_ptr = le_u64(&h, 32);
        let ctl_len = le_u64(&h, 40) as usize;
        if iov_len > MAX_IOV || name_len > 128 || ctl_len > 64 * 1024 {
            return Err(libc::EINVAL);
        }
        let name = if name_ptr != 0 && name_len > 0 {
            Some(procfs::read_bytes(c.tid, name_ptr, name_len).map_err(|_| libc::EFAULT)?)
        } else {
            None
        };
        let mut data = Vec::new();
        if iov_len > 0 {
            let iovs =
                procfs::read_bytes(c.tid, iov_ptr, iov_len * 16).map_err(|_| libc::EFAULT)?;
            for i in 0..iov_len {
                let base = le_u64(&iovs, i * 16);
                let len = le_u64(&iovs, i * 16 + 8) as usize;
                let take = len.min(*budget);
                if take == 0 {
                    continue;
                }
                data.extend(procfs::read_bytes(c.tid, base, take).map_err(|_| libc::EFAULT)?);
                *budget -= take;
            }
        }
        let mut control = Vec::new();
        let mut fds = Vec::new();
        if ctl_ptr != 0 && ctl_len > 0 {
            control = procfs::read_bytes(c.tid, ctl_ptr, ctl_len).map_err(|_| libc::EFAULT)?;
            // Lengths come from the process: every step is checked, and `at` only grows.
            let mut at = 0usize;
            while control.len().saturating_sub(at) >= 16 {
                let clen = usize::try_from(le_u64(&control, at)).unwrap_or(usize::MAX);
                if clen < 16 || clen > control.len() - at {
                    break;
                }
                let level = i32::from_le_bytes([
                    control[at + 8],
                    control[at + 9],
                    control[at + 10],
                    control[at + 11],
                ]);
                let kind = i32::from_le_bytes([
                    control[at + 12],
                    control[at + 13],
                    control[at + 14],
                    control[at + 15],
                ]);
                if crate::hardening::steers(level, kind) && !self.cfg.policy.exempts("ip_options") {
                    // Sent as is, it would take the packet elsewhere than the destination
                    // checked (a routing header, a next hop, a source route).
                    self.stats.denied += 1;
                    self.report_incident(
                        c,
                        "hardening",
                        format!(
                            "{} denied (hardening group `ip_options`): a control message of level {level}, type {kind}, would send the packet elsewhere than its checked destination",
                            c.sys.name()
                        ),
                        Severity::High,
                        vigil_events::Outcome::Blocked,
                    );
                    return Err(libc::EPERM);
                }
                if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
                    let mut p = at + 16;
                    let end = at + clen;
                    while p + 4 <= end {
                        let their = i32::from_le_bytes([
                            control[p],
                            control[p + 1],
                            control[p + 2],
                            control[p + 3],
                        ]);
                        let ours = self.getfd(c, their as u64).map_err(|e| e.raw_os_error())?;
                        control[p..p + 4].copy_from_slice(&ours.as_raw_fd().to_le_bytes());
                        fds.push(ours);
                        p += 4;
                    }
                }
                match clen.checked_add(7).map(|l| l & !7) {
                    Some(step) if step > 0 => at = at.saturating_add(step),
                    _ => break,
                }
            }
        }
        Ok((
            name.clone(),
            OutMessage {
                name,
                data,
                control,
                _fds: fds,
            },
        ))
    }

    /// Checks the destinations of outgoing messages; rewrites Unix paths to the resolved
    /// ones. `None` when every destination may be used; `Some(reply)` to answer at once.
    fn check_destinations(
        &mut self,
        c: &Call,
        sock: BorrowedFd<'_>,
        msgs: &mut [OutMessage],
    ) -> Option<Reply> {
        let (proto, _) = protocol(sock);
        let mut pins = Vec::new();
        for m in msgs.iter_mut() {
            let Some(raw) = m.name.take() else {
                continue;
            };
            let dest = match self.destination_as(c, raw, true) {
                Ok(d) => d,
                Err(e) => return Some(Reply::err(e)),
            };
            let Some(obs) = dest.obs.clone() else {
                // Nothing the policy speaks of (netlink, …): sent as the kernel will read it.
                m.name = Some(dest.raw);
                continue;
            };
            let key = Obs::Connect(obs).key();
            let first = self
                .procs
                .get_mut(&c.tgid)
                .is_some_and(|p| p.seen_dest.insert(key));
            let proto = if dest.endpoint.path.is_some() {
                "unix"
            } else {
                proto
            };
            match self.net_decision(c, &dest, 6, proto, first) {
                Verdict::Allow => {}
                Verdict::Deny(e) => return Some(Reply::err(e)),
                Verdict::Kill => return Some(Reply::err(libc::EPERM)),
            }
            m.name = Some(dest.raw);
            if let Some(p) = dest._pin {
                pins.push(p);
            }
        }
        // Pinned directories must outlive the send: keep them with the first message.
        if let Some(first) = msgs.first_mut() {
            first._fds.extend(pins);
        }
        None
    }

    /// Sends `msgs[done..]`; returns the reply, or `None` when it would block.
    fn send_now(
        &self,
        c_tid: u32,
        sock: BorrowedFd<'_>,
        msgs: &[OutMessage],
        flags: i32,
        reply: SendReply,
        blocking: bool,
    ) -> Option<Reply> {
        let mut sent = 0usize;
        let mut first_bytes = 0usize;
        for (i, m) in msgs.iter().enumerate() {
            let msg = OutMsg {
                name: m.name.as_deref(),
                data: &m.data,
                control: &m.control,
            };
            match sys::sendmsg_raw(sock, &msg, flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) {
                Ok(n) => {
                    if i == 0 {
                        first_bytes = n;
                    }
                    if let SendReply::Count { vec_addr } = reply {
                        let _ = sys::write_mem(
                            c_tid,
                            vec_addr + 64 * i as u64 + 56,
                            &(n as u32).to_le_bytes(),
                        );
                    }
                    sent += 1;
                }
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::EIO);
                    if sent > 0 {
                        break;
                    }
                    let wants_block = blocking && flags & libc::MSG_DONTWAIT == 0;
                    if errno == libc::EAGAIN && wants_block {
                        return None;
                    }
                    // SIGPIPE is the caller's to receive, as if it had sent itself.
                    if errno == libc::EPIPE && flags & libc::MSG_NOSIGNAL == 0 {
                        let _ = rustix::process::Pid::from_raw(c_tid as i32).map(|p| {
                            rustix::process::kill_process(p, rustix::process::Signal::PIPE)
                        });
                    }
                    return Some(Reply::err(errno));
                }
            }
        }
        Some(match reply {
            SendReply::Bytes => Reply::val(first_bytes as i64),
            SendReply::Count { .. } => Reply::val(sent as i64),
        })
    }

    fn send_common(
        &mut self,
        c: &Call,
        fd: u64,
        mut msgs: Vec<OutMessage>,
        flags: i32,
        reply: SendReply,
    ) -> Reply {
        let sock = match self.getfd(c, fd) {
            Ok(s) => s,
            Err(e) => return Reply::errno(e),
        };
        if let Some(r) = self.check_destinations(c, sock.as_fd(), &mut msgs) {
            return r;
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let blocking = !rustix::fs::fcntl_getfl(&sock)
            .unwrap_or(OFlags::empty())
            .contains(OFlags::NONBLOCK);
        match self.send_now(c.tid, sock.as_fd(), &msgs, flags, reply, blocking) {
            Some(r) => r,
            None => {
                self.pending.push(Pending {
                    id: c.id,
                    tid: c.tid,
                    fd: sock,
                    deadline: None,
                    kind: PendingKind::Send { msgs, flags, reply },
                });
                Reply::Later
            }
        }
    }

    pub(super) fn on_sendto(&mut self, c: &Call) -> Reply {
        let (buf, len, flags, addr, alen) = (
            c.args[1],
            c.args[2] as usize,
            c.args[3] as i32,
            c.args[4],
            c.args[5] as usize,
        );
        if alen > 128 {
            return Reply::err(libc::EINVAL);
        }
        let name = if addr != 0 && alen > 0 {
            match procfs::read_bytes(c.tid, addr, alen) {
                Ok(n) => Some(n),
                Err(_) => return Reply::err(libc::EFAULT),
            }
        } else {
            None
        };
        let take = len.min(SEND_CAP);
        let data = if take == 0 {
            Vec::new()
        } else {
            match procfs::read_bytes(c.tid, buf, take) {
                Ok(d) => d,
                Err(_) => return Reply::err(libc::EFAULT),
            }
        };
        let msg = OutMessage {
            name,
            data,
            control: Vec::new(),
            _fds: Vec::new(),
        };
        self.send_common(c, c.args[0], vec![msg], flags, SendReply::Bytes)
    }

    pub(super) fn on_sendmsg(&mut self, c: &Call) -> Reply {
        let mut budget = SEND_CAP;
        match self.read_msghdr(c, c.args[1], &mut budget) {
            Ok((_, msg)) => {
                self.send_common(c, c.args[0], vec![msg], c.args[2] as i32, SendReply::Bytes)
            }
            Err(e) => Reply::err(e),
        }
    }

    pub(super) fn on_sendmmsg(&mut self, c: &Call) -> Reply {
        let vlen = (c.args[2] as usize).min(MAX_IOV);
        let mut msgs = Vec::with_capacity(vlen);
        // One budget for the whole call: a thousand messages do not get a thousand copies.
        let mut budget = SEND_CAP;
        for i in 0..vlen {
            if budget == 0 && i > 0 {
                break;
            }
            match self.read_msghdr(c, c.args[1] + 64 * i as u64, &mut budget) {
                Ok((_, m)) => msgs.push(m),
                Err(e) if i == 0 => return Reply::err(e),
                Err(_) => break,
            }
        }
        if msgs.is_empty() {
            return Reply::val(0);
        }
        self.send_common(
            c,
            c.args[0],
            msgs,
            c.args[3] as i32,
            SendReply::Count {
                vec_addr: c.args[1],
            },
        )
    }

    /// The decision on listening on `port` (0: an ephemeral one, as the policy names it),
    /// reported with the port actually bound.
    fn listen_decision(
        &self,
        transport: Transport,
        proto: &'static str,
        ip: std::net::IpAddr,
        port: u16,
        bound_port: u16,
        always: bool,
    ) -> Decision {
        Decision {
            allowed: self.cfg.policy.allows_listen(transport, port),
            section: Section::Network,
            errno: libc::EACCES,
            rule: "network.listen",
            title: format!("Listening on {proto} port {port} is not allowed by the policy"),
            severity: Severity::Medium,
            obs: Some(Obs::Listen(transport, port)),
            activity: Activity::Network {
                activity: 7,
                endpoint: Endpoint {
                    ip: Some(ip.to_string()),
                    port: Some(bound_port),
                    ..Default::default()
                },
                protocol: proto,
            },
            always,
        }
    }

    pub(super) fn on_bind(&mut self, c: &Call) -> Reply {
        let len = c.args[2] as usize;
        if !(2..=128).contains(&len) {
            return Reply::err(libc::EINVAL);
        }
        let Ok(raw) = procfs::read_bytes(c.tid, c.args[1], len) else {
            return Reply::err(libc::EFAULT);
        };
        let sock = match self.getfd(c, c.args[0]) {
            Ok(s) => s,
            Err(e) => return Reply::errno(e),
        };
        let (proto, transport) = protocol(sock.as_fd());
        let mut _pin = None;
        let mut umask = None;
        // `inet_bind` reads AF_UNSPEC (with INADDR_ANY) as AF_INET: check and use it as such.
        let mut raw = raw;
        if raw.len() >= 16 && matches!(sockaddr::decode(&raw), Some(SockAddr::Unspec)) {
            raw[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        }
        let ephemeral = matches!(sockaddr::decode(&raw), Some(SockAddr::Ip(_, 0)));
        match sockaddr::decode(&raw) {
            Some(SockAddr::Ip(ip, port)) if port != 0 => {
                // UDP has no listen(): binding is listening.
                let always = transport == Transport::Udp;
                let d = self.listen_decision(transport, proto, ip, port, port, always);
                match self.decide(c, d) {
                    Verdict::Allow => {}
                    Verdict::Deny(e) => return Reply::err(e),
                    Verdict::Kill => return Reply::err(libc::EPERM),
                }
            }
            Some(SockAddr::UnixPath(p)) => {
                // Binding creates the socket file: a write.
                let r = match self.resolve_arg(c, libc::AT_FDCWD as u64, &p, Opts::default()) {
                    Ok(r) => r,
                    Err(reply) => return reply,
                };
                if r.object.is_some() {
                    return Reply::err(libc::EADDRINUSE);
                }
                let (Some(parent), Some(name)) = (r.parent, r.name) else {
                    return Reply::err(libc::EINVAL);
                };
                match self.write_decision(c, &r.path, 1) {
                    Verdict::Allow => {}
                    Verdict::Deny(e) => return Reply::err(e),
                    Verdict::Kill => return Reply::err(libc::EPERM),
                }
                let st = match self.creds_for_fs(c) {
                    Ok(st) => st,
                    Err(r) => return r,
                };
                umask = Some(st.umask);
                let rel = format!(
                    "/proc/self/fd/{}/{}",
                    parent.as_raw_fd(),
                    name.to_string_lossy()
                );
                let Some(addr) = sockaddr::unix_path(rel.as_bytes()) else {
                    return Reply::err(libc::ENAMETOOLONG);
                };
                raw = addr;
                _pin = Some(parent);
            }
            _ => {}
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let res = with_umask(umask, || sys::bind_raw(sock.as_fd(), &raw));
        match res {
            Ok(()) => {
                if ephemeral {
                    // The kernel picked the port: listening on it later is listening on "an
                    // ephemeral port" (policy port 0), whatever number it got this time.
                    if let Ok(st) = rustix::fs::fstat(&sock) {
                        self.ephemeral.insert((st.st_dev, st.st_ino));
                    }
                }
                Reply::val(0)
            }
            Err(e) => Reply::err(e.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    pub(super) fn on_listen(&mut self, c: &Call) -> Reply {
        let sock = match self.getfd(c, c.args[0]) {
            Ok(s) => s,
            Err(e) => return Reply::errno(e),
        };
        let (proto, transport) = protocol(sock.as_fd());
        let bound = sys::getsockname_raw(sock.as_fd())
            .ok()
            .and_then(|b| sockaddr::decode(&b));
        let identity = rustix::fs::fstat(&sock)
            .ok()
            .map(|st| (st.st_dev, st.st_ino));
        let picked_by_kernel = identity.is_some_and(|i| self.ephemeral.remove(&i));
        if let Some(SockAddr::Ip(ip, bound_port)) = bound {
            // Port 0: listen() picks an ephemeral port; so did a bind to port 0.
            let port = if picked_by_kernel { 0 } else { bound_port };
            let d = self.listen_decision(transport, proto, ip, port, bound_port, true);
            match self.decide(c, d) {
                Verdict::Allow => {}
                Verdict::Deny(e) => return Reply::err(e),
                Verdict::Kill => return Reply::err(libc::EPERM),
            }
        }
        if let Err(r) = self.creds_check(c) {
            return r;
        }
        if !self.still_valid(c.id) {
            return Reply::err(libc::EINTR);
        }
        let backlog = c.args[1] as i32;
        match rustix::net::listen(&sock, backlog) {
            Ok(()) => Reply::val(0),
            Err(e) => Reply::errno(e),
        }
    }

    /// Completes operations whose sockets became ready; drops those whose caller is gone.
    pub(super) fn progress_pending(&mut self, ready: &[usize]) {
        let mut done: Vec<(usize, Reply)> = Vec::new();
        for (i, p) in self.pending.iter().enumerate() {
            if !self.still_valid(p.id) {
                done.push((i, Reply::Later));
                continue;
            }
            if !ready.contains(&i) {
                if p.deadline.is_some_and(|d| d <= std::time::Instant::now()) {
                    done.push((i, Reply::err(libc::EINPROGRESS)));
                }
                continue;
            }
            match &p.kind {
                PendingKind::Connect => {
                    let r = match rustix::net::sockopt::socket_error(&p.fd) {
                        Ok(Ok(())) => Reply::val(0),
                        Ok(Err(e)) => Reply::errno(e),
                        Err(e) => Reply::errno(e),
                    };
                    done.push((i, r));
                }
                PendingKind::Send { msgs, flags, reply } => {
                    if let Some(r) = self.send_now(p.tid, p.fd.as_fd(), msgs, *flags, *reply, true)
                    {
                        done.push((i, r));
                    }
                }
            }
        }
        for (i, r) in done.into_iter().rev() {
            let p = self.pending.remove(i);
            if !matches!(r, Reply::Later) {
                self.answer(p.id, r);
            }
        }
    }
}

/// Runs `f` with the process umask set to `mask` (the monitored process's), restoring it.
/// The supervisor is single-threaded, so nothing else observes the temporary mask.
pub(super) fn with_umask<T>(mask: Option<u32>, f: impl FnOnce() -> T) -> T {
    match mask {
        None => f(),
        Some(m) => {
            let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(m));
            let out = f();
            rustix::process::umask(old);
            out
        }
    }
}
