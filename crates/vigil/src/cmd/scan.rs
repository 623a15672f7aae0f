//! `vigil scan iam|template`: argument parsing and wiring; the checks live in `vigil-scan`.
//!
//! Exit status: 0 when no finding is at or above `--fail-on` (default `high`), 1 when one is,
//! 2 when an input could not be read or parsed (every other input is still scanned and
//! reported).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use vigil_scan::render::{render, Format};
use vigil_scan::{Report, Severity};

/// `vigil scan` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Check IAM policy documents: JSON policies, AWS CLI policy output, and
    /// `aws iam get-account-authorization-details` files (every user, group and role).
    Iam(ScanArgs),
    /// Check infrastructure templates: SAM and CloudFormation (YAML or JSON), Terraform (`.tf`
    /// modules and plan JSON): execution roles, the Vigil sensor, and Lambda settings.
    Template(ScanArgs),
}

/// Options shared by every scan.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Exit with status 1 when a finding is at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "high", value_parser = parse_severity)]
    fail_on: Severity,
    /// Colour the text output: `auto` colours on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Files or directories (walked recursively).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
        .map_err(|e: vigil_scan::UnknownSeverity| e.to_string())
}

/// Runs a scan subcommand, printing to stdout.
pub fn run(cmd: ScanCommand) -> ExitCode {
    let stdout = std::io::stdout();
    let terminal =
        stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = stdout.lock();
    ExitCode::from(run_with(cmd, terminal, &mut out))
}

/// Runs a scan subcommand, writing the report to `out`; returns the exit status.
fn run_with(cmd: ScanCommand, terminal: bool, out: &mut dyn Write) -> u8 {
    let (args, report): (&ScanArgs, Report) = match &cmd {
        ScanCommand::Iam(args) => (args, vigil_scan::iam::scan_paths(&args.paths)),
        ScanCommand::Template(args) => (args, vigil_scan::scan_template_paths(&args.paths)),
    };
    let format = match args.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Sarif => Format::Sarif,
    };
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal,
    };
    if let Err(e) = render(&report, format, color, out).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("vigil: cannot write the report: {e}");
            return 2;
        }
    }
    report.exit_code(args.fail_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        scan: ScanCommand,
    }

    fn run_args(args: &[&str]) -> (u8, String) {
        let cli = Cli::try_parse_from(std::iter::once("scan").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        let code = run_with(cli.scan, false, &mut out);
        (code, String::from_utf8_lossy(&out).into_owned())
    }

    fn fixture(name: &str) -> String {
        format!(
            "{}/../scan/tests/fixtures/iam/{name}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    #[test]
    fn template_subcommand_reports_sensor_missing() {
        let dir = format!(
            "{}/../scan/tests/fixtures/templates",
            env!("CARGO_MANIFEST_DIR")
        );
        let (code, out) = run_args(&["template", "--format", "json", "--fail-on", "medium", &dir]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert!(
            v["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["code"] == "sensor-missing")),
            "{out}"
        );
        assert_ne!(code, 0);
    }

    #[test]
    fn exit_status_follows_fail_on() {
        let admin = fixture("admin-wildcard/positive.json");
        assert_eq!(run_args(&["iam", &admin]).0, 1);
        assert_eq!(run_args(&["iam", "--fail-on", "critical", &admin]).0, 1);
        let low = fixture("service-wildcard/negative.json");
        assert_eq!(run_args(&["iam", &low]).0, 0);
    }

    #[test]
    fn unreadable_input_gives_2_and_the_rest_is_still_reported() {
        let admin = fixture("admin-wildcard/positive.json");
        let broken = fixture("malformed/trailing-comma.json");
        let (code, out) = run_args(&["iam", "--format", "json", &broken, &admin]);
        assert_eq!(code, 2);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{out}");
        assert!(
            v["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["code"] == "admin-wildcard")),
            "{out}"
        );
        let (code, _) = run_args(&["iam", "/no/such/file.json"]);
        assert_eq!(code, 2);
    }

    #[test]
    fn bad_arguments_are_refused() {
        assert!(Cli::try_parse_from(["scan", "iam", "--fail-on", "severe", "x.json"]).is_err());
        assert!(Cli::try_parse_from(["scan", "iam", "--format", "xml", "x.json"]).is_err());
        assert!(Cli::try_parse_from(["scan", "iam"]).is_err());
    }

    #[test]
    fn sarif_output_is_sarif_2_1_0() {
        let (_, out) = run_args(&[
            "iam",
            "--format",
            "sarif",
            &fixture("admin-wildcard/positive.json"),
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        assert_eq!(v["version"], "2.1.0");
        assert_eq!(v["runs"][0]["tool"]["driver"]["name"], "vigil");
        assert_eq!(v["runs"][0]["results"][0]["ruleId"], "admin-wildcard");
        assert_eq!(v["runs"][0]["results"][0]["level"], "error");
    }
}
