//! OCSF 1.x-aligned event objects. Field names and enumerations follow the OCSF schema
//! (schema.ocsf.io); Vigil-specific details that have no OCSF attribute go in `unmapped`.

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// The OCSF schema version these events follow.
pub const OCSF_VERSION: &str = "1.3.0";
/// `metadata.product.name`.
pub const PRODUCT_NAME: &str = "vigil";
/// `metadata.product.version`.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The OCSF event classes Vigil emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// 1001 File System Activity (activities: 1 Create, 3 Update, 4 Delete, 5 Rename).
    FileSystem,
    /// 1005 Module Activity (1 Load): a library or package loaded.
    Module,
    /// 1007 Process Activity (1 Launch, 2 Terminate, 4 Inject).
    Process,
    /// 2004 Detection Finding (1 Create): a policy violation.
    DetectionFinding,
    /// 4001 Network Activity (1 Open, 5 Refuse, 6 Traffic, 7 Listen).
    Network,
    /// 6002 Application Lifecycle (3 Start, 4 Stop): the sensor itself.
    ApplicationLifecycle,
}

impl Class {
    /// `class_uid`.
    pub fn uid(self) -> u32 {
        match self {
            Class::FileSystem => 1001,
            Class::Module => 1005,
            Class::Process => 1007,
            Class::DetectionFinding => 2004,
            Class::Network => 4001,
            Class::ApplicationLifecycle => 6002,
        }
    }

    /// `class_name`.
    pub fn name(self) -> &'static str {
        match self {
            Class::FileSystem => "File System Activity",
            Class::Module => "Module Activity",
            Class::Process => "Process Activity",
            Class::DetectionFinding => "Detection Finding",
            Class::Network => "Network Activity",
            Class::ApplicationLifecycle => "Application Lifecycle",
        }
    }

    /// `category_uid` (the thousands of `class_uid`).
    pub fn category_uid(self) -> u32 {
        self.uid() / 1000
    }

    /// `category_name`.
    pub fn category_name(self) -> &'static str {
        match self.category_uid() {
            1 => "System Activity",
            2 => "Findings",
            4 => "Network Activity",
            6 => "Application Activity",
            _ => "Other",
        }
    }

    /// `activity_name` for `activity_id` in this class.
    pub fn activity_name(self, activity_id: u32) -> &'static str {
        match (self, activity_id) {
            (Class::FileSystem, 1) => "Create",
            (Class::FileSystem, 2) => "Read",
            (Class::FileSystem, 3) => "Update",
            (Class::FileSystem, 4) => "Delete",
            (Class::FileSystem, 5) => "Rename",
            (Class::Module, 1) => "Load",
            (Class::Module, 2) => "Unload",
            (Class::Process, 1) => "Launch",
            (Class::Process, 2) => "Terminate",
            (Class::Process, 3) => "Open",
            (Class::Process, 4) => "Inject",
            (Class::DetectionFinding, 1) => "Create",
            (Class::Network, 1) => "Open",
            (Class::Network, 4) => "Fail",
            (Class::Network, 5) => "Refuse",
            (Class::Network, 6) => "Traffic",
            (Class::Network, 7) => "Listen",
            (Class::ApplicationLifecycle, 3) => "Start",
            (Class::ApplicationLifecycle, 4) => "Stop",
            (_, 99) => "Other",
            _ => "Unknown",
        }
    }
}

/// `severity_id`: 1 Informational … 5 Critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 1
    Informational = 1,
    /// 2
    Low = 2,
    /// 3
    Medium = 3,
    /// 4
    High = 4,
    /// 5
    Critical = 5,
}

impl Severity {
    /// The OCSF caption.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Informational => "Informational",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }
}

/// The outcome of a decision: `action_id` and `disposition_id` (Security Control profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Allowed by the policy (action 1, disposition 1 Allowed).
    Allowed,
    /// Denied: the system call failed (action 2, disposition 2 Blocked).
    Blocked,
    /// Denied by killing the process (action 2, disposition 2 Blocked; `unmapped.enforcement` = kill).
    Killed,
    /// A violation that detect mode let through (action 1, disposition 15 Detected).
    Detected,
    /// Recorded by learn mode (action 1, disposition 17 Logged).
    Logged,
}

