//! Confinement: a path from a request names something inside the folder, or is refused.
//!
//! Two steps. [`parse`] checks the text alone (rules every platform Syncdesk runs on can
//! honour). [`locate`] then looks at the disk without following anything: every existing
//! parent must be a real directory, never a symbolic link, so a link planted in the folder
//! (or synced into it) cannot lead a write outside. Checking and writing are separate steps;
//! only the folder's owner can swap a directory for a link in between, and they can write
//! anywhere already.

use std::fs;
use std::io;
use std::path::Path;

use super::GatewayError;
use crate::relpath::{self, RelPath};
use crate::scan::{STATE_DIR, is_temp_name};

/// Longest path accepted, in bytes.
pub const MAX_PATH: usize = 4096;
/// Longest segment accepted, in bytes (what most filesystems allow for a name).
pub const MAX_SEGMENT: usize = 255;

/// Names Windows reserves for devices, with or without an extension.
const DEVICE_NAMES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

fn bad(msg: impl Into<String>) -> GatewayError {
    GatewayError::BadPath(msg.into())
}

/// The relative path a request names, if its text is safe. One trailing `/` is allowed
/// (`photos/` names the directory `photos`).
pub fn parse(path: &str) -> Result<RelPath, GatewayError> {
    if path.is_empty() {
        return Err(bad(
            "the path is empty; give a path relative to the folder, such as notes/today.md",
        ));
    }
    if path.len() > MAX_PATH {
        return Err(bad(format!("the path is longer than {MAX_PATH} bytes")));
    }
    if path.starts_with('/') {
        return Err(bad(format!(
            "{path:?} is absolute; give a path relative to the folder (without a leading /)"
        )));
    }
    if path.contains('\\') {
        return Err(bad(format!(
            "{:?} contains a backslash; separate folders with /",
            path
        )));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("the path contains a NUL or another control character"));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err(bad(
            "the path names the folder itself; name a file or folder inside it",
        ));
    }
    for segment in trimmed.split('/') {
        check_segment(segment)?;
    }
    Ok(trimmed.as_bytes().to_vec())
}

/// One name of a path (also `sync_3rd`'s `folder_3rd`).
pub fn check_segment(segment: &str) -> Result<(), GatewayError> {
    match segment {
        "" => return Err(bad("the path has an empty segment (// or a trailing /)")),
        "." | ".." => {
            return Err(bad(format!(
                "the path has a {segment:?} segment; name files and folders directly"
            )));
        }
        _ => {}
    }
    if segment.len() > MAX_SEGMENT {
        return Err(bad(format!(
            "a name in the path is longer than {MAX_SEGMENT} bytes"
        )));
    }
    if segment.chars().any(char::is_control) || segment.contains(['/', '\\']) {
        return Err(bad(format!(
            "{segment:?} contains a separator or a control character"
        )));
    }
    if segment.ends_with('.') || segment.ends_with(' ') {
        return Err(bad(format!(
            "{segment:?} ends with a dot or a space, which Windows cannot store"
        )));
    }
    if segment.eq_ignore_ascii_case(STATE_DIR) {
        return Err(bad(format!(
            "{STATE_DIR} is Syncdesk's own folder and cannot be written through the gateway"
        )));
    }
    let stem = segment.split('.').next().unwrap_or(segment).trim_end();
    if DEVICE_NAMES.iter().any(|d| stem.eq_ignore_ascii_case(d)) {
        return Err(bad(format!(
            "{segment:?} is a device name on Windows (CON, PRN, AUX, NUL, COM1-9, LPT1-9)"
        )));
    }
    if is_temp_name(segment.as_bytes()) {
        return Err(bad(format!(
            "{segment:?} is the name of a Syncdesk temporary file"
        )));
    }
    Ok(())
}

/// What is on disk along a path, found without following symbolic links.
#[derive(Debug)]
pub(crate) struct Located {
    /// Parent directories that do not exist yet, shallowest first.
    pub missing: Vec<RelPath>,
    /// The path itself (lstat), when its parents all exist and it does.
    pub target: Option<fs::Metadata>,
}

/// Walks the parents of `rel` under `root`: each one that exists must be a directory, not a
/// symbolic link. Then looks at `rel` itself (a link there is reported, not followed).
pub(crate) fn locate(root: &Path, rel: &[u8]) -> Result<Located, GatewayError> {
    let mut missing = Vec::new();
    let parts: Vec<&[u8]> = rel.split(|&b| b == b'/').collect();
    let mut prefix: RelPath = Vec::with_capacity(rel.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(part);
        let last = i + 1 == parts.len();
        if !missing.is_empty() {
            if !last {
                missing.push(prefix.clone());
            }
            continue;
        }
        match fs::symlink_metadata(relpath::to_path(root, &prefix)) {
            Ok(m) if last => {
                return Ok(Located {
                    missing,
                    target: Some(m),
                });
            }
            Ok(m) if m.file_type().is_symlink() => {
                return Err(bad(format!(
                    "{} is a symbolic link; the gateway never writes through one",
                    relpath::display(&prefix)
                )));
            }
            Ok(m) if !m.is_dir() => {
                return Err(GatewayError::BadRequest(format!(
                    "{} is a file, not a folder",
                    relpath::display(&prefix)
                )));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !last {
                    missing.push(prefix.clone());
                }
            }
            Err(e) => return Err(GatewayError::from_io(&relpath::display(&prefix), e)),
        }
    }
    Ok(Located {
        missing,
        target: None,
    })
}

