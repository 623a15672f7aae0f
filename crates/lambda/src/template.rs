//! `vigil lambda template`: the infrastructure-as-code snippets that attach the Vigil layer to
//! functions, for AWS SAM, CloudFormation and Terraform.
//!
//! Every snippet does the same three things, in its own dialect:
//!
//! 1. attaches the Vigil layer, by a parameter or variable (`VigilLayerArn`,
//!    `var.vigil_layer_arn`) so that the ARN can differ per account and region;
//! 2. runs the function through the layer's exec wrapper:
//!    `AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap`;
//! 3. sets the mode with `VIGIL_MODE`, by a parameter or variable (`VigilMode`, `var.vigil_mode`)
//!    that accepts only `learn`, `detect` and `enforce`, so staging can learn while production
//!    enforces the same template.
//!
//! The policy travels in the deployment package: `vigil.yaml` at the package root is found
//! without configuration (`$LAMBDA_TASK_ROOT/vigil.yaml`); another path is passed as
//! `VIGIL_POLICY`. `vigil scan template` recognises the output as protected (the layer's
//! reference names `vigil`, the wrapper is under `/opt/vigil/`); the tests check exactly that.
//!
//! ```
//! use vigil_lambda::template::{render, Format, Options};
//! let format: Format = "terraform".parse().unwrap();
//! let text = render(format, &Options::default());
//! assert!(text.contains("AWS_LAMBDA_EXEC_WRAPPER = \"/opt/vigil/wrap\""));
//! ```

use std::fmt::{self, Write};
use std::str::FromStr;
use vigil_policy::Mode;

/// Where the layer's exec wrapper is (`AWS_LAMBDA_EXEC_WRAPPER`).
pub const WRAPPER: &str = "/opt/vigil/wrap";

/// The policy file name looked for at the package root (`$LAMBDA_TASK_ROOT`).
pub const DEFAULT_POLICY_FILE: &str = "vigil.yaml";

/// Where Lambda unpacks a zip deployment package (`LAMBDA_TASK_ROOT`).
const TASK_ROOT: &str = "/var/task";

/// The mode the snippets default to when none is given: alert, never block, so attaching the
/// layer cannot break a function.
pub const DEFAULT_MODE: Mode = Mode::Detect;

/// The template language of a snippet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// AWS SAM (`AWS::Serverless::Function`; `Globals`).
    Sam,
    /// Plain CloudFormation (`AWS::Lambda::Function`).
    CloudFormation,
    /// Terraform (`aws_lambda_function`).
    Terraform,
}

impl Format {
    /// Every format, in the order the CLI lists them.
    pub const ALL: [Format; 3] = [Format::Sam, Format::CloudFormation, Format::Terraform];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sam => "sam",
            Format::CloudFormation => "cloudformation",
            Format::Terraform => "terraform",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = TemplateError;

    /// `sam`, `cloudformation` (or `cfn`), `terraform` (or `tf`), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sam" => Ok(Format::Sam),
            "cloudformation" | "cfn" => Ok(Format::CloudFormation),
            "terraform" | "tf" => Ok(Format::Terraform),
            _ => Err(TemplateError::UnknownFormat {
                given: s.to_string(),
            }),
        }
    }
}

