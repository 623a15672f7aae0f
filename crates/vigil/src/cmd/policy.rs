//! `vigil policy check`.

use super::common;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// `vigil policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate policy files; errors are shown with line and column. Exit 1 if any is invalid.
    Check {
        /// Policy files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

pub fn run(cmd: PolicyCommand) -> ExitCode {
    match cmd {
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
