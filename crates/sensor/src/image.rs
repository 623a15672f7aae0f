//! What runs when a file is executed: a `#!` script's interpreter chain, and an ELF program's
//! interpreter (`PT_INTERP`, the dynamic loader). The kernel opens both with exec permission,
//! so Landlock rules must grant them, and the image that ends up running is the last one.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

/// Most `#!` indirections the kernel follows (`BINPRM_MAX_RECURSION`).
pub const MAX_SCRIPT_DEPTH: usize = 4;

/// Reads the `#!` line of an open file: `(interpreter, optional argument)`.
pub fn shebang(file: &File) -> io::Result<Option<(String, Option<String>)>> {
    use std::os::unix::fs::FileExt;
    let mut head = [0u8; 256];
    let n = file.read_at(&mut head, 0)?;
    let head = &head[..n];
    if !head.starts_with(b"#!") {
        return Ok(None);
    }
    let line_end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    let line = String::from_utf8_lossy(&head[2..line_end]);
    let line = line.trim_matches(|c| c == ' ' || c == '\t' || c == '\r');
    let (interp, arg) = match line.split_once([' ', '\t']) {
        Some((i, a)) => (i, Some(a.trim().to_string()).filter(|a| !a.is_empty())),
        None => (line, None),
    };
    if interp.is_empty() {
        return Ok(None);
    }
    Ok(Some((interp.to_string(), arg)))
}

/// Reads an ELF file's `PT_INTERP` (the dynamic loader path), if it has one.
pub fn elf_interpreter(file: &mut File) -> io::Result<Option<String>> {
    let mut eh = [0u8; 64];
    file.seek(SeekFrom::Start(0))?;
    if file.read(&mut eh)? < 64 || &eh[..4] != b"\x7fELF" || eh[4] != 2 || eh[5] != 1 {
        // Not a little-endian 64-bit ELF: nothing to report (the kernel decides).
        return Ok(None);
    }
    let u16_at = |o: usize| u16::from_le_bytes([eh[o], eh[o + 1]]);
    let phoff = u64::from_le_bytes(eh[32..40].try_into().unwrap_or([0; 8]));
    let phentsize = u64::from(u16_at(54));
    let phnum = u64::from(u16_at(56));
    if phentsize < 56 || phnum > 256 {
        return Ok(None);
    }
    for i in 0..phnum {
        let mut ph = [0u8; 56];
        file.seek(SeekFrom::Start(phoff + i * phentsize))?;
        file.read_exact(&mut ph)?;
        const PT_INTERP: u32 = 3;
        if u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) != PT_INTERP {
            continue;
        }
        let off = u64::from_le_bytes(ph[8..16].try_into().unwrap_or([0; 8]));
        let size = u64::from_le_bytes(ph[32..40].try_into().unwrap_or([0; 8]));
        if size == 0 || size > 4096 {
            return Ok(None);
        }
        let mut buf = vec![0u8; size as usize];
        file.seek(SeekFrom::Start(off))?;
        file.read_exact(&mut buf)?;
        let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        return Ok(Some(String::from_utf8_lossy(&buf[..end]).into_owned()));
    }
    Ok(None)
}

/// Every file the kernel opens for execution when `path` is executed: the file, its `#!`
/// interpreters, and the ELF loader of the last one. Paths are canonical. Best effort: files
/// that cannot be read are left out (the kernel will fail the exec itself).
pub fn exec_chain(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = path.to_string();
    for _ in 0..=MAX_SCRIPT_DEPTH {
        let Ok(canon) = std::fs::canonicalize(&cur) else {
            break;
        };
        let canon = canon.to_string_lossy().into_owned();
        let Ok(mut f) = File::open(&canon) else {
            out.push(canon);
            break;
        };
        out.push(canon);
        match shebang(&f) {
            Ok(Some((interp, _))) => cur = interp,
            _ => {
                if let Ok(Some(loader)) = elf_interpreter(&mut f) {
                    if let Ok(l) = std::fs::canonicalize(&loader) {
                        out.push(l.to_string_lossy().into_owned());
                    }
                }
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_has_a_loader_and_scripts_chain() {
        let chain = exec_chain("/bin/sh");
        assert!(chain.len() >= 2, "{chain:?}");
        assert!(
            chain.last().is_some_and(|l| l.contains("ld-linux")),
            "{chain:?}"
        );
        let dir = std::env::temp_dir().join(format!("vigil-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s.sh");
        std::fs::write(&script, "#!/bin/sh -e\necho hi\n").unwrap();
        let f = File::open(&script).unwrap();
        assert_eq!(
            shebang(&f).unwrap(),
            Some(("/bin/sh".into(), Some("-e".into())))
        );
        let chain = exec_chain(script.to_str().unwrap());
        assert!(chain.len() >= 3, "{chain:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
