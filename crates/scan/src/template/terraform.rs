//! Terraform: `.tf` modules (through `hcl-edit`, which keeps byte spans) and plan JSON, both
//! turned into [`TfResource`]s and then into the [`Template`] model.
//!
//! The expression evaluator is ours: `hcl-rs`'s evaluator fails on the first unknown
//! variable, while a static check must carry on with values only known after `apply`
//! (resource attributes, variables without defaults). Those become [`Kind::Unknown`] naming
//! the reference (`aws_iam_role.lambda.arn`, `var.layer_arn`), never a guess.

use std::cell::Cell;
use std::collections::HashMap;

use hcl_edit::expr::{Expression, ObjectKey, TraversalOperator};
use hcl_edit::structure::{Block, BlockLabel, Body, Structure};
use hcl_edit::template::{Element, Template as HclTemplate};
use hcl_edit::Span;

use super::model::{
    Dialect, EnvVar, Function, FunctionUrl, ManagedRef, Permission, PolicyDoc, Role, RoleLink,
    Template, Value,
};
use super::node::{parse_json, Key, Kind, LineIndex, Node, ParseError, Pos};

/// One resource (or data source, or module call) with its attributes evaluated.
#[derive(Debug, Clone)]
pub struct TfResource {
    /// `aws_lambda_function`, or `module` for a module call.
    pub ty: String,
    /// The address: `aws_lambda_function.api`, `module.lambda`.
    pub address: String,
    /// Where the block starts.
    pub pos: Pos,
    /// Attributes and nested blocks (each block name maps to a list of block bodies).
    pub attrs: Node,
}

/// One parsed `.tf` file.
pub struct TfFile {
    text: String,
    body: Body,
}

/// Parses one `.tf` file.
pub fn parse_file(text: &str) -> Result<TfFile, ParseError> {
    match hcl_edit::parser::parse_body(text) {
        Ok(body) => Ok(TfFile {
            text: text.to_string(),
            body,
        }),
        Err(e) => Err(ParseError {
            pos: Pos::new(e.location().line(), e.location().column()),
            message: e.message().to_string(),
        }),
    }
}

/// A module: the parsed files of one directory, indexed by [`Pos::file`].
pub struct Module<'a> {
    files: &'a [(u32, TfFile)],
    indexes: Vec<(u32, LineIndex<'a>)>,
    variables: HashMap<String, (u32, Option<&'a Expression>, bool)>,
    locals: HashMap<String, (u32, &'a Expression)>,
    data: HashMap<String, (u32, &'a Block)>,
    depth: Cell<usize>,
    /// Evaluation steps taken, against [`MAX_STEPS`].
    steps: Cell<usize>,
}

/// Evaluation steps one module may take: locals that refer to each other many times over
/// could otherwise take exponential time. Past this, values are unknown.
const MAX_STEPS: usize = 2_000_000;

const MAX_DEPTH: usize = 48;

fn label(l: &BlockLabel) -> &str {
    match l {
        BlockLabel::Ident(i) => i.as_str(),
        BlockLabel::String(s) => s.as_str(),
    }
}

/// The nested blocks of `body` called `name`.
fn blocks<'b>(body: &'b Body, name: &'b str) -> impl Iterator<Item = &'b Block> + 'b {
    body.iter()
        .filter_map(Structure::as_block)
        .filter(move |b| b.ident.as_str() == name)
}

fn attr<'b>(body: &'b Body, name: &str) -> Option<&'b Expression> {
    body.iter().find_map(|s| match s {
        Structure::Attribute(a) if a.key.as_str() == name => Some(&a.value),
        _ => None,
    })
}

impl<'a> Module<'a> {
    /// Indexes variables, locals and data sources of the parsed files.
    pub fn new(files: &'a [(u32, TfFile)]) -> Self {
        let mut m = Module {
            files,
            indexes: files
                .iter()
                .map(|(i, f)| (*i, LineIndex::new(&f.text)))
                .collect(),
            variables: HashMap::new(),
            locals: HashMap::new(),
            data: HashMap::new(),
            depth: Cell::new(0),
            steps: Cell::new(0),
        };
        for (fi, f) in files {
            for block in f.body.iter().filter_map(Structure::as_block) {
                match (block.ident.as_str(), block.labels.as_slice()) {
                    ("variable", [name]) => {
                        let sensitive = attr(&block.body, "sensitive")
                            .is_some_and(|e| matches!(e, Expression::Bool(b) if *b.value()));
                        m.variables.insert(
                            label(name).to_string(),
                            (*fi, attr(&block.body, "default"), sensitive),
                        );
                    }
                    ("locals", []) => {
                        for a in block.body.iter().filter_map(Structure::as_attribute) {
                            m.locals.insert(a.key.as_str().to_string(), (*fi, &a.value));
                        }
                    }
                    ("data", [ty, name]) => {
                        m.data
                            .insert(format!("{}.{}", label(ty), label(name)), (*fi, block));
                    }
                    _ => {}
                }
            }
        }
        m
    }

