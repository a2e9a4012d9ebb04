use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use proptest::prelude::*;

use super::*;
use crate::store::IndexRow;

fn p(root: &Path, rel: &[u8]) -> std::path::PathBuf {
    root.join(OsStr::from_bytes(rel))
}

fn write(root: &Path, rel: &[u8], content: &[u8]) {
    let path = p(root, rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, content).unwrap();
}

/// Backdates a file's mtime so the index cache may trust it.
fn age(root: &Path, rel: &[u8]) {
    let file = fs::File::options().write(true).open(p(root, rel)).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

fn run(root: &Path) -> ScanReport {
    run_with(root, &HashMap::new(), false)
}

fn run_with(root: &Path, index: &HashMap<RelPath, IndexRow>, force_rehash: bool) -> ScanReport {
    scan(root, index, &ScanOptions { force_rehash }, &|_| {}).unwrap()
}

fn keys(report: &ScanReport) -> Vec<&[u8]> {
    report.entries.keys().map(Vec::as_slice).collect()
}

#[test]
fn kinds_of_files_dirs_and_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), b"secret", b"s");
    let root = dir.path();
    write(root, b"a.txt", b"hello");
    fs::create_dir_all(root.join("empty/deeper/deepest")).unwrap();
    symlink("a.txt", root.join("to_file")).unwrap();
    symlink(outside.path(), root.join("to_dir")).unwrap();
    symlink("nowhere", root.join("dangling")).unwrap();

    let report = run(root);
    assert_eq!(
        keys(&report),
        vec![
            &b"a.txt"[..],
            b"dangling",
            b"empty",
            b"empty/deeper",
            b"empty/deeper/deepest",
            b"to_dir",
            b"to_file"
        ]
    );
    let file = &report.entries[&b"a.txt".to_vec()];
    assert_eq!(file.kind, LocalKind::File);
    assert_eq!(file.hash, *blake3::hash(b"hello").as_bytes());
    assert_eq!(file.stat.size, 5);
    assert_eq!(file.link_target, None);
    let empty = &report.entries[&b"empty/deeper/deepest".to_vec()];
    assert_eq!((empty.kind, empty.hash), (LocalKind::Dir, [0; 32]));
    for (name, target) in [
        (&b"to_file"[..], &b"a.txt"[..]),
        (b"dangling", b"nowhere"),
        (b"to_dir", outside.path().as_os_str().as_bytes()),
    ] {
        let link = &report.entries[&name.to_vec()];
        assert_eq!(link.kind, LocalKind::Symlink, "{name:?}");
        assert_eq!(link.link_target.as_deref(), Some(target));
        assert_eq!(link.hash, *blake3::hash(target).as_bytes());
    }
    assert!(report.unreadable.is_empty() && report.skipped.is_empty());
    assert_eq!((report.files_hashed, report.bytes_hashed), (1, 5));
}

#[test]
fn syncignore_state_dir_and_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, b".syncignore", b"*.log\nbuild/\n");
    write(root, b"sub/.syncignore", b"!keep.log\n");
    write(root, b"a.log", b"x");
    write(root, b"a.txt", b"x");
    write(root, b"build/out.bin", b"x");
    write(root, b"sub/keep.log", b"x");
    write(root, b"sub/other.log", b"x");
    write(
        root,
        b"sub/build",
        b"a file, not a dir: `build/` does not match it",
    );
    write(root, b"sub/build2/x.log", b"x");
    write(root, b".syncdesk/trash/old.txt", b"x");
    write(
        root,
        b"sub/.syncdesk/not-ours.txt",
        b"only the root one is ours",
    );
    write(root, &temp_name(b"a.txt", 0x1234), b"partial");
    write(
        root,
        &[b"sub/".as_slice(), &temp_name(b"keep.log", u64::MAX)].concat(),
        b"partial",
    );
    write(root, b"notes.syncdesk-tmp-old.txt", b"a user's file");

    let report = run(root);
    assert_eq!(
        keys(&report),
        vec![
            &b".syncignore"[..],
            b"a.txt",
            b"notes.syncdesk-tmp-old.txt",
            b"sub",
            b"sub/.syncdesk",
            b"sub/.syncdesk/not-ours.txt",
            b"sub/.syncignore",
            b"sub/build",
            b"sub/build2",
            b"sub/keep.log",
        ]
    );
}

