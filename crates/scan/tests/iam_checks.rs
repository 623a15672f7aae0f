//! Labelled fixtures for every IAM check: each `positive` fixture must raise its finding, each
//! `negative` one must not. Fixtures live in `tests/fixtures/iam/<check>/`.

use std::path::PathBuf;

use vigil_scan::iam::{analyze, analyze_effective, parse_policy_json, NamedDocument};
use vigil_scan::{Finding, Report, Severity};

fn scan(fixture: &str) -> Report {
    vigil_scan::iam::scan_paths(&[PathBuf::from(format!("tests/fixtures/iam/{fixture}"))])
}

fn with_code<'r>(report: &'r Report, code: &str) -> Vec<&'r Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}

fn one<'r>(report: &'r Report, code: &str) -> &'r Finding {
    let found = with_code(report, code);
    assert_eq!(
        found.len(),
        1,
        "expected one `{code}`, got {:#?}",
        report.findings
    );
    found[0]
}

fn none(report: &Report, code: &str) {
    assert!(
        with_code(report, code).is_empty(),
        "unexpected `{code}`: {:#?}",
        report.findings
    );
}

#[test]
fn admin_wildcard_positive() {
    let r = scan("admin-wildcard/positive.json");
    let f = one(&r, "admin-wildcard");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(
        (f.position.line, f.position.column),
        (7, 17),
        "points at the \"*\""
    );
    assert_eq!(f.resource, "positive Statement[0] (Everything)");
    assert_eq!(
        r.findings.len(),
        1,
        "full admin is not buried under derived findings: {:#?}",
        r.findings
    );
}

#[test]
fn admin_wildcard_negative_star_on_one_bucket() {
    let r = scan("admin-wildcard/negative.json");
    none(&r, "admin-wildcard");
    assert!(
        r.findings.iter().all(|f| f.severity < Severity::High),
        "`*` limited to one bucket is no account-level risk: {:#?}",
        r.findings
    );
}

#[test]
fn admin_wildcard_with_deny_is_no_longer_critical() {
    let r = scan("admin-wildcard/denied.json");
    let f = one(&r, "admin-wildcard");
    assert_eq!(f.severity, Severity::High, "{}", f.message);
    assert!(f.message.contains("taken away by Deny"), "{}", f.message);
    none(&r, "iam-put-role-policy");
}

#[test]
fn admin_not_action_positive() {
    let r = scan("admin-not-action/positive.json");
    let f = one(&r, "admin-not-action");
    assert_eq!(
        f.severity,
        Severity::High,
        "iam:* is excluded, so not critical"
    );
    assert!(f.message.contains("iam:*"), "{}", f.message);
    let r = scan("admin-not-action/escalates.json");
    assert_eq!(one(&r, "admin-not-action").severity, Severity::Critical);
    assert!(
        !with_code(&r, "iam-put-role-policy").is_empty(),
        "NotAction grants IAM writes"
    );
}

#[test]
fn admin_not_action_negative_deny() {
    let r = scan("admin-not-action/negative.json");
    none(&r, "admin-not-action");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn lambda_passrole_escalation_positive() {
    let r = scan("lambda-passrole-escalation/positive.json");
    let f = one(&r, "lambda-passrole-escalation");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.position.line, 8, "points at iam:PassRole");
    assert!(f.message.contains("lambda:InvokeFunction"), "{}", f.message);
}

#[test]
fn lambda_passrole_escalation_survives_passed_to_service_lambda() {
    let r = scan("lambda-passrole-escalation/passed-to-lambda.json");
    let f = one(&r, "lambda-passrole-escalation");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.message.contains("iam:PassedToService"), "{}", f.message);
}

#[test]
fn lambda_passrole_escalation_negative_passed_to_other_service() {
    let r = scan("lambda-passrole-escalation/passed-to-ec2.json");
    none(&r, "lambda-passrole-escalation");
}

#[test]
fn lambda_passrole_escalation_graded_by_role_scope() {
    let r = scan("lambda-passrole-escalation/one-role.json");
    assert_eq!(
        one(&r, "lambda-passrole-escalation").severity,
        Severity::Medium
    );
}

#[test]
fn lambda_passrole_escalation_without_a_way_to_invoke_is_one_level_lower() {
    let r = scan("lambda-passrole-escalation/no-invoke.json");
    let f = one(&r, "lambda-passrole-escalation");
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.contains("outside this policy"), "{}", f.message);
}

#[test]
fn lambda_passrole_escalation_negative_deny_subtracts() {
    let r = scan("lambda-passrole-escalation/denied.json");
    none(&r, "lambda-passrole-escalation");
    none(&r, "lambda-passrole-update-config-escalation");
    one(&r, "lambda-update-code-escalation");
}

