//! Labelled tests of every template check: each fixture says in comments what it holds, and
//! each test asserts both the findings that must be there and those that must not.

use std::path::{Path, PathBuf};

use vigil_scan::{
    scan_template_files, scan_template_paths, scan_template_source, Origin, Report, Severity,
};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/templates")
        .join(rel)
}

fn scan(rel: &str) -> Report {
    scan_template_paths(&[fixture(rel)])
}

/// (code, resource, line) of every finding.
fn found(r: &Report) -> Vec<(String, String, usize)> {
    r.findings
        .iter()
        .map(|f| (f.code.clone(), f.resource.clone(), f.position.line))
        .collect()
}

fn has(r: &Report, code: &str, resource: &str) -> bool {
    r.findings
        .iter()
        .any(|f| f.code == code && f.resource == resource)
}

fn codes_for(r: &Report, resource: &str) -> Vec<String> {
    r.findings
        .iter()
        .filter(|f| f.resource == resource)
        .map(|f| f.code.clone())
        .collect()
}

// ---- sensor ---------------------------------------------------------------------------

#[test]
fn sensor_through_globals_and_parameter_default_is_accepted() {
    let r = scan("sam/sensor-ok.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        r.findings.is_empty(),
        "expected no findings, got {:?}",
        found(&r)
    );
}

#[test]
fn sensor_missing_reports_each_way_of_missing_it() {
    let r = scan("sam/sensor-missing.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(codes_for(&r, "BareFunction"), ["sensor-missing"]);
    assert_eq!(
        codes_for(&r, "NoWrapperFunction"),
        ["sensor-wrapper-missing"]
    );
    assert_eq!(
        codes_for(&r, "OtherWrapperFunction"),
        ["sensor-wrapper-missing"]
    );
    assert_eq!(codes_for(&r, "NoLayerFunction"), ["sensor-layer-missing"]);
    // A parameter without default whose name says vigil counts as the layer.
    assert!(codes_for(&r, "ProtectedFunction").is_empty());
    let bare = r
        .findings
        .iter()
        .find(|f| f.resource == "BareFunction")
        .expect("bare");
    assert_eq!(
        (bare.position.line, bare.position.column),
        (11, 3),
        "points at the logical id"
    );
    assert_eq!(bare.category, vigil_scan::Category::SensorMissing);
    let other = r
        .findings
        .iter()
        .find(|f| f.resource == "OtherWrapperFunction")
        .expect("other");
    assert_eq!(other.position.line, 39, "points at the wrong wrapper");
    assert!(other.message.contains("/opt/otel-handler"));
    let no_layer = r
        .findings
        .iter()
        .find(|f| f.resource == "NoLayerFunction")
        .expect("no layer");
    assert_eq!(
        no_layer.severity,
        Severity::High,
        "a wrapper without its layer breaks the function"
    );
    // Each way of missing it gets its own fix.
    assert!(
        no_layer.remediation.contains("Attach the Vigil layer"),
        "{}",
        no_layer.remediation
    );
    assert!(
        other.remediation.starts_with("Set AWS_LAMBDA_EXEC_WRAPPER"),
        "{}",
        other.remediation
    );
}

#[test]
fn a_wrapper_path_that_leaves_opt_vigil_is_not_the_sensor() {
    let r = scan("sensor/escaping-wrapper.yaml");
    assert_eq!(
        codes_for(&r, "EscapingFunction")
            .iter()
            .filter(|c| c.starts_with("sensor"))
            .collect::<Vec<_>>(),
        ["sensor-wrapper-missing"],
        "{:?}",
        found(&r)
    );
}

#[test]
fn container_images_get_image_advice_not_layer_advice() {
    let r = scan("sam/image.yaml");
    assert_eq!(codes_for(&r, "ImageFunction"), ["sensor-missing-image"]);
    let f = r
        .findings
        .iter()
        .find(|f| f.resource == "ImageFunction")
        .expect("image");
    assert!(f.remediation.contains("COPY --from"), "{}", f.remediation);
    assert!(
        !f.remediation.contains("Layers"),
        "images cannot use layers: {}",
        f.remediation
    );
    assert!(codes_for(&r, "BakedImageFunction").is_empty());
}

#[test]
fn conditions_decided_by_defaults_are_followed_and_undecided_ones_are_reported_per_branch() {
    let r = scan("cfn/conditions.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // Stage defaults to dev: IsProd is false, so no layer.
    let staged: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.resource == "StageGated" && f.code == "sensor-missing")
        .collect();
    assert_eq!(staged.len(), 1);
    assert!(
        !staged[0].message.contains("when condition"),
        "decided, not assumed: {}",
        staged[0].message
    );
    // FindInMap through the default stage gives python3.9.
    assert!(has(&r, "lambda-runtime-deprecated", "StageGated"));
    // EnableSensor has no default: missing only when SensorOn is false.
    let gated: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.resource == "ParamGated")
        .collect();
    assert_eq!(gated.len(), 1, "{:?}", found(&r));
    assert!(
        gated[0]
            .message
            .contains("when condition `SensorOn` is false"),
        "{}",
        gated[0].message
    );
    // Not created with the default stage.
    assert!(codes_for(&r, "ProdOnly").is_empty());
}

