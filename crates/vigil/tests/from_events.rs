//! `vigil policy from-events`: collected logs (CloudWatch Logs exports with the runtime's own
//! output between the events) become a policy; bad input is reported with file and line.
//!
//! The fixtures under `fixtures/from_events/` are a staging log of a Python function in learn
//! mode, as CloudWatch Logs shows it (runtime lines, tab-prefixed application lines, a
//! learned policy at SHUTDOWN, one malformed observation, one truncated event), and an
//! `aws logs filter-log-events --output json` export of the same function in production
//! (enforce mode, two blocked actions).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

/// A fresh folder, removed when the returned guard drops.
fn workdir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("vigil-from-events-{name}-"))
        .tempdir()
        .expect("temp dir")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/from_events")
        .join(name)
}

struct Run {
    status: i32,
    stderr: String,
}

fn vigil(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(VIGIL)
        .args(args)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil runs");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input).expect("write stdin");
    }
    let o: Output = child.wait_with_output().expect("vigil finishes");
    Run {
        status: o.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn policy(path: &Path) -> vigil_policy::Policy {
    let text = std::fs::read_to_string(path).expect("policy written");
    vigil_policy::parse(&path.display().to_string(), &text)
        .unwrap_or_else(|e| panic!("the written policy does not parse: {e}\n{text}"))
}

fn strs<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

fn paths(items: &[vigil_policy::PathPattern]) -> Vec<&str> {
    items.iter().map(|p| p.as_str()).collect()
}

/// Everything of a policy file but its header comment.
fn body(text: &str) -> String {
    text.lines()
        .skip_while(|l| l.starts_with('#') || l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn staging_and_production_logs_become_a_policy() {
    let tmp = workdir("fixtures");
    let dir = tmp.path();
    let staging = fixture("orders-export-staging.log");
    let prod = fixture("orders-export-prod.json");
    let out = dir.join("vigil.yaml");
    let r = vigil(
        dir,
        &[
            "policy",
            "from-events",
            "--out",
            "vigil.yaml",
            staging.to_str().expect("utf-8 path"),
            prod.to_str().expect("utf-8 path"),
        ],
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let p = policy(&out);
    assert_eq!(
        paths(&p.process.exec),
        ["/var/lang/bin/python3.12", "/usr/bin/gzip"]
    );
    assert!(p.process.fork, "python started gzip");
    // The Runtime API (127.0.0.1:9001) is not the function's behaviour; blocked actions in
    // production (/bin/sh, 203.0.113.66:4444) are not learned.
    assert_eq!(
        strs(&p.network.connect),
        ["52.94.4.10:443", "169.254.169.253:53"]
    );
    assert_eq!(
        paths(&p.files.write),
        [
            "/tmp/orders-2026-11-26.csv",
            "/tmp/orders-2026-11-26.csv.gz"
        ]
    );
    // The library only the learned policy at SHUTDOWN knows of is there too.
    assert_eq!(
        paths(&p.files.exec_map),
        [
            "/var/lang/lib/libpython3.12.so.1.0",
            "/var/task/cryptography/hazmat/bindings/_rust.abi3.so"
        ]
    );
    assert!(!p.memory.write_execute && !p.memory.memfd);

    let text = std::fs::read_to_string(&out).expect("written");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("# Vigil policy, built by vigil "),
        "{text}"
    );
    assert!(first.contains("from 15 events in: "), "{first}");
    assert!(
        first.contains("orders-export-staging.log") && first.contains("orders-export-prod.json")
    );

    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("vigil: warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", r.stderr);
    assert!(warnings[0].contains("orders-export-staging.log:16: observation `connect:10.0.0.1`"));
    assert!(warnings[0].contains("has no port"));
    assert!(warnings[1]
        .contains("orders-export-staging.log:17: a Vigil event that is not complete JSON"));
    assert!(
        r.stderr.contains("2 observations were blocked"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("exec:/bin/sh (") && r.stderr.contains("orders-export-prod.json:13)")
    );
    assert!(r.stderr.contains("Runtime API (127.0.0.1:9001)"));
}

#[test]
fn merging_keeps_the_users_rules_and_is_idempotent() {
    let tmp = workdir("merge");
    let dir = tmp.path();
    let out = dir.join("vigil.yaml");
    std::fs::write(
        &out,
        "version: 1\nmode: enforce\nprocess:\n  exec: [/var/lang/bin/python3.12]\nfiles:\n  write: [\"/tmp/**\"]\nnetwork:\n  connect: [\"52.94.0.0/16:443\"]\n",
    )
    .expect("write");
    let staging = fixture("orders-export-staging.log");
    let args = [
        "policy",
        "from-events",
        "--out",
        "vigil.yaml",
        staging.to_str().expect("utf-8 path"),
    ];
    let r = vigil(dir, &args, None);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stderr.contains("merged into vigil.yaml"), "{}", r.stderr);
    let p = policy(&out);
    assert_eq!(p.mode, Some(vigil_policy::Mode::Enforce));
    assert_eq!(paths(&p.files.write), ["/tmp/**"]);
    assert_eq!(
        strs(&p.network.connect),
        ["52.94.0.0/16:443", "169.254.169.253:53"]
    );
    assert_eq!(
        paths(&p.process.exec),
        ["/var/lang/bin/python3.12", "/usr/bin/gzip"]
    );
    let first = std::fs::read_to_string(&out).expect("written");
    assert!(first.contains("merged into the rules this file had"));
    let r = vigil(dir, &args, None);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let second = std::fs::read_to_string(&out).expect("written");
    assert_eq!(body(&first), body(&second), "a second merge adds nothing");
}

#[test]
fn an_unreadable_file_is_an_error_naming_it_and_nothing_is_written() {
    let tmp = workdir("unreadable");
    let dir = tmp.path();
    let staging = fixture("orders-export-staging.log");
    let r = vigil(
        dir,
        &[
            "policy",
            "from-events",
            "--out",
            "vigil.yaml",
            staging.to_str().expect("utf-8 path"),
            "missing.log",
        ],
        None,
    );
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot read missing.log"), "{}", r.stderr);
    assert!(r
        .stderr
        .contains("1 of 2 files could not be read; vigil.yaml not written"));
    // The readable file was still read, so its problems are all reported in one go.
    assert!(r.stderr.contains("orders-export-staging.log:16:"));
    assert!(!dir.join("vigil.yaml").exists());
}

#[test]
fn an_invalid_existing_policy_is_reported_and_left_alone() {
    let tmp = workdir("invalid-out");
    let dir = tmp.path();
    let bad = "version: 1\nnetwork:\n  connect: [10.0.0.1]\n";
    std::fs::write(dir.join("vigil.yaml"), bad).expect("write");
    let staging = fixture("orders-export-staging.log");
    let r = vigil(
        dir,
        &[
            "policy",
            "from-events",
            "--out",
            "vigil.yaml",
            staging.to_str().expect("utf-8 path"),
        ],
        None,
    );
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot merge into vigil.yaml"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("vigil.yaml:3:"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(dir.join("vigil.yaml")).expect("read"),
        bad
    );
}

#[test]
fn logs_without_vigil_events_are_an_error() {
    let tmp = workdir("no-events");
    let dir = tmp.path();
    std::fs::write(
        dir.join("app.log"),
        "START RequestId: 1 Version: $LATEST\n{\"level\":\"INFO\",\"message\":\"hello\"}\nEND RequestId: 1\n",
    )
    .expect("write");
    let r = vigil(
        dir,
        &["policy", "from-events", "--out", "vigil.yaml", "app.log"],
        None,
    );
    assert_eq!(r.status, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("app.log: no Vigil events found"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing to build a policy from"));
    assert!(!dir.join("vigil.yaml").exists());
}

#[test]
fn gzip_exports_and_standard_input_are_read() {
    use flate2::write::GzEncoder;
    let tmp = workdir("gzip");
    let dir = tmp.path();
    let text = std::fs::read(fixture("orders-export-staging.log")).expect("fixture");
    // S3 exports of CloudWatch Logs are gzip files, possibly of several members.
    let middle = text[..text.len() / 2]
        .iter()
        .rposition(|&c| c == b'\n')
        .map_or(0, |i| i + 1);
    let (a, b) = text.split_at(middle);
    let mut gz = Vec::new();
    for part in [a, b] {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(part).expect("gzip");
        gz.extend(e.finish().expect("gzip"));
    }
    std::fs::write(dir.join("000000.gz"), &gz).expect("write");
    let r = vigil(
        dir,
        &[
            "policy",
            "from-events",
            "--out",
            "from-gz.yaml",
            "000000.gz",
        ],
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let r = vigil(
        dir,
        &["policy", "from-events", "--out", "from-stdin.yaml", "-"],
        Some(&text),
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(r.stderr.contains("<stdin>:16:"), "{}", r.stderr);
    let gz = policy(&dir.join("from-gz.yaml"));
    let stdin = policy(&dir.join("from-stdin.yaml"));
    assert_eq!(gz, stdin);
    assert_eq!(paths(&gz.process.exec).len(), 2);
}

/// The real thing: the events of a `vigil learn` run, put into CloudWatch's shape with the
/// function's own output between them, rebuild the very policy that the run learned.
#[test]
fn the_events_of_a_learn_run_rebuild_its_policy() {
    let tmp = workdir("learn");
    let dir = tmp.path();
    let script = format!(
        "echo report > {0}/out.txt; /bin/ls {0} > /dev/null; /bin/cat {0}/out.txt",
        dir.display()
    );
    let r = vigil(
        dir,
        &[
            "learn",
            "--out",
            "learned.yaml",
            "--events",
            "events.jsonl",
            "--",
            "/bin/sh",
            "-c",
            &script,
        ],
        None,
    );
    assert_eq!(r.status, 0, "vigil learn failed: {}", r.stderr);
    let events = std::fs::read_to_string(dir.join("events.jsonl")).expect("events");
    let mut cloudwatch = String::from("START RequestId: 42 Version: $LATEST\n");
    for (i, e) in events.lines().enumerate() {
        cloudwatch.push_str(&format!(
            "2026-11-26T12:00:{:02}.000Z\t42\tINFO\t{e}\nprogress {i} {{not json}}\n",
            i % 60
        ));
    }
    cloudwatch.push_str("END RequestId: 42\n");
    std::fs::write(dir.join("cloudwatch.log"), cloudwatch).expect("write");
    let r = vigil(
        dir,
        &[
            "policy",
            "from-events",
            "--out",
            "rebuilt.yaml",
            "cloudwatch.log",
        ],
        None,
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let learned = std::fs::read_to_string(dir.join("learned.yaml")).expect("learned");
    let rebuilt = std::fs::read_to_string(dir.join("rebuilt.yaml")).expect("rebuilt");
    assert_eq!(body(&learned), body(&rebuilt));
    let p = policy(&dir.join("rebuilt.yaml"));
    assert!(p.process.fork);
    assert!(paths(&p.files.write).contains(&dir.join("out.txt").to_str().expect("utf-8")));
}
