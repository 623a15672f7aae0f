//! Pieces shared by the sensor subcommands: loading policies, opening the event sink, the
//! sandbox's identity.

use anyhow::{anyhow, Context, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use vigil_events::{Device, JsonLines, Os, Sink};
use vigil_policy::Policy;

/// Exit status when vigil itself failed before the command ran.
pub const EXIT_VIGIL: u8 = 125;

/// A policy file that could not be used, rendered with positions.
#[derive(Debug)]
pub struct PolicyLoadError(pub String);

impl std::fmt::Display for PolicyLoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for PolicyLoadError {}

/// Reads, parses and validates a policy, including the parts only the sensor knows (the
/// hardening group names).
pub fn load_policy(path: &Path) -> Result<Policy> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read policy {name}"))?;
    let known: Vec<&str> = vigil_sensor::hardening::group_names().collect();
    vigil_policy::parse_with(&name, &text, Some(&known))
        .map_err(|e| anyhow!(PolicyLoadError(e.render())))
}

/// How long routine activity events (an allowed exec, connect, a process exit, …) may wait
/// to be written together with the next ones: a burst of them costs one write, not one each.
/// Findings and the sensor's own events are written at once (see `JsonLines`).
pub const EVENT_LINGER: std::time::Duration = std::time::Duration::from_millis(20);

/// Opens the event destination: `-` is stderr, anything else a file (appended to).
pub fn open_events(dest: &str) -> Result<Box<dyn Sink>> {
    if dest == "-" {
        return Ok(Box::new(JsonLines::lingering(
            std::io::stderr(),
            EVENT_LINGER,
        )));
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dest)
        .with_context(|| format!("cannot open the events file `{dest}` (--events)"))?;
    Ok(Box::new(JsonLines::lingering(f, EVENT_LINGER)))
}

/// This sandbox, for events.
pub fn device() -> Device {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .ok()
    };
    Device {
        type_id: 6,
        type_name: "Virtual".into(),
        hostname: read("/proc/sys/kernel/hostname").unwrap_or_else(|| "localhost".into()),
        os: Some(Os {
            name: "Linux".into(),
            type_id: 200,
            version: read("/proc/sys/kernel/osrelease"),
        }),
    }
}

/// Resolves the policy's host names (a name that does not resolve matches nothing).
///
/// Through `vigil_lambda::dns` (/etc/hosts, then DNS to the servers of /etc/resolv.conf), not
/// `getaddrinfo`: the static layer binary must not load glibc's NSS modules from the sandbox.
pub fn resolve_hosts(policy: &Policy) -> Vec<(String, IpAddr)> {
    vigil_lambda::dns::policy_hosts(policy)
}

/// Finds `cmd` the way a shell does: a name with a `/` is a path; otherwise PATH is searched.
/// `Err((126|127, message))` when it cannot be run.
pub fn find_program(cmd: &str) -> std::result::Result<PathBuf, (u8, String)> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    if cmd.contains('/') {
        let p = PathBuf::from(cmd);
        let p = if p.is_absolute() {
            p
        } else {
            std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
        };
        return match std::fs::metadata(&p) {
            Err(_) => Err((127, format!("{cmd}: No such file or directory"))),
            Ok(m) if m.is_dir() => Err((126, format!("{cmd}: Is a directory"))),
            Ok(_) if !executable(&p) => Err((126, format!("{cmd}: Permission denied"))),
            Ok(_) => Ok(p),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let p = dir.join(cmd);
        if executable(&p) {
            return Ok(if p.is_absolute() {
                p
            } else {
                std::env::current_dir().map(|d| d.join(&p)).unwrap_or(p)
            });
        }
    }
    Err((127, format!("{cmd}: command not found")))
}

/// Writes `text` to `path` atomically (a temporary file in the same directory, renamed).
pub fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
