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
