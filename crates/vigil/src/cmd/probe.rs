//! `vigil probe`.

use clap::Args;
use std::process::ExitCode;

/// `vigil probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ProbeArgs) -> ExitCode {
    let p = match vigil_sensor::probe::probe() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("vigil: probe failed: {e}");
            return ExitCode::from(1);
        }
    };
    if a.json {
        match serde_json::to_string_pretty(&p) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("vigil: {e}");
                return ExitCode::from(1);
            }
        }
        return ExitCode::SUCCESS;
    }
    let yn = |b: bool| if b { "yes" } else { "no" };
    println!("kernel                     {}", p.kernel);
    println!(
        "already under seccomp      {}",
        match p.seccomp_mode {
            0 => "no",
            1 => "strict",
            _ => "filter",
        }
    );
    println!("no_new_privs               {}", yn(p.no_new_privs));
    println!("seccomp filter             {}", yn(p.seccomp_filter));
    println!("user notification          {}", yn(p.user_notification));
    println!("existing listener          {}", yn(p.existing_listener));
    println!("WAIT_KILLABLE_RECV         {}", yn(p.wait_killable_recv));
    println!("NOTIF_ADDFD                {}", yn(p.addfd));
    println!("ADDFD_FLAG_SEND            {}", yn(p.addfd_send));
    println!("pidfd_getfd                {}", yn(p.pidfd_getfd));
    match (&p.landlock_note, p.landlock_abi) {
        (Some(n), _) => println!("Landlock                   no ({n})"),
        (None, abi) => println!(
            "Landlock                   ABI {abi}{}",
            if abi >= 6 { " (signal scoping)" } else { "" }
        ),
    }
    if let Some(y) = p.yama_ptrace_scope {
        println!("Yama ptrace_scope          {y}");
    }
    println!();
    if p.layer_reason.is_empty() {
        println!("vigil run would use: {}", p.layer);
    } else {
        println!("vigil run would use: {} ({})", p.layer, p.layer_reason);
    }
    ExitCode::SUCCESS
}
