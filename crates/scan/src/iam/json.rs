//! IAM JSON with positions.
//!
//! `serde_json` reports positions only for syntax errors, not for the values it parses, so the
//! text is parsed with `jsonc-parser` (dprint's parser, which keeps a byte range on every node),
//! in strict JSON mode (no comments, trailing commas or other JSON5 extensions: AWS rejects
//! them), and the syntax tree is then turned into the [`PolicyDocument`] model here.
//!
//! Besides bare policy documents this reads the wrappers the AWS CLI prints
//! (`get-role-policy` / `get-user-policy` / `get-group-policy`: `{"PolicyDocument": …}`;
//! `get-policy-version`: `{"PolicyVersion": {"Document": …}}`) and the output of
//! `aws iam get-account-authorization-details` (see [`super::authz`]).

use jsonc_parser::ast::{Array, Object, ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{parse_to_ast, CollectOptions, ParseOptions};

use super::authz::{self, AuthorizationDetails};
use super::model::{Condition, Effect, Located, PolicyDocument, Principal, Statement};
use crate::finding::{LineIndex, Position, ScanError};

/// What an IAM JSON file holds.
#[derive(Debug, Clone)]
pub enum IamJson {
    /// One policy document (bare, or inside an AWS CLI wrapper).
    Policy(PolicyDocument),
    /// An account's authorization details: users, groups, roles and policies.
    AuthorizationDetails(AuthorizationDetails),
    /// Valid JSON, but none of the above (a `package.json`, a template, …).
    NotIam,
}

/// Parses an IAM JSON file. `file` is the name used in positions.
///
/// Syntax errors and documents that do not follow the IAM policy grammar are returned as
/// errors with their positions (all that were found, not just the first).
pub fn parse_iam_json(text: &str, file: &str) -> Result<IamJson, Vec<ScanError>> {
    let lines = LineIndex::new(file, text);
    let root = parse_strict(text, &lines)?;
    let mut cx = Cx {
        lines: &lines,
        errors: Vec::new(),
    };
    let Some(Value::Object(obj)) = &root else {
        return Ok(IamJson::NotIam);
    };
    let result = if obj.get("Statement").is_some() {
        IamJson::Policy(cx.document(obj))
    } else if let Some(doc) = obj.get("PolicyDocument") {
        match cx.document_value(&doc.value) {
            Some(d) => IamJson::Policy(d),
            None => IamJson::NotIam,
        }
    } else if let Some(version) = obj.get_object("PolicyVersion") {
        match version.get("Document") {
            Some(doc) => match cx.document_value(&doc.value) {
                Some(d) => IamJson::Policy(d),
                None => IamJson::NotIam,
            },
            None => IamJson::NotIam,
        }
    } else if authz::looks_like(obj) {
        IamJson::AuthorizationDetails(authz::read(&mut cx, obj))
    } else {
        IamJson::NotIam
    };
    if cx.errors.is_empty() {
        Ok(result)
    } else {
        Err(cx.errors)
    }
}

/// Parses a file that must be one policy document.
pub fn parse_policy_json(text: &str, file: &str) -> Result<PolicyDocument, Vec<ScanError>> {
    match parse_iam_json(text, file)? {
        IamJson::Policy(doc) => Ok(doc),
        _ => Err(vec![ScanError::new(
            Position::new(file, 1, 1),
            "not an IAM policy document (no `Statement`)",
        )]),
    }
}

fn parse_strict<'t>(
    text: &'t str,
    lines: &LineIndex<'_>,
) -> Result<Option<Value<'t>>, Vec<ScanError>> {
    let strict = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    match parse_to_ast(text, &CollectOptions::default(), &strict) {
        Ok(parsed) => Ok(parsed.value),
        Err(e) => Err(vec![ScanError::new(
            lines.position(e.range().start),
            format!("invalid JSON: {}", e.kind()),
        )]),
    }
}

