//! The exec wrapper (`AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap`): receives the runtime's command
//! line, installs the sensor on itself, hands the listener to the extension, and executes the
//! runtime in place, with `AWS_LAMBDA_RUNTIME_API` pointing at the extension's Runtime API
//! proxy (crate::proxy). Without an extension within a bounded time it supervises by itself (it
//! forks the runtime) rather than run the function unprotected.

use crate::api::Api;
use crate::env::LambdaEnv;
use crate::handoff::{self, Hello, Welcome};
use crate::sink::{Function, LambdaSink, Shared};
use std::ffi::{CString, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigil_policy::{Destination, Mode, Policy, RequiredLayer};
use vigil_sensor::filter::{self, Layer as FilterLayer, Protected, Spec};
use vigil_sensor::install::{install_and_handoff, Handoff, Layer, Programs};
use vigil_sensor::launch::{self, RunError, RunSpec};

/// What the wrapper needs from the CLI crate (which owns policy loading with positioned
/// errors and device identity).
pub struct WrapInput {
    /// The runtime's command line.
    pub command: Vec<OsString>,
    /// The loaded policy, or the rendered error for the init failure.
    pub policy: Result<(Policy, PathBuf), String>,
    /// The sandbox, for events.
    pub device: vigil_events::Device,
}

fn rank(l: Layer) -> u8 {
    match l {
        Layer::Supervised => 2,
        Layer::KernelOnly => 1,
        Layer::None => 0,
    }
}

fn required(r: Option<RequiredLayer>) -> Layer {
    match r {
        Some(RequiredLayer::KernelSensor) => Layer::Supervised,
        Some(RequiredLayer::KernelFilter) => Layer::KernelOnly,
        _ => Layer::None,
    }
}

/// Finds a program as a shell does (the runtime's bootstrap passes absolute paths; custom
/// runtimes may pass `./bootstrap`).
fn find(cmd: &OsString) -> Option<PathBuf> {
    let c = PathBuf::from(cmd);
    if cmd.as_bytes().contains(&b'/') {
        return Some(if c.is_absolute() {
            c
        } else {
            std::env::current_dir().ok()?.join(c)
        });
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(&c))
        .find(|p| p.is_file())
}

/// Fails the sandbox's init with a clear error type (Lambda reports it for the invocation),
/// and returns the exit status.
fn fail_init(api: Option<&Api>, error_type: &str, message: &str) -> i32 {
    eprintln!("vigil: {message}");
    if let Some(a) = api {
        let _ = a.init_error(error_type, message);
    }
    125
}

/// Runs the wrapper; returns only on failure (the exit status), otherwise it has become the
/// runtime (or supervised it to its end, in the fallback model).
pub fn wrap(input: WrapInput) -> i32 {
    let env = LambdaEnv::from_env();
    let api = env.runtime_api.as_deref().map(Api::new);
    let Some(cmd0) = input.command.first() else {
        return fail_init(
            api.as_ref(),
            "Vigil.WrapperError",
            "no runtime command given to the wrapper",
        );
    };
    let (mut policy, policy_path) = match input.policy {
        Ok(p) => p,
        Err(e) => return fail_init(api.as_ref(), "Vigil.PolicyError", &e),
    };
    let mode = match env.mode.as_deref().map(str::parse::<Mode>) {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            return fail_init(
                api.as_ref(),
                "Vigil.ConfigError",
                &format!("VIGIL_MODE: {e}"),
            )
        }
        None => policy.mode.unwrap_or(Mode::Enforce),
    };
    // The Runtime API is the function's own: always allowed, and never learned. With the
    // extension, the runtime reaches it through the extension's proxy (see
    // hand_over_and_exec); on its own, the wrapper lets it reach the real endpoint.
    let runtime_api = match env
        .runtime_api
        .as_deref()
        .map(|rt| (rt, Destination::parse(rt)))
    {
        None => None,
        Some((_, Ok(d))) => Some(d),
        Some((rt, Err(e))) => {
            return fail_init(
                api.as_ref(),
                "Vigil.ConfigError",
                &format!("AWS_LAMBDA_RUNTIME_API `{rt}`: {e}"),
            )
        }
    };
    let Some(program) = find(cmd0) else {
        return fail_init(
            api.as_ref(),
            "Vigil.WrapperError",
            &format!("{}: runtime command not found", cmd0.to_string_lossy()),
        );
    };
    let require = required(policy.require);

    if let Some(sock) = handoff::connect(&env.socket, Duration::from_millis(env.handoff_timeout_ms))
    {
        return hand_over_and_exec(
            sock,
            &input.command,
            &program,
            policy,
            runtime_api,
            &policy_path,
            mode,
            require,
            api.as_ref(),
        );
    }
    policy.network.connect.extend(runtime_api);

    // No extension: supervise by ourselves (fork model), events to stdout.
    eprintln!(
        "vigil: no extension at {} within {} ms; supervising from the wrapper (no request ids in events)",
        env.socket.display(),
        env.handoff_timeout_ms
    );
    let mut shared = Shared::new(Box::new(std::io::stdout()));
    shared.function = Function {
        name: env.function_name.clone(),
        version: env.function_version.clone(),
        account: None,
        region: env.region.clone(),
    };
    shared.runtime_api = env.runtime_api.clone();
    let shared = Arc::new(Mutex::new(shared));
    let mut sink = LambdaSink(shared);
    let hosts = crate::dns::policy_hosts(&policy);
    let spec = RunSpec {
        policy,
        mode,
        program: program.to_string_lossy().into_owned(),
        argv: input.command.clone(),
        require,
        hosts,
        device: input.device,
        tags: serde_json::Map::from_iter([("integration".to_string(), "lambda-wrapper".into())]),
        policy_source: Some(policy_path.display().to_string()),
        landlock: true,
        kill_on_supervisor_death: false,
    };
    match launch::run(spec, &mut sink) {
        Ok(r) => r.outcome.exit_code,
        Err(e @ RunError::LayerRequired { .. }) => {
            fail_init(api.as_ref(), "Vigil.SensorUnavailable", &e.to_string())
        }
        Err(e) => fail_init(api.as_ref(), "Vigil.SensorError", &e.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
fn hand_over_and_exec(
    sock: std::os::fd::OwnedFd,
    command: &[OsString],
    program: &std::path::Path,
    mut policy: Policy,
    runtime_api: Option<Destination>,
    policy_path: &std::path::Path,
    mode: Mode,
    require: Layer,
    api: Option<&Api>,
) -> i32 {
    let me = std::process::id();
    let hello = Hello {
        runtime_pid: me,
        mode: mode.as_str().to_string(),
        policy: policy_path.display().to_string(),
    };
    if let Err(e) = handoff::send(&sock, &hello) {
        return fail_init(
            api,
            "Vigil.SensorError",
            &format!("hand-off to the extension failed: {e}"),
        );
    }
    let welcome: Welcome = match handoff::recv(&sock, Duration::from_secs(2)) {
        Ok(w) => w,
        Err(e) => {
            return fail_init(
                api,
                "Vigil.SensorError",
                &format!("the extension did not answer: {e}"),
            )
        }
    };
    // The runtime talks to the extension's proxy, not to the real endpoint, which it no longer
    // needs (and so is not allowed).
    let proxy = match welcome
        .runtime_api
        .as_deref()
        .map(|p| (p, Destination::parse(p)))
    {
        None => None,
        Some((p, Ok(d))) => {
            policy.network.connect.push(d);
            Some(p.to_string())
        }
        Some((p, Err(e))) => {
            return fail_init(
                api,
                "Vigil.SensorError",
                &format!("the extension's Runtime API proxy `{p}`: {e}"),
            )
        }
    };
    if proxy.is_none() {
        policy.network.connect.extend(runtime_api);
    }
    let peer = handoff::peer_pid(&sock).unwrap_or(welcome.pid);
    let mut pids = vec![peer, welcome.pid];
    pids.extend(welcome.tids.iter().copied());
    pids.sort_unstable();
    pids.dedup();
    let protected = Protected {
        pids,
        pgids: vec![welcome.pgid],
    };
    let spec = |layer| Spec {
        layer,
        mode,
        policy: &policy,
        protected: protected.clone(),
    };
    let progs = match (
        filter::build(&spec(FilterLayer::Supervised)),
        filter::build(&spec(FilterLayer::KernelOnly)),
    ) {
        (Ok(supervised), Ok(kernel_only)) => Programs {
            supervised,
            kernel_only,
        },
        (Err(e), _) | (_, Err(e)) => return fail_init(api, "Vigil.SensorError", &e.to_string()),
    };
    let abi = vigil_sensor::sys::landlock_abi().unwrap_or(0);
    let plan = vigil_sensor::landlock::plan(&policy, mode, &program.to_string_lossy());
    let applied = vigil_sensor::landlock::apply(&plan, abi);
    let mut notes = applied.summary();
    if !policy
        .hardening_allow
        .iter()
        .any(|n| n.name == "capabilities")
    {
        notes.push_str("; ");
        notes.push_str(&vigil_sensor::caps::drop_dangerous());
    }
    let report = install_and_handoff(&progs, sock.as_fd(), true, &notes, Handoff::Thread);
    if rank(report.layer) < rank(require) {
        return fail_init(
            api,
            "Vigil.SensorUnavailable",
            &format!(
                "the strongest protection here is `{}` ({}), but the policy requires `{}`",
                report.layer.as_str(),
                report.reason,
                require.as_str()
            ),
        );
    }
    // Yama (ptrace_scope 1) lets only ancestors inspect a process; the extension is not one.
    let _ = rustix::process::set_ptracer(rustix::process::PTracer::ProcessID(
        rustix::process::Pid::from_raw(peer as i32).unwrap_or(rustix::process::Pid::INIT),
    ));
    drop(sock);
    let Ok(path) = CString::new(program.as_os_str().as_bytes()) else {
        return fail_init(
            api,
            "Vigil.WrapperError",
            "the runtime path contains a NUL byte",
        );
    };
    let args: Vec<CString> = command
        .iter()
        .filter_map(|a| CString::new(a.as_bytes()).ok())
        .collect();
    let env: Vec<CString> = std::env::vars_os()
        .filter_map(|(k, v)| {
            let v = match &proxy {
                Some(p) if k == "AWS_LAMBDA_RUNTIME_API" => OsString::from(p),
                _ => v,
            };
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = env.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    // The runtime gets SIGPIPE at its default, not ignored as the Rust runtime left it.
    vigil_sensor::sys::reset_signals();
    let err = vigil_sensor::sys::execve(&path, &argv, &envp);
    eprintln!(
        "vigil: cannot execute the runtime {}: {err}",
        program.display()
    );
    if err.raw_os_error() == Some(libc::ENOENT) {
        127
    } else {
        126
    }
}
