//! Roles and functions through the IAM analyzer: each role's documents become
//! [`PolicyDocument`]s (with the positions where the template wrote them), are checked one by
//! one and as one effective policy, and what the role allows is reported on every function
//! that runs with it.

use std::sync::OnceLock;

use super::checks::Sink;
use super::model::{Function, PolicyDoc, Role, RoleLink, Template};
use super::node::{Kind, Node, Pos};
use crate::iam::{
    self, Condition, Effect, Located, NamedDocument, PolicyDocument, Principal, Statement,
};
use crate::{Category, Finding, Position, Severity};

/// The policy SAM attaches to every role it creates; its content is known (CloudWatch Logs
/// only), so it is not reported as unresolved.
pub const SAM_BASIC_EXECUTION: &str =
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole";

/// The embedded AWS managed policy data (see `data/README.md`): `Paths` maps the names whose
/// ARN has a path (`service-role/…`) to their ARN, `Documents` holds the text of the policies
/// most often attached to Lambda execution roles, and of the broadest ones.
fn managed_data() -> Option<&'static serde_json::Value> {
    static DATA: OnceLock<Option<serde_json::Value>> = OnceLock::new();
    DATA.get_or_init(|| {
        serde_json::from_str::<serde_json::Value>(include_str!("data/aws_managed_policies.json"))
            .ok()
    })
    .as_ref()
}

/// The ARN of an AWS managed policy named the way SAM's `Policies:` accepts it
/// (`AWSLambdaBasicExecutionRole` is `arn:aws:iam::aws:policy/service-role/…`); an ARN stays
/// as it is.
pub fn managed_policy_arn(name: &str) -> String {
    if name.starts_with("arn:") {
        return name.to_string();
    }
    managed_data()
        .and_then(|d| d.get("Paths")?.get(name)?.as_str())
        .map_or_else(|| format!("arn:aws:iam::aws:policy/{name}"), str::to_string)
}

/// The embedded document of the AWS managed policy `arn`, if it is one of those embedded
/// (any partition; the path must be the policy's own).
fn managed_document(arn: &str) -> Option<(String, &'static serde_json::Value)> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let path_and_name = rest.strip_prefix("iam::aws:policy/")?;
    let name = path_and_name.rsplit('/').next()?;
    let entry = managed_data()?.get("Documents")?.get(name)?;
    let own = entry.get("Arn")?.as_str()?;
    (own.strip_prefix("arn:aws:iam::aws:policy/") == Some(path_and_name))
        .then_some(())
        .and(entry.get("Document"))
        .map(|d| (name.to_string(), d))
}

fn position(files: &[String], pos: Pos) -> Position {
    Position::new(
        files.get(pos.file as usize).cloned().unwrap_or_default(),
        pos.line,
        pos.column,
    )
}

/// A value as the analyzer wants it: literal text, or `${…}` for what is only known at
/// deploy time (`${MyBucket.Arn}`, `${var.bucket}`).
fn text(node: &Node) -> Option<String> {
    match &node.kind {
        Kind::Str(s) => Some(s.clone()),
        Kind::Bool(b) => Some(b.to_string()),
        Kind::Unknown(what) => {
            let what = what
                .strip_prefix("GetAtt ")
                .or_else(|| what.strip_prefix("Ref "))
                .unwrap_or(what);
            Some(format!("${{{what}}}"))
        }
        Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
    }
}

fn strings(files: &[String], node: Option<&Node>) -> Vec<Located<String>> {
    let Some(node) = node else { return Vec::new() };
    let items: Vec<&Node> = match &node.kind {
        Kind::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .filter_map(|n| text(n).map(|t| Located::new(t, position(files, n.pos))))
        .collect()
}

fn principals(files: &[String], node: Option<&Node>) -> Vec<Principal> {
    let Some(node) = node else { return Vec::new() };
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .flat_map(|(k, v)| {
                strings(files, Some(v)).into_iter().map(|value| Principal {
                    kind: k.name.clone(),
                    value,
                })
            })
            .collect(),
        _ => strings(files, Some(node))
            .into_iter()
            .map(|value| Principal {
                kind: "*".into(),
                value,
            })
            .collect(),
    }
}

fn conditions(files: &[String], node: Option<&Node>) -> Vec<Condition> {
    let mut out = Vec::new();
    for (op, keys) in node.and_then(Node::as_map).unwrap_or_default() {
        for (key, values) in keys.as_map().unwrap_or_default() {
            out.push(Condition {
                operator: Located::new(op.name.clone(), position(files, op.pos)),
                key: Located::new(key.name.clone(), position(files, key.pos)),
                values: strings(files, Some(values)),
            });
        }
    }
    out
}

