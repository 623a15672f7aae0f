//! The sensor against hostile programs: each test attacks one check and asserts that, in
//! enforce mode, the attempt failed *and* its effect did not happen (nothing reached the
//! listener, no marker file, no shell), and that detect mode reports it with the right fields.
//! Every test runs as the current user and, when root, as uid 65534.

mod support;

use std::path::Path;
use support::*;

/// A policy for the attack program: `extra` adds sections; `files` (if given) replaces the
/// default `files` section.
fn base_policy(extra: &str) -> String {
    let e = env();
    let files = if extra.contains("files:") {
        String::new()
    } else {
        format!("files:\n  exec_map: {}\n", libs())
    };
    format!(
        "version: 1\nprocess:\n  exec: [{}, {}, /usr/bin/env]\n  fork: true\n{files}{extra}",
        e.attack.display(),
        e.marker.display(),
    )
}

fn enforce(dir: &Path, policy_text: &str) -> String {
    policy(dir, policy_text).display().to_string()
}

fn attack(user: User, dir: &Path, pol: &str, mode: &str, args: &[&str]) -> Run {
    let e = env();
    let mut cmd = vec![e.attack.to_str().unwrap_or_default()];
    cmd.extend_from_slice(args);
    vigil(
        user,
        dir,
        &["run", "--policy", pol, "--mode", mode],
        &cmd,
        &[],
    )
}

#[test]
fn forbidden_connect_is_refused_and_nothing_arrives() {
    for user in users() {
        let allowed = Listener::start();
        let forbidden = Listener::start();
        let dir = workdir("connect");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\n",
                allowed.port
            )),
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["connect", "127.0.0.1", &forbidden.port.to_string()],
        );
        assert!(r.line("connect").contains("err 1 "), "{}", r.dump());
        assert_eq!(
            forbidden.connections(),
            0,
            "a forbidden connection got through ({user:?})"
        );
        let refused: Vec<_> = r
            .events
            .iter()
            .filter(|e| e["class_uid"] == 4001 && e["activity_id"] == 5)
            .collect();
        assert_eq!(refused.len(), 1, "{}", r.dump());
        let ev = refused[0];
        assert_eq!(ev["action_id"], 2);
        assert_eq!(ev["disposition_id"], 2);
        assert_eq!(ev["dst_endpoint"]["ip"], "127.0.0.1");
        assert_eq!(ev["dst_endpoint"]["port"], forbidden.port);
        assert_eq!(ev["type_uid"], 400105);
        assert!(ev["actor"]["process"]["pid"]
            .as_u64()
            .is_some_and(|p| p > 0));
        let f = r.findings("network.connect");
        assert_eq!(f.len(), 1, "{}", r.dump());
        assert_eq!(f[0]["action_id"], 2);
        assert_eq!(f[0]["evidences"][0]["dst_endpoint"]["port"], forbidden.port);

        // The allowed destination works, through the supervisor's connect.
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["connect", "127.0.0.1", &allowed.port.to_string()],
        );
        assert!(r.line("connect").contains(" ok "), "{}", r.dump());
        assert_eq!(allowed.connections(), 1);
        assert_eq!(allowed.received(), b"attack");

        // Detect mode lets it through and alerts.
        let r = attack(
            user,
            &dir,
            &pol,
            "detect",
            &["connect", "127.0.0.1", &forbidden.port.to_string()],
        );
        assert!(r.line("connect").contains(" ok "), "{}", r.dump());
        assert_eq!(forbidden.connections(), 1);
        let f = r.findings("network.connect");
        assert_eq!(f.len(), 1, "{}", r.dump());
        assert_eq!(f[0]["action_id"], 1);
        assert_eq!(f[0]["disposition_id"], 15);
        assert_eq!(f[0]["is_alert"], true);
    }
}

