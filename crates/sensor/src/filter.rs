//! Compiling a policy into the in-kernel seccomp program.
//!
//! Shape of the program:
//! 1. `arch` must be the native one, and the number must not carry the x32 bit; any other
//!    ABI (i386 `int 0x80`, x32) kills the process — never mapped onto the wrong table;
//! 2. a binary decision tree over the syscall numbers that have a rule; every other syscall
//!    (read, write, futex, getppid, …) is allowed without evaluating anything else, and the
//!    kernel's seccomp action cache skips the filter for them altogether;
//! 3. per-syscall rules that look at integer arguments so only interesting calls reach the
//!    supervisor: opens with write/create/truncate flags, `mmap`/`mprotect` with `PROT_EXEC`,
//!    `clone` without `CLONE_THREAD`, `sendto` with a destination, signals aimed at the
//!    supervisor, and so on.
//!
//! Two layers share the rules: with a supervisor ([`Layer::Supervised`]) interesting calls
//! are *notified*; without one ([`Layer::KernelOnly`]) each is decided statically from the
//! policy, which is weaker (no pointer arguments can be checked) and says so.

use crate::arch::{Sys, AUDIT_ARCH, X32_SYSCALL_BIT};
use crate::bpf::{data, Asm, BpfError, Program};
use crate::hardening::{
    self, ALLOWED_FAMILIES, ALLOWED_PERSONALITIES, CLONE_NEW_MASK, DENIED_PRCTL,
};
use std::collections::{BTreeMap, HashSet};
use vigil_policy::{Mode, Policy};

/// `SECCOMP_RET_*` values.
pub mod ret {
    /// Kill the whole process.
    pub const KILL_PROCESS: u32 = 0x8000_0000;
    /// Fail with errno (low 16 bits).
    pub const ERRNO: u32 = 0x0005_0000;
    /// Hand the call to the listener.
    pub const USER_NOTIF: u32 = 0x7fc0_0000;
    /// Allow.
    pub const ALLOW: u32 = 0x7fff_0000;
}

/// What the program does with the interesting calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// Notify a supervisor, which reads pointer arguments and decides.
    Supervised,
    /// No supervisor: decide each call statically from the policy.
    KernelOnly,
}

/// The processes the function must not signal: the supervisor (and its process group).
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Process ids (thread group ids; the supervisor is single-threaded).
    pub pids: Vec<u32>,
    /// Process group ids.
    pub pgids: Vec<u32>,
}

/// Everything the program depends on.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// Supervised or kernel-only.
    pub layer: Layer,
    /// The mode (kernel-only enforce denies statically what the policy cannot allow).
    pub mode: Mode,
    /// The policy.
    pub policy: &'a Policy,
    /// Who must not be signalled.
    pub protected: Protected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    Allow,
    /// Interesting: the supervisor decides (or, kernel-only, the static decision).
    Watch,
    /// A hardening or tamper denial: the supervisor answers with an event; kernel-only, errno.
    Deny(i32),
    Errno(i32),
}

#[derive(Debug, Clone, Copy)]
enum Test {
    Eq(u32),
    AnySet(u32),
    MaskedEq { mask: u32, value: u32 },
}

#[derive(Debug, Clone)]
struct Check {
    off: u32,
    test: Test,
    then: Then,
}

/// What a matching check leads to: a verdict, or more checks (a conjunction).
#[derive(Debug, Clone)]
enum Then {
    Verdict(V),
    Rule(Box<Rule>),
}

#[derive(Debug, Clone)]
struct Rule {
    checks: Vec<Check>,
    otherwise: V,
}

impl Rule {
    fn always(v: V) -> Self {
        Rule {
            checks: Vec::new(),
            otherwise: v,
        }
    }
}

fn lo(arg: u8, test: Test, v: V) -> Check {
    Check {
        off: data::arg_lo(arg),
        test,
        then: Then::Verdict(v),
    }
}

fn hi(arg: u8, test: Test, v: V) -> Check {
    Check {
        off: data::arg_hi(arg),
        test,
        then: Then::Verdict(v),
    }
}

/// When argument `arg` passes `test`, apply `rule` (whose own checks see the other arguments).
fn lo_then(arg: u8, test: Test, rule: Rule) -> Check {
    Check {
        off: data::arg_lo(arg),
        test,
        then: Then::Rule(Box::new(rule)),
    }
}

