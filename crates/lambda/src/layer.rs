//! `vigil lambda layer`: the layer to publish (`aws lambda publish-layer-version --zip-file`).
//!
//! A layer is unpacked into /opt, so the zip holds:
//!
//! | path in the zip | in the sandbox | what |
//! |---|---|---|
//! | `vigil/vigil` | `/opt/vigil/vigil` | this binary (statically linked for the layer) |
//! | `vigil/wrap` | `/opt/vigil/wrap` | the exec wrapper `AWS_LAMBDA_EXEC_WRAPPER` points at |
//! | `vigil/policy.yaml` | `/opt/vigil/policy.yaml` | the default policy (detect mode, allows nothing) |
//! | `extensions/vigil` | `/opt/extensions/vigil` | the external extension Lambda starts |

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use zip::write::SimpleFileOptions;

/// The wrapper script: the runtime's command line follows.
pub const WRAP: &str = "#!/bin/sh\n# Vigil exec wrapper: AWS_LAMBDA_EXEC_WRAPPER=/opt/vigil/wrap\nexec /opt/vigil/vigil lambda wrap -- \"$@\"\n";
/// The extension script.
pub const EXTENSION: &str = "#!/bin/sh\n# Vigil external extension (started by Lambda from /opt/extensions)\nexec /opt/vigil/vigil lambda extension\n";
/// The default policy shipped in the layer.
pub const DEFAULT_POLICY: &str = "# Vigil's default policy, used when the function ships none ($LAMBDA_TASK_ROOT/vigil.yaml)\n# and VIGIL_POLICY is unset. It allows nothing, in detect mode: every action is reported,\n# nothing is blocked. Learn the function's real policy with VIGIL_MODE=learn (see docs/lambda.md).\nversion: 1\nmode: detect\n";

/// Errors building the layer.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// Reading the binary or writing the zip failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The zip library failed.
    #[error("writing the layer zip: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Whether an ELF file is dynamically linked (has an interpreter).
pub fn is_dynamic(binary: &Path) -> std::io::Result<bool> {
    let mut f = std::fs::File::open(binary)?;
    let mut head = [0u8; 64];
    f.read_exact(&mut head)?;
    let phoff = u64::from_le_bytes(head[32..40].try_into().unwrap_or([0; 8]));
    let phentsize = u64::from(u16::from_le_bytes([head[54], head[55]]));
    let phnum = u64::from(u16::from_le_bytes([head[56], head[57]]));
    for i in 0..phnum.min(256) {
        let mut ph = [0u8; 4];
        f.seek(SeekFrom::Start(phoff + i * phentsize))?;
        f.read_exact(&mut ph)?;
        if u32::from_le_bytes(ph) == 3 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the layer zip to `out`, with `binary` as `/opt/vigil/vigil`.
pub fn build(binary: &Path, out: &Path) -> Result<(), LayerError> {
    let io = |what: &Path| {
        let w = what.display().to_string();
        move |e| LayerError::Io(w.clone(), e)
    };
    let bin = std::fs::read(binary).map_err(io(binary))?;
    let file = std::fs::File::create(out).map_err(io(out))?;
    let mut zip = zip::ZipWriter::new(file);
    let exec = SimpleFileOptions::default().unix_permissions(0o755);
    let data = SimpleFileOptions::default().unix_permissions(0o644);
    zip.add_directory(
        "vigil/",
        SimpleFileOptions::default().unix_permissions(0o755),
    )?;
    zip.add_directory(
        "extensions/",
        SimpleFileOptions::default().unix_permissions(0o755),
    )?;
    zip.start_file("vigil/vigil", exec)?;
    zip.write_all(&bin).map_err(io(out))?;
    zip.start_file("vigil/wrap", exec)?;
    zip.write_all(WRAP.as_bytes()).map_err(io(out))?;
    zip.start_file("vigil/policy.yaml", data)?;
    zip.write_all(DEFAULT_POLICY.as_bytes()).map_err(io(out))?;
    zip.start_file("extensions/vigil", exec)?;
    zip.write_all(EXTENSION.as_bytes()).map_err(io(out))?;
    zip.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_has_the_documented_layout_and_modes() {
        let dir = std::env::temp_dir().join(format!("vigil-layer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("fake-vigil");
        std::fs::write(&bin, b"\x7fELF binary").unwrap();
        let out = dir.join("layer.zip");
        build(&bin, &out).unwrap();
        let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
        for (name, mode) in [
            ("vigil/vigil", 0o755),
            ("vigil/wrap", 0o755),
            ("vigil/policy.yaml", 0o644),
            ("extensions/vigil", 0o755),
        ] {
            let f = z.by_name(name).unwrap_or_else(|_| panic!("{name} missing"));
            assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(mode), "{name}");
        }
        assert!(vigil_policy::parse("policy.yaml", DEFAULT_POLICY).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
