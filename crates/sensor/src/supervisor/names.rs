//! The names the kernel gave files the supervisor met before: executed programs (by the path
//! the exec named and the file found) and libraries mapped executable (by the file). Asking
//! the kernel (`readlink` of a descriptor) is the dearest part of naming a program or a
//! library; a file is met again and again (every fork + exec of the same program, every
//! program mapping libc).
//!
//! A file is known by its identity, size, mtime and ctime ([`FileKey`]): a write to it, or a
//! rename, link or unlink of it, changes them, so the name kept for it is not found again. A
//! directory moved or removed on the way to it leaves them as they were, and the file's name
//! changes with it. So a name is used again only while nothing on its way has moved: every
//! directory on the way is watched (inotify: `IN_MOVE_SELF`, `IN_DELETE_SELF`), and any event
//! forgets every name. Where a directory cannot be watched (inotify missing, the user's
//! watches used up, more than [`MAX_DIRS`] directories), the name is checked instead each
//! time it is used: a `stat` of it must find the very file.

use super::{Cache, FileKey};
use rustix::fs::inotify;
use std::collections::HashSet;
use std::os::fd::OwnedFd;

/// Most directories watched.
const MAX_DIRS: usize = 256;

/// A name kept, and whether every directory on its way is watched.
#[derive(Debug, Clone)]
struct Kept {
    name: String,
    watched: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Names {
    programs: Cache<(Vec<u8>, FileKey), Kept>,
    libraries: Cache<FileKey, Kept>,
    /// The inotify instance (non-blocking), if there is one.
    moves: Option<OwnedFd>,
    /// Directories watched.
    dirs: HashSet<String>,
}

impl Names {
    pub(crate) fn new() -> Names {
        let moves =
            inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).ok();
        Names {
            programs: Cache::new(),
            libraries: Cache::new(),
            moves,
            dirs: HashSet::new(),
        }
    }

    /// Forgets every name if a directory watched moved (or was removed, or its filesystem
    /// unmounted) since last asked. Asked before names are looked up for a call.
    pub(crate) fn forget_if_moved(&mut self) {
        let Some(fd) = &self.moves else {
            return;
        };
        let mut buf = [0u8; 4096];
        let mut moved = false;
        loop {
            match rustix::io::read(fd, &mut buf) {
                Ok(n) if n > 0 => moved = true,
                Err(rustix::io::Errno::INTR) => {}
                // Empty (EAGAIN), or unreadable: nothing more to learn from it.
                Ok(_) | Err(_) => break,
            }
        }
        if moved {
            self.programs = Cache::new();
            self.libraries = Cache::new();
            // A directory removed took its watch with it, and one made in its place is not
            // watched: every way is watched again as names are learned (watching a directory
            // already watched is no new watch).
            self.dirs.clear();
        }
    }

    /// The name of the program found by the exec path `path`, file `key`.
    pub(crate) fn program(&self, path: &[u8], key: FileKey) -> Option<String> {
        let kept = self.programs.get(&(path.to_vec(), key))?;
        Self::still(kept, key)
    }

    /// The name of library file `key`.
    pub(crate) fn library(&self, key: FileKey) -> Option<String> {
        let kept = self.libraries.get(&key)?;
        Self::still(kept, key)
    }

    fn still(kept: &Kept, key: FileKey) -> Option<String> {
        if kept.watched {
            return Some(kept.name.clone());
        }
        let now = rustix::fs::stat(kept.name.as_str()).ok()?;
        (FileKey::of(&now) == key).then(|| kept.name.clone())
    }

    /// Keeps `name`, the kernel's for the program found by `path`, file `key` (done after the
    /// answer: watching costs a call per new directory).
    pub(crate) fn learn_program(&mut self, path: Vec<u8>, key: FileKey, name: String) {
        if let Some(kept) = self.keep(key, name) {
            self.programs.insert((path, key), kept);
        }
    }