    fn pos(&self, fi: u32, span: Option<std::ops::Range<usize>>) -> Pos {
        let index = self.indexes.iter().find(|(i, _)| *i == fi).map(|(_, x)| x);
        let at = match (index, span) {
            (Some(index), Some(span)) => index.pos(span.start),
            _ => Pos::new(1, 1),
        };
        Pos { file: fi, ..at }
    }

    /// Every resource, data source and module call, evaluated.
    pub fn resources(&self) -> Vec<TfResource> {
        let mut out = Vec::new();
        for (fi, f) in self.files {
            for block in f.body.iter().filter_map(Structure::as_block) {
                let (ty, address) = match (block.ident.as_str(), block.labels.as_slice()) {
                    ("resource", [ty, name]) => (
                        label(ty).to_string(),
                        format!("{}.{}", label(ty), label(name)),
                    ),
                    ("module", [name]) => ("module".to_string(), format!("module.{}", label(name))),
                    _ => continue,
                };
                let pos = self.pos(*fi, block.span());
                out.push(TfResource {
                    ty,
                    address,
                    pos,
                    attrs: self.eval_body(*fi, &block.body, pos),
                });
            }
        }
        out
    }

    /// A body as a mapping: attributes evaluated, nested blocks as lists of mappings.
    fn eval_body(&self, fi: u32, body: &Body, pos: Pos) -> Node {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        for s in body.iter() {
            match s {
                Structure::Attribute(a) => {
                    let key = Key {
                        name: a.key.as_str().to_string(),
                        pos: self.pos(fi, a.key.span()),
                    };
                    entries.push((key, self.eval(fi, &a.value)));
                }
                Structure::Block(b) => {
                    let bpos = self.pos(fi, b.span());
                    let node = self.eval_body(fi, &b.body, bpos);
                    let name = b.ident.as_str();
                    match entries.iter_mut().find(|(k, _)| k.name == name) {
                        Some((
                            _,
                            Node {
                                kind: Kind::Seq(items),
                                ..
                            },
                        )) => items.push(node),
                        _ => entries.push((
                            Key {
                                name: name.to_string(),
                                pos: bpos,
                            },
                            Node::new(bpos, Kind::Seq(vec![node])),
                        )),
                    }
                }
            }
        }
        Node::new(pos, Kind::Map(entries))
    }

    fn unknown(pos: Pos, what: impl Into<String>) -> Node {
        Node::new(pos, Kind::Unknown(what.into()))
    }

    /// Evaluates an expression as far as it can be known before `apply`.
    pub fn eval(&self, fi: u32, expr: &Expression) -> Node {
        let depth = self.depth.get();
        let pos = self.pos(fi, expr.span());
        self.steps.set(self.steps.get() + 1);
        if depth > MAX_DEPTH || self.steps.get() > MAX_STEPS {
            return Self::unknown(pos, "an expression nested too deeply");
        }
        self.depth.set(depth + 1);
        let node = self.eval_inner(fi, expr, pos);
        self.depth.set(depth);
        node
    }

