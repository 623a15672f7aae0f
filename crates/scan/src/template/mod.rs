//! Template checks: SAM, CloudFormation (YAML/JSON), Terraform (`.tf` modules and plan JSON).
//!
//! # Entry points (what `vigil scan template` calls)
//!
//! - [`scan_template_paths`]`(&[PATH…]) -> Report` — the whole command: each PATH is a file or
//!   a directory walked recursively. Every input is scanned; one that cannot be read or parsed
//!   becomes a [`ScanError`](crate::ScanError) with file, line and column, and the others are
//!   still scanned. Findings come back sorted by file, line, column, code.
//! - [`scan_template_files`] — the same for a list of files already walked by the caller, each
//!   marked [`Origin::Explicit`] (named by the user: a file that is not a template is an error)
//!   or [`Origin::Walked`] (found in a directory: skipped quietly unless it looks like one).
//! - [`scan_template_source`] — one file's text in memory (tests, editors, stdin).
//!
//! Files are recognised by extension and content: `.yaml`/`.yml`/`.template` are SAM or
//! CloudFormation when they have `Resources` (or `AWSTemplateFormatVersion`/`Transform`);
//! `.json` is CloudFormation by the same rule, or a Terraform plan when it has
//! `planned_values`/`resource_changes`; every `.tf` file of one directory is read together as
//! one Terraform module (variables, locals and resources span files).
//!
//! # Pipeline
//!
//! text → [`node`] tree with positions (short-form tags become long form) → format reader
//! ([`cfn`], `terraform`, `plan`) resolving what can be known before deployment → the format-free
//! [`model::Template`] (functions, roles, URLs, permissions) → checks: `checks.rs` (sensor and
//! Lambda configuration) and `link.rs` (each function's role, through the IAM analyzer).
//!
//! Architecture invariant: nothing here panics on input; every parser error and every
//! unexpected shape is a `ScanError` or is skipped.

mod cfn;
mod checks;
mod link;
mod model;
mod node;
mod terraform;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Finding, Position, Report, ScanError};

use checks::Sink;
use node::Pos;

/// How a file came to be scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Named on the command line: if it is not a template, that is an error.
    Explicit,
    /// Found while walking a directory: files that are not templates are skipped.
    Walked,
}

/// What kind of input a path is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Yaml,
    Json,
    Terraform,
}

fn kind_of(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yaml" | "yml" | "template" => Some(FileKind::Yaml),
        "json" => Some(FileKind::Json),
        "tf" => Some(FileKind::Terraform),
        _ => None,
    }
}

/// Scans files and directories. Directories are walked by [`crate::walk::discover`]
/// (recursively, in name order, skipping hidden, build and dependency folders such as
/// `.aws-sam`, `.terraform` and `node_modules`), keeping `.yaml`/`.yml`/`.template`/`.json`/`.tf`.
pub fn scan_template_paths<P: AsRef<Path>>(paths: &[P]) -> Report {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.as_ref().to_path_buf()).collect();
    let (inputs, errors) = crate::walk::discover(&paths, &|p: &Path| kind_of(p).is_some());
    let files: Vec<(PathBuf, Origin)> = inputs
        .into_iter()
        .map(|i| {
            let origin = if i.explicit {
                Origin::Explicit
            } else {
                Origin::Walked
            };
            (i.path, origin)
        })
        .collect();
    let mut report = scan_template_files(&files);
    report.errors.extend(errors);
    sort(&mut report);
    report
}

/// Scans files already listed; `.tf` files of one directory are scanned together.
pub fn scan_template_files(files: &[(PathBuf, Origin)]) -> Report {
    let mut report = Report::default();
    let mut modules: BTreeMap<PathBuf, Vec<(String, String)>> = BTreeMap::new();
    for (path, origin) in files {
        let name = path.display().to_string();
        let kind = kind_of(path);
        if kind.is_none() && *origin == Origin::Walked {
            continue;
        }
        let text = match std::fs::read(path) {
            Ok(bytes) => match String::from_utf8(crate::walk::strip_bom(bytes)) {
                Ok(text) => text,
                Err(e) => {
                    report.errors.push(error_at(
                        &name,
                        Pos::new(1, 1),
                        format!("not UTF-8 text: {e}"),
                    ));
                    continue;
                }
            },
            Err(e) => {
                report
                    .errors
                    .push(error_at(&name, Pos::new(1, 1), format!("cannot read: {e}")));
                continue;
            }
        };
        match kind {
            Some(FileKind::Terraform) => {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                modules.entry(dir).or_default().push((name, text));
            }
            Some(k) => scan_one(&name, &text, k, *origin, &mut report),
            None => report.errors.push(error_at(
                &name,
                Pos::new(1, 1),
                "not a template: expected a .yaml, .yml, .json or .tf file".into(),
            )),
        }
    }
    for (_, files) in modules {
        scan_terraform_module(&files, &mut report);
    }
    sort(&mut report);
    report
}

/// Scans one file's text; `file` names it in findings and decides the format by extension
/// (`.tf`, `.json`, anything else is read as YAML).
pub fn scan_template_source(file: &str, text: &str) -> Report {
    let mut report = Report::default();
    match kind_of(Path::new(file)) {
        Some(FileKind::Terraform) => {
            scan_terraform_module(&[(file.to_string(), text.to_string())], &mut report)
        }
        Some(k) => scan_one(file, text, k, Origin::Explicit, &mut report),
        None => scan_one(file, text, FileKind::Yaml, Origin::Explicit, &mut report),
    }
    sort(&mut report);
    report
}