#[test]
fn json_templates_resolve_join_and_point_at_json_positions() {
    let r = scan("cfn/template.json");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        codes_for(&r, "JsonFunction"),
        ["sensor-wrapper-missing", "lambda-runtime-deprecated"]
    );
    let rt = r
        .findings
        .iter()
        .find(|f| f.code == "lambda-runtime-deprecated")
        .expect("runtime");
    assert_eq!((rt.position.line, rt.position.column), (7, 20));
}

#[test]
fn terraform_sensor_through_variables_locals_layer_resources_and_the_lambda_module() {
    let r = scan("terraform/sensor-ok");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.findings.is_empty(), "{:?}", found(&r));
    let r = scan("terraform/module");
    let protected = codes_for(&r, "aws_lambda_function.protected");
    assert!(
        !protected.iter().any(|c| c.starts_with("sensor")),
        "{:?}",
        found(&r)
    );
    assert!(has(&r, "sensor-missing", "aws_lambda_function.unprotected"));
    assert!(has(&r, "sensor-missing-image", "aws_lambda_function.image"));
}

// ---- roles, linked to functions -----------------------------------------------------

#[test]
fn sam_inline_statements_are_analyzed_on_the_implicit_role_and_reported_on_the_function() {
    let r = scan("sam/policies.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // On the statement (where to fix it) ...
    let on_role = r
        .findings
        .iter()
        .find(|f| {
            f.code == "iam-attach-role-policy" && f.resource.starts_with("EscalatingFunctionRole")
        })
        .expect("role finding");
    assert_eq!(
        (on_role.position.line, on_role.position.column),
        (27, 19),
        "the action entry"
    );
    assert_eq!(on_role.category, vigil_scan::Category::PrivilegeEscalation);
    // ... and on the function (who has it), at its `Policies`.
    let on_fn = r
        .findings
        .iter()
        .find(|f| f.code == "iam-attach-role-policy" && f.resource == "EscalatingFunction")
        .expect("function finding");
    assert_eq!(on_fn.position.line, 23);
    assert!(
        on_fn
            .message
            .contains("through its role EscalatingFunctionRole"),
        "{}",
        on_fn.message
    );
    // The basic execution role SAM adds is known and harmless.
    assert!(codes_for(&r, "QuietFunction").is_empty(), "{:?}", found(&r));
    assert!(
        codes_for(&r, "QuietFunctionRole").is_empty(),
        "{:?}",
        found(&r)
    );
}

#[test]
fn sam_policy_templates_and_managed_names_are_resolved_or_reported() {
    let r = scan("sam/policies.yaml");
    // S3CrudPolicy with BucketName '*' expands to object access on every bucket.
    let crud = r
        .findings
        .iter()
        .find(|f| f.resource.starts_with("AnyBucketFunctionRole") && f.code == "data-exfiltration")
        .expect("S3CrudPolicy statement analyzed");
    assert!(crud.message.contains("s3:GetObject"), "{}", crud.message);
    assert_eq!(crud.position.line, 45, "points at the template name");
    assert!(
        has(&r, "data-exfiltration", "AnyBucketFunction"),
        "and on the function"
    );
    let managed = r
        .findings
        .iter()
        .find(|f| f.code == "managed-policy-unresolved")
        .expect("managed");
    assert!(managed
        .message
        .contains("arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"));
    assert_eq!(managed.severity, Severity::Info);
    assert!(has(&r, "sam-policy-template-unknown", "TemplatedFunction"));
    // The text of a SAM policy template is AWS's: no statement-level findings on it.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.resource.starts_with("StreamFunction")),
        "{:?}",
        found(&r)
    );
}