#[test]
fn bad_ignore_file_fails_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), b"sub/.syncignore", b"ok.txt\nbad[z-a]\n");
    let err = scan(
        dir.path(),
        &HashMap::new(),
        &ScanOptions::default(),
        &|_| {},
    )
    .unwrap_err();
    match &err {
        ScanError::BadIgnoreFile { path, msg } => {
            assert_eq!(path, &dir.path().join("sub/.syncignore"));
            assert!(msg.contains("line 2"), "{msg}");
        }
        other => panic!("expected BadIgnoreFile, got {other:?}"),
    }
    assert!(err.to_string().contains(".syncignore"), "{err}");
}

#[test]
fn index_cache_hits_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in ["same", "size", "mtime", "inode", "mode"] {
        write(root, name.as_bytes(), name.as_bytes());
        age(root, name.as_bytes());
    }
    write(root, b"recent", b"recent");
    let first = run(root);
    assert_eq!(first.files_hashed, 6);

    let wrong = [7u8; 32];
    let row = |rel: &[u8], tweak: fn(&mut StatKey)| {
        let mut stat = first.entries[&rel.to_vec()].stat;
        tweak(&mut stat);
        (
            rel.to_vec(),
            IndexRow {
                stat: Some(stat),
                hash: Some(wrong),
            },
        )
    };
    let index: HashMap<RelPath, IndexRow> = [
        row(b"same", |_| {}),
        row(b"size", |s| s.size += 1),
        row(b"mtime", |s| s.mtime_ns -= 1),
        row(b"inode", |s| s.inode += 1),
        row(b"mode", |s| s.mode ^= 0o100),
        row(b"recent", |_| {}),
    ]
    .into_iter()
    .collect();

    let report = run_with(root, &index, false);
    let hash_of = |rel: &[u8]| report.entries[&rel.to_vec()].hash;
    // The wrong cached hash coming back proves the file was not read.
    assert_eq!(hash_of(b"same"), wrong);
    for rel in [&b"size"[..], b"mtime", b"inode", b"mode", b"recent"] {
        assert_eq!(hash_of(rel), *blake3::hash(rel).as_bytes(), "{rel:?}");
    }
    assert_eq!(report.files_hashed, 5);
    assert_eq!(report.bytes_hashed, 4 + 5 + 5 + 4 + 6);

    let forced = run_with(root, &index, true);
    assert_eq!(
        forced.entries[&b"same".to_vec()].hash,
        *blake3::hash(b"same").as_bytes()
    );
    assert_eq!(forced.files_hashed, 6);
}

#[test]
fn hostile_names_keep_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let long = vec![b'n'; 255];
    let names: Vec<Vec<u8>> = vec![b"line\nbreak".to_vec(), b"caf\xe9".to_vec(), long.clone()];
    for name in &names {
        write(root, name, name);
    }
    fs::create_dir(p(root, b"dir\xff")).unwrap();
    write(root, b"dir\xff/inner\n", b"x");

    let report = run(root);
    let mut expected: Vec<Vec<u8>> = names.clone();
    expected.push(b"dir\xff".to_vec());
    expected.push(b"dir\xff/inner\n".to_vec());
    expected.sort();
    assert_eq!(report.entries.keys().cloned().collect::<Vec<_>>(), expected);
    for name in &names {
        assert_eq!(report.entries[name].hash, *blake3::hash(name).as_bytes());
    }
}

#[test]
fn clashes_are_grouped_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, b"Readme.md", b"1");
    write(root, b"README.md", b"2");
    write(root, b"readme.txt", b"not a clash");
    write(root, "sub/\u{e9}.txt".as_bytes(), b"nfc");
    write(root, "sub/e\u{301}.txt".as_bytes(), b"nfd");
    write(root, "sub/\u{c9}.TXT".as_bytes(), b"upper nfc");
    write(root, b"a/Same", b"");
    write(root, b"b/SAME", b"");
    write(root, b"a/other", b"");

    let report = run(root);
    assert_eq!(
        report.clashes,
        vec![
            vec![b"README.md".to_vec(), b"Readme.md".to_vec()],
            vec![
                "sub/e\u{301}.txt".as_bytes().to_vec(),
                "sub/\u{c9}.TXT".as_bytes().to_vec(),
                "sub/\u{e9}.txt".as_bytes().to_vec(),
            ],
        ]
    );
}

