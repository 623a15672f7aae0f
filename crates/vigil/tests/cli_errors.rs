//! Bad input to the sensor commands: a clear message that says what and where, exit status 125,
//! and the command never runs.

mod support;

use std::path::Path;
use std::process::Command;
use support::*;

struct Out {
    status: i32,
    stderr: String,
}

fn run_vigil(dir: &Path, args: &[&str]) -> Out {
    let o = Command::new(&env().vigil)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("vigil runs");
    Out {
        status: exit_code(&o),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// A command that would leave a marker if it ran.
fn marker_cmd(dir: &Path) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        format!("touch {}/ran", dir.display()),
    ]
}

fn with_cmd<'a>(args: &[&'a str], cmd: &'a [String]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.push("--");
    v.extend(cmd.iter().map(String::as_str));
    v
}

#[test]
fn malformed_policy_is_reported_with_line_and_column_and_nothing_runs() {
    let dir = workdir("bad-policy");
    let cmd = marker_cmd(&dir);
    let cases = [
        (
            "version: 1\nprocess:\n  exec: [/bin/sh\n",
            "4:1",
            "invalid YAML",
        ),
        (
            "version: 1\nnetwork:\n  connect:\n    - 10.0.0.1\n",
            "4:7",
            "has no port",
        ),
        (
            "version: 1\nfiles:\n  write: [relative]\n",
            "3:11",
            "absolute",
        ),
        (
            "version: 1\nproces:\n  fork: true\n",
            "2:1",
            "did you mean `process`",
        ),
        ("version: 2\n", "1:10", "unsupported policy version"),
        ("process:\n  fork: maybe\n", "2:9", "true or false"),
        (
            "version: 1\nhardening:\n  allow: [iouring]\n",
            "3:11",
            "unknown hardening group",
        ),
        ("", "1:1", "empty"),
    ];
    for (text, at, what) in cases {
        let p = policy(&dir, text);
        let o = run_vigil(
            &dir,
            &with_cmd(&["run", "--policy", p.to_str().unwrap_or_default()], &cmd),
        );
        assert_eq!(o.status, 125, "{text:?}: {}", o.stderr);
        assert!(
            o.stderr.contains(what),
            "{text:?}: expected `{what}` in:\n{}",
            o.stderr
        );
        assert!(
            o.stderr.contains(&format!("{}:{at}", p.display())),
            "{text:?}: expected position {at} in:\n{}",
            o.stderr
        );
        assert!(
            !dir.join("ran").exists(),
            "the command ran despite a bad policy"
        );
        // `vigil policy check` says the same, with exit 1.
        let c = run_vigil(&dir, &["policy", "check", p.to_str().unwrap_or_default()]);
        assert_eq!(c.status, 1);
        assert!(c.stderr.contains(what));
    }
}

#[test]
fn bad_arguments_exit_125_without_running_the_command() {
    let dir = workdir("bad-args");
    let cmd = marker_cmd(&dir);
    let o = run_vigil(&dir, &with_cmd(&["run", "--mode", "paranoid"], &cmd));
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(o.stderr.contains("unknown mode `paranoid`"), "{}", o.stderr);
    let o = run_vigil(&dir, &["run", "--mode", "enforce"]);
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(o.stderr.contains("CMD"), "{}", o.stderr);
    let o = run_vigil(
        &dir,
        &with_cmd(&["run", "--policy", "/nonexistent/p.yaml"], &cmd),
    );
    assert_eq!(o.status, 125);
    assert!(o.stderr.contains("/nonexistent/p.yaml"), "{}", o.stderr);
    let o = run_vigil(
        &dir,
        &with_cmd(&["run", "--events", "/nonexistent-dir/events.jsonl"], &cmd),
    );
    assert_eq!(o.status, 125);
    assert!(
        o.stderr.contains("--events") && o.stderr.contains("/nonexistent-dir/events.jsonl"),
        "{}",
        o.stderr
    );
    let o = run_vigil(&dir, &with_cmd(&["run", "--require", "kernel-magic"], &cmd));
    assert_eq!(o.status, 125);
    let o = run_vigil(
        &dir,
        &with_cmd(&["learn", "--out", "/nonexistent-dir/p.yaml"], &cmd),
    );
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(!dir.join("ran").exists(), "the command ran");
}