    fn eval_inner(&self, fi: u32, expr: &Expression, pos: Pos) -> Node {
        match expr {
            Expression::Null(_) => Node::new(pos, Kind::Null),
            Expression::Bool(b) => Node::new(pos, Kind::Bool(*b.value())),
            Expression::Number(n) => Node::str(pos, n.value().to_string()),
            Expression::String(s) => Node::str(pos, s.value().clone()),
            Expression::Array(a) => {
                Node::new(pos, Kind::Seq(a.iter().map(|e| self.eval(fi, e)).collect()))
            }
            Expression::Object(o) => Node::new(
                pos,
                Kind::Map(
                    o.iter()
                        .map(|(k, v)| {
                            let (name, kpos) = match k {
                                ObjectKey::Ident(i) => {
                                    (i.as_str().to_string(), self.pos(fi, i.span()))
                                }
                                ObjectKey::Expression(e) => {
                                    let n = self.eval(fi, e);
                                    (render(&n), n.pos)
                                }
                            };
                            (Key { name, pos: kpos }, self.eval(fi, v.expr()))
                        })
                        .collect(),
                ),
            ),
            Expression::StringTemplate(t) => self.eval_template(fi, t, pos),
            Expression::HeredocTemplate(h) => {
                // The text starts on the line after `<<EOF`.
                let start = h
                    .template
                    .iter()
                    .next()
                    .and_then(element_span)
                    .map(|s| self.pos(fi, Some(s)));
                let mut node = self.eval_template(fi, &h.template, pos);
                if let (Some(start), Kind::Str(_)) = (start, &node.kind) {
                    node.pos = start;
                }
                node
            }
            Expression::Parenthesis(p) => self.eval(fi, p.inner()),
            Expression::Variable(v) => Self::unknown(pos, v.as_str()),
            Expression::Conditional(c) => match self.eval(fi, &c.cond_expr).kind {
                Kind::Bool(true) => self.eval(fi, &c.true_expr),
                Kind::Bool(false) => self.eval(fi, &c.false_expr),
                _ => Self::unknown(pos, "a conditional expression"),
            },
            Expression::FuncCall(call) => self.eval_call(fi, call, pos),
            Expression::Traversal(t) => self.eval_traversal(fi, &t.expr, &t.operators, pos),
            Expression::UnaryOp(u) => match (u.operator.value(), self.eval(fi, &u.expr).kind) {
                (hcl_edit::expr::UnaryOperator::Not, Kind::Bool(b)) => {
                    Node::new(pos, Kind::Bool(!b))
                }
                _ => Self::unknown(pos, "an operation"),
            },
            Expression::BinaryOp(op) => {
                use hcl_edit::expr::BinaryOperator as B;
                let (l, r) = (self.eval(fi, &op.lhs_expr), self.eval(fi, &op.rhs_expr));
                let known = |n: &Node| !matches!(n.kind, Kind::Unknown(_));
                match op.operator.value() {
                    B::Eq if known(&l) && known(&r) => {
                        Node::new(pos, Kind::Bool(render(&l) == render(&r)))
                    }
                    B::NotEq if known(&l) && known(&r) => {
                        Node::new(pos, Kind::Bool(render(&l) != render(&r)))
                    }
                    B::And => match (l.kind, r.kind) {
                        (Kind::Bool(a), Kind::Bool(b)) => Node::new(pos, Kind::Bool(a && b)),
                        _ => Self::unknown(pos, "an operation"),
                    },
                    B::Or => match (l.kind, r.kind) {
                        (Kind::Bool(a), Kind::Bool(b)) => Node::new(pos, Kind::Bool(a || b)),
                        _ => Self::unknown(pos, "an operation"),
                    },
                    _ => Self::unknown(pos, "an operation"),
                }
            }
            Expression::ForExpr(_) => Self::unknown(pos, "a for expression"),
        }
    }

    fn eval_template(&self, fi: u32, t: &HclTemplate, pos: Pos) -> Node {
        let elements: Vec<&Element> = t.iter().collect();
        // `"${x}"` is x itself, not its text.
        if let [Element::Interpolation(i)] = elements.as_slice() {
            return self.eval(fi, &i.expr);
        }
        let mut out = String::new();
        for e in elements {
            match e {
                Element::Literal(s) => out.push_str(s.value()),
                Element::Interpolation(i) => out.push_str(&render(&self.eval(fi, &i.expr))),
                Element::Directive(_) => out.push_str("${…}"),
            }
        }
        Node::str(pos, out)
    }

    fn eval_call(&self, fi: u32, call: &hcl_edit::expr::FuncCall, pos: Pos) -> Node {
        let name = call.name.name.as_str();
        let args: Vec<&Expression> = call.args.iter().collect();
        let evaluated = || args.iter().map(|a| self.eval(fi, a)).collect::<Vec<_>>();
        match (name, args.as_slice()) {
            // Policies stay structured: positions then point at the HCL that wrote them.
            ("jsonencode" | "tolist" | "toset" | "tomap" | "sensitive" | "nonsensitive", [a]) => {
                self.eval(fi, a)
            }
            ("jsondecode", [a]) => match self.eval(fi, a).kind {
                Kind::Str(s) => parse_json(&s)
                    .map(|n| relocate(n, pos))
                    .unwrap_or_else(|_| Self::unknown(pos, "jsondecode(…)")),
                _ => Self::unknown(pos, "jsondecode(…)"),
            },
            ("concat" | "flatten", _) => {
                let mut items = Vec::new();
                for n in evaluated() {
                    match n.kind {
                        Kind::Seq(inner) => items.extend(inner),
                        _ => items.push(n),
                    }
                }
                Node::new(pos, Kind::Seq(items))
            }
            ("merge", _) => {
                let mut entries: Vec<(Key, Node)> = Vec::new();
                for n in evaluated() {
                    if let Kind::Map(inner) = n.kind {
                        for (k, v) in inner {
                            entries.retain(|(e, _)| e.name != k.name);
                            entries.push((k, v));
                        }
                    }
                }
                Node::new(pos, Kind::Map(entries))
            }
            ("compact", [a]) => match self.eval(fi, a).kind {
                Kind::Seq(items) => Node::new(
                    pos,
                    Kind::Seq(
                        items
                            .into_iter()
                            .filter(|n| !matches!(&n.kind, Kind::Null) && n.as_str() != Some(""))
                            .collect(),
                    ),
                ),
                _ => Self::unknown(pos, "compact(…)"),
            },
            ("lower" | "upper" | "trimspace", [a]) => match self.eval(fi, a).kind {
                Kind::Str(s) => Node::str(
                    pos,
                    match name {
                        "lower" => s.to_lowercase(),
                        "upper" => s.to_uppercase(),
                        _ => s.trim().to_string(),
                    },
                ),
                _ => Self::unknown(pos, format!("{name}(…)")),
            },
            ("try" | "coalesce", _) => evaluated()
                .into_iter()
                .find(|n| !matches!(n.kind, Kind::Unknown(_) | Kind::Null))
                .unwrap_or_else(|| Self::unknown(pos, format!("{name}(…)"))),
            ("lookup", [map, key, rest @ ..]) => {
                let (m, k) = (self.eval(fi, map), self.eval(fi, key));
                match (k.as_str().and_then(|k| m.get(k)), rest.first()) {
                    (Some(v), _) => v.clone(),
                    (None, Some(default)) if m.as_map().is_some() => self.eval(fi, default),
                    _ => Self::unknown(pos, "lookup(…)"),
                }
            }
            _ => Self::unknown(pos, format!("{name}(…)")),
        }
    }

