//! SAM and CloudFormation: intrinsic resolution, SAM `Globals`, and extraction of the
//! [`Template`] model.
//!
//! No crate evaluates CloudFormation intrinsics offline (cfn-lint and the SAM translator are
//! Python and need the whole template machinery), so the resolver is ours. It is deliberately
//! partial: what cannot be known before deployment (a parameter without default, a resource
//! attribute, an import) becomes [`Kind::Unknown`] naming the reference, never a guess.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use super::model::{
    Dialect, EnvVar, Function, FunctionUrl, ManagedRef, Note, Permission, PolicyDoc, Role,
    RoleLink, Template, Value,
};
use super::node::{Key, Kind, Node, Pos};

/// Why a document is not a template we can read (the caller turns this into a [`ScanError`]).
///
/// [`ScanError`]: crate::ScanError
#[derive(Debug, Clone, PartialEq)]
pub struct NotATemplate {
    /// Where.
    pub pos: Pos,
    /// What.
    pub message: String,
}

/// Does this document look like a CloudFormation/SAM template?
pub fn looks_like_template(root: &Node) -> bool {
    root.get("Resources").is_some()
        || root.get("AWSTemplateFormatVersion").is_some()
        || root.get("Transform").is_some()
}

/// One [`Template`] per assignment of undecided conditions (with that assignment described),
/// and the template errors met while resolving.
pub type Extracted = (Vec<(Template, String)>, Vec<NotATemplate>);

/// Whether the template uses the SAM transform.
fn is_sam(root: &Node) -> bool {
    let names = |n: &Node| n.as_str().is_some_and(|s| s.starts_with("AWS::Serverless"));
    match root.get("Transform") {
        Some(t) => names(t) || t.as_seq().is_some_and(|items| items.iter().any(names)),
        None => false,
    }
}

/// A template parameter.
struct Param {
    default: Option<Node>,
    no_echo: bool,
    ssm: bool,
}

/// Resolves intrinsics against one template.
pub struct Resolver<'a> {
    params: HashMap<String, Param>,
    /// Logical id → resource type.
    resources: HashMap<String, String>,
    /// Layer resources: logical id → layer name (for the sensor rule).
    layer_names: HashMap<String, String>,
    mappings: Option<&'a Node>,
    conditions: HashMap<String, &'a Node>,
    /// Values chosen for conditions that cannot be decided from the template alone.
    assume: HashMap<String, bool>,
    /// References to nothing and intrinsics of the wrong shape: template errors.
    problems: RefCell<Vec<NotATemplate>>,
    /// The template is transformed by SAM (`Transform: AWS::Serverless-2016-10-31`).
    sam: bool,
    /// Resolution steps taken, against [`MAX_STEPS`].
    steps: Cell<usize>,
}

/// Resolution steps one pass may take: conditions and values that refer to each other many
/// times over could otherwise take exponential time. Past this, values are unknown.
const MAX_STEPS: usize = 2_000_000;

const MAX_DEPTH: usize = 64;

