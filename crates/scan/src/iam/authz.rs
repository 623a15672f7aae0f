//! `aws iam get-account-authorization-details` output: users, groups, roles and the managed
//! policies attached to them, read into policy documents so that each principal can be analyzed
//! as one effective policy.

use jsonc_parser::ast::{Object, Value};

use super::json::{name, Cx};
use super::model::PolicyDocument;
use crate::finding::Position;

/// A managed policy from the `Policies` list (its default version).
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    /// `PolicyName`.
    pub name: String,
    /// `Arn`.
    pub arn: String,
    /// The default version's document.
    pub document: PolicyDocument,
}

impl ManagedPolicy {
    /// Whether AWS maintains the policy (`arn:aws:iam::aws:policy/…`); its statements are not the
    /// account's to fix, so only its effect on principals is reported.
    pub fn is_aws_managed(&self) -> bool {
        self.arn.contains(":iam::aws:policy/")
    }
}

/// What kind of principal an [`Identity`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityKind {
    /// An IAM user.
    User,
    /// An IAM group.
    Group,
    /// An IAM role.
    Role,
}

impl IdentityKind {
    /// `user`, `group` or `role`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::User => "user",
            IdentityKind::Group => "group",
            IdentityKind::Role => "role",
        }
    }
}

/// A user, group or role with its inline policies and the ARNs of its managed policies.
#[derive(Debug, Clone)]
pub struct Identity {
    /// User, group or role.
    pub kind: IdentityKind,
    /// `UserName` / `GroupName` / `RoleName`.
    pub name: String,
    /// Where its entry starts.
    pub position: Position,
    /// Inline policies: name and document.
    pub inline: Vec<(String, PolicyDocument)>,
    /// `AttachedManagedPolicies[].PolicyArn`.
    pub managed: Vec<String>,
    /// `GroupList` (users only).
    pub groups: Vec<String>,
}

/// The whole authorization details file.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationDetails {
    /// Users, groups and roles.
    pub identities: Vec<Identity>,
    /// Managed policies.
    pub policies: Vec<ManagedPolicy>,
}

pub(crate) fn looks_like(obj: &Object<'_>) -> bool {
    ["UserDetailList", "GroupDetailList", "RoleDetailList"]
        .iter()
        .any(|k| obj.get_array(k).is_some())
}

pub(crate) fn read(cx: &mut Cx<'_, '_>, obj: &Object<'_>) -> AuthorizationDetails {
    let mut out = AuthorizationDetails::default();
    let lists = [
        (
            "UserDetailList",
            IdentityKind::User,
            "UserName",
            "UserPolicyList",
        ),
        (
            "GroupDetailList",
            IdentityKind::Group,
            "GroupName",
            "GroupPolicyList",
        ),
        (
            "RoleDetailList",
            IdentityKind::Role,
            "RoleName",
            "RolePolicyList",
        ),
    ];
    for (list, kind, name_key, inline_key) in lists {
        let Some(items) = obj.get_array(list) else {
            continue;
        };
        for item in &items.elements {
            let Value::Object(entry) = item else {
                cx.error(item, format!("every entry of `{list}` must be an object"));
                continue;
            };
            let Some(name) = entry.get_string(name_key) else {
                cx.error(entry, format!("this `{list}` entry has no `{name_key}`"));
                continue;
            };
            let mut identity = Identity {
                kind,
                name: name.value.to_string(),
                position: cx.pos(entry),
                inline: Vec::new(),
                managed: Vec::new(),
                groups: Vec::new(),
            };
            if let Some(inline) = entry.get_array(inline_key) {
                for p in &inline.elements {
                    let Value::Object(p) = p else { continue };
                    let pname = p
                        .get_string("PolicyName")
                        .map_or_else(|| "(unnamed)".to_string(), |s| s.value.to_string());
                    if let Some(doc) = p.get("PolicyDocument") {
                        if let Some(doc) = cx.document_value(&doc.value) {
                            identity.inline.push((pname, doc));
                        }
                    }
                }
            }
            if let Some(attached) = entry.get_array("AttachedManagedPolicies") {
                for a in &attached.elements {
                    if let Value::Object(a) = a {
                        if let Some(arn) = a.get_string("PolicyArn") {
                            identity.managed.push(arn.value.to_string());
                        }
                    }
                }
            }
            if let Some(groups) = entry.get_array("GroupList") {
                for g in &groups.elements {
                    if let Value::StringLit(g) = g {
                        identity.groups.push(g.value.to_string());
                    }
                }
            }
            out.identities.push(identity);
        }
    }
    if let Some(policies) = obj.get_array("Policies") {
        for p in &policies.elements {
            let Value::Object(p) = p else { continue };
            let (Some(pname), Some(arn)) = (p.get_string("PolicyName"), p.get_string("Arn")) else {
                cx.error(p, "this `Policies` entry has no `PolicyName` or `Arn`");
                continue;
            };
            let default = p
                .get_string("DefaultVersionId")
                .map(|s| s.value.to_string());
            let Some(versions) = p.get_array("PolicyVersionList") else {
                continue;
            };
            let chosen = versions.elements.iter().find_map(|v| {
                let Value::Object(v) = v else { return None };
                let is_default = v.properties.iter().any(|prop| {
                    name(prop) == "IsDefaultVersion"
                        && matches!(prop.value, Value::BooleanLit(ref b) if b.value)
                }) || (default.is_some()
                    && v.get_string("VersionId").map(|s| s.value.to_string()) == default);
                if is_default {
                    v.get("Document")
                } else {
                    None
                }
            });
            if let Some(doc) = chosen {
                if let Some(document) = cx.document_value(&doc.value) {
                    out.policies.push(ManagedPolicy {
                        name: pname.value.to_string(),
                        arn: arn.value.to_string(),
                        document,
                    });
                }
            }
        }
    }
    out
}