impl Outcome {
    /// `(action_id, action, disposition_id, disposition)`.
    pub fn ids(self) -> (u8, &'static str, u8, &'static str) {
        match self {
            Outcome::Allowed => (1, "Allowed", 1, "Allowed"),
            Outcome::Blocked | Outcome::Killed => (2, "Denied", 2, "Blocked"),
            Outcome::Detected => (1, "Allowed", 15, "Detected"),
            Outcome::Logged => (1, "Allowed", 17, "Logged"),
        }
    }
}

/// `metadata.product`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    /// "vigil".
    pub name: String,
    /// "Vigil".
    pub vendor_name: String,
    /// The vigil version.
    pub version: String,
}

/// `metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The product.
    pub product: Product,
    /// The OCSF schema version.
    pub version: String,
    /// A unique id of this event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uid: Option<String>,
    /// The invocation's request id, inside a function.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub correlation_uid: Option<String>,
    /// The OCSF profiles this event uses.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub profiles: Vec<String>,
    /// Where the event was logged: `vigil-sensor`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_name: Option<String>,
}

/// `file` (OCSF File object, the parts Vigil fills).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    /// Full path.
    pub path: String,
    /// Base name.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub name: String,
    /// 1 Regular File, 2 Folder, 3 Character Device, 4 Block Device, 5 Local Socket,
    /// 6 Named Pipe, 7 Symbolic Link, 99 Other.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub type_id: Option<u8>,
}

impl File {
    /// A file by path; `name` is derived.
    pub fn at(path: impl Into<String>) -> Self {
        let path = path.into();
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        File {
            path,
            name,
            type_id: None,
        }
    }
}

/// `process` / `actor.process` (OCSF Process object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Process id (thread group id).
    pub pid: u32,
    /// Thread id, when it differs from `pid`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tid: Option<u32>,
    /// The executable.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<File>,
    /// The command line, arguments separated by spaces.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cmd_line: Option<String>,
    /// The parent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parent_process: Option<Box<Process>>,
    /// The user running it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<User>,
    /// Working directory.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cwd: Option<String>,
}

/// `user` (OCSF User object).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The numeric user id, as a string (OCSF `uid` is a string).
    pub uid: String,
}

/// `actor`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The process that acted.
    pub process: Process,
}

/// `dst_endpoint` / `src_endpoint` (OCSF Network Endpoint).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ip: Option<String>,
    /// Port.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub port: Option<u16>,
    /// Host name, when known (from the policy rule that matched).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hostname: Option<String>,
    /// For Unix sockets: the path, or `@name` for the abstract namespace.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub path: Option<String>,
}

/// `connection_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// `tcp`, `udp`, `unix`.
    pub protocol_name: String,
    /// OCSF direction: 1 Inbound, 2 Outbound.
    pub direction_id: u8,
}

/// `module` (OCSF Module object): a loaded library.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// The library file.
    pub file: File,
    /// 1 Regular load… (OCSF load_type_id); Vigil uses 99 Other for `mmap(PROT_EXEC)`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub load_type_id: Option<u8>,
}

/// `finding_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingInfo {
    /// The rule, e.g. `network.connect`.
    pub uid: String,
    /// Human title, e.g. "Connection to a destination not in the policy".
    pub title: String,
    /// Longer description.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub desc: Option<String>,
    /// MITRE ATT&CK style types, e.g. `Execution`.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub types: Vec<String>,
}

/// `device` (OCSF Device object): the sandbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// 6 Virtual.
    pub type_id: u8,
    /// "Virtual".
    #[serde(rename = "type")]
    pub type_name: String,
    /// The host name.
    pub hostname: String,
    /// The operating system.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub os: Option<Os>,
}

/// `device.os`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Os {
    /// "Linux".
    pub name: String,
    /// 200 Linux.
    pub type_id: u16,
    /// Kernel release.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
}

/// `cloud`: where a function runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cloud {
    /// "AWS".
    pub provider: String,
    /// The region.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub region: Option<String>,
    /// The account id, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub account: Option<Account>,
}

/// `cloud.account`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Account id.
    pub uid: String,
}

