//! Human text: one block per finding, then a summary line.
//!
//! ```text
//! policy.json:12:9: critical lambda-passrole-escalation [privilege-escalation] role/app Statement[1]
//!   iam:PassRole + lambda:CreateFunction (...) lets this principal ...
//!   fix: Limit iam:PassRole to ...
//! ```

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
            p.paint(bold, &e.position.to_string()),
            p.paint(severity_style(Severity::Critical), "error"),
            e.message
        )?;
    }
    for f in &report.findings {
        writeln!(
            out,
            "{}: {} {} [{}] {}",
            p.paint(bold, &f.position.to_string()),
            p.paint(severity_style(f.severity), f.severity.as_str()),
            p.paint(bold, &f.code),
            f.category,
            f.resource
        )?;
        writeln!(out, "  {}", f.message)?;
        writeln!(out, "  {} {}", p.paint(dim, "fix:"), f.remediation)?;
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
