//! Landlock, where the kernel has it: a kernel-enforced backstop under the supervisor.
//!
//! - In enforce mode, execution is restricted to the policy's programs (and the interpreters
//!   and loaders the kernel opens for them), so a program swapped in by another thread after
//!   the supervisor's check cannot even start.
//! - In every mode, signals to processes outside the function (the supervisor) are refused
//!   (ABI 6), and in enforce mode so are connections to abstract Unix sockets created outside
//!   it (the supervisor performs the allowed ones itself).

use crate::image::exec_chain;
use landlock::{
    make_bitflags, path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use vigil_policy::{Mode, Policy};

/// What to restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files (or directories, for globs) whose execution stays allowed; `None` leaves
    /// execution unrestricted.
    pub exec: Option<Vec<String>>,
    /// Refuse signals to processes outside the function.
    pub scope_signals: bool,
    /// Refuse connections to abstract Unix sockets created outside the function.
    pub scope_abstract_unix: bool,
}

impl Applied {
    /// One line for events: the ABI and what is in force.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!("abi {}", self.abi)];
        if self.exec_restricted {
            parts.push("exec restricted".into());
        }
        if self.scoped {
            parts.push(if self.scoped_abstract {
                "signals and abstract sockets scoped".into()
            } else {
                "signals scoped".into()
            });
        }
        if let Some(n) = &self.note {
            parts.push(n.clone());
        }
        parts.join("; ")
    }
}

/// What was actually applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The kernel's Landlock ABI (0 = none).
    pub abi: u32,
    /// Execution is restricted.
    pub exec_restricted: bool,
    /// Signal scoping is in force.
    pub scoped: bool,
    /// Abstract Unix socket scoping is in force too.
    pub scoped_abstract: bool,
    /// Why not, when something was not applied.
    pub note: Option<String>,
}

/// The longest leading part of a glob without metacharacters, as a directory.
fn glob_dir(pattern: &str) -> String {
    let cut = pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len());
    let prefix = &pattern[..cut];
    match prefix.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => prefix[..i].to_string(),
    }
}

/// Files under `dir` that `pattern` matches (at most [`EXPANSION_LIMIT`] entries looked at).
fn matching_files(dir: &str, pattern: &vigil_policy::PathPattern) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(dir)];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen += 1;
            if seen > EXPANSION_LIMIT {
                return out;
            }
            let path = e.path();
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
            } else if let Some(s) = path.to_str() {
                if pattern.matches(s) {
                    out.push(s.to_string());
                }
            }
        }
    }
    out
}

/// How many directory entries a glob's expansion looks at.
const EXPANSION_LIMIT: usize = 20_000;

/// The plan for a policy in a mode. `program` is the command being started.
pub fn plan(policy: &Policy, mode: Mode, program: &str) -> Plan {
    let exec = (mode == Mode::Enforce).then(|| {
        let mut files: Vec<String> = Vec::new();
        for p in &policy.process.exec {
            if p.is_exact() {
                files.extend(exec_chain(p.as_str()));
            } else {
                // The directory covers every file the glob can match (now or later); the
                // loaders and interpreters of the files that match now are outside it.
                let dir = glob_dir(p.as_str());
                for f in matching_files(&dir, p) {
                    files.extend(exec_chain(&f));
                }
                files.push(dir);
            }
        }
        // The command itself is checked by the supervisor like any exec; if it is allowed its
        // interpreters must be executable too.
        if policy.allows_exec(program) {
            files.extend(exec_chain(program));
        }
        files.sort();
        files.dedup();
        files
    });
    Plan {
        exec,
        scope_signals: true,
        scope_abstract_unix: mode == Mode::Enforce,
    }
}

/// Applies `plan` to the calling thread (and what it executes). Must run after
/// `PR_SET_NO_NEW_PRIVS`. Best effort: parts the kernel lacks are reported, not fatal.
pub fn apply(plan: &Plan, abi: u32) -> Applied {
    let mut applied = Applied {
        abi,
        ..Default::default()
    };
    if abi == 0 {
        applied.note = Some("Landlock is not available in this kernel".into());
        return applied;
    }
    if plan.exec.is_none() && !plan.scope_signals && !plan.scope_abstract_unix {
        applied.note = Some("Landlock not requested".into());
        return applied;
    }
    let result = (|| -> Result<RulesetStatus, landlock::RulesetError> {
        let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::BestEffort);
        if plan.exec.is_some() {
            ruleset = ruleset.handle_access(AccessFs::Execute)?;
        }
        let mut scopes = landlock::BitFlags::<Scope>::empty();
        if plan.scope_signals {
            scopes |= make_bitflags!(Scope::{Signal});
        }
        if plan.scope_abstract_unix {
            scopes |= make_bitflags!(Scope::{AbstractUnixSocket});
        }
        if !scopes.is_empty() {
            ruleset = ruleset.scope(scopes)?;
        }
        let mut created = ruleset.create()?;
        if let Some(files) = &plan.exec {
            let rules = path_beneath_rules(files, AccessFs::from_all(ABI::V1) & AccessFs::Execute);
            created = created.add_rules(rules)?;
        }
        Ok(created.restrict_self()?.ruleset)
    })();
    match result {
        Ok(RulesetStatus::NotEnforced) => {
            applied.note = Some("Landlock rules were not enforced".into());
        }
        Ok(_) => {
            applied.exec_restricted = plan.exec.is_some();
            applied.scoped = abi >= 6 && plan.scope_signals;
            applied.scoped_abstract = abi >= 6 && plan.scope_abstract_unix;
            if abi < 6 {
                applied.note = Some(format!(
                    "Landlock ABI {abi} has no signal scoping (6+); in-kernel seccomp argument checks protect the supervisor"
                ));
            }
        }
        Err(e) => applied.note = Some(format!("Landlock could not be applied: {e}")),
    }
    applied
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_prefix_dir() {
        assert_eq!(glob_dir("/opt/app/*.sh"), "/opt/app");
        assert_eq!(glob_dir("/usr/**"), "/usr");
        assert_eq!(glob_dir("/*"), "/");
    }

    #[test]
    fn glob_plan_includes_the_loaders_of_matching_programs() {
        let dir = std::env::temp_dir().join(format!("vigil-ll-glob-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy("/bin/true", dir.join("prog")).unwrap();
        let text = format!("version: 1\nprocess:\n  exec: [\"{}/*\"]\n", dir.display());
        let policy = vigil_policy::parse("p", &text).unwrap();
        let exec = plan(&policy, Mode::Enforce, "/nonexistent").exec.unwrap();
        assert!(exec.iter().any(|f| f.contains("ld-linux")), "{exec:?}");
        assert!(exec.contains(&dir.display().to_string()), "{exec:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn enforce_plan_includes_loader() {
        let policy = vigil_policy::parse("p", "version: 1\nprocess:\n  exec: [/bin/sh]\n").unwrap();
        let p = plan(&policy, Mode::Enforce, "/bin/sh");
        let exec = p.exec.unwrap();
        assert!(exec.iter().any(|f| f.contains("ld-linux")), "{exec:?}");
        assert!(plan(&policy, Mode::Detect, "/bin/sh").exec.is_none());
    }
}
