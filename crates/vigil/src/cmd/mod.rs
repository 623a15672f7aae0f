//! The subcommands.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub mod scan;

/// Runtime security for serverless functions.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Static checks of IAM policies and infrastructure templates.
    #[command(subcommand)]
    Scan(scan::ScanCommand),
}

/// Runs the parsed command and returns the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Scan(cmd) => scan::run(cmd),
    }
}