#[test]
fn connect_address_rewritten_by_another_thread_never_reaches_the_forbidden_port() {
    for user in users() {
        let allowed = Listener::start();
        let forbidden = Listener::start();
        let dir = workdir("connect-race");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\n",
                allowed.port
            )),
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &[
                "connect_race",
                &allowed.port.to_string(),
                &forbidden.port.to_string(),
                "1500",
            ],
        );
        let line = r.line("connect_race");
        let ok: usize = line
            .split_whitespace()
            .nth(2)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert_eq!(forbidden.connections(), 0, "race won: {line}");
        assert_eq!(
            allowed.connections(),
            ok,
            "every reported success went to the allowed port"
        );
        assert!(ok > 0, "{line}");
    }
}

#[test]
fn datagram_to_a_forbidden_destination_is_not_sent() {
    for user in users() {
        let sink = UdpSink::start();
        let dir = workdir("udp");
        let pol = enforce(&dir, &base_policy(""));
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["udp", "127.0.0.1", &sink.port.to_string()],
        );
        assert!(r.line("sendto").contains("err 1 "), "{}", r.dump());
        assert_eq!(sink.received(), 0);
        assert_eq!(r.findings("network.connect").len(), 1);

        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\n",
                sink.port
            )),
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["udp", "127.0.0.1", &sink.port.to_string()],
        );
        assert!(r.line("sendto").contains("ok 5"), "{}", r.dump());
        assert_eq!(sink.received(), 1);
    }
}

#[test]
fn unix_sockets_are_checked_by_resolved_path() {
    use std::os::unix::net::UnixListener;
    for user in users() {
        let dir = workdir("unix");
        let good = dir.join("good.sock");
        let bad = dir.join("bad.sock");
        let lg = UnixListener::bind(&good).expect("bind");
        let lb = UnixListener::bind(&bad).expect("bind");
        for s in [&good, &bad] {
            std::fs::set_permissions(s, std::os::unix::fs::PermissionsExt::from_mode(0o777))
                .expect("chmod");
        }
        lb.set_nonblocking(true).expect("nonblocking");
        // A symlink to the forbidden socket must not pass as the allowed name.
        let link = dir.join("link.sock");
        std::os::unix::fs::symlink(&bad, &link).expect("symlink");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"unix:{}\"]\n",
                good.display()
            )),
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["unix", link.to_str().unwrap_or_default()],
        );
        assert!(r.line("unix_connect").contains("err 1 "), "{}", r.dump());
        assert!(
            lb.accept().is_err(),
            "the forbidden socket got a connection"
        );
        let f = r.findings("network.connect");
        assert_eq!(
            f[0]["evidences"][0]["dst_endpoint"]["path"],
            bad.display().to_string()
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["unix", good.to_str().unwrap_or_default()],
        );
        assert!(r.line("unix_connect").contains(" ok "), "{}", r.dump());
        drop(lg);
    }
}