#[test]
fn embedded_aws_managed_policies_count_in_the_role_and_reach_the_function() {
    let r = scan("managed/managed-policies.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let admin = r
        .findings
        .iter()
        .find(|f| f.code == "admin-wildcard" && f.resource == "AdminFunction")
        .unwrap_or_else(|| panic!("{:?}", found(&r)));
    assert_eq!(admin.severity, Severity::Critical);
    assert_eq!(admin.position.line, 12, "the function's Policies line");
    assert!(
        has(&r, "admin-wildcard", "AdminFunctionRole Statement[0]"),
        "{:?}",
        found(&r)
    );
    // IAMFullAccess by ARN: iam:* on * is escalation, on the function too.
    assert!(
        has(&r, "iam-create-policy-version", "IamFunction"),
        "{:?}",
        found(&r)
    );
    // Names with a path resolve to the right ARN and are known: what they grant (network
    // interfaces for the VPC) is low, and nothing is unresolved.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.resource.starts_with("BasicFunction")
                && f.code != "sensor-missing"
                && f.severity > Severity::Low),
        "{:?}",
        found(&r)
    );
    // A managed policy that is not embedded is still named.
    let unresolved: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "managed-policy-unresolved")
        .collect();
    assert_eq!(unresolved.len(), 1, "{:?}", found(&r));
    assert!(unresolved[0].message.contains("AmazonPollyReadOnlyAccess"));
}

#[test]
fn cloudformation_roles_combine_inline_and_attached_policies() {
    let r = scan("cfn/roles.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    // PassRole (from AWS::IAM::Policy) + CreateFunction: one escalation path, on the function too.
    assert!(r
        .findings
        .iter()
        .any(|f| f.code == "lambda-passrole-escalation" && f.resource.starts_with("WorkerRole")));
    let f = r
        .findings
        .iter()
        .find(|f| f.code == "lambda-passrole-escalation" && f.resource == "Worker")
        .expect("on Worker");
    assert_eq!(f.position.line, 42, "the function's Role property");
    assert!(
        has(&r, "data-exfiltration", "Worker"),
        "GetSecretValue on * from the inline policy"
    );
}

#[test]
fn terraform_policy_documents_and_attachments_reach_the_function() {
    let r = scan("terraform/roles");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let admin: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "admin-wildcard")
        .collect();
    assert_eq!(admin.len(), 2, "{:?}", found(&r));
    assert_eq!(
        admin[0].position.line, 19,
        "the actions line of the policy document"
    );
    assert_eq!(admin[0].severity, Severity::Critical);
    assert_eq!(admin[1].resource, "aws_lambda_function.worker");
    assert!(
        !r.findings
            .iter()
            .any(|f| f.code == "managed-policy-unresolved"),
        "basic execution role is known"
    );
}

#[test]
fn terraform_managed_policy_arns_of_module_policies_reach_the_function() {
    let r = scan("managed/terraform");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        has(
            &r,
            "iam-attach-role-policy",
            "aws_iam_role.app aws_iam_policy.deploy Statement[0]"
        ),
        "{:?}",
        found(&r)
    );
    assert!(
        has(&r, "iam-attach-role-policy", "aws_lambda_function.app"),
        "{:?}",
        found(&r)
    );
    let unresolved: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "managed-policy-unresolved")
        .collect();
    assert_eq!(unresolved.len(), 1, "{:?}", found(&r));
    assert!(unresolved[0].message.contains("AmazonPollyReadOnlyAccess"));
    // AmazonS3FullAccess through `data "aws_iam_policy"`: s3:* on * reaches the function.
    assert!(
        r.findings.iter().any(|f| f.code == "data-exfiltration"
            && f.resource == "aws_lambda_function.app"
            && f.message.contains("s3:GetObject")),
        "{:?}",
        found(&r)
    );
}