impl<'a> Resolver<'a> {
    fn new(root: &'a Node) -> Self {
        let mut params = HashMap::new();
        if let Some(entries) = root.get("Parameters").and_then(Node::as_map) {
            for (k, v) in entries {
                let no_echo = matches!(v.get("NoEcho").map(|n| &n.kind), Some(Kind::Bool(true)))
                    || v.get("NoEcho")
                        .and_then(Node::as_str)
                        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
                let ssm = v
                    .get("Type")
                    .and_then(Node::as_str)
                    .is_some_and(|t| t.starts_with("AWS::SSM::Parameter::Value"));
                params.insert(
                    k.name.clone(),
                    Param {
                        default: v.get("Default").cloned(),
                        no_echo,
                        ssm,
                    },
                );
            }
        }
        let mut resources = HashMap::new();
        let mut layer_names = HashMap::new();
        if let Some(entries) = root.get("Resources").and_then(Node::as_map) {
            for (k, v) in entries {
                let ty = v
                    .get("Type")
                    .and_then(Node::as_str)
                    .unwrap_or_default()
                    .to_string();
                if ty.ends_with("LayerVersion") {
                    let name = v
                        .get("Properties")
                        .and_then(|p| p.get("LayerName"))
                        .and_then(Node::as_str)
                        .unwrap_or_default()
                        .to_string();
                    layer_names.insert(k.name.clone(), name);
                }
                resources.insert(k.name.clone(), ty);
            }
        }
        let conditions = root
            .get("Conditions")
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, v)| (k.name.clone(), v)).collect())
            .unwrap_or_default();
        Resolver {
            params,
            resources,
            layer_names,
            mappings: root.get("Mappings"),
            conditions,
            assume: HashMap::new(),
            problems: RefCell::new(Vec::new()),
            sam: is_sam(root),
            steps: Cell::new(0),
        }
    }

    /// Resolves a node: `None` means `AWS::NoValue` (the property is absent).
    pub fn resolve(&self, node: &Node) -> Option<Node> {
        self.resolve_at(node, 0)
    }

    fn unknown(pos: Pos, what: String) -> Option<Node> {
        Some(Node::new(pos, Kind::Unknown(what)))
    }

    /// SAM generates resources the template does not list: `<Function>Role`,
    /// `<Function>Alias<name>`, `<Function>.Alias`, `ServerlessRestApi`, … A reference that
    /// starts with a logical id of the template, or with `Serverless`, is taken as one.
    fn sam_generated(&self, name: &str) -> bool {
        self.sam
            && (name.starts_with("Serverless")
                || self
                    .resources
                    .keys()
                    .any(|id| name.len() > id.len() && name.starts_with(id.as_str())))
    }

    /// Records a template error and stands in an unknown value, so the scan goes on.
    fn problem(&self, pos: Pos, message: String) -> Option<Node> {
        let what = message.clone();
        self.problems
            .borrow_mut()
            .push(NotATemplate { pos, message });
        Self::unknown(pos, what)
    }

    /// Counts one step; false once the budget is spent.
    fn step(&self) -> bool {
        self.steps.set(self.steps.get() + 1);
        self.steps.get() <= MAX_STEPS
    }

    fn resolve_at(&self, node: &Node, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH || !self.step() {
            return Self::unknown(node.pos, "a reference nested too deeply".into());
        }
        if let Some((name, arg)) = node.intrinsic() {
            return self.intrinsic(node.pos, name, arg, depth + 1);
        }
        match &node.kind {
            Kind::Seq(items) => Some(Node::new(
                node.pos,
                Kind::Seq(
                    items
                        .iter()
                        .filter_map(|i| self.resolve_at(i, depth + 1))
                        .collect(),
                ),
            )),
            Kind::Map(entries) => Some(Node::new(
                node.pos,
                Kind::Map(
                    entries
                        .iter()
                        .filter_map(|(k, v)| self.resolve_at(v, depth + 1).map(|v| (k.clone(), v)))
                        .collect(),
                ),
            )),
            _ => Some(node.clone()),
        }
    }

    fn reference(&self, pos: Pos, name: &str, depth: usize) -> Option<Node> {
        match name {
            "AWS::NoValue" => return None,
            "AWS::Partition" => return Some(Node::str(pos, "aws")),
            "AWS::URLSuffix" => return Some(Node::str(pos, "amazonaws.com")),
            _ if name.starts_with("AWS::") => return Some(Node::str(pos, format!("${{{name}}}"))),
            _ => {}
        }
        if let Some(param) = self.params.get(name) {
            if param.ssm {
                return Self::unknown(pos, format!("Ref {name}"));
            }
            return match &param.default {
                Some(default) => self.resolve_at(default, depth + 1).map(|mut n| {
                    n.pos = pos;
                    n
                }),
                None => Self::unknown(pos, format!("Ref {name}")),
            };
        }
        if let Some(layer) = self.layer_names.get(name) {
            return Self::unknown(pos, format!("Ref {name} (layer {layer})"));
        }
        if !self.resources.contains_key(name) && !self.sam_generated(name) {
            return self.problem(pos, format!("unresolvable reference: `{name}` is not a parameter, resource or pseudo parameter"));
        }
        Self::unknown(pos, format!("Ref {name}"))
    }

    fn text_of(node: &Node) -> String {
        match &node.kind {
            Kind::Str(s) => s.clone(),
            Kind::Bool(b) => b.to_string(),
            Kind::Null => String::new(),
            Kind::Unknown(what) => format!("${{{what}}}"),
            Kind::Seq(_) | Kind::Map(_) => "${…}".into(),
        }
    }

    fn intrinsic(&self, pos: Pos, name: &str, arg: &Node, depth: usize) -> Option<Node> {
        match name {
            "Ref" => match arg.as_str() {
                Some(target) => self.reference(pos, target, depth),
                None => self.problem(
                    pos,
                    "`Ref` takes the name of a parameter or resource".into(),
                ),
            },
            "Fn::GetAtt" => {
                let what = match (&arg.kind, arg.as_seq()) {
                    (Kind::Str(s), _) => s.clone(),
                    (_, Some(parts)) => parts
                        .iter()
                        .map(Self::text_of)
                        .collect::<Vec<_>>()
                        .join("."),
                    _ => {
                        return self.problem(
                            pos,
                            "`Fn::GetAtt` takes `Resource.Attribute` or [Resource, Attribute]"
                                .into(),
                        )
                    }
                };
                let resource = what.split('.').next().unwrap_or_default();
                if !self.resources.contains_key(resource) && !self.sam_generated(resource) {
                    return self.problem(
                        pos,
                        format!(
                            "unresolvable `Fn::GetAtt`: no resource `{resource}` in the template"
                        ),
                    );
                }
                Self::unknown(pos, format!("GetAtt {what}"))
            }
            "Fn::Sub" => {
                let (text, vars) = match (&arg.kind, arg.as_seq()) {
                    (Kind::Str(s), _) => (s.as_str(), None),
                    (_, Some([text, vars])) => match text.as_str() {
                        Some(t) => (t, Some(vars)),
                        None => {
                            return Self::unknown(pos, "Fn::Sub with a non-string template".into())
                        }
                    },
                    _ => return Self::unknown(pos, "Fn::Sub with unexpected arguments".into()),
                };
                Some(Node::str(pos, self.substitute(pos, text, vars, depth)))
            }
            "Fn::Join" => {
                let Some([delim, list]) = arg.as_seq() else {
                    return self.problem(pos, "`Fn::Join` takes [delimiter, list]".into());
                };
                let delim = delim.as_str().unwrap_or_default();
                match self.resolve_at(list, depth + 1).map(|l| l.kind) {
                    Some(Kind::Seq(items)) => Some(Node::str(
                        pos,
                        items
                            .iter()
                            .map(Self::text_of)
                            .collect::<Vec<_>>()
                            .join(delim),
                    )),
                    Some(Kind::Unknown(what)) => Self::unknown(pos, format!("Join of {what}")),
                    _ => Self::unknown(pos, "Fn::Join of something that is not a list".into()),
                }
            }
            "Fn::If" => {
                let Some([cond, yes, no]) = arg.as_seq() else {
                    return self.problem(
                        pos,
                        "`Fn::If` takes [condition, value if true, value if false]".into(),
                    );
                };
                let cond_name = cond.as_str().unwrap_or_default();
                if !self.conditions.contains_key(cond_name) && !self.assume.contains_key(cond_name)
                {
                    return self.problem(
                        pos,
                        format!(
                            "unresolvable `Fn::If`: no condition `{cond_name}` in `Conditions`"
                        ),
                    );
                }
                match self.condition(cond_name, depth) {
                    Some(true) => self.resolve_at(yes, depth + 1),
                    Some(false) => self.resolve_at(no, depth + 1),
                    None => Self::unknown(pos, format!("If {cond_name}")),
                }
            }
            "Fn::Select" => {
                let Some([index, list]) = arg.as_seq() else {
                    return self.problem(pos, "`Fn::Select` takes [index, list]".into());
                };
                let index = self
                    .resolve_at(index, depth + 1)
                    .and_then(|n| n.as_str().and_then(|s| s.parse::<usize>().ok()));
                match (index, self.resolve_at(list, depth + 1).map(|l| l.kind)) {
                    (Some(i), Some(Kind::Seq(items))) if i < items.len() => {
                        items.into_iter().nth(i)
                    }
                    _ => Self::unknown(pos, "Fn::Select".into()),
                }
            }
            "Fn::Split" => {
                let Some([delim, text]) = arg.as_seq() else {
                    return self.problem(pos, "`Fn::Split` takes [delimiter, string]".into());
                };
                match (
                    delim.as_str(),
                    self.resolve_at(text, depth + 1).map(|t| t.kind),
                ) {
                    (Some(d), Some(Kind::Str(t))) if !d.is_empty() => Some(Node::new(
                        pos,
                        Kind::Seq(t.split(d).map(|p| Node::str(pos, p)).collect()),
                    )),
                    _ => Self::unknown(pos, "Fn::Split".into()),
                }
            }
            "Fn::FindInMap" => {
                let keys: Vec<String> = arg
                    .as_seq()
                    .unwrap_or_default()
                    .iter()
                    .take(3)
                    .filter_map(|k| {
                        self.resolve_at(k, depth + 1)
                            .and_then(|k| k.as_str().map(str::to_string))
                    })
                    .collect();
                let found = match keys.as_slice() {
                    [map, top, second] => self
                        .mappings
                        .and_then(|m| m.get(map))
                        .and_then(|m| m.get(top))
                        .and_then(|m| m.get(second)),
                    _ => None,
                };
                match found {
                    Some(v) => self.resolve_at(v, depth + 1),
                    None => Self::unknown(pos, "FindInMap".into()),
                }
            }
            "Fn::ImportValue" => {
                let what = self
                    .resolve_at(arg, depth + 1)
                    .map(|n| Self::text_of(&n))
                    .unwrap_or_default();
                Self::unknown(pos, format!("ImportValue {what}"))
            }
            "Fn::Base64" | "Fn::ToJsonString" => self.resolve_at(arg, depth + 1),
            "Condition" => Some(node_bool(
                pos,
                self.condition(arg.as_str().unwrap_or_default(), depth),
            )),
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => Some(node_bool(
                pos,
                self.eval_condition(
                    &Node::new(
                        pos,
                        Kind::Map(vec![(
                            Key {
                                name: name.into(),
                                pos,
                            },
                            arg.clone(),
                        )]),
                    ),
                    depth,
                ),
            )),
            other => Self::unknown(pos, other.to_string()),
        }
    }

    /// `Fn::Sub` substitution: `${Name}` from the variable map, parameters, pseudo parameters;
    /// `${Res.Attr}` and unknown names stay as written; `${!Literal}` becomes `${Literal}`.
    fn substitute(&self, pos: Pos, text: &str, vars: Option<&Node>, depth: usize) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.and_then(|v| v.get(name)) {
                let resolved = self.resolve_at(v, depth + 1);
                out.push_str(&resolved.map(|n| Self::text_of(&n)).unwrap_or_default());
            } else if name.contains('.') {
                let resource = name.split('.').next().unwrap_or_default();
                if !self.resources.contains_key(resource) && !self.sam_generated(resource) {
                    self.problem(
                        pos,
                        format!(
                            "unresolvable `${{{name}}}` in `Fn::Sub`: no resource `{resource}`"
                        ),
                    );
                }
                out.push_str(&format!("${{{name}}}"));
            } else {
                let resolved = self.reference(pos, name, depth + 1);
                match resolved.map(|n| n.kind) {
                    Some(Kind::Str(s)) => out.push_str(&s),
                    _ => out.push_str(&format!("${{{name}}}")),
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A named condition: `Some(value)` when the template decides it, `None` otherwise.
    fn condition(&self, name: &str, depth: usize) -> Option<bool> {
        if let Some(v) = self.assume.get(name) {
            return Some(*v);
        }
        let node = self.conditions.get(name)?;
        if depth > MAX_DEPTH {
            return None;
        }
        self.eval_condition(node, depth + 1)
    }

    fn eval_condition(&self, node: &Node, depth: usize) -> Option<bool> {
        if depth > MAX_DEPTH || !self.step() {
            return None;
        }
        let (name, arg) = node.intrinsic()?;
        let args = arg.as_seq();
        match name {
            "Condition" => self.condition(arg.as_str()?, depth + 1),
            "Fn::Equals" => {
                let [a, b] = args? else { return None };
                let (a, b) = (
                    self.resolve_at(a, depth + 1)?,
                    self.resolve_at(b, depth + 1)?,
                );
                match (&a.kind, &b.kind) {
                    (Kind::Unknown(_), _) | (_, Kind::Unknown(_)) => None,
                    _ => Some(Self::text_of(&a) == Self::text_of(&b)),
                }
            }
            "Fn::Not" => Some(!self.eval_condition(args?.first()?, depth + 1)?),
            "Fn::And" => {
                let values: Vec<Option<bool>> = args?
                    .iter()
                    .map(|c| self.eval_condition(c, depth + 1))
                    .collect();
                if values.contains(&Some(false)) {
                    Some(false)
                } else if values.iter().all(Option::is_some) {
                    Some(true)
                } else {
                    None
                }
            }
            "Fn::Or" => {
                let values: Vec<Option<bool>> = args?
                    .iter()
                    .map(|c| self.eval_condition(c, depth + 1))
                    .collect();
                if values.contains(&Some(true)) {
                    Some(true)
                } else if values.iter().all(Option::is_some) {
                    Some(false)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// The conditions the template cannot decide on its own.
    fn undecided(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .conditions
            .keys()
            .filter(|c| self.condition(c, 0).is_none())
            .cloned()
            .collect();
        names.sort();
        names
    }
}

fn node_bool(pos: Pos, value: Option<bool>) -> Node {
    match value {
        Some(b) => Node::new(pos, Kind::Bool(b)),
        None => Node::new(pos, Kind::Unknown("an undecided condition".into())),
    }
}

/// The assignments of undecided conditions to try: every combination for up to three of
/// them, else "all true" and "all false". Findings from every assignment are reported
/// (deduplicated), so a finding that depends on a parameter is not missed.
fn assignments(undecided: &[String]) -> Vec<HashMap<String, bool>> {
    if undecided.is_empty() {
        return vec![HashMap::new()];
    }
    if undecided.len() <= 3 {
        return (0..1u32 << undecided.len())
            .map(|bits| {
                undecided
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.clone(), bits & (1 << i) != 0))
                    .collect()
            })
            .collect();
    }
    [true, false]
        .iter()
        .map(|v| undecided.iter().map(|c| (c.clone(), *v)).collect())
        .collect()
}

/// Reads a SAM/CloudFormation template into one [`Template`] per assignment of the
/// conditions it cannot decide, each with the assumption described.
/// Template errors found while resolving (unresolvable references, malformed intrinsics)
/// come back too: the template is still scanned around them.
pub fn extract(root: &Node) -> Result<Extracted, NotATemplate> {
    let Some(resources) = root.get("Resources") else {
        return Err(NotATemplate {
            pos: root.pos,
            message: "not a CloudFormation/SAM template: no `Resources` section".into(),
        });
    };
    if resources.as_map().is_none() {
        return Err(NotATemplate {
            pos: resources.pos,
            message: "`Resources` must be a mapping".into(),
        });
    }
    let base = Resolver::new(root);
    let undecided = base.undecided();
    let mut out = Vec::new();
    let mut problems: Vec<NotATemplate> = Vec::new();
    for assume in assignments(&undecided) {
        let mut described: Vec<String> = assume
            .iter()
            .map(|(c, v)| format!("condition `{c}` is {v}"))
            .collect();
        described.sort();
        let resolver = Resolver {
            assume,
            ..Resolver::new(root)
        };
        out.push((extract_with(root, &resolver), described.join(", ")));
        for p in resolver.problems.take() {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
    }
    Ok((out, problems))
}

/// SAM `Globals` merge: mappings merge key by key, lists are concatenated (globals first),
/// anything else is overridden by the function's own value — SAM's documented rules.
fn merge_globals(global: &Node, local: &Node) -> Node {
    match (&global.kind, &local.kind) {
        (Kind::Map(g), Kind::Map(l))
            if global.intrinsic().is_none() && local.intrinsic().is_none() =>
        {
            let mut entries: Vec<(Key, Node)> = Vec::with_capacity(g.len() + l.len());
            for (gk, gv) in g {
                match l.iter().find(|(lk, _)| lk.name == gk.name) {
                    Some((lk, lv)) => entries.push((lk.clone(), merge_globals(gv, lv))),
                    None => entries.push((gk.clone(), gv.clone())),
                }
            }
            for (lk, lv) in l {
                if !g.iter().any(|(gk, _)| gk.name == lk.name) {
                    entries.push((lk.clone(), lv.clone()));
                }
            }
            Node::new(local.pos, Kind::Map(entries))
        }
        (Kind::Seq(g), Kind::Seq(l)) => {
            Node::new(local.pos, Kind::Seq(g.iter().chain(l).cloned().collect()))
        }
        _ => local.clone(),
    }
}

fn props_of(resource: &Node) -> Node {
    resource
        .get("Properties")
        .cloned()
        .unwrap_or_else(|| Node::new(resource.pos, Kind::Map(Vec::new())))
}

/// The logical id a `Ref`/`GetAtt`/`Sub "${X}"`/`Sub "${X.Arn}"` names, if any.
fn referenced_id(node: &Node) -> Option<String> {
    let (name, arg) = node.intrinsic()?;
    match name {
        "Ref" => arg.as_str().map(str::to_string),
        "Fn::GetAtt" => match (&arg.kind, arg.as_seq()) {
            (Kind::Str(s), _) => s.split('.').next().map(str::to_string),
            (_, Some([first, ..])) => first.as_str().map(str::to_string),
            _ => None,
        },
        "Fn::Sub" => {
            let text = match (&arg.kind, arg.as_seq()) {
                (Kind::Str(s), _) => s.as_str(),
                (_, Some([t, ..])) => t.as_str()?,
                _ => return None,
            };
            let start = text.rfind("${")?;
            let inner = text[start + 2..].split('}').next()?;
            let id = inner.split('.').next()?;
            (!id.starts_with("AWS::")).then(|| id.to_string())
        }
        _ => None,
    }
}

fn text(node: Option<&Node>) -> Option<&str> {
    node.and_then(Node::as_str)
}

/// Fills one [`Template`] from the root document.
fn extract_with(root: &Node, r: &Resolver<'_>) -> Template {
    let mut t = Template::default();
    let Some(resources) = root.get("Resources").and_then(Node::as_map) else {
        return t;
    };
    let globals = root.get("Globals").and_then(|g| g.get("Function"));
    let active = |res: &Node| match text(res.get("Condition")) {
        Some(c) => r.condition(c, 0) != Some(false),
        None => true,
    };
    // Roles first, so that attachments and functions can find them.
    for (key, res) in resources {
        if !active(res) {
            continue;
        }
        if text(res.get("Type")) == Some("AWS::IAM::Role") {
            let props = props_of(res);
            let mut role = Role {
                id: key.name.clone(),
                pos: key.pos,
                ..Role::default()
            };
            if let Some(policies) = props.get("Policies").and_then(|p| r.resolve(p)) {
                for (i, p) in policies.as_seq().unwrap_or_default().iter().enumerate() {
                    let name =
                        text(p.get("PolicyName")).map_or_else(|| i.to_string(), str::to_string);
                    if let Some(doc) = p.get("PolicyDocument") {
                        role.policies.push(PolicyDoc {
                            name: format!("{}/Policies/{name}", key.name),
                            doc: doc.clone(),
                        });
                    }
                }
            }
            add_managed(&mut role, props.get("ManagedPolicyArns"), r, resources);
            t.roles.push(role);
        }
    }
    let mut pending: Vec<(Key, Node, Vec<String>)> = Vec::new();
    for (key, res) in resources {
        if !active(res) {
            continue;
        }
        let ty = text(res.get("Type")).unwrap_or_default();
        let props = props_of(res);
        match ty {
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy" => {
                let Some(doc) = props.get("PolicyDocument").and_then(|d| r.resolve(d)) else {
                    continue;
                };
                let mut targets: Vec<String> = props
                    .get("Roles")
                    .and_then(Node::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(referenced_id)
                    .collect();
                targets.extend(props.get("RoleName").and_then(referenced_id));
                // Attached once every role is known (SAM's implicit `<Function>Role`s are made
                // with their functions, further down this loop).
                pending.push((key.clone(), doc, targets));
            }
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                let sam = ty == "AWS::Serverless::Function";
                let props = match (sam, globals) {
                    (true, Some(g)) => merge_globals(g, &props),
                    _ => props,
                };
                let func = function(key, res, &props, sam, r, &mut t);
                t.functions.push(func);
            }
            "AWS::Lambda::Url" => {
                if let Some(auth) = props.get("AuthType").and_then(|a| r.resolve(a)) {
                    t.urls.push(FunctionUrl {
                        id: key.name.clone(),
                        auth_type: Value::new(auth),
                    });
                }
            }
            "AWS::Lambda::Permission" => {
                let Some(principal) = props.get("Principal").and_then(|p| r.resolve(p)) else {
                    continue;
                };
                let has = |k: &str| props.get(k).and_then(|v| r.resolve(v)).is_some();
                t.permissions.push(Permission {
                    id: key.name.clone(),
                    pos: key.pos,
                    principal: Value::new(principal),
                    action: props
                        .get("Action")
                        .and_then(|a| r.resolve(a))
                        .and_then(|a| a.as_str().map(str::to_string)),
                    has_source: has("SourceArn") || has("SourceAccount") || has("PrincipalOrgID"),
                });
            }
            _ => {}
        }
    }
    for (key, doc, targets) in pending {
        let mut attached = false;
        for target in &targets {
            if let Some(role) = t.roles.iter_mut().find(|role| &role.id == target) {
                role.policies.push(PolicyDoc {
                    name: key.name.clone(),
                    doc: doc.clone(),
                });
                attached = true;
            }
        }
        // A managed policy a role takes through `ManagedPolicyArns` is in that role already.
        attached |= t
            .roles
            .iter()
            .any(|role| role.policies.iter().any(|p| p.name == key.name));
        if !attached {
            // For users, groups, roles of other stacks, or nobody yet: still checked, as a
            // subject of its own.
            t.roles.push(Role {
                id: key.name.clone(),
                pos: key.pos,
                policies: vec![PolicyDoc {
                    name: key.name.clone(),
                    doc,
                }],
                ..Role::default()
            });
        }
    }
    t
}

fn add_managed(role: &mut Role, list: Option<&Node>, r: &Resolver<'_>, resources: &[(Key, Node)]) {
    for item in list.and_then(Node::as_seq).unwrap_or_default() {
        // A customer managed policy defined in this template: take its document.
        if let Some(id) = referenced_id(item) {
            if let Some((_, res)) = resources.iter().find(|(k, v)| {
                k.name == id && text(v.get("Type")) == Some("AWS::IAM::ManagedPolicy")
            }) {
                if let Some(doc) = res
                    .get("Properties")
                    .and_then(|p| p.get("PolicyDocument"))
                    .and_then(|d| r.resolve(d))
                {
                    role.policies.push(PolicyDoc { name: id, doc });
                }
                continue;
            }
        }
        if let Some(resolved) = r.resolve(item) {
            if let Some(arn) = Value::new(resolved).text_or_reference() {
                role.managed.push(ManagedRef {
                    arn: arn.to_string(),
                    pos: item.pos,
                });
            }
        }
    }
}

/// The SAM policy templates, embedded (see `data/README.md` for the version).
fn sam_policy_templates() -> Option<&'static serde_json::Value> {
    static TEMPLATES: OnceLock<Option<serde_json::Value>> = OnceLock::new();
    TEMPLATES
        .get_or_init(|| {
            serde_json::from_str::<serde_json::Value>(include_str!(
                "data/sam_policy_templates.json"
            ))
            .ok()
            .and_then(|mut v| v.get_mut("Templates").map(serde_json::Value::take))
        })
        .as_ref()
}

/// Whether `name` is one of the embedded SAM policy templates.
#[cfg(test)]
pub fn is_sam_policy_template(name: &str) -> bool {
    sam_policy_templates().and_then(|t| t.get(name)).is_some()
}

/// Replaces `{"Ref": P}` for each template parameter P with the value the user gave.
fn instantiate(node: Node, values: &Node) -> Node {
    if let Some(("Ref", arg)) = node.intrinsic() {
        if let Some(v) = arg.as_str().and_then(|p| values.get(p)) {
            return v.clone();
        }
    }
    let pos = node.pos;
    match node.kind {
        Kind::Seq(items) => Node::new(
            pos,
            Kind::Seq(items.into_iter().map(|i| instantiate(i, values)).collect()),
        ),
        Kind::Map(entries) => Node::new(
            pos,
            Kind::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, instantiate(v, values)))
                    .collect(),
            ),
        ),
        other => Node::new(pos, other),
    }
}