/// The conversion context: where positions come from, and the errors found so far.
pub(crate) struct Cx<'l, 't> {
    lines: &'l LineIndex<'t>,
    errors: Vec<ScanError>,
}

impl Cx<'_, '_> {
    pub(crate) fn pos(&self, node: &impl Ranged) -> Position {
        self.lines.position(node.range().start)
    }

    pub(crate) fn error(&mut self, node: &impl Ranged, message: impl Into<String>) {
        let position = self.pos(node);
        self.errors.push(ScanError::new(position, message));
    }

    /// A policy document given as a JSON value (an object; AWS also accepts the document as a
    /// JSON string, which is parsed in turn, with positions inside the string approximated by
    /// the string's own position).
    pub(crate) fn document_value(&mut self, value: &Value<'_>) -> Option<PolicyDocument> {
        match value {
            Value::Object(obj) => Some(self.document(obj)),
            Value::StringLit(s) => {
                let inner_lines = LineIndex::new(self.lines.file(), &s.value);
                let at = self.pos(s);
                match parse_strict(&s.value, &inner_lines) {
                    Ok(Some(Value::Object(obj))) => {
                        let mut inner = Cx {
                            lines: &inner_lines,
                            errors: Vec::new(),
                        };
                        let mut doc = inner.document(&obj);
                        for e in inner.errors {
                            self.errors.push(ScanError::new(
                                at.clone(),
                                format!("in the policy document string: {}", e.message),
                            ));
                        }
                        relocate(&mut doc, &at);
                        Some(doc)
                    }
                    Ok(_) => {
                        self.error(s, "a policy document must be a JSON object");
                        None
                    }
                    Err(errs) => {
                        for e in errs {
                            self.errors.push(ScanError::new(
                                at.clone(),
                                format!("in the policy document string: {}", e.message),
                            ));
                        }
                        None
                    }
                }
            }
            other => {
                self.error(other, "a policy document must be a JSON object");
                None
            }
        }
    }

    /// Reports every key that appears twice in one object of `obj`'s subtree: which of the two
    /// values counts differs between JSON readers, so a policy with one is ambiguous (a second
    /// `"Effect"` or `"Action"` could hide what AWS enforces from a reviewer or a scanner).
    fn duplicate_keys(&mut self, obj: &Object<'_>) {
        let mut found = Vec::new();
        let mut objects: Vec<&Object<'_>> = vec![obj];
        while let Some(o) = objects.pop() {
            let mut seen: Vec<&str> = Vec::with_capacity(o.properties.len());
            for prop in &o.properties {
                let key = name(prop);
                if seen.contains(&key) {
                    found.push((self.pos(&prop.name), key.to_string()));
                } else {
                    seen.push(key);
                }
            }
            let mut values: Vec<&Value<'_>> = o.properties.iter().map(|p| &p.value).collect();
            while let Some(v) = values.pop() {
                match v {
                    Value::Object(inner) => objects.push(inner),
                    Value::Array(a) => values.extend(a.elements.iter()),
                    _ => {}
                }
            }
        }
        found.sort_by_key(|(p, _)| (p.line, p.column));
        for (position, key) in found {
            self.errors.push(ScanError::new(
                position,
                format!("duplicate key `{key}` in one object: which value counts is ambiguous"),
            ));
        }
    }