/// Open flags that make an open a write: the access mode, create, truncate (`O_RDONLY|O_TRUNC`
/// truncates on Linux), and `O_TMPFILE` (which requires a write mode anyway).
pub const OPEN_WRITE_MASK: u32 =
    (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC) as u32;

/// `fcntl` command taking a `struct f_owner_ex *`.
pub const F_SETOWN_EX: u32 = 15;
/// `ioctl` requests setting a socket's owner from an `int *`.
pub const FIOSETOWN: u32 = 0x8901;
/// See [`FIOSETOWN`].
pub const SIOCSPGRP: u32 = 0x8902;

/// The obsolete `SOCK_PACKET` socket type (deprecated in libc, still accepted by the kernel).
const SOCK_PACKET: u32 = 10;

fn rules(spec: &Spec<'_>) -> BTreeMap<Sys, Rule> {
    use Sys::*;
    let mut r: BTreeMap<Sys, Rule> = BTreeMap::new();
    let watch = Rule::always(V::Watch);

    // Process creation takes only integer arguments, so it is decided here whenever the
    // answer is "allow" (learn mode, or a policy with `fork: true`): a notified fork can be
    // interrupted by a signal before the supervisor reads it, and fork is not expected to fail
    // with EINTR (a shell's `Cannot fork`). Learn mode infers forks from the processes it sees.
    let fork_allowed = spec.mode == Mode::Learn || spec.policy.process.fork;
    let fork_verdict = if fork_allowed { V::Allow } else { V::Watch };
    r.insert(fork, Rule::always(fork_verdict));
    r.insert(vfork, Rule::always(fork_verdict));
    for s in [
        execve,
        execveat,
        connect,
        bind,
        listen,
        sendmsg,
        sendmmsg,
        creat,
        openat2,
        truncate,
        rename,
        renameat,
        renameat2,
        link,
        linkat,
        symlink,
        symlinkat,
        unlink,
        unlinkat,
        mkdir,
        mkdirat,
        rmdir,
        mknod,
        mknodat,
        memfd_create,
        pidfd_send_signal,
    ] {
        r.insert(s, watch.clone());
    }
    r.insert(clone3, Rule::always(V::Errno(libc::ENOSYS)));
    r.insert(
        clone,
        Rule {
            checks: vec![
                lo(0, Test::AnySet(CLONE_NEW_MASK), V::Deny(libc::EPERM)),
                lo(0, Test::AnySet(libc::CLONE_THREAD as u32), V::Allow),
                // A child whose parent is not the process that forked it: the supervisor
                // must know (see `Supervisor::lineage_exact`).
                lo(0, Test::AnySet(libc::CLONE_PARENT as u32), V::Watch),
                // A process sharing its forker's descriptors or working directory without
                // being a thread: the supervisor must know (see `script_name_pinned`).
                lo(
                    0,
                    Test::AnySet((libc::CLONE_FILES | libc::CLONE_FS) as u32),
                    V::Watch,
                ),
            ],
            otherwise: fork_verdict,
        },
    );
    r.insert(
        sendto,
        Rule {
            checks: vec![
                lo(4, Test::AnySet(u32::MAX), V::Watch),
                hi(4, Test::AnySet(u32::MAX), V::Watch),
            ],
            otherwise: V::Allow,
        },
    );
    let open_rule = |arg| Rule {
        checks: vec![
            lo(arg, Test::AnySet(libc::O_PATH as u32), V::Allow),
            lo(arg, Test::AnySet(OPEN_WRITE_MASK), V::Watch),
        ],
        otherwise: V::Allow,
    };
    r.insert(open, open_rule(1));
    r.insert(openat, open_rule(2));
    let exec_prot = Rule {
        checks: vec![lo(2, Test::AnySet(libc::PROT_EXEC as u32), V::Watch)],
        otherwise: V::Allow,
    };
    r.insert(mmap, exec_prot.clone());
    r.insert(mprotect, exec_prot.clone());
    r.insert(pkey_mprotect, exec_prot);
    r.insert(
        shmat,
        Rule {
            checks: vec![lo(2, Test::AnySet(libc::SHM_EXEC as u32), V::Watch)],
            otherwise: V::Allow,
        },
    );

    // Tampering: signals and pidfds aimed at the supervisor, `kill(-1)`, its process group,
    // and joining its process group.
    let tamper = V::Deny(libc::EPERM);
    let pid_checks = |arg: u8| -> Vec<Check> {
        spec.protected
            .pids
            .iter()
            .map(|p| lo(arg, Test::Eq(*p), tamper))
            .collect()
    };
    let mut kill_checks = pid_checks(0);
    kill_checks.push(lo(0, Test::Eq(u32::MAX), tamper)); // kill(-1, …): every process
    for g in &spec.protected.pgids {
        kill_checks.push(lo(0, Test::Eq(g.wrapping_neg()), tamper)); // kill(-pgid, …)
    }
    r.insert(
        kill,
        Rule {
            checks: kill_checks,
            otherwise: V::Allow,
        },
    );
    for s in [tkill, rt_sigqueueinfo, pidfd_open] {
        r.insert(
            s,
            Rule {
                checks: pid_checks(0),
                otherwise: V::Allow,
            },
        );
    }
    for s in [tgkill, rt_tgsigqueueinfo] {
        let mut c = pid_checks(0);
        c.extend(pid_checks(1));
        r.insert(
            s,
            Rule {
                checks: c,
                otherwise: V::Allow,
            },
        );
    }
    r.insert(
        setpgid,
        Rule {
            checks: spec
                .protected
                .pgids
                .iter()
                .map(|g| lo(1, Test::Eq(*g), tamper))
                .collect(),
            otherwise: V::Allow,
        },
    );

    // Other ways to reach the supervisor through its pid: resource limits (RLIMIT_CPU kills),
    // scheduling, memory policy, and making it the target of SIGIO (F_SETOWN; the signal is
    // chosen with F_SETSIG and may be SIGKILL).
    for s in [
        prlimit64,
        sched_setaffinity,
        sched_setscheduler,
        sched_setparam,
        sched_setattr,
        migrate_pages,
        move_pages,
    ] {
        r.insert(
            s,
            Rule {
                checks: pid_checks(0),
                otherwise: V::Allow,
            },
        );
    }
    let mut owners: Vec<Check> = pid_checks(2);
    owners.extend(
        spec.protected
            .pgids
            .iter()
            .map(|g| lo(2, Test::Eq(g.wrapping_neg()), tamper)),
    );
    r.insert(
        fcntl,
        Rule {
            checks: vec![
                lo_then(
                    1,
                    Test::Eq(libc::F_SETOWN as u32),
                    Rule {
                        checks: owners,
                        otherwise: V::Allow,
                    },
                ),
                // The owner is in a struct the filter cannot read: the supervisor checks it.
                lo(1, Test::Eq(F_SETOWN_EX), V::Watch),
            ],
            otherwise: V::Allow,
        },
    );
    r.insert(
        ioctl,
        Rule {
            checks: vec![
                lo(1, Test::Eq(FIOSETOWN), V::Watch),
                lo(1, Test::Eq(SIOCSPGRP), V::Watch),
                // Typing into the terminal the function shares with the user's shell runs
                // commands outside the sensor once it exits.
                lo(1, Test::Eq(libc::TIOCSTI as u32), V::Deny(libc::EPERM)),
                lo(1, Test::Eq(libc::TIOCLINUX as u32), V::Deny(libc::EPERM)),
            ],
            otherwise: V::Allow,
        },
    );
    // setpriority(which, who, …) and ioprio_set(which, who, …): `who` is a pid for
    // PRIO_PROCESS / IOPRIO_WHO_PROCESS (0 / 1) and a process group for PRIO_PGRP / IOPRIO_WHO_PGRP.
    let who = |process: u32, pgrp: u32| -> Vec<Check> {
        vec![
            lo_then(
                0,
                Test::Eq(process),
                Rule {
                    checks: pid_checks(1),
                    otherwise: V::Allow,
                },
            ),
            lo_then(
                0,
                Test::Eq(pgrp),
                Rule {
                    checks: spec
                        .protected
                        .pgids
                        .iter()
                        .map(|g| lo(1, Test::Eq(*g), tamper))
                        .collect(),
                    otherwise: V::Allow,
                },
            ),
        ]
    };
    // PRIO_USER / IOPRIO_WHO_USER (2 / 3) reach every process of a user, the supervisor's too.
    let mut prio = who(0, 1);
    prio.push(lo(0, Test::Eq(2), tamper));
    r.insert(
        setpriority,
        Rule {
            checks: prio,
            otherwise: V::Allow,
        },
    );
    let mut ioprio = who(1, 2);
    ioprio.push(lo(0, Test::Eq(3), tamper));
    r.insert(
        ioprio_set,
        Rule {
            checks: ioprio,
            otherwise: V::Allow,
        },
    );

    // Metadata changes are writes too: modes (setuid bits), owners, extended attributes
    // (`security.capability`), times.
    for s in [
        chmod,
        fchmod,
        fchmodat,
        fchmodat2,
        chown,
        fchown,
        lchown,
        fchownat,
        setxattr,
        lsetxattr,
        fsetxattr,
        removexattr,
        lremovexattr,
        fremovexattr,
        utime,
        utimes,
        utimensat,
        futimesat,
    ] {
        r.insert(s, Rule::always(V::Watch));
    }

    // Credential changes: the supervisor acts for processes only while their credentials are
    // its own, so it must hear of every change (it re-reads them; the call goes on).
    for s in [
        setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid, setgroups,
        capset,
    ] {
        r.insert(s, Rule::always(V::Watch));
    }

    // Hardening: whole syscalls, then the argument-dependent groups.
    for g in hardening::GROUPS {
        for s in g.syscalls {
            r.entry(*s)
                .or_insert_with(|| Rule::always(V::Deny(g.errno)));
        }
    }
    r.insert(
        personality,
        Rule {
            checks: ALLOWED_PERSONALITIES
                .iter()
                .map(|p| lo(0, Test::Eq(*p), V::Allow))
                .collect(),
            otherwise: V::Deny(libc::EPERM),
        },
    );
    let raw = V::Deny(libc::EAFNOSUPPORT);
    let mut socket_checks = vec![
        lo(0, Test::Eq(libc::AF_UNIX as u32), V::Allow),
        lo(0, Test::Eq(libc::AF_NETLINK as u32), V::Allow),
        lo(
            1,
            Test::MaskedEq {
                mask: 0xf,
                value: libc::SOCK_RAW as u32,
            },
            raw,
        ),
        lo(
            1,
            Test::MaskedEq {
                mask: 0xf,
                value: SOCK_PACKET,
            },
            raw,
        ),
    ];
    socket_checks.extend(
        ALLOWED_FAMILIES
            .iter()
            .map(|f| lo(0, Test::Eq(*f), V::Allow)),
    );
    r.insert(
        socket,
        Rule {
            checks: socket_checks,
            otherwise: raw,
        },
    );
    let steering = |opts: &[u32]| Rule {
        checks: opts
            .iter()
            .map(|o| lo(2, Test::Eq(*o), V::Deny(libc::EPERM)))
            .collect(),
        otherwise: V::Allow,
    };
    r.insert(
        setsockopt,
        Rule {
            checks: vec![
                lo_then(
                    1,
                    Test::Eq(libc::IPPROTO_IPV6 as u32),
                    steering(hardening::IPV6_STEERING),
                ),
                lo_then(
                    1,
                    Test::Eq(libc::IPPROTO_IP as u32),
                    steering(hardening::IP_STEERING),
                ),
            ],
            otherwise: V::Allow,
        },
    );
    r.insert(
        seccomp,
        Rule {
            checks: vec![lo(
                1,
                Test::AnySet(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32),
                V::Deny(libc::EPERM),
            )],
            otherwise: V::Allow,
        },
    );
    r.insert(
        prctl,
        Rule {
            checks: DENIED_PRCTL
                .iter()
                .map(|o| lo(0, Test::Eq(*o), V::Deny(libc::EPERM)))
                // A subreaper adopts orphans it did not fork (see `Supervisor::lineage_exact`).
                .chain([lo(
                    0,
                    Test::Eq(libc::PR_SET_CHILD_SUBREAPER as u32),
                    V::Watch,
                )])
                .collect(),
            otherwise: V::Allow,
        },
    );

    // Exempted hardening groups are allowed outright.
    let exempt: HashSet<&str> = spec
        .policy
        .hardening_allow
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    for g in hardening::GROUPS.iter().filter(|g| exempt.contains(g.name)) {
        if g.name == "tty" {
            // Only the two requests are denied; ioctl itself stays watched for SIGIO owners.
            if let Some(rule) = r.get_mut(&ioctl) {
                rule.checks.retain(|ch| {
                    !matches!(ch.test, Test::Eq(k) if k == libc::TIOCSTI as u32 || k == libc::TIOCLINUX as u32)
                });
            }
            continue;
        }
        for s in g.syscalls {
            r.insert(*s, Rule::always(V::Allow));
        }
        if g.name == "namespaces" {
            if let Some(c) = r.get_mut(&clone) {
                c.checks
                    .retain(|ch| !matches!(ch.test, Test::AnySet(m) if m == CLONE_NEW_MASK));
            }
        }
    }
    r
}

