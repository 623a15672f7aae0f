//! End to end: the Vigil layer in a Lambda-shaped sandbox, under the real Python runtime
//! interface client, driven by a real Lambda API peer. No Docker.
//!
//! - The Lambda side is `lambda-simulator` (Runtime, Extensions and Telemetry APIs on
//!   127.0.0.1). The test plays the platform: it enqueues invocations, waits for their results
//!   and for the extensions to be ready again, and sends SHUTDOWN.
//! - The layer is built by `vigil lambda layer` and unpacked into a folder mounted read-only at
//!   `/opt`. The runtime is `awslambdaric` (PyPI, pinned), installed into a folder mounted at
//!   `/var/runtime` with `tests/e2e/bootstrap`, which starts it through
//!   `AWS_LAMBDA_EXEC_WRAPPER` as Lambda's own Python bootstrap does. The function is
//!   `tests/e2e/handler.py` (a command injection and an SSRF), at `/var/task`.
//! - The sandbox is bubblewrap: the host's root read-only, a fresh `/var`, `/tmp` writable, its
//!   own pid namespace, as uid/gid 65534 (`setpriv`) when the tests run as root.
//!   `tests/e2e/init.sh` stands in for Lambda's init: it starts the extensions in
//!   `/opt/extensions`, then — once they registered — the runtime, and at shutdown sends the
//!   runtime SIGTERM and waits for the extensions to exit.
//! - The extension's stdout (the events, as CloudWatch would get them) is kept apart from the
//!   runtime's.
//!
//! The policy is learned the way a user would: one sandbox in `VIGIL_MODE=learn` over benign
//! invocations, the policy taken from `unmapped.learned_policy` of the SHUTDOWN event, shipped
//! as `/var/task/vigil.yaml` to a fresh sandbox.
//!
//! Needs: `bwrap` (Debian `bubblewrap`), `/usr/bin/python3` with pip (Debian `python3-pip`) and
//! PyPI once (the install is cached in `target/lambda-e2e-cache/`), root for the uid switch.
//! What is missing is said on stderr and the test is skipped; with `VIGIL_E2E_REQUIRE=1` (CI)
//! a missing prerequisite fails the test instead.

#[path = "../../vigil/tests/support/stale.rs"]
mod stale;

use lambda_simulator::{InvocationBuilder, InvocationStatus, ShutdownReason, Simulator};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The runtime interface client, pinned: the cache is keyed by it.
const AWSLAMBDARIC: &str = "4.2.2";
/// The interpreter the bootstrap runs (Lambda's is /var/lang/bin/python3.x).
const PYTHON: &str = "/usr/bin/python3";
/// The extension's collector flush budget (`extension::FLUSH_BUDGET`).
const FLUSH_BUDGET: Duration = Duration::from_secs(2);
/// Lambda's limit for the shutdown phase with external extensions.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(2);
const ACCOUNT: &str = "123456789012";
const REGION: &str = "eu-west-1";
/// An injection that reads a secret into the response and drops a marker.
const INJECTION: &str = "world; cat /etc/passwd; touch /tmp/pwned";

static SEQ: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------------------------------------
// Prerequisites, the layer and the runtime (once per test process)

struct Setup {
    /// World-readable, shared by every sandbox of this process: `opt/` (the unpacked layer),
    /// `runtime/` (awslambdaric and the bootstrap), `rapid/` (init.sh), one folder per sandbox.
    shared: PathBuf,
    /// Run the function as uid/gid 65534 (only when the tests run as root).
    as_nobody: bool,
}

/// The setup, or `None` (said on stderr) when a prerequisite is missing.
fn setup() -> Option<&'static Setup> {
    static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();
    match SETUP.get_or_init(prepare) {
        Ok(s) => Some(s),
        Err(why) => {
            assert!(
                std::env::var_os("VIGIL_E2E_REQUIRE").is_none(),
                "VIGIL_E2E_REQUIRE is set and the Lambda end-to-end test cannot run: {why}"
            );
            eprintln!("SKIPPED (Lambda end-to-end): {why}");
            None
        }
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Uid:")
                    .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok())
            })
        })
        == Some(0)
}

fn output(cmd: &mut Command) -> Result<std::process::Output, String> {
    cmd.output().map_err(|e| format!("{cmd:?}: {e}"))
}