    fn eval_traversal(
        &self,
        fi: u32,
        root: &Expression,
        ops: &[hcl_edit::repr::Decorated<TraversalOperator>],
        pos: Pos,
    ) -> Node {
        let names: Vec<&str> = ops
            .iter()
            .map_while(|op| match op.value() {
                TraversalOperator::GetAttr(i) => Some(i.as_str()),
                _ => None,
            })
            .collect();
        let Expression::Variable(root_name) = root else {
            let base = self.eval(fi, root);
            return apply_ops(self, fi, base, ops, pos);
        };
        let root_name = root_name.as_str();
        let path = std::iter::once(root_name)
            .chain(names.iter().copied())
            .collect::<Vec<_>>()
            .join(".");
        match (root_name, names.as_slice()) {
            ("var", [name, ..]) => match self.variables.get(*name) {
                Some((vfi, Some(default), _)) => {
                    let mut v = self.eval(*vfi, default);
                    v.pos = pos;
                    apply_ops(self, fi, v, &ops[1..], pos)
                }
                _ => Self::unknown(pos, path),
            },
            ("local", [name, ..]) => match self.locals.get(*name) {
                Some((lfi, e)) => {
                    let v = self.eval(*lfi, e);
                    apply_ops(self, fi, v, &ops[1..], pos)
                }
                None => Self::unknown(pos, path),
            },
            // `data "aws_iam_policy"` looked up by a literal ARN (an AWS managed policy, most
            // often): its `arn` is that ARN, written where the reference is.
            ("data", [ty, name, field]) if *ty == "aws_iam_policy" && *field == "arn" => {
                let arn = self
                    .data
                    .get(&format!("{ty}.{name}"))
                    .and_then(|(dfi, block)| attr(&block.body, "arn").map(|e| self.eval(*dfi, e)));
                match arn {
                    Some(mut v) if v.as_str().is_some() => {
                        v.pos = pos;
                        v
                    }
                    _ => Self::unknown(pos, path),
                }
            }
            ("data", [ty, name, attr, ..])
                if *ty == "aws_iam_policy_document" && *attr == "json" =>
            {
                match self.data.get(&format!("{ty}.{name}")) {
                    Some((dfi, block)) => self.policy_document(*dfi, block),
                    None => Self::unknown(pos, path),
                }
            }
            _ => Self::unknown(pos, path),
        }
    }

