//! Snapshots of the text, JSON and SARIF output for one labelled fixture set.

use std::path::PathBuf;

use vigil_scan::render::{render, Format};
use vigil_scan::Report;

fn report() -> Report {
    vigil_scan::iam::scan_paths(&[
        PathBuf::from("tests/fixtures/iam/lambda-passrole-escalation/passed-to-lambda.json"),
        PathBuf::from("tests/fixtures/iam/unknown-action/positive.json"),
        PathBuf::from("tests/fixtures/iam/malformed/trailing-comma.json"),
    ])
}

fn rendered(format: Format, color: bool) -> String {
    let mut out = Vec::new();
    render(&report(), format, color, &mut out).unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn text() {
    insta::assert_snapshot!(rendered(Format::Text, false));
}

#[test]
fn text_colours_only_when_asked() {
    assert!(!rendered(Format::Text, false).contains('\u{1b}'));
    assert!(rendered(Format::Text, true).contains("\u{1b}["));
}

#[test]
fn json() {
    insta::assert_snapshot!(rendered(Format::Json, false));
}

#[test]
fn json_has_the_documented_shape() {
    let v: serde_json::Value =
        serde_json::from_str(&rendered(Format::Json, false)).unwrap_or_default();
    let keys: Vec<&String> = v
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["errors", "findings"]);
    for f in v["findings"].as_array().into_iter().flatten() {
        for k in [
            "code",
            "category",
            "severity",
            "file",
            "line",
            "column",
            "resource",
            "message",
            "remediation",
        ] {
            assert!(f.get(k).is_some(), "finding without `{k}`: {f}");
        }
    }
    for e in v["errors"].as_array().into_iter().flatten() {
        for k in ["file", "line", "column", "message"] {
            assert!(e.get(k).is_some(), "error without `{k}`: {e}");
        }
    }
}

#[test]
fn sarif() {
    let out = rendered(Format::Sarif, false);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().is_some_and(|s| s.contains("sarif")));
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0);
    let results = run["results"].as_array().cloned().unwrap_or_default();
    assert!(rules >= 3 && results.len() >= rules, "{out}");
    for r in &results {
        let idx = r["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], r["ruleId"]);
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1));
    }
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
    assert_eq!(
        run["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
            ["region"]["startLine"],
        4
    );
    insta::assert_snapshot!(out);
}

#[test]
fn text_escapes_control_characters_from_the_inputs() {
    // A Sid and an action name holding a terminal title, a clear-screen, a colour and a line
    // break followed by a fake finding: none of it may reach the terminal as written.
    let report = vigil_scan::iam::scan_paths(&[PathBuf::from(
        "tests/fixtures/iam/malformed/control-characters.json",
    )]);
    assert!(!report.findings.is_empty());
    for color in [false, true] {
        let mut out = Vec::new();
        render(&report, Format::Text, color, &mut out).unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(out).unwrap_or_else(|e| panic!("{e}"));
        assert!(!text.contains('\r') && !text.contains('\u{7}'), "{text:?}");
        assert!(
            !text.contains("\u{1b}]") && !text.contains("\u{1b}[2J"),
            "{text:?}"
        );
        assert!(!text.contains("\u{1b}[31m"), "{text:?}");
        assert!(!text.lines().any(|l| l.starts_with("fake.json")), "{text}");
        assert!(text.contains("\\u{1b}[2J"), "{text}");
    }
}
