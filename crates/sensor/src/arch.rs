//! The one place that knows the native architecture: its audit arch, its ABI quirks, and its
//! system call numbers by name. Everything else asks for syscalls by [`Sys`] name, so a port
//! (aarch64 is planned) only touches this file.

/// `AUDIT_ARCH_X86_64`: what `seccomp_data.arch` holds for native 64-bit calls.
#[cfg(target_arch = "x86_64")]
pub const AUDIT_ARCH: u32 = 0xc000_003e;

/// Syscall numbers with this bit set are x32 ABI calls on x86_64 (same arch value, different
/// table); the filter kills them.
#[cfg(target_arch = "x86_64")]
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

macro_rules! syscalls {
    ($($name:ident),* $(,)?) => {
        /// The system calls the sensor filters on, by name.
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Sys { $($name),* }

        impl Sys {
            /// Every syscall in the table.
            pub const ALL: &'static [Sys] = &[$(Sys::$name),*];

            /// The native syscall number.
            pub fn nr(self) -> u32 {
                // The libc constants are `c_long` but syscall numbers are small and positive.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                match self { $(Sys::$name => paste_nr!($name) as u32),* }
            }

            /// The syscall's name, as in `man 2`.
            pub fn name(self) -> &'static str {
                match self { $(Sys::$name => stringify!($name)),* }
            }
        }
    };
}

macro_rules! paste_nr {
    ($name:ident) => {
        sysno::$name
    };
}

/// The numbers, from the `libc` crate's per-architecture tables.
#[allow(non_upper_case_globals)]
mod sysno {
    pub use libc::{
        SYS_accept as accept, SYS_acct as acct, SYS_add_key as add_key, SYS_bind as bind,
        SYS_bpf as bpf, SYS_capset as capset, SYS_chmod as chmod, SYS_chown as chown,
        SYS_chroot as chroot, SYS_clock_adjtime as clock_adjtime,
        SYS_clock_settime as clock_settime, SYS_clone as clone, SYS_clone3 as clone3,
        SYS_connect as connect, SYS_creat as creat, SYS_delete_module as delete_module,
        SYS_execve as execve, SYS_execveat as execveat, SYS_fanotify_init as fanotify_init,
        SYS_fchmod as fchmod, SYS_fchmodat as fchmodat, SYS_fchmodat2 as fchmodat2,
        SYS_fchown as fchown, SYS_fchownat as fchownat, SYS_fcntl as fcntl,
        SYS_finit_module as finit_module, SYS_fork as fork, SYS_fremovexattr as fremovexattr,
        SYS_fsconfig as fsconfig, SYS_fsetxattr as fsetxattr, SYS_fsmount as fsmount,
        SYS_fsopen as fsopen, SYS_fspick as fspick, SYS_futimesat as futimesat,
        SYS_getppid as getppid, SYS_init_module as init_module,
        SYS_io_uring_enter as io_uring_enter, SYS_io_uring_register as io_uring_register,
        SYS_io_uring_setup as io_uring_setup, SYS_ioctl as ioctl, SYS_ioperm as ioperm,
        SYS_iopl as iopl, SYS_ioprio_set as ioprio_set, SYS_kcmp as kcmp,
        SYS_kexec_file_load as kexec_file_load, SYS_kexec_load as kexec_load, SYS_keyctl as keyctl,
        SYS_kill as kill, SYS_lchown as lchown, SYS_link as link, SYS_linkat as linkat,
        SYS_listen as listen, SYS_lookup_dcookie as lookup_dcookie,
        SYS_lremovexattr as lremovexattr, SYS_lsetxattr as lsetxattr,
        SYS_memfd_create as memfd_create, SYS_migrate_pages as migrate_pages, SYS_mkdir as mkdir,
        SYS_mkdirat as mkdirat, SYS_mknod as mknod, SYS_mknodat as mknodat, SYS_mmap as mmap,
        SYS_mount as mount, SYS_mount_setattr as mount_setattr, SYS_move_mount as move_mount,
        SYS_move_pages as move_pages, SYS_mprotect as mprotect,
        SYS_name_to_handle_at as name_to_handle_at, SYS_open as open,
        SYS_open_by_handle_at as open_by_handle_at, SYS_open_tree as open_tree,
        SYS_openat as openat, SYS_openat2 as openat2, SYS_perf_event_open as perf_event_open,
        SYS_personality as personality, SYS_pidfd_getfd as pidfd_getfd,
        SYS_pidfd_open as pidfd_open, SYS_pidfd_send_signal as pidfd_send_signal,
        SYS_pivot_root as pivot_root, SYS_pkey_mprotect as pkey_mprotect, SYS_prctl as prctl,
        SYS_prlimit64 as prlimit64, SYS_process_madvise as process_madvise,
        SYS_process_vm_readv as process_vm_readv, SYS_process_vm_writev as process_vm_writev,
        SYS_ptrace as ptrace, SYS_quotactl as quotactl, SYS_quotactl_fd as quotactl_fd,
        SYS_reboot as reboot, SYS_removexattr as removexattr, SYS_rename as rename,
        SYS_renameat as renameat, SYS_renameat2 as renameat2, SYS_request_key as request_key,
        SYS_rmdir as rmdir, SYS_rt_sigqueueinfo as rt_sigqueueinfo,
        SYS_rt_tgsigqueueinfo as rt_tgsigqueueinfo, SYS_sched_setaffinity as sched_setaffinity,
        SYS_sched_setattr as sched_setattr, SYS_sched_setparam as sched_setparam,
        SYS_sched_setscheduler as sched_setscheduler, SYS_seccomp as seccomp,
        SYS_sendmmsg as sendmmsg, SYS_sendmsg as sendmsg, SYS_sendto as sendto,
        SYS_setdomainname as setdomainname, SYS_setfsgid as setfsgid, SYS_setfsuid as setfsuid,
        SYS_setgid as setgid, SYS_setgroups as setgroups, SYS_sethostname as sethostname,
        SYS_setns as setns, SYS_setpgid as setpgid, SYS_setpriority as setpriority,
        SYS_setregid as setregid, SYS_setresgid as setresgid, SYS_setresuid as setresuid,
        SYS_setreuid as setreuid, SYS_setsockopt as setsockopt, SYS_settimeofday as settimeofday,
        SYS_setuid as setuid, SYS_setxattr as setxattr, SYS_shmat as shmat, SYS_socket as socket,
        SYS_swapoff as swapoff, SYS_swapon as swapon, SYS_symlink as symlink,
        SYS_symlinkat as symlinkat, SYS_syslog as syslog, SYS_tgkill as tgkill, SYS_tkill as tkill,
        SYS_truncate as truncate, SYS_umount2 as umount2, SYS_unlink as unlink,
        SYS_unlinkat as unlinkat, SYS_unshare as unshare, SYS_uselib as uselib,
        SYS_userfaultfd as userfaultfd, SYS_utime as utime, SYS_utimensat as utimensat,
        SYS_utimes as utimes, SYS_vfork as vfork, SYS_vhangup as vhangup,
    };
}

