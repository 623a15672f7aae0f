//! `vigil scan iam|template`.

use clap::Subcommand;
use std::process::ExitCode;

/// `vigil scan` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScanCommand {}

/// Runs a scan subcommand.
pub fn run(cmd: ScanCommand) -> ExitCode {
    match cmd {}
}