/// One evidence artifact of a finding: the activity that triggered it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The acting process.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub process: Option<Process>,
    /// The destination, for network violations.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dst_endpoint: Option<Endpoint>,
    /// The file, for file and exec violations.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<File>,
}

/// One event. Construct with [`Event::new`] and fill what applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// OCSF class id.
    pub class_uid: u32,
    /// Class caption.
    pub class_name: String,
    /// OCSF category id.
    pub category_uid: u32,
    /// Category caption.
    pub category_name: String,
    /// Activity id within the class.
    pub activity_id: u32,
    /// Activity caption.
    pub activity_name: String,
    /// `class_uid * 100 + activity_id`.
    pub type_uid: u64,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// 1 Informational … 5 Critical.
    pub severity_id: u8,
    /// Severity caption.
    pub severity: String,
    /// A one-line human summary.
    pub message: String,
    /// `action_id`: 1 Allowed, 2 Denied.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action_id: Option<u8>,
    /// Action caption.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<String>,
    /// `disposition_id`: 1 Allowed, 2 Blocked, 15 Detected, 17 Logged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub disposition_id: Option<u8>,
    /// Disposition caption.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub disposition: Option<String>,
    /// `status_id`: 1 Success, 2 Failure.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_id: Option<u8>,
    /// Details of a failure.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status_detail: Option<String>,
    /// Event metadata.
    pub metadata: Metadata,
    /// Who acted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actor: Option<Actor>,
    /// The process acted upon (Process Activity) .
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub process: Option<Process>,
    /// Destination (Network Activity).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dst_endpoint: Option<Endpoint>,
    /// Connection details (Network Activity).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connection_info: Option<ConnectionInfo>,
    /// The file acted upon (File System Activity).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub file: Option<File>,
    /// The module loaded (Module Activity).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub module: Option<Module>,
    /// Exit code (Process Activity: Terminate).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_code: Option<i32>,
    /// The finding (Detection Finding).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub finding_info: Option<FindingInfo>,
    /// What triggered the finding.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidences: Vec<Evidence>,
    /// True on findings that should raise an alert.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub is_alert: Option<bool>,
    /// The sandbox.
    pub device: Device,
    /// The cloud, inside a function.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cloud: Option<Cloud>,
    /// Details without an OCSF attribute: `syscall`, `mode`, `rule`, `layer`, `enforcement`,
    /// `observation`, `function`, … (documented in docs/events.md).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub unmapped: serde_json::Map<String, serde_json::Value>,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Event {
    /// An event of `class`/`activity_id` with the classification, time, severity, metadata and
    /// device filled in. `device` is the sandbox (the caller knows its hostname).
    pub fn new(
        class: Class,
        activity_id: u32,
        severity: Severity,
        message: impl Into<String>,
        device: Device,
    ) -> Self {
        let mut profiles = vec!["host".to_string()];
        if class == Class::DetectionFinding
            || matches!(
                class,
                Class::Network | Class::FileSystem | Class::Process | Class::Module
            )
        {
            profiles.push("security_control".to_string());
        }
        Event {
            class_uid: class.uid(),
            class_name: class.name().to_string(),
            category_uid: class.category_uid(),
            category_name: class.category_name().to_string(),
            activity_id,
            activity_name: class.activity_name(activity_id).to_string(),
            type_uid: u64::from(class.uid()) * 100 + u64::from(activity_id),
            time: now_ms(),
            severity_id: severity as u8,
            severity: severity.name().to_string(),
            message: message.into(),
            action_id: None,
            action: None,
            disposition_id: None,
            disposition: None,
            status_id: None,
            status_detail: None,
            metadata: Metadata {
                product: Product {
                    name: PRODUCT_NAME.to_string(),
                    vendor_name: "Vigil".to_string(),
                    version: PRODUCT_VERSION.to_string(),
                },
                version: OCSF_VERSION.to_string(),
                uid: None,
                correlation_uid: None,
                profiles,
                log_name: Some("vigil-sensor".to_string()),
            },
            actor: None,
            process: None,
            dst_endpoint: None,
            connection_info: None,
            file: None,
            module: None,
            exit_code: None,
            finding_info: None,
            evidences: Vec::new(),
            is_alert: None,
            device,
            cloud: None,
            unmapped: serde_json::Map::new(),
        }
    }

    /// Sets `action_id`/`action`/`disposition_id`/`disposition` from `outcome`.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        let (a, an, d, dn) = outcome.ids();
        self.action_id = Some(a);
        self.action = Some(an.to_string());
        self.disposition_id = Some(d);
        self.disposition = Some(dn.to_string());
        if outcome == Outcome::Killed {
            self.set("enforcement", "kill");
        }
        self
    }

    /// Sets an `unmapped` field.
    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.unmapped.insert(key.to_string(), value.into());
    }

    /// Reads an `unmapped` string field.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.unmapped.get(key).and_then(|v| v.as_str())
    }
}