    /// Renders a `data "aws_iam_policy_document"` into the JSON document it produces, with
    /// the positions of the HCL that wrote each part.
    fn policy_document(&self, fi: u32, block: &Block) -> Node {
        let pos = self.pos(fi, block.span());
        let mut statements: Vec<Node> = Vec::new();
        for key in ["source_policy_documents", "source_json"] {
            if let Some(e) = attr(&block.body, key) {
                let docs = match self.eval(fi, e).kind {
                    Kind::Seq(items) => items,
                    other => vec![Node::new(pos, other)],
                };
                for d in docs {
                    let d = match &d.kind {
                        Kind::Str(s) => parse_json(s).map(|n| relocate(n, d.pos)).unwrap_or(d),
                        _ => d,
                    };
                    if let Some(s) = d.get("Statement").and_then(Node::as_seq) {
                        statements.extend(s.iter().cloned());
                    }
                }
            }
        }
        for st in blocks(&block.body, "statement") {
            let spos = self.pos(fi, st.span());
            let mut entries: Vec<(Key, Node)> = Vec::new();
            let mut put = |name: &str, node: Node| {
                entries.push((
                    Key {
                        name: name.to_string(),
                        pos: node.pos,
                    },
                    node,
                ))
            };
            for (hcl, json) in [
                ("sid", "Sid"),
                ("effect", "Effect"),
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ] {
                if let Some(e) = attr(&st.body, hcl) {
                    put(json, self.eval(fi, e));
                }
            }
            if attr(&st.body, "effect").is_none() {
                put("Effect", Node::str(spos, "Allow"));
            }
            for (hcl, json) in [
                ("principals", "Principal"),
                ("not_principals", "NotPrincipal"),
            ] {
                let mut principal: Vec<(Key, Node)> = Vec::new();
                for p in blocks(&st.body, hcl) {
                    let ppos = self.pos(fi, p.span());
                    let ty = attr(&p.body, "type")
                        .map(|e| render(&self.eval(fi, e)))
                        .unwrap_or_default();
                    let ids = attr(&p.body, "identifiers")
                        .map_or(Node::new(ppos, Kind::Seq(Vec::new())), |e| self.eval(fi, e));
                    principal.push((
                        Key {
                            name: ty,
                            pos: ppos,
                        },
                        ids,
                    ));
                }
                if !principal.is_empty() {
                    put(json, Node::new(spos, Kind::Map(principal)));
                }
            }
            let mut conditions: Vec<(Key, Node)> = Vec::new();
            for c in blocks(&st.body, "condition") {
                let cpos = self.pos(fi, c.span());
                let get = |k: &str| attr(&c.body, k).map(|e| self.eval(fi, e));
                let test = get("test").map(|n| render(&n)).unwrap_or_default();
                let variable = get("variable").map(|n| render(&n)).unwrap_or_default();
                let values = get("values").unwrap_or(Node::new(cpos, Kind::Seq(Vec::new())));
                match conditions.iter_mut().find(|(k, _)| k.name == test) {
                    Some((
                        _,
                        Node {
                            kind: Kind::Map(m), ..
                        },
                    )) => m.push((
                        Key {
                            name: variable,
                            pos: cpos,
                        },
                        values,
                    )),
                    _ => conditions.push((
                        Key {
                            name: test,
                            pos: cpos,
                        },
                        Node::new(
                            cpos,
                            Kind::Map(vec![(
                                Key {
                                    name: variable,
                                    pos: cpos,
                                },
                                values,
                            )]),
                        ),
                    )),
                }
            }
            if !conditions.is_empty() {
                put("Condition", Node::new(spos, Kind::Map(conditions)));
            }
            statements.push(Node::new(spos, Kind::Map(entries)));
        }
        Node::new(
            pos,
            Kind::Map(vec![
                (
                    Key {
                        name: "Version".into(),
                        pos,
                    },
                    Node::str(pos, "2012-10-17"),
                ),
                (
                    Key {
                        name: "Statement".into(),
                        pos,
                    },
                    Node::new(pos, Kind::Seq(statements)),
                ),
            ]),
        )
    }
}

fn element_span(e: &Element) -> Option<std::ops::Range<usize>> {
    match e {
        Element::Literal(s) => s.span(),
        Element::Interpolation(i) => i.span(),
        Element::Directive(d) => d.span(),
    }
}

fn apply_ops(
    m: &Module<'_>,
    fi: u32,
    mut node: Node,
    ops: &[hcl_edit::repr::Decorated<TraversalOperator>],
    pos: Pos,
) -> Node {
    for op in ops {
        let next = match op.value() {
            TraversalOperator::GetAttr(i) => node.get(i.as_str()).cloned(),
            TraversalOperator::Index(e) => {
                let idx = m.eval(fi, e);
                match (&node.kind, idx.as_str()) {
                    (Kind::Seq(items), Some(i)) => {
                        i.parse::<usize>().ok().and_then(|i| items.get(i).cloned())
                    }
                    (Kind::Map(_), Some(k)) => node.get(k).cloned(),
                    _ => None,
                }
            }
            TraversalOperator::LegacyIndex(i) => {
                let i = usize::try_from(*i.value()).ok();
                node.as_seq()
                    .and_then(|items| i.and_then(|i| items.get(i).cloned()))
            }
            _ => None,
        };
        node = match next {
            Some(n) => n,
            None if matches!(node.kind, Kind::Unknown(_)) => return node,
            None => return Module::unknown(pos, "an element that is not there"),
        };
    }
    node
}

/// The text of a value inside a string: references show as `${…}`.
pub fn render(n: &Node) -> String {
    match &n.kind {
        Kind::Str(s) => s.clone(),
        Kind::Bool(b) => b.to_string(),
        Kind::Null => String::new(),
        Kind::Unknown(what) => format!("${{{what}}}"),
        Kind::Seq(_) | Kind::Map(_) => "${…}".into(),
    }
}

