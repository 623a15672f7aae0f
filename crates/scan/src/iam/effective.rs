//! The effective policy: every statement of one or more documents expanded to action sets,
//! with the questions the checks ask — which statements grant an action, on what scope of
//! resources, and does a `Deny` take that away.

use crate::actions::{db, ActionDb, ActionId, ActionSet, Expansion};
use crate::finding::Position;

use super::glob;
use super::model::{Effect, Located, PolicyDocument, Statement};

/// A document and the name it is known by (a policy name, `""` for a lone file).
#[derive(Debug, Clone, Copy)]
pub struct NamedDocument<'a> {
    /// The policy's name, used in messages (`""` when the subject has one document).
    pub name: &'a str,
    /// The document.
    pub document: &'a PolicyDocument,
}

/// How much of an action's resources a statement covers, from nothing to everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// No listed resource fits the action: the statement does not grant it.
    None,
    /// Named resources.
    Specific,
    /// A wildcard that covers some of them (`role/app-*`).
    Wildcard,
    /// All of them (`*`, `NotResource`, `arn:aws:iam::*:role/*`).
    All,
}

impl Scope {
    /// How many severity levels a finding about this scope is lowered.
    pub fn lowering(self) -> usize {
        match self {
            Scope::All => 0,
            Scope::Wildcard => 1,
            Scope::Specific | Scope::None => 2,
        }
    }

    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::All => "on all resources",
            Scope::Wildcard => "on resources matched by a wildcard",
            Scope::Specific | Scope::None => "on named resources",
        }
    }
}

/// A `Resource`/`NotResource` entry, prepared for matching.
#[derive(Debug)]
pub(crate) struct Res {
    /// As written.
    pub text: String,
    /// With placeholders as `*`: what it may match.
    pub star: Vec<u8>,
    /// With placeholders as an opaque character: what it surely names.
    pub opaque: Vec<u8>,
    /// Whether it has `*` or `?` outside placeholders.
    pub wildcard: bool,
    /// Position.
    pub position: Position,
}

impl Res {
    fn new(l: &Located<String>) -> Res {
        let text = l.value.trim().to_string();
        let star = glob::placeholders_to_star(&text).into_bytes();
        let opaque = opaque(&text).into_bytes();
        let wildcard = opaque.iter().any(|&c| c == b'*' || c == b'?');
        Res {
            text,
            star,
            opaque,
            wildcard,
            position: l.position.clone(),
        }
    }
}

/// Placeholders as an opaque character that only a wildcard matches: what a pattern surely
/// names.
fn opaque(s: &str) -> String {
    glob::replace_placeholders(s, '\u{1}')
}

/// The part of an ARN after `arn:partition:service:region:account:`.
pub(crate) fn arn_resource_part(arn: &[u8]) -> &[u8] {
    let mut colons = 0;
    for (i, &c) in arn.iter().enumerate() {
        if c == b':' {
            colons += 1;
            if colons == 5 {
                return &arn[i + 1..];
            }
        }
    }
    arn
}

/// Splits an ARN into its five leading fields and the resource part, if it has them.
fn arn_fields(arn: &[u8]) -> Option<([&[u8]; 5], &[u8])> {
    let mut fields: [&[u8]; 5] = [&[]; 5];
    let mut start = 0;
    for field in fields.iter_mut() {
        let end = start + arn[start..].iter().position(|&c| c == b':')?;
        *field = &arn[start..end];
        start = end + 1;
    }
    Some((fields, &arn[start..]))
}

/// Whether two ARN patterns can name the same resource. Wildcards stay within their ARN field
/// (a `*` in the resource part does not reach back into the service field), which is how
/// people read ARNs; a pattern without all six fields (`arn:aws:*`) is compared as a whole.
pub(crate) fn arn_intersects(a: &[u8], b: &[u8]) -> bool {
    match (arn_fields(a), arn_fields(b)) {
        (Some((fa, ra)), Some((fb, rb))) => {
            fa.iter()
                .zip(fb.iter())
                .all(|(x, y)| glob::intersects(x, y))
                && glob::intersects(ra, rb)
        }
        _ => glob::intersects(a, b),
    }
}