/// A problem with the options of `vigil lambda template`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `--format` names no known format.
    #[error("unknown template format `{given}`: expected sam, cloudformation or terraform")]
    UnknownFormat {
        /// What was given.
        given: String,
    },
    /// `--layer-arn` is not a usable layer version ARN.
    #[error("--layer-arn `{arn}`: {reason}")]
    LayerArn {
        /// What was given.
        arn: String,
        /// What is wrong, and how to fix it.
        reason: String,
    },
    /// `--policy-file` is not a usable path.
    #[error("--policy-file `{path}`: {reason}")]
    PolicyFile {
        /// What was given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The collector URL is not an http(s) URL.
    #[error("collector `{url}`: {reason}")]
    Collector {
        /// What was given.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// What to put in a snippet. `Options::default()` gives a snippet whose layer ARN is asked for
/// at deploy time and whose mode defaults to [`DEFAULT_MODE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The layer version ARN (`arn:aws:lambda:REGION:ACCOUNT:layer:vigil:N`), written as the
    /// default of the layer parameter or variable. `None`: no default, it is given at deploy
    /// time (`sam deploy --guided` asks; Terraform asks or reads a `.tfvars`).
    pub layer_arn: Option<String>,
    /// The default mode; `None` means [`DEFAULT_MODE`].
    pub mode: Option<Mode>,
    /// The policy's path inside the deployment package, relative to its root (or absolute, for
    /// a policy from another layer under `/opt`). `None` or `vigil.yaml`: the default lookup
    /// (`$LAMBDA_TASK_ROOT/vigil.yaml`), no variable needed; anything else is passed as
    /// `VIGIL_POLICY`.
    pub policy_file: Option<String>,
    /// A collector URL for `VIGIL_COLLECTOR` (batched events). `None`: a commented-out line.
    pub collector: Option<String>,
}

impl Options {
    /// Checks the options, so that a mistake is reported before a template is deployed.
    pub fn validate(&self) -> Result<(), TemplateError> {
        if let Some(arn) = &self.layer_arn {
            check_layer_arn(arn)?;
        }
        if let Some(p) = &self.policy_file {
            policy_path(p)?;
        }
        if let Some(url) = &self.collector {
            check_collector(url)?;
        }
        Ok(())
    }

    fn mode(&self) -> Mode {
        self.mode.unwrap_or(DEFAULT_MODE)
    }

    /// `VIGIL_POLICY`, when the policy is not `vigil.yaml` at the package root.
    fn policy_env(&self) -> Option<String> {
        let p = self.policy_file.as_deref().map(normalise)?;
        if p == DEFAULT_POLICY_FILE {
            return None;
        }
        Some(if p.starts_with('/') {
            p
        } else {
            format!("{TASK_ROOT}/{p}")
        })
    }

    /// The policy's path relative to the package root, when it is in the package.
    fn policy_in_package(&self) -> Option<String> {
        let p = self
            .policy_file
            .as_deref()
            .map(normalise)
            .unwrap_or_else(|| DEFAULT_POLICY_FILE.to_string());
        (!p.starts_with('/')).then_some(p)
    }
}

fn normalise(p: &str) -> String {
    let mut p = p.trim();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

/// The pattern of a layer version ARN, as a regular expression (written into the parameter's
/// `AllowedPattern` and the variable's validation, so a bad ARN fails at deploy time too).
const LAYER_ARN_PATTERN: &str =
    "^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$";

fn check_layer_arn(arn: &str) -> Result<(), TemplateError> {
    let err = |reason: &str| TemplateError::LayerArn {
        arn: arn.to_string(),
        reason: reason.to_string(),
    };
    let example =
        "expected a layer version ARN such as arn:aws:lambda:eu-west-1:123456789012:layer:vigil:3";
    let parts: Vec<&str> = arn.split(':').collect();
    let [arn_word, partition, service, region, account, layer, name, rest @ ..] = parts.as_slice()
    else {
        return Err(err(example));
    };
    if *arn_word != "arn"
        || !partition.starts_with("aws")
        || *service != "lambda"
        || *layer != "layer"
    {
        return Err(err(example));
    }
    let valid_region = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid_region {
        return Err(err(&format!("`{region}` is not a region; {example}")));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(err(&format!(
            "`{account}` is not a 12-digit account id; {example}"
        )));
    }
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        return Err(err(&format!("`{name}` is not a layer name; {example}")));
    }
    match rest {
        [] => {
            return Err(err(&format!(
                "the version is missing: functions attach a layer version (`{arn}:N`; `aws lambda list-layer-versions --layer-name {name}` lists them)"
            )))
        }
        [v] if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) => {}
        _ => return Err(err(example)),
    }
    if !name.to_ascii_lowercase().contains("vigil") {
        return Err(err(&format!(
            "the layer name `{name}` does not contain `vigil`: `vigil scan template` recognises the Vigil layer by its name \
             and would report every function as unprotected; publish the layer as `vigil` (vigil lambda layer)"
        )));
    }
    Ok(())
}