/// SAM `Policies:`: a managed policy name/ARN, an inline document, a policy template, or a
/// list of those.
fn sam_policies(
    fid: &str,
    policies: &Node,
    r: &Resolver<'_>,
    role: &mut Role,
    notes: &mut Vec<Note>,
) {
    let items: Vec<&Node> = match policies.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![policies],
    };
    for (i, item) in items.into_iter().enumerate() {
        let single_key = item.as_map().filter(|m| m.len() == 1).map(|m| &m[0]);
        if item.get("Statement").is_some() {
            if let Some(doc) = r.resolve(item) {
                role.policies.push(PolicyDoc {
                    name: format!("{fid}/Policies/{i}"),
                    doc,
                });
            }
        } else if let Some((k, values)) =
            single_key.filter(|(k, _)| !k.name.starts_with("Fn::") && k.name != "Ref")
        {
            let Some(template) = sam_policy_templates().and_then(|t| t.get(&k.name)) else {
                notes.push(Note {
                    code: "sam-policy-template-unknown",
                    pos: k.pos,
                    resource: fid.to_string(),
                    message: format!(
                        "`{}` is not a SAM policy template known to this version of vigil",
                        k.name
                    ),
                });
                continue;
            };
            let Some(def) = template.get("Definition") else {
                continue;
            };
            let values = if values.as_map().is_some() {
                values.clone()
            } else {
                Node::new(values.pos, Kind::Map(Vec::new()))
            };
            let doc = instantiate(Node::from_json_value(def, k.pos), &values);
            if let Some(doc) = r.resolve(&doc) {
                role.vendor_policies.push(PolicyDoc {
                    name: format!("{fid}/Policies/{}", k.name),
                    doc,
                });
            }
        } else if let Some(resolved) = r.resolve(item) {
            match resolved.kind {
                Kind::Str(name) => role.managed.push(ManagedRef {
                    arn: super::link::managed_policy_arn(&name),
                    pos: item.pos,
                }),
                Kind::Unknown(what) => role.managed.push(ManagedRef {
                    arn: what,
                    pos: item.pos,
                }),
                _ => {}
            }
        }
    }
}