/// Without a supervisor, what a watched call gets: allowed when the policy might allow it
/// (its arguments cannot be checked), denied when the policy allows none of its kind.
fn kernel_only_verdict(sys: Sys, spec: &Spec<'_>) -> V {
    use Sys::*;
    if spec.mode != Mode::Enforce {
        return V::Allow;
    }
    let p = spec.policy;
    let none = |empty: bool, errno| if empty { V::Errno(errno) } else { V::Allow };
    match sys {
        fork | vfork | clone => none(!p.process.fork, libc::EPERM),
        connect | sendto | sendmsg | sendmmsg => none(p.network.connect.is_empty(), libc::EPERM),
        listen => none(p.network.listen.is_empty(), libc::EPERM),
        chmod | fchmod | fchmodat | fchmodat2 | chown | fchown | lchown | fchownat | setxattr
        | lsetxattr | fsetxattr | removexattr | lremovexattr | fremovexattr | utime | utimes
        | utimensat | futimesat => none(p.files.write.is_empty(), libc::EPERM),
        open | openat | creat | openat2 | truncate | rename | renameat | renameat2 | link
        | linkat | symlink | symlinkat | unlink | unlinkat | mkdir | mkdirat | rmdir | mknod
        | mknodat => none(p.files.write.is_empty(), libc::EACCES),
        memfd_create => none(!p.memory.memfd, libc::EPERM),
        shmat => none(!p.memory.anonymous_execute, libc::EPERM),
        // Without a supervisor the target of a pidfd cannot be checked.
        pidfd_send_signal => V::Errno(libc::EPERM),
        _ => V::Allow,
    }
}

