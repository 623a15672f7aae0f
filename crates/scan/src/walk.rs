//! Input discovery: the files behind the PATH arguments.
//!
//! A file named on the command line is always scanned (an unsupported one is an error); a
//! directory is walked recursively, in name order, keeping the files the caller's filter
//! accepts and skipping folders that hold copies or dependencies rather than sources
//! (`.git`, `node_modules`, `.aws-sam`, `.terraform`, `target` and other hidden folders).
//! Symbolic links to files are scanned; links to directories are not followed (no cycles).

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::finding::{Position, ScanError};

/// A file to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where it is.
    pub path: PathBuf,
    /// Its name in findings (the path as given or found, with `/` separators).
    pub name: String,
    /// Named on the command line (rather than found in a directory).
    pub explicit: bool,
}

impl Input {
    /// The file's text, without a leading UTF-8 byte order mark; a file that cannot be read or
    /// is not UTF-8 is an error at 1:1.
    pub fn read(&self) -> Result<String, ScanError> {
        let bytes = std::fs::read(&self.path).map_err(|e| {
            ScanError::new(Position::new(&self.name, 1, 1), format!("cannot read: {e}"))
        })?;
        String::from_utf8(strip_bom(bytes)).map_err(|e| {
            ScanError::new(
                Position::new(&self.name, 1, 1),
                format!(
                    "not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }
}

/// `bytes` without a leading UTF-8 byte order mark, which Windows editors write and which JSON,
/// YAML and HCL parsers refuse or misread; positions then count from the first real character,
/// as editors show them.
pub fn strip_bom(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(b"\xef\xbb\xbf") {
        bytes.drain(..3);
    }
    bytes
}

const SKIPPED_DIRS: [&str; 4] = ["node_modules", "target", "__pycache__", "venv"];

fn skipped(dir: &Path, root: &Path) -> bool {
    if dir == root {
        return false;
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || SKIPPED_DIRS.contains(&name)
}

/// The files behind `paths`: files as given, directories walked for files that `wanted`
/// accepts. Paths that do not exist or cannot be walked are errors; the others are returned.
pub fn discover(paths: &[PathBuf], wanted: &dyn Fn(&Path) -> bool) -> (Vec<Input>, Vec<ScanError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        let root_name = root.to_string_lossy().replace('\\', "/");
        match std::fs::metadata(root) {
            Err(e) => errors.push(ScanError::new(
                Position::new(&root_name, 1, 1),
                format!("cannot read: {e}"),
            )),
            Ok(m) if m.is_file() => inputs.push(Input {
                path: root.clone(),
                name: root_name,
                explicit: true,
            }),
            // A FIFO, socket or device: reading it could block or never end.
            Ok(m) if !m.is_dir() => errors.push(ScanError::new(
                Position::new(&root_name, 1, 1),
                "cannot read: not a regular file or a directory",
            )),
            Ok(_) => {
                let walker = WalkDir::new(root)
                    .follow_links(false)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| !(e.file_type().is_dir() && skipped(e.path(), root)));
                for entry in walker {
                    match entry {
                        // Files, and symbolic links to files (links to directories are not
                        // followed, so a link cycle cannot trap the walk).
                        Ok(e)
                            if (e.file_type().is_file()
                                || (e.path_is_symlink()
                                    && std::fs::metadata(e.path()).is_ok_and(|m| m.is_file())))
                                && wanted(e.path()) =>
                        {
                            inputs.push(Input {
                                path: e.path().to_path_buf(),
                                name: e.path().to_string_lossy().replace('\\', "/"),
                                explicit: false,
                            })
                        }
                        Ok(_) => {}
                        Err(e) => {
                            let at = e.path().map_or_else(
                                || root_name.clone(),
                                |p| p.to_string_lossy().replace('\\', "/"),
                            );
                            errors.push(ScanError::new(
                                Position::new(at, 1, 1),
                                format!("cannot read: {e}"),
                            ));
                        }
                    }
                }
            }
        }
    }
    (inputs, errors)
}

/// Whether a path has one of the given extensions (case-insensitive, without the dot).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vigil-walk-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        dir
    }

    #[cfg(unix)]
    #[test]
    fn links_to_files_are_scanned_and_links_to_directories_are_not_followed() {
        use std::os::unix::fs::symlink;
        let dir = scratch("links");
        let sub = dir.join("sub");
        std::fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.join("real.json"), "{}").unwrap_or_else(|e| panic!("{e}"));
        symlink(dir.join("real.json"), sub.join("linked.json")).unwrap_or_else(|e| panic!("{e}"));
        symlink(&dir, sub.join("loop")).unwrap_or_else(|e| panic!("{e}"));
        symlink(dir.join("missing.json"), sub.join("dangling.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (inputs, errors) = discover(&[dir.clone()], &|p| has_extension(p, &["json"]));
        let names: Vec<String> = inputs
            .iter()
            .map(|i| {
                i.path
                    .strip_prefix(&dir)
                    .unwrap_or(&i.path)
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["real.json", "sub/linked.json"], "{errors:?}");
        assert!(errors.is_empty(), "{errors:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_named_path_that_is_neither_file_nor_directory_is_an_error() {
        let (inputs, errors) = discover(&[PathBuf::from("/dev/null")], &|_| true);
        assert!(inputs.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].message.contains("not a regular file"),
            "{errors:?}"
        );
    }
}
