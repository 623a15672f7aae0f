//! Socket addresses as the monitored process passed them (raw bytes), decoded.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A decoded `struct sockaddr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    /// `AF_INET` / `AF_INET6`.
    Ip(IpAddr, u16),
    /// `AF_UNIX` with a filesystem path (bytes, without the NUL).
    UnixPath(Vec<u8>),
    /// `AF_UNIX` in the abstract namespace (name without the leading NUL).
    UnixAbstract(Vec<u8>),
    /// `AF_UNIX` unnamed (autobind).
    UnixUnnamed,
    /// `AF_UNSPEC`: dissolves a datagram socket's association.
    Unspec,
    /// `AF_NETLINK`: the kernel.
    Netlink,
    /// Anything else (the kernel will refuse it on the sockets a function can create).
    Other(u16),
}

/// Decodes `bytes`. `None` when too short to hold its family's address (the kernel would say
/// `EINVAL`).
pub fn decode(bytes: &[u8]) -> Option<SockAddr> {
    let family = u16::from_ne_bytes([*bytes.first()?, *bytes.get(1)?]);
    match i32::from(family) {
        libc::AF_INET => {
            if bytes.len() < 16 {
                return None;
            }
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let ip = Ipv4Addr::new(bytes[4], bytes[5], bytes[6], bytes[7]);
            Some(SockAddr::Ip(IpAddr::V4(ip), port))
        }
        libc::AF_INET6 => {
            if bytes.len() < 24 {
                return None;
            }
            let port = u16::from_be_bytes([bytes[2], bytes[3]]);
            let mut a = [0u8; 16];
            a.copy_from_slice(&bytes[8..24]);
            Some(SockAddr::Ip(IpAddr::V6(Ipv6Addr::from(a)), port))
        }
        libc::AF_UNIX => {
            let path = &bytes[2..];
            if path.is_empty() {
                return Some(SockAddr::UnixUnnamed);
            }
            if path[0] == 0 {
                return Some(SockAddr::UnixAbstract(path[1..].to_vec()));
            }
            let end = path.iter().position(|b| *b == 0).unwrap_or(path.len());
            Some(SockAddr::UnixPath(path[..end].to_vec()))
        }
        libc::AF_UNSPEC => Some(SockAddr::Unspec),
        libc::AF_NETLINK => Some(SockAddr::Netlink),
        other => Some(SockAddr::Other(other as u16)),
    }
}

/// Encodes an `AF_UNIX` path address.
pub fn unix_path(path: &[u8]) -> Option<Vec<u8>> {
    if path.len() >= 108 {
        return None;
    }
    let mut out = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    out.extend_from_slice(path);
    out.push(0);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_families() {
        let mut v4 = vec![2u8, 0, 0x1f, 0x90, 127, 0, 0, 1];
        v4.resize(16, 0);
        assert_eq!(
            decode(&v4),
            Some(SockAddr::Ip("127.0.0.1".parse().unwrap(), 8080))
        );
        let mut v6 = vec![10u8, 0, 0, 80, 0, 0, 0, 0];
        v6.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        v6.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(decode(&v6), Some(SockAddr::Ip("::1".parse().unwrap(), 80)));
        assert_eq!(
            decode(&[1, 0, 0, b'x']),
            Some(SockAddr::UnixAbstract(b"x".to_vec()))
        );
        assert_eq!(
            decode(&[1, 0, b'/', b'a', 0, 0]),
            Some(SockAddr::UnixPath(b"/a".to_vec()))
        );
        assert_eq!(decode(&[2, 0, 0]), None);
        assert_eq!(unix_path(b"/a").unwrap(), vec![1, 0, b'/', b'a', 0]);
    }
}