    pub(crate) fn document(&mut self, obj: &Object<'_>) -> PolicyDocument {
        self.duplicate_keys(obj);
        let mut doc = PolicyDocument {
            position: self.pos(obj),
            version: None,
            statements: Vec::new(),
        };
        let mut seen_statement = false;
        for prop in &obj.properties {
            match name(prop) {
                "Version" => {
                    if let Some(v) = self.string(&prop.value, "Version") {
                        if v.value != "2012-10-17" && v.value != "2008-10-17" {
                            self.error(
                                &prop.value,
                                format!(
                                    "`Version` is `{}`; AWS knows `2012-10-17` and `2008-10-17`",
                                    v.value
                                ),
                            );
                        }
                        doc.version = Some(v);
                    }
                }
                "Id" => {}
                "Statement" => {
                    seen_statement = true;
                    match &prop.value {
                        Value::Array(items) => {
                            for item in &items.elements {
                                if let Some(s) = self.statement(item) {
                                    doc.statements.push(s);
                                }
                            }
                        }
                        Value::Object(_) => {
                            if let Some(s) = self.statement(&prop.value) {
                                doc.statements.push(s);
                            }
                        }
                        other => {
                            self.error(other, "`Statement` must be an object or a list of objects")
                        }
                    }
                }
                other => {
                    let other = other.to_string();
                    self.error(
                        &prop.name,
                        format!(
                            "unknown policy element `{other}` (expected Version, Id or Statement)"
                        ),
                    )
                }
            }
        }
        if !seen_statement {
            self.error(obj, "the policy document has no `Statement`");
        }
        doc
    }

    fn statement(&mut self, value: &Value<'_>) -> Option<Statement> {
        let Value::Object(obj) = value else {
            self.error(value, "a statement must be a JSON object");
            return None;
        };
        let position = self.pos(obj);
        let mut effect = None;
        let mut st = Statement::new(Located::new(Effect::Allow, position.clone()), position);
        for prop in &obj.properties {
            let key = name(prop);
            match key {
                "Sid" => st.sid = self.string(&prop.value, "Sid"),
                "Effect" => {
                    if let Some(e) = self.string(&prop.value, "Effect") {
                        match e.value.as_str() {
                            "Allow" => effect = Some(Located::new(Effect::Allow, e.position)),
                            "Deny" => effect = Some(Located::new(Effect::Deny, e.position)),
                            other => {
                                let other = other.to_string();
                                self.error(
                                    &prop.value,
                                    format!("`Effect` is `{other}`; it must be `Allow` or `Deny` (case matters)"),
                                )
                            }
                        }
                    }
                }
                "Action" => st.action = self.strings(&prop.value, key),
                "NotAction" => st.not_action = self.strings(&prop.value, key),
                "Resource" => st.resource = self.strings(&prop.value, key),
                "NotResource" => st.not_resource = self.strings(&prop.value, key),
                "Principal" => st.principal = self.principals(&prop.value, key),
                "NotPrincipal" => st.not_principal = self.principals(&prop.value, key),
                "Condition" => st.condition = self.conditions(&prop.value),
                other => {
                    let other = other.to_string();
                    self.error(
                        &prop.name,
                        format!("unknown statement element `{other}` (expected Sid, Effect, Action, NotAction, Resource, NotResource, Principal, NotPrincipal or Condition)"),
                    )
                }
            }
        }
        match effect {
            Some(e) => st.effect = e,
            None => {
                self.error(obj, "the statement has no `Effect`");
                return None;
            }
        }
        let has_action = obj.get("Action").is_some();
        let has_not_action = obj.get("NotAction").is_some();
        if has_action == has_not_action {
            self.error(
                obj,
                if has_action {
                    "the statement has both `Action` and `NotAction`; it may have only one"
                } else {
                    "the statement has neither `Action` nor `NotAction`"
                },
            );
            return None;
        }
        if obj.get("Resource").is_some() && obj.get("NotResource").is_some() {
            self.error(
                obj,
                "the statement has both `Resource` and `NotResource`; it may have only one",
            );
            return None;
        }
        Some(st)
    }

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<Located<String>> {
        match value {
            Value::StringLit(s) => Some(Located::new(s.value.to_string(), self.pos(s))),
            other => {
                self.error(other, format!("`{what}` must be a string"));
                None
            }
        }
    }