/// Checks what the test needs from the machine (`Err` = skip) and builds the layer and the
/// runtime folder (a failure there is a failure of the project: it panics).
fn prepare() -> Result<Setup, String> {
    let bwrap = output(Command::new("bwrap").arg("--version"))
        .map_err(|e| format!("bubblewrap is not installed (apt-get install bubblewrap): {e}"))?;
    if !bwrap.status.success() {
        return Err("`bwrap --version` failed".into());
    }
    let as_nobody = is_root();
    if !as_nobody {
        eprintln!(
            "note (Lambda end-to-end): not root, so the sandbox runs as the current user \
             (unprivileged bubblewrap), not as uid 65534"
        );
    }
    let probe = output(Command::new("bwrap").args([
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-pid",
        "--",
        "true",
    ]))?;
    if !probe.status.success() {
        return Err(format!(
            "bubblewrap cannot make a sandbox here: {}",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    if !Path::new(PYTHON).exists() {
        return Err(format!("{PYTHON} is missing (apt-get install python3)"));
    }
    let target = target_dir();
    let runtime_cache = awslambdaric(&target.root)?;

    // Shared folders of earlier runs whose process is gone (each holds a copy of the binary).
    stale::remove_stale_dirs("vigil-lambda-e2e-");
    let shared = std::env::temp_dir().join(format!(
        "vigil-lambda-e2e-{}-{}",
        std::process::id(),
        nanos()
    ));
    mkdir(&shared, 0o755);

    // The layer, built by the CLI as a user would, unpacked as Lambda unpacks it into /opt.
    let vigil = vigil_binary(&target);
    let started = Instant::now();
    let zip = shared.join("vigil-layer.zip");
    // A debug `vigil` is ~120 MB, most of it debug info, and a debug build deflates slowly
    // (30 s for that layer). A published layer's binary has no debug info either: give the CLI
    // a copy without it (`objcopy`, binutils, there with gcc) when objcopy is installed.
    let stripped = shared.join("vigil-stripped");
    let mut layer = Command::new(&vigil);
    layer.args(["lambda", "layer", "--out"]).arg(&zip);
    match Command::new("objcopy")
        .arg("--strip-debug")
        .arg(&vigil)
        .arg(&stripped)
        .status()
    {
        Ok(st) if st.success() => {
            layer.arg("--binary").arg(&stripped);
        }
        _ => eprintln!(
            "note (Lambda end-to-end): no objcopy (binutils): the layer gets the binary with its \
             debug info, which is slow to compress"
        ),
    }
    let out = output(&mut layer).expect("vigil runs");
    let _ = std::fs::remove_file(&stripped);
    assert!(
        out.status.success(),
        "vigil lambda layer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opt = shared.join("opt");
    mkdir(&opt, 0o755);
    zip::ZipArchive::new(std::fs::File::open(&zip).expect("open the layer zip"))
        .expect("the layer is a zip")
        .extract(&opt)
        .expect("unpack the layer");
    std::fs::remove_file(&zip).expect("remove the zip");
    for (p, mode) in [
        ("vigil/vigil", 0o755),
        ("vigil/wrap", 0o755),
        ("vigil/policy.yaml", 0o644),
        ("extensions/vigil", 0o755),
    ] {
        let m = std::fs::metadata(opt.join(p))
            .unwrap_or_else(|e| panic!("layer lacks {p}: {e}"))
            .permissions()
            .mode();
        assert_eq!(m & 0o777, mode, "mode of {p} in the layer");
    }

    eprintln!(
        "note (Lambda end-to-end): layer built and unpacked in {:?}",
        started.elapsed()
    );
    // /var/runtime: the client and the bootstrap (a copy: the cache under target/ need not be
    // readable by uid 65534).
    let runtime = shared.join("runtime");
    copy_tree(&runtime_cache, &runtime);
    install_fixture("bootstrap", &runtime.join("bootstrap"), 0o755);
    let rapid = shared.join("rapid");
    mkdir(&rapid, 0o755);
    install_fixture("init.sh", &rapid.join("init"), 0o755);
    Ok(Setup { shared, as_nobody })
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn mkdir(p: &Path, mode: u32) {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e")
        .join(name)
}

fn install_fixture(name: &str, to: &Path, mode: u32) {
    std::fs::copy(fixture(name), to).unwrap_or_else(|e| panic!("copy fixture {name}: {e}"));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode)).expect("chmod fixture");
}

/// Copies a folder keeping modification times: Python's bytecode caches record their source's
/// mtime, and a stale cache makes Python try to rewrite it (Lambda's /var/runtime has valid
/// ones).
fn copy_tree(from: &Path, to: &Path) {
    mkdir(to, 0o755);
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("directory entry");
        let dest = to.join(entry.file_name());
        let ty = entry.file_type().expect("file type");
        if ty.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else if ty.is_file() {
            std::fs::copy(entry.path(), &dest).expect("copy runtime file");
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o644))
                .expect("chmod runtime file");
            let mtime = entry
                .metadata()
                .and_then(|m| m.modified())
                .expect("mtime of a runtime file");
            std::fs::File::options()
                .write(true)
                .open(&dest)
                .and_then(|f| f.set_modified(mtime))
                .expect("keep the mtime of a runtime file");
        }
    }
}

struct TargetDir {
    /// The target directory (has CACHEDIR.TAG).
    root: PathBuf,
    /// `target/[triple/]profile`, where this test binary's `deps/` is.
    profile_dir: PathBuf,
    /// `--target` when the build was for an explicit triple.
    triple: Option<String>,
}

/// Where cargo put this test binary: `<target>/[<triple>/]<profile>/deps/lambda_e2e-<hash>`.
fn target_dir() -> TargetDir {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in <target>/<profile>/deps")
        .to_path_buf();
    let up = profile_dir
        .parent()
        .expect("the profile folder has a parent")
        .to_path_buf();
    if up.join("CACHEDIR.TAG").exists() {
        return TargetDir {
            root: up,
            profile_dir,
            triple: None,
        };
    }
    let root = up
        .parent()
        .filter(|r| r.join("CACHEDIR.TAG").exists())
        .unwrap_or_else(|| panic!("no target directory above {}", profile_dir.display()))
        .to_path_buf();
    let triple = up.file_name().map(|t| t.to_string_lossy().into_owned());
    TargetDir {
        root,
        profile_dir,
        triple,
    }
}

/// The `vigil` binary, fresh.
///
/// Cargo gives `CARGO_BIN_EXE_<name>` only to the tests of the package that has the binary,
/// and another crate's binary cannot be a dependency on stable cargo. So the test asks cargo
/// itself (`$CARGO`, which cargo sets for the tests it runs): `cargo build -p vigil --bin vigil`
/// with this test's profile, target directory and target triple. Under `cargo test
/// --workspace` the binary is already built and up to date and this takes about a second;
/// under `cargo test -p vigil-lambda` it builds or refreshes it, so a stale binary is never
/// tested. (Cargo releases its lock on the target directory before it runs the tests.)
fn vigil_binary(t: &TargetDir) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let profile = match t
        .profile_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
    {
        Some(p) if p == "debug" => "dev".to_string(),
        Some(p) => p,
        None => "dev".to_string(),
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--quiet",
        "-p",
        "vigil",
        "--bin",
        "vigil",
        "--profile",
    ])
    .arg(&profile)
    .arg("--target-dir")
    .arg(&t.root)
    .arg("--manifest-path")
    .arg(&manifest);
    if let Some(triple) = &t.triple {
        cmd.args(["--target", triple]);
    }
    let started = Instant::now();
    let st = cmd.status().expect("run cargo to build vigil");
    assert!(st.success(), "cargo build -p vigil failed");
    eprintln!(
        "note (Lambda end-to-end): vigil binary checked/built in {:?}",
        started.elapsed()
    );
    let bin = t.profile_dir.join("vigil");
    assert!(bin.is_file(), "{} missing after cargo build", bin.display());
    bin
}