/// Moves a tree parsed from a string to where the string is: lines shift by the string's
/// line; columns on the first line by its column.
pub fn relocate(node: Node, at: Pos) -> Node {
    fn shift(p: Pos, at: Pos) -> Pos {
        Pos {
            file: at.file,
            line: at.line + p.line.saturating_sub(1),
            column: if p.line <= 1 {
                at.column + p.column.saturating_sub(1)
            } else {
                p.column
            },
        }
    }
    let pos = shift(node.pos, at);
    let kind = match node.kind {
        Kind::Seq(items) => Kind::Seq(items.into_iter().map(|i| relocate(i, at)).collect()),
        Kind::Map(entries) => Kind::Map(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        Key {
                            name: k.name,
                            pos: shift(k.pos, at),
                        },
                        relocate(v, at),
                    )
                })
                .collect(),
        ),
        other => other,
    };
    Node::new(pos, kind)
}

/// A policy attribute's value as a document: structured already (jsonencode, a policy
/// document data source) or JSON text (heredoc, string), parsed where it is written.
fn policy_doc(value: &Node) -> Option<Node> {
    match &value.kind {
        Kind::Map(_) => Some(value.clone()),
        Kind::Str(s) => parse_json(s).ok().map(|n| relocate(n, value.pos)),
        _ => None,
    }
}

/// The address a reference names: `aws_iam_role.x.arn` → `aws_iam_role.x`.
fn address_of(n: &Node, ty: &str) -> Option<String> {
    let text = match &n.kind {
        Kind::Unknown(t) => t.as_str(),
        _ => return None,
    };
    let mut parts = text.split('.');
    match (parts.next(), parts.next()) {
        (Some(t), Some(name)) if t == ty => Some(format!("{t}.{name}")),
        _ => None,
    }
}

fn get<'n>(r: &'n TfResource, key: &str) -> Option<&'n Node> {
    r.attrs.get(key)
}

fn first_block<'n>(r: &'n TfResource, key: &str) -> Option<&'n Node> {
    get(r, key).and_then(Node::as_seq).and_then(<[Node]>::first)
}

