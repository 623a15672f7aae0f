//! The IAM checks. Statement checks look at one statement as written; effective checks look at
//! what a subject (a file, a role, a function) can do once every statement of every document
//! is taken together, `Deny` included.

use std::collections::BTreeMap;

use crate::actions::{AccessLevels, ActionId, Expansion};
use crate::finding::{Category, Finding, Position, Severity};

use super::catalog::{catalog, EscalationPath, Sensitive};
use super::effective::{Effective, Grant, Scope, Stmt};
use super::glob;

/// How many action names a message lists before "and N more".
const LIST: usize = 8;

fn finding(
    code: &str,
    category: Category,
    severity: Severity,
    position: Position,
    resource: String,
    message: String,
    remediation: &str,
) -> Finding {
    Finding {
        code: code.to_string(),
        category,
        severity,
        position,
        resource,
        message,
        remediation: remediation.to_string(),
    }
}

fn resource(subject: &str, s: &Stmt<'_>) -> String {
    if subject.is_empty() {
        s.label.clone()
    } else {
        format!("{subject} {}", s.label)
    }
}

fn list(names: &[String]) -> String {
    let mut out = names
        .iter()
        .take(LIST)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LIST {
        out.push_str(&format!(" and {} more", names.len() - LIST));
    }
    out
}