fn policy_path(p: &str) -> Result<String, TemplateError> {
    let err = |reason: &str| TemplateError::PolicyFile {
        path: p.to_string(),
        reason: reason.to_string(),
    };
    let n = normalise(p);
    if n.is_empty() {
        return Err(err("the path is empty"));
    }
    if n.split('/').any(|c| c == "..") {
        return Err(err(
            "`..` leaves the deployment package: give the path inside it, relative to its root (e.g. `policies/prod.yaml`)",
        ));
    }
    if n.ends_with('/') {
        return Err(err("the path names a directory; give the policy file"));
    }
    if n.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        return Err(err(
            "the path contains a quote, a backslash or a control character",
        ));
    }
    if n.starts_with('/') && !n.starts_with("/opt/") && !n.starts_with("/var/task/") {
        return Err(err(
            "an absolute path must be inside the package (/var/task/…) or a layer (/opt/…)",
        ));
    }
    Ok(n)
}

fn check_collector(url: &str) -> Result<(), TemplateError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r)
            if !r.is_empty()
                && !r.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c == '"') =>
        {
            Ok(())
        }
        _ => Err(TemplateError::Collector {
            url: url.to_string(),
            reason: "expected an http:// or https:// URL, e.g. https://vigil.example.com/v1/events"
                .into(),
        }),
    }
}

/// A YAML double-quoted scalar.
fn yaml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An HCL quoted string: no interpolation of what the user gave.
fn hcl_str(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const LAYER_DESCRIPTION: &str = "Version ARN of the Vigil layer (arn:aws:lambda:REGION:ACCOUNT:layer:vigil:N), as published by `vigil lambda layer`";
const MODE_DESCRIPTION: &str = "Vigil mode: learn (record what the function does, to build its policy), detect (alert on what the policy does not allow) or enforce (block it)";

/// The comment lines shared by the YAML snippets.
fn yaml_notes(out: &mut String, opts: &Options, how: &str) {
    let _ = writeln!(out, "# Vigil runtime security: {how}");
    out.push_str("#\n");
    match opts.policy_in_package() {
        Some(p) if p == DEFAULT_POLICY_FILE => out.push_str(
            "# The policy is vigil.yaml at the root of each function's code (next to the handler): it\n\
             # is found as $LAMBDA_TASK_ROOT/vigil.yaml. Without one the layer's default policy applies.\n",
        ),
        Some(p) => {
            let _ = writeln!(
                out,
                "# The policy is {p} inside each function's code package (VIGIL_POLICY below)."
            );
        }
        None => out.push_str("# The policy comes from a layer (VIGIL_POLICY below).\n"),
    }
    let target = opts
        .policy_in_package()
        .unwrap_or_else(|| "vigil.yaml".to_string());
    let _ = writeln!(
        out,
        "# Deploy with VigilMode=learn in staging, build the policy from its logs with\n\
         # `vigil policy from-events --out <code dir>/{target} <logs>`, then deploy with VigilMode=enforce."
    );
    out.push_str(
        "\
         # Custom runtimes (provided.al2023) ignore AWS_LAMBDA_EXEC_WRAPPER: end their `bootstrap`\n\
         # with `exec /opt/vigil/wrap ./real-bootstrap` instead.\n\n",
    );
}

fn yaml_parameters(out: &mut String, opts: &Options) {
    out.push_str("Parameters:\n  VigilLayerArn:\n    Type: String\n");
    let _ = writeln!(out, "    Description: {}", yaml_str(LAYER_DESCRIPTION));
    let _ = writeln!(out, "    AllowedPattern: {}", yaml_str(LAYER_ARN_PATTERN));
    let _ = writeln!(
        out,
        "    ConstraintDescription: {}",
        yaml_str(
            "must be a layer version ARN, e.g. arn:aws:lambda:eu-west-1:123456789012:layer:vigil:3"
        )
    );
    if let Some(arn) = &opts.layer_arn {
        let _ = writeln!(out, "    Default: {}", yaml_str(arn));
    }
    out.push_str("  VigilMode:\n    Type: String\n");
    let _ = writeln!(out, "    Description: {}", yaml_str(MODE_DESCRIPTION));
    out.push_str("    AllowedValues: [learn, detect, enforce]\n");
    let _ = writeln!(out, "    Default: {}", opts.mode());
    out.push('\n');
}

/// `Layers` and `Environment`, at `indent` spaces.
fn yaml_function_properties(out: &mut String, opts: &Options, indent: usize) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}Layers:");
    let _ = writeln!(out, "{pad}  - !Ref VigilLayerArn");
    let _ = writeln!(out, "{pad}Environment:");
    let _ = writeln!(out, "{pad}  Variables:");
    let _ = writeln!(out, "{pad}    AWS_LAMBDA_EXEC_WRAPPER: {WRAPPER}");
    let _ = writeln!(out, "{pad}    VIGIL_MODE: !Ref VigilMode");
    if let Some(p) = opts.policy_env() {
        let _ = writeln!(out, "{pad}    VIGIL_POLICY: {}", yaml_str(&p));
    }
    match &opts.collector {
        Some(url) => {
            let _ = writeln!(out, "{pad}    VIGIL_COLLECTOR: {}", yaml_str(url));
        }
        None => {
            let _ = writeln!(
                out,
                "{pad}    # VIGIL_COLLECTOR: https://vigil.example.com/v1/events  # optional: also send batched events there"
            );
        }
    }
}