#[test]
fn lambda_passrole_escalation_negative_deny_on_every_role_subtracts_from_star() {
    // Allowed on "*", denied on every role ARN: nothing is left to pass.
    let r = scan("lambda-passrole-escalation/denied-on-every-role.json");
    none(&r, "lambda-passrole-escalation");
    // Denied on some roles, or on every role of one account only: the rest is still passable.
    let r = scan("lambda-passrole-escalation/denied-on-some-roles.json");
    assert_eq!(
        one(&r, "lambda-passrole-escalation").severity,
        Severity::Critical
    );
}

#[test]
fn an_arn_cut_short_by_a_star_covers_all_that_follows() {
    // AWS: a `*` that ends an ARN segment expands across colons, so `arn:aws:iam::*` is every
    // IAM resource, graded as `*` (it was graded as a partial wildcard).
    let r = scan("scope/arn-cut-short.json");
    assert_eq!(
        one(&r, "iam-create-policy-version").severity,
        Severity::Critical
    );
    one(&r, "resource-exposure");
}

#[test]
fn actions_match_case_insensitively() {
    let r = scan("lambda-passrole-escalation/mixed-case.json");
    assert_eq!(
        one(&r, "lambda-passrole-escalation").severity,
        Severity::Critical
    );
    none(&r, "unknown-action");
}

#[test]
fn lambda_update_code_escalation_positive_and_graded() {
    let r = scan("lambda-update-code-escalation/positive.json");
    assert_eq!(
        one(&r, "lambda-update-code-escalation").severity,
        Severity::High
    );
    let r = scan("lambda-update-code-escalation/negative.json");
    assert_eq!(
        one(&r, "lambda-update-code-escalation").severity,
        Severity::Low,
        "its own function only"
    );
}

#[test]
fn lambda_update_code_escalation_needs_no_invoke() {
    // Existing functions are started by their own triggers (API, queues, schedules): replacing
    // their code is enough, so the finding keeps its severity without lambda:InvokeFunction
    // and fails the default --fail-on high.
    let r = scan("lambda-update-code-escalation/no-invoke.json");
    let f = one(&r, "lambda-update-code-escalation");
    assert_eq!(f.severity, Severity::High);
    assert!(!f.message.contains("outside this policy"), "{}", f.message);
    assert_eq!(r.exit_code(Severity::High), 1);
}

#[test]
fn wildcards_expand_to_escalation_paths() {
    let r = scan("iam-put-role-policy/positive.json");
    assert_eq!(one(&r, "iam-put-user-policy").severity, Severity::Critical);
    // iam:PutRolePolicy needs sts:AssumeRole to use the role, which this policy lacks.
    let f = one(&r, "iam-put-role-policy");
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.message.contains("to use the role it changes"),
        "{}",
        f.message
    );
    assert!(!f.message.contains("start the code"), "{}", f.message);
    let r = scan("iam-put-role-policy/negative.json");
    assert!(r
        .findings
        .iter()
        .all(|f| f.category != vigil_scan::Category::PrivilegeEscalation));
}

#[test]
fn conditions_are_reported_not_dropped() {
    let r = scan("conditions/mfa.json");
    let f = one(&r, "iam-put-user-policy");
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.message.contains("aws:MultiFactorAuthPresent"),
        "{}",
        f.message
    );
}

#[test]
fn data_exfiltration() {
    let r = scan("data-exfiltration/positive.json");
    let f = one(&r, "data-exfiltration");
    assert_eq!(
        f.severity,
        Severity::High,
        "secretsmanager:GetSecretValue on *"
    );
    assert!(f.message.contains("s3:GetObject"));
    none(
        &scan("data-exfiltration/negative.json"),
        "data-exfiltration",
    );
}

#[test]
fn credentials_exposure() {
    let r = scan("credentials-exposure/positive.json");
    assert!(one(&r, "credentials-exposure")
        .message
        .contains("ec2:GetPasswordData"));
    none(
        &scan("credentials-exposure/negative.json"),
        "credentials-exposure",
    );
}

#[test]
fn resource_exposure() {
    let r = scan("resource-exposure/positive.json");
    let f = one(&r, "resource-exposure");
    assert!(f.message.contains("s3:PutBucketPolicy") && f.message.contains("kms:CreateGrant"));
    none(
        &scan("resource-exposure/negative.json"),
        "resource-exposure",
    );
}

