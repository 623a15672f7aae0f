//! The examples under `examples/` (SAM app, Terraform module and root) are what users copy:
//! they must scan clean of sensor findings with `vigil scan template`, be valid YAML/HCL, ship
//! a valid policy, and stay in step with what `vigil lambda template` prints.

mod template_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use template_support::{parse_yaml, scan_sensor_findings, sensor_findings, Yaml};
use vigil_lambda::template::{render, Format, Options};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn read(rel: &str) -> String {
    let p = examples().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if p.is_dir() && !name.starts_with('.') && name != "build" {
            files_under(&p, ext, out);
        } else if name.ends_with(ext) {
            out.push(p);
        }
    }
}

#[test]
fn the_examples_scan_clean_of_sensor_findings() {
    let report = vigil_scan::scan_template_paths(&[examples()]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(scan_sensor_findings(&examples()), Vec::<String>::new());
    // Nothing else worth a user's attention either (informational notes aside).
    let serious: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity.to_string() != "info")
        .map(|f| format!("{} {} {}", f.code, f.resource, f.message))
        .collect();
    assert_eq!(serious, Vec::<String>::new());
}

/// Not vacuous: the scanner does see the examples' functions, and without the Vigil lines
/// they are reported.
#[test]
fn without_the_vigil_lines_the_examples_are_reported() {
    let sam: String = read("sam/template.yaml")
        .lines()
        .filter(|l| !l.contains("VigilLayerArn") || l.trim_start().starts_with("VigilLayerArn:"))
        .filter(|l| !l.trim_start().starts_with("Layers:"))
        .filter(|l| !l.contains("AWS_LAMBDA_EXEC_WRAPPER"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        sensor_findings("sam-stripped", &[("template.yaml", &sam)]),
        ["sensor-missing (ReportFunction)"]
    );

    let module = "terraform/modules/vigil-function";
    let main: String = read(&format!("{module}/main.tf"))
        .lines()
        .filter(|l| !l.contains("layers = concat"))
        .filter(|l| !l.contains("AWS_LAMBDA_EXEC_WRAPPER"))
        .map(|l| format!("{l}\n"))
        .collect();
    let files = [
        ("main.tf", main),
        ("variables.tf", read(&format!("{module}/variables.tf"))),
        ("outputs.tf", read(&format!("{module}/outputs.tf"))),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    assert_eq!(
        sensor_findings("tf-stripped", &files),
        ["sensor-missing (aws_lambda_function.function)"]
    );
}

#[test]
fn terraform_files_are_valid_hcl() {
    let mut tf = Vec::new();
    files_under(&examples().join("terraform"), ".tf", &mut tf);
    files_under(&examples().join("terraform"), ".tfvars", &mut tf);
    assert!(tf.len() >= 9, "{tf:?}");
    for p in tf {
        let text = std::fs::read_to_string(&p).expect("read");
        if let Err(e) = hcl_edit::parser::parse_body(&text) {
            panic!("{}: invalid HCL: {e}", p.display());
        }
    }
}

#[test]
fn the_sam_example_uses_what_vigil_lambda_template_prints() {
    let example = parse_yaml(&read("sam/template.yaml"));
    let snippet = parse_yaml(&render(Format::Sam, &Options::default()));
    for path in [
        &["Globals", "Function", "Layers"][..],
        &[
            "Globals",
            "Function",
            "Environment",
            "Variables",
            "AWS_LAMBDA_EXEC_WRAPPER",
        ],
        &[
            "Globals",
            "Function",
            "Environment",
            "Variables",
            "VIGIL_MODE",
        ],
        &["Parameters", "VigilLayerArn"],
        &["Parameters", "VigilMode"],
    ] {
        assert_eq!(example.get(path), snippet.get(path), "{path:?}");
    }
    // The function is what the README says: Python, its code and policy under src/.
    let f = ["Resources", "ReportFunction", "Properties"];
    assert_eq!(example.get(&[&f[..], &["CodeUri"]].concat()).str(), "src/");
    assert_eq!(
        example.get(&[&f[..], &["Handler"]].concat()).str(),
        "app.handler"
    );
    assert!(matches!(
        example.get(&["Globals", "Function", "Runtime"]),
        Yaml::Scalar(r, None) if r.starts_with("python3.")
    ));
}

#[test]
fn the_terraform_module_validates_like_the_snippet() {
    let snippet = render(Format::Terraform, &Options::default());
    let module = read("terraform/modules/vigil-function/variables.tf");
    let conditions = snippet
        .lines()
        .filter(|l| l.trim_start().starts_with("condition") && l.contains("var.vigil_"))
        .collect::<Vec<_>>();
    assert_eq!(conditions.len(), 2, "{snippet}");
    for line in conditions {
        assert!(
            module.contains(line.trim()),
            "the module lacks `{}`",
            line.trim()
        );
    }
    let main = read("terraform/modules/vigil-function/main.tf");
    assert!(main.contains("AWS_LAMBDA_EXEC_WRAPPER = \"/opt/vigil/wrap\""));
    assert!(main.contains("VIGIL_MODE              = var.vigil_mode"));
    assert!(main.contains("fileexists(\"${var.source_dir}/${var.vigil_policy_file}\")"));
}

#[test]
fn the_shipped_policies_are_valid_and_leave_the_mode_to_vigil_mode() {
    for rel in ["sam/src/vigil.yaml", "terraform/src/vigil.yaml"] {
        let text = read(rel);
        let p = vigil_policy::parse(rel, &text).unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(p.mode, None, "{rel}: the mode comes from VIGIL_MODE");
        assert!(p.allows_write("/tmp/report-k3j_a9zx.csv"), "{rel}");
        assert!(!p.allows_write("/tmp/payload"), "{rel}");
        assert!(!p.process.fork, "{rel}");
        assert!(p.network.connect.is_empty(), "{rel}");
    }
    assert_eq!(read("sam/src/app.py"), read("terraform/src/app.py"));
}

/// The handler does what the READMEs say (when a Python is at hand, as in CI).
#[test]
fn the_example_handler_summarises_orders_and_rejects_bad_ones() {
    let Some(python) = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok())
    else {
        eprintln!("skipped: no python3");
        return;
    };
    let script = r#"
import json, sys
sys.path.insert(0, sys.argv[1])
import app
ok = app.handler({"body": json.dumps([
    {"sku": "tea", "quantity": 2, "unit_price": 4.5},
    {"sku": "tea", "quantity": 1, "unit_price": "4.50"},
    {"sku": "cup", "quantity": 3, "unit_price": 2},
])}, None)
bad = app.handler({"body": json.dumps([{"sku": "tea"}])}, None)
print(json.dumps([ok["statusCode"], json.loads(ok["body"]), bad["statusCode"], json.loads(bad["body"])]))
"#;
    let out = Command::new(python)
        .args(["-c", script])
        .arg(examples().join("sam/src"))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0], 200);
    assert_eq!(v[1]["total"], "19.50");
    assert_eq!(v[1]["orders"], 3);
    assert_eq!(v[1]["skus"], 2);
    assert_eq!(v[2], 400);
    assert!(
        v[3]["error"]
            .as_str()
            .is_some_and(|e| e.contains("order 0")),
        "{v}"
    );
}
