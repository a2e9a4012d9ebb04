//! `.syncignore` rules evaluated for any path, local or remote-only, so a path ignored
//! here is neither uploaded, deleted remotely, nor written locally.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::relpath::{self, RelPath};
use crate::scan::{IGNORE_FILE, STATE_DIR, is_temp_name, temp_name};

pub struct Ignores {
    root: PathBuf,
    /// (directory holding the rules, its matcher), deepest last.
    rules: Vec<(RelPath, Gitignore)>,
}

impl Ignores {
    /// Rules from the `.syncignore` files among `paths` (relative to `root`).
    pub fn load<'p>(
        root: &Path,
        paths: impl Iterator<Item = &'p RelPath>,
    ) -> (Ignores, Vec<String>) {
        let mut rules = Vec::new();
        let mut problems = Vec::new();
        for path in paths {
            let (dir, name) = relpath::split(path);
            if name != IGNORE_FILE.as_bytes() {
                continue;
            }
            let mut b = GitignoreBuilder::new(relpath::to_path(root, dir));
            if let Some(e) = b.add(relpath::to_path(root, path)) {
                problems.push(format!("{}: {e}", relpath::display(path)));
            }
            match b.build() {
                Ok(g) => rules.push((dir.to_vec(), g)),
                Err(e) => problems.push(format!("{}: {e}", relpath::display(path))),
            }
        }
        rules.sort_by_key(|(dir, _)| {
            dir.iter().filter(|&&b| b == b'/').count() + usize::from(!dir.is_empty())
        });
        (
            Ignores {
                root: root.to_path_buf(),
                rules,
            },
            problems,
        )
    }

    /// The path is excluded from sync (built-in or by a rule).
    pub fn is_ignored(&self, path: &[u8], is_dir: bool) -> bool {
        let (_, name) = relpath::split(path);
        if path == STATE_DIR.as_bytes() || is_temp_name(name) {
            return true;
        }
        let abs = relpath::to_path(&self.root, path);
        // Deeper rules override shallower ones, as in git.
        for (dir, rules) in self.rules.iter().rev() {
            let inside = dir.is_empty()
                || (path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/');
            if !inside {
                continue;
            }
            let m = rules.matched_path_or_any_parents(&abs, is_dir);
            if m.is_ignore() {
                return true;
            }
            if m.is_whitelist() {
                return false;
            }
        }
        false
    }
}

/// Why the rules file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{IGNORE_FILE} line {line}: {msg}; fix the pattern (gitignore syntax)")]
    BadRule { line: usize, msg: String },
    #[error("{0} is not UTF-8 text; edit it with a text editor")]
    NotText(PathBuf),
    #[error("cannot {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// The folder's top-level rules file, empty when there is none.
pub fn read_rules(root: &Path) -> Result<String, RulesError> {
    let path = root.join(IGNORE_FILE);
    match fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| RulesError::NotText(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(RulesError::Io {
            op: "read",
            path,
            source,
        }),
    }
}

/// Checks and replaces the folder's top-level rules file (empty text removes it). Written
/// like a sync writes: temp file, fsync, rename, so a sync never reads half of it.
pub fn write_rules(root: &Path, text: &str) -> Result<(), RulesError> {
    let mut check = GitignoreBuilder::new(root);
    for (i, line) in text.lines().enumerate() {
        check
            .add_line(None, line)
            .map_err(|e| RulesError::BadRule {
                line: i + 1,
                msg: e.to_string(),
            })?;
    }
    let path = root.join(IGNORE_FILE);
    let io_err = |op, path: &Path| {
        let path = path.to_path_buf();
        move |source| RulesError::Io { op, path, source }
    };
    if text.is_empty() {
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &path)(e)),
            _ => Ok(()),
        };
    }
    let nonce = crate::random::u64().map_err(io_err("write", &path))?;
    let tmp = root.join(relpath::os_str(&temp_name(IGNORE_FILE.as_bytes(), nonce)));
    let written = fs::File::create_new(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, &path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err("write", &path)(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_written_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(read_rules(root).unwrap(), "");
        write_rules(root, "*.log\nbuild/\n").unwrap();
        assert_eq!(read_rules(root).unwrap(), "*.log\nbuild/\n");
        let err = write_rules(root, "ok\n[z-a]\n").unwrap_err();
        assert!(matches!(err, RulesError::BadRule { line: 2, .. }), "{err}");
        assert_eq!(read_rules(root).unwrap(), "*.log\nbuild/\n", "unchanged");
        write_rules(root, "").unwrap();
        assert!(!root.join(IGNORE_FILE).exists());
        write_rules(root, "").unwrap();
        // No temp file is left behind.
        assert_eq!(fs::read_dir(root).unwrap().count(), 0);
    }

    #[test]
    fn nested_rules_apply_below_their_folder() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join(".syncignore"), "*.log\nbuild/\n").unwrap();
        std::fs::write(root.join("sub/.syncignore"), "!keep.log\nsecret\n").unwrap();
        let paths = [b".syncignore".to_vec(), b"sub/.syncignore".to_vec()];
        let (ig, problems) = Ignores::load(root, paths.iter());
        assert!(problems.is_empty());
        assert!(ig.is_ignored(b"a.log", false));
        assert!(ig.is_ignored(b"sub/b.log", false));
        assert!(!ig.is_ignored(b"sub/keep.log", false));
        assert!(ig.is_ignored(b"sub/secret", false));
        assert!(!ig.is_ignored(b"secret", false));
        assert!(ig.is_ignored(b"build", true));
        assert!(ig.is_ignored(b"build/x.txt", false));
        assert!(!ig.is_ignored(b"build", false));
        assert!(ig.is_ignored(b".syncdesk", true));
        assert!(!ig.is_ignored(b"notes.txt", false));
    }
}
