//! `vigil run` and `vigil learn`.

use super::common::{self, EXIT_VIGIL};
use clap::Args;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use vigil_policy::{Mode, Policy};
use vigil_sensor::install::Layer;
use vigil_sensor::launch::{self, RunError, RunSpec};

/// `vigil run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The policy file (YAML). Without one, everything is a violation: use `--mode detect` to
    /// audit a command, or `vigil learn` to write its policy.
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Overrides the policy's mode.
    #[arg(long, value_parser = parse_mode, value_name = "learn|detect|enforce")]
    mode: Option<Mode>,
    /// Where events go: `-` for stderr (the default), or a file to append to.
    #[arg(long, default_value = "-", value_name = "PATH")]
    events: String,
    /// The weakest protection acceptable; below it the command is not run (exit 125).
    /// Default: the policy's `require`, else none.
    #[arg(long, value_parser = parse_layer, value_name = "kernel-sensor|kernel-filter|none")]
    require: Option<Layer>,
    /// In learn mode, where to write (or merge) the learned policy.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Do not add Landlock rules (to debug, or to exercise the seccomp layer on its own).
    #[arg(long)]
    no_landlock: bool,
    /// If the supervisor dies: `fail` (default) makes every watched call of the function fail
    /// (ENOSYS); `kill` kills the function's whole process tree.
    #[arg(long, value_parser = ["fail", "kill"], default_value = "fail", value_name = "fail|kill")]
    on_supervisor_death: String,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// `vigil learn`.
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// The policy file to write; if it exists, what is observed is merged into it.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Where events go: `-` for stderr (the default), or a file to append to.
    #[arg(long, default_value = "-", value_name = "PATH")]
    events: String,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

fn parse_layer(s: &str) -> Result<Layer, String> {
    Layer::parse(s).ok_or_else(|| {
        format!("unknown layer `{s}`: expected kernel-sensor, kernel-filter or none")
    })
}

