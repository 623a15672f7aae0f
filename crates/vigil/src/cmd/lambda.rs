//! `vigil lambda`: the layer, and the two programs inside it (wrapper and extension).

use super::common;
use clap::Subcommand;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

/// `vigil lambda` subcommands.
#[derive(Debug, Subcommand)]
pub enum LambdaCommand {
    /// Build the layer zip (publish it with `aws lambda publish-layer-version`).
    Layer {
        /// Where to write the zip.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The vigil binary to put in the layer (default: this one). Build it statically:
        /// RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu
        #[arg(long, value_name = "FILE")]
        binary: Option<PathBuf>,
    },
    /// Print the snippet that attaches the layer (SAM, CloudFormation or Terraform).
    Template {
        /// sam, cloudformation (cfn) or terraform (tf).
        #[arg(long, value_parser = parse_format)]
        format: vigil_lambda::template::Format,
        /// The layer version ARN (default: asked for at deploy time).
        #[arg(long, value_name = "ARN")]
        layer_arn: Option<String>,
        /// The default mode (learn, detect, enforce; default detect).
        #[arg(long, value_parser = parse_mode)]
        mode: Option<vigil_policy::Mode>,
        /// The policy's path inside the deployment package (default vigil.yaml at its root).
        #[arg(long, value_name = "PATH")]
        policy_file: Option<String>,
        /// A collector URL for VIGIL_COLLECTOR.
        #[arg(long, value_name = "URL")]
        collector: Option<String>,
    },
    /// The exec wrapper (`AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap` runs this).
    Wrap {
        /// The runtime's command line.
        #[arg(required = true, last = true, value_name = "RUNTIME")]
        command: Vec<OsString>,
    },
    /// The external extension (`/opt/extensions/vigil` runs this).
    Extension,
}

fn parse_format(s: &str) -> Result<vigil_lambda::template::Format, String> {
    s.parse()
        .map_err(|e: vigil_lambda::template::TemplateError| e.to_string())
}

fn parse_mode(s: &str) -> Result<vigil_policy::Mode, String> {
    s.parse()
}

pub fn run(cmd: LambdaCommand) -> ExitCode {
    match cmd {
        LambdaCommand::Template {
            format,
            layer_arn,
            mode,
            policy_file,
            collector,
        } => {
            let opts = vigil_lambda::template::Options {
                layer_arn,
                mode,
                policy_file,
                collector,
            };
            if let Err(e) = opts.validate() {
                eprintln!("vigil: {e}");
                return ExitCode::from(2);
            }
            print!("{}", vigil_lambda::template::render(format, &opts));
            ExitCode::SUCCESS
        }
        LambdaCommand::Layer { out, binary } => {
            let binary = match binary.map(Ok).unwrap_or_else(std::env::current_exe) {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("vigil: cannot find this binary: {e}");
                    return ExitCode::from(1);
                }
            };
            match vigil_lambda::layer::is_dynamic(&binary) {
                Ok(true) => eprintln!(
                    "vigil: warning: {} is dynamically linked; the layer must run on Amazon Linux 2 (glibc 2.26) and 2023: \
                     build it with RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu",
                    binary.display()
                ),
                Ok(false) => {}
                Err(e) => {
                    eprintln!("vigil: cannot read {}: {e}", binary.display());
                    return ExitCode::from(1);
                }
            }
            match vigil_lambda::layer::build(&binary, &out) {
                Ok(()) => {
                    eprintln!("vigil: layer written to {}", out.display());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("vigil: {e}");
                    ExitCode::from(1)
                }
            }
        }
        LambdaCommand::Wrap { command } => {
            let env = vigil_lambda::env::LambdaEnv::from_env();
            let path = env.policy_path();
            let policy = common::load_policy(&path)
                .map(|p| (p, path.clone()))
                .map_err(|e| format!("{e:#}"));
            let code = vigil_lambda::wrap::wrap(vigil_lambda::wrap::WrapInput {
                command,
                policy,
                device: common::device(),
            });
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        LambdaCommand::Extension => {
            let code = vigil_lambda::extension::run(common::device());
            ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
    }
}