/// `pip install --target` of the pinned client, cached under `target/lambda-e2e-cache/` by
/// version and interpreter (the client has a C extension built for one CPython).
fn awslambdaric(target: &Path) -> Result<PathBuf, String> {
    let tag = output(
        Command::new(PYTHON).args(["-c", "import sys; print(sys.implementation.cache_tag)"]),
    )?;
    let tag = String::from_utf8_lossy(&tag.stdout).trim().to_string();
    if tag.is_empty() {
        return Err(format!("{PYTHON} does not run"));
    }
    let cache = target.join("lambda-e2e-cache");
    let dir = cache.join(format!("awslambdaric-{AWSLAMBDARIC}-{tag}"));
    if dir.join("awslambdaric/__main__.py").is_file() {
        return Ok(dir);
    }
    let partial = cache.join(format!(
        "awslambdaric-{AWSLAMBDARIC}-{tag}.partial-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let started = Instant::now();
    let out = output(
        Command::new(PYTHON)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--target",
            ])
            .arg(&partial)
            .arg(format!("awslambdaric=={AWSLAMBDARIC}")),
    )?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(format!(
            "cannot install awslambdaric {AWSLAMBDARIC} with `{PYTHON} -m pip` (needs python3-pip \
             and PyPI once; it is cached afterwards): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    eprintln!(
        "note (Lambda end-to-end): awslambdaric {AWSLAMBDARIC} installed in {:?}",
        started.elapsed()
    );
    match std::fs::rename(&partial, &dir) {
        Ok(()) => Ok(dir),
        // Another test process won the race: use its copy.
        Err(_) if dir.join("awslambdaric/__main__.py").is_file() => {
            let _ = std::fs::remove_dir_all(&partial);
            Ok(dir)
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// The Lambda service (the simulator) and the sandbox

struct Lambda {
    rt: tokio::runtime::Runtime,
    sim: Option<Simulator>,
    name: String,
}

/// One finished invocation.
struct Done {
    id: String,
    status: InvocationStatus,
    payload: Option<Value>,
    error_type: Option<String>,
    /// How long the extensions took after the runtime's response to be ready again.
    extension_overhead: Option<Duration>,
}

impl Done {
    fn payload(&self) -> &Value {
        assert_eq!(
            self.status,
            InvocationStatus::Success,
            "invocation {} did not succeed (error type {:?})",
            self.id,
            self.error_type
        );
        self.payload
            .as_ref()
            .unwrap_or_else(|| panic!("invocation {} has no response", self.id))
    }
}

impl Lambda {
    fn new(name: &str) -> Lambda {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sim = rt
            .block_on(
                Simulator::builder()
                    .function_name(name)
                    .handler("handler.handler")
                    .region(REGION)
                    .account_id(ACCOUNT)
                    .invocation_timeout(Duration::from_secs(30))
                    .extension_ready_timeout(Duration::from_secs(15))
                    .shutdown_timeout(SHUTDOWN_LIMIT)
                    .build(),
            )
            .expect("the Lambda simulator starts");
        Lambda {
            rt,
            sim: Some(sim),
            name: name.to_string(),
        }
    }

    fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("the simulator is running")
    }

    fn arn(&self) -> String {
        format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{}", self.name)
    }

    /// `host:port` of the APIs.
    fn api(&self) -> String {
        self.sim().lambda_env_vars()["AWS_LAMBDA_RUNTIME_API"].clone()
    }

    fn extensions(&self) -> usize {
        self.rt.block_on(self.sim().extension_count())
    }

    fn initialized(&self) -> bool {
        self.rt.block_on(self.sim().is_initialized())
    }

    fn init_error(&self) -> Option<String> {
        self.rt.block_on(self.sim().get_init_error())
    }

    /// Invokes the function and waits for its result and, with `extensions`, for the
    /// extensions to be ready for the next one (Lambda's end of the invocation).
    fn invoke(&self, payload: Value, extensions: bool) -> Done {
        let sim = self.sim();
        // enqueue_payload would give every invocation the simulator's placeholder ARN
        // (test-function in us-east-1); Lambda gives the invoked function's.
        let invocation = InvocationBuilder::new()
            .payload(payload)
            .timeout_ms(30_000)
            .function_arn(self.arn())
            .build()
            .expect("an invocation");
        let id = self.rt.block_on(sim.enqueue(invocation));
        let state = self
            .rt
            .block_on(sim.wait_for_invocation_complete(&id, Duration::from_secs(30)))
            .unwrap_or_else(|e| panic!("invocation {id} did not complete: {e}"));
        let responded = Instant::now();
        let extension_overhead = extensions.then(|| {
            self.rt
                .block_on(sim.wait_for_extensions_ready(&id, Duration::from_secs(15)))
                .unwrap_or_else(|e| panic!("extensions not ready after {id}: {e}"));
            responded.elapsed()
        });
        Done {
            id,
            status: state.status,
            payload: state.response.map(|r| r.payload),
            error_type: state.error.map(|e| e.error_type),
            extension_overhead,
        }
    }

    /// Starts the shutdown (SHUTDOWN to the extensions) without waiting for it.
    fn begin_shutdown(&mut self) -> tokio::task::JoinHandle<()> {
        let sim = self.sim.take().expect("the simulator is running");
        self.rt
            .spawn(sim.graceful_shutdown(ShutdownReason::Spindown))
    }
}

#[derive(Default)]
struct Spec {
    name: &'static str,
    /// `/var/task/vigil.yaml`.
    policy: Option<String>,
    /// `VIGIL_*` and other variables of the function's configuration.
    env: Vec<(&'static str, String)>,
    /// Start the extensions in /opt/extensions (Lambda always does; off for the fallback).
    no_extensions: bool,
}

struct Sandbox {
    dir: PathBuf,
    child: Child,
    control: Option<ChildStdin>,
    extensions: bool,
}

impl Sandbox {
    /// Starts the sandbox: the extensions run; the runtime waits for [`Sandbox::init_runtime`].
    fn start(setup: &Setup, lambda: &Lambda, spec: Spec) -> Sandbox {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = setup.shared.join(format!("{}-{n}", spec.name));
        mkdir(&dir, 0o755);
        mkdir(&dir.join("tmp"), 0o1777);
        let task = dir.join("task");
        mkdir(&task, 0o755);
        install_fixture("handler.py", &task.join("handler.py"), 0o644);
        if let Some(p) = &spec.policy {
            std::fs::write(task.join("vigil.yaml"), p).expect("write vigil.yaml");
        }
        let file = |name: &str| std::fs::File::create(dir.join(name)).expect("output file");
        let mut env: HashMap<String, String> = lambda.sim().lambda_env_vars();
        env.insert("AWS_LAMBDA_EXEC_WRAPPER".into(), "/opt/vigil/wrap".into());
        for (k, v) in &spec.env {
            env.insert((*k).to_string(), v.clone());
        }
        let mut cmd = Command::new("/bin/sh");
        // fd 3 and 4: the extensions' stdout and stderr (init.sh hands them over).
        cmd.arg("-c")
            .arg(r#"exec 3>"$1" 4>"$2"; shift 2; exec "$@""#)
            .arg("sh")
            .arg(dir.join("extension.stdout"))
            .arg(dir.join("extension.stderr"))
            .arg("bwrap")
            .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"])
            .args(["--tmpfs", "/var"])
            .arg("--ro-bind")
            .arg(&task)
            .arg("/var/task")
            .arg("--ro-bind")
            .arg(setup.shared.join("runtime"))
            .arg("/var/runtime")
            .arg("--ro-bind")
            .arg(setup.shared.join("rapid"))
            .arg("/var/rapid")
            .arg("--ro-bind")
            .arg(setup.shared.join("opt"))
            .arg("/opt")
            .arg("--bind")
            .arg(dir.join("tmp"))
            .arg("/tmp")
            .args(["--chdir", "/var/task"])
            .args(["--unshare-pid", "--die-with-parent", "--new-session", "--"]);
        if setup.as_nobody {
            cmd.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--",
            ]);
        }
        cmd.arg("/var/rapid/init");
        if spec.no_extensions {
            cmd.arg("--no-extensions");
        }
        let child = cmd
            .env_clear()
            .envs(&env)
            .stdin(Stdio::piped())
            .stdout(file("runtime.stdout"))
            .stderr(file("runtime.stderr"))
            .spawn()
            .expect("start bwrap");
        let mut sb = Sandbox {
            dir,
            control: None,
            child,
            extensions: !spec.no_extensions,
        };
        sb.control = sb.child.stdin.take();
        if sb.extensions {
            let until = Instant::now() + Duration::from_secs(20);
            while lambda.extensions() < 1 {
                assert!(
                    Instant::now() < until,
                    "the extension did not register\n{}",
                    sb.diag()
                );
                assert!(
                    sb.child.try_wait().ok().flatten().is_none(),
                    "the sandbox exited\n{}",
                    sb.diag()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        sb
    }

    fn step(&mut self) {
        if let Some(c) = self.control.as_mut() {
            c.write_all(b"next\n").expect("write to init");
            c.flush().expect("flush init's stdin");
        }
    }

    /// Every extension registered: init the runtime, and wait for its first `/next`.
    fn init_runtime(&mut self, lambda: &Lambda) {
        self.step();
        let until = Instant::now() + Duration::from_secs(30);
        while !lambda.initialized() {
            if let Some(e) = lambda.init_error() {
                panic!("the runtime failed to init: {e}\n{}", self.diag());
            }
            assert!(
                Instant::now() < until,
                "the runtime did not init\n{}",
                self.diag()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lambda's shutdown: SIGTERM to the runtime, SHUTDOWN to the extensions; returns how long
    /// the extensions took to exit (the sandbox ends with them).
    fn shutdown(&mut self, lambda: &mut Lambda) -> Duration {
        self.step();
        let started = Instant::now();
        let shutdown = lambda.begin_shutdown();
        let until = started + Duration::from_secs(20);
        let took = loop {
            if let Some(_st) = self.child.try_wait().expect("wait for the sandbox") {
                break started.elapsed();
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                panic!(
                    "the sandbox did not end within 20 s of SHUTDOWN\n{}",
                    self.diag()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        shutdown.abort();
        took
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    fn diag(&self) -> String {
        format!(
            "sandbox folder: {}\n--- extension stderr:\n{}\n--- runtime stdout:\n{}\n--- runtime stderr:\n{}\n--- extension stdout (events):\n{}",
            self.dir.display(),
            self.read("extension.stderr"),
            tail(&self.read("runtime.stdout"), 60),
            tail(&self.read("runtime.stderr"), 60),
            tail(&self.read("extension.stdout"), 40),
        )
    }

    /// The extension's stdout: every line must be a complete event.
    fn extension_events(&self) -> Vec<Value> {
        parse_events(&self.read("extension.stdout"), true)
    }

    /// Vigil's events on the runtime's stdout (the fallback), among the runtime's own lines.
    fn runtime_events(&self) -> Vec<Value> {
        parse_events(&self.read("runtime.stdout"), false)
    }

    fn marker(&self, name: &str) -> bool {
        self.dir.join("tmp").join(name).exists()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Parses event lines. `only_events`: every line must be one (the extension's stdout);
/// otherwise lines that are not Vigil events are the runtime's own and skipped, but a line that
/// starts like an event must be a complete one.
fn parse_events(text: &str, only_events: bool) -> Vec<Value> {
    let mut events = Vec::new();
    for line in text.lines() {
        if !only_events && !line.starts_with("{\"class_uid\"") {
            continue;
        }
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("an event line is not complete JSON ({e}): {line}"));
        assert_eq!(
            v["metadata"]["product"]["name"], "vigil",
            "not a Vigil event: {line}"
        );
        let missing = vigil_events::missing_required_fields(&v);
        assert!(missing.is_empty(), "event lacks {missing:?}: {line}");
        events.push(v);
    }
    events
}

// ---------------------------------------------------------------------------------------------
// Peers of the function: its webhook (allowed), a trap (forbidden), a collector

#[derive(Debug, Clone)]
struct Request {
    path: String,
    content_type: String,
    body: String,
}

/// A small HTTP/1.1 server on loopback that records requests and answers 200.
#[derive(Clone)]
struct Recorder {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the recorder");
        let addr = l.local_addr().expect("recorder address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let r = requests.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                let r = r.clone();
                std::thread::spawn(move || serve(conn, &r));
            }
        });
        Recorder { addr, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Serves one keep-alive connection (bounded by a read timeout).
fn serve(conn: TcpStream, into: &Mutex<Vec<Request>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let (mut len, mut content_type) = (0usize, String::new());
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("content-type") {
                    content_type = v.trim().to_string();
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        if let Ok(mut v) = into.lock() {
            v.push(Request {
                path,
                content_type,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        if w.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok",
        )
        .is_err()
        {
            return;
        }
    }
}

/// A listener nobody may reach: connections to it stay in its backlog, where they are counted.
struct Trap(TcpListener);

impl Trap {
    fn start() -> Trap {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the trap");
        l.set_nonblocking(true).expect("nonblocking trap");
        Trap(l)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().expect("trap address").port()
    }

    fn connections(&self) -> usize {
        let mut n = 0;
        while self.0.accept().is_ok() {
            n += 1;
        }
        n
    }
}

/// A collector that accepts connections and never answers (each held for at most 60 s).
fn blackhole() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind the blackhole");
    let addr = l.local_addr().expect("blackhole address");
    std::thread::spawn(move || {
        for conn in l.incoming().flatten() {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(60));
                drop(conn);
            });
        }
    });
    addr
}

/// The function's legitimate webhook, shared by every sandbox: the learned policy names its
/// port.
fn webhook() -> &'static Recorder {
    static HOOK: OnceLock<Recorder> = OnceLock::new();
    HOOK.get_or_init(Recorder::start)
}

fn benign() -> Value {
    json!({"name": "world", "callback_url": webhook().url("/hook")})
}

// ---------------------------------------------------------------------------------------------
// Event queries

fn correlated<'a>(events: &'a [Value], request: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["metadata"]["correlation_uid"] == request)
        .collect()
}

fn findings<'a>(events: &'a [Value], request: &str, rule: &str) -> Vec<&'a Value> {
    correlated(events, request)
        .into_iter()
        .filter(|e| e["class_uid"] == 2004 && e["finding_info"]["uid"] == rule)
        .collect()
}

fn observation(e: &Value) -> &str {
    e["unmapped"]["observation"].as_str().unwrap_or_default()
}

fn dump(events: &[&Value]) -> String {
    events
        .iter()
        .map(|e| {
            format!(
                "{} {} {} corr={} obs={} msg={}",
                e["class_uid"],
                e["activity_id"],
                e["disposition_id"],
                e["metadata"]["correlation_uid"],
                observation(e),
                e["message"]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The SIEM fields of an event from inside the function.
fn assert_function_fields(e: &Value, lambda: &Lambda) {
    assert_eq!(e["cloud"]["provider"], "AWS", "{e}");
    assert_eq!(e["cloud"]["region"], REGION, "{e}");
    assert_eq!(
        e["unmapped"]["function"]["name"],
        lambda.name.as_str(),
        "{e}"
    );
    assert_eq!(e["unmapped"]["function"]["version"], "$LATEST", "{e}");
}

/// The SHUTDOWN event (6002 Stop) of the extension.
fn stop_event(events: &[Value]) -> &Value {
    events
        .iter()
        .find(|e| {
            e["class_uid"] == 6002
                && e["activity_id"] == 4
                && e["unmapped"]["shutdown_reason"].is_string()
        })
        .unwrap_or_else(|| {
            panic!(
                "no SHUTDOWN (6002 Stop) event:\n{}",
                dump(&events.iter().collect::<Vec<_>>())
            )
        })
}

// ---------------------------------------------------------------------------------------------
// The learned policy (one learn sandbox per test process, shared by the tests that enforce it)

fn learned_policy(setup: &Setup) -> &'static str {
    static LEARNED: OnceLock<String> = OnceLock::new();
    LEARNED.get_or_init(|| learn(setup))
}

/// The user's first step: run the function in learn mode over benign invocations and take the
/// policy from the SHUTDOWN event.
fn learn(setup: &Setup) -> String {
    let mut lambda = Lambda::new("orders-learn");
    let api = lambda.api();
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "learn",
            env: vec![("VIGIL_MODE", "learn".into())],
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);
    let hooks_before = webhook().requests().len();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let done = lambda.invoke(benign(), true);
        let p = done.payload();
        assert_eq!(p["greeting"], "HELLO, WORLD", "{p}\n{}", sb.diag());
        assert_eq!(p["callback_status"], 200, "{p}\n{}", sb.diag());
        ids.push(done.id);
    }
    assert_eq!(webhook().requests().len(), hooks_before + 2);
    sb.shutdown(&mut lambda);
    let events = sb.extension_events();
    // Learn mode blocks nothing and reports what it saw, tagged with the invocation.
    assert!(
        events.iter().all(|e| e["disposition_id"] != 2),
        "learn mode blocked something:\n{}",
        dump(&events.iter().collect::<Vec<_>>())
    );
    for id in &ids {
        let seen: Vec<&str> = correlated(&events, id)
            .into_iter()
            .map(observation)
            .collect();
        assert!(
            seen.contains(&"exec:/usr/bin/tr"),
            "invocation {id}: no learned exec of tr in {seen:?}\n{}",
            sb.diag()
        );
    }
    let stop = stop_event(&events);
    let text = stop["unmapped"]["learned_policy"]
        .as_str()
        .unwrap_or_else(|| panic!("the SHUTDOWN event has no learned_policy: {stop}"))
        .to_string();
    eprintln!("the learned policy:\n{text}");
    let policy = vigil_policy::parse("learned.yaml", &text)
        .unwrap_or_else(|e| panic!("the learned policy does not parse: {e}\n{text}"));
    assert!(policy.allows_exec("/usr/bin/tr"), "{text}");
    assert!(policy.process.fork, "{text}");
    let hook = webhook().addr;
    assert!(
        policy.allows_ip(hook.ip(), hook.port(), &[]).is_some(),
        "the webhook {hook} was not learned:\n{text}"
    );
    // The Runtime API is allowed by the integration, never learned. The runtime reached it
    // through the extension's proxy (its own address, never the real endpoint), and that
    // address is not learned either — neither into the SHUTDOWN event's policy nor by
    // `vigil policy from-events` over the logs.
    assert!(
        !text.contains(&api),
        "the Runtime API {api} was learned:\n{text}"
    );
    let proxies: Vec<&str> = events
        .iter()
        .filter_map(|e| e["unmapped"]["runtime_api"].as_str())
        .collect();
    assert!(
        !proxies.is_empty(),
        "no event of the runtime reaching the Runtime API:\n{}",
        sb.diag()
    );
    for p in &proxies {
        assert_ne!(
            *p, api,
            "the runtime reached the real Runtime API, not the proxy"
        );
        assert!(p.starts_with("127.0.0.1:"), "the proxy's address: {p}");
        assert!(!text.contains(p), "the proxy {p} was learned:\n{text}");
    }
    let (from_logs, warnings) =
        vigil_policy::from_events::observations_from_log(&sb.read("extension.stdout"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let rebuilt = vigil_policy::render(&vigil_policy::Policy::from_observed(&from_logs), &[]);
    for p in proxies.iter().chain([&api.as_str()]) {
        assert!(
            !rebuilt.contains(p),
            "`vigil policy from-events` learned the Runtime API {p}:\n{rebuilt}"
        );
    }
    let registered = events
        .iter()
        .find(|e| e["unmapped"]["runtime_api_proxy"].is_boolean())
        .unwrap_or_else(|| panic!("no registration event\n{}", sb.diag()));
    assert_eq!(
        registered["unmapped"]["runtime_api_proxy"], true,
        "{registered}"
    );
    text
}

// ---------------------------------------------------------------------------------------------
// Tests

/// The whole story of the issue: learn, then enforce. Benign invocations succeed; an injected
/// command and a forbidden callback are blocked, without effect, and reported with their
/// request id; the next invocation still works; SHUTDOWN flushes every event.
#[test]
fn learned_policy_blocks_injection_and_ssrf_and_the_function_keeps_working() {
    let Some(setup) = setup() else { return };
    let policy = learned_policy(setup).to_string();
    let trap = Trap::start();
    let mut lambda = Lambda::new("orders");
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "enforce",
            policy: Some(policy),
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);

    let hooks = webhook().requests().len();
    let first = lambda.invoke(benign(), true);
    assert_eq!(first.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    assert_eq!(first.payload()["callback_status"], 200, "{}", sb.diag());

    let injected = lambda.invoke(json!({ "name": INJECTION }), true);
    let p = injected.payload().clone();
    let out = p["greeting"].as_str().unwrap_or_default();
    assert!(!out.contains("root:"), "the injected cat ran: {p}");

    let ssrf = lambda.invoke(
        json!({"callback_url": format!("http://127.0.0.1:{}/latest/meta-data", trap.port())}),
        true,
    );
    let p = ssrf.payload().clone();
    assert!(
        p["callback_error"].is_string(),
        "the forbidden callback did not fail: {p}"
    );
    assert_eq!(
        trap.connections(),
        0,
        "the forbidden callback reached its target"
    );

    let last = lambda.invoke(benign(), true);
    assert_eq!(last.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    assert_eq!(last.payload()["callback_status"], 200, "{}", sb.diag());
    assert_eq!(
        webhook().requests().len(),
        hooks + 2,
        "the allowed callbacks"
    );
    assert!(!sb.marker("pwned"), "the injected touch ran");

    let took = sb.shutdown(&mut lambda);
    let events = sb.extension_events();
    let all: Vec<&Value> = events.iter().collect();

    // The sensor ran at full strength, in enforce mode from the shipped policy.
    let start = events
        .iter()
        .find(|e| {
            e["class_uid"] == 6002 && e["activity_id"] == 3 && e["unmapped"]["layer"].is_string()
        })
        .unwrap_or_else(|| panic!("no sensor Start event:\n{}", dump(&all)));
    assert_eq!(start["unmapped"]["mode"], "enforce", "{start}");
    assert_eq!(start["unmapped"]["layer"], "kernel-sensor", "{start}");
    assert_eq!(
        start["unmapped"]["policy"], "/var/task/vigil.yaml",
        "{start}"
    );

    // The injection: both programs refused, reported with the request id.
    let execs = findings(&events, &injected.id, "process.exec");
    let refused: Vec<&str> = execs.iter().map(|e| observation(e)).collect();
    for prog in ["exec:/usr/bin/cat", "exec:/usr/bin/touch"] {
        assert!(
            refused.contains(&prog),
            "no blocked `{prog}` finding for {}:\n{}",
            injected.id,
            dump(&all)
        );
    }
    for f in &execs {
        assert_eq!(f["disposition_id"], 2, "{f}");
        assert_eq!(f["action_id"], 2, "{f}");
        assert_function_fields(f, &lambda);
        assert_eq!(f["unmapped"]["cold_start"], false, "{f}");
        assert!(
            f["actor"]["process"]["cmd_line"]
                .as_str()
                .is_some_and(|c| c.contains("cat /etc/passwd")),
            "the finding names the injected shell: {f}"
        );
    }

    // The SSRF: refused, with the destination, and the request id: the Network Refuse event
    // and its finding.
    let target = format!("connect:127.0.0.1:{}", trap.port());
    let refused_conn: Vec<&Value> = correlated(&events, &ssrf.id)
        .into_iter()
        .filter(|e| e["class_uid"] == 4001 && e["activity_id"] == 5)
        .collect();
    assert!(
        refused_conn
            .iter()
            .any(|e| e["dst_endpoint"]["port"] == trap.port()
                && e["dst_endpoint"]["ip"] == "127.0.0.1"
                && e["disposition_id"] == 2),
        "no Network Refuse event for {}:\n{}",
        ssrf.id,
        dump(&all)
    );
    let conns = findings(&events, &ssrf.id, "network.connect");
    assert!(
        conns.iter().any(|f| observation(f) == target
            && f["evidences"][0]["dst_endpoint"]["port"] == trap.port()
            && f["disposition_id"] == 2),
        "no blocked connect finding for {}:\n{}",
        ssrf.id,
        dump(&all)
    );
    for f in &conns {
        assert_function_fields(f, &lambda);
        assert_eq!(
            f["unmapped"]["function"]["arn"].as_str(),
            Some(lambda.arn().as_str()),
            "{f}"
        );
    }

    // No false positives: the benign invocations produced no finding, and no other invocation
    // did.
    for id in [&first.id, &last.id] {
        let f: Vec<&Value> = correlated(&events, id)
            .into_iter()
            .filter(|e| e["class_uid"] == 2004)
            .collect();
        assert!(
            f.is_empty(),
            "findings in a benign invocation {id}:\n{}",
            dump(&f)
        );
    }
    assert!(
        correlated(&events, &first.id)
            .iter()
            .all(|e| e["unmapped"]["cold_start"] == true),
        "the first invocation is the cold start"
    );
    for e in &events {
        if e["unmapped"]["cold_start"] == true {
            assert_eq!(
                e["metadata"]["correlation_uid"], first.id,
                "cold_start on another invocation than the first: {e}"
            );
        }
    }
    // Exact attribution: every finding is the injection's or the SSRF's, under its request id.
    for f in events.iter().filter(|e| e["class_uid"] == 2004) {
        let id = f["metadata"]["correlation_uid"]
            .as_str()
            .unwrap_or_default();
        let obs = observation(f);
        let expected = if obs.starts_with("exec:") {
            &injected.id
        } else if obs.starts_with("connect:") {
            &ssrf.id
        } else {
            panic!("an unexpected finding: {f}");
        };
        assert_eq!(id, expected, "a finding under another request id: {f}");
    }

    // SHUTDOWN flushed everything: the runtime's end is reported before the Stop event, the Stop
    // is the last line, and the extension ended within Lambda's shutdown limit.
    let stop = stop_event(&events);
    assert_eq!(
        stop["unmapped"]["shutdown_reason"]
            .as_str()
            .map(str::to_ascii_lowercase),
        Some("spindown".to_string()),
        "{stop}"
    );
    assert_eq!(
        events.last(),
        Some(stop),
        "events after the Stop event:\n{}",
        dump(&all)
    );
    assert!(
        events.iter().any(|e| e["class_uid"] == 1007
            && e["activity_id"] == 2
            && e["actor"]["process"]["cmd_line"]
                .as_str()
                .is_some_and(|c| c.contains("awslambdaric"))),
        "no Terminate event for the runtime:\n{}",
        dump(&all)
    );
    assert!(
        took < SHUTDOWN_LIMIT + Duration::from_millis(500),
        "the extension took {took:?} to shut down"
    );
}

/// The telemetry fallback, for a runtime that does not come through the proxy (here: the
/// proxy is switched off, so the runtime keeps the real endpoint): invocations are still
/// followed through `platform.start` and `platform.runtimeDone`, findings carry their request
/// id, and the real endpoint is the integration's allowed, never-learned Runtime API.
#[test]
fn without_the_proxy_telemetry_still_attributes_each_invocation() {
    let Some(setup) = setup() else { return };
    let policy = learned_policy(setup).to_string();
    let mut lambda = Lambda::new("orders-noproxy");
    let api = lambda.api();
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "noproxy",
            policy: Some(policy),
            env: vec![("VIGIL_RUNTIME_API_PROXY", "off".into())],
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);
    let first = lambda.invoke(benign(), true);
    assert_eq!(first.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    let injected = lambda.invoke(json!({ "name": INJECTION }), true);
    let out = injected.payload()["greeting"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!out.contains("root:"), "the injected cat ran: {out}");
    let last = lambda.invoke(benign(), true);
    assert_eq!(last.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    assert!(!sb.marker("pwned"), "the injected touch ran");
    sb.shutdown(&mut lambda);

    let events = sb.extension_events();
    let all: Vec<&Value> = events.iter().collect();
    let registered = events
        .iter()
        .find(|e| e["unmapped"]["runtime_api_proxy"].is_boolean())
        .unwrap_or_else(|| panic!("no registration event\n{}", sb.diag()));
    assert_eq!(
        registered["unmapped"]["runtime_api_proxy"], false,
        "{registered}"
    );
    assert_eq!(registered["unmapped"]["telemetry"], true, "{registered}");
    for e in events
        .iter()
        .filter(|e| e["unmapped"]["runtime_api"].is_string())
    {
        assert_eq!(e["unmapped"]["runtime_api"], api.as_str(), "{e}");
    }
    let execs = findings(&events, &injected.id, "process.exec");
    let refused: Vec<&str> = execs.iter().map(|e| observation(e)).collect();
    for prog in ["exec:/usr/bin/cat", "exec:/usr/bin/touch"] {
        assert!(
            refused.contains(&prog),
            "no blocked `{prog}` finding for {}:\n{}",
            injected.id,
            dump(&all)
        );
    }
    for f in events.iter().filter(|e| e["class_uid"] == 2004) {
        assert_eq!(
            f["metadata"]["correlation_uid"], injected.id,
            "a finding under another request id: {f}"
        );
    }
    for e in &events {
        if e["unmapped"]["cold_start"] == true {
            assert_eq!(e["metadata"]["correlation_uid"], first.id, "{e}");
        }
    }
}

/// With `VIGIL_COLLECTOR`, the events of each invocation reach the collector by the end of that
/// invocation (before the extension is ready for the next), as `application/x-ndjson`; by the
/// end of SHUTDOWN the collector has every line the extension printed, once.
#[test]
fn events_reach_the_collector_by_the_end_of_each_invocation() {
    let Some(setup) = setup() else { return };
    let policy = learned_policy(setup).to_string();
    let collector = Recorder::start();
    let mut lambda = Lambda::new("orders-collector");
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "collector",
            policy: Some(policy),
            env: vec![("VIGIL_COLLECTOR", collector.url("/ingest"))],
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);
    let received = |c: &Recorder| -> Vec<String> {
        c.requests()
            .iter()
            .flat_map(|r| r.body.lines().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    for payload in [benign(), json!({ "name": INJECTION }), benign()] {
        let done = lambda.invoke(payload, true);
        assert_eq!(done.status, InvocationStatus::Success, "{}", sb.diag());
        // The extension is ready again: what it printed for this invocation was delivered.
        let printed: Vec<String> = sb
            .read("extension.stdout")
            .lines()
            .filter(|l| l.contains(&done.id))
            .map(str::to_string)
            .collect();
        assert!(
            !printed.is_empty(),
            "no events for {}\n{}",
            done.id,
            sb.diag()
        );
        let got = received(&collector);
        let missing: Vec<&String> = printed.iter().filter(|l| !got.contains(l)).collect();
        assert!(
            missing.is_empty(),
            "{} of {} events of {} not at the collector when the invocation ended:\n{}",
            missing.len(),
            printed.len(),
            done.id,
            missing
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    sb.shutdown(&mut lambda);
    let printed: Vec<String> = sb
        .read("extension.stdout")
        .lines()
        .map(str::to_string)
        .collect();
    let mut got = received(&collector);
    let mut want = printed.clone();
    got.sort();
    want.sort();
    assert_eq!(
        got.len(),
        want.len(),
        "the collector got {} lines, the extension printed {}",
        got.len(),
        want.len()
    );
    assert_eq!(got, want, "the collector's lines are the printed lines");
    let findings = parse_events(&printed.join("\n"), true)
        .into_iter()
        .filter(|e| e["class_uid"] == 2004)
        .count();
    assert!(findings >= 2, "the injection's findings were shipped");
    for r in collector.requests() {
        assert_eq!(r.path, "/ingest");
        assert_eq!(r.content_type, "application/x-ndjson");
    }
}

/// A collector that accepts connections and never answers: the first invocation's end is
/// delayed by at most the flush budget and the next ones not at all (back-off), the function
/// keeps working, SHUTDOWN ends within Lambda's limit, every event is still on stdout, and the
/// Stop event counts the undelivered ones.
#[test]
fn an_unreachable_collector_costs_at_most_the_flush_budget() {
    let Some(setup) = setup() else { return };
    let policy = learned_policy(setup).to_string();
    let dead = blackhole();
    let mut lambda = Lambda::new("orders-deadcollector");
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "deadcollector",
            policy: Some(policy),
            env: vec![("VIGIL_COLLECTOR", format!("http://{dead}/ingest"))],
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);
    let mut overheads = Vec::new();
    for payload in [benign(), json!({ "name": INJECTION }), benign()] {
        let done = lambda.invoke(payload, true);
        assert_eq!(done.status, InvocationStatus::Success, "{}", sb.diag());
        overheads.push(done.extension_overhead.unwrap_or_default());
    }
    // The first failed delivery costs at most the flush budget; the collector is then left
    // alone for a while, so the next invocations end at once.
    assert!(
        overheads[0] < FLUSH_BUDGET + Duration::from_millis(1000),
        "the failed flush took {:?}",
        overheads[0]
    );
    for o in &overheads[1..] {
        assert!(
            *o < Duration::from_millis(800),
            "an invocation during the back-off was delayed {o:?} ({overheads:?})"
        );
    }
    assert!(!sb.marker("pwned"), "the injected touch ran");
    let took = sb.shutdown(&mut lambda);
    // `took` also counts the simulator's own telemetry flush before it sends SHUTDOWN (up to
    // 100 ms) and init's SIGTERM step.
    assert!(
        took < SHUTDOWN_LIMIT + Duration::from_millis(300),
        "SHUTDOWN took {took:?}: past Lambda's limit the extension is killed"
    );
    let events = sb.extension_events();
    let stop = stop_event(&events);
    assert!(
        events.iter().any(|e| e["class_uid"] == 2004),
        "the findings are on stdout"
    );
    let undelivered = stop["unmapped"]["collector_undelivered"].as_u64();
    assert!(
        undelivered.is_some_and(|n| n as usize + 1 >= events.len()),
        "the Stop event counts the events the collector did not get: {stop}"
    );
}

/// No extension answers (none started): after VIGIL_HANDOFF_TIMEOUT_MS the wrapper supervises
/// the runtime by itself. Events go to the runtime's stdout, without request ids; the injection
/// is still blocked and the function keeps working.
#[test]
fn without_an_extension_the_wrapper_supervises_alone() {
    let Some(setup) = setup() else { return };
    let policy = learned_policy(setup).to_string();
    let mut lambda = Lambda::new("orders-noext");
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "noext",
            policy: Some(policy),
            no_extensions: true,
            ..Spec::default()
        },
    );
    let started = Instant::now();
    sb.init_runtime(&lambda);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the wrapper waited VIGIL_HANDOFF_TIMEOUT_MS (1500 ms) for an extension"
    );
    let first = lambda.invoke(benign(), false);
    assert_eq!(first.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    let injected = lambda.invoke(json!({ "name": INJECTION }), false);
    let out = injected.payload()["greeting"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!out.contains("root:"), "the injected cat ran: {out}");
    let last = lambda.invoke(benign(), false);
    assert_eq!(last.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    assert!(!sb.marker("pwned"), "the injected touch ran");
    sb.shutdown(&mut lambda);

    let events = sb.runtime_events();
    let all: Vec<&Value> = events.iter().collect();
    assert!(
        sb.read("extension.stdout").is_empty(),
        "no extension ran, yet it printed"
    );
    let start = events
        .iter()
        .find(|e| e["class_uid"] == 6002 && e["activity_id"] == 3)
        .unwrap_or_else(|| panic!("no Start event on the runtime's stdout:\n{}", sb.diag()));
    assert_eq!(start["unmapped"]["mode"], "enforce", "{start}");
    assert_eq!(start["unmapped"]["layer"], "kernel-sensor", "{start}");
    assert_eq!(
        start["unmapped"]["integration"], "lambda-wrapper",
        "{start}"
    );
    let blocked: Vec<&str> = events
        .iter()
        .filter(|e| e["class_uid"] == 2004 && e["disposition_id"] == 2)
        .map(observation)
        .collect();
    for prog in ["exec:/usr/bin/cat", "exec:/usr/bin/touch"] {
        assert!(
            blocked.contains(&prog),
            "`{prog}` not blocked:\n{}",
            dump(&all)
        );
    }
    for e in &events {
        assert_function_fields(e, &lambda);
    }
    assert_eq!(
        events.iter().filter(|e| e["class_uid"] == 2004).count(),
        blocked.len(),
        "findings other than the injection's:\n{}",
        dump(&all)
    );
}

/// A policy whose network section says `on_violation: kill`: the SSRF kills the runtime
/// itself, and the extension fails the invocation with `Vigil.PolicyViolation` instead of
/// leaving it to time out.
#[test]
fn a_kill_policy_fails_the_invocation_with_policy_violation() {
    let Some(setup) = setup() else { return };
    let mut policy = vigil_policy::parse("learned.yaml", learned_policy(setup))
        .expect("the learned policy parses");
    policy.network.on_violation = Some(vigil_policy::Action::Kill);
    let text = vigil_policy::render(&policy, &[]);
    let trap = Trap::start();
    let mut lambda = Lambda::new("orders-kill");
    let mut sb = Sandbox::start(
        setup,
        &lambda,
        Spec {
            name: "kill",
            policy: Some(text),
            ..Spec::default()
        },
    );
    sb.init_runtime(&lambda);
    let first = lambda.invoke(benign(), true);
    assert_eq!(first.payload()["greeting"], "HELLO, WORLD", "{}", sb.diag());
    let started = Instant::now();
    let ssrf = lambda.invoke(
        json!({"callback_url": format!("http://127.0.0.1:{}/", trap.port())}),
        true,
    );
    assert_eq!(ssrf.status, InvocationStatus::Error, "{}", sb.diag());
    assert_eq!(ssrf.error_type.as_deref(), Some("Vigil.PolicyViolation"));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the invocation failed at once, not at its timeout"
    );
    assert_eq!(
        trap.connections(),
        0,
        "the forbidden callback reached its target"
    );
    sb.shutdown(&mut lambda);
    let events = sb.extension_events();
    let killed = findings(&events, &ssrf.id, "network.connect");
    assert!(
        killed
            .iter()
            .any(|f| f["unmapped"]["enforcement"] == "kill" && f["disposition_id"] == 2),
        "no kill finding for {}:\n{}",
        ssrf.id,
        dump(&events.iter().collect::<Vec<_>>())
    );
}
