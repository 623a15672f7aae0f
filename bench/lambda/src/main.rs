//! Cold-start and warm-invocation overhead of the Vigil Lambda layer.
//!
//! Each round starts a fresh simulated sandbox (lambda-simulator: Runtime, Extensions and
//! Telemetry APIs on loopback) twice, once per arm, in alternating order:
//!
//! - `bare`: the runtime alone (`python3 -m awslambdaric handler.handler`);
//! - `vigil`: the layer's extension (`extensions/vigil`) is started first, as Lambda does in
//!   its Extension-init phase; once it has registered, the runtime is started through the
//!   layer's exec wrapper (`vigil/wrap python3 -m awslambdaric …`, what
//!   `AWS_LAMBDA_EXEC_WRAPPER` makes Lambda run) with the function's policy in enforce mode.
//!
//! Cold start: from spawning the sandbox's first process to the runtime's response to the
//! first invocation (the invocation is queued at once; the runtime takes it at its first
//! `/next`). Warm: then `--warm` invocations, one at a time; for each, the response latency
//! (queued → runtime response) and the cycle (queued → every extension back in `/next`, when
//! Lambda can freeze the sandbox or send the next event; Lambda bills this).
//!
//! Usage: see bench/lambda/run.sh, which prepares the layer, the Python runtime and the
//! policy, and calls this with `--layer DIR --task DIR --pythonpath DIR`.

use lambda_simulator::{ShutdownReason, Simulator};
use serde_json::json;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone)]
struct Args {
    layer: PathBuf,
    task: PathBuf,
    pythonpath: PathBuf,
    python: String,
    rounds: usize,
    warm: usize,
    out: PathBuf,
    logs: PathBuf,
    mode: String,
    learn: Option<PathBuf>,
}