#[test]
fn policies_no_role_takes_are_still_checked() {
    let r = scan("standalone/template.yaml");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        has(&r, "iam-create-policy-version", "DeployPolicy Statement[0]"),
        "{:?}",
        found(&r)
    );
    assert!(
        has(&r, "admin-wildcard", "OperatorPolicy Statement[0]"),
        "{:?}",
        found(&r)
    );
    // Written before the function whose implicit role it extends: it reaches the function.
    assert!(has(&r, "sts-assume-any-role", "Worker"), "{:?}", found(&r));
    assert!(
        !r.findings
            .iter()
            .any(|f| f.resource.starts_with("ReaderPolicy")),
        "{:?}",
        found(&r)
    );
    let r = scan("standalone/tf");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(
        has(&r, "admin-wildcard", "aws_iam_policy.admin Statement[0]"),
        "{:?}",
        found(&r)
    );
    assert!(
        has(
            &r,
            "iam-create-access-key",
            "aws_iam_user_policy.keys Statement[0]"
        ),
        "{:?}",
        found(&r)
    );
    assert!(
        has(
            &r,
            "ec2-passrole-run-instances",
            "aws_iam_role_policy.elsewhere Statement[0]"
        ),
        "{:?}",
        found(&r)
    );
    assert!(
        !r.findings
            .iter()
            .any(|f| f.resource.starts_with("aws_iam_policy.reader")),
        "{:?}",
        found(&r)
    );
}

// ---- Lambda configuration ------------------------------------------------------------

#[test]
fn plaintext_secrets_in_environment_are_found_and_pointers_to_secrets_are_not() {
    let r = scan("sam/lambda-checks.yaml");
    let secrets: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "lambda-env-plaintext-secret")
        .map(|f| (f.resource.as_str(), f.position.line))
        .collect();
    assert_eq!(
        secrets,
        [("LeakyFunction", 30), ("LeakyFunction", 31)],
        "DB_PASSWORD by name, UPSTREAM by value"
    );
    let refs: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.code == "lambda-env-secret-reference")
        .map(|f| f.position.line)
        .collect();
    assert_eq!(
        refs,
        [32, 33],
        "NoEcho parameter and {{{{resolve:secretsmanager}}}}"
    );
    assert!(!codes_for(&r, "TidyFunction")
        .iter()
        .any(|c| c.starts_with("lambda-env")));
    let tf = scan("terraform/module");
    assert!(has(
        &tf,
        "lambda-env-plaintext-secret",
        "aws_lambda_function.unprotected"
    ));
    assert!(
        has(
            &tf,
            "lambda-env-secret-reference",
            "aws_lambda_function.unprotected"
        ),
        "sensitive variable"
    );
    assert_eq!(
        tf.findings
            .iter()
            .filter(|f| f.code.starts_with("lambda-env"))
            .count(),
        2,
        "TABLE_NAME is fine"
    );
}

#[test]
fn function_urls_without_auth_are_found() {
    let sam = scan("sam/lambda-checks.yaml");
    assert!(has(&sam, "lambda-url-public", "LeakyFunction"));
    assert!(!has(&sam, "lambda-url-public", "TidyFunction"));
    let cfn = scan("cfn/permissions.yaml");
    assert!(has(&cfn, "lambda-url-public", "PublicUrl"));
    assert!(!has(&cfn, "lambda-url-public", "PrivateUrl"));
    let tf = scan("terraform/module");
    assert!(has(
        &tf,
        "lambda-url-public",
        "aws_lambda_function_url.public"
    ));
    assert!(!has(
        &tf,
        "lambda-url-public",
        "aws_lambda_function_url.private"
    ));
}