#[test]
fn shells_and_unlisted_programs_do_not_run() {
    for user in users() {
        let dir = workdir("exec");
        let marker = dir.join("marker");
        let m = marker.to_str().unwrap_or_default().to_string();
        let pol = enforce(&dir, &base_policy(""));
        let sh_cmd = format!("echo pwned > {m}");
        // Plain execve of a shell.
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["exec", "/bin/sh", "-c", &sh_cmd],
        );
        assert_eq!(r.status, 1, "{}", r.dump());
        assert!(r.line("execve").contains("err 13 "));
        assert!(!marker.exists(), "the shell ran");
        let f = r.findings("process.exec");
        assert_eq!(f.len(), 1, "{}", r.dump());
        assert_eq!(
            f[0]["evidences"][0]["file"]["path"], "/usr/bin/dash",
            "resolved through the /bin/sh symlink"
        );
        let launch: Vec<_> = r
            .events
            .iter()
            .filter(|e| e["class_uid"] == 1007 && e["activity_id"] == 1 && e["action_id"] == 2)
            .collect();
        assert_eq!(launch.len(), 1, "{}", r.dump());
        assert_eq!(
            launch[0]["process"]["cmd_line"],
            format!("/bin/sh -c {sh_cmd}")
        );

        // execveat(fd, "", AT_EMPTY_PATH) and vfork+exec.
        let r = attack(user, &dir, &pol, "enforce", &["execveat", "/bin/sh"]);
        assert!(r.line("execveat").contains("err 13 "), "{}", r.dump());
        let r = attack(user, &dir, &pol, "enforce", &["vfork_exec", "/bin/sh"]);
        assert!(
            r.line("vfork_exec").contains("child_status 77"),
            "{}",
            r.dump()
        );

        // A symlink to a forbidden program, and a freshly written copy of an allowed one.
        let link = dir.join("innocent");
        std::os::unix::fs::symlink("/bin/sh", &link).expect("symlink");
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["exec", link.to_str().unwrap_or_default()],
        );
        assert!(r.line("execve").contains("err 13 "), "{}", r.dump());
        let copy = dir.join("copy-of-marker");
        std::fs::copy(&env().marker, &copy).expect("copy");
        std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let r = vigil(
            user,
            &dir,
            &["run", "--policy", &pol],
            &[
                env().attack.to_str().unwrap_or_default(),
                "exec",
                copy.to_str().unwrap_or_default(),
            ],
            &[("VIGIL_TEST_MARKER", &m)],
        );
        assert!(r.line("execve").contains("err 13 "), "{}", r.dump());
        assert!(!marker.exists());

        // Detect mode runs it and alerts.
        let r = attack(
            user,
            &dir,
            &pol,
            "detect",
            &["exec", "/bin/sh", "-c", &sh_cmd],
        );
        assert!(marker.exists(), "detect mode must not block: {}", r.dump());
        let f = r.findings("process.exec");
        assert_eq!(f[0]["disposition_id"], 15);
        std::fs::remove_file(&marker).ok();
    }
}

#[test]
fn fileless_execution_from_memfd_is_refused() {
    for user in users() {
        let dir = workdir("memfd");
        // memfd itself is allowed here; executing from it is not.
        let pol = enforce(&dir, &base_policy("memory:\n  memfd: true\n"));
        let r = attack(user, &dir, &pol, "enforce", &["memfd_exec", "/bin/true"]);
        assert!(r.line("memfd_create").contains(" ok "), "{}", r.dump());
        assert!(r.line("execveat_memfd").contains("err 13 "), "{}", r.dump());
        let f = r.findings("process.exec.fileless");
        assert_eq!(f.len(), 1, "{}", r.dump());
        assert_eq!(f[0]["severity_id"], 5);
        // Without memfd in the policy, memfd_create fails.
        let pol = enforce(&dir, &base_policy(""));
        let r = attack(user, &dir, &pol, "enforce", &["memfd_exec", "/bin/true"]);
        assert!(r.line("memfd_create").contains("err 1 "), "{}", r.dump());
        assert_eq!(r.findings("memory.memfd").len(), 1);
    }
}

#[test]
fn preloaded_library_is_not_loaded() {
    for user in users() {
        let dir = workdir("preload");
        let marker = dir.join("preload-marker");
        let pol = enforce(&dir, &base_policy(""));
        // The variables are set for the function only (through env), not for vigil itself.
        let preload = format!("LD_PRELOAD={}", env().evil_so.display());
        let mark = format!("VIGIL_TEST_MARKER={}", marker.display());
        let r = vigil(
            user,
            &dir,
            &["run", "--policy", &pol],
            &[
                "/usr/bin/env",
                &preload,
                &mark,
                env().attack.to_str().unwrap_or_default(),
                "noop",
            ],
            &[],
        );
        assert!(
            !marker.exists(),
            "the preloaded constructor ran: {}",
            r.dump()
        );
        let f = r.findings("files.exec_map");
        assert!(!f.is_empty(), "{}", r.dump());
        assert_eq!(
            f[0]["evidences"][0]["file"]["path"],
            env().evil_so.display().to_string()
        );
        // The program itself still ran (the loader skips a library it cannot map).
        assert!(r.stdout.contains("noop ok"), "{}", r.dump());
    }
}

