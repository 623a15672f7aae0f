//! Snapshot tests of what the template checks report, fixture by fixture: every finding and
//! error with its position, code, severity, resource, message and remediation. A change in
//! wording or position shows up here as a diff to review (`cargo insta review`).

use std::path::Path;

use vigil_scan::{scan_template_paths, Report};

fn render(r: &Report) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates");
    let rel = |file: &str| {
        Path::new(file)
            .strip_prefix(&root)
            .map_or(file.to_string(), |p| p.display().to_string())
    };
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&format!(
            "{}:{}:{} {} {} [{}] {}\n    category: {:?}\n    fix: {}\n",
            rel(&f.position.file),
            f.position.line,
            f.position.column,
            f.severity,
            f.code,
            f.resource,
            f.message
                .replace(root.display().to_string().as_str(), "<fixtures>"),
            f.category,
            f.remediation
        ));
    }
    for e in &r.errors {
        out.push_str(&format!(
            "error {}:{}:{} {}\n",
            rel(&e.position.file),
            e.position.line,
            e.position.column,
            e.message
        ));
    }
    out
}

fn snapshot(rel: &str) -> String {
    render(&scan_template_paths(&[Path::new(env!(
        "CARGO_MANIFEST_DIR"
    ))
    .join("tests/fixtures/templates")
    .join(rel)]))
}

#[test]
fn snapshot_sam() {
    insta::assert_snapshot!("sam", snapshot("sam"));
}

#[test]
fn snapshot_cloudformation() {
    insta::assert_snapshot!("cloudformation", snapshot("cfn"));
}

#[test]
fn snapshot_terraform() {
    insta::assert_snapshot!("terraform", snapshot("terraform"));
}

#[test]
fn snapshot_terraform_plan() {
    insta::assert_snapshot!("terraform_plan", snapshot("plan"));
}

#[test]
fn snapshot_malformed() {
    insta::assert_snapshot!("malformed", snapshot("malformed"));
}

#[test]
fn snapshot_json_report() {
    // The JSON shape a renderer receives, for one small template (paths made relative).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates");
    let mut r = scan_template_paths(&[root.join("sam/image.yaml")]);
    for f in &mut r.findings {
        f.position.file = "sam/image.yaml".into();
    }
    insta::assert_json_snapshot!("json_report", r);
}