#[test]
fn public_and_unscoped_invoke_permissions_are_found() {
    let cfn = scan("cfn/permissions.yaml");
    assert!(has(&cfn, "lambda-permission-public", "AnyoneMayInvoke"));
    assert!(
        codes_for(&cfn, "OrgMayInvoke").is_empty(),
        "PrincipalOrgID narrows it"
    );
    assert!(has(
        &cfn,
        "lambda-permission-no-source",
        "S3MayInvokeFromAnyAccount"
    ));
    assert!(codes_for(&cfn, "S3MayInvokeFromOurBucket").is_empty());
    let tf = scan("terraform/module");
    assert!(has(
        &tf,
        "lambda-permission-public",
        "aws_lambda_permission.anyone"
    ));
    assert!(has(
        &tf,
        "lambda-permission-no-source",
        "aws_lambda_permission.sns_any_topic"
    ));
    assert!(codes_for(&tf, "aws_lambda_permission.sns_our_topic").is_empty());
}

#[test]
fn deprecated_runtimes_are_found_and_current_ones_are_not() {
    let r = scan("sam/lambda-checks.yaml");
    assert!(has(&r, "lambda-runtime-deprecated", "LeakyFunction"));
    assert!(!has(&r, "lambda-runtime-deprecated", "TidyFunction"));
    let tf = scan("terraform/module");
    let f = tf
        .findings
        .iter()
        .find(|f| f.code == "lambda-runtime-deprecated")
        .expect("variable default nodejs18.x");
    assert!(f.message.contains("nodejs18.x"));
    assert_eq!(f.resource, "aws_lambda_function.unprotected");
}

#[test]
fn terraform_plan_json_is_read() {
    let r = scan("plan/plan.json");
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let codes: Vec<_> = r
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.resource.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("sensor-missing", "aws_lambda_function.planned"),
            ("lambda-runtime-deprecated", "aws_lambda_function.planned"),
            ("lambda-env-plaintext-secret", "aws_lambda_function.planned"),
            ("lambda-permission-public", "aws_lambda_permission.public"),
        ]
    );
}

// ---- malformed input -----------------------------------------------------------------

fn only_error(r: &Report) -> (usize, usize, String) {
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let e = &r.errors[0];
    (e.position.line, e.position.column, e.message.clone())
}

#[test]
fn bad_yaml_is_an_error_with_its_position() {
    let r = scan("malformed/bad-indent.yaml");
    let (line, column, message) = only_error(&r);
    assert_eq!((line, column), (7, 6));
    assert!(message.starts_with("invalid YAML"), "{message}");
    assert!(r.findings.is_empty());
    assert!(r.errors[0]
        .position
        .file
        .ends_with("malformed/bad-indent.yaml"));
}

#[test]
fn duplicate_keys_are_errors() {
    let (line, column, message) = only_error(&scan("malformed/duplicate-key.yaml"));
    assert_eq!((line, column), (6, 7));
    assert!(message.contains("duplicate key `Runtime`"), "{message}");
}

#[test]
fn bad_json_is_an_error_with_its_position() {
    let (line, column, message) = only_error(&scan("malformed/bad.json"));
    assert_eq!((line, column), (3, 43));
    assert!(message.starts_with("invalid JSON"), "{message}");
}

#[test]
fn valid_yaml_that_is_not_a_template_is_an_error_when_named_and_skipped_when_walked() {
    let named =
        scan_template_files(&[(fixture("malformed/not-a-template.yaml"), Origin::Explicit)]);
    let (line, _, message) = only_error(&named);
    assert_eq!(line, 2);
    assert!(
        message.contains("not a CloudFormation/SAM template"),
        "{message}"
    );
    let walked = scan_template_files(&[(fixture("malformed/not-a-template.yaml"), Origin::Walked)]);
    assert!(walked.errors.is_empty() && walked.findings.is_empty());
}

