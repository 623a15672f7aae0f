//! `--format json`.

use std::io::{self, Write};

use crate::finding::Report;

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report).map_err(super::json_io_error)?;
    writeln!(out)
}
