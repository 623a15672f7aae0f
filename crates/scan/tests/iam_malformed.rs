//! Malformed input: every problem is an error with its file, line and column; nothing panics
//! and the other inputs are still scanned.

use std::path::PathBuf;

use vigil_scan::Report;

fn scan(paths: &[&str]) -> Report {
    let paths: Vec<PathBuf> = paths
        .iter()
        .map(|p| PathBuf::from(format!("tests/fixtures/iam/{p}")))
        .collect();
    vigil_scan::iam::scan_paths(&paths)
}

fn errors(fixture: &str) -> Vec<(usize, usize, String)> {
    let r = scan(&[fixture]);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    r.errors
        .iter()
        .map(|e| (e.position.line, e.position.column, e.message.clone()))
        .collect()
}

#[test]
fn trailing_comma_is_a_json_error_at_its_place() {
    let e = errors("malformed/trailing-comma.json");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (4, 66));
    assert!(e[0].2.contains("Trailing commas"), "{e:?}");
}

#[test]
fn truncated_file() {
    let e = errors("malformed/truncated.json");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].2.contains("Unterminated"), "{e:?}");
}

#[test]
fn comments_are_refused_like_aws_does() {
    let e = errors("malformed/comment.json");
    assert_eq!((e[0].0, e[0].1), (2, 3), "{e:?}");
}

#[test]
fn effect_must_be_allow_or_deny() {
    let e = errors("malformed/effect-lowercase.json");
    assert!(
        e.iter()
            .any(|(l, c, m)| (*l, *c) == (5, 17) && m.contains("`allow`")),
        "{e:?}"
    );
}

#[test]
fn action_of_the_wrong_type() {
    let e = errors("malformed/action-number.json");
    assert_eq!(
        e,
        [(
            5,
            15,
            "`Action` must be a string or a list of strings".to_string()
        )]
    );
}

#[test]
fn unknown_statement_element() {
    let e = errors("malformed/unknown-element.json");
    assert!(
        e.iter()
            .any(|(l, c, m)| (*l, *c) == (6, 7) && m.contains("`Actions`")),
        "{e:?}"
    );
}

#[test]
fn empty_binary_and_deeply_nested_files() {
    assert_eq!(errors("malformed/empty.json").len(), 1);
    assert!(errors("malformed/binary.json")[0].2.contains("UTF-8"));
    assert!(errors("malformed/deep.json")[0].2.contains("nesting"));
}

#[test]
fn a_bad_file_does_not_stop_the_others() {
    let r = scan(&["malformed", "admin-wildcard/positive.json"]);
    assert_eq!(r.exit_code(vigil_scan::Severity::High), 2);
    assert!(r.findings.iter().any(|f| f.code == "admin-wildcard"));
    // Every file of the malformed folder is reported, each with its own position.
    let files: std::collections::BTreeSet<&str> =
        r.errors.iter().map(|e| e.position.file.as_str()).collect();
    assert_eq!(files.len(), 9, "{files:?}");
}

#[test]
fn other_json_in_a_directory_is_skipped_but_named_files_are_not() {
    let r = scan(&["not-iam"]);
    assert!(r.errors.is_empty() && r.findings.is_empty(), "{r:#?}");
    let r = scan(&["not-iam/package.json"]);
    assert_eq!(r.errors.len(), 1);
}

#[test]
fn missing_path() {
    let r = vigil_scan::iam::scan_paths(&[PathBuf::from("tests/fixtures/iam/no-such-file.json")]);
    assert_eq!(r.errors.len(), 1);
    assert!(
        r.errors[0].message.starts_with("cannot read"),
        "{:?}",
        r.errors
    );
}

#[test]
fn a_byte_order_mark_is_skipped_and_columns_count_from_the_text() {
    let r = scan(&["encoding/bom.json"]);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let f = r
        .findings
        .iter()
        .find(|f| f.code == "iam-create-policy-version")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    // `{"Version": …` — the Action value starts at character 71 after the mark.
    assert_eq!((f.position.line, f.position.column), (1, 71));
}

#[test]
fn duplicate_keys_are_errors_at_the_second_key() {
    // Read as "last wins" this was a Deny and the file scanned clean (exit 0).
    let e = errors("malformed/duplicate-key.json");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (8, 7));
    assert!(e[0].2.contains("duplicate key `Effect`"), "{e:?}");
}