#[test]
fn unreadable_files_are_not_entries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, b"locked", b"secret");
    write(root, b"ok", b"fine");
    fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
    fs::create_dir(root.join("closed")).unwrap();
    write(root, b"closed/inner", b"x");
    fs::set_permissions(root.join("closed"), fs::Permissions::from_mode(0o000)).unwrap();

    let report = run(root);
    // Root (and CAP_DAC_OVERRIDE holders) read anything: nothing to assert then.
    let privileged = fs::read(root.join("locked")).is_ok();
    fs::set_permissions(root.join("closed"), fs::Permissions::from_mode(0o755)).unwrap();
    assert!(report.entries.contains_key(&b"ok"[..]));
    if privileged {
        return;
    }
    let unreadable: Vec<&[u8]> = report
        .unreadable
        .iter()
        .map(|(r, _)| r.as_slice())
        .collect();
    assert_eq!(unreadable, vec![&b"closed"[..], b"locked"]);
    assert!(!report.entries.contains_key(&b"locked"[..]));
    assert!(!report.entries.contains_key(&b"closed"[..]));
    assert!(report.unreadable.iter().all(|(_, msg)| !msg.is_empty()));
}

#[test]
fn an_unreadable_directory_hides_its_subtree() {
    let entry = |kind| LocalEntry {
        kind,
        stat: StatKey::default(),
        hash: [0; 32],
        link_target: None,
    };
    let mut report = ScanReport::default();
    for rel in [&b"d"[..], b"d/x", b"d/y/z", b"d0", b"d.txt", b"e"] {
        report.entries.insert(rel.to_vec(), entry(LocalKind::Dir));
    }
    report.skipped.push((b"d/sock".to_vec(), String::new()));
    report
        .unreadable
        .push((b"d".to_vec(), "Permission denied".into()));
    prune_unreadable_subtrees(&mut report);
    assert_eq!(keys(&report), vec![&b"d.txt"[..], b"d0", b"e"]);
    assert!(report.skipped.is_empty());
}

#[test]
fn special_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let report = run(dir.path());
    assert!(report.entries.is_empty());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].0, b"sock");
    assert!(report.skipped[0].1.contains("socket"));
}

#[test]
fn root_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let err = scan(&missing, &HashMap::new(), &ScanOptions::default(), &|_| {}).unwrap_err();
    assert!(
        matches!(err, ScanError::RootMissing { ref path } if *path == missing),
        "{err:?}"
    );
    write(dir.path(), b"file", b"x");
    let file = dir.path().join("file");
    let err = scan(&file, &HashMap::new(), &ScanOptions::default(), &|_| {}).unwrap_err();
    assert!(
        matches!(err, ScanError::NotADirectory { ref path } if *path == file),
        "{err:?}"
    );
}

#[test]
fn progress_reports_totals_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), b"a", b"abc");
    write(dir.path(), b"d/b", b"de");
    let seen = Mutex::new(Vec::new());
    let report = scan(dir.path(), &HashMap::new(), &ScanOptions::default(), &|p| {
        seen.lock().unwrap().push(p)
    })
    .unwrap();
    assert_eq!(report.entries.len(), 3);
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.last(),
        Some(&ScanProgress {
            files: 3,
            bytes_hashed: 5
        })
    );
}

#[test]
fn temp_names() {
    let name = temp_name(b"report.pdf", 0xab);
    assert_eq!(name, b".report.pdf.syncdesk-tmp-00000000000000ab");
    assert!(is_temp_name(&name));
    assert!(!is_temp_name(b"report.pdf"));
    assert!(!is_temp_name(b"notes.syncdesk-tmp-old.txt"));
    assert!(!is_temp_name(b".x.syncdesk-tmp-00000000000000AB"));
    // A long UTF-8 name is cut at a character boundary.
    let long = "\u{e9}".repeat(200);
    let name = temp_name(long.as_bytes(), 1);
    assert!(name.len() <= 255);
    assert!(std::str::from_utf8(&name).is_ok());
    assert!(is_temp_name(&name));
}

proptest! {
    #[test]
    fn temp_name_always_fits_and_is_recognised(
        name in proptest::collection::vec(any::<u8>().prop_filter("no / or NUL", |b| *b != b'/' && *b != 0), 1..=255),
        random in any::<u64>(),
    ) {
        let temp = temp_name(&name, random);
        prop_assert!(temp.len() <= 255);
        prop_assert!(is_temp_name(&temp));
    }
}

#[test]
fn big_files_hash_like_one_shot_blake3() {
    // Above the rayon threshold and not a multiple of the read size.
    let content: Vec<u8> = (0..5 * 1024 * 1024 + 7)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), b"big", &content);
    let expected = *blake3::hash(&content).as_bytes();
    assert_eq!(
        hash_file(&dir.path().join("big")).unwrap(),
        (expected, content.len() as u64)
    );
    assert_eq!(run(dir.path()).entries[&b"big".to_vec()].hash, expected);
}