fn verdict_value(v: V, sys: Sys, spec: &Spec<'_>) -> u32 {
    let errno = |e: i32| ret::ERRNO | (e as u32 & 0xffff);
    match (spec.layer, v) {
        (_, V::Allow) => ret::ALLOW,
        (_, V::Errno(e)) => errno(e),
        (Layer::Supervised, V::Watch | V::Deny(_)) => ret::USER_NOTIF,
        (Layer::KernelOnly, V::Deny(e)) => errno(e),
        (Layer::KernelOnly, V::Watch) => match kernel_only_verdict(sys, spec) {
            V::Errno(e) => errno(e),
            _ => ret::ALLOW,
        },
    }
}

fn emit_rule(asm: &mut Asm, sys: Sys, rule: &Rule, spec: &Spec<'_>) {
    // Kernel-only: W+X mappings are decidable from the integer `prot`.
    if spec.layer == Layer::KernelOnly
        && matches!(sys, Sys::mmap | Sys::mprotect | Sys::pkey_mprotect)
    {
        let wx = (libc::PROT_WRITE | libc::PROT_EXEC) as u32;
        let allow = spec.mode != Mode::Enforce || spec.policy.memory.write_execute;
        asm.load(data::arg_lo(2));
        asm.and(wx);
        let ok = asm.label();
        asm.jeq(wx, None, Some(ok));
        asm.ret(if allow {
            ret::ALLOW
        } else {
            ret::ERRNO | libc::EPERM as u32
        });
        asm.bind(ok);
        asm.ret(ret::ALLOW);
        return;
    }
    emit_checks(asm, sys, rule, spec);
}

