//! IAM policy analysis.
//!
//! # API
//!
//! The model ([`PolicyDocument`], [`Statement`], [`Located`]) is independent of the syntax a
//! policy was written in: the JSON loader here ([`parse_iam_json`], [`parse_policy_json`])
//! fills it from IAM JSON, and a template loader fills it from a CloudFormation/SAM/Terraform
//! template. Every value carries the [`Position`](crate::Position) (file, 1-based line and
//! column) where it was written, so findings point at the exact `Action` or `Resource` entry.
//!
//! Loaders building the model by hand:
//! - a single string becomes a one-element list; keep `action` vs `not_action` and `resource`
//!   vs `not_resource` apart; an absent `Resource` is an empty list (treated as `*`);
//! - a value that is not a literal (`!GetAtt`, `!Ref`, `!Sub`, a Terraform reference) is a
//!   string with `${...}` placeholders. The analyzer treats a placeholder as one unknown but
//!   specific name (never as a wildcard) when grading scope, and as "anything" when deciding
//!   whether a resource fits an action. Where the shape of the ARN is known, render it, e.g.
//!   `!GetAtt Bucket.Arn` as `arn:${AWS::Partition}:s3:::${Bucket}`, so that
//!   `resource-mismatch` can tell `s3:GetObject` on a bucket (instead of `bucket/*`).
//!
//! Analysis:
//! - [`analyze`]`(doc, subject)`: every check on one document. `subject` names what the
//!   findings are about (`"MyFunctionRole"`, a file's policy name, `"aws_iam_role.app"`); it
//!   prefixes each finding's `resource`, followed by the statement (`Statement[2] (Sid)`).
//! - [`analyze_effective`]`(&[NamedDocument], subject)`: several documents as ONE effective
//!   policy (a role with inline and managed policies). A `Deny` in one takes away the matching
//!   `Allow` of another; escalation paths combine actions granted by different documents.
//!   Runs only the effective checks (admin, escalation, exfiltration, credentials, exposure,
//!   infrastructure modification).
//! - [`check_statements`]`(doc, subject)`: only the per-statement checks (unknown actions,
//!   resource mismatches, service and resource wildcards). For a role with several
//!   documents, call it once per document plus [`analyze_effective`] once for the role, so
//!   that a statement's own problems are reported once.
//! - [`analyze_authorization_details`]: all of this for an account's
//!   `get-account-authorization-details` output (users with their groups, roles).
//!
//! Semantics: action names match case-insensitively with `*`/`?` wildcards; `NotAction`
//! grants everything else; `NotResource` counts as all resources; an unconditional `Deny`
//! removes a grant when its resources cover the grant's; conditions are reported in messages
//! and never make a statement disappear (an `iam:PassedToService` condition only removes an
//! escalation path through a service it does not name). Findings are graded by resource
//! scope: all resources keeps a check's severity, a wildcard lowers it one level, named
//! resources two.

mod authz;
mod catalog;
mod checks;
mod effective;
pub(crate) mod glob;
mod json;
mod model;

pub use authz::{AuthorizationDetails, Identity, IdentityKind, ManagedPolicy};
pub use effective::{NamedDocument, Scope};
pub use json::{parse_iam_json, parse_policy_json, IamJson};
pub use model::{Condition, Effect, Located, PolicyDocument, Principal, Statement};

use crate::finding::{Finding, Report};
use crate::walk;
use effective::Effective;

/// Every check on one policy document.
pub fn analyze(doc: &PolicyDocument, subject: &str) -> Vec<Finding> {
    let e = Effective::new(&[NamedDocument {
        name: "",
        document: doc,
    }]);
    let mut out = Vec::new();
    checks::statement_checks(&e, subject, &mut out);
    checks::effective_checks(&e, subject, &mut out);
    out
}

/// The per-statement checks only (see the module documentation).
pub fn check_statements(doc: &PolicyDocument, subject: &str) -> Vec<Finding> {
    let e = Effective::new(&[NamedDocument {
        name: "",
        document: doc,
    }]);
    let mut out = Vec::new();
    checks::statement_checks(&e, subject, &mut out);
    out
}

