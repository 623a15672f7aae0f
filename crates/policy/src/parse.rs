//! Reading a policy file: YAML with positions, validated field by field, every problem
//! reported with its line and column (all of them, not only the first).

use crate::model::*;
use crate::{Diagnostic, PolicyError};
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{LoadError, Node, Span};

/// The policy format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Parses and validates policy text. `file` is used in error messages only. Hardening group
/// names are not checked (the sensor knows them): see [`parse_with`].
pub fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    parse_with(file, text, None)
}

/// Like [`parse`], also checking `hardening.allow` against `hardening_groups` so that every
/// problem is reported in one pass.
pub fn parse_with(
    file: &str,
    text: &str,
    hardening_groups: Option<&[&str]>,
) -> Result<Policy, PolicyError> {
    let err = |diagnostics| PolicyError {
        file: file.to_string(),
        source: text.to_string(),
        diagnostics,
    };
    if text.trim().is_empty() {
        return Err(err(vec![Diagnostic::new(
            1,
            1,
            "the policy is empty: it needs at least `version: 1`",
        )]));
    }
    let options = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
    let root = marked_yaml::parse_yaml_with_options(0, text, options)
        .map_err(|e| err(vec![load_error(&e)]))?;
    let mut p = Parser { diags: Vec::new() };
    let policy = p.policy(&root);
    if let Some(known) = hardening_groups {
        for n in policy
            .hardening_allow
            .iter()
            .filter(|n| !known.contains(&n.name.as_str()))
        {
            p.diags.push(Diagnostic::new(
                n.line,
                n.column,
                format!(
                    "unknown hardening group `{}`; known groups: {}",
                    n.name,
                    known.join(", ")
                ),
            ));
        }
    }
    if p.diags.is_empty() {
        Ok(policy)
    } else {
        p.diags.sort_by_key(|d| (d.line, d.column));
        Err(err(p.diags))
    }
}

fn load_error(e: &LoadError) -> Diagnostic {
    let (marker, message) = match e {
        LoadError::TopLevelMustBeMapping(m) => (
            Some(*m),
            "the policy must be a mapping of sections (`version:`, `process:`, …)".to_string(),
        ),
        LoadError::TopLevelMustBeSequence(m) => (Some(*m), "expected a sequence".to_string()),
        LoadError::UnexpectedAnchor(m) => (
            Some(*m),
            "YAML anchors and aliases are not supported in policies".to_string(),
        ),
        LoadError::MappingKeyMustBeScalar(m) => {
            (Some(*m), "keys must be plain strings".to_string())
        }
        LoadError::UnexpectedTag(m) => (
            Some(*m),
            "YAML tags are not supported in policies".to_string(),
        ),
        LoadError::ScanError(m, scan) => (Some(*m), format!("invalid YAML: {scan}")),
        LoadError::DuplicateKey(inner) => (
            inner.key.span().start().copied(),
            format!("`{}` appears twice in the same mapping", inner.key.as_str()),
        ),
    };
    match marker {
        Some(m) => Diagnostic::new(m.line(), m.column(), message),
        None => Diagnostic::new(1, 1, message),
    }
}

fn pos(span: &Span) -> (usize, usize) {
    span.start()
        .map(|m| (m.line(), m.column()))
        .unwrap_or((1, 1))
}

struct Parser {
    diags: Vec<Diagnostic>,
}

