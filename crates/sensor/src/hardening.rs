//! The hardening set: system calls a function never needs, denied in every mode. Kept as data,
//! one group per reason, after Docker's default seccomp profile (moby/profiles/seccomp) and the
//! Lambda threat model: a function that calls one of these is being exploited or is probing
//! the kernel. A policy can exempt a group by name (`hardening: {allow: [io_uring]}`).

use crate::arch::Sys;

/// One group of denied syscalls.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The name a policy uses to exempt the group.
    pub name: &'static str,
    /// The syscalls denied outright (argument-dependent denials are in [`crate::filter`]).
    pub syscalls: &'static [Sys],
    /// The errno the call fails with.
    pub errno: i32,
    /// Why a function never needs it; shown in events.
    pub reason: &'static str,
}

/// The table.
pub const GROUPS: &[Group] = &[
    Group {
        name: "io_uring",
        syscalls: &[
            Sys::io_uring_setup,
            Sys::io_uring_enter,
            Sys::io_uring_register,
        ],
        errno: libc::EPERM,
        reason: "io_uring performs I/O (connect, openat, sendmsg…) without system calls a \
                 seccomp filter can see, and is a frequent kernel exploit target",
    },
    Group {
        name: "ptrace",
        syscalls: &[
            Sys::ptrace,
            Sys::process_vm_readv,
            Sys::process_vm_writev,
            Sys::process_madvise,
            Sys::kcmp,
            Sys::pidfd_getfd,
        ],
        errno: libc::EPERM,
        reason: "tracing or reaching into another process's memory or file descriptors \
                 (used to tamper with the sensor or inject code)",
    },
    Group {
        name: "bpf",
        syscalls: &[Sys::bpf, Sys::perf_event_open],
        errno: libc::EPERM,
        reason: "loading BPF programs or perf events: kernel attack surface and a way to \
                 observe other processes",
    },
    Group {
        name: "userfaultfd",
        syscalls: &[Sys::userfaultfd],
        errno: libc::EPERM,
        reason: "userfaultfd widens kernel race windows for exploits",
    },
    Group {
        name: "namespaces",
        syscalls: &[Sys::unshare, Sys::setns],
        errno: libc::EPERM,
        reason: "new namespaces (also clone with CLONE_NEW*) escape the sensor's view of \
                 paths, processes and the network",
    },
    Group {
        name: "mount",
        syscalls: &[
            Sys::mount,
            Sys::umount2,
            Sys::fsopen,
            Sys::fsconfig,
            Sys::fsmount,
            Sys::fspick,
            Sys::move_mount,
            Sys::open_tree,
            Sys::mount_setattr,
            Sys::pivot_root,
            Sys::chroot,
        ],
        errno: libc::EPERM,
        reason: "changing the filesystem layout changes what paths in the policy mean",
    },
    Group {
        name: "keyring",
        syscalls: &[Sys::keyctl, Sys::add_key, Sys::request_key],
        errno: libc::EPERM,
        reason: "the kernel keyring is not namespaced and is a frequent exploit target",
    },
    Group {
        name: "kexec",
        syscalls: &[Sys::kexec_load, Sys::kexec_file_load, Sys::reboot],
        errno: libc::EPERM,
        reason: "replacing or rebooting the kernel",
    },
    Group {
        name: "modules",
        syscalls: &[Sys::init_module, Sys::finit_module, Sys::delete_module],
        errno: libc::EPERM,
        reason: "loading kernel modules",
    },
    Group {
        name: "handles",
        syscalls: &[Sys::open_by_handle_at],
        errno: libc::EPERM,
        reason: "opening files by handle bypasses path checks (the 'shocker' container escape)",
    },
    Group {
        name: "system",
        syscalls: &[
            Sys::swapon,
            Sys::swapoff,
            Sys::acct,
            Sys::settimeofday,
            Sys::clock_settime,
            Sys::clock_adjtime,
            Sys::sethostname,
            Sys::setdomainname,
            Sys::syslog,
            Sys::quotactl,
            Sys::quotactl_fd,
            Sys::lookup_dcookie,
            Sys::vhangup,
            Sys::iopl,
            Sys::ioperm,
            Sys::fanotify_init,
            Sys::uselib,
        ],
        errno: libc::EPERM,
        reason: "system administration calls: clock, swap, host name, kernel log, raw I/O \
                 ports, filesystem-wide monitoring",
    },
    // The groups below are argument-dependent: their syscalls are listed for lookup and
    // documentation, and the filter denies only the dangerous argument values.
    Group {
        name: "personality",
        syscalls: &[Sys::personality],
        errno: libc::EPERM,
        reason: "personality flags such as READ_IMPLIES_EXEC make every readable mapping \
                 executable, defeating the executable-memory checks",
    },
    Group {
        name: "raw_sockets",
        syscalls: &[Sys::socket],
        errno: libc::EAFNOSUPPORT,
        reason: "raw and packet sockets, and address families other than Unix, IPv4, IPv6 \
                 and netlink, send traffic the connect checks never see",
    },
    Group {
        name: "seccomp_listener",
        syscalls: &[Sys::seccomp],
        errno: libc::EPERM,
        reason: "a second seccomp listener installed by the function would receive its \
                 notifications first and could let them through",
    },
    Group {
        name: "capabilities",
        syscalls: &[],
        errno: libc::EPERM,
        reason: "capabilities such as CAP_NET_RAW (IP source routing) and CAP_NET_ADMIN (tunnels, \
                 neighbours) route traffic around the connect checks; they are dropped before \
                 the function starts (see crates/sensor/src/caps.rs)",
    },
    Group {
        name: "tty",
        syscalls: &[Sys::ioctl],
        errno: libc::EPERM,
        reason: "TIOCSTI and TIOCLINUX push input into the terminal the function shares with the \
                 user's shell: commands typed that way run outside the sensor once it exits",
    },
    Group {
        name: "ip_options",
        syscalls: &[Sys::setsockopt],
        errno: libc::EPERM,
        reason: "IPv6 routing headers (segment routing), hop-by-hop and destination options, a \
                 next-hop override and IPv4 options (source routes) send a packet somewhere \
                 other than the destination the connect checks approved; denied as socket \
                 options and as control messages of a send",
    },
    Group {
        name: "dumpable",
        syscalls: &[Sys::prctl],
        errno: libc::EPERM,
        reason: "PR_SET_DUMPABLE would hide the process from the sensor's inspection and \
                 PR_SET_MM could forge its executable",
    },
];

