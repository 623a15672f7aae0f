//! Human text: one block per finding, then a summary line.
//!
//! ```text
//! policy.json:12:9: critical lambda-passrole-escalation [privilege-escalation] role/app Statement[1]
//!   iam:PassRole + lambda:CreateFunction (...) lets this principal ...
//!   fix: Limit iam:PassRole to ...
//! ```
//!
//! Everything taken from the inputs (file names, resource names, action names quoted in
//! messages) is printed with its control characters escaped (`\u{1b}`), so that a scanned file
//! cannot move the cursor, clear the screen, rewrite earlier lines or fake findings on the
//! terminal of the person reading the report.

use std::borrow::Cow;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use crate::finding::{Report, Severity};

fn severity_style(s: Severity) -> Style {
    let color = match s {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::White,
    };
    let style = Style::new().fg_color(Some(color.into()));
    if s >= Severity::High {
        style.bold()
    } else {
        style
    }
}

/// `s` with every control character (C0, DEL, C1) written as a visible `\u{..}` escape.
fn clean(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}

pub(super) fn render(report: &Report, color: bool, out: &mut dyn Write) -> io::Result<()> {
    let p = Painter { color };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    for e in &report.errors {
        writeln!(
            out,
            "{}: {}: {}",
            p.paint(bold, &clean(&e.position.to_string())),
            p.paint(severity_style(Severity::Critical), "error"),
            clean(&e.message)
        )?;
    }
    for f in &report.findings {
        writeln!(
            out,
            "{}: {} {} [{}] {}",
            p.paint(bold, &clean(&f.position.to_string())),
            p.paint(severity_style(f.severity), f.severity.as_str()),
            p.paint(bold, &clean(&f.code)),
            f.category,
            clean(&f.resource)
        )?;
        writeln!(out, "  {}", clean(&f.message))?;
        writeln!(out, "  {} {}", p.paint(dim, "fix:"), clean(&f.remediation))?;
    }
    let mut counts = Vec::new();
    for s in Severity::ALL.iter().rev() {
        let n = report.findings.iter().filter(|f| f.severity == *s).count();
        if n > 0 {
            counts.push(p.paint(severity_style(*s), &format!("{n} {s}")));
        }
    }
    let findings = match report.findings.len() {
        0 => "no findings".to_string(),
        1 => format!("1 finding ({})", counts.join(", ")),
        n => format!("{n} findings ({})", counts.join(", ")),
    };
    let errors = match report.errors.len() {
        0 => String::new(),
        1 => ", 1 input could not be read".to_string(),
        n => format!(", {n} errors in inputs that could not be read"),
    };
    writeln!(out, "{findings}{errors}")
}