/// Converts a resolved policy document; `None` when it has no statement we can read.
pub fn document(files: &[String], doc: &Node) -> Option<PolicyDocument> {
    let statements = doc.get("Statement")?;
    let items: Vec<&Node> = match &statements.kind {
        Kind::Seq(items) => items.iter().collect(),
        Kind::Map(_) => vec![statements],
        _ => return None,
    };
    let mut out = PolicyDocument {
        position: position(files, doc.pos),
        version: doc
            .get("Version")
            .and_then(|v| text(v).map(|t| Located::new(t, position(files, v.pos)))),
        statements: Vec::new(),
    };
    for s in items {
        if s.as_map().is_none() {
            continue;
        }
        let effect = match s.get("Effect") {
            Some(e) if e.as_str() == Some("Deny") => {
                Located::new(Effect::Deny, position(files, e.pos))
            }
            Some(e) => Located::new(Effect::Allow, position(files, e.pos)),
            None => Located::new(Effect::Allow, position(files, s.pos)),
        };
        let mut st = Statement::new(effect, position(files, s.pos));
        st.sid = s
            .get("Sid")
            .and_then(|v| text(v).map(|t| Located::new(t, position(files, v.pos))));
        st.action = strings(files, s.get("Action"));
        st.not_action = strings(files, s.get("NotAction"));
        st.resource = strings(files, s.get("Resource"));
        st.not_resource = strings(files, s.get("NotResource"));
        st.principal = principals(files, s.get("Principal"));
        st.not_principal = principals(files, s.get("NotPrincipal"));
        st.condition = conditions(files, s.get("Condition"));
        out.statements.push(st);
    }
    Some(out)
}

/// Runs the IAM analyzer on every role and reports what each role allows on the functions
/// that use it.
pub fn run(t: &Template, sink: &mut Sink<'_>) {
    for role in &t.roles {
        let convert = |docs: &'_ [PolicyDoc]| -> Vec<(String, PolicyDocument)> {
            docs.iter()
                .filter_map(|p| document(sink.files, &p.doc).map(|d| (p.name.clone(), d)))
                .collect()
        };
        let own = convert(&role.policies);
        let mut vendor = convert(&role.vendor_policies);
        // AWS managed policies whose text is embedded count like the SAM policy templates:
        // in the effective policy, at the line that attaches them.
        for m in &role.managed {
            if let Some((name, doc)) = managed_document(&m.arn) {
                if let Some(d) = document(sink.files, &Node::from_json_value(doc, m.pos)) {
                    vendor.push((name, d));
                }
            }
        }
        for (name, d) in &own {
            let subject = if *name == role.id {
                role.id.clone()
            } else {
                format!("{} {name}", role.id)
            };
            sink.findings.extend(iam::check_statements(d, &subject));
        }
        let named: Vec<NamedDocument<'_>> = own
            .iter()
            .chain(&vendor)
            .map(|(name, d)| NamedDocument {
                name: name.as_str(),
                document: d,
            })
            .collect();
        let effective = iam::analyze_effective(&named, &role.id);
        for f in t
            .functions
            .iter()
            .filter(|f| f.role == RoleLink::Defined(role.id.clone()))
        {
            for finding in &effective {
                sink.findings
                    .push(on_function(f, role, finding, sink.files));
            }
        }
        sink.findings.extend(effective);
        unresolved(role, sink);
    }
}

/// A role finding, restated on a function that runs with the role.
fn on_function(f: &Function, role: &Role, finding: &Finding, files: &[String]) -> Finding {
    Finding {
        code: finding.code.clone(),
        category: finding.category,
        severity: finding.severity,
        position: position(files, f.role_pos),
        resource: f.id.clone(),
        message: format!(
            "through its role {}: {} (granted at {})",
            role.id, finding.message, finding.position
        ),
        remediation: finding.remediation.clone(),
    }
}

fn unresolved(role: &Role, sink: &mut Sink<'_>) {
    for m in &role.managed {
        if m.arn == SAM_BASIC_EXECUTION || managed_document(&m.arn).is_some() {
            continue;
        }
        sink.push(
            "managed-policy-unresolved",
            Category::LambdaConfiguration,
            Severity::Info,
            m.pos,
            &role.id,
            format!("managed policy `{}` is not part of this scan: what it allows is not checked", m.arn),
            "Scan the policy itself (`vigil scan iam` on its JSON), or write what the function needs as an inline policy."
                .into(),
        );
    }
}
