//! Removing the temporary folders of earlier test runs (shared by the sensor's and the Lambda
//! layer's end-to-end tests, which each keep one folder per test process in a static that is
//! never dropped, so never removed by the process itself).

use std::path::Path;

/// Removes the folders named `<prefix><pid>-…` in the temporary directory whose process `pid`
/// is gone (not this process's).
pub fn remove_stale_dirs(prefix: &str) {
    let Ok(dir) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