fn function(
    key: &Key,
    res: &Node,
    props: &Node,
    sam: bool,
    r: &Resolver<'_>,
    t: &mut Template,
) -> Function {
    let id = key.name.clone();
    let image = props
        .get("PackageType")
        .and_then(|p| r.resolve(p))
        .and_then(|p| p.as_str().map(|s| s.eq_ignore_ascii_case("Image")))
        .unwrap_or(false);
    let runtime = props
        .get("Runtime")
        .and_then(|n| r.resolve(n))
        .map(Value::new);
    let layers = match props.get("Layers").and_then(|l| r.resolve(l)) {
        Some(node) => match node.kind {
            Kind::Seq(items) => items.into_iter().map(Value::new).collect(),
            _ => vec![Value::new(node)],
        },
        None => Vec::new(),
    };
    let no_echo: BTreeSet<&str> = r
        .params
        .iter()
        .filter(|(_, p)| p.no_echo)
        .map(|(k, _)| k.as_str())
        .collect();
    let mut env = Vec::new();
    if let Some(vars) = props.get("Environment").and_then(|e| e.get("Variables")) {
        for (k, raw) in vars.as_map().unwrap_or_default() {
            let secret_param = match raw.intrinsic() {
                Some(("Ref", arg)) => arg
                    .as_str()
                    .filter(|p| no_echo.contains(p))
                    .map(str::to_string),
                _ => None,
            };
            if let Some(value) = r.resolve(raw) {
                env.push(EnvVar {
                    name: k.name.clone(),
                    pos: k.pos,
                    value: Value::new(value),
                    from_secret_parameter: secret_param,
                });
            }
        }
    }
    let (role, role_pos) = match props.entry("Role") {
        Some((rk, node)) => match referenced_id(node)
            .filter(|id| r.resources.get(id).is_some_and(|ty| ty == "AWS::IAM::Role"))
        {
            Some(role_id) => (RoleLink::Defined(role_id), rk.pos),
            None => {
                let what = r
                    .resolve(node)
                    .map(|n| Resolver::text_of(&n))
                    .unwrap_or_default();
                (RoleLink::External(what), rk.pos)
            }
        },
        None if sam => {
            // SAM creates `<Id>Role` with AWSLambdaBasicExecutionRole plus `Policies`.
            let mut role = Role {
                id: format!("{id}Role"),
                pos: key.pos,
                ..Role::default()
            };
            role.managed.push(ManagedRef {
                arn: "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole".into(),
                pos: key.pos,
            });
            let pos = match props.entry("Policies") {
                Some((pk, policies)) => {
                    sam_policies(&id, policies, r, &mut role, &mut t.notes);
                    pk.pos
                }
                None => key.pos,
            };
            let role_id = role.id.clone();
            t.roles.push(role);
            (RoleLink::Defined(role_id), pos)
        }
        None => (RoleLink::Missing, key.pos),
    };
    if sam {
        if let Some(auth) = props
            .get("FunctionUrlConfig")
            .and_then(|c| c.get("AuthType"))
            .and_then(|a| r.resolve(a))
        {
            t.urls.push(FunctionUrl {
                id: id.clone(),
                auth_type: Value::new(auth),
            });
        }
    }
    Function {
        id,
        pos: key.pos,
        dialect: if sam {
            Dialect::Sam
        } else {
            Dialect::CloudFormation
        },
        image: image
            || (!sam
                && res
                    .get("Properties")
                    .and_then(|p| p.get("Code"))
                    .and_then(|c| c.get("ImageUri"))
                    .is_some()),
        runtime,
        layers,
        env,
        role,
        role_pos,
    }
}

