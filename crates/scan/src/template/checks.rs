//! The checks on the [`Template`] model: the Vigil sensor and the Lambda configuration
//! checks. (The IAM checks of each function's role live in `link.rs`.)

use super::model::{Dialect, Function, Template, Value};
use super::node::{Kind, Pos};
use crate::{Category, Finding, Position, Severity};

/// Where the exec wrapper of the Vigil layer lives (see DESIGN.md, "Lambda shape").
pub const WRAPPER_PREFIX: &str = "/opt/vigil/";

/// Builds findings for one file.
pub struct Sink<'a> {
    /// The files of the template or module, indexed by [`Pos::file`].
    pub files: &'a [String],
    /// Findings so far.
    pub findings: Vec<Finding>,
}

impl Sink<'_> {
    /// Adds a finding.
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        code: &str,
        category: Category,
        severity: Severity,
        pos: Pos,
        resource: &str,
        message: String,
        remediation: String,
    ) {
        self.findings.push(Finding {
            code: code.to_string(),
            category,
            severity,
            position: Position {
                file: self
                    .files
                    .get(pos.file as usize)
                    .cloned()
                    .unwrap_or_default(),
                line: pos.line,
                column: pos.column,
            },
            resource: resource.to_string(),
            message,
            remediation,
        });
    }
}

/// Runs every non-IAM check.
pub fn run(t: &Template, sink: &mut Sink<'_>) {
    for f in &t.functions {
        sensor(f, sink);
        runtime(f, sink);
        env_secrets(f, sink);
    }
    for url in &t.urls {
        if let Some(auth) = url.auth_type.text() {
            if auth.eq_ignore_ascii_case("NONE") {
                sink.push(
                    "lambda-url-public",
                    Category::ResourceExposure,
                    Severity::High,
                    url.auth_type.pos,
                    &url.id,
                    "the function URL has AuthType NONE: anyone on the internet can invoke the function".into(),
                    "Use AuthType AWS_IAM and sign requests (SigV4), or put the function behind API Gateway with an authorizer; \
                     if the URL must be public, authenticate inside the handler and keep the function's role minimal."
                        .into(),
                );
            }
        }
    }
    for p in &t.permissions {
        let Some(principal) = p.principal.text() else {
            continue;
        };
        let action = p.action.as_deref().unwrap_or("lambda:InvokeFunction");
        if principal == "*" && !p.has_source {
            sink.push(
                "lambda-permission-public",
                Category::ResourceExposure,
                Severity::High,
                p.pos,
                &p.id,
                format!("the permission grants `{action}` to every principal (`*`) with no SourceArn, SourceAccount or PrincipalOrgID"),
                "Name the calling service or account as Principal and narrow it with SourceArn (and SourceAccount); \
                 for a public function URL prefer AuthType AWS_IAM."
                    .into(),
            );
        } else if principal.ends_with(".amazonaws.com") && !p.has_source {
            sink.push(
                "lambda-permission-no-source",
                Category::ResourceExposure,
                Severity::Medium,
                p.pos,
                &p.id,
                format!(
                    "`{principal}` may invoke the function on behalf of any account: no SourceArn or SourceAccount (confused deputy)"
                ),
                "Add SourceArn with the ARN of the bucket, topic, rule or API that calls the function, and SourceAccount for S3."
                    .into(),
            );
        }
    }
}

fn contains_vigil(v: &Value) -> bool {
    v.text_or_reference()
        .is_some_and(|s| s.to_ascii_lowercase().contains("vigil"))
}

fn advice_layer(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sam => {
            "Add the Vigil layer and the wrapper, e.g. in Globals.Function: `Layers: [!Ref VigilLayerArn]` and \
             `Environment: {Variables: {AWS_LAMBDA_EXEC_WRAPPER: /opt/vigil/wrap}}`."
        }
        Dialect::CloudFormation => {
            "Add the Vigil layer ARN to `Layers` and set `Environment.Variables.AWS_LAMBDA_EXEC_WRAPPER` to `/opt/vigil/wrap`."
        }
        Dialect::Terraform => {
            "Add the Vigil layer ARN to `layers` (e.g. `var.vigil_layer_arn`) and set \
             `AWS_LAMBDA_EXEC_WRAPPER = \"/opt/vigil/wrap\"` in `environment { variables = { … } }`."
        }
    }
}