/// The sensor layer a policy's `require` names.
pub fn layer_of(r: Option<vigil_policy::RequiredLayer>) -> Layer {
    match r {
        Some(vigil_policy::RequiredLayer::KernelSensor) => Layer::Supervised,
        Some(vigil_policy::RequiredLayer::KernelFilter) => Layer::KernelOnly,
        Some(vigil_policy::RequiredLayer::None) | None => Layer::None,
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("vigil: {msg}");
    ExitCode::from(EXIT_VIGIL)
}

struct Job {
    policy: Policy,
    policy_source: Option<String>,
    mode: Mode,
    events: String,
    require: Layer,
    command: Vec<OsString>,
    learn_out: Option<PathBuf>,
    landlock: bool,
    kill_on_supervisor_death: bool,
}

pub fn run(a: RunArgs) -> ExitCode {
    let (policy, source) = match &a.policy {
        Some(p) => match common::load_policy(p) {
            Ok(pol) => (pol, Some(p.display().to_string())),
            Err(e) => return fail(e),
        },
        None => (Policy::default(), None),
    };
    let policy_require = policy.require;
    let mode = a.mode.or(policy.mode).unwrap_or(if a.policy.is_some() {
        Mode::Enforce
    } else {
        Mode::Detect
    });
    if a.out.is_some() && mode != Mode::Learn {
        return fail("--out only applies in learn mode (--mode learn)");
    }
    execute(Job {
        policy,
        policy_source: source,
        mode,
        events: a.events,
        // Learn mode needs the supervisor whatever --require says: without it nothing can be
        // observed, and an empty "learned" policy would lie.
        require: if mode == Mode::Learn {
            Layer::Supervised
        } else {
            a.require.unwrap_or_else(|| layer_of(policy_require))
        },
        command: a.command,
        learn_out: a.out,
        landlock: !a.no_landlock,
        kill_on_supervisor_death: a.on_supervisor_death == "kill",
    })
}

pub fn learn(a: LearnArgs) -> ExitCode {
    let policy = if a.out.exists() {
        match common::load_policy(&a.out) {
            Ok(p) => p,
            Err(e) => return fail(format!("cannot merge into {}: {e}", a.out.display())),
        }
    } else {
        // Fail before running anything if the output cannot be written.
        let dir = a
            .out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if !dir.is_dir() {
            return fail(format!(
                "cannot write {}: {} is not a directory",
                a.out.display(),
                dir.display()
            ));
        }
        Policy::default()
    };
    execute(Job {
        policy,
        policy_source: Some(a.out.display().to_string()),
        mode: Mode::Learn,
        events: a.events,
        // Without a supervisor nothing can be observed: an empty "learned" policy would lie.
        require: Layer::Supervised,
        command: a.command,
        learn_out: Some(a.out),
        landlock: true,
        kill_on_supervisor_death: false,
    })
}

fn execute(job: Job) -> ExitCode {
    let Some(cmd) = job.command.first() else {
        return fail("no command given (vigil run [OPTIONS] -- CMD [ARGS...])");
    };
    let mut sink = match common::open_events(&job.events) {
        Ok(s) => s,
        Err(e) => return fail(format!("{e:#}")),
    };
    let program = match common::find_program(&cmd.to_string_lossy()) {
        Ok(p) => p,
        Err((code, msg)) => {
            eprintln!("vigil: {msg}");
            return ExitCode::from(code);
        }
    };
    let hosts = common::resolve_hosts(&job.policy);
    let base = job.policy.clone();
    let spec = RunSpec {
        policy: job.policy,
        mode: job.mode,
        program: program.to_string_lossy().into_owned(),
        argv: job.command.clone(),
        require: job.require,
        hosts,
        device: common::device(),
        tags: serde_json::Map::new(),
        policy_source: job.policy_source,
        landlock: job.landlock,
        kill_on_supervisor_death: job.kill_on_supervisor_death,
    };
    let result = match launch::run(spec, sink.as_mut()) {
        Ok(r) => r,
        Err(e @ RunError::LayerRequired { .. }) => return fail(e),
        Err(e) => return fail(e),
    };
    if let Some(errno) = result.exec_error {
        let what = std::io::Error::from_raw_os_error(errno);
        let hint = if errno == libc_eacces() && job.mode == Mode::Enforce {
            " (denied by the policy: see the event)"
        } else {
            ""
        };
        let shown = std::fs::canonicalize(&program).unwrap_or(program.clone());
        eprintln!("vigil: cannot execute {}: {what}{hint}", shown.display());
    }
    if let Some(out) = &job.learn_out {
        let mut policy = base;
        policy.merge_observed(&result.outcome.observed);
        let cmdline: Vec<String> = job
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let header = vec![
            format!(
                "Vigil policy, learned by vigil {} from: {}",
                env!("CARGO_PKG_VERSION"),
                cmdline.join(" ")
            ),
            "It allows exactly what was observed; generalise with globs, CIDRs and port ranges"
                .into(),
            "where that is what you mean. Check it with `vigil policy check`.".into(),
        ];
        let text = vigil_policy::render(&policy, &header);
        if let Err(e) = common::write_atomic(out, &text) {
            eprintln!("vigil: {e:#}");
            return ExitCode::from(EXIT_VIGIL);
        }
        eprintln!("vigil: learned policy written to {}", out.display());
    }
    let stats = result.outcome.stats;
    if stats.denied + stats.killed + stats.alerts > 0 {
        eprintln!(
            "vigil: {} denied, {} killed, {} alerted ({} mode, layer {})",
            stats.denied,
            stats.killed,
            stats.alerts,
            job.mode,
            result.layer.as_str()
        );
    }
    ExitCode::from(u8::try_from(result.outcome.exit_code).unwrap_or(1))
}

fn libc_eacces() -> i32 {
    13
}
