//! Renderers for a [`Report`]: human text (with ANSI colours when asked), JSON and SARIF 2.1.0.
//!
//! # Wire format (`--format json`)
//!
//! One JSON object: `{"findings": [...], "errors": [...]}`. Each finding has `code` (stable
//! kebab-case), `category`, `severity` (`critical`, `high`, `medium`, `low`, `info`), `file`,
//! `line`, `column` (1-based), `resource`, `message` and `remediation`; each error has `file`,
//! `line`, `column` and `message`. Findings are sorted by file, line, column, then most
//! severe first. Keys are added, never renamed or removed.

mod json;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::finding::Report;

pub use sarif::to_sarif;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human text.
    Text,
    /// `{"findings": [...], "errors": [...]}`.
    Json,
    /// SARIF 2.1.0.
    Sarif,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            other => Err(format!(
                "unknown format `{other}` (expected text, json or sarif)"
            )),
        }
    }
}

/// A JSON writing error as the I/O error it is, when it is one (a closed pipe stays
/// `BrokenPipe`, which callers treat as the reader having had enough).
pub(crate) fn json_io_error(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}

/// Writes `report` in `format`. `color` adds ANSI styles to text output (the caller decides,
/// e.g. from whether stdout is a terminal and `NO_COLOR`).
pub fn render(report: &Report, format: Format, color: bool, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, color, out),
        Format::Json => json::render(report, out),
        Format::Sarif => sarif::render(report, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that went away: every write fails as a closed pipe does.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_pipe_is_reported_as_such_in_every_format() {
        let mut report = Report::default();
        report.findings.push(crate::Finding {
            code: "admin-wildcard".into(),
            category: crate::Category::AdminAccess,
            severity: crate::Severity::Critical,
            position: crate::Position::new("p.json", 1, 1),
            resource: "p".into(),
            message: "m".into(),
            remediation: "r".into(),
        });
        for format in [Format::Text, Format::Json, Format::Sarif] {
            let e = render(&report, format, false, &mut ClosedPipe).err();
            assert_eq!(
                e.map(|e| e.kind()),
                Some(io::ErrorKind::BrokenPipe),
                "{format:?}"
            );
        }
    }
}
