//! Scans templates and prints a summary: `template_scan [--json] PATH...`.
//!
//! A stand-in for `vigil scan template` used by `bench/scan-templates/run.sh` until the CLI
//! lands; it calls the same entry point ([`vigil_scan::scan_template_paths`]).
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let paths: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let start = Instant::now();
    let report = vigil_scan::scan_template_paths(&paths);
    let elapsed = start.elapsed();
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("cannot encode the report: {e}"),
        }
        return;
    }
    let mut by_code: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &report.findings {
        *by_code.entry(f.code.as_str()).or_default() += 1;
    }
    let files: std::collections::BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.position.file.as_str())
        .chain(report.errors.iter().map(|e| e.position.file.as_str()))
        .collect();
    println!("elapsed_ms {:.1}", elapsed.as_secs_f64() * 1000.0);
    println!("findings {}", report.findings.len());
    println!("errors {}", report.errors.len());
    println!("files_with_results {}", files.len());
    for (code, n) in by_code {
        println!("code {code} {n}");
    }
    for e in &report.errors {
        println!(
            "error {}:{}:{}: {}",
            e.position.file, e.position.line, e.position.column, e.message
        );
    }
}
