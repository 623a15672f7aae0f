//! The subcommands.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub mod common;
pub mod lambda;
pub mod policy;
pub mod probe;
pub mod run;
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
    /// Run a command under the sensor (learn, detect or enforce).
    Run(run::RunArgs),
    /// Run a command in learn mode and write (or merge into) its policy.
    Learn(run::LearnArgs),
    /// Report which protection mechanisms this sandbox supports.
    Probe(probe::ProbeArgs),
    /// AWS Lambda: the layer, its exec wrapper and extension.
    #[command(subcommand)]
    Lambda(lambda::LambdaCommand),
    /// Work with policy files.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Static checks of IAM policies and infrastructure templates.
    #[command(subcommand)]
    Scan(scan::ScanCommand),
}

/// Parses the command line. Argument errors of `run` and `learn` exit with 125 (vigil failed
/// before the command ran), the contract scripts rely on; others with clap's usual 2.
pub fn parse() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                return Err(ExitCode::SUCCESS);
            }
            let sub = std::env::args().nth(1).unwrap_or_default();
            if sub == "run" || sub == "learn" {
                Err(ExitCode::from(common::EXIT_VIGIL))
            } else {
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Runs the parsed command and returns the process exit code.
pub fn dispatch(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Learn(a) => run::learn(a),
        Command::Probe(a) => probe::run(a),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Lambda(cmd) => lambda::run(cmd),
        Command::Scan(cmd) => scan::run(cmd),
    }
}