/// Creates the directories `missing` lists, in order. One that appeared meanwhile must be a
/// real directory.
pub(crate) fn make_dirs(root: &Path, missing: &[RelPath]) -> Result<(), GatewayError> {
    for dir in missing {
        let abs = relpath::to_path(root, dir);
        match fs::create_dir(&abs) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                match fs::symlink_metadata(&abs) {
                    Ok(m) if m.is_dir() => {}
                    _ => {
                        return Err(bad(format!(
                            "{} appeared meanwhile and is not a folder",
                            relpath::display(dir)
                        )));
                    }
                }
            }
            Err(e) => return Err(GatewayError::from_io(&relpath::display(dir), e)),
        }
    }
    Ok(())
}

/// The directories above `rel`, shallowest first (`a/b/c` → `a`, `a/b`).
pub(crate) fn ancestors(rel: &[u8]) -> Vec<RelPath> {
    rel.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| rel[..i].to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(path: &str) -> String {
        match parse(path) {
            Err(GatewayError::BadPath(msg)) => msg,
            other => panic!("{path:?} was not refused: {other:?}"),
        }
    }

    #[test]
    fn hostile_paths_are_refused_naming_the_rule() {
        let long_segment = "a".repeat(256);
        let long_path = ["abc"; 1100].join("/");
        for (path, says) in [
            ("", "empty"),
            ("/", "absolute"),
            ("/etc/passwd", "absolute"),
            ("//server/share", "absolute"),
            ("..", "\"..\" segment"),
            ("../x", "\"..\" segment"),
            ("a/../../x", "\"..\" segment"),
            ("a/..", "\"..\" segment"),
            ("./a", "\".\" segment"),
            ("a/./b", "\".\" segment"),
            ("a//b", "empty segment"),
            ("a\\..\\b", "backslash"),
            ("..\\x", "backslash"),
            ("C:\\Windows", "backslash"),
            ("a\0b", "control"),
            ("a\nb", "control"),
            ("a\u{7f}", "control"),
            ("a\u{85}", "control"),
            ("CON", "device name"),
            ("con.txt", "device name"),
            ("docs/Nul.tar.gz", "device name"),
            ("lpt9", "device name"),
            ("COM1 .txt", "device name"),
            ("aux/x", "device name"),
            ("notes.", "dot or a space"),
            ("notes ", "dot or a space"),
            ("dir./x", "dot or a space"),
            (".syncdesk", "own folder"),
            (".syncdesk/trash/x", "own folder"),
            ("a/.SyncDesk/x", "own folder"),
            (".a.txt.syncdesk-tmp-0123456789abcdef", "temporary file"),
            (&long_segment, "255 bytes"),
            (&long_path, "4096 bytes"),
        ] {
            let msg = refused(path);
            assert!(msg.contains(says), "{path:?}: {msg}");
        }
    }

    #[test]
    fn ordinary_paths_are_accepted() {
        for (path, rel) in [
            ("a.txt", "a.txt"),
            ("notes/2024/today.md", "notes/2024/today.md"),
            ("photos/", "photos"),
            (".hidden", ".hidden"),
            ("..foo", "..foo"),
            ("a..b", "a..b"),
            (
                "share/default/2024/2024-01/2024-01-02 03-04-05.txt",
                "share/default/2024/2024-01/2024-01-02 03-04-05.txt",
            ),
            ("中文/文件.txt", "中文/文件.txt"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("com10", "com10"),
            (".syncdesk2/x", ".syncdesk2/x"),
            (" leading", " leading"),
        ] {
            assert_eq!(parse(path).unwrap(), rel.as_bytes(), "{path:?}");
        }
        assert_eq!(parse(&"a".repeat(255)).unwrap().len(), 255);
    }

    #[test]
    fn locate_never_follows_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        fs::create_dir_all(root.join("real/sub")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("real/link")).unwrap();
        fs::write(root.join("file"), b"x").unwrap();

        let l = locate(&root, b"real/sub/new/deeper/x.txt").unwrap();
        assert_eq!(
            l.missing,
            vec![b"real/sub/new".to_vec(), b"real/sub/new/deeper".to_vec()]
        );
        assert!(l.target.is_none());
        let l = locate(&root, b"real/link").unwrap();
        assert!(l.target.unwrap().file_type().is_symlink());
        assert!(matches!(
            locate(&root, b"escape/x"),
            Err(GatewayError::BadPath(_))
        ));
        assert!(matches!(
            locate(&root, b"escape/a/b"),
            Err(GatewayError::BadPath(_))
        ));
        assert!(matches!(
            locate(&root, b"file/x"),
            Err(GatewayError::BadRequest(_))
        ));
        make_dirs(
            &root,
            &[b"real/sub/new".to_vec(), b"real/sub/new/deeper".to_vec()],
        )
        .unwrap();
        assert!(root.join("real/sub/new/deeper").is_dir());
        assert!(matches!(
            make_dirs(&root, &[b"escape".to_vec()]),
            Err(GatewayError::BadPath(_))
        ));
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn ancestors_are_listed_shallowest_first() {
        assert_eq!(ancestors(b"a/b/c"), vec![b"a".to_vec(), b"a/b".to_vec()]);
        assert!(ancestors(b"a").is_empty());
    }
}