/// A mapped file is checked under the name it has when it is mapped: a library allowed under one
/// name and then moved is refused under its new one (a regression test for any cache of names:
/// a review showed one keyed by the file's identity accepting a stale name).
#[test]
fn a_library_moved_after_it_was_allowed_is_checked_under_its_new_name() {
    for user in users() {
        let dir = workdir("moved-lib");
        let ok = dir.join("ok");
        std::fs::create_dir(&ok).expect("mkdir");
        std::fs::set_permissions(&ok, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        std::fs::copy(&env().evil_so, ok.join("lib.so")).expect("copy");
        let moved = dir.join("moved");
        let pol = enforce(
            &dir,
            &format!(
                "version: 1\nprocess:\n  exec: [{}, /usr/bin/env, /usr/bin/dash]\n  fork: true\nfiles:\n  write: [\"{}/**\"]\n  exec_map: {}\n",
                env().attack.display(),
                dir.display(),
                libs().replacen('[', &format!("[{}, ", ok.join("lib.so").display()), 1),
            ),
        );
        let (m1, m2) = (dir.join("marker-1"), dir.join("marker-2"));
        let script = format!(
            "env LD_PRELOAD={ok}/lib.so VIGIL_TEST_MARKER={m1} {attack} noop && {attack} rename {ok} {moved} && env LD_PRELOAD={moved}/lib.so VIGIL_TEST_MARKER={m2} {attack} noop",
            ok = ok.display(),
            moved = moved.display(),
            m1 = m1.display(),
            m2 = m2.display(),
            attack = env().attack.display(),
        );
        let r = vigil(
            user,
            &dir,
            &["run", "--policy", &pol],
            &["/bin/sh", "-c", &script],
            &[],
        );
        assert!(
            m1.exists(),
            "the allowed library did not load: {}",
            r.dump()
        );
        assert!(moved.join("lib.so").exists(), "not moved: {}", r.dump());
        assert!(
            !m2.exists(),
            "the library ran under a name the policy does not allow: {}",
            r.dump()
        );
        let f = r.findings("files.exec_map");
        assert_eq!(f.len(), 1, "{}", r.dump());
        assert_eq!(
            f[0]["evidences"][0]["file"]["path"],
            moved.join("lib.so").display().to_string()
        );
        assert_eq!(r.stdout.matches("noop ok").count(), 2, "{}", r.dump());
    }
}

#[test]
fn shellcode_in_writable_executable_memory_is_refused() {
    for user in users() {
        let dir = workdir("wx");
        let pol = enforce(&dir, &base_policy(""));
        let r = attack(user, &dir, &pol, "enforce", &["wx"]);
        assert!(r.line("mmap_wx").contains("err 13 "), "{}", r.dump());
        assert_eq!(r.findings("memory.write_execute").len(), 1);
        let r = attack(user, &dir, &pol, "enforce", &["mprotect_x"]);
        assert!(r.line("mprotect_x").contains("err 13 "), "{}", r.dump());
        assert_eq!(r.findings("memory.anonymous_execute").len(), 1);
        // A file-backed region is no different: its backing can be swapped under the check.
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["mprotect_file", "/usr/bin/true"],
        );
        assert!(
            r.line("mprotect_file_x").contains("err 13 "),
            "{}",
            r.dump()
        );
        // A JIT's policy allows it.
        let pol = enforce(
            &dir,
            &base_policy("memory:\n  write_execute: true\n  anonymous_execute: true\n"),
        );
        let r = attack(user, &dir, &pol, "enforce", &["wx"]);
        assert!(
            r.line("mmap_wx").contains("shellcode_returned 42"),
            "{}",
            r.dump()
        );
    }
}