fn sam(opts: &Options) -> String {
    let mut out = String::new();
    yaml_notes(
        &mut out,
        opts,
        "merge these sections into template.yaml (AWS SAM).\n\
         # Globals apply to every AWS::Serverless::Function: its own Layers are added to these and its\n\
         # own Environment.Variables merged with these (Lambda allows five layers per function).",
    );
    yaml_parameters(&mut out, opts);
    out.push_str("Globals:\n  Function:\n");
    yaml_function_properties(&mut out, opts, 4);
    out
}

fn cloudformation(opts: &Options) -> String {
    let mut out = String::new();
    yaml_notes(
        &mut out,
        opts,
        "add the parameters, and the Layers and Environment properties\n\
         # to each AWS::Lambda::Function of the template (CloudFormation). Keep the function's own\n\
         # properties; add its own environment variables next to Vigil's.",
    );
    yaml_parameters(&mut out, opts);
    out.push_str("Resources:\n  Function: # your function's logical id\n    Type: AWS::Lambda::Function\n    Properties:\n");
    out.push_str("      # … the function's own properties (Code, Handler, Runtime, Role, …) …\n");
    yaml_function_properties(&mut out, opts, 6);
    out
}

fn terraform(opts: &Options) -> String {
    let mut out = String::new();
    out.push_str(
        "# Vigil runtime security: add the variables, and the `layers` and `environment` arguments to\n\
         # each aws_lambda_function (Terraform). Keep the function's own arguments; add its own\n\
         # environment variables next to Vigil's.\n#\n",
    );
    match opts.policy_in_package() {
        Some(p) => {
            let _ = writeln!(
                out,
                "# The policy is src/{p}, zipped with the function's code{}.\n\
                 # The precondition stops a plan that would deploy the function without it.",
                if p == DEFAULT_POLICY_FILE {
                    " (found as $LAMBDA_TASK_ROOT/vigil.yaml)"
                } else {
                    " (VIGIL_POLICY below)"
                }
            );
        }
        None => out.push_str("# The policy comes from a layer (VIGIL_POLICY below).\n"),
    }
    let target = opts
        .policy_in_package()
        .map_or_else(|| "vigil.yaml".to_string(), |p| format!("src/{p}"));
    let _ = writeln!(
        out,
        "# Apply with vigil_mode = \"learn\" in staging, build the policy from its logs with\n\
         # `vigil policy from-events --out {target} <logs>`, then apply with vigil_mode = \"enforce\"."
    );
    out.push_str(
        "\
         # Custom runtimes (provided.al2023) ignore AWS_LAMBDA_EXEC_WRAPPER: end their `bootstrap`\n\
         # with `exec /opt/vigil/wrap ./real-bootstrap` instead.\n\n",
    );

    out.push_str("variable \"vigil_layer_arn\" {\n");
    let _ = writeln!(out, "  description = {}", hcl_str(LAYER_DESCRIPTION));
    out.push_str("  type        = string\n");
    if let Some(arn) = &opts.layer_arn {
        let _ = writeln!(out, "  default     = {}", hcl_str(arn));
    }
    out.push_str("\n  validation {\n");
    let _ = writeln!(
        out,
        "    condition     = can(regex({}, var.vigil_layer_arn))",
        hcl_str(LAYER_ARN_PATTERN)
    );
    out.push_str("    error_message = \"The vigil_layer_arn must be a layer version ARN, e.g. arn:aws:lambda:eu-west-1:123456789012:layer:vigil:3.\"\n  }\n}\n\n");

    out.push_str("variable \"vigil_mode\" {\n");
    let _ = writeln!(out, "  description = {}", hcl_str(MODE_DESCRIPTION));
    out.push_str("  type        = string\n");
    let _ = writeln!(out, "  default     = \"{}\"", opts.mode());
    out.push_str(
        "\n  validation {\n    condition     = contains([\"learn\", \"detect\", \"enforce\"], var.vigil_mode)\n    \
         error_message = \"The vigil_mode must be learn, detect or enforce.\"\n  }\n}\n\n",
    );

    out.push_str(
        "# The function's code and its policy, zipped together.\n\
         data \"archive_file\" \"function\" {\n  type        = \"zip\"\n  source_dir  = \"${path.module}/src\"\n  \
         output_path = \"${path.module}/build/function.zip\"\n}\n\n",
    );

    out.push_str("resource \"aws_lambda_function\" \"function\" {\n");
    out.push_str(
        "  # … the function's own arguments (function_name, role, handler, runtime, …) …\n",
    );
    out.push_str("  filename         = data.archive_file.function.output_path\n");
    out.push_str("  source_code_hash = data.archive_file.function.output_base64sha256\n\n");
    out.push_str("  layers = [var.vigil_layer_arn]\n\n");
    out.push_str("  environment {\n    variables = {\n");
    let mut vars: Vec<(String, String)> = vec![
        ("AWS_LAMBDA_EXEC_WRAPPER".into(), hcl_str(WRAPPER)),
        ("VIGIL_MODE".into(), "var.vigil_mode".into()),
    ];
    if let Some(p) = opts.policy_env() {
        vars.push(("VIGIL_POLICY".into(), hcl_str(&p)));
    }
    if let Some(url) = &opts.collector {
        vars.push(("VIGIL_COLLECTOR".into(), hcl_str(url)));
    }
    let width = vars.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &vars {
        let _ = writeln!(out, "      {k:width$} = {v}");
    }
    if opts.collector.is_none() {
        out.push_str("      # VIGIL_COLLECTOR = \"https://vigil.example.com/v1/events\" # optional: also send batched events there\n");
    }
    out.push_str("    }\n  }\n");
    if let Some(p) = opts.policy_in_package() {
        let quoted = hcl_str(&p);
        let inner = &quoted[1..quoted.len() - 1];
        let file = format!("\"${{path.module}}/src/{inner}\"");
        out.push_str("\n  lifecycle {\n    precondition {\n");
        let _ = writeln!(out, "      condition     = fileexists({file})");
        let _ = writeln!(
            out,
            "      error_message = {}",
            hcl_str(&format!(
                "The Vigil policy src/{p} is missing: learn one (vigil policy from-events, or vigil learn) or copy the layer's default."
            ))
        );
        out.push_str("    }\n  }\n");
    }
    out.push_str("}\n");
    out
}

