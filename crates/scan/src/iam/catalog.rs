//! The embedded check data (`data/iam-checks.json`): escalation paths and the action lists of
//! the data-exfiltration and credentials-exposure checks.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::finding::Severity;

const DATA: &str = include_str!("../../data/iam-checks.json");

/// One privilege-escalation path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationPath {
    /// Stable finding code.
    pub code: String,
    /// Severity when the target action is allowed on all resources.
    #[serde(deserialize_with = "severity")]
    pub severity: Severity,
    /// The action whose resource scope grades the finding.
    pub target: String,
    /// The service principal `iam:PassRole` must reach, if the path passes a role.
    #[serde(default)]
    pub pass_to: Option<String>,
    /// Actions that must all be allowed.
    pub requires: Vec<String>,
    /// At least one of these must be allowed too.
    #[serde(default)]
    pub any_of_required: Vec<String>,
    /// Without one of these, the path needs outside help: one level less severe.
    #[serde(default)]
    pub any_of: Vec<String>,
    /// What the path lets one do.
    pub title: String,
    /// Where the path is published.
    pub sources: String,
    /// How to close it.
    pub fix: String,
}

/// An action of a sensitive list, with the severity it has on all resources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensitive {
    /// `service:Action`.
    pub action: String,
    /// Severity on all resources.
    #[serde(deserialize_with = "severity")]
    pub severity: Severity,
}

/// All of the check data.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    /// Privilege-escalation paths, Lambda first.
    pub escalation: Vec<EscalationPath>,
    /// Actions that read data out.
    pub exfiltration: Vec<Sensitive>,
    /// Actions that hand out credentials or secrets.
    pub credentials: Vec<Sensitive>,
}

fn severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

/// The embedded catalogue. Its validity is checked by a unit test; should it ever not parse,
/// the checks that use it find nothing rather than crash.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        serde_json::from_str(DATA).unwrap_or_else(|_| Catalog {
            escalation: Vec::new(),
            exfiltration: Vec::new(),
            credentials: Vec::new(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::db;

    #[test]
    fn catalogue_parses_and_names_only_real_actions() {
        let c: Catalog = serde_json::from_str(DATA).expect("data/iam-checks.json parses");
        assert!(c.escalation.len() > 40);
        assert!(
            c.escalation[0].code.starts_with("lambda-"),
            "Lambda paths come first"
        );
        let db = db();
        let mut names: Vec<&str> = Vec::new();
        for p in &c.escalation {
            names.push(&p.target);
            names.extend(p.requires.iter().map(String::as_str));
            names.extend(p.any_of.iter().map(String::as_str));
            names.extend(p.any_of_required.iter().map(String::as_str));
            assert!(
                p.requires.contains(&p.target) || p.any_of_required.contains(&p.target),
                "{}: target is not required",
                p.code
            );
        }
        names.extend(
            c.exfiltration
                .iter()
                .chain(&c.credentials)
                .map(|s| s.action.as_str()),
        );
        let missing: Vec<&&str> = names.iter().filter(|n| db.lookup(n).is_none()).collect();
        assert!(
            missing.is_empty(),
            "not in the action database: {missing:?}"
        );
        let mut codes: Vec<&str> = c.escalation.iter().map(|p| p.code.as_str()).collect();
        codes.sort_unstable();
        let before = codes.len();
        codes.dedup();
        assert_eq!(before, codes.len(), "duplicate escalation codes");
    }
}