/// The fields every event must carry, per DESIGN.md's contract and the OCSF base event, with
/// the class-specific required ones. Used by tests (ours and downstream) to check events.
pub fn missing_required_fields(value: &serde_json::Value) -> Vec<&'static str> {
    let mut missing = Vec::new();
    let has = |path: &str| {
        let mut v = value;
        for part in path.split('.') {
            match v.get(part) {
                Some(next) => v = next,
                None => return false,
            }
        }
        !v.is_null()
    };
    for f in [
        "class_uid",
        "category_uid",
        "activity_id",
        "type_uid",
        "time",
        "severity_id",
        "metadata.product.name",
        "metadata.product.version",
        "metadata.version",
        "device.type_id",
        "device.hostname",
    ] {
        if !has(f) {
            missing.push(f);
        }
    }
    let class = value.get("class_uid").and_then(|v| v.as_u64()).unwrap_or(0);
    let class_fields: &[&'static str] = match class {
        1001 => &["actor.process.pid", "file.path"],
        1005 => &["actor.process.pid", "module.file.path"],
        1007 => &["actor.process.pid", "process.pid"],
        2004 => &["finding_info.uid", "finding_info.title"],
        4001 => &["actor.process.pid", "dst_endpoint"],
        _ => &[],
    };
    for f in class_fields {
        if !has(f) {
            missing.push(f);
        }
    }
    let (c, a, t) = (
        value.get("class_uid").and_then(|v| v.as_u64()),
        value.get("activity_id").and_then(|v| v.as_u64()),
        value.get("type_uid").and_then(|v| v.as_u64()),
    );
    if let (Some(c), Some(a), Some(t)) = (c, a, t) {
        if t != c * 100 + a {
            missing.push("type_uid (must be class_uid * 100 + activity_id)");
        }
    }
    if value.get("disposition_id").and_then(|v| v.as_u64()) == Some(2)
        && value.get("action_id").and_then(|v| v.as_u64()) != Some(2)
    {
        missing.push("action_id (a blocked event must have action_id 2)");
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device {
            type_id: 6,
            type_name: "Virtual".into(),
            hostname: "sandbox".into(),
            os: None,
        }
    }

    #[test]
    fn classification_is_consistent_and_round_trips() {
        let mut e = Event::new(Class::Network, 5, Severity::High, "blocked", device())
            .with_outcome(Outcome::Blocked);
        e.actor = Some(Actor {
            process: Process {
                pid: 7,
                ..Default::default()
            },
        });
        e.dst_endpoint = Some(Endpoint {
            ip: Some("127.0.0.1".into()),
            port: Some(9),
            ..Default::default()
        });
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type_uid"], 400105);
        assert_eq!(v["category_uid"], 4);
        assert_eq!(v["action_id"], 2);
        assert_eq!(v["disposition_id"], 2);
        assert!(
            missing_required_fields(&v).is_empty(),
            "{:?}",
            missing_required_fields(&v)
        );
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn missing_fields_are_reported() {
        let v = serde_json::json!({"class_uid": 2004, "activity_id": 1, "type_uid": 200402,
            "disposition_id": 2, "action_id": 1});
        let m = missing_required_fields(&v);
        assert!(m.contains(&"finding_info.uid"));
        assert!(m.contains(&"metadata.product.name"));
        assert!(m.iter().any(|f| f.starts_with("type_uid")));
        assert!(m.iter().any(|f| f.starts_with("action_id")));
    }
}