fn conditional_note(s: &Stmt<'_>) -> String {
    if s.st.is_conditional() {
        format!(
            " (only when its condition holds: {})",
            s.st.condition_keys().join(", ")
        )
    } else {
        String::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Statement checks
// ---------------------------------------------------------------------------------------------

/// Unknown services and actions, malformed action strings, resource mismatches, service and
/// resource wildcards: one statement at a time.
pub(crate) fn statement_checks(e: &Effective<'_>, subject: &str, out: &mut Vec<Finding>) {
    for s in &e.stmts {
        unknown_actions(e, s, subject, out);
        resource_mismatch(e, s, subject, out);
        if !s.deny {
            service_wildcards(e, s, subject, out);
            resource_wildcard(e, s, subject, out);
        }
    }
}

fn unknown_actions(e: &Effective<'_>, s: &Stmt<'_>, subject: &str, out: &mut Vec<Finding>) {
    let not = !s.st.not_action.is_empty();
    let patterns = if not { &s.st.not_action } else { &s.st.action };
    let element = if not { "NotAction" } else { "Action" };
    // What a typo costs depends on where it is: in an Allow it grants nothing (low), in a Deny
    // it protects nothing (medium), in an Allow's NotAction it grants what was meant to be
    // excluded (high).
    let (severity, consequence) = match (s.deny, not) {
        (false, false) => (Severity::Low, "so the statement does not grant it"),
        (true, false) => (Severity::Medium, "so this Deny does not protect it"),
        (false, true) => (
            Severity::High,
            "so this Allow with NotAction still grants what was meant to be excluded",
        ),
        (true, true) => (
            Severity::Low,
            "so this Deny with NotAction denies it anyway",
        ),
    };
    for (p, x) in patterns.iter().zip(&s.expansions) {
        let text = p.value.trim();
        let (code, what) = match x {
            Expansion::Actions(_) => continue,
            Expansion::Malformed => (
                "invalid-action",
                format!("`{text}` in {element} is not of the form `service:action`"),
            ),
            Expansion::UnknownService(prefix) => (
                "unknown-service",
                format!(
                    "`{text}` in {element}: the service prefix `{prefix}` is not in the AWS Service Authorization Reference (a typo, or a retired service)"
                ),
            ),
            Expansion::NoMatch => {
                let (prefix, name) = text.split_once(':').unwrap_or((text, ""));
                let hint = if name.contains(['*', '?']) {
                    String::new()
                } else {
                    e.db.suggest(prefix, name)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default()
                };
                (
                    "unknown-action",
                    format!("`{text}` in {element} matches no action of `{prefix}`{hint}"),
                )
            }
        };
        out.push(finding(
            code,
            Category::UnknownAction,
            severity,
            p.position.clone(),
            resource(subject, s),
            format!("{what}, {consequence}"),
            "Correct the action name (see the AWS Service Authorization Reference) or remove it.",
        ));
    }
}

fn resource_mismatch(e: &Effective<'_>, s: &Stmt<'_>, subject: &str, out: &mut Vec<Finding>) {
    if s.st.action.is_empty() || s.all_resources() {
        return;
    }
    for r in &s.resources {
        let t = r.text.as_str();
        if !(t.starts_with("arn:")
            || t.starts_with("${")
            || t.bytes().all(|c| c == b'*' || c == b'?'))
        {
            out.push(finding(
                "invalid-resource",
                Category::ResourceMismatch,
                Severity::Medium,
                r.position.clone(),
                resource(subject, s),
                format!("`{t}` is neither `*` nor an ARN (arn:partition:service:region:account:resource)"),
                "Write the resource as a full ARN.",
            ));
        }
    }
    let mut lines = Vec::new();
    let mut used = vec![false; s.resources.len()];
    for (p, x) in s.st.action.iter().zip(&s.expansions) {
        let Expansion::Actions(ids) = x else { continue };
        let mut fits = false;
        for &id in ids {
            for (ri, r) in s.resources.iter().enumerate() {
                if e.applies(r, id) {
                    fits = true;
                    used[ri] = true;
                }
            }
        }
        if !fits {
            let example = ids[0];
            let expected: Vec<String> =
                e.db.resource_types(example)
                    .map(|(t, _)| t.arn.clone())
                    .collect();
            let expected = if expected.is_empty() {
                "it supports only \"Resource\": \"*\"".to_string()
            } else {
                format!("it acts on {}", expected.join(" or "))
            };
            lines.push((
                p.position.clone(),
                format!(
                    "`{}` fits none of the listed resources: {expected}",
                    p.value.trim()
                ),
            ));
        }
    }
    let any_action = s
        .expansions
        .iter()
        .any(|x| matches!(x, Expansion::Actions(_)));
    for (ri, r) in s.resources.iter().enumerate() {
        if any_action && !used[ri] && r.text.starts_with("arn:") {
            lines.push((
                r.position.clone(),
                format!("resource `{}` fits none of the statement's actions", r.text),
            ));
        }
    }
    let (severity, consequence) = if s.deny {
        (
            Severity::Medium,
            "this Deny does not protect what it seems to",
        )
    } else {
        (
            Severity::Low,
            "the statement does not grant what it seems to",
        )
    };
    for (position, line) in lines {
        out.push(finding(
            "resource-mismatch",
            Category::ResourceMismatch,
            severity,
            position,
            resource(subject, s),
            format!("{line}; {consequence}"),
            "Use the ARN format of the resource type the action acts on (e.g. `arn:aws:s3:::bucket/*` for object actions), or move the action to a statement with matching resources.",
        ));
    }
}

fn service_wildcards(e: &Effective<'_>, s: &Stmt<'_>, subject: &str, out: &mut Vec<Finding>) {
    for (p, x) in s.st.action.iter().zip(&s.expansions) {
        let text = p.value.trim();
        let Some((prefix, "*")) = text.split_once(':') else {
            continue;
        };
        let Expansion::Actions(ids) = x else { continue };
        let writes = ids
            .iter()
            .filter(|&&id| {
                e.db.action(id)
                    .access
                    .has(AccessLevels::WRITE | AccessLevels::PERMISSIONS)
            })
            .count();
        let scope = ids
            .iter()
            .map(|&id| e.scope(s, id))
            .max()
            .unwrap_or(Scope::None);
        let (base, what) = if writes > 0 {
            (
                Severity::Medium,
                format!(
                    "{} actions, {writes} of them Write or Permissions management",
                    ids.len()
                ),
            )
        } else {
            (
                Severity::Low,
                format!("{} read and list actions", ids.len()),
            )
        };
        let severity = base.lowered(scope.lowering(), Severity::Info);
        out.push(finding(
            "service-wildcard",
            Category::ServiceWildcard,
            severity,
            p.position.clone(),
            resource(subject, s),
            format!("`{text}` grants every action of `{prefix}` ({what}) {}, including any AWS adds later{}", scope.describe(), conditional_note(s)),
            "List the actions the workload calls instead of `service:*`.",
        ));
    }
}

fn resource_wildcard(e: &Effective<'_>, s: &Stmt<'_>, subject: &str, out: &mut Vec<Finding>) {
    if !s.resource_star || s.st.action.is_empty() || s.star_action() {
        return;
    }
    let mut write = Vec::new();
    let mut read = Vec::new();
    for id in s.actions.iter() {
        let a = e.db.action(id);
        if a.resource_types.is_empty() {
            continue;
        }
        if a.access
            .has(AccessLevels::WRITE | AccessLevels::PERMISSIONS)
        {
            write.push(e.db.full_name(id));
        } else if a.access.has(AccessLevels::READ) {
            read.push(e.db.full_name(id));
        }
    }
    if write.is_empty() && read.is_empty() {
        return;
    }
    let (severity, names, what) = if write.is_empty() {
        (Severity::Low, read, "read")
    } else {
        (Severity::Medium, write, "write")
    };
    let position = s
        .resources
        .iter()
        .find(|r| r.text == "*")
        .map_or_else(|| s.st.position.clone(), |r| r.position.clone());
    out.push(finding(
        "resource-wildcard",
        Category::ResourceWildcard,
        severity,
        position,
        resource(subject, s),
        format!("\"Resource\": \"*\" for {} {what} action(s) that can be limited to named resources: {}", names.len(), list(&names)),
        "Name the resources (ARNs) these actions need instead of `*`.",
    ));
}

// ---------------------------------------------------------------------------------------------
// Effective checks
// ---------------------------------------------------------------------------------------------

/// Admin access, privilege escalation, exfiltration, credentials, resource exposure and
/// infrastructure modification, over all statements of the subject together.
pub(crate) fn effective_checks(e: &Effective<'_>, subject: &str, out: &mut Vec<Finding>) {
    let full_admin = admin(e, subject, out);
    if full_admin {
        // Everything below follows from full admin access; listing it would bury the finding.
        return;
    }
    escalation(e, subject, out);
    let c = catalog();
    sensitive(
        e,
        subject,
        &c.exfiltration,
        Category::DataExfiltration,
        "data-exfiltration",
        "can read data out of the account",
        "Name the buckets, secrets, parameters and keys the workload reads instead of `*`.",
        out,
    );
    sensitive(
        e,
        subject,
        &c.credentials,
        Category::CredentialsExposure,
        "credentials-exposure",
        "can hand out credentials, tokens or passwords",
        "Remove these actions or limit them to named resources.",
        out,
    );
    by_access(e, subject, out);
}

const ESCALATING_IAM: [&str; 6] = [
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:PutUserPolicy",
    "iam:AttachUserPolicy",
    "iam:CreatePolicyVersion",
    "iam:PassRole",
];

/// Returns whether the subject has unconditional, unrestricted full admin access.
fn admin(e: &Effective<'_>, subject: &str, out: &mut Vec<Finding>) -> bool {
    let mut full = false;
    let total = e.db.len();
    for s in e.stmts.iter().filter(|s| !s.deny && s.all_resources()) {
        let star = s.star_action();
        let not = !s.st.not_action.is_empty();
        if !star && !not {
            continue;
        }
        let allowed: Vec<ActionId> = s.actions.iter().filter(|&id| !e.denied(s, id)).collect();
        if not && allowed.len() * 2 < total {
            continue;
        }
        let excluded = total - allowed.len();
        let escalates = ESCALATING_IAM.iter().any(|a| {
            e.db.lookup(a)
                .is_some_and(|id| allowed.binary_search(&id).is_ok())
        });
        let severity = if escalates {
            Severity::Critical
        } else {
            Severity::High
        };
        let (code, position, mut message) = if star {
            let p =
                s.st.action
                    .iter()
                    .find(|a| a.value.trim() == "*")
                    .map_or_else(|| s.st.position.clone(), |a| a.position.clone());
            (
                "admin-wildcard",
                p,
                "\"Action\": \"*\" on all resources grants full administrator access".to_string(),
            )
        } else {
            let p =
                s.st.not_action
                    .first()
                    .map_or_else(|| s.st.position.clone(), |a| a.position.clone());
            let names: Vec<String> = s.st.not_action.iter().map(|a| a.value.clone()).collect();
            ("admin-not-action", p, format!("Allow with NotAction on all resources grants every action except {} — {} of {total} actions, and any AWS adds later", list(&names), allowed.len()))
        };
        if excluded > 0 && star {
            message.push_str(&format!(
                ", less {excluded} action(s) taken away by Deny statements"
            ));
        }
        if !escalates {
            message.push_str("; no IAM action that grants more permissions is left, so it stops short of full admin");
        }
        message.push_str(&conditional_note(s));
        if star && excluded == 0 && !s.st.is_conditional() {
            full = true;
        }
        out.push(finding(code, Category::AdminAccess, severity, position, resource(subject, s), message,
            "Grant the actions the workload needs; keep administrator access for break-glass roles."));
    }
    full
}

/// The grant of a required action that the path can use (`iam:PassRole` must reach the
/// path's service).
fn usable<'e, 'a>(
    e: &'e Effective<'a>,
    action: &str,
    pass_to: Option<&str>,
) -> Option<Grant<'e, 'a>> {
    let id = e.db.lookup(action)?;
    let is_pass = action.eq_ignore_ascii_case("iam:PassRole");
    e.grants(id)
        .into_iter()
        .find(|g| !is_pass || pass_to.is_none_or(|svc| passes_to(g.stmt, svc)))
}

/// Whether an `iam:PassedToService` condition on the statement lets a role be passed to `svc`.
/// Other conditions do not make an escalation safe, so they are reported, not honoured.
fn passes_to(s: &Stmt<'_>, svc: &str) -> bool {
    for c in &s.st.condition {
        if !c.key.value.eq_ignore_ascii_case("iam:PassedToService") {
            continue;
        }
        let op = c.operator.value.to_ascii_lowercase();
        let op = op
            .rsplit(':')
            .next()
            .unwrap_or(&op)
            .trim_end_matches("ifexists")
            .to_string();
        let hit = c
            .values
            .iter()
            .any(|v| glob::matches(v.value.to_ascii_lowercase().as_bytes(), svc.as_bytes()));
        match op.as_str() {
            "stringequals" | "stringlike" | "stringequalsignorecase" if !hit => return false,
            "stringnotequals" | "stringnotlike" | "stringnotequalsignorecase" if hit => {
                return false
            }
            _ => {}
        }
    }
    true
}

fn escalation(e: &Effective<'_>, subject: &str, out: &mut Vec<Finding>) {
    struct Hit<'p> {
        path: &'p EscalationPath,
        finding: Finding,
    }
    let mut hits: Vec<Hit<'_>> = Vec::new();
    'paths: for path in &catalog().escalation {
        let pass = path.pass_to.as_deref();
        let mut evidence = Vec::new();
        let mut conditions: Vec<String> = Vec::new();
        let mut target = None;
        for action in &path.requires {
            let Some(g) = usable(e, action, pass) else {
                continue 'paths;
            };
            if action == &path.target {
                target = Some((action.as_str(), g));
            }
            evidence.push((action.as_str(), g));
        }
        if !path.any_of_required.is_empty() {
            let Some((a, g)) = path
                .any_of_required
                .iter()
                .find_map(|a| usable(e, a, pass).map(|g| (a.as_str(), g)))
            else {
                continue 'paths;
            };
            if a == path.target || target.is_none() {
                target = target.or(Some((a, g)));
            }
            evidence.push((a, g));
        }
        let trigger = path
            .any_of
            .iter()
            .find_map(|a| usable(e, a, pass).map(|g| (a.as_str(), g)));
        if let Some(t) = trigger {
            evidence.push(t);
        }
        let Some((target_action, tg)) = target.or_else(|| evidence.first().copied()) else {
            continue;
        };
        let mut severity = path.severity.lowered(tg.scope.lowering(), Severity::Low);
        let mut message = format!(
            "{} lets this principal {}; {target_action} is allowed {}",
            evidence
                .iter()
                .map(|(a, _)| *a)
                .collect::<Vec<_>>()
                .join(" + "),
            path.title,
            tg.scope.describe()
        );
        if !path.any_of.is_empty() && trigger.is_none() {
            severity = severity.lowered(1, Severity::Low);
            // What the missing action would have done: start the code, or assume the role.
            let purpose = if path
                .any_of
                .iter()
                .all(|a| a.eq_ignore_ascii_case("sts:AssumeRole"))
            {
                "to use the role it changes (unless that is its own role)"
            } else {
                "to start the code"
            };
            message.push_str(&format!(
                "; none of {} is allowed here, so it also needs something outside this policy {purpose}",
                list(&path.any_of)
            ));
        }
        if pass.is_some() {
            if let Some((_, pg)) = evidence
                .iter()
                .find(|(a, _)| a.eq_ignore_ascii_case("iam:PassRole"))
            {
                if pg
                    .stmt
                    .st
                    .condition
                    .iter()
                    .any(|c| c.key.value.eq_ignore_ascii_case("iam:PassedToService"))
                {
                    message.push_str(&format!(
                        "; the iam:PassedToService condition allows {}, which is exactly this path",
                        pass.unwrap_or_default()
                    ));
                }
            }
        }
        for (a, g) in &evidence {
            if g.stmt.st.is_conditional() {
                conditions.push(format!(
                    "{a} only when {}",
                    g.stmt.st.condition_keys().join(", ")
                ));
            }
        }
        conditions.dedup();
        if !conditions.is_empty() {
            message.push_str(&format!("; conditions: {}", conditions.join("; ")));
        }
        let where_: Vec<String> = evidence
            .iter()
            .map(|(a, g)| {
                format!(
                    "{a} in {} line {}",
                    g.stmt.label,
                    e.via(g.stmt, e.db.lookup(a).unwrap_or(0)).line
                )
            })
            .collect();
        message.push_str(&format!(" [{}]", where_.join(", ")));
        let position = e.via(tg.stmt, e.db.lookup(target_action).unwrap_or(0));
        hits.push(Hit {
            path,
            finding: finding(
                &path.code,
                Category::PrivilegeEscalation,
                severity,
                position,
                resource(subject, tg.stmt),
                message,
                &format!("{} (Published in: {}.)", path.fix, path.sources),
            ),
        });
    }
    // A path that needs everything a smaller reported path needs, and is no more severe, adds
    // nothing.
    let keep: Vec<bool> = hits
        .iter()
        .map(|x| {
            !hits.iter().any(|y| {
                !std::ptr::eq(x, y)
                    && y.path.requires.len() < x.path.requires.len()
                    && y.path.requires.iter().all(|a| x.path.requires.contains(a))
                    && y.finding.severity >= x.finding.severity
            })
        })
        .collect();
    out.extend(
        hits.into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(h, _)| h.finding),
    );
}

