//! Shared test harness for the sensor's end-to-end tests.
//!
//! Everything a test runs is copied into a fresh world-readable directory under /tmp (the
//! checkout may not be readable by uid 65534), the attack programs are compiled there with
//! gcc, and each run can be made as the current user or — when the tests run as root — as
//! uid/gid 65534 through `setpriv`, which is how a Lambda function runs.
#![allow(dead_code)]

mod stale;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub struct Env {
    /// Read-only for everyone: binaries.
    pub dir: PathBuf,
    pub vigil: PathBuf,
    pub attack: PathBuf,
    pub marker: PathBuf,
    /// `marker`, linked statically (it maps nothing executable itself), named so that its
    /// path is as long as `attack`'s.
    pub marker_static: PathBuf,
    pub evil_so: PathBuf,
}

static ENV: OnceLock<Env> = OnceLock::new();
static SEQ: AtomicUsize = AtomicUsize::new(0);

fn gcc(out: &Path, args: &[&str]) {
    let st = Command::new("gcc")
        .args(args)
        .arg("-o")
        .arg(out)
        .status()
        .expect("gcc runs (install gcc)");
    assert!(st.success(), "gcc failed for {}", out.display());
}

pub fn env() -> &'static Env {
    ENV.get_or_init(|| {
        stale::remove_stale_dirs(RUN_DIR_PREFIX);
        let dir = std::env::temp_dir().join(format!(
            "{RUN_DIR_PREFIX}{}-{}",
            std::process::id(),
            nanos()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let vigil = dir.join("vigil");
        // A debug `vigil` is over 100 MB: a hard link costs nothing where /tmp and the
        // target directory share a filesystem; a copy otherwise.
        if std::fs::hard_link(env!("CARGO_BIN_EXE_vigil"), &vigil).is_err() {
            std::fs::copy(env!("CARGO_BIN_EXE_vigil"), &vigil).expect("copy vigil");
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/attacks");
        let attack = dir.join("attack");
        gcc(
            &attack,
            &[
                "-O1",
                "-pthread",
                src.join("attack.c").to_str().unwrap_or_default(),
            ],
        );
        let marker = dir.join("marker");
        gcc(
            &marker,
            &[src.join("marker.c").to_str().unwrap_or_default()],
        );
        let marker_static = dir.join("mstatc");
        gcc(
            &marker_static,
            &["-static", src.join("marker.c").to_str().unwrap_or_default()],
        );
        let evil_so = dir.join("evil.so");
        gcc(
            &evil_so,
            &[
                "-shared",
                "-fPIC",
                src.join("evil_preload.c").to_str().unwrap_or_default(),
            ],
        );
        for f in [&vigil, &attack, &marker, &marker_static, &evil_so] {
            // `vigil` may be a link to the build's own file: changed only if it must be.
            let mode = std::fs::metadata(f).expect("stat").permissions().mode() & 0o7777;
            if mode != 0o755 {
                std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            }
        }
        Env {
            dir,
            vigil,
            attack,
            marker,
            marker_static,
            evil_so,
        }
    })
}

/// Each test process's folder under /tmp: `vigil-it-<pid>-<nanos>`.
const RUN_DIR_PREFIX: &str = "vigil-it-";

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

pub fn is_root() -> bool {
    rustix_uid() == 0
}

fn rustix_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
        })
        .unwrap_or(u32::MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// Whoever runs the tests.
    Me,
    /// uid/gid 65534, no groups (only when the tests run as root).
    Nobody,
}

/// The users to run each attack as: the current one, and 65534 when we can switch to it.
pub fn users() -> Vec<User> {
    if is_root() {
        vec![User::Me, User::Nobody]
    } else {
        eprintln!("note: not root, so the uid 65534 variant of this test is skipped");
        vec![User::Me]
    }
}

/// A fresh working directory for one test run, writable by both users.
pub fn workdir(name: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let d = env().dir.join(format!("{name}-{n}"));
    std::fs::create_dir_all(&d).expect("workdir");
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    d
}

pub fn command(user: User, program: &Path) -> Command {
    match user {
        User::Me => Command::new(program),
        User::Nobody => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(program);
            c
        }
    }
}

/// The outcome of one `vigil` run.
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
    pub events: Vec<Value>,
}

