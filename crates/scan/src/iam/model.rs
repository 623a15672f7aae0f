//! The policy-document model: what a statement says, with the position of every value, and
//! nothing of the syntax it came from (IAM JSON, a CloudFormation/SAM template in YAML or JSON,
//! Terraform).

use crate::finding::Position;

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it starts in its file.
    pub position: Position,
}

impl<T> Located<T> {
    /// Pairs a value with its position.
    pub fn new(value: T, position: Position) -> Self {
        Located { value, position }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The statement grants.
    Allow,
    /// The statement takes away, whatever any `Allow` says.
    Deny,
}

/// One `Condition` entry: an operator, a key and the values it is compared with, e.g.
/// `"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}` gives one `Condition`
/// with operator `StringEquals`, key `iam:PassedToService` and one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// The operator as written, e.g. `StringLike`, `ForAnyValue:StringEquals`, `Bool`.
    pub operator: Located<String>,
    /// The condition key as written, e.g. `aws:SourceIp`.
    pub key: Located<String>,
    /// The values; numbers and booleans are given in their text form.
    pub values: Vec<Located<String>>,
}

/// One entry of `Principal` / `NotPrincipal` (resource policies and trust policies only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `AWS`, `Service`, `Federated`, `CanonicalUser`, or `*` for the bare `"Principal": "*"`.
    pub kind: String,
    /// The principal, e.g. `arn:aws:iam::123456789012:root`, `lambda.amazonaws.com`, `*`.
    pub value: Located<String>,
}

/// One statement of a policy document.
///
/// `action`/`not_action` and `resource`/`not_resource` hold the strings as written (a single
/// string becomes a one-element list). A value that is not a literal string in its source (a
/// CloudFormation `!GetAtt`, `!Ref`, `!Sub`, a Terraform reference) is represented with
/// `${...}` placeholders, e.g. `${MyBucket.Arn}/*`: the analyzer treats a placeholder as an
/// unknown but specific value, never as a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// `Sid`, when given.
    pub sid: Option<Located<String>>,
    /// `Effect`.
    pub effect: Located<Effect>,
    /// `Action`.
    pub action: Vec<Located<String>>,
    /// `NotAction`.
    pub not_action: Vec<Located<String>>,
    /// `Resource`.
    pub resource: Vec<Located<String>>,
    /// `NotResource`.
    pub not_resource: Vec<Located<String>>,
    /// `Principal` (resource and trust policies).
    pub principal: Vec<Principal>,
    /// `NotPrincipal`.
    pub not_principal: Vec<Principal>,
    /// `Condition`, flattened to one entry per operator and key.
    pub condition: Vec<Condition>,
    /// Where the statement starts (its `{`, or the list item in YAML).
    pub position: Position,
}

impl Statement {
    /// A statement with the given effect and nothing else, to be filled in by a loader.
    pub fn new(effect: Located<Effect>, position: Position) -> Self {
        Statement {
            sid: None,
            effect,
            action: Vec::new(),
            not_action: Vec::new(),
            resource: Vec::new(),
            not_resource: Vec::new(),
            principal: Vec::new(),
            not_principal: Vec::new(),
            condition: Vec::new(),
            position,
        }
    }

    /// Whether the statement has any condition.
    pub fn is_conditional(&self) -> bool {
        !self.condition.is_empty()
    }

    /// The condition keys, deduplicated, in the order written.
    pub fn condition_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for c in &self.condition {
            if !keys
                .iter()
                .any(|k| k.eq_ignore_ascii_case(c.key.value.as_str()))
            {
                keys.push(&c.key.value);
            }
        }
        keys
    }
}

/// A policy document: its statements, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// Where the document starts.
    pub position: Position,
    /// `Version`, when given.
    pub version: Option<Located<String>>,
    /// `Statement`; a single statement object becomes a one-element list.
    pub statements: Vec<Statement>,
}