fn parse_args() -> Args {
    let mut a = Args {
        layer: PathBuf::new(),
        task: PathBuf::new(),
        pythonpath: PathBuf::new(),
        python: "/usr/bin/python3".into(),
        rounds: 20,
        warm: 100,
        out: PathBuf::from("bench/out/lambda.md"),
        logs: std::env::temp_dir().join("vigil-bench-lambda"),
        mode: "enforce".into(),
        learn: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--layer" => a.layer = v().into(),
            "--task" => a.task = v().into(),
            "--pythonpath" => a.pythonpath = v().into(),
            "--python" => a.python = v(),
            "--rounds" => a.rounds = v().parse().expect("--rounds N"),
            "--warm" => a.warm = v().parse().expect("--warm N"),
            "--out" => a.out = v().into(),
            "--logs" => a.logs = v().into(),
            "--mode" => a.mode = v(),
            // Learn the function's policy in the simulated sandbox and write it to FILE.
            "--learn" => a.learn = Some(v().into()),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arm {
    Bare,
    Vigil,
}

impl Arm {
    fn name(self) -> &'static str {
        match self {
            Arm::Bare => "bare",
            Arm::Vigil => "vigil",
        }
    }
}

#[derive(Debug, Default)]
struct Round {
    cold_ms: f64,
    /// Extension spawned → registered (vigil arm).
    ext_register_ms: Option<f64>,
    /// Runtime spawned → its first `/next` returned the invocation.
    runtime_init_ms: f64,
    /// First invocation: response → every extension back in `/next`.
    first_post_ms: f64,
    warm_resp_ms: Vec<f64>,
    warm_cycle_ms: Vec<f64>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn wall_us(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn log_file(path: &Path) -> File {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log")
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(log_file(log))
        .stderr(log_file(log))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"))
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// Waits for `child` to exit by itself within `limit`, else kills it.
fn reap(mut child: Child, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop(child);
    false
}

async fn round(a: &Args, arm: Arm, mode: &str, n: usize, warm: usize, log: &Path) -> Round {
    let sim = Simulator::builder()
        .function_name("vigil-bench")
        .invocation_timeout(Duration::from_secs(30))
        .shutdown_timeout(Duration::from_secs(2))
        .build()
        .await
        .expect("simulator");
    let sock = a.logs.join(format!("handoff-{n}.sock"));
    let _ = std::fs::remove_file(&sock);
    let mut env: Vec<(String, String)> = sim.lambda_env_vars().into_iter().collect();
    let set = |env: &mut Vec<(String, String)>, k: &str, v: String| {
        env.retain(|(x, _)| x != k);
        env.push((k.to_string(), v));
    };
    set(&mut env, "LAMBDA_TASK_ROOT", a.task.display().to_string());
    set(&mut env, "PATH", "/usr/local/bin:/usr/bin:/bin".into());
    set(&mut env, "PYTHONPATH", a.pythonpath.display().to_string());
    set(&mut env, "_HANDLER", "handler.handler".into());
    set(&mut env, "VIGIL_HANDOFF_SOCKET", sock.display().to_string());
    set(&mut env, "VIGIL_MODE", mode.to_string());
    set(
        &mut env,
        "VIGIL_LAYER_POLICY",
        a.layer.join("vigil/policy.yaml").display().to_string(),
    );
    env.retain(|(k, _)| k != "LD_LIBRARY_PATH");
    let command = |program: &Path| {
        let mut c = Command::new(program);
        c.env_clear().envs(env.iter().cloned()).current_dir(&a.task);
        c
    };

    let mut r = Round::default();
    let t0_wall = SystemTime::now();
    let t0 = Instant::now();
    let mut extension = None;
    if arm == Arm::Vigil {
        extension = Some(spawn(&mut command(&a.layer.join("extensions/vigil")), log));
        // Lambda starts the runtime once the extensions have registered (Extension init).
        let until = Instant::now() + Duration::from_secs(10);
        while sim.extension_count().await == 0 {
            assert!(
                Instant::now() < until,
                "the extension did not register; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let reg = sim.get_registered_extensions().await;
        r.ext_register_ms = reg
            .first()
            .map(|e| (e.registered_at.timestamp_micros() - wall_us(t0_wall)) as f64 / 1e3);
    }
    let runtime_spawned = Instant::now();
    let mut rt = match arm {
        Arm::Bare => command(Path::new(&a.python)),
        Arm::Vigil => {
            let mut c = command(&a.layer.join("vigil/wrap"));
            c.arg(&a.python);
            c
        }
    };
    rt.args(["-m", "awslambdaric", "handler.handler"]);
    let runtime = spawn(&mut rt, log);
    let rid = sim.enqueue_payload(json!({"round": n, "cold": true})).await;
    let st = sim
        .wait_for_invocation_complete(&rid, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{} round {n}: first invocation: {e}; see {}",
                arm.name(),
                log.display()
            )
        });
    let t_resp = Instant::now();
    r.cold_ms = ms(t_resp - t0);
    r.runtime_init_ms = st
        .started_at
        .map(|s| (s.timestamp_micros() - wall_us(t0_wall)) as f64 / 1e3 - ms(runtime_spawned - t0))
        .unwrap_or(f64::NAN);
    sim.wait_for_extensions_ready(&rid, Duration::from_secs(30))
        .await
        .expect("extensions ready after the first invocation");
    r.first_post_ms = ms(Instant::now() - t_resp);

    for i in 0..warm {
        let t = Instant::now();
        let rid = sim.enqueue_payload(json!({"round": n, "i": i})).await;
        sim.wait_for_invocation_complete(&rid, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| panic!("{} round {n} invocation {i}: {e}", arm.name()));
        r.warm_resp_ms.push(ms(t.elapsed()));
        sim.wait_for_extensions_ready(&rid, Duration::from_secs(30))
            .await
            .expect("extensions ready");
        r.warm_cycle_ms.push(ms(t.elapsed()));
    }

    // As Lambda does: the runtime is stopped, then the extensions get SHUTDOWN.
    stop(runtime);
    sim.graceful_shutdown(ShutdownReason::Spindown).await;
    if let Some(e) = extension {
        reap(e, Duration::from_secs(3));
    }
    let _ = std::fs::remove_file(&sock);
    r
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let idx = ((s.len() - 1) as f64 * p).round() as usize;
    s[idx]
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "Linux x86_64, {cores} cores ({cpu}), kernel {}, load average at the end {}",
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// The learned policy in the extension's SHUTDOWN event (stdout, one JSON event a line).
fn learned_policy(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v.get("learned_policy")
                .or_else(|| v.pointer("/unmapped/learned_policy"))
                .and_then(|p| p.as_str())
                .map(str::to_string)
        })
        .next_back()
}

/// Blocked or alerted actions in the extension's output (the function must run clean).
fn findings(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|t| {
            t.lines()
                .filter(|l| l.contains("\"class_uid\":2004"))
                .count()
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let a = parse_args();
    std::fs::create_dir_all(&a.logs).expect("logs dir");

    if let Some(out) = &a.learn {
        let log = a.logs.join("learn.log");
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(a.task.join("vigil.yaml"));
        round(&a, Arm::Vigil, "learn", 0, 5, &log).await;
        let Some(p) = learned_policy(&log) else {
            eprintln!("no learned policy in {}", log.display());
            std::process::exit(1);
        };
        std::fs::write(out, p).expect("write the learned policy");
        eprintln!("learned policy written to {}", out.display());
        return;
    }

    let mut bare = Vec::new();
    let mut vigil = Vec::new();
    // One round of each to warm the page cache, not counted.
    for arm in [Arm::Bare, Arm::Vigil] {
        let log = a.logs.join(format!("warmup-{}.log", arm.name()));
        round(&a, arm, &a.mode, 0, 5, &log).await;
    }
    let vigil_log = a.logs.join("vigil.log");
    let _ = std::fs::remove_file(&vigil_log);
    for n in 1..=a.rounds {
        let order = if n % 2 == 1 {
            [Arm::Bare, Arm::Vigil]
        } else {
            [Arm::Vigil, Arm::Bare]
        };
        for arm in order {
            let log = match arm {
                Arm::Bare => a.logs.join("bare.log"),
                Arm::Vigil => vigil_log.clone(),
            };
            let r = round(&a, arm, &a.mode, n, a.warm, &log).await;
            eprintln!(
                "round {n:>3} {:<5} cold {:>7.1} ms  warm median {:>6.3} ms  cycle median {:>6.3} ms",
                arm.name(),
                r.cold_ms,
                percentile(&r.warm_resp_ms, 0.5),
                percentile(&r.warm_cycle_ms, 0.5)
            );
            match arm {
                Arm::Bare => bare.push(r),
                Arm::Vigil => vigil.push(r),
            }
        }
    }

    let col = |rs: &[Round], f: &dyn Fn(&Round) -> Vec<f64>| -> Vec<f64> {
        rs.iter().flat_map(f).collect()
    };
    let cold_b = col(&bare, &|r| vec![r.cold_ms]);
    let cold_v = col(&vigil, &|r| vec![r.cold_ms]);
    // Paired differences: round n's vigil minus round n's bare (same moment of the machine).
    let cold_d: Vec<f64> = vigil
        .iter()
        .zip(&bare)
        .map(|(v, b)| v.cold_ms - b.cold_ms)
        .collect();
    let resp_b = col(&bare, &|r| r.warm_resp_ms.clone());
    let resp_v = col(&vigil, &|r| r.warm_resp_ms.clone());
    let cyc_b = col(&bare, &|r| r.warm_cycle_ms.clone());
    let cyc_v = col(&vigil, &|r| r.warm_cycle_ms.clone());
    let resp_d: Vec<f64> = vigil
        .iter()
        .zip(&bare)
        .map(|(v, b)| percentile(&v.warm_resp_ms, 0.5) - percentile(&b.warm_resp_ms, 0.5))
        .collect();
    let cyc_d: Vec<f64> = vigil
        .iter()
        .zip(&bare)
        .map(|(v, b)| percentile(&v.warm_cycle_ms, 0.5) - percentile(&b.warm_cycle_ms, 0.5))
        .collect();
    let row = |name: &str, b: &[f64], v: &[f64], d: &[f64], target: &str| {
        let (mb, mv) = (percentile(b, 0.5), percentile(v, 0.5));
        format!(
            "| {name} | {mb:.2} | {:.2} | {mv:.2} | {:.2} | {:+.2} | {:.3}× | {target} |\n",
            percentile(b, 0.9),
            percentile(v, 0.9),
            percentile(d, 0.5),
            mv / mb
        )
    };
    let mut md = String::new();
    md.push_str("# Lambda layer overhead\n\n");
    md.push_str(&format!(
        "Machine: {}. Runtime: {} with awslambdaric and a handler returning a constant; sandbox APIs: lambda-simulator. \
         {} interleaved rounds per arm (order alternating), {} warm invocations per round; vigil in `{}` mode with a policy learned in the same simulated sandbox. \
         Generated by `bench/lambda/run.sh`.\n\n",
        machine(),
        a.python,
        a.rounds,
        a.warm,
        a.mode
    ));
    md.push_str("| ms | bare median | bare p90 | vigil median | vigil p90 | added (median of paired differences) | ratio of medians | target |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|---|\n");
    md.push_str(&row(
        "cold start: first process spawned → first response",
        &cold_b,
        &cold_v,
        &cold_d,
        "≤ +15 ms",
    ));
    md.push_str(&row(
        "warm invocation: queued → response",
        &resp_b,
        &resp_v,
        &resp_d,
        "≤ +1 ms",
    ));
    md.push_str(&row(
        "warm invocation: queued → extensions back in /next",
        &cyc_b,
        &cyc_v,
        &cyc_d,
        "—",
    ));
    md.push_str(
        "\nThe last row is the invocation as Lambda accounts it: it sends the next event, or \
         freezes the sandbox, only once every extension is back in `/next`, and bills that time \
         (`PostRuntimeExtensionsDuration`).\n",
    );
    md.push_str("\nWhere the vigil arm's cold start goes (medians):\n\n");
    let ext = col(&vigil, &|r| r.ext_register_ms.into_iter().collect());
    let rt_b = col(&bare, &|r| vec![r.runtime_init_ms]);
    let rt_v = col(&vigil, &|r| vec![r.runtime_init_ms]);
    let post_b = col(&bare, &|r| vec![r.first_post_ms]);
    let post_v = col(&vigil, &|r| vec![r.first_post_ms]);
    md.push_str(&format!(
        "- extension spawned → registered with the Extensions API: {:.2} ms (p90 {:.2})\n\
         - runtime spawned → its first `/next` answered (interpreter, awslambdaric, handler import; for vigil also the wrapper's hand-off and filter install): bare {:.2} ms, vigil {:.2} ms\n\
         - first invocation, response → extensions back in `/next`: bare {:.2} ms, vigil {:.2} ms\n\
         - detection findings during the measured rounds: {}\n",
        percentile(&ext, 0.5),
        percentile(&ext, 0.9),
        percentile(&rt_b, 0.5),
        percentile(&rt_v, 0.5),
        percentile(&post_b, 0.5),
        percentile(&post_v, 0.5),
        findings(&vigil_log)
    ));
    print!("{md}");
    if let Some(dir) = a.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    File::create(&a.out)
        .and_then(|mut f| f.write_all(md.as_bytes()))
        .expect("write the report");
    eprintln!("written to {}", a.out.display());
}