impl Run {
    pub fn findings(&self, rule_prefix: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["class_uid"] == 2004)
            .filter(|e| {
                e["finding_info"]["uid"]
                    .as_str()
                    .is_some_and(|u| u.starts_with(rule_prefix))
            })
            .collect()
    }

    pub fn blocked(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["disposition_id"] == 2)
            .collect()
    }

    pub fn violations(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e["class_uid"] == 2004)
            .collect()
    }

    pub fn line(&self, prefix: &str) -> String {
        self.stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| {
                panic!(
                    "no `{prefix}` line in stdout:\n{}\nstderr:\n{}",
                    self.stdout, self.stderr
                )
            })
            .to_string()
    }

    pub fn dump(&self) -> String {
        format!(
            "status {}\nstdout:\n{}\nstderr:\n{}\nevents:\n{}",
            self.status,
            self.stdout,
            self.stderr,
            self.events
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

pub fn exit_code(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(0))
}

/// Runs `vigil <args> --events <file> …` as `user` in `dir` and collects the events. `args`
/// are the vigil options; `cmd` the command after `--`.
pub fn vigil(user: User, dir: &Path, args: &[&str], cmd: &[&str], envs: &[(&str, &str)]) -> Run {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let events = dir.join(format!("events-{n}.jsonl"));
    let mut c = command(user, &env().vigil);
    c.args(args)
        .arg("--events")
        .arg(&events)
        .arg("--")
        .args(cmd)
        .current_dir(dir);
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("vigil runs");
    let events = read_events(&events);
    for e in &events {
        let missing = vigil_events::missing_required_fields(e);
        assert!(missing.is_empty(), "event lacks {missing:?}: {e}");
    }
    Run {
        status: exit_code(&out),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        events,
    }
}

pub fn read_events(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("event line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// Writes a policy file readable by every user.
pub fn policy(dir: &Path, text: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let p = dir.join(format!("policy-{n}.yaml"));
    std::fs::write(&p, text).expect("write policy");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    p
}

/// libc and the other libraries the attack programs map.
pub fn libs() -> String {
    "[/usr/lib/x86_64-linux-gnu/libc.so.6]".to_string()
}

/// A TCP listener on loopback that records every connection and what it received.
pub struct Listener {
    pub port: u16,
    connections: Arc<AtomicUsize>,
    data: Arc<Mutex<Vec<u8>>>,
}

impl Listener {
    pub fn start() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = l.local_addr().map(|a| a.port()).expect("port");
        let connections = Arc::new(AtomicUsize::new(0));
        let data = Arc::new(Mutex::new(Vec::new()));
        let (c2, d2) = (connections.clone(), data.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                c2.fetch_add(1, Ordering::SeqCst);
                let d3 = d2.clone();
                std::thread::spawn(move || {
                    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                    let mut buf = Vec::new();
                    let _ = s.read_to_end(&mut buf);
                    if let Ok(mut d) = d3.lock() {
                        d.extend(buf);
                    }
                });
            }
        });
        Listener {
            port,
            connections,
            data,
        }
    }

    pub fn connections(&self) -> usize {
        // Let in-flight accepts land.
        std::thread::sleep(Duration::from_millis(100));
        self.connections.load(Ordering::SeqCst)
    }

    pub fn received(&self) -> Vec<u8> {
        std::thread::sleep(Duration::from_millis(100));
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

/// A UDP socket on loopback; `received()` drains what arrived.
pub struct UdpSink {
    pub port: u16,
    sock: UdpSocket,
}

impl UdpSink {
    pub fn start() -> UdpSink {
        UdpSink::start_on("127.0.0.1:0")
    }

    /// On `addr` (`"[::1]:0"` for IPv6 loopback).
    pub fn start_on(addr: &str) -> UdpSink {
        let sock = UdpSocket::bind(addr).expect("bind udp");
        let port = sock.local_addr().map(|a| a.port()).expect("port");
        sock.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        UdpSink { port, sock }
    }

    pub fn received(&self) -> usize {
        let mut n = 0;
        let mut buf = [0u8; 2048];
        while self.sock.recv(&mut buf).is_ok() {
            n += 1;
        }
        n
    }
}

/// Starts `vigil` in the background (for tests that act on it while it runs).
pub fn spawn_vigil(
    user: User,
    dir: &Path,
    args: &[&str],
    cmd: &[&str],
) -> (std::process::Child, PathBuf) {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let events = dir.join(format!("events-{n}.jsonl"));
    let mut c = command(user, &env().vigil);
    c.args(args)
        .arg("--events")
        .arg(&events)
        .arg("--")
        .args(cmd)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    (c.spawn().expect("spawn vigil"), events)
}

/// The pid of the `vigil` supervisor for a spawned run (the child itself, or its child when
/// started through setpriv, which execs in place).
pub fn wait_for_line(child: &mut std::process::Child) -> Option<String> {
    let out = child.stdout.as_mut()?;
    let mut r = BufReader::new(out);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    Some(line)
}
