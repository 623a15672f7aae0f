//! False positives: benign Python, Node.js and shell workloads are learned, then run under
//! enforce repeatedly with zero denials, zero findings and the same output as unmonitored.
//! Every workload runs as the current user and, when root, as uid 65534.

mod support;

use std::path::Path;
use std::process::Command;
use support::*;

const RUNS: usize = 3;

/// Learns `cmd` into a policy, then enforces it `RUNS` times.
fn learn_then_enforce(user: User, dir: &Path, cmd: &[&str]) {
    let unmonitored = command(user, Path::new(cmd[0]))
        .args(&cmd[1..])
        .current_dir(dir)
        .output()
        .expect("runs unmonitored");
    assert!(
        unmonitored.status.success(),
        "the workload itself fails: {unmonitored:?}"
    );
    let expected = String::from_utf8_lossy(&unmonitored.stdout).into_owned();

    let policy = dir.join("learned.yaml");
    let r = vigil(
        user,
        dir,
        &["learn", "--out", policy.to_str().unwrap_or_default()],
        cmd,
        &[],
    );
    assert_eq!(r.status, 0, "{}", r.dump());
    assert_eq!(r.stdout, expected, "learn mode changed the output");
    assert!(
        r.blocked().is_empty(),
        "learn mode blocked something: {}",
        r.dump()
    );
    let text = std::fs::read_to_string(&policy).expect("policy written");
    assert!(
        !text.contains("0.0.0.0/0") && !text.contains("/tmp/**"),
        "over-broad learned policy:\n{text}"
    );
    let check = command(user, &env().vigil)
        .args(["policy", "check"])
        .arg(&policy)
        .output()
        .expect("check");
    assert!(
        check.status.success(),
        "learned policy does not validate: {check:?}"
    );

    for i in 0..RUNS {
        let r = vigil(
            user,
            dir,
            &[
                "run",
                "--policy",
                policy.to_str().unwrap_or_default(),
                "--mode",
                "enforce",
            ],
            cmd,
            &[],
        );
        assert_eq!(r.status, 0, "run {i}: {}", r.dump());
        assert_eq!(
            r.stdout,
            expected,
            "run {i}: enforce mode changed the output\n{}",
            r.dump()
        );
        assert!(
            r.violations().is_empty(),
            "run {i}: false positive\n{}\npolicy:\n{text}",
            r.dump()
        );
        assert!(r.blocked().is_empty(), "run {i}: {}", r.dump());
        assert!(
            r.events
                .iter()
                .any(|e| e["class_uid"] == 1007 && e["activity_id"] == 1),
            "exec reported"
        );
    }
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn python_function_learned_then_enforced_without_false_positives() {
    if !have("/usr/bin/python3") {
        eprintln!("note: /usr/bin/python3 missing (.ci/run installs it); skipped");
        return;
    }
    for user in users() {
        let l = Listener::start();
        let dir = workdir("python");
        let app = dir.join("handler.py");
        std::fs::write(
            &app,
            format!(
                r#"import json, os, socket, subprocess, tempfile, hashlib, urllib.request
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "result.json")
with open(out, "w") as f:
    json.dump({{"ok": True, "digest": hashlib.sha256(b"x").hexdigest()}}, f)
print(subprocess.run(["/bin/echo", "child"], capture_output=True, text=True).stdout.strip())
s = socket.create_connection(("127.0.0.1", {port}))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
s.close()
print(json.load(open(out))["ok"])
"#,
                port = l.port
            ),
        )
        .expect("write app");
        learn_then_enforce(
            user,
            &dir,
            &["/usr/bin/python3", app.to_str().unwrap_or_default()],
        );
    }
}

#[test]
fn node_function_learned_then_enforced_without_false_positives() {
    if !have("/usr/bin/node") {
        eprintln!("note: /usr/bin/node missing (.ci/run installs it); skipped");
        return;
    }
    for user in users() {
        let l = Listener::start();
        let dir = workdir("node");
        let app = dir.join("handler.js");
        std::fs::write(
            &app,
            format!(
                r#"const net = require('net'); const fs = require('fs'); const cp = require('child_process');
const path = require('path'); const crypto = require('crypto');
fs.writeFileSync(path.join(__dirname, 'out.json'), JSON.stringify({{ok: true, h: crypto.createHash('sha256').update('x').digest('hex')}}));
console.log(cp.execFileSync('/bin/echo', ['child']).toString().trim());
const s = net.connect({{host: '127.0.0.1', port: {port}}}, () => {{ s.end('hello'); console.log('sent'); }});
"#,
                port = l.port
            ),
        )
        .expect("write app");
        learn_then_enforce(
            user,
            &dir,
            &["/usr/bin/node", app.to_str().unwrap_or_default()],
        );
    }
}

