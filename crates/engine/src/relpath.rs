//! Paths relative to a folder root, as raw bytes with `/` separators.
//!
//! Names are bytes, not strings: a sync client must carry any name the filesystem
//! allows (invalid UTF-8 included) without loss.

use std::path::{Path, PathBuf};

/// A path relative to a folder root: non-empty components joined by `/`.
pub type RelPath = Vec<u8>;

/// `root` joined with `rel`.
pub fn to_path(root: &Path, rel: &[u8]) -> PathBuf {
    root.join(os_str(rel))
}

#[cfg(unix)]
pub fn os_str(bytes: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes)
}

#[cfg(unix)]
pub fn bytes_of(name: &std::ffi::OsStr) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    name.as_bytes()
}

/// A path for people: lossy UTF-8.
pub fn display(rel: &[u8]) -> String {
    String::from_utf8_lossy(rel).into_owned()
}

/// The parent of `rel` (empty for a top-level name) and its last component.
pub fn split(rel: &[u8]) -> (&[u8], &[u8]) {
    match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[], rel),
    }
}

/// `parent/name`, or `name` at the top.
pub fn join(parent: &[u8], name: &[u8]) -> RelPath {
    if parent.is_empty() {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(parent.len() + 1 + name.len());
    out.extend_from_slice(parent);
    out.push(b'/');
    out.extend_from_slice(name);
    out
}

/// Parses a user-given relative path, refusing anything that could leave the folder.
pub fn parse_user(path: &str) -> Result<RelPath, String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    if path.starts_with('/') && Path::new(path).is_absolute() && trimmed.is_empty() {
        return Err(format!("{path:?} is not a relative path"));
    }
    for part in trimmed.split('/') {
        if part.is_empty() || part == "." || part == ".." || part.contains('\0') {
            return Err(format!(
                "{path:?} is not a plain relative path inside the folder"
            ));
        }
    }
    Ok(trimmed.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_round_trip() {
        assert_eq!(split(b"a/b/c"), (&b"a/b"[..], &b"c"[..]));
        assert_eq!(split(b"c"), (&b""[..], &b"c"[..]));
        assert_eq!(join(b"a/b", b"c"), b"a/b/c");
        assert_eq!(join(b"", b"c"), b"c");
    }

    #[test]
    fn user_paths_cannot_escape() {
        assert!(parse_user("../x").is_err());
        assert!(parse_user("a/../../x").is_err());
        assert!(parse_user("a/./x").is_err());
        assert_eq!(parse_user("/docs/a.txt").unwrap(), b"docs/a.txt");
        assert_eq!(parse_user("").unwrap(), b"");
    }
}