/// The sensor check: the Vigil layer plus `AWS_LAMBDA_EXEC_WRAPPER` under `/opt/vigil/`.
fn sensor(f: &Function, sink: &mut Sink<'_>) {
    let wrapper = f.env.iter().find(|e| e.name == "AWS_LAMBDA_EXEC_WRAPPER");
    let wrapper_ok = wrapper.is_some_and(|w| match &w.value.node.kind {
        // Under /opt/vigil/ once resolved: `/opt/vigil/../otel/wrapper` is not.
        Kind::Str(s) => s.starts_with(WRAPPER_PREFIX) && !s.split('/').any(|c| c == ".."),
        // A reference that cannot be resolved counts when its name says vigil.
        Kind::Unknown(what) => what.to_ascii_lowercase().contains("vigil"),
        _ => false,
    });
    let layer = f.layers.iter().any(contains_vigil);
    if f.image {
        if !wrapper_ok {
            sink.push(
                "sensor-missing-image",
                Category::SensorMissing,
                Severity::Medium,
                f.pos,
                &f.id,
                "container-image function without the Vigil sensor: AWS_LAMBDA_EXEC_WRAPPER does not point into /opt/vigil/".to_string(),
                "Images cannot use layers: bake the sensor into the image (`COPY --from=<vigil layer image> /opt/ /opt/` in the \
                 Dockerfile) and run the handler through it, either with ENTRYPOINT through /opt/vigil/wrap or by setting \
                 AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap in the function's environment."
                    .into(),
            );
        }
        return;
    }
    let (code, message) = match (layer, wrapper_ok) {
        (true, true) => return,
        (false, false) => (
            "sensor-missing",
            "function deployed without the Vigil sensor: no Vigil layer and no AWS_LAMBDA_EXEC_WRAPPER into /opt/vigil/".to_string(),
        ),
        (false, true) => (
            "sensor-layer-missing",
            "AWS_LAMBDA_EXEC_WRAPPER points into /opt/vigil/ but no Vigil layer is attached: the function will fail to start".to_string(),
        ),
        (true, false) => (
            "sensor-wrapper-missing",
            match wrapper.and_then(|w| w.value.text_or_reference()) {
                Some(v) => format!("the Vigil layer is attached but AWS_LAMBDA_EXEC_WRAPPER is `{v}`, not under /opt/vigil/: the sensor never starts"),
                None => "the Vigil layer is attached but AWS_LAMBDA_EXEC_WRAPPER is not set: the sensor never starts".to_string(),
            },
        ),
    };
    let pos = match (code, wrapper) {
        ("sensor-wrapper-missing", Some(w)) => w.pos,
        _ => f.pos,
    };
    let severity = if code == "sensor-layer-missing" {
        Severity::High
    } else {
        Severity::Medium
    };
    let advice = match code {
        "sensor-wrapper-missing" => {
            "Set AWS_LAMBDA_EXEC_WRAPPER to /opt/vigil/wrap (one wrapper only: chain other wrappers from Vigil's)."
        }
        "sensor-layer-missing" => {
            "Attach the Vigil layer (its ARN in the function's layers), or remove AWS_LAMBDA_EXEC_WRAPPER."
        }
        _ => advice_layer(f.dialect),
    };
    sink.push(
        code,
        Category::SensorMissing,
        severity,
        pos,
        &f.id,
        message,
        advice.into(),
    );
}

/// Runtimes past their Lambda deprecation date, as of the date below, with that date.
/// Source: the AWS Lambda "Runtime deprecation" table (docs.aws.amazon.com/lambda, read 2026-11).
const DEPRECATED_RUNTIMES: &[(&str, &str, &str)] = &[
    ("nodejs", "2016-10-31", "nodejs24.x"),
    ("nodejs4.3", "2020-03-05", "nodejs24.x"),
    ("nodejs4.3-edge", "2019-04-30", "nodejs24.x"),
    ("nodejs6.10", "2019-08-12", "nodejs24.x"),
    ("nodejs8.10", "2020-03-06", "nodejs24.x"),
    ("nodejs10.x", "2021-07-30", "nodejs24.x"),
    ("nodejs12.x", "2023-03-31", "nodejs24.x"),
    ("nodejs14.x", "2023-12-04", "nodejs24.x"),
    ("nodejs16.x", "2024-06-12", "nodejs24.x"),
    ("nodejs18.x", "2025-09-01", "nodejs24.x"),
    ("nodejs20.x", "2026-04-30", "nodejs24.x"),
    ("python2.7", "2021-07-15", "python3.14"),
    ("python3.6", "2022-07-18", "python3.14"),
    ("python3.7", "2023-12-04", "python3.14"),
    ("python3.8", "2024-10-14", "python3.14"),
    ("python3.9", "2025-12-15", "python3.14"),
    ("ruby2.5", "2021-07-30", "ruby3.4"),
    ("ruby2.7", "2023-12-07", "ruby3.4"),
    ("ruby3.2", "2026-03-31", "ruby3.4"),
    ("java8", "2024-01-08", "java25 (or java8.al2)"),
    (
        "go1.x",
        "2024-01-08",
        "provided.al2023 (Go compiled to a `bootstrap` binary)",
    ),
    ("provided", "2024-01-08", "provided.al2023"),
    ("dotnetcore1.0", "2019-07-30", "dotnet10"),
    ("dotnetcore2.0", "2019-05-30", "dotnet10"),
    ("dotnetcore2.1", "2022-01-05", "dotnet10"),
    ("dotnetcore3.1", "2023-04-03", "dotnet10"),
    ("dotnet5.0", "2022-05-10", "dotnet10"),
    ("dotnet6", "2024-12-20", "dotnet10"),
    ("dotnet7", "2024-05-14", "dotnet10"),
];