    /// Keeps `name`, the kernel's for library file `key`.
    pub(crate) fn learn_library(&mut self, key: FileKey, name: String) {
        if let Some(kept) = self.keep(key, name) {
            self.libraries.insert(key, kept);
        }
    }

    /// Watches the way to `name`, then checks that it still leads to file `key` (a move
    /// before the watch began is seen by that): `None` when it does not, or the file changed
    /// too recently for its times to tell a later change (see [`FileKey::settled`]).
    fn keep(&mut self, key: FileKey, name: String) -> Option<Kept> {
        if !key.settled() || !name.starts_with('/') {
            return None;
        }
        let watched = self.watch_way(&name);
        let now = rustix::fs::stat(name.as_str()).ok()?;
        (FileKey::of(&now) == key).then_some(Kept { name, watched })
    }

    /// Watches every directory from the root's child down to `name`'s parent. False when one
    /// could not be watched.
    fn watch_way(&mut self, name: &str) -> bool {
        let Some(fd) = &self.moves else {
            return false;
        };
        let mut all = true;
        let mut end = 0;
        while let Some(i) = name[end + 1..].find('/') {
            end += 1 + i;
            let dir = &name[..end];
            if self.dirs.contains(dir) {
                continue;
            }
            if self.dirs.len() >= MAX_DIRS {
                all = false;
                break;
            }
            let flags = inotify::WatchFlags::MOVE_SELF
                | inotify::WatchFlags::DELETE_SELF
                | inotify::WatchFlags::ONLYDIR
                | inotify::WatchFlags::DONT_FOLLOW;
            if inotify::add_watch(fd, dir, flags).is_ok() {
                self.dirs.insert(dir.to_string());
            } else {
                all = false;
            }
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of(p: &std::path::Path) -> FileKey {
        FileKey::of(&rustix::fs::stat(p).expect("stat"))
    }

    /// A file old enough for its times to tell a later change.
    fn settled_file(dir: &std::path::Path) -> std::path::PathBuf {
        let f = dir.join("f");
        std::fs::write(&f, "x").expect("write");
        std::thread::sleep(std::time::Duration::from_millis(2100));
        f
    }

    #[test]
    fn a_name_is_forgotten_when_a_directory_on_its_way_moves() {
        let top = tempfile::tempdir().expect("tempdir");
        let a = top.path().join("a");
        std::fs::create_dir(&a).expect("mkdir");
        let f = settled_file(&a);
        let key = key_of(&f);
        let name = f.display().to_string();
        let mut names = Names::new();
        names.learn_library(key, name.clone());
        names.forget_if_moved();
        assert_eq!(names.library(key), Some(name));
        std::fs::rename(&a, top.path().join("b")).expect("rename");
        names.forget_if_moved();
        assert_eq!(
            names.library(key),
            None,
            "the name after its directory moved"
        );
    }

    #[test]
    fn a_name_whose_way_cannot_be_watched_is_checked_each_time() {
        let top = tempfile::tempdir().expect("tempdir");
        let a = top.path().join("a");
        std::fs::create_dir(&a).expect("mkdir");
        let f = settled_file(&a);
        let key = key_of(&f);
        let mut names = Names::new();
        names.moves = None;
        names.learn_program(b"/x".to_vec(), key, f.display().to_string());
        assert!(names.program(b"/x", key).is_some());
        std::fs::rename(&a, top.path().join("b")).expect("rename");
        assert_eq!(names.program(b"/x", key), None);
    }

    #[test]
    fn a_file_changed_moments_ago_is_not_kept() {
        let top = tempfile::tempdir().expect("tempdir");
        let f = top.path().join("f");
        std::fs::write(&f, "x").expect("write");
        let key = key_of(&f);
        let mut names = Names::new();
        names.learn_library(key, f.display().to_string());
        assert_eq!(names.library(key), None);
    }
}