fn emit_checks(asm: &mut Asm, sys: Sys, rule: &Rule, spec: &Spec<'_>) {
    for c in &rule.checks {
        let skip = asm.label();
        asm.load(c.off);
        match c.test {
            Test::Eq(k) => asm.jeq(k, None, Some(skip)),
            Test::AnySet(k) => asm.jset(k, None, Some(skip)),
            Test::MaskedEq { mask, value } => {
                asm.and(mask);
                asm.jeq(value, None, Some(skip));
            }
        }
        match &c.then {
            Then::Verdict(v) => asm.ret(verdict_value(*v, sys, spec)),
            // The nested rule always returns, so falling through to `skip` cannot happen.
            Then::Rule(r) => emit_checks(asm, sys, r, spec),
        }
        asm.bind(skip);
    }
    asm.ret(verdict_value(rule.otherwise, sys, spec));
}

fn emit_tree(asm: &mut Asm, entries: &[(u32, Sys, Rule)], spec: &Spec<'_>) {
    match entries {
        [] => asm.ret(ret::ALLOW),
        [(nr, sys, rule)] => {
            let other = asm.label();
            asm.jeq(*nr, None, Some(other));
            emit_rule(asm, *sys, rule, spec);
            asm.bind(other);
            asm.ret(ret::ALLOW);
        }
        _ => {
            let mid = entries.len() / 2;
            let (left, right) = entries.split_at(mid);
            let left_l = asm.label();
            let right_l = asm.label();
            // The accumulator still holds `nr` here: rules load arguments only in leaves,
            // which always return.
            asm.jge(right[0].0, None, Some(left_l));
            asm.ja(right_l);
            asm.bind(left_l);
            emit_tree(asm, left, spec);
            asm.bind(right_l);
            emit_tree(asm, right, spec);
        }
    }
}