fn runtime(f: &Function, sink: &mut Sink<'_>) {
    let Some(rt) = &f.runtime else { return };
    let Some(name) = rt.text() else { return };
    if let Some((_, date, upgrade)) = DEPRECATED_RUNTIMES.iter().find(|(r, _, _)| *r == name) {
        sink.push(
            "lambda-runtime-deprecated",
            Category::LambdaConfiguration,
            Severity::Medium,
            rt.pos,
            &f.id,
            format!("runtime `{name}` was deprecated by Lambda on {date}: it gets no security patches and updates are blocked"),
            format!("Move the function to a supported runtime such as {upgrade} and test it there."),
        );
    }
}

/// Endings of variable names that say the value is a secret (`DB_PASSWORD`, `SLACK_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`). Only the ending counts: `DB_SECRET_ARN` names a secret and
/// `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` configures an extension.
const SECRET_ENDINGS: &[&str] = &[
    "SECRET",
    "SECRETS",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "TOKEN",
    "APIKEY",
    "API_KEY",
    "PRIVATE_KEY",
    "ACCESS_KEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "AUTH_KEY",
    "SIGNING_KEY",
];

fn looks_like_secret_value(v: &str) -> Option<&'static str> {
    let akia = v.len() == 20
        && (v.starts_with("AKIA") || v.starts_with("ASIA"))
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if akia {
        Some("an AWS access key id")
    } else if v.contains("-----BEGIN") && v.contains("PRIVATE KEY") {
        Some("a private key")
    } else if v.starts_with("xoxb-")
        || v.starts_with("xoxp-")
        || v.starts_with("ghp_")
        || v.starts_with("github_pat_")
    {
        Some("an API token")
    } else {
        None
    }
}

/// A value that cannot be the secret its variable's name suggests: a switch (`AUTH_TOKEN: "true"`
/// turns token auth on) or the name of an SSM parameter holding it (`API_TOKEN: /app/api-token`).
fn is_flag_or_parameter_name(v: &str) -> bool {
    const FLAGS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none", "null",
    ];
    let v = v.trim();
    FLAGS.iter().any(|f| v.eq_ignore_ascii_case(f))
        || (v.starts_with('/')
            && v.len() > 1
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/_.-".contains(&b)))
}

fn env_secrets(f: &Function, sink: &mut Sink<'_>) {
    for e in &f.env {
        let upper = e.name.to_ascii_uppercase();
        let named_secret = SECRET_ENDINGS.iter().any(|w| upper.ends_with(w));
        let value = e.value.text();
        let deploy_time = value.is_some_and(|v| {
            v.contains("{{resolve:secretsmanager:") || v.contains("{{resolve:ssm-secure:")
        });
        let reference = match (&e.from_secret_parameter, deploy_time) {
            (Some(param), _) => Some(format!(
                "`{}` takes the secret input `{param}` (a NoEcho parameter or sensitive variable)",
                e.name
            )),
            (None, true) => Some(format!("`{}` resolves a secret at deploy time", e.name)),
            (None, false) => None,
        };
        if let Some(what) = reference {
            sink.push(
                "lambda-env-secret-reference",
                Category::CredentialsExposure,
                Severity::Medium,
                e.pos,
                &f.id,
                format!("{what}: the secret ends up in plain text in the function configuration"),
                "Store the secret in Secrets Manager or SSM SecureString, pass its ARN or name, and fetch it at run time \
                 (the Parameters and Secrets Lambda extension caches it)."
                    .into(),
            );
            continue;
        }
        let Some(value) = value else {
            continue;
        };
        let shaped = looks_like_secret_value(value);
        let literal = !value.trim().is_empty()
            && !value.starts_with("arn:")
            && !value.contains("${")
            && !is_flag_or_parameter_name(value);
        if shaped.is_some() || (named_secret && literal) {
            let what = shaped.unwrap_or("a value its name marks as secret");
            sink.push(
                "lambda-env-plaintext-secret",
                Category::CredentialsExposure,
                Severity::High,
                e.value.pos,
                &f.id,
                format!("environment variable `{}` holds {what} in plain text in the template", e.name),
                "Remove the value from the template and rotate it; store it in Secrets Manager or SSM SecureString and \
                 read it at run time, passing only its ARN or name in the environment."
                    .into(),
            );
        }
    }
}