#[test]
fn other_system_call_abis_kill_the_process() {
    for user in users() {
        let dir = workdir("abi");
        let pol = enforce(&dir, &base_policy(""));
        for (what, survived) in [("int80", "int80 survived"), ("x32", "x32 survived")] {
            for mode in ["enforce", "learn"] {
                let r = attack(user, &dir, &pol, mode, &[what]);
                assert_eq!(
                    r.status,
                    128 + 31,
                    "{what} must die of SIGSYS in {mode} mode: {}",
                    r.dump()
                );
                assert!(!r.stdout.contains(survived));
            }
        }
    }
}

#[test]
fn io_uring_and_the_hardening_set_are_denied() {
    for user in users() {
        let dir = workdir("uring");
        let pol = enforce(&dir, &base_policy(""));
        for mode in ["enforce", "detect"] {
            let r = attack(user, &dir, &pol, mode, &["io_uring"]);
            assert!(r.line("io_uring_setup").contains("err 1 "), "{}", r.dump());
            let f = r.findings("hardening");
            assert_eq!(f.len(), 1, "{}", r.dump());
            assert!(f[0]["finding_info"]["title"]
                .as_str()
                .unwrap_or_default()
                .contains("io_uring"));
            assert_eq!(f[0]["disposition_id"], 2);
        }
    }
}

#[test]
fn the_function_cannot_tamper_with_its_supervisor() {
    for user in users() {
        let dir = workdir("tamper");
        let pol = enforce(&dir, &base_policy(""));
        for mode in ["enforce", "learn"] {
            let r = attack(user, &dir, &pol, mode, &["tamper"]);
            assert_eq!(r.status, 0, "{}", r.dump());
            let attempts: Vec<&str> = r.stdout.lines().collect();
            assert!(attempts.len() >= 18, "{}", r.dump());
            for line in attempts {
                if line.starts_with("benign_") {
                    assert!(
                        line.contains(" ok "),
                        "a benign call was refused: {line}\n{}",
                        r.dump()
                    );
                } else {
                    assert!(
                        line.contains(" err "),
                        "tampering succeeded: {line}\n{}",
                        r.dump()
                    );
                }
            }
            // The supervisor lived to the end: it reported the function's exit.
            assert!(r
                .events
                .iter()
                .any(|e| e["class_uid"] == 1007 && e["activity_id"] == 2));
            assert!(!r.findings("tamper").is_empty(), "{}", r.dump());
        }
    }
}

#[test]
fn writes_are_checked_whatever_syscall_makes_them() {
    for user in users() {
        let dir = workdir("writes");
        let ok = dir.join("ok");
        std::fs::create_dir_all(&ok).expect("mkdir");
        std::fs::set_permissions(&ok, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "files:\n  write: [\"{}/**\"]\n  exec_map: {}\n",
                ok.display(),
                libs()
            )),
        );
        let forbidden = dir.join("forbidden");
        let f = forbidden.to_str().unwrap_or_default();
        let a = ok.join("a");
        let a_s = a.to_str().unwrap_or_default();
        let r = attack(user, &dir, &pol, "enforce", &["write", a_s]);
        assert!(r.line("open_write").contains(" ok "), "{}", r.dump());
        assert_eq!(std::fs::read_to_string(&a).unwrap_or_default(), "written\n");
        let r = attack(user, &dir, &pol, "enforce", &["write", f]);
        assert!(r.line("open_write").contains("err 13 "), "{}", r.dump());
        // rename, link and symlink put the allowed file's content at the forbidden name.
        for op in ["rename", "link", "symlink"] {
            let r = attack(user, &dir, &pol, "enforce", &[op, a_s, f]);
            assert!(r.line(op).contains("err 13 "), "{op}: {}", r.dump());
            assert!(
                std::fs::symlink_metadata(&forbidden).is_err(),
                "{op} created the forbidden file"
            );
        }
        // A symlink inside the allowed directory pointing outside it.
        let trap = ok.join("trap");
        std::os::unix::fs::symlink(&forbidden, &trap).expect("symlink");
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["write", trap.to_str().unwrap_or_default()],
        );
        assert!(r.line("open_write").contains("err 13 "), "{}", r.dump());
        assert!(!forbidden.exists());
        let fd = r.findings("files.write");
        assert_eq!(fd[0]["evidences"][0]["file"]["path"], f);
        // Unlink of a file outside the policy.
        let keep = dir.join("keep");
        std::fs::write(&keep, "x").expect("write");
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["unlink", keep.to_str().unwrap_or_default()],
        );
        assert!(r.line("unlink").contains("err 13 "), "{}", r.dump());
        assert!(keep.exists());
    }
}