#[test]
fn infrastructure_modification() {
    one(
        &scan("infrastructure-modification/positive.json"),
        "infrastructure-modification",
    );
    let r = scan("infrastructure-modification/negative.json");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn service_wildcard() {
    let r = scan("service-wildcard/positive.json");
    assert_eq!(one(&r, "service-wildcard").severity, Severity::Medium);
    let r = scan("service-wildcard/negative.json");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn resource_wildcard() {
    let r = scan("resource-wildcard/positive.json");
    let f = one(&r, "resource-wildcard");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.message.contains("dynamodb:PutItem"));
    // s3:ListAllMyBuckets supports only "*": no finding for it.
    let r = scan("resource-wildcard/negative.json");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn unknown_actions_services_and_malformed_names() {
    let r = scan("unknown-action/positive.json");
    assert!(one(&r, "unknown-action")
        .message
        .contains("did you mean `s3:GetObject`"));
    one(&r, "unknown-service");
    one(&r, "invalid-action");
    // The other checks still run on the same statement.
    none(&r, "resource-mismatch");
    let r = scan("unknown-action/negative.json");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn unknown_action_in_not_action_is_high() {
    let r = scan("unknown-action/not-action.json");
    let f = one(&r, "unknown-action");
    assert_eq!(f.severity, Severity::High);
    assert!(f.message.contains("iam:PassRole"), "{}", f.message);
    one(&r, "admin-not-action");
}

#[test]
fn resource_mismatch() {
    let r = scan("resource-mismatch/positive.json");
    let found = with_code(&r, "resource-mismatch");
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].message.contains("s3:GetObject"));
    let r = scan("resource-mismatch/deny.json");
    let found = with_code(&r, "resource-mismatch");
    assert!(
        !found.is_empty() && found.iter().all(|f| f.severity == Severity::Medium),
        "{found:#?}"
    );
    one(&scan("resource-mismatch/invalid.json"), "invalid-resource");
    let r = scan("resource-mismatch/negative.json");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn aws_cli_wrappers_are_read() {
    one(&scan("wrappers/get-role-policy.json"), "admin-wildcard");
    one(
        &scan("wrappers/get-policy-version.json"),
        "iam-create-policy-version",
    );
}

fn load(json: &str) -> vigil_scan::iam::PolicyDocument {
    parse_policy_json(json, "mem.json").unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn escalation_combines_documents_of_one_role() {
    let pass = load(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}}"#,
    );
    let create = load(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["lambda:CreateFunction","lambda:InvokeFunction"],"Resource":"*"}}"#,
    );
    assert!(analyze(&pass, "a")
        .iter()
        .all(|f| f.code != "lambda-passrole-escalation"));
    assert!(analyze(&create, "b")
        .iter()
        .all(|f| f.code != "lambda-passrole-escalation"));
    let docs = [
        NamedDocument {
            name: "PassRoles",
            document: &pass,
        },
        NamedDocument {
            name: "Deploy",
            document: &create,
        },
    ];
    let findings = analyze_effective(&docs, "role/app");
    let f = findings
        .iter()
        .find(|f| f.code == "lambda-passrole-escalation")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(f.resource, "role/app PassRoles Statement[0]");
    assert!(f.message.contains("Deploy Statement[0]"), "{}", f.message);
}

#[test]
fn deny_in_one_document_subtracts_from_another() {
    let allow = load(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:PassRole","lambda:*"],"Resource":"*"}}"#,
    );
    let deny = load(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:Pass*","Resource":"*"}}"#,
    );
    let docs = [
        NamedDocument {
            name: "Allow",
            document: &allow,
        },
        NamedDocument {
            name: "Guardrail",
            document: &deny,
        },
    ];
    let findings = analyze_effective(&docs, "role/app");
    assert!(
        findings
            .iter()
            .all(|f| f.code != "lambda-passrole-escalation"),
        "{findings:#?}"
    );
    // A Deny on a narrower resource does not take the broad grant away.
    let narrow = load(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:PassRole","Resource":"arn:aws:iam::123456789012:role/admin"}}"#,
    );
    let docs = [
        NamedDocument {
            name: "Allow",
            document: &allow,
        },
        NamedDocument {
            name: "Guardrail",
            document: &narrow,
        },
    ];
    let findings = analyze_effective(&docs, "role/app");
    assert!(
        findings
            .iter()
            .any(|f| f.code == "lambda-passrole-escalation"),
        "{findings:#?}"
    );
}

#[test]
fn authorization_details_are_analyzed_per_principal() {
    let r = scan("authz-details/example-authz-details.json");
    assert!(r.errors.is_empty(), "{:#?}", r.errors);
    // obama is attached to AdministratorAccess.
    assert!(
        r.findings
            .iter()
            .any(|f| f.code == "admin-wildcard" && f.resource.starts_with("user/obama")),
        "{:#?}",
        r.findings
            .iter()
            .map(|f| (&f.code, &f.resource))
            .collect::<Vec<_>>()
    );
    // Roles are analyzed too.
    assert!(r.findings.iter().any(|f| f.resource.starts_with("role/")));
}
