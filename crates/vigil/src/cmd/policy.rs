//! `vigil policy check` and `vigil policy from-events`.

use super::common;
use anyhow::{Context, Result};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vigil_policy::from_events::EventLog;
use vigil_policy::ObservedDest;

/// `vigil policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files; errors are shown with line and column. Exit 1 if any is invalid.
    Check {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Build a policy from collected logs: CloudWatch Logs exports, `aws logs tail` output,
    /// `vigil run --events` files. Lines that are not Vigil events are skipped; `.gz` files are
    /// decompressed; `-` reads standard input. If POLICY exists, what the events show is
    /// merged into it. A file that cannot be read is an error (exit 1) and nothing is written.
    FromEvents {
        /// The policy file to write (or merge into).
        #[arg(long, value_name = "POLICY")]
        out: PathBuf,
        /// Log files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
        PolicyCommand::FromEvents { out, files } => from_events(&out, &files),
        PolicyCommand::Check { files } => {
            let mut ok = true;
            for f in files {
                match common::load_policy(&f) {
                    Ok(p) => println!(
                        "{}: ok ({} programs, {} destinations, {} listen rules, {} write paths, {} libraries)",
                        f.display(),
                        p.process.exec.len(),
                        p.network.connect.len(),
                        p.network.listen.len(),
                        p.files.write.len(),
                        p.files.exec_map.len()
                    ),
                    Err(e) => {
                        ok = false;
                        eprintln!("{e:#}");
                    }
                }
            }
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Reads a log file (`-` for standard input), decompressing gzip.
fn read_log(path: &Path) -> Result<String> {
    let name = path.display();
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .context("cannot read standard input")?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {name}"))?
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        // CloudWatch Logs exports to S3 are gzip files, possibly of several members.
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut out)
            .with_context(|| format!("cannot decompress {name} (gzip)"))?;
        out
    } else {
        bytes
    };
    // Runtime output may hold stray bytes; events are always UTF-8.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn from_events(out: &Path, files: &[PathBuf]) -> ExitCode {
    let fail = |msg: String| {
        eprintln!("vigil: {msg}");
        ExitCode::from(1)
    };
    let base = if out.exists() {
        match common::load_policy(out) {
            Ok(p) => Some(p),
            Err(e) => {
                return fail(format!(
                    "cannot merge into {}: {e:#}\n(fix it, or write to another file with --out)",
                    out.display()
                ))
            }
        }
    } else {
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.is_dir() {
            return fail(format!(
                "cannot write {}: {} is not a directory",
                out.display(),
                dir.display()
            ));
        }
        None
    };

    let mut log = EventLog::new();
    let mut unreadable = 0;
    for f in files {
        let name = if f.as_os_str() == "-" {
            "<stdin>".to_string()
        } else {
            f.display().to_string()
        };
        match read_log(f) {
            Ok(text) => {
                let before = log.warnings.len();
                let s = log.read(&name, &text);
                for w in &log.warnings[before..] {
                    eprintln!("vigil: warning: {w}");
                }
                if s.events == 0 {
                    eprintln!("vigil: warning: {name}: no Vigil events found");
                }
            }
            Err(e) => {
                unreadable += 1;
                eprintln!("vigil: {e:#}");
            }
        }
    }
    if unreadable > 0 {
        // A policy built from part of the logs would deny what the missing part shows.
        return fail(format!(
            "{unreadable} of {} files could not be read; {} not written",
            files.len(),
            out.display()
        ));
    }
    if log.events == 0 {
        return fail(format!(
            "no Vigil events in {}: nothing to build a policy from (are these the logs of a function running with the Vigil layer?); {} not written",
            if files.len() == 1 { "the file" } else { "any file" },
            out.display()
        ));
    }
    if log.observations == 0 && log.learned_policies == 0 {
        eprintln!(
            "vigil: warning: the {} events hold no observations (`unmapped.observation`): the policy allows nothing new",
            log.events
        );
    }

    let merged = base.is_some();
    let policy = log.build(base.unwrap_or_default());
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            if f.as_os_str() == "-" {
                "<stdin>".to_string()
            } else {
                f.display().to_string()
            }
        })
        .collect();
    let shown = if names.len() > 5 {
        format!("{} and {} more", names[..5].join(", "), names.len() - 5)
    } else {
        names.join(", ")
    };
    let mut header = vec![
        format!(
            "Vigil policy, built by vigil {} (`vigil policy from-events`) from {} events in: {shown}",
            env!("CARGO_PKG_VERSION"),
            log.events
        ),
        "It allows exactly what was observed; generalise with globs, CIDRs and port ranges".into(),
        "where that is what you mean. Check it with `vigil policy check`.".into(),
    ];
    if merged {
        header.push("What the events showed was merged into the rules this file had.".into());
    }
    let text = vigil_policy::render(&policy, &header);
    if let Err(e) = common::write_atomic(out, &text) {
        return fail(format!("{e:#}"));
    }

    let excluded: Vec<String> = log
        .runtime_api()
        .map(|d| match d {
            ObservedDest::Ip(ip @ std::net::IpAddr::V6(_), port) => format!("[{ip}]:{port}"),
            ObservedDest::Ip(ip, port) => format!("{ip}:{port}"),
            ObservedDest::UnixPath(p) => p.clone(),
            ObservedDest::UnixAbstract(n) => format!("@{n}"),
        })
        .collect();
    if !excluded.is_empty() {
        eprintln!(
            "vigil: the Lambda Runtime API ({}) is the runtime's own channel: not learned",
            excluded.join(", ")
        );
    }
    if !log.blocked.is_empty() {
        eprintln!(
            "vigil: {} observations were blocked by the sensor and are not learned; allow them by hand if they are legitimate:",
            log.blocked.len()
        );
        for b in log.blocked.iter().take(20) {
            eprintln!("vigil:   {} ({}:{})", b.observation, b.file, b.line);
        }
        if log.blocked.len() > 20 {
            eprintln!("vigil:   … and {} more", log.blocked.len() - 20);
        }
    }
    eprintln!(
        "vigil: policy {} {} from {} events ({} observations, {} learned policies) in {} file(s): {} programs, {} destinations, {} listen rules, {} write paths, {} libraries",
        if merged { "merged into" } else { "written to" },
        out.display(),
        log.events,
        log.observations,
        log.learned_policies,
        files.len(),
        policy.process.exec.len(),
        policy.network.connect.len(),
        policy.network.listen.len(),
        policy.files.write.len(),
        policy.files.exec_map.len()
    );
    ExitCode::SUCCESS
}