#[test]
fn write_path_rewritten_by_another_thread_never_writes_the_forbidden_file() {
    for user in users() {
        let dir = workdir("open-race");
        let ok = dir.join("ok");
        std::fs::create_dir_all(&ok).expect("mkdir");
        std::fs::set_permissions(&ok, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "files:\n  write: [\"{}/a\"]\n  exec_map: {}\n",
                ok.display(),
                libs()
            )),
        );
        let forbidden = dir.join("forbidden");
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &[
                "open_race",
                ok.join("a").to_str().unwrap_or_default(),
                forbidden.to_str().unwrap_or_default(),
                "1500",
            ],
        );
        let line = r.line("open_race");
        assert!(!forbidden.exists(), "race won: {line}");
        assert!(line.contains("ok ") && !line.contains("ok 0 "), "{line}");
    }
}

#[test]
fn program_path_rewritten_after_the_check_does_not_run() {
    for user in users() {
        let dir = workdir("exec-race");
        let marker = dir.join("exec-marker");
        let pol = enforce(&dir, &base_policy(""));
        // Without Landlock, so the supervisor's post-exec verification is what stops it.
        for extra in [&["--no-landlock"][..], &[][..]] {
            let mut args = vec!["run", "--policy", pol.as_str()];
            args.extend_from_slice(extra);
            let r = vigil(
                user,
                &dir,
                &args,
                &[
                    env().attack.to_str().unwrap_or_default(),
                    "exec_race",
                    "/usr/bin/true",
                    env().marker.to_str().unwrap_or_default(),
                    "150",
                ],
                &[("VIGIL_TEST_MARKER", marker.to_str().unwrap_or_default())],
            );
            let line = r.line("exec_race");
            assert!(
                !marker.exists(),
                "the forbidden program ran ({extra:?}): {line}\n{}",
                r.dump()
            );
        }
    }
}

#[test]
fn signals_during_notified_calls_neither_hang_nor_repeat_them() {
    for user in users() {
        let l = Listener::start();
        let dir = workdir("signals");
        let files = dir.join("files");
        std::fs::create_dir_all(&files).expect("mkdir");
        std::fs::set_permissions(&files, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .expect("chmod");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\nfiles:\n  write: [\"{}/**\"]\n  exec_map: {}\n",
                l.port,
                files.display(),
                libs()
            )),
        );
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &[
                "signals",
                "300",
                &l.port.to_string(),
                files.to_str().unwrap_or_default(),
            ],
        );
        let line = r.line("signals");
        let field = |name: &str| -> usize {
            let parts: Vec<&str> = line.split_whitespace().collect();
            parts
                .iter()
                .position(|p| *p == name)
                .and_then(|i| parts.get(i + 1)?.parse().ok())
                .unwrap_or(usize::MAX)
        };
        assert!(field("alarms") > 0, "{line}");
        assert_eq!(field("open_eexist"), 0, "an open was applied twice: {line}");
        assert_eq!(field("conn_other"), 0, "{line}");
        assert_eq!(
            l.connections(),
            field("conn_ok"),
            "connections made != connections reported: {line}"
        );
        assert_eq!(field("open_ok") + field("open_eintr"), 300, "{line}");
        assert!(r.blocked().is_empty(), "{}", r.dump());
    }
}