/// Builds the program.
pub fn build(spec: &Spec<'_>) -> Result<Program, BpfError> {
    let mut entries: Vec<(u32, Sys, Rule)> = rules(spec)
        .into_iter()
        .map(|(s, r)| (s.nr(), s, r))
        .collect();
    entries.sort_by_key(|e| e.0);
    let mut asm = Asm::new();
    let native = asm.label();
    let tree = asm.label();
    asm.load(data::ARCH);
    asm.jeq(AUDIT_ARCH, Some(native), None);
    asm.ret(ret::KILL_PROCESS);
    asm.bind(native);
    asm.load(data::NR);
    asm.jge(X32_SYSCALL_BIT, None, Some(tree));
    asm.ret(ret::KILL_PROCESS);
    asm.bind(tree);
    emit_tree(&mut asm, &entries, spec);
    asm.finish()
}

/// A filter that allows everything (after the same arch check): the floor any seccomp sensor
/// pays, used by the benchmark and by `vigil probe`.
pub fn allow_all() -> Program {
    let mut asm = Asm::new();
    let kill = asm.label();
    asm.load(data::ARCH);
    asm.jeq(AUDIT_ARCH, None, Some(kill));
    asm.ret(ret::ALLOW);
    asm.bind(kill);
    asm.ret(ret::KILL_PROCESS);
    // Four instructions with resolved labels cannot fail to assemble.
    asm.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::interpret;

    fn spec(policy: &Policy, layer: Layer) -> Spec<'_> {
        Spec {
            layer,
            mode: Mode::Enforce,
            policy,
            protected: Protected {
                pids: vec![4242],
                pgids: vec![4240],
            },
        }
    }

    fn run(p: &Program, sys: Sys, args: [u64; 6]) -> u32 {
        interpret(p, sys.nr(), AUDIT_ARCH, args).expect("program returns")
    }

    #[test]
    fn decisions() {
        let policy = Policy::default();
        let p = build(&spec(&policy, Layer::Supervised)).unwrap();
        let n = ret::USER_NOTIF;
        let a = ret::ALLOW;
        // Hot calls are allowed without a look at the arguments.
        assert_eq!(run(&p, Sys::getppid, [0; 6]), a);
        assert_eq!(interpret(&p, 0, AUDIT_ARCH, [0; 6]), Some(a)); // read
                                                                   // Opens: read-only allowed, writes and O_TRUNC notified, O_PATH allowed.
        assert_eq!(
            run(&p, Sys::openat, [0, 0, libc::O_RDONLY as u64, 0, 0, 0]),
            a
        );
        assert_eq!(
            run(
                &p,
                Sys::openat,
                [0, 0, (libc::O_RDONLY | libc::O_TRUNC) as u64, 0, 0, 0]
            ),
            n
        );
        assert_eq!(
            run(&p, Sys::open, [0, libc::O_WRONLY as u64, 0, 0, 0, 0]),
            n
        );
        assert_eq!(
            run(
                &p,
                Sys::openat,
                [0, 0, (libc::O_PATH | libc::O_CREAT) as u64, 0, 0, 0]
            ),
            a
        );
        // The upper half of an int argument is ignored, as the kernel ignores it.
        assert_eq!(
            run(&p, Sys::openat, [0, 0, 0xffff_ffff_0000_0000, 0, 0, 0]),
            a
        );
        // mmap: only PROT_EXEC.
        assert_eq!(run(&p, Sys::mmap, [0, 4096, 3, 0x22, u64::MAX, 0]), a);
        assert_eq!(run(&p, Sys::mmap, [0, 4096, 5, 0x2, 3, 0]), n);
        // clone: threads in kernel, processes notified, namespaces notified (denied).
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(run(&p, Sys::clone, [thread, 0, 0, 0, 0, 0]), a);
        assert_eq!(
            run(&p, Sys::clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            n
        );
        assert_eq!(
            run(
                &p,
                Sys::clone,
                [thread | libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]
            ),
            n
        );
        assert_eq!(
            run(&p, Sys::clone3, [0; 6]),
            ret::ERRNO | libc::ENOSYS as u32
        );
        // sendto: only with an address, in either half of the pointer.
        assert_eq!(run(&p, Sys::sendto, [3, 0, 10, 0, 0, 0]), a);
        assert_eq!(run(&p, Sys::sendto, [3, 0, 10, 0, 0x7fff_0000_0000, 16]), n);
        // Tampering.
        assert_eq!(run(&p, Sys::kill, [4242, 9, 0, 0, 0, 0]), n);
        assert_eq!(run(&p, Sys::kill, [u32::MAX as u64, 9, 0, 0, 0, 0]), n);
        assert_eq!(run(&p, Sys::kill, [(-4240i64) as u64, 9, 0, 0, 0, 0]), n);
        assert_eq!(run(&p, Sys::kill, [4243, 9, 0, 0, 0, 0]), a);
        assert_eq!(run(&p, Sys::tgkill, [1, 4242, 9, 0, 0, 0]), n);
        assert_eq!(run(&p, Sys::setpgid, [0, 4240, 0, 0, 0, 0]), n);
        // Hardening.
        assert_eq!(run(&p, Sys::io_uring_setup, [0; 6]), n);
        assert_eq!(run(&p, Sys::personality, [0xffff_ffff, 0, 0, 0, 0, 0]), a);
        assert_eq!(run(&p, Sys::personality, [0x040_0000, 0, 0, 0, 0, 0]), n);
        assert_eq!(
            run(
                &p,
                Sys::socket,
                [
                    libc::AF_INET as u64,
                    libc::SOCK_STREAM as u64 | 0x80000,
                    0,
                    0,
                    0,
                    0
                ]
            ),
            a
        );
        assert_eq!(
            run(
                &p,
                Sys::socket,
                [libc::AF_INET as u64, libc::SOCK_RAW as u64, 1, 0, 0, 0]
            ),
            n
        );
        assert_eq!(
            run(
                &p,
                Sys::socket,
                [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0]
            ),
            a
        );
        assert_eq!(
            run(
                &p,
                Sys::socket,
                [libc::AF_PACKET as u64, libc::SOCK_DGRAM as u64, 0, 0, 0, 0]
            ),
            n
        );
        assert_eq!(run(&p, Sys::seccomp, [1, 8, 0, 0, 0, 0]), n);
        assert_eq!(
            run(
                &p,
                Sys::prctl,
                [libc::PR_SET_DUMPABLE as u64, 1, 0, 0, 0, 0]
            ),
            n
        );
        assert_eq!(
            run(&p, Sys::prctl, [libc::PR_SET_NAME as u64, 1, 0, 0, 0, 0]),
            a
        );
        // Socket options that route around the connect checks; others, at any level, go on.
        let opt = |level: i32, name: u32| {
            run(
                &p,
                Sys::setsockopt,
                [3, level as u64, u64::from(name), 0, 0, 0],
            )
        };
        assert_eq!(opt(libc::IPPROTO_IPV6, 57), n, "IPV6_RTHDR");
        assert_eq!(opt(libc::IPPROTO_IPV6, 9), n, "IPV6_NEXTHOP");
        assert_eq!(opt(libc::IPPROTO_IP, libc::IP_OPTIONS as u32), n);
        assert_eq!(opt(libc::IPPROTO_IPV6, libc::IPV6_V6ONLY as u32), a);
        assert_eq!(opt(libc::IPPROTO_IP, libc::IP_TOS as u32), a);
        assert_eq!(
            opt(libc::SOL_SOCKET, 57),
            a,
            "the same number at another level"
        );
        assert_eq!(opt(libc::IPPROTO_TCP, libc::TCP_NODELAY as u32), a);
    }

    #[test]
    fn allowed_forks_are_decided_in_the_kernel() {
        let policy = vigil_policy::parse("p", "version: 1\nprocess:\n  fork: true\n").unwrap();
        let p = build(&spec(&policy, Layer::Supervised)).unwrap();
        assert_eq!(
            run(&p, Sys::clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]),
            ret::ALLOW
        );
        assert_eq!(run(&p, Sys::vfork, [0; 6]), ret::ALLOW);
        // A child whose parent is not its forker, and a process adopting orphans, are
        // told to the supervisor even so.
        let sibling = (libc::CLONE_PARENT | libc::SIGCHLD) as u64;
        assert_eq!(
            run(&p, Sys::clone, [sibling, 0, 0, 0, 0, 0]),
            ret::USER_NOTIF
        );
        let subreaper = libc::PR_SET_CHILD_SUBREAPER as u64;
        assert_eq!(
            run(&p, Sys::prctl, [subreaper, 1, 0, 0, 0, 0]),
            ret::USER_NOTIF
        );
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_PARENT) as u64;
        assert_eq!(run(&p, Sys::clone, [thread, 0, 0, 0, 0, 0]), ret::ALLOW);
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_NEWNET) as u64;
        assert_eq!(
            run(&p, Sys::clone, [thread, 0, 0, 0, 0, 0]),
            ret::USER_NOTIF,
            "namespaces still denied"
        );
        let empty = Policy::default();
        let learn = Spec {
            mode: Mode::Learn,
            ..spec(&empty, Layer::Supervised)
        };
        let p = build(&learn).unwrap();
        assert_eq!(run(&p, Sys::fork, [0; 6]), ret::ALLOW);
    }

    #[test]
    fn other_abis_are_killed() {
        let policy = Policy::default();
        let p = build(&spec(&policy, Layer::Supervised)).unwrap();
        const AUDIT_ARCH_I386: u32 = 0x4000_0003;
        assert_eq!(
            interpret(&p, 11, AUDIT_ARCH_I386, [0; 6]),
            Some(ret::KILL_PROCESS)
        );
        assert_eq!(
            interpret(&p, X32_SYSCALL_BIT | 59, AUDIT_ARCH, [0; 6]),
            Some(ret::KILL_PROCESS)
        );
    }

    #[test]
    fn kernel_only_decides_statically() {
        let policy = Policy::default();
        let p = build(&spec(&policy, Layer::KernelOnly)).unwrap();
        let eperm = ret::ERRNO | libc::EPERM as u32;
        assert_eq!(run(&p, Sys::connect, [0; 6]), eperm);
        assert_eq!(run(&p, Sys::fork, [0; 6]), eperm);
        assert_eq!(run(&p, Sys::mmap, [0, 4096, 7, 0x22, u64::MAX, 0]), eperm);
        assert_eq!(run(&p, Sys::mmap, [0, 4096, 5, 0x2, 3, 0]), ret::ALLOW);
        assert_eq!(run(&p, Sys::ptrace, [0; 6]), eperm);
        assert_eq!(run(&p, Sys::execve, [0; 6]), ret::ALLOW);
    }

    #[test]
    fn exempt_group_is_allowed() {
        let policy =
            vigil_policy::parse("p", "version: 1\nhardening:\n  allow: [io_uring]\n").unwrap();
        let p = build(&spec(&policy, Layer::Supervised)).unwrap();
        assert_eq!(run(&p, Sys::io_uring_setup, [0; 6]), ret::ALLOW);
        assert_eq!(run(&p, Sys::ptrace, [0; 6]), ret::USER_NOTIF);
    }
}