/// Builds the model from resources; `sensitive` names the variables marked sensitive.
pub fn extract(resources: &[TfResource], sensitive: &[String]) -> Template {
    let mut t = Template::default();
    let mut policies: HashMap<String, Node> = HashMap::new();
    let mut layer_names: HashMap<String, String> = HashMap::new();
    for r in resources {
        match r.ty.as_str() {
            "aws_iam_role" => {
                let mut role = Role {
                    id: r.address.clone(),
                    pos: r.pos,
                    ..Role::default()
                };
                for block in get(r, "inline_policy")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                {
                    if let Some(doc) = block.get("policy").and_then(policy_doc) {
                        let name = block.get("name").map(render).unwrap_or_default();
                        role.policies.push(PolicyDoc {
                            name: format!("{}/inline_policy/{name}", r.address),
                            doc,
                        });
                    }
                }
                t.roles.push(role);
            }
            "aws_iam_policy" => {
                if let Some(doc) = get(r, "policy").and_then(policy_doc) {
                    policies.insert(r.address.clone(), doc);
                }
            }
            "aws_lambda_layer_version" => {
                layer_names.insert(
                    r.address.clone(),
                    get(r, "layer_name").map(render).unwrap_or_default(),
                );
            }
            _ => {}
        }
    }
    let role_named = |t: &Template, n: &Node| -> Option<usize> {
        let by_address = address_of(n, "aws_iam_role");
        let by_name = n
            .as_str()
            .map(|s| s.rsplit('/').next().unwrap_or(s).to_string());
        t.roles.iter().position(|role| {
            by_address.as_deref() == Some(role.id.as_str())
                || by_name.as_deref().is_some_and(|name| {
                    resources
                        .iter()
                        .find(|r| r.address == role.id)
                        .and_then(|r| get(r, "name"))
                        .and_then(Node::as_str)
                        == Some(name)
                })
        })
    };
    let mut standalone: Vec<(&TfResource, Node)> = Vec::new();
    for r in resources {
        match r.ty.as_str() {
            "aws_iam_role" => {
                // `managed_policy_arns`: an `aws_iam_policy` of the module counts with its
                // document (it may be declared after the role); others are named only.
                let Some(i) = t.roles.iter().position(|role| role.id == r.address) else {
                    continue;
                };
                for arn in get(r, "managed_policy_arns")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                {
                    match address_of(arn, "aws_iam_policy")
                        .and_then(|a| policies.get(&a).map(|d| (a, d)))
                    {
                        Some((a, doc)) => t.roles[i].policies.push(PolicyDoc {
                            name: a,
                            doc: doc.clone(),
                        }),
                        None => t.roles[i].managed.push(ManagedRef {
                            arn: render(arn),
                            pos: arn.pos,
                        }),
                    }
                }
            }
            "aws_iam_role_policy" => {
                let Some(doc) = get(r, "policy").and_then(policy_doc) else {
                    continue;
                };
                match get(r, "role").and_then(|n| role_named(&t, n)) {
                    Some(i) => t.roles[i].policies.push(PolicyDoc {
                        name: r.address.clone(),
                        doc,
                    }),
                    // A role of another module: still checked, on its own.
                    None => standalone.push((r, doc)),
                }
            }
            "aws_iam_user_policy" | "aws_iam_group_policy" => {
                if let Some(doc) = get(r, "policy").and_then(policy_doc) {
                    standalone.push((r, doc));
                }
            }
            "aws_iam_role_policy_attachment" | "aws_iam_policy_attachment" => {
                let mut targets: Vec<usize> = get(r, "role")
                    .and_then(|n| role_named(&t, n))
                    .into_iter()
                    .collect();
                targets.extend(
                    get(r, "roles")
                        .and_then(Node::as_seq)
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|n| role_named(&t, n)),
                );
                let Some(arn) = get(r, "policy_arn") else {
                    continue;
                };
                for i in targets {
                    match address_of(arn, "aws_iam_policy")
                        .and_then(|a| policies.get(&a).map(|d| (a, d)))
                    {
                        Some((a, doc)) => t.roles[i].policies.push(PolicyDoc {
                            name: a,
                            doc: doc.clone(),
                        }),
                        None => t.roles[i].managed.push(ManagedRef {
                            arn: render(arn),
                            pos: arn.pos,
                        }),
                    }
                }
            }
            _ => {}
        }
    }
    // Policies that no role of the module takes (for users, groups, other modules' roles, or
    // nobody yet) are still checked, each as a subject of its own.
    for r in resources.iter().filter(|r| r.ty == "aws_iam_policy") {
        let attached = t
            .roles
            .iter()
            .any(|role| role.policies.iter().any(|p| p.name == r.address));
        if let (false, Some(doc)) = (attached, policies.get(&r.address)) {
            standalone.push((r, doc.clone()));
        }
    }
    for (r, doc) in standalone {
        t.roles.push(Role {
            id: r.address.clone(),
            pos: r.pos,
            policies: vec![PolicyDoc {
                name: r.address.clone(),
                doc,
            }],
            ..Role::default()
        });
    }
    for r in resources {
        match r.ty.as_str() {
            "aws_lambda_function" => {
                let f = function(r, &t, &layer_names, sensitive, &role_named);
                t.functions.push(f);
            }
            "module"
                if get(r, "source")
                    .and_then(Node::as_str)
                    .is_some_and(|s| s.contains("terraform-aws-modules/lambda")) =>
            {
                t.functions
                    .push(module_function(r, &layer_names, sensitive));
            }
            "aws_lambda_function_url" => {
                if let Some(auth) = get(r, "authorization_type") {
                    t.urls.push(FunctionUrl {
                        id: r.address.clone(),
                        auth_type: Value::new(auth.clone()),
                    });
                }
            }
            "aws_lambda_permission" => {
                let Some(principal) = get(r, "principal") else {
                    continue;
                };
                t.permissions.push(Permission {
                    id: r.address.clone(),
                    pos: r.pos,
                    principal: Value::new(principal.clone()),
                    action: get(r, "action").and_then(Node::as_str).map(str::to_string),
                    has_source: ["source_arn", "source_account", "principal_org_id"]
                        .iter()
                        .any(|k| get(r, k).is_some_and(|n| !matches!(n.kind, Kind::Null))),
                });
            }
            _ => {}
        }
    }
    t
}

fn layers_of(node: Option<&Node>, layer_names: &HashMap<String, String>) -> Vec<Value> {
    let items: Vec<Node> = match node.map(|n| &n.kind) {
        Some(Kind::Seq(items)) => items.clone(),
        Some(_) => node.into_iter().cloned().collect(),
        None => Vec::new(),
    };
    items
        .into_iter()
        .map(|mut n| {
            if let Some(addr) = address_of(&n, "aws_lambda_layer_version") {
                if let (Some(name), Kind::Unknown(what)) = (layer_names.get(&addr), &n.kind) {
                    n.kind = Kind::Unknown(format!("{what} (layer {name})"));
                }
            }
            Value::new(n)
        })
        .collect()
}

fn env_of(vars: Option<&Node>, sensitive: &[String]) -> Vec<EnvVar> {
    vars.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| EnvVar {
            name: k.name.clone(),
            pos: k.pos,
            value: Value::new(v.clone()),
            from_secret_parameter: match &v.kind {
                Kind::Unknown(what) => sensitive
                    .iter()
                    .find(|s| what == &format!("var.{s}"))
                    .cloned(),
                _ => None,
            },
        })
        .collect()
}