syscalls! {
    accept, acct, add_key, bind, bpf, chroot, clock_adjtime, clock_settime, clone, clone3,
    connect, creat, delete_module, execve, execveat, fanotify_init, finit_module, fork,
    fsconfig, fsmount, fsopen, fspick, init_module, io_uring_enter, io_uring_register,
    io_uring_setup, ioperm, iopl, kexec_file_load, kexec_load, keyctl, kill, link, linkat,
    listen, lookup_dcookie, memfd_create, mkdir, mkdirat, mknod, mknodat, mmap, mount,
    mount_setattr, move_mount, mprotect, name_to_handle_at, open, open_by_handle_at, open_tree,
    openat, openat2, perf_event_open, personality, pidfd_getfd, pidfd_open, pidfd_send_signal,
    pivot_root, pkey_mprotect, prctl, process_madvise, process_vm_readv, process_vm_writev,
    ptrace, quotactl, reboot, rename, renameat, renameat2, request_key, rmdir,
    rt_sigqueueinfo, rt_tgsigqueueinfo, seccomp, sendmmsg, sendmsg, sendto, setdomainname,
    sethostname, setns, setpgid, settimeofday, shmat, socket, swapoff, swapon, symlink,
    symlinkat, syslog, tgkill, tkill, truncate, umount2, unlink, unlinkat, unshare, uselib,
    userfaultfd, vfork, vhangup, quotactl_fd, getppid, kcmp, fcntl, ioctl, prlimit64,
    sched_setaffinity, sched_setscheduler, sched_setparam, sched_setattr, setpriority, ioprio_set,
    migrate_pages, move_pages, setuid, setgid, setreuid, setregid, setresuid, setresgid,
    setfsuid, setfsgid, setgroups, capset, chmod, fchmod, fchmodat, fchmodat2, chown, fchown,
    lchown, fchownat, setxattr, lsetxattr, fsetxattr, removexattr, lremovexattr, fremovexattr,
    utime, utimes, utimensat, futimesat, setsockopt,
}

impl Sys {
    /// Looks a native syscall number up in the table.
    pub fn from_nr(nr: i32) -> Option<Sys> {
        let nr = u32::try_from(nr).ok()?;
        Sys::ALL.iter().copied().find(|s| s.nr() == nr)
    }

    /// Looks a syscall up by name.
    pub fn from_name(name: &str) -> Option<Sys> {
        Sys::ALL.iter().copied().find(|s| s.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_known() {
        let mut seen = std::collections::HashSet::new();
        for s in Sys::ALL {
            assert!(seen.insert(s.nr()), "{} shares a number", s.name());
        }
        assert_eq!(Sys::execve.nr(), 59);
        assert_eq!(Sys::from_name("connect"), Some(Sys::connect));
        assert_eq!(Sys::from_nr(42), Some(Sys::connect));
    }
}
