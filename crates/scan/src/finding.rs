//! The result model shared by every check (IAM and templates) and every renderer.

use serde::Serialize;

/// How bad a finding is; ordered so that `Critical > High > … > Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, no action needed.
    Info,
    /// Minor.
    Low,
    /// Should be fixed.
    Medium,
    /// Must be fixed.
    High,
    /// Account-level compromise.
    Critical,
}

/// The family a finding belongs to; stable kebab-case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Full administrative access.
    AdminAccess,
    /// A path to gaining more permissions.
    PrivilegeEscalation,
    /// Reading data out of the account.
    DataExfiltration,
    /// Obtaining credentials or secrets.
    CredentialsExposure,
    /// Changing who can access a resource (permissions management).
    ResourceExposure,
    /// Changing infrastructure.
    InfrastructureModification,
    /// `service:*` style wildcards.
    ServiceWildcard,
    /// `Resource: "*"` where a narrower resource exists.
    ResourceWildcard,
    /// An action that does not exist.
    UnknownAction,
    /// A resource ARN that cannot match the action's resource types.
    ResourceMismatch,
    /// A function deployed without the Vigil sensor.
    SensorMissing,
    /// Other Lambda configuration checks.
    LambdaConfiguration,
}

/// A place in an input file; lines and columns are 1-based.
///
/// Columns count characters (Unicode scalar values), not bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// The file, as given on the command line or found by walking a directory.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// One problem found by a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case identifier of the check, e.g. `lambda-passrole-escalation`.
    pub code: String,
    /// The family of the finding.
    pub category: Category,
    /// How bad it is.
    pub severity: Severity,
    /// Where it is.
    #[serde(flatten)]
    pub position: Position,
    /// What it is about: a policy statement, role, function logical id or Terraform address.
    pub resource: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub remediation: String,
}

/// An input that could not be read or parsed; the other inputs are still scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanError {
    /// Where it is.
    #[serde(flatten)]
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

/// Everything one run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Findings, sorted by file, line, column, code.
    pub findings: Vec<Finding>,
    /// Inputs that could not be read or parsed.
    pub errors: Vec<ScanError>,
}

impl Position {
    /// A position in `file`.
    pub fn new(file: impl Into<String>, line: usize, column: usize) -> Self {
        Position {
            file: file.into(),
            line,
            column,
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Turns byte offsets of one text into 1-based line and column [`Position`]s.
#[derive(Debug, Clone)]
pub struct LineIndex<'a> {
    file: String,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `text`, the contents of `file`.
    pub fn new(file: impl Into<String>, text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            file: file.into(),
            text,
            line_starts,
        }
    }

    /// The file name given to [`LineIndex::new`].
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The position of byte `offset` (clamped to the text).
    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        Position::new(self.file.clone(), line.max(1), column)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Severity {
    /// Every severity, from the least to the most severe.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// `steps` levels less severe, never below `floor`.
    pub fn lowered(self, steps: usize, floor: Severity) -> Severity {
        let i = Severity::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Severity::ALL[i.saturating_sub(steps)].max(floor)
    }
}

/// A severity name that is not one of `critical`, `high`, `medium`, `low`, `info`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected critical, high, medium, low or info)")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 12] = [
        Category::AdminAccess,
        Category::PrivilegeEscalation,
        Category::DataExfiltration,
        Category::CredentialsExposure,
        Category::ResourceExposure,
        Category::InfrastructureModification,
        Category::ServiceWildcard,
        Category::ResourceWildcard,
        Category::UnknownAction,
        Category::ResourceMismatch,
        Category::SensorMissing,
        Category::LambdaConfiguration,
    ];

    /// The stable kebab-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::AdminAccess => "admin-access",
            Category::PrivilegeEscalation => "privilege-escalation",
            Category::DataExfiltration => "data-exfiltration",
            Category::CredentialsExposure => "credentials-exposure",
            Category::ResourceExposure => "resource-exposure",
            Category::InfrastructureModification => "infrastructure-modification",
            Category::ServiceWildcard => "service-wildcard",
            Category::ResourceWildcard => "resource-wildcard",
            Category::UnknownAction => "unknown-action",
            Category::ResourceMismatch => "resource-mismatch",
            Category::SensorMissing => "sensor-missing",
            Category::LambdaConfiguration => "lambda-configuration",
        }
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ScanError {
    /// An error at `position`.
    pub fn new(position: Position, message: impl Into<String>) -> Self {
        ScanError {
            position,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

impl std::error::Error for ScanError {}

impl Report {
    /// Sorts findings by file, line, column, severity (most severe first) and code, errors by
    /// position, and drops exact duplicates.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.position,
                std::cmp::Reverse(a.severity),
                &a.code,
                &a.resource,
            )
                .cmp(&(
                    &b.position,
                    std::cmp::Reverse(b.severity),
                    &b.code,
                    &b.resource,
                ))
                .then_with(|| a.message.cmp(&b.message))
        });
        self.findings.dedup();
        self.errors
            .sort_by(|a, b| (&a.position, &a.message).cmp(&(&b.position, &b.message)));
        self.errors.dedup();
    }

    /// The most severe finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// The exit status the CLI contract gives this report: 2 when an input could not be read or
    /// parsed, else 1 when a finding is at or above `fail_on`, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> u8 {
        if !self.errors.is_empty() {
            2
        } else if self.worst().is_some_and(|w| w >= fail_on) {
            1
        } else {
            0
        }
    }
}