    /// A string or a list of strings.
    fn strings(&mut self, value: &Value<'_>, what: &str) -> Vec<Located<String>> {
        match value {
            Value::StringLit(s) => vec![Located::new(s.value.to_string(), self.pos(s))],
            Value::Array(Array { elements, .. }) => {
                let mut out = Vec::with_capacity(elements.len());
                for el in elements {
                    match el {
                        Value::StringLit(s) => {
                            out.push(Located::new(s.value.to_string(), self.pos(s)))
                        }
                        other => {
                            self.error(other, format!("every entry of `{what}` must be a string"))
                        }
                    }
                }
                out
            }
            other => {
                self.error(
                    other,
                    format!("`{what}` must be a string or a list of strings"),
                );
                Vec::new()
            }
        }
    }

    fn principals(&mut self, value: &Value<'_>, what: &str) -> Vec<Principal> {
        match value {
            Value::StringLit(s) => vec![Principal {
                kind: "*".to_string(),
                value: Located::new(s.value.to_string(), self.pos(s)),
            }],
            Value::Object(obj) => {
                let mut out = Vec::new();
                for prop in &obj.properties {
                    let kind = name(prop).to_string();
                    for v in self.strings(&prop.value, &format!("{what}.{kind}")) {
                        out.push(Principal {
                            kind: kind.clone(),
                            value: v,
                        });
                    }
                }
                out
            }
            other => {
                self.error(other, format!("`{what}` must be `\"*\"` or an object"));
                Vec::new()
            }
        }
    }

    fn conditions(&mut self, value: &Value<'_>) -> Vec<Condition> {
        let Value::Object(ops) = value else {
            self.error(value, "`Condition` must be an object");
            return Vec::new();
        };
        let mut out = Vec::new();
        for op in &ops.properties {
            let operator = Located::new(name(op).to_string(), self.pos(&op.name));
            let Value::Object(keys) = &op.value else {
                self.error(
                    &op.value,
                    format!(
                        "condition operator `{}` must map to an object of keys",
                        operator.value
                    ),
                );
                continue;
            };
            for k in &keys.properties {
                let key = Located::new(name(k).to_string(), self.pos(&k.name));
                let values = match &k.value {
                    Value::Array(a) => a.elements.iter().filter_map(|v| self.scalar(v)).collect(),
                    v => self.scalar(v).into_iter().collect(),
                };
                out.push(Condition {
                    operator: operator.clone(),
                    key,
                    values,
                });
            }
        }
        out
    }

    fn scalar(&mut self, value: &Value<'_>) -> Option<Located<String>> {
        let text = match value {
            Value::StringLit(s) => s.value.to_string(),
            Value::NumberLit(n) => n.value.to_string(),
            Value::BooleanLit(b) => b.value.to_string(),
            other => {
                self.error(
                    other,
                    "a condition value must be a string, number or boolean",
                );
                return None;
            }
        };
        Some(Located::new(text, self.pos(value)))
    }
}

pub(crate) fn name<'a>(prop: &'a jsonc_parser::ast::ObjectProp<'_>) -> &'a str {
    match &prop.name {
        ObjectPropName::String(s) => s.value.as_ref(),
        ObjectPropName::Word(w) => w.value,
    }
}

/// Moves every position of a document parsed from a string to the string's own position.
fn relocate(doc: &mut PolicyDocument, at: &Position) {
    let fix = |p: &mut Position| *p = at.clone();
    fix(&mut doc.position);
    if let Some(v) = &mut doc.version {
        fix(&mut v.position);
    }
    for s in &mut doc.statements {
        fix(&mut s.position);
        fix(&mut s.effect.position);
        if let Some(sid) = &mut s.sid {
            fix(&mut sid.position);
        }
        for l in s
            .action
            .iter_mut()
            .chain(&mut s.not_action)
            .chain(&mut s.resource)
            .chain(&mut s.not_resource)
        {
            fix(&mut l.position);
        }
        for p in s.principal.iter_mut().chain(&mut s.not_principal) {
            fix(&mut p.value.position);
        }
        for c in &mut s.condition {
            fix(&mut c.operator.position);
            fix(&mut c.key.position);
            for v in &mut c.values {
                fix(&mut v.position);
            }
        }
    }
}