/// The snippet for `format`. Call [`Options::validate`] first to report bad options; values
/// that got through anyway are quoted, never interpreted.
pub fn render(format: Format, opts: &Options) -> String {
    match format {
        Format::Sam => sam(opts),
        Format::CloudFormation => cloudformation(opts),
        Format::Terraform => terraform(opts),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:layer:vigil:3";

    #[test]
    fn formats_parse_by_name_and_alias_and_unknown_ones_are_named() {
        for (text, f) in [
            ("sam", Format::Sam),
            ("SAM", Format::Sam),
            ("cloudformation", Format::CloudFormation),
            ("cfn", Format::CloudFormation),
            ("terraform", Format::Terraform),
            ("tf", Format::Terraform),
        ] {
            assert_eq!(text.parse::<Format>().unwrap(), f);
        }
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        let e = "pulumi".parse::<Format>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown template format `pulumi`: expected sam, cloudformation or terraform"
        );
    }

    #[test]
    fn layer_arns_are_checked_with_a_reason() {
        let ok = |arn: &str| {
            Options {
                layer_arn: Some(arn.into()),
                ..Options::default()
            }
            .validate()
        };
        assert_eq!(ok(ARN), Ok(()));
        assert_eq!(
            ok("arn:aws-cn:lambda:cn-north-1:123456789012:layer:vigil-x86_64:12"),
            Ok(())
        );
        for (arn, reason) in [
            ("vigil", "expected a layer version ARN"),
            (
                "arn:aws:lambda:eu-west-1:123456789012:layer:vigil",
                "the version is missing",
            ),
            (
                "arn:aws:lambda:eu-west-1:1234:layer:vigil:3",
                "`1234` is not a 12-digit account id",
            ),
            (
                "arn:aws:lambda:EU:123456789012:layer:vigil:3",
                "`EU` is not a region",
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:vigil:3",
                "expected a layer version ARN",
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:layer:vigil:latest",
                "expected a layer version ARN",
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:layer:security:3",
                "does not contain `vigil`",
            ),
        ] {
            let e = ok(arn).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--layer-arn `{arn}`: ")), "{e}");
            assert!(e.contains(reason), "{arn}: {e}");
        }
    }

    #[test]
    fn policy_files_and_collectors_are_checked() {
        let with = |p: &str| Options {
            policy_file: Some(p.into()),
            ..Options::default()
        };
        assert_eq!(with("policies/prod.yaml").validate(), Ok(()));
        assert_eq!(with("/opt/policies/prod.yaml").validate(), Ok(()));
        for (p, reason) in [
            ("../vigil.yaml", "leaves the deployment package"),
            ("", "empty"),
            ("policies/", "directory"),
            ("/etc/vigil.yaml", "must be inside the package"),
            ("a\"b.yaml", "quote"),
        ] {
            let e = with(p).validate().unwrap_err().to_string();
            assert!(e.contains(reason), "{p}: {e}");
        }
        let c = |u: &str| Options {
            collector: Some(u.into()),
            ..Options::default()
        };
        assert_eq!(c("https://vigil.example.com/v1/events").validate(), Ok(()));
        let e = c("vigil.example.com").validate().unwrap_err().to_string();
        assert!(e.contains("expected an http:// or https:// URL"), "{e}");
    }

    #[test]
    fn the_mode_defaults_to_detect_and_follows_the_option() {
        for f in Format::ALL {
            let text = render(f, &Options::default());
            assert!(
                text.contains("Default: detect") || text.contains("default     = \"detect\""),
                "{f}: {text}"
            );
            let text = render(
                f,
                &Options {
                    mode: Some(Mode::Learn),
                    ..Options::default()
                },
            );
            assert!(
                text.contains("Default: learn") || text.contains("default     = \"learn\""),
                "{f}: {text}"
            );
        }
    }

    #[test]
    fn the_layer_arn_is_a_default_only_when_given() {
        for f in Format::ALL {
            assert!(!render(f, &Options::default()).contains(&format!("\"{ARN}\"")));
            let text = render(
                f,
                &Options {
                    layer_arn: Some(ARN.into()),
                    ..Options::default()
                },
            );
            assert!(text.contains(&format!("\"{ARN}\"")), "{f}: {text}");
        }
    }

    #[test]
    fn vigil_policy_is_set_only_for_a_policy_elsewhere_than_vigil_yaml() {
        for f in Format::ALL {
            let none = render(f, &Options::default());
            assert!(!none.contains("VIGIL_POLICY"), "{f}");
            let default = render(
                f,
                &Options {
                    policy_file: Some("./vigil.yaml".into()),
                    ..Options::default()
                },
            );
            assert_eq!(default, none, "{f}: ./vigil.yaml is the default");
            let other = render(
                f,
                &Options {
                    policy_file: Some("policies/prod.yaml".into()),
                    ..Options::default()
                },
            );
            assert!(
                other.contains("\"/var/task/policies/prod.yaml\""),
                "{f}: {other}"
            );
            let layer = render(
                f,
                &Options {
                    policy_file: Some("/opt/policies/prod.yaml".into()),
                    ..Options::default()
                },
            );
            assert!(layer.contains("\"/opt/policies/prod.yaml\""), "{f}");
        }
        // Terraform checks at plan time that the policy is there.
        let tf = render(
            Format::Terraform,
            &Options {
                policy_file: Some("policies/prod.yaml".into()),
                ..Options::default()
            },
        );
        assert!(tf.contains("fileexists(\"${path.module}/src/policies/prod.yaml\")"));
        let from_layer = render(
            Format::Terraform,
            &Options {
                policy_file: Some("/opt/policies/prod.yaml".into()),
                ..Options::default()
            },
        );
        assert!(!from_layer.contains("precondition"));
    }

    #[test]
    fn values_are_quoted_never_interpreted() {
        // Unvalidated hostile values still give well-formed text with the value as written.
        let opts = Options {
            layer_arn: Some("arn\"\n${file(\"/etc/passwd\")}".into()),
            collector: Some("https://x/\"}%{if true}".into()),
            ..Options::default()
        };
        let tf = render(Format::Terraform, &opts);
        assert!(
            tf.contains("\"arn\\\"\\n$${file(\\\"/etc/passwd\\\")}\""),
            "{tf}"
        );
        assert!(tf.contains("\"https://x/\\\"}%%{if true}\""), "{tf}");
        let sam = render(Format::Sam, &opts);
        assert!(
            sam.contains("Default: \"arn\\\"\\u000a${file(\\\"/etc/passwd\\\")}\""),
            "{sam}"
        );
    }

    #[test]
    fn a_collector_is_set_when_given_and_offered_as_a_comment_otherwise() {
        for f in Format::ALL {
            let text = render(f, &Options::default());
            assert!(text.contains("# VIGIL_COLLECTOR"), "{f}");
            let text = render(
                f,
                &Options {
                    collector: Some("https://vigil.example.com/v1/events".into()),
                    ..Options::default()
                },
            );
            assert!(!text.contains("# VIGIL_COLLECTOR"), "{f}");
            assert!(
                text.contains("VIGIL_COLLECTOR: \"https://vigil.example.com/v1/events\"")
                    || text.contains(
                        "VIGIL_COLLECTOR         = \"https://vigil.example.com/v1/events\""
                    ),
                "{f}: {text}"
            );
        }
    }
}
