//! The 835 real templates of `shared/corpus/serverless-patterns` (SAM/CloudFormation YAML and
//! Terraform): the scan must never crash, and the only inputs it refuses are the ones listed in
//! `fixtures/templates/corpus-expected-errors.txt`, each for the reason given there.
//!
//! The corpus lives outside the repository (`shared/` beside the checkout). Set
//! `VIGIL_CORPUS_DIR` to point elsewhere; when it cannot be found the test says so on stderr and
//! passes without scanning (the bench script `bench/scan-templates/run.sh` refuses to).
//! Speed is measured by that script, not here.

use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("VIGIL_CORPUS_DIR").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/corpus/serverless-patterns"),
        ),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
}

#[test]
fn corpus_scans_without_crashing_and_refuses_only_known_bad_files() {
    let Some(dir) = corpus() else {
        eprintln!("template corpus not found (set VIGIL_CORPUS_DIR): not scanned");
        return;
    };
    let files = walk(&dir);
    assert_eq!(
        files.len(),
        835,
        "the corpus holds 835 .yaml/.yml/.tf files"
    );
    let report = vigil_scan::scan_template_paths(&[&dir]);
    let expected = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/templates/corpus-expected-errors.txt"),
    )
    .expect("expected errors list");
    let expected: Vec<&str> = expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect();
    let got: Vec<String> = report
        .errors
        .iter()
        .map(|e| {
            let file = Path::new(&e.position.file)
                .strip_prefix(&dir)
                .map_or(e.position.file.clone(), |p| p.display().to_string());
            format!(
                "{file}:{}:{} {}",
                e.position.line, e.position.column, e.message
            )
        })
        .collect();
    assert_eq!(got, expected, "errors changed");
    assert!(
        report.findings.len() > 1000,
        "the corpus has plenty to find: {}",
        report.findings.len()
    );
    let sensor = report
        .findings
        .iter()
        .filter(|f| f.code == "sensor-missing")
        .count();
    assert!(
        sensor > 500,
        "no corpus function has the Vigil layer: {sensor}"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "tf")
            ) {
                out.push(p);
            }
        }
    }
    out
}
