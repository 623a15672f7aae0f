//! Static checks: IAM policy documents and infrastructure-as-code templates.
//!
//! Every check produces [`Finding`]s; inputs that cannot be read or parsed produce
//! [`ScanError`]s with a position. Renderers (text, JSON, SARIF) work on a [`Report`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
mod finding;
pub mod iam;
pub mod render;
pub mod walk;

pub use finding::{
    Category, Finding, LineIndex, Position, Report, ScanError, Severity, UnknownSeverity,
};
pub mod template;
pub use template::{scan_template_files, scan_template_paths, scan_template_source, Origin};
