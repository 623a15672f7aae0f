//! What the checks need from a template, whatever its format: functions, roles and the
//! Lambda resources around them, with values already resolved (intrinsics, Globals,
//! parameters, Terraform variables) and positions pointing into the scanned file.

use super::node::{Kind, Node, Pos};

/// A value after resolution, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// Where the value (or the reference that produced it) is written.
    pub pos: Pos,
    /// The resolved value; [`Kind::Unknown`] when it is only known at deploy time.
    pub node: Node,
}

impl Value {
    /// Wraps a resolved node.
    pub fn new(node: Node) -> Self {
        Value {
            pos: node.pos,
            node,
        }
    }

    /// The literal text when the value resolved to a scalar.
    pub fn text(&self) -> Option<&str> {
        self.node.as_str()
    }

    /// The literal text, or the description of the reference when unknown.
    pub fn text_or_reference(&self) -> Option<&str> {
        match &self.node.kind {
            Kind::Str(s) | Kind::Unknown(s) => Some(s),
            _ => None,
        }
    }
}

/// Which language a resource was written in (changes the advice we give).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// AWS SAM (`AWS::Serverless::*`).
    Sam,
    /// Plain CloudFormation.
    CloudFormation,
    /// Terraform configuration or plan.
    Terraform,
}

/// An environment variable of a function.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvVar {
    /// The variable name.
    pub name: String,
    /// Where the name is written.
    pub pos: Pos,
    /// Its value.
    pub value: Value,
    /// Set when the value comes from a `NoEcho` parameter or a sensitive variable.
    pub from_secret_parameter: Option<String>,
}

/// How a function names its execution role.
#[derive(Debug, Clone, PartialEq)]
pub enum RoleLink {
    /// A role defined in the same template/module, by logical id or Terraform address.
    Defined(String),
    /// A role from outside (an ARN or an unresolvable reference): its policies are unknown.
    External(String),
    /// No role given (SAM then creates one, recorded as [`RoleLink::Defined`]).
    Missing,
}

/// A Lambda function.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    /// Logical id or Terraform address.
    pub id: String,
    /// Where the resource starts.
    pub pos: Pos,
    /// Where it was written.
    pub dialect: Dialect,
    /// `PackageType: Image` / `package_type = "Image"`.
    pub image: bool,
    /// The runtime, when given.
    pub runtime: Option<Value>,
    /// The layers, resolved.
    pub layers: Vec<Value>,
    /// Environment variables, resolved.
    pub env: Vec<EnvVar>,
    /// The execution role.
    pub role: RoleLink,
    /// Where the role is named (or the function, for an implicit role).
    pub role_pos: Pos,
}

/// A policy document attached to a role, already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDoc {
    /// What to call it in findings: `MyRole/Policies/AllowS3`, `aws_iam_role_policy.p`.
    pub name: String,
    /// The document (a mapping with `Statement`).
    pub doc: Node,
}

/// An AWS managed policy (or customer policy ARN) attached by name.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedRef {
    /// The name or ARN as written (resolved).
    pub arn: String,
    /// Where it is written.
    pub pos: Pos,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Role {
    /// Logical id or Terraform address.
    pub id: String,
    /// Where it is defined.
    pub pos: Pos,
    /// Inline and attached policy documents written in the template.
    pub policies: Vec<PolicyDoc>,
    /// Documents written by AWS (the SAM policy templates): part of what the role may do, but
    /// their statements are not the template's to fix, so only the effective checks see them.
    pub vendor_policies: Vec<PolicyDoc>,
    /// Managed policies attached by ARN.
    pub managed: Vec<ManagedRef>,
}

/// A function URL (`AWS::Lambda::Url`, SAM `FunctionUrlConfig`, `aws_lambda_function_url`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUrl {
    /// Logical id or address of the URL (or of the function for SAM).
    pub id: String,
    /// The auth type.
    pub auth_type: Value,
}

/// A resource-based permission on a function.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    /// Logical id or address.
    pub id: String,
    /// Where it is defined.
    pub pos: Pos,
    /// The principal.
    pub principal: Value,
    /// The action.
    pub action: Option<String>,
    /// Whether `SourceArn`, `SourceAccount` or `PrincipalOrgID` narrows it.
    pub has_source: bool,
}

/// Everything extracted from one template (or one Terraform module).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    /// Functions.
    pub functions: Vec<Function>,
    /// Roles, including SAM's implicit roles.
    pub roles: Vec<Role>,
    /// Function URLs.
    pub urls: Vec<FunctionUrl>,
    /// Invoke permissions.
    pub permissions: Vec<Permission>,
    /// References that could not be resolved where they decide a finding (reported as info).
    pub notes: Vec<Note>,
}

/// A remark on the template that is not a finding in itself (e.g. an unresolvable intrinsic).
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Stable code.
    pub code: &'static str,
    /// Where.
    pub pos: Pos,
    /// Resource it is about.
    pub resource: String,
    /// What.
    pub message: String,
}