/// Whether resource pattern `pattern` (placeholders opaque) names every resource of the type
/// whose ARN format is `type_glob`, in every region and account of its partition: the service
/// fits, region and account are wildcards, and the resource part covers the type's. A pattern
/// cut short by a trailing `*` (`arn:aws:iam::*`, `arn:*`) covers what follows, since such a
/// `*` expands across colons.
pub(crate) fn covers_type(pattern: &[u8], type_glob: &[u8]) -> bool {
    let all_stars = |f: &[u8]| !f.is_empty() && f.iter().all(|&c| c == b'*');
    match (arn_fields(pattern), arn_fields(type_glob)) {
        (Some((pf, pr)), Some((tf, tr))) => {
            glob::covers(pf[2], tf[2])
                && (3..5).all(|i| all_stars(pf[i]) || (pf[i].is_empty() && tf[i].is_empty()))
                && glob::covers(pr, tr)
        }
        (None, Some((tf, _))) if pattern.ends_with(b"*") => {
            // Compare field by field up to where the pattern stops.
            let fields: Vec<&[u8]> = pattern.split(|&c| c == b':').collect();
            let Some((last, given)) = fields.split_last() else {
                return false;
            };
            let fixed_ok = given.iter().enumerate().all(|(i, f)| match i {
                0 => f.eq_ignore_ascii_case(b"arn"),
                1 => true,
                2 => glob::covers(f, tf[2]),
                _ => all_stars(f) || (f.is_empty() && tf[i].is_empty()),
            });
            // The last, cut field must be a bare `*` (or start the service / region /
            // account with a prefix that is then wild): only a bare `*` surely covers.
            fixed_ok && last.iter().all(|&c| c == b'*')
        }
        _ => false,
    }
}

/// One statement, expanded.
#[derive(Debug)]
pub(crate) struct Stmt<'a> {
    /// Index of its document.
    pub doc: usize,
    /// The statement.
    pub st: &'a Statement,
    /// `Statement[i]` with its Sid, prefixed by the policy name when there are several.
    pub label: String,
    /// What each `Action`/`NotAction` entry expands to, in order.
    pub expansions: Vec<Expansion>,
    /// The actions the statement applies to (`Action`, or all but `NotAction`).
    pub actions: ActionSet,
    /// `Resource` entries (empty with `NotResource`).
    pub resources: Vec<Res>,
    /// `Resource` includes `*`, or is absent.
    pub resource_star: bool,
    /// The statement uses `NotResource`.
    pub not_resource: bool,
    /// Whether it is a `Deny`.
    pub deny: bool,
}

impl Stmt<'_> {
    /// Whether the statement applies to every resource (`*`, absent, or `NotResource`).
    pub fn all_resources(&self) -> bool {
        self.resource_star || self.not_resource
    }

    /// Whether the statement has `"Action": "*"` (any case, with surrounding blanks).
    pub fn star_action(&self) -> bool {
        self.st.action.iter().any(|a| a.value.trim() == "*")
    }
}

/// A statement that grants an action, and how broadly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grant<'e, 'a> {
    /// The statement.
    pub stmt: &'e Stmt<'a>,
    /// Its resource scope for the action.
    pub scope: Scope,
}

/// The statements of a subject, ready for questions.
pub(crate) struct Effective<'a> {
    pub db: &'static ActionDb,
    pub stmts: Vec<Stmt<'a>>,
}

