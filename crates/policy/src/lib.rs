//! The Vigil policy language: what a function may do at run time.
//!
//! - [`parse`] reads a policy file (YAML) into a validated [`Policy`], or a [`PolicyError`]
//!   listing every problem with its line and column;
//! - [`Policy`] answers the sensor's questions (`allows_exec`, `allows_ip`, `allows_write`…);
//! - [`Observed`] is what a learn run saw; [`Policy::merge_observed`] adds it to a policy and
//!   [`render`] writes a policy back as commented YAML;
//! - [`from_events`] rebuilds what was observed from collected event logs
//!   (`vigil policy from-events`).
//!
//! Architecture invariant: this crate knows nothing of Linux; it never touches the system.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod from_events;
mod learn;
mod model;
mod parse;
mod render;

pub use learn::{Observed, ObservedDest};
pub use model::*;
pub use parse::{parse, parse_with, FORMAT_VERSION};
pub use render::render;

use std::fmt;

/// One problem in a policy file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, and how to fix it where that is not obvious.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic at `line`:`column`.
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            line,
            column,
            message: message.into(),
        }
    }
}

/// A policy that could not be read: every problem found, with the text to show them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file name, as given.
    pub file: String,
    /// The file's text.
    pub source: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl PolicyError {
    /// A single problem in `file`.
    pub fn single(file: &str, source: &str, d: Diagnostic) -> Self {
        PolicyError {
            file: file.to_string(),
            source: source.to_string(),
            diagnostics: vec![d],
        }
    }

    /// Renders every diagnostic as `file:line:column: error: message` followed by the
    /// offending line and a caret, as compilers do.
    pub fn render(&self) -> String {
        use codespan_reporting::diagnostic::{Diagnostic as CsDiag, Label};
        use codespan_reporting::files::SimpleFile;
        use codespan_reporting::term::{self, Config};

        let file = SimpleFile::new(&self.file, &self.source);
        let config = Config::default();
        let mut buf = String::new();
        for d in &self.diagnostics {
            let offset = byte_offset(&self.source, d.line, d.column);
            let end = (offset + 1).min(self.source.len()).max(offset);
            let diag = CsDiag::error()
                .with_message(&d.message)
                .with_labels(vec![Label::primary((), offset..end)]);
            let mut out = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
            if term::emit(&mut out, &config, &file, &diag).is_err() {
                buf.push_str(&format!(
                    "{}:{}:{}: error: {}\n",
                    self.file, d.line, d.column, d.message
                ));
                continue;
            }
            buf.push_str(&String::from_utf8_lossy(&out.into_inner()));
        }
        buf
    }
}

fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            let col: usize = l
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + col;
        }
        offset += l.len();
    }
    text.len()
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.file, d.line, d.column, d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}