#[cfg(test)]
mod tests {
    use super::super::node::parse_yaml;
    use super::*;

    fn resolve_prop(yaml: &str, path: &[&str]) -> Option<Node> {
        let root = parse_yaml(yaml).expect("yaml");
        let r = Resolver::new(&root);
        let mut node = &root;
        for p in path {
            node = node.get(p).expect("path");
        }
        r.resolve(node)
    }

    #[test]
    fn sub_resolves_parameters_and_keeps_pseudo_parameters() {
        let yaml = "Parameters:\n  Name: {Type: String, Default: vigil}\nX: !Sub 'arn:${AWS::Partition}:lambda:${AWS::Region}:1:layer:${Name}:3'\n";
        let node = resolve_prop(yaml, &["X"]).expect("value");
        assert_eq!(
            node.as_str(),
            Some("arn:aws:lambda:${AWS::Region}:1:layer:vigil:3")
        );
    }

    #[test]
    fn if_follows_decidable_conditions() {
        let yaml = "Parameters:\n  Env: {Type: String, Default: prod}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\nX: !If [IsProd, yes-branch, no-branch]\n";
        assert_eq!(
            resolve_prop(yaml, &["X"])
                .and_then(|n| n.as_str().map(str::to_string))
                .as_deref(),
            Some("yes-branch")
        );
    }

