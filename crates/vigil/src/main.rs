//! `vigil`: argument parsing and wiring only. Each subcommand lives in `cmd/`.
#![forbid(unsafe_code)]

mod cmd;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cmd::parse() {
        Ok(cli) => cmd::dispatch(cli),
        Err(code) => code,
    }
}