fn error_at(file: &str, pos: Pos, message: String) -> ScanError {
    ScanError {
        position: Position {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
        },
        message,
    }
}

/// Cheap content sniffing for walked files, so a malformed docker-compose file in a
/// directory is not reported as a broken template.
fn sniff_template(text: &str) -> bool {
    text.contains("AWSTemplateFormatVersion")
        || text.contains("AWS::")
        || text.contains("Resources")
        || text.contains("resource_changes")
        || text.contains("planned_values")
}

fn scan_one(file: &str, text: &str, kind: FileKind, origin: Origin, report: &mut Report) {
    if origin == Origin::Walked && !sniff_template(text) {
        return;
    }
    let parsed = match kind {
        FileKind::Json => node::parse_json(text),
        _ => node::parse_yaml(text),
    };
    let root = match parsed {
        Ok(root) => root,
        Err(e) => {
            let what = if kind == FileKind::Json {
                "JSON"
            } else {
                "YAML"
            };
            report.errors.push(error_at(
                file,
                e.pos,
                format!("invalid {what}: {}", e.message),
            ));
            return;
        }
    };
    if kind == FileKind::Json && terraform::looks_like_plan(&root) {
        let template = terraform::extract(&terraform::plan_resources(&root), &[]);
        report
            .findings
            .extend(dedup(run_checks(&template, &[file.to_string()])));
        return;
    }
    if !cfn::looks_like_template(&root) {
        if origin == Origin::Explicit {
            report.errors.push(error_at(
                file,
                root.pos,
                "not a CloudFormation/SAM template or Terraform plan: no `Resources` section"
                    .into(),
            ));
        }
        return;
    }
    match cfn::extract(&root) {
        Ok((variants, problems)) => {
            for p in problems {
                report.errors.push(error_at(file, p.pos, p.message));
            }
            let files = [file.to_string()];
            let per_variant: Vec<Vec<Finding>> = variants
                .iter()
                .map(|(template, _)| run_checks(template, &files))
                .collect();
            let assumptions: Vec<&str> = variants.iter().map(|(_, a)| a.as_str()).collect();
            report
                .findings
                .extend(merge_variants(per_variant, &assumptions));
        }
        Err(e) => report.errors.push(error_at(file, e.pos, e.message)),
    }
}

fn notes(t: &model::Template, sink: &mut Sink<'_>) {
    for n in &t.notes {
        sink.push(
            n.code,
            crate::Category::LambdaConfiguration,
            crate::Severity::Info,
            n.pos,
            &n.resource,
            n.message.clone(),
            "Check the name against the SAM policy template list, or write the statement inline."
                .into(),
        );
    }
}

/// Scans the `.tf` files of one directory as one module; a file that does not parse is an
/// error and the rest of the module is still scanned.
fn scan_terraform_module(files: &[(String, String)], report: &mut Report) {
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    let mut parsed = Vec::new();
    for (i, (name, text)) in files.iter().enumerate() {
        match terraform::parse_file(text) {
            Ok(f) => parsed.push((u32::try_from(i).unwrap_or(u32::MAX), f)),
            Err(e) => {
                report
                    .errors
                    .push(error_at(name, e.pos, format!("invalid HCL: {}", e.message)))
            }
        }
    }
    let module = terraform::Module::new(&parsed);
    let template = terraform::extract(
        &module.resources(),
        &terraform::sensitive_variables(&module),
    );
    report.findings.extend(dedup(run_checks(&template, &names)));
}

/// Every check on one template; `files` names the files its positions index.
fn run_checks(template: &model::Template, files: &[String]) -> Vec<Finding> {
    let mut sink = Sink {
        files,
        findings: Vec::new(),
    };
    checks::run(template, &mut sink);
    link::run(template, &mut sink);
    notes(template, &mut sink);
    sink.findings
}

/// Findings from every assignment of undecided conditions: one found under every
/// assignment is reported as is; one found under some only says when it applies.
fn merge_variants(per_variant: Vec<Vec<Finding>>, assumptions: &[&str]) -> Vec<Finding> {
    let total = per_variant.len();
    let mut groups: Vec<(Finding, Vec<usize>)> = Vec::new();
    for (i, findings) in per_variant.into_iter().enumerate() {
        for f in findings {
            match groups.iter_mut().find(|(g, _)| g == &f) {
                Some((_, seen)) if !seen.contains(&i) => seen.push(i),
                Some(_) => {}
                None => groups.push((f, vec![i])),
            }
        }
    }
    groups
        .into_iter()
        .map(|(mut f, seen)| {
            if seen.len() < total {
                let when: Vec<&str> = seen
                    .iter()
                    .filter_map(|i| assumptions.get(*i).copied())
                    .collect();
                f.message = format!("{} (when {})", f.message, when.join("; or when "));
            }
            f
        })
        .collect()
}

fn dedup(mut findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| {
        seen.insert((
            f.code.clone(),
            f.position.clone(),
            f.resource.clone(),
            f.message.clone(),
        ))
    });
    findings
}

fn sort(report: &mut Report) {
    report.findings.sort_by(|a, b| {
        (
            &a.position.file,
            a.position.line,
            a.position.column,
            &a.code,
            &a.resource,
        )
            .cmp(&(
                &b.position.file,
                b.position.line,
                b.position.column,
                &b.code,
                &b.resource,
            ))
    });
    report.errors.sort_by(|a, b| a.position.cmp(&b.position));
}