#[allow(clippy::too_many_arguments)]
fn sensitive(
    e: &Effective<'_>,
    subject: &str,
    actions: &[Sensitive],
    category: Category,
    code: &str,
    what: &str,
    fix: &str,
    out: &mut Vec<Finding>,
) {
    // Group by the statement that grants, so each finding points at one place.
    let mut groups: BTreeMap<(usize, usize), (Severity, Vec<String>, Position)> = BTreeMap::new();
    for a in actions {
        let Some(id) = e.db.lookup(&a.action) else {
            continue;
        };
        let Some(g) = e.best(id) else { continue };
        // Like Cloudsplaining, only unrestricted access counts: a wildcard within named
        // resources (`arn:aws:s3:::app-bucket/*`) is what least privilege looks like.
        if g.scope < Scope::All {
            continue;
        }
        let sev = a.severity.lowered(g.scope.lowering(), Severity::Info);
        let idx = e
            .stmts
            .iter()
            .position(|s| std::ptr::eq(s, g.stmt))
            .unwrap_or(0);
        let entry = groups.entry((g.stmt.doc, idx)).or_insert((
            Severity::Info,
            Vec::new(),
            e.via(g.stmt, id),
        ));
        entry.0 = entry.0.max(sev);
        entry.1.push(e.db.full_name(id));
    }
    for ((_, idx), (severity, names, position)) in groups {
        let s = &e.stmts[idx];
        out.push(finding(
            code,
            category,
            severity,
            position,
            resource(subject, s),
            format!(
                "{} {what}, on resources not named one by one: {}{}",
                plural(names.len(), "action"),
                list(&names),
                conditional_note(s)
            ),
            fix,
        ));
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Resource exposure (Permissions management) and infrastructure modification (Write) on all
/// resources.
fn by_access(e: &Effective<'_>, subject: &str, out: &mut Vec<Finding>) {
    for s in e.stmts.iter().filter(|s| !s.deny) {
        let mut perms = Vec::new();
        let mut writes = Vec::new();
        let mut first_perm = None;
        let mut first_write = None;
        for id in s.actions.iter() {
            let access = e.db.action(id).access;
            let is_perm = access.has(AccessLevels::PERMISSIONS);
            let is_write = access.has(AccessLevels::WRITE);
            if !is_perm && !is_write {
                continue;
            }
            if e.scope(s, id) < Scope::All || e.denied(s, id) {
                continue;
            }
            if is_perm {
                first_perm.get_or_insert(id);
                perms.push(e.db.full_name(id));
            } else {
                first_write.get_or_insert(id);
                writes.push(e.db.full_name(id));
            }
        }
        if let Some(id) = first_perm {
            out.push(finding("resource-exposure", Category::ResourceExposure, Severity::High, e.via(s, id), resource(subject, s),
                format!("{} of the Permissions management level on all resources can change who may access them (resource policies, grants, sharing): {}{}",
                    plural(perms.len(), "action"), list(&perms), conditional_note(s)),
                "Limit these actions to named resources, or remove them from workload roles.", ));
        }
        if let Some(id) = first_write {
            out.push(finding(
                "infrastructure-modification",
                Category::InfrastructureModification,
                Severity::Low,
                e.via(s, id),
                resource(subject, s),
                format!(
                    "{} of the Write level on all resources: {}{}",
                    plural(writes.len(), "action"),
                    list(&writes),
                    conditional_note(s)
                ),
                "Limit write actions to the resources the workload manages.",
            ));
        }
    }
}