    #[test]
    fn novalue_removes_the_property_and_unknown_refs_name_themselves() {
        let yaml = "Parameters:\n  Arn: {Type: String}\nX: [!Ref AWS::NoValue, !Ref Arn]\n";
        let node = resolve_prop(yaml, &["X"]).expect("value");
        let items = node.as_seq().expect("seq");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].kind, Kind::Unknown("Ref Arn".into()));
    }

    #[test]
    fn globals_merge_lists_and_maps() {
        let g = parse_yaml(
            "Layers: [a]\nEnvironment: {Variables: {A: '1', B: '2'}}\nRuntime: python3.8",
        )
        .expect("g");
        let l = parse_yaml("Layers: [b]\nEnvironment: {Variables: {B: '3'}}\nRuntime: python3.12")
            .expect("l");
        let m = merge_globals(&g, &l);
        let layers: Vec<_> = m
            .get("Layers")
            .and_then(Node::as_seq)
            .expect("layers")
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(layers, ["a", "b"]);
        let vars = m
            .get("Environment")
            .and_then(|e| e.get("Variables"))
            .expect("vars");
        assert_eq!(text(vars.get("A")), Some("1"));
        assert_eq!(text(vars.get("B")), Some("3"));
        assert_eq!(text(m.get("Runtime")), Some("python3.12"));
    }

    #[test]
    fn sam_policy_templates_are_instantiated_with_the_given_parameters() {
        let yaml = "Transform: AWS::Serverless-2016-10-31\nParameters:\n  B: {Type: String, Default: reports}\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Policies:\n        - S3ReadPolicy: {BucketName: !Ref B}\n";
        let root = parse_yaml(yaml).expect("yaml");
        let (variants, problems) = extract(&root).expect("template");
        assert!(problems.is_empty());
        let role = variants[0]
            .0
            .roles
            .iter()
            .find(|r| r.id == "FRole")
            .expect("implicit role");
        let doc = &role.vendor_policies[0].doc;
        let statement = &doc
            .get("Statement")
            .and_then(Node::as_seq)
            .expect("statements")[0];
        let resources: Vec<_> = statement
            .get("Resource")
            .and_then(Node::as_seq)
            .expect("resources")
            .iter()
            .filter_map(Node::as_str)
            .collect();
        assert_eq!(
            resources,
            ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]
        );
        assert_eq!(statement.pos.line, 9, "placed at the template name");
        assert_eq!(
            role.managed[0].arn,
            "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
        );
    }

    #[test]
    fn conditions_that_refer_to_each_other_many_times_stay_fast() {
        let mut yaml = String::from(
            "Parameters:\n  P: {Type: String}\nConditions:\n  C0: !Equals [!Ref P, x]\n",
        );
        for i in 1..60 {
            let p = i - 1;
            yaml.push_str(&format!("  C{i}: !Or [!Condition C{p}, !Condition C{p}]\n"));
        }
        yaml.push_str("Resources: {}\nX: !If [C59, a, b]\n");
        let root = parse_yaml(&yaml).expect("yaml");
        let r = Resolver::new(&root);
        let x = r.resolve(root.get("X").expect("X")).expect("value");
        assert!(matches!(x.kind, Kind::Unknown(_)), "{x:?}");
    }

    #[test]
    fn sam_policy_templates_are_embedded() {
        assert!(is_sam_policy_template("S3ReadPolicy"));
        assert!(is_sam_policy_template("DynamoDBCrudPolicy"));
        assert!(!is_sam_policy_template("NoSuchPolicy"));
    }
}