/// The keys a mapping accepts, for "unknown field" errors with suggestions.
fn unknown_key(key: &MarkedScalarNode, allowed: &[&str], within: &str) -> Diagnostic {
    let (line, column) = pos(key.span());
    let k = key.as_str();
    let near = allowed
        .iter()
        .filter(|a| edit_distance(a, k) <= 2 || a.starts_with(k) || k.starts_with(*a))
        .min_by_key(|a| edit_distance(a, k));
    let mut msg = format!("unknown field `{k}` in {within}");
    if let Some(n) = near {
        msg.push_str(&format!(" (did you mean `{n}`?)"));
    } else {
        msg.push_str(&format!("; expected one of: {}", allowed.join(", ")));
    }
    Diagnostic::new(line, column, msg)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn is_null(s: &MarkedScalarNode) -> bool {
    matches!(s.as_str(), "" | "~" | "null")
}

impl Parser {
    fn error(&mut self, span: &Span, message: impl Into<String>) {
        let (line, column) = pos(span);
        self.diags.push(Diagnostic::new(line, column, message));
    }

    fn mapping<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a MarkedMappingNode> {
        match node {
            Node::Mapping(m) => Some(m),
            Node::Scalar(s) if is_null(s) => None,
            other => {
                self.error(
                    other.span(),
                    format!("`{what}` must be a mapping of fields"),
                );
                None
            }
        }
    }

    fn sequence<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a MarkedSequenceNode> {
        match node {
            Node::Sequence(s) => Some(s),
            Node::Scalar(s) if is_null(s) => None,
            other => {
                self.error(
                    other.span(),
                    format!("`{what}` must be a list (one `- item` per line, or `[]` for none)"),
                );
                None
            }
        }
    }

    fn scalar<'a>(&mut self, node: &'a Node, what: &str) -> Option<&'a MarkedScalarNode> {
        match node {
            Node::Scalar(s) => Some(s),
            other => {
                self.error(other.span(), format!("`{what}` must be a single value"));
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        let s = self.scalar(node, what)?;
        match s.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.error(
                    s.span(),
                    format!("`{what}` must be true or false, not `{other}`"),
                );
                None
            }
        }
    }

    fn action(&mut self, node: &Node, what: &str) -> Option<Action> {
        let s = self.scalar(node, what)?;
        match s.as_str() {
            "deny" => Some(Action::Deny),
            "kill" => Some(Action::Kill),
            other => {
                self.error(
                    s.span(),
                    format!("`{what}` must be `deny` or `kill`, not `{other}`"),
                );
                None
            }
        }
    }

    /// Parses each item of a list with `f`, reporting failures at the item.
    fn list<T>(
        &mut self,
        node: &Node,
        what: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        let Some(seq) = self.sequence(node, what) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in seq.iter() {
            let Some(s) = self.scalar(item, what) else {
                continue;
            };
            match f(s.as_str()) {
                Ok(v) => out.push(v),
                Err(e) => self.error(s.span(), format!("in `{what}`: {e}")),
            }
        }
        out
    }

    fn policy(&mut self, root: &Node) -> Policy {
        let mut policy = Policy::default();
        let Some(map) = self.mapping(root, "the policy") else {
            return policy;
        };
        const TOP: &[&str] = &[
            "version",
            "mode",
            "on_violation",
            "require",
            "process",
            "network",
            "files",
            "memory",
            "hardening",
        ];
        let mut version_seen = false;
        for (key, value) in map.iter() {
            match key.as_str() {
                "version" => {
                    version_seen = true;
                    if let Some(s) = self.scalar(value, "version") {
                        if s.as_str() != FORMAT_VERSION.to_string() {
                            self.error(
                                s.span(),
                                format!(
                                    "unsupported policy version `{}`: this vigil reads version {FORMAT_VERSION}",
                                    s.as_str()
                                ),
                            );
                        }
                    }
                }
                "mode" => {
                    if let Some(s) = self.scalar(value, "mode") {
                        match s.as_str().parse::<Mode>() {
                            Ok(m) => policy.mode = Some(m),
                            Err(e) => self.error(s.span(), e),
                        }
                    }
                }
                "on_violation" => {
                    if let Some(a) = self.action(value, "on_violation") {
                        policy.on_violation = a;
                    }
                }
                "require" => {
                    if let Some(s) = self.scalar(value, "require") {
                        match s.as_str().parse::<RequiredLayer>() {
                            Ok(r) => policy.require = Some(r),
                            Err(e) => self.error(s.span(), e),
                        }
                    }
                }
                "process" => self.process(value, &mut policy.process),
                "network" => self.network(value, &mut policy.network),
                "files" => self.files(value, &mut policy.files),
                "memory" => self.memory(value, &mut policy.memory),
                "hardening" => self.hardening(value, &mut policy.hardening_allow),
                _ => self.diags.push(unknown_key(key, TOP, "the policy")),
            }
        }
        if !version_seen {
            self.error(
                map.span(),
                format!("missing `version: {FORMAT_VERSION}` at the top of the policy"),
            );
        }
        policy
    }

    fn process(&mut self, node: &Node, out: &mut ProcessRules) {
        let Some(map) = self.mapping(node, "process") else {
            return;
        };
        for (key, value) in map.iter() {
            match key.as_str() {
                "exec" => out.exec = self.list(value, "process.exec", PathPattern::parse),
                "fork" => out.fork = self.boolean(value, "process.fork").unwrap_or(false),
                "on_violation" => out.on_violation = self.action(value, "process.on_violation"),
                _ => self.diags.push(unknown_key(
                    key,
                    &["exec", "fork", "on_violation"],
                    "`process`",
                )),
            }
        }
    }

    fn network(&mut self, node: &Node, out: &mut NetworkRules) {
        let Some(map) = self.mapping(node, "network") else {
            return;
        };
        for (key, value) in map.iter() {
            match key.as_str() {
                "connect" => out.connect = self.list(value, "network.connect", Destination::parse),
                "listen" => out.listen = self.list(value, "network.listen", Listen::parse),
                "on_violation" => out.on_violation = self.action(value, "network.on_violation"),
                _ => self.diags.push(unknown_key(
                    key,
                    &["connect", "listen", "on_violation"],
                    "`network`",
                )),
            }
        }
    }

    fn files(&mut self, node: &Node, out: &mut FileRules) {
        let Some(map) = self.mapping(node, "files") else {
            return;
        };
        for (key, value) in map.iter() {
            match key.as_str() {
                "write" => out.write = self.list(value, "files.write", PathPattern::parse),
                "exec_map" => out.exec_map = self.list(value, "files.exec_map", PathPattern::parse),
                "on_violation" => out.on_violation = self.action(value, "files.on_violation"),
                _ => self.diags.push(unknown_key(
                    key,
                    &["write", "exec_map", "on_violation"],
                    "`files`",
                )),
            }
        }
    }

    fn memory(&mut self, node: &Node, out: &mut MemoryRules) {
        let Some(map) = self.mapping(node, "memory") else {
            return;
        };
        for (key, value) in map.iter() {
            match key.as_str() {
                "write_execute" => {
                    out.write_execute = self.boolean(value, "memory.write_execute").unwrap_or(false)
                }
                "anonymous_execute" => {
                    out.anonymous_execute = self
                        .boolean(value, "memory.anonymous_execute")
                        .unwrap_or(false)
                }
                "memfd" => out.memfd = self.boolean(value, "memory.memfd").unwrap_or(false),
                "on_violation" => out.on_violation = self.action(value, "memory.on_violation"),
                _ => self.diags.push(unknown_key(
                    key,
                    &[
                        "write_execute",
                        "anonymous_execute",
                        "memfd",
                        "on_violation",
                    ],
                    "`memory`",
                )),
            }
        }
    }

    fn hardening(&mut self, node: &Node, out: &mut Vec<Named>) {
        let Some(map) = self.mapping(node, "hardening") else {
            return;
        };
        for (key, value) in map.iter() {
            match key.as_str() {
                "allow" => {
                    let Some(seq) = self.sequence(value, "hardening.allow") else {
                        continue;
                    };
                    for item in seq.iter() {
                        if let Some(s) = self.scalar(item, "hardening.allow") {
                            let (line, column) = pos(s.span());
                            out.push(Named {
                                name: s.as_str().to_string(),
                                line,
                                column,
                            });
                        }
                    }
                }
                _ => self.diags.push(unknown_key(key, &["allow"], "`hardening`")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestion_for_typo() {
        let e = parse("p.yaml", "version: 1\nproces:\n  fork: true\n").unwrap_err();
        assert_eq!(e.diagnostics.len(), 1);
        let d = &e.diagnostics[0];
        assert_eq!((d.line, d.column), (2, 1));
        assert!(
            d.message.contains("did you mean `process`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn all_errors_reported_in_order() {
        let text = "version: 1\nnetwork:\n  connect:\n    - 1.2.3.4\n    - 10.0.0.1:99999\nfiles:\n  write: [relative/path]\n";
        let e = parse("p.yaml", text).unwrap_err();
        let at: Vec<_> = e.diagnostics.iter().map(|d| (d.line, d.column)).collect();
        assert_eq!(at, vec![(4, 7), (5, 7), (7, 11)], "{e}");
        assert!(e.diagnostics[0].message.contains("has no port"));
        assert!(e.diagnostics[1].message.contains("99999"));
        assert!(e.diagnostics[2].message.contains("absolute"));
    }
}