/// The effective checks over several documents taken as one policy.
pub fn analyze_effective(docs: &[NamedDocument<'_>], subject: &str) -> Vec<Finding> {
    let e = Effective::new(docs);
    let mut out = Vec::new();
    checks::effective_checks(&e, subject, &mut out);
    out
}

/// Every check over an account's authorization details: statement checks once per inline and
/// customer-managed policy, effective checks once per user (with its groups' policies), group
/// and role. AWS-managed policies count in the effective checks only: their text is not the
/// account's to fix. Attached policies missing from the file are named in a finding-free note
/// returned as the second value.
pub fn analyze_authorization_details(
    details: &AuthorizationDetails,
) -> (Vec<Finding>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for p in details.policies.iter().filter(|p| !p.is_aws_managed()) {
        out.extend(check_statements(&p.document, &format!("policy/{}", p.name)));
    }
    let managed = |arn: &str| details.policies.iter().find(|p| p.arn == arn);
    for id in &details.identities {
        let subject = format!("{}/{}", id.kind.as_str(), id.name);
        for (name, doc) in &id.inline {
            out.extend(check_statements(doc, &format!("{subject} inline {name}")));
        }
        let mut docs: Vec<NamedDocument<'_>> = Vec::new();
        collect(details, id, &mut docs, &mut missing, &managed);
        if id.kind == IdentityKind::User {
            for g in &id.groups {
                if let Some(group) = details
                    .identities
                    .iter()
                    .find(|x| x.kind == IdentityKind::Group && &x.name == g)
                {
                    collect(details, group, &mut docs, &mut missing, &managed);
                }
            }
        }
        out.extend(analyze_effective(&docs, &subject));
    }
    missing.sort();
    missing.dedup();
    (out, missing)
}

fn collect<'a>(
    _details: &'a AuthorizationDetails,
    id: &'a Identity,
    docs: &mut Vec<NamedDocument<'a>>,
    missing: &mut Vec<String>,
    managed: &dyn Fn(&str) -> Option<&'a ManagedPolicy>,
) {
    for (name, doc) in &id.inline {
        docs.push(NamedDocument {
            name,
            document: doc,
        });
    }
    for arn in &id.managed {
        match managed(arn) {
            Some(p) => docs.push(NamedDocument {
                name: &p.name,
                document: &p.document,
            }),
            None => missing.push(arn.clone()),
        }
    }
}

/// Scans IAM JSON files and directories (walked for `*.json`): policy documents, AWS CLI
/// policy wrappers and authorization details. Files found in a directory that hold other JSON
/// are skipped; a file named explicitly that holds no IAM data is an error.
pub fn scan_paths(paths: &[std::path::PathBuf]) -> Report {
    let (inputs, errors) = walk::discover(paths, &|p| walk::has_extension(p, &["json"]));
    let mut report = Report {
        findings: Vec::new(),
        errors,
    };
    for input in &inputs {
        match input.read() {
            Ok(text) => scan_text(&text, input, &mut report),
            Err(e) => report.errors.push(e),
        }
    }
    report.sort();
    report
}

/// Scans one file's text into `report`.
pub fn scan_text(text: &str, input: &walk::Input, report: &mut Report) {
    match parse_iam_json(text, &input.name) {
        Ok(IamJson::Policy(doc)) => {
            let subject = input
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            report.findings.extend(analyze(&doc, &subject));
        }
        Ok(IamJson::AuthorizationDetails(details)) => {
            report
                .findings
                .extend(analyze_authorization_details(&details).0);
        }
        Ok(IamJson::NotIam) => {
            if input.explicit {
                report.errors.push(crate::ScanError::new(
                    crate::Position::new(&input.name, 1, 1),
                    "not an IAM policy document or authorization details file (no `Statement`, `PolicyDocument` or `UserDetailList`/`RoleDetailList`)",
                ));
            }
        }
        Err(errors) => report.errors.extend(errors),
    }
}
