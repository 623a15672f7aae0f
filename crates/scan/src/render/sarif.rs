//! SARIF 2.1.0 for code-scanning UIs: one run, one rule per finding code present, one result
//! per finding; input errors are tool execution notifications of the run's invocation.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_sarif::sarif;

use crate::finding::{Position, Report, Severity};

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low | Severity::Info => sarif::ResultLevel::Note,
    }
}

/// GitHub code scanning orders results by this number (0.0–10.0).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

/// The file as a SARIF `artifactLocation.uri`: a relative reference for a relative path, a
/// `file://` URI for an absolute one (a bare `/abs/path` is a relative reference that viewers
/// resolve against their own base), percent-encoded either way.
fn artifact_uri(file: &str) -> String {
    let path = file.replace('\\', "/");
    let mut out = String::with_capacity(path.len() + 8);
    let bytes = path.as_bytes();
    let windows_drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if path.starts_with('/') {
        out.push_str("file://");
    } else if windows_drive {
        out.push_str("file:///");
    }
    for (i, &b) in bytes.iter().enumerate() {
        let keep = b.is_ascii_alphanumeric()
            || b"-._~/!$&'()*+,;=@".contains(&b)
            || (b == b':' && ((windows_drive && i == 1) || out.starts_with("file:")));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A rule's `name`: the code in PascalCase (`lambda-passrole-escalation` →
/// `LambdaPassroleEscalation`), as SARIF asks for a readable name distinct from the id.
fn rule_name(code: &str) -> String {
    code.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn location(p: &Position) -> sarif::Location {
    sarif::Location::builder()
        .physical_location(
            sarif::PhysicalLocation::builder()
                .artifact_location(
                    sarif::ArtifactLocation::builder()
                        .uri(artifact_uri(&p.file))
                        .build(),
                )
                .region(
                    sarif::Region::builder()
                        .start_line(p.line.max(1) as i64)
                        .start_column(p.column.max(1) as i64)
                        .build(),
                )
                .build(),
        )
        .build()
}

/// The report as a SARIF log.
pub fn to_sarif(report: &Report) -> sarif::Sarif {
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for f in &report.findings {
        if rule_index.contains_key(f.code.as_str()) {
            continue;
        }
        rule_index.insert(&f.code, rules.len());
        let worst = report
            .findings
            .iter()
            .filter(|g| g.code == f.code)
            .map(|g| g.severity)
            .max()
            .unwrap_or(f.severity);
        let mut props = BTreeMap::new();
        props.insert(
            "category".to_string(),
            serde_json::Value::from(f.category.as_str()),
        );
        props.insert(
            "security-severity".to_string(),
            serde_json::Value::from(security_severity(worst)),
        );
        rules.push(
            sarif::ReportingDescriptor::builder()
                .id(f.code.clone())
                .name(rule_name(&f.code))
                .short_description(&format!("{} ({})", f.code, f.category))
                .help(&f.remediation)
                .properties(
                    sarif::PropertyBag::builder()
                        .tags(vec![
                            "security".to_string(),
                            f.category.as_str().to_string(),
                        ])
                        .additional_properties(props)
                        .build(),
                )
                .build(),
        );
    }
    let results: Vec<sarif::Result> = report
        .findings
        .iter()
        .map(|f| {
            let mut props = BTreeMap::new();
            props.insert(
                "severity".to_string(),
                serde_json::Value::from(f.severity.as_str()),
            );
            props.insert(
                "resource".to_string(),
                serde_json::Value::from(f.resource.clone()),
            );
            props.insert(
                "remediation".to_string(),
                serde_json::Value::from(f.remediation.clone()),
            );
            sarif::Result::builder()
                .rule_id(f.code.clone())
                .rule_index(rule_index.get(f.code.as_str()).copied().unwrap_or(0) as i64)
                .level(level(f.severity))
                .message(&format!("{}: {}", f.resource, f.message))
                .locations(vec![location(&f.position)])
                .properties(
                    sarif::PropertyBag::builder()
                        .additional_properties(props)
                        .build(),
                )
                .build()
        })
        .collect();
    let notifications: Vec<sarif::Notification> = report
        .errors
        .iter()
        .map(|e| {
            sarif::Notification::builder()
                .message(&e.message)
                .level(serde_json::Value::from("error"))
                .locations(vec![location(&e.position)])
                .build()
        })
        .collect();
    let invocation = sarif::Invocation::builder()
        .execution_successful(report.errors.is_empty())
        .tool_execution_notifications(notifications)
        .build();
    let driver = sarif::ToolComponent::builder()
        .name("vigil")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/vigil-sec/vigil")
        .rules(rules)
        .build();
    let run = sarif::Run::builder()
        .tool(driver)
        .results(results)
        .invocations(vec![invocation])
        .build();
    sarif::Sarif::builder()
        .version(sarif::Version::V2_1_0.to_string())
        .schema(sarif::SCHEMA_URL)
        .runs(vec![run])
        .build()
}

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &to_sarif(report)).map_err(super::json_io_error)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_references_or_file_uris_and_percent_encoded() {
        assert_eq!(artifact_uri("policies/app.json"), "policies/app.json");
        assert_eq!(artifact_uri("../x/a b#1.json"), "../x/a%20b%231.json");
        assert_eq!(artifact_uri("/work/x/a.json"), "file:///work/x/a.json");
        assert_eq!(artifact_uri("C:\\repo\\a.yaml"), "file:///C:/repo/a.yaml");
        assert_eq!(artifact_uri("dir/é.json"), "dir/%C3%A9.json");
        assert_eq!(artifact_uri("a:b.json"), "a%3Ab.json");
    }

    #[test]
    fn rule_names_differ_from_ids() {
        assert_eq!(
            rule_name("lambda-passrole-escalation"),
            "LambdaPassroleEscalation"
        );
    }
}