fn function(
    r: &TfResource,
    t: &Template,
    layer_names: &HashMap<String, String>,
    sensitive: &[String],
    role_named: &dyn Fn(&Template, &Node) -> Option<usize>,
) -> Function {
    let (role, role_pos) = match r.attrs.entry("role") {
        Some((k, n)) => match role_named(t, n) {
            Some(i) => (RoleLink::Defined(t.roles[i].id.clone()), k.pos),
            None => (RoleLink::External(render(n)), k.pos),
        },
        None => (RoleLink::Missing, r.pos),
    };
    let env = first_block(r, "environment").and_then(|e| e.get("variables"));
    tf_function(r, env, (role, role_pos), layer_names, sensitive)
}

/// `module "x" { source = "terraform-aws-modules/lambda/aws" }`: the community module's
/// inputs. Its role is created inside the module, so role findings are not linked.
fn module_function(
    r: &TfResource,
    layer_names: &HashMap<String, String>,
    sensitive: &[String],
) -> Function {
    let role = RoleLink::External(format!("the role created by {}", r.address));
    tf_function(
        r,
        get(r, "environment_variables"),
        (role, r.pos),
        layer_names,
        sensitive,
    )
}

/// The function model from a resource's (or module call's) attributes.
fn tf_function(
    r: &TfResource,
    env: Option<&Node>,
    (role, role_pos): (RoleLink, Pos),
    layer_names: &HashMap<String, String>,
    sensitive: &[String],
) -> Function {
    Function {
        id: r.address.clone(),
        pos: r.pos,
        dialect: Dialect::Terraform,
        image: get(r, "package_type")
            .and_then(Node::as_str)
            .is_some_and(|p| p.eq_ignore_ascii_case("Image"))
            || get(r, "image_uri").is_some(),
        runtime: get(r, "runtime").cloned().map(Value::new),
        layers: layers_of(get(r, "layers"), layer_names),
        env: env_of(env, sensitive),
        role,
        role_pos,
    }
}

/// The variables of a module that are marked `sensitive = true`.
pub fn sensitive_variables(m: &Module<'_>) -> Vec<String> {
    m.variables
        .iter()
        .filter(|(_, (_, _, s))| *s)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Reads a Terraform plan (`terraform show -json`): every resource of `planned_values`,
/// with references from `configuration` standing in for values only known after apply.
pub fn plan_resources(root: &Node) -> Vec<TfResource> {
    let mut refs: HashMap<String, Vec<(String, String)>> = HashMap::new();
    if let Some(config) = root.get("configuration").and_then(|c| c.get("root_module")) {
        for r in config
            .get("resources")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let Some(addr) = r.get("address").and_then(Node::as_str) else {
                continue;
            };
            for (k, e) in r
                .get("expressions")
                .and_then(Node::as_map)
                .unwrap_or_default()
            {
                if let Some(first) = e
                    .get("references")
                    .and_then(Node::as_seq)
                    .and_then(<[Node]>::first)
                    .and_then(Node::as_str)
                {
                    refs.entry(addr.to_string())
                        .or_default()
                        .push((k.name.clone(), first.to_string()));
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut stack: Vec<&Node> = root
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
        .into_iter()
        .collect();
    while let Some(module) = stack.pop() {
        for r in module
            .get("resources")
            .and_then(Node::as_seq)
            .unwrap_or_default()
        {
            let (Some(addr), Some(ty)) = (
                r.get("address").and_then(Node::as_str),
                r.get("type").and_then(Node::as_str),
            ) else {
                continue;
            };
            if r.get("mode").and_then(Node::as_str) == Some("data") {
                continue;
            }
            let mut attrs = r
                .get("values")
                .cloned()
                .unwrap_or(Node::new(r.pos, Kind::Map(Vec::new())));
            if let Kind::Map(entries) = &mut attrs.kind {
                for (k, reference) in refs.get(addr).map(Vec::as_slice).unwrap_or_default() {
                    let missing = entries
                        .iter()
                        .all(|(e, v)| e.name != *k || matches!(v.kind, Kind::Null));
                    if missing {
                        entries.retain(|(e, _)| e.name != *k);
                        entries.push((
                            Key {
                                name: k.clone(),
                                pos: r.pos,
                            },
                            Node::new(r.pos, Kind::Unknown(reference.clone())),
                        ));
                    }
                }
            }
            out.push(TfResource {
                ty: ty.to_string(),
                address: addr.to_string(),
                pos: r.pos,
                attrs,
            });
        }
        stack.extend(
            module
                .get("child_modules")
                .and_then(Node::as_seq)
                .unwrap_or_default(),
        );
    }
    out
}

/// Does this JSON document look like a Terraform plan?
pub fn looks_like_plan(root: &Node) -> bool {
    root.get("planned_values").is_some() || root.get("resource_changes").is_some()
}