#[test]
fn bad_hcl_is_an_error_and_the_rest_of_the_module_is_still_scanned() {
    let r = scan("malformed/tf-bad");
    let (line, column, message) = only_error(&r);
    assert!(message.starts_with("invalid HCL"), "{message}");
    assert_eq!((line, column), (8, 3));
    assert!(r.errors[0].position.file.ends_with("main.tf"));
    assert!(has(&r, "sensor-missing", "aws_lambda_function.fine"));
    assert!(r
        .findings
        .iter()
        .all(|f| f.position.file.ends_with("ok.tf")));
}

#[test]
fn unresolvable_intrinsics_are_errors_at_their_position_and_the_template_is_still_scanned() {
    let r = scan("malformed/unresolvable.yaml");
    let errors: Vec<_> = r
        .errors
        .iter()
        .map(|e| (e.position.line, e.position.column))
        .collect();
    assert_eq!(
        errors,
        [(11, 11), (14, 19), (15, 17), (16, 19), (17, 19)],
        "{:?}",
        r.errors
    );
    assert!(r.errors[0].message.contains("`NoSuchParameter`"));
    assert!(r.errors[1].message.contains("`NoSuchBucket`"));
    assert!(r.errors[2].message.contains("`NoSuchCondition`"));
    assert!(r.errors[3].message.contains("Fn::Join"));
    assert!(r.errors[4].message.contains("`Missing`"));
    assert!(
        has(&r, "sensor-missing", "Fn"),
        "the function is still checked"
    );
}

#[test]
fn unreadable_and_unknown_files_are_errors_and_others_still_scanned() {
    let r = scan_template_paths(&[fixture("does-not-exist.yaml"), fixture("sam/image.yaml")]);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].message.starts_with("cannot read"),
        "{}",
        r.errors[0].message
    );
    assert!(has(&r, "sensor-missing-image", "ImageFunction"));
}

#[test]
fn a_byte_order_mark_is_skipped_in_json_and_terraform() {
    for dir in ["encoding/bom.json", "encoding/tf"] {
        let r = scan(dir);
        assert!(r.errors.is_empty(), "{dir}: {:?}", r.errors);
        assert!(
            r.findings
                .iter()
                .any(|f| f.code == "lambda-runtime-deprecated"),
            "{dir}: {:?}",
            found(&r)
        );
    }
}

#[test]
fn garbage_never_panics() {
    // Truncations of every fixture at many points, plus byte soup: always a report.
    let mut inputs: Vec<(String, String)> = Vec::new();
    for rel in [
        "sam/lambda-checks.yaml",
        "cfn/conditions.yaml",
        "cfn/template.json",
        "terraform/module/main.tf",
        "plan/plan.json",
    ] {
        let text = std::fs::read_to_string(fixture(rel)).expect("fixture");
        let name = rel.rsplit('/').next().unwrap_or(rel).to_string();
        for cut in (0..text.len()).step_by(7) {
            if text.is_char_boundary(cut) {
                inputs.push((name.clone(), text[..cut].to_string()));
            }
        }
    }
    for soup in [
        "{{{{",
        "[[[",
        "!Ref",
        "Resources: !Sub [",
        "Resources: {A: {Type: AWS::Lambda::Function, Properties: !If}}",
        "resource \"a\" {",
        "\u{0}\u{1}",
    ] {
        inputs.push(("soup.yaml".into(), soup.into()));
        inputs.push(("soup.tf".into(), soup.into()));
        inputs.push(("soup.json".into(), soup.into()));
    }
    for (name, text) in inputs {
        let _ = scan_template_source(&name, &text);
    }
}

#[test]
fn findings_are_sorted_and_carry_every_field() {
    let r = scan_template_paths(&[fixture("sam"), fixture("cfn"), fixture("terraform")]);
    let keys: Vec<_> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.position.file.clone(),
                f.position.line,
                f.position.column,
                f.code.clone(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for f in &r.findings {
        assert!(
            !f.resource.is_empty() && !f.message.is_empty() && !f.remediation.is_empty(),
            "{f:?}"
        );
        assert!(f.position.line >= 1 && f.position.column >= 1, "{f:?}");
        assert!(
            f.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{}",
            f.code
        );
    }
}