#[test]
fn missing_and_unexecutable_commands_give_127_and_126() {
    let dir = workdir("missing");
    let o = run_vigil(
        &dir,
        &["run", "--mode", "detect", "--", "no-such-command-xyz"],
    );
    assert_eq!(o.status, 127, "{}", o.stderr);
    assert!(o.stderr.contains("command not found"));
    let f = dir.join("notexec");
    std::fs::write(&f, "data").expect("write");
    let o = run_vigil(
        &dir,
        &[
            "run",
            "--mode",
            "detect",
            "--",
            f.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(o.status, 126, "{}", o.stderr);
}

#[test]
fn the_command_itself_denied_by_the_policy_gives_126_and_an_event() {
    let dir = workdir("denied-cmd");
    let p = policy(&dir, "version: 1\n");
    let events = dir.join("ev.jsonl");
    let o = run_vigil(
        &dir,
        &[
            "run",
            "--policy",
            p.to_str().unwrap_or_default(),
            "--events",
            events.to_str().unwrap_or_default(),
            "--",
            "/bin/true",
        ],
    );
    assert_eq!(o.status, 126, "{}", o.stderr);
    assert!(o.stderr.contains("denied by the policy"), "{}", o.stderr);
    let ev = read_events(&events);
    assert!(ev
        .iter()
        .any(|e| e["finding_info"]["uid"] == "process.exec" && e["action_id"] == 2));
}

#[test]
fn required_layer_missing_is_fatal_and_nothing_runs() {
    // Nested under another vigil, seccomp allows only one listener: the inner run can only
    // have the kernel-filter layer.
    let dir = workdir("require");
    let cmd = marker_cmd(&dir);
    let vigil = env().vigil.to_str().unwrap_or_default().to_string();
    let mut inner = vec![
        vigil.as_str(),
        "run",
        "--mode",
        "detect",
        "--require",
        "kernel-sensor",
        "--events",
        "/dev/null",
        "--",
    ];
    inner.extend(cmd.iter().map(String::as_str));
    let mut outer = vec!["run", "--mode", "learn", "--events", "/dev/null", "--"];
    outer.extend(inner.iter().copied());
    let o = run_vigil(&dir, &outer);
    assert_eq!(o.status, 125, "{}", o.stderr);
    assert!(
        o.stderr.contains("kernel-filter") && o.stderr.contains("listener"),
        "{}",
        o.stderr
    );
    assert!(!dir.join("ran").exists());
    // Without --require it runs on the weaker layer and says so on stderr.
    let mut inner = vec![
        vigil.as_str(),
        "run",
        "--mode",
        "detect",
        "--events",
        "/dev/null",
        "--",
    ];
    inner.extend(cmd.iter().map(String::as_str));
    let mut outer = vec!["run", "--mode", "learn", "--events", "/dev/null", "--"];
    outer.extend(inner.iter().copied());
    let o = run_vigil(&dir, &outer);
    assert_eq!(o.status, 0, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("warning: running with protection layer `kernel-filter`"),
        "{}",
        o.stderr
    );
    assert!(dir.join("ran").exists());
}

#[test]
fn probe_reports_every_mechanism() {
    let dir = workdir("probe");
    let o = Command::new(&env().vigil)
        .args(["probe", "--json"])
        .current_dir(&dir)
        .output()
        .expect("probe");
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    for k in [
        "no_new_privs",
        "seccomp_filter",
        "user_notification",
        "existing_listener",
        "wait_killable_recv",
        "addfd",
        "pidfd_getfd",
        "landlock_abi",
        "layer",
    ] {
        assert!(v.get(k).is_some(), "probe lacks {k}: {v}");
    }
    assert_eq!(
        v["layer"], "kernel-sensor",
        "this machine has every feature: {v}"
    );
    let text = Command::new(&env().vigil)
        .arg("probe")
        .output()
        .expect("probe");
    assert!(String::from_utf8_lossy(&text.stdout).contains("vigil run would use: kernel-sensor"));
}
