//! Writing a policy as readable, commented YAML that [`crate::parse`] reads back unchanged.

use crate::model::*;
use crate::parse::FORMAT_VERSION;
use std::fmt::Write;

/// Quotes a scalar when plain YAML would read it differently (or not at all).
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '/' | '.' | '_' | '-' | '+' | '=' | ':' | '@' | ',')
        })
        && !s.contains(": ")
        && !s.ends_with(':')
        && !matches!(
            s,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && s.parse::<f64>().is_err();
    if plain {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn list(out: &mut String, key: &str, items: &[String]) {
    if items.is_empty() {
        let _ = writeln!(out, "  {key}: []");
        return;
    }
    let _ = writeln!(out, "  {key}:");
    for item in items {
        let _ = writeln!(out, "    - {}", scalar(item));
    }
}

fn on_violation(out: &mut String, a: Option<Action>) {
    if let Some(a) = a {
        let _ = writeln!(out, "  on_violation: {}", a.as_str());
    }
}

/// Renders `policy` as commented YAML. `header` lines (e.g. what it was learned from) are
/// written as comments at the top.
pub fn render(policy: &Policy, header: &[String]) -> String {
    let mut out = String::new();
    for h in header {
        let _ = writeln!(out, "# {h}");
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "version: {FORMAT_VERSION}");
    if let Some(mode) = policy.mode {
        let _ = writeln!(
            out,
            "# learn | detect | enforce (`vigil run --mode` overrides it)"
        );
        let _ = writeln!(out, "mode: {mode}");
    }
    let _ = writeln!(
        out,
        "# In enforce mode a violation is denied (the call fails with EPERM/EACCES) or the process killed."
    );
    let _ = writeln!(out, "on_violation: {}", policy.on_violation.as_str());
    if let Some(r) = policy.require {
        let _ = writeln!(
            out,
            "# The weakest protection layer acceptable; below it the function does not start."
        );
        let _ = writeln!(out, "require: {}", r.as_str());
    }

    out.push_str("\nprocess:\n");
    out.push_str("  # Programs that may run, by resolved path (symlinks followed; a script implies its #! interpreter).\n");
    let exec: Vec<String> = policy
        .process
        .exec
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    list(&mut out, "exec", &exec);
    out.push_str("  # May processes be created (fork, vfork, clone)?\n");
    let _ = writeln!(out, "  fork: {}", policy.process.fork);
    on_violation(&mut out, policy.process.on_violation);

    out.push_str("\nnetwork:\n");
    out.push_str("  # Outbound destinations (connect; sendto/sendmsg with an address): ip:port, [ipv6]:port,\n");
    out.push_str(
        "  # cidr:port, host:port, unix:/path, unix:@abstract; a port may be * or lo-hi.\n",
    );
    let connect: Vec<String> = policy
        .network
        .connect
        .iter()
        .map(|d| d.to_string())
        .collect();
    list(&mut out, "connect", &connect);
    out.push_str("  # Ports that may be bound and listened on (tcp:N, udp:N or N for both; 0 = ephemeral).\n");
    let listen: Vec<String> = policy
        .network
        .listen
        .iter()
        .map(|l| l.to_string())
        .collect();
    list(&mut out, "listen", &listen);
    on_violation(&mut out, policy.network.on_violation);

    out.push_str("\nfiles:\n");
    out.push_str("  # Paths that may be written: opened for writing, created, truncated, renamed, linked, removed.\n");
    let write: Vec<String> = policy
        .files
        .write
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    list(&mut out, "write", &write);
    out.push_str(
        "  # Files that may be mapped executable (shared libraries), besides the programs above.\n",
    );
    let exec_map: Vec<String> = policy
        .files
        .exec_map
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    list(&mut out, "exec_map", &exec_map);
    on_violation(&mut out, policy.files.on_violation);

    out.push_str("\nmemory:\n");
    out.push_str("  # Memory writable and executable at once: anonymous, or a writable file mapping (some JITs; also shellcode).\n");
    let _ = writeln!(out, "  write_execute: {}", policy.memory.write_execute);
    out.push_str(
        "  # Memory made executable after it was mapped (mprotect): JITs; also shellcode loaders.\n",
    );
    let _ = writeln!(
        out,
        "  anonymous_execute: {}",
        policy.memory.anonymous_execute
    );
    out.push_str("  # memfd_create: in-memory files, as used by fileless payloads.\n");
    let _ = writeln!(out, "  memfd: {}", policy.memory.memfd);
    on_violation(&mut out, policy.memory.on_violation);

    if !policy.hardening_allow.is_empty() {
        out.push_str("\nhardening:\n");
        out.push_str("  # Hardening groups this function is exempted from (see docs/policy.md).\n");
        let names: Vec<String> = policy
            .hardening_allow
            .iter()
            .map(|n| n.name.clone())
            .collect();
        list(&mut out, "allow", &names);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let text = r#"version: 1
mode: detect
on_violation: kill
require: kernel-sensor
process:
  exec: [/usr/bin/python3.11, "/opt/app/*.sh"]
  fork: true
network:
  connect: ["[::1]:8080", "127.0.0.1:80", "10.0.0.0/8:1000-2000", "api.example.com:443", "unix:/run/x.sock", "unix:@bus", "0.0.0.0/0:*"]
  listen: [8080, "udp:53", 0]
  on_violation: deny
files:
  write: ["/tmp/out file.json", "/tmp/a:b", /tmp/yes, "/tmp/**"]
  exec_map: [/usr/lib/x86_64-linux-gnu/libz.so.1]
memory:
  write_execute: true
  anonymous_execute: false
  memfd: true
hardening:
  allow: [io_uring]
"#;
        let p = crate::parse("p.yaml", text).unwrap();
        let rendered = render(&p, &["learned from a test".into()]);
        let back =
            crate::parse("rendered.yaml", &rendered).unwrap_or_else(|e| panic!("{e}\n{rendered}"));
        assert_eq!(p, back, "{rendered}");
        assert!(rendered.starts_with("# learned from a test\n"));
    }
}
