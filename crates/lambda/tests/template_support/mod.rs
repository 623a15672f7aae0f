//! Shared by the template tests: a YAML reader on saphyr-parser (what `vigil scan template`
//! uses) and a scan of files written to a fresh directory.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

/// The sensor finding codes of `vigil scan template`.
pub const SENSOR_CODES: [&str; 4] = [
    "sensor-missing",
    "sensor-layer-missing",
    "sensor-wrapper-missing",
    "sensor-missing-image",
];

/// A YAML value, with its tag (`!Ref`), enough to check a template's structure.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Scalar(String, Option<String>),
    Seq(Vec<Yaml>),
    Map(BTreeMap<String, Yaml>),
}

impl Yaml {
    pub fn get(&self, path: &[&str]) -> &Yaml {
        let mut v = self;
        for key in path {
            v = match v {
                Yaml::Map(m) => m
                    .get(*key)
                    .unwrap_or_else(|| panic!("no `{key}` in {path:?}")),
                _ => panic!("`{key}` of {path:?} is not in a mapping"),
            };
        }
        v
    }

    pub fn str(&self) -> &str {
        match self {
            Yaml::Scalar(s, _) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }
}

/// Parses YAML with saphyr-parser (what `vigil scan template` uses) into [`Yaml`].
pub fn parse_yaml(text: &str) -> Yaml {
    use saphyr_parser::{Event, Parser};
    enum Frame {
        Seq(Vec<Yaml>),
        Map(BTreeMap<String, Yaml>, Option<String>),
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut done: Option<Yaml> = None;
    for ev in Parser::new_from_str(text) {
        let (ev, span) = ev.unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"));
        let value = match ev {
            Event::Scalar(s, _, _, tag) => Some(Yaml::Scalar(
                s.into_owned(),
                tag.map(|t| format!("{}{}", t.handle, t.suffix)),
            )),
            Event::SequenceStart(..) => {
                stack.push(Frame::Seq(Vec::new()));
                None
            }
            Event::MappingStart(..) => {
                stack.push(Frame::Map(BTreeMap::new(), None));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(v)) => Some(Yaml::Seq(v)),
                _ => panic!("unbalanced sequence at {span:?}"),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(m, None)) => Some(Yaml::Map(m)),
                _ => panic!("unbalanced mapping at {span:?}"),
            },
            Event::Alias(_) => panic!("the snippets use no aliases"),
            _ => None,
        };
        let Some(value) = value else { continue };
        match stack.last_mut() {
            None => done = Some(value),
            Some(Frame::Seq(v)) => v.push(value),
            Some(Frame::Map(m, key)) => match key.take() {
                None => *key = Some(value.str().to_string()),
                Some(k) => {
                    assert!(m.insert(k.clone(), value).is_none(), "duplicate key {k}");
                }
            },
        }
    }
    done.expect("a YAML document")
}

/// Scans `files` (name, text) written into a fresh directory; returns the sensor findings as
/// `code (resource)`.
pub fn sensor_findings(name: &str, files: &[(&str, &str)]) -> Vec<String> {
    let tmp = tempfile::Builder::new()
        .prefix(&format!("vigil-template-{name}-"))
        .tempdir()
        .expect("temp dir");
    let dir = tmp.path();
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write template");
    }
    scan_sensor_findings(dir)
}

/// Scans `dir` as `vigil scan template DIR` does; returns the sensor findings as
/// `code (resource)`. Scan errors fail the test.
pub fn scan_sensor_findings(dir: &Path) -> Vec<String> {
    let name = dir.display();
    let report = vigil_scan::scan_template_paths(&[dir]);
    assert!(
        report.errors.is_empty(),
        "{name}: scan errors {:?}",
        report.errors
    );
    report
        .findings
        .iter()
        .filter(|f| SENSOR_CODES.contains(&f.code.as_str()) || f.code.starts_with("sensor-"))
        .map(|f| format!("{} ({})", f.code, f.resource))
        .collect()
}