/// Names of the groups, for validating `hardening.allow`.
pub fn group_names() -> impl Iterator<Item = &'static str> {
    GROUPS.iter().map(|g| g.name)
}

/// The group a syscall belongs to.
pub fn group_of(sys: Sys) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.syscalls.contains(&sys))
}

/// The personality values a function may set: the default, the 32-bit and UNAME26 variants
/// Docker allows, and the query value.
pub const ALLOWED_PERSONALITIES: &[u32] = &[0, 0x0008, 0x2_0000, 0x2_0008, 0xffff_ffff];

/// Address families a function may open sockets in.
pub const ALLOWED_FAMILIES: &[u32] = &[
    libc::AF_UNIX as u32,
    libc::AF_INET as u32,
    libc::AF_INET6 as u32,
    libc::AF_NETLINK as u32,
];

/// IPv6 socket options (`setsockopt` at `IPPROTO_IPV6`) and control messages that take a
/// packet elsewhere than its destination or add extension headers: `IPV6_2292HOPOPTS`,
/// `IPV6_2292DSTOPTS`, `IPV6_2292RTHDR`, `IPV6_2292PKTOPTIONS` (a set of the others),
/// `IPV6_NEXTHOP`, `IPV6_HOPOPTS`, `IPV6_RTHDRDSTOPTS`, `IPV6_RTHDR`, `IPV6_DSTOPTS`
/// (<linux/in6.h>; the libc crate does not name them all).
pub const IPV6_STEERING: &[u32] = &[3, 4, 5, 6, 9, 54, 55, 57, 59];

/// IPv4 socket options and control messages carrying IP options (a source route among
/// them): `IP_OPTIONS`, `IP_RETOPTS`.
pub const IP_STEERING: &[u32] = &[libc::IP_OPTIONS as u32, libc::IP_RETOPTS as u32];

/// Is `(level, kind)`, a socket option or a control message, one of [`IPV6_STEERING`] or
/// [`IP_STEERING`]?
pub fn steers(level: i32, kind: i32) -> bool {
    let Ok(kind) = u32::try_from(kind) else {
        return false;
    };
    match level {
        libc::IPPROTO_IPV6 => IPV6_STEERING.contains(&kind),
        libc::IPPROTO_IP => IP_STEERING.contains(&kind),
        _ => false,
    }
}

/// `prctl` options that are denied.
pub const DENIED_PRCTL: &[u32] = &[libc::PR_SET_DUMPABLE as u32, libc::PR_SET_MM as u32];

/// `clone` flags that create namespaces (denied with the `namespaces` group).
pub const CLONE_NEW_MASK: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWCGROUP) as u32;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_in_one_group_and_names_unique() {
        let mut seen = std::collections::HashSet::new();
        for g in GROUPS {
            assert!(!g.reason.is_empty());
            for s in g.syscalls {
                assert!(seen.insert(*s), "{} is in two groups", s.name());
            }
        }
        let names: std::collections::HashSet<_> = group_names().collect();
        assert_eq!(names.len(), GROUPS.len());
    }
}
