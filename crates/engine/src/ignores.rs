//! `.syncignore` rules evaluated for any path, local or remote-only, so a path ignored
//! here is neither uploaded, deleted remotely, nor written locally.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::relpath::{self, RelPath};
use crate::scan::{IGNORE_FILE, STATE_DIR, is_temp_name};

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

#[cfg(test)]
mod tests {
    use super::*;

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