impl<'a> Effective<'a> {
    pub fn new(docs: &[NamedDocument<'a>]) -> Self {
        let db = db();
        let n = db.len();
        let mut stmts = Vec::new();
        let several = docs.len() > 1;
        for (d, nd) in docs.iter().enumerate() {
            for (i, st) in nd.document.statements.iter().enumerate() {
                let mut label = if several && !nd.name.is_empty() {
                    format!("{} Statement[{i}]", nd.name)
                } else {
                    format!("Statement[{i}]")
                };
                if let Some(sid) = st.sid.as_ref().filter(|s| !s.value.is_empty()) {
                    label.push_str(&format!(" ({})", sid.value));
                }
                let patterns = if st.not_action.is_empty() {
                    &st.action
                } else {
                    &st.not_action
                };
                let expansions: Vec<Expansion> =
                    patterns.iter().map(|p| db.expand(&p.value)).collect();
                let mut matched = ActionSet::empty(n);
                for e in &expansions {
                    if let Expansion::Actions(ids) = e {
                        for &id in ids {
                            matched.insert(id);
                        }
                    }
                }
                let actions = if st.not_action.is_empty() {
                    matched
                } else {
                    let mut all = ActionSet::full(n);
                    all.subtract(&matched);
                    all
                };
                let resources: Vec<Res> = st.resource.iter().map(Res::new).collect();
                let resource_star = st.not_resource.is_empty()
                    && (st.resource.is_empty() || resources.iter().any(|r| r.text == "*"));
                stmts.push(Stmt {
                    doc: d,
                    st,
                    label,
                    expansions,
                    actions,
                    resources,
                    resource_star,
                    not_resource: !st.not_resource.is_empty(),
                    deny: st.effect.value == Effect::Deny,
                });
            }
        }
        Effective { db, stmts }
    }

    /// Whether resource entry `r` can name a resource `action` acts on.
    pub fn applies(&self, r: &Res, action: ActionId) -> bool {
        if r.text == "*" {
            return true;
        }
        let mut types = self.db.resource_types(action).peekable();
        if types.peek().is_none() {
            // Such actions support only "Resource": "*"; a pattern that can match anything
            // (`arn:*`, `*`-ish) still lets the statement apply.
            return r.star.iter().all(|&c| c == b'*');
        }
        types.any(|(t, _)| arn_intersects(&r.star, t.glob.as_bytes()))
    }

    /// The statement's resource scope for `action`.
    pub fn scope(&self, s: &Stmt<'_>, action: ActionId) -> Scope {
        if s.all_resources() {
            return Scope::All;
        }
        let mut best = Scope::None;
        for r in &s.resources {
            if !self.applies(r, action) {
                continue;
            }
            let sc = if !r.wildcard {
                Scope::Specific
            } else if self.db.resource_types(action).any(|(t, _)| {
                glob::covers(
                    arn_resource_part(&r.opaque),
                    arn_resource_part(t.glob.as_bytes()),
                ) || covers_type(&r.opaque, t.glob.as_bytes())
            }) {
                Scope::All
            } else {
                Scope::Wildcard
            };
            best = best.max(sc);
            if best == Scope::All {
                break;
            }
        }
        best
    }

    /// Whether an unconditional `Deny` takes away all that allow statement `s` grants of
    /// `action`.
    pub fn denied(&self, s: &Stmt<'_>, action: ActionId) -> bool {
        self.stmts.iter().any(|d| {
            if !d.deny || d.st.is_conditional() || !d.actions.contains(action) || d.not_resource {
                return false;
            }
            if d.resource_star {
                return true;
            }
            if s.all_resources() {
                // All resources are taken away when the Deny's patterns cover every resource
                // type of the action (`iam:PassRole` denied on `arn:aws:iam::*:role/*`).
                let mut types = self.db.resource_types(action).peekable();
                return types.peek().is_some()
                    && types.all(|(t, _)| {
                        d.resources
                            .iter()
                            .any(|dr| covers_type(&dr.opaque, t.glob.as_bytes()))
                    });
            }
            s.resources
                .iter()
                .filter(|r| self.applies(r, action))
                .all(|r| {
                    d.resources
                        .iter()
                        .any(|dr| glob::covers(&dr.opaque, &r.opaque))
                })
        })
    }

    /// The statements that grant `action`, broadest first (unconditional before conditional).
    pub fn grants(&self, action: ActionId) -> Vec<Grant<'_, 'a>> {
        let mut out: Vec<Grant<'_, 'a>> = self
            .stmts
            .iter()
            .filter(|s| !s.deny && s.actions.contains(action))
            .filter_map(|s| {
                let scope = self.scope(s, action);
                (scope > Scope::None && !self.denied(s, action)).then_some(Grant { stmt: s, scope })
            })
            .collect();
        out.sort_by_key(|g| (std::cmp::Reverse(g.scope), g.stmt.st.is_conditional()));
        out
    }

    /// The broadest grant of `action`, if any.
    pub fn best(&self, action: ActionId) -> Option<Grant<'_, 'a>> {
        self.grants(action).into_iter().next()
    }

    /// The `Action` entry through which statement `s` covers `action` (for positions); the
    /// statement itself for `NotAction`.
    pub fn via(&self, s: &Stmt<'_>, action: ActionId) -> Position {
        if s.st.not_action.is_empty() {
            for (p, e) in s.st.action.iter().zip(&s.expansions) {
                if matches!(e, Expansion::Actions(ids) if ids.binary_search(&action).is_ok()) {
                    return p.position.clone();
                }
            }
        }
        s.st.position.clone()
    }
}
