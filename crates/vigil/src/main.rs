//! `vigil`: argument parsing and wiring only. Each subcommand lives in `cmd/`.
#![forbid(unsafe_code)]

mod cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    cmd::dispatch(cli)
}