#[test]
fn if_the_supervisor_dies_notified_calls_fail() {
    if !is_root() {
        eprintln!(
            "note: killing the supervisor from outside needs the same user; skipped as non-root"
        );
    }
    for user in users() {
        let l = Listener::start();
        let dir = workdir("fail-closed");
        let flag = dir.join("go");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\n",
                l.port
            )),
        );
        let (mut child, _events) = spawn_vigil(
            user,
            &dir,
            &["run", "--policy", &pol],
            &[
                env().attack.to_str().unwrap_or_default(),
                "wait_then_connect",
                flag.to_str().unwrap_or_default(),
                &l.port.to_string(),
            ],
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        // setpriv execs vigil in place, so the child's pid is the supervisor's.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = child.wait();
        std::fs::write(&flag, "").expect("flag");
        // The function is orphaned; read what it printed on the pipe it still holds.
        let mut out = String::new();
        if let Some(mut s) = child.stdout.take() {
            use std::io::Read;
            let _ = s.read_to_string(&mut out);
        }
        assert!(
            out.contains("connect_after_wait err 38 "),
            "connect did not fail with ENOSYS: {out}"
        );
        assert!(out.contains("open_write_after_wait err 38 "), "{out}");
        assert_eq!(l.connections(), 0);
    }
}

#[test]
fn kill_action_kills_the_offender() {
    for user in users() {
        let forbidden = Listener::start();
        let dir = workdir("kill");
        let pol = enforce(&dir, &base_policy("network:\n  on_violation: kill\n"));
        let r = attack(
            user,
            &dir,
            &pol,
            "enforce",
            &["connect", "127.0.0.1", &forbidden.port.to_string()],
        );
        assert_eq!(r.status, 128 + 9, "{}", r.dump());
        assert_eq!(forbidden.connections(), 0);
        let f = r.findings("network.connect");
        assert_eq!(f[0]["disposition_id"], 2);
        assert_eq!(f[0]["unmapped"]["enforcement"], "kill");
    }
}

#[test]
fn kill_mode_takes_the_whole_tree_down_with_the_supervisor() {
    for user in users() {
        let l = Listener::start();
        let dir = workdir("kill-tree");
        let flag = dir.join("go");
        let pol = enforce(
            &dir,
            &base_policy(&format!(
                "network:\n  connect: [\"127.0.0.1:{}\"]\n",
                l.port
            )),
        );
        let (mut child, events) = spawn_vigil(
            user,
            &dir,
            &["run", "--policy", &pol, "--on-supervisor-death", "kill"],
            &[
                env().attack.to_str().unwrap_or_default(),
                "wait_then_connect",
                flag.to_str().unwrap_or_default(),
                &l.port.to_string(),
            ],
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
        // The process we started is the watchdog; the supervisor is its child.
        let watchdog = child.id();
        let kids = std::fs::read_to_string(format!("/proc/{watchdog}/task/{watchdog}/children"))
            .unwrap_or_default();
        let supervisor: u32 = kids
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("supervisor pid");
        let function: Vec<u32> =
            std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
        assert!(
            !function.is_empty(),
            "the function runs under the supervisor"
        );
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &supervisor.to_string()])
            .status();
        let status = child.wait().expect("wait");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.code(), Some(128 + 9), "{status:?}");
        std::fs::write(&flag, "").expect("flag");
        std::thread::sleep(std::time::Duration::from_millis(200));
        for p in &function {
            let state = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            assert!(
                state.is_empty(),
                "process {p} of the function survived: {state}"
            );
        }
        let _ = status.signal();
        assert_eq!(l.connections(), 0);
        let ev = read_events(&events);
        let stop: Vec<_> = ev
            .iter()
            .filter(|e| e["class_uid"] == 6002 && e["activity_id"] == 4)
            .collect();
        assert_eq!(stop.len(), 1, "{ev:?}");
        assert_eq!(stop[0]["status_id"], 2);
        assert!(stop[0]["unmapped"]["killed"]
            .as_u64()
            .is_some_and(|k| k >= 1));
    }
}