#[test]
fn shell_script_learned_then_enforced_without_false_positives() {
    for user in users() {
        let dir = workdir("shell");
        let script = dir.join("job.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\nprintf 'a\\nb\\nc\\n' | grep -c . > count.txt\n(echo sub; uname -s) | sort > sorted.txt\nfor f in count.txt sorted.txt; do wc -l < \"$f\"; done\ncat count.txt\nrm -f sorted.txt\n",
        )
        .expect("write script");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        learn_then_enforce(user, &dir, &[script.to_str().unwrap_or_default()]);
    }
}

#[test]
fn a_server_on_an_ephemeral_port_is_learned_as_port_0() {
    if !have("/usr/bin/python3") {
        eprintln!("note: /usr/bin/python3 missing (.ci/run installs it); skipped");
        return;
    }
    for user in users() {
        let dir = workdir("ephemeral");
        let app = dir.join("server.py");
        std::fs::write(
            &app,
            "import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\ns.listen()\nprint('listening')\n",
        )
        .expect("write");
        learn_then_enforce(
            user,
            &dir,
            &["/usr/bin/python3", app.to_str().unwrap_or_default()],
        );
        let text = std::fs::read_to_string(dir.join("learned.yaml")).expect("policy");
        assert!(
            text.contains("- tcp:0"),
            "ephemeral port not learned as 0:\n{text}"
        );
    }
}

#[test]
fn learning_again_merges_into_the_same_file() {
    let user = User::Me;
    let dir = workdir("merge");
    let policy = dir.join("p.yaml");
    let p = policy.to_str().unwrap_or_default();
    let r = vigil(
        user,
        &dir,
        &["learn", "--out", p],
        &["/bin/sh", "-c", "echo one > a.txt"],
        &[],
    );
    assert_eq!(r.status, 0, "{}", r.dump());
    let r = vigil(
        user,
        &dir,
        &["learn", "--out", p],
        &["/bin/sh", "-c", "echo two > b.txt"],
        &[],
    );
    assert_eq!(r.status, 0, "{}", r.dump());
    let text = std::fs::read_to_string(&policy).expect("policy");
    for f in ["a.txt", "b.txt"] {
        assert!(
            text.contains(&format!("{}/{f}", dir.display())),
            "{f} missing after merge:\n{text}"
        );
    }
    // Both behaviours now pass under enforce.
    for cmd in ["echo one > a.txt", "echo two > b.txt"] {
        let r = vigil(
            user,
            &dir,
            &["run", "--policy", p],
            &["/bin/sh", "-c", cmd],
            &[],
        );
        assert!(r.violations().is_empty(), "{}", r.dump());
    }
    // Something new is still denied.
    let r = vigil(
        user,
        &dir,
        &["run", "--policy", p],
        &["/bin/sh", "-c", "echo three > c.txt"],
        &[],
    );
    assert_eq!(r.findings("files.write").len(), 1, "{}", r.dump());
    assert!(!dir.join("c.txt").exists());
}

/// The function gets signals as a plain exec would give them: SIGPIPE at its default (the
/// Rust runtime ignores it in vigil), and what vigil's own caller ignored (`nohup`'s SIGHUP)
/// still ignored.
#[test]
fn signals_reach_the_function_as_after_a_plain_exec() {
    if !have("nohup") {
        return;
    }
    let dir = workdir("signals");
    let mut c = std::process::Command::new("nohup");
    c.arg(&env().vigil)
        .args(["run", "--mode", "detect", "--events"])
        .arg(dir.join("events.jsonl"))
        .args(["--", "/bin/sh", "-c", "grep SigIgn /proc/self/status"])
        .current_dir(&dir);
    let out = c.output().expect("nohup runs vigil");
    let text = String::from_utf8_lossy(&out.stdout);
    let mask = text
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .unwrap_or_else(|| {
            panic!(
                "no SigIgn in {text:?} / {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    // SIGHUP is 1, SIGPIPE 13.
    let bit = |sig: u32| 1u64 << (sig - 1);
    assert_ne!(mask & bit(1), 0, "nohup's SIGHUP dropped: {mask:#x}");
    assert_eq!(mask & bit(13), 0, "SIGPIPE left ignored: {mask:#x}");
}
