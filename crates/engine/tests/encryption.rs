//! End-to-end encryption of a repository, through the engine's public repository API on a
//! local remote: what is stored, what is refused, and what survives tampering.

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use syncdesk_engine::history::check_repo;
use syncdesk_engine::remote::{LocalRemote, Remote};
use syncdesk_engine::repo::pack::BlobKind;
use syncdesk_engine::repo::tree::{BlobRef, Entry, Kind, Tree};
use syncdesk_engine::repo::{Head, KdfParams, Repo, RepoError, Snapshot};
use syncdesk_engine::vv::VersionVector;
use tempfile::TempDir;

/// Argon2id at its cheapest: these tests are about the format, not the cost.
const KDF: KdfParams = KdfParams {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

fn new_remote() -> (TempDir, Arc<dyn Remote>) {
    let dir = tempfile::tempdir().unwrap();
    let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new(dir.path().into()).unwrap());
    (dir, remote)
}

fn open(remote: &Arc<dyn Remote>, passphrase: Option<&str>) -> Result<Repo, RepoError> {
    Repo::open_with_kdf(remote.clone(), "main", passphrase, KDF)
}

/// Every object on the remote with its bytes.
fn objects(remote: &Arc<dyn Remote>) -> BTreeMap<String, Vec<u8>> {
    remote
        .list("")
        .unwrap()
        .into_iter()
        .map(|o| (o.key.clone(), remote.get(&o.key).unwrap()))
        .collect()
}

fn without_keys(mut all: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    all.retain(|k, _| !k.contains("/keys/"));
    all
}

fn flip(remote: &Arc<dyn Remote>, key: &str, at: usize) {
    let mut bytes = remote.get(key).unwrap();
    bytes[at] ^= 0x40;
    remote.put(key, &bytes).unwrap();
}

fn entry(name: &str, kind: Kind, device: &str) -> Entry {
    Entry {
        name: name.as_bytes().to_vec(),
        kind,
        vv: VersionVector::new().bumped(device, 1),
        device: device.into(),
        mtime_ns: 1_780_000_000_000_000_000,
        size: 0,
        mode: 0o644,
        hash: [0; 32],
        chunks: Vec::new(),
        target: None,
        sub: None,
    }
}

/// What a sync would store for a folder of `files` (top level) plus `sub/inner.txt`: blobs
/// in one pack, the trees, a snapshot and the device's head. Returns the snapshot id.
fn commit(repo: &Repo, device: &str, files: &[(&str, &[u8])]) -> String {
    let mut pack = repo.new_pack().unwrap();
    let mut add = |kind: BlobKind, raw: &[u8]| -> BlobRef {
        let sealed = repo.seal_blob(repo.blob_id(raw), kind, raw, true).unwrap();
        pack.add(&sealed)
    };
    let file = |name: &str, content: &[u8], add: &mut dyn FnMut(BlobKind, &[u8]) -> BlobRef| {
        let mut e = entry(name, Kind::File, device);
        e.size = content.len() as u64;
        e.hash = *blake3::hash(content).as_bytes();
        e.chunks = content
            .chunks(64 << 10)
            .map(|c| add(BlobKind::Data, c))
            .collect();
        e
    };
    let inner = Tree {
        entries: vec![file("inner.txt", b"inner file content", &mut add)],
    };
    let mut sub = entry("sub", Kind::Dir, device);
    sub.sub = Some(add(BlobKind::Tree, &inner.encode()));
    let mut entries: Vec<Entry> = files
        .iter()
        .map(|(name, content)| file(name, content, &mut add))
        .collect();
    entries.push(sub);
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let root = add(BlobKind::Tree, &Tree { entries }.encode());
    let (id, bytes) = pack.finish();
    repo.put_pack(&id, &bytes).unwrap();
    let snap = repo
        .write_snapshot(&Snapshot {
            version: 1,
            device: device.into(),
            parents: vec![],
            root,
            created_at: "2026-03-01T10:00:00.000Z".into(),
            files: files.len() as u64 + 1,
            bytes: 0,
        })
        .unwrap();
    repo.write_head(&Head {
        device: device.into(),
        nonce: "ab".repeat(16),
        snapshot: snap.clone(),
        written_at: "2026-03-01T10:00:00.000Z".into(),
    })
    .unwrap();
    snap
}

/// The content of `path` (`name` or `dir/name`) in a snapshot.
fn read_file(repo: &Repo, snapshot: &str, path: &str) -> Vec<u8> {
    let mut dir = repo.snapshot(snapshot).unwrap().root;
    let parts: Vec<&str> = path.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let tree = Tree::decode(&repo.read_blob_as(&dir, BlobKind::Tree).unwrap()).unwrap();
        let e = tree
            .entries
            .iter()
            .find(|e| e.name == part.as_bytes())
            .unwrap_or_else(|| panic!("{path} not in snapshot"))
            .clone();
        if i + 1 == parts.len() {
            let content: Vec<u8> = e
                .chunks
                .iter()
                .flat_map(|c| repo.read_blob_as(c, BlobKind::Data).unwrap())
                .collect();
            assert_eq!(*blake3::hash(&content).as_bytes(), e.hash);
            return content;
        }
        dir = e.sub.unwrap();
    }
    unreachable!()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn an_encrypted_repository_round_trips_and_checks_clean() {
    let (_dir, remote) = new_remote();
    let repo = open(&remote, Some("correct horse battery staple")).unwrap();
    assert!(repo.is_encrypted());
    let big: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let snap = commit(&repo, "laptop", &[("a.txt", b"hello"), ("big.bin", &big)]);

    // Another process: nothing from this one's memory but the passphrase.
    let other = open(&remote, Some("correct horse battery staple")).unwrap();
    assert_eq!(read_file(&other, &snap, "a.txt"), b"hello");
    assert_eq!(read_file(&other, &snap, "big.bin"), big);
    assert_eq!(
        read_file(&other, &snap, "sub/inner.txt"),
        b"inner file content"
    );
    assert_eq!(other.head("laptop").unwrap().unwrap().snapshot, snap);
    assert_eq!(other.list_snapshots().unwrap(), vec![snap.clone()]);

    let report = check_repo(&other).unwrap();
    assert!(report.ok(), "{:?}", report.errors);
    assert_eq!(report.snapshots, 1);
    assert_eq!(report.trees, 2);
    assert_eq!(report.packs, 1);
    assert!(report.blobs >= 4);
}

#[test]
fn the_remote_holds_no_content_names_or_plaintext_hashes() {
    let (_dir, remote) = new_remote();
    let repo = open(&remote, Some("pw")).unwrap();
    let content =
        b"CANARY-CONTENT-7f3a: the quarterly numbers, never to be seen in clear. ".repeat(40);
    let name = "canary-secret-plan.txt";
    let snap = commit(&repo, "laptop", &[(name, &content)]);

    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("content".into(), b"CANARY-CONTENT".to_vec()),
        ("file name".into(), name.as_bytes().to_vec()),
        ("directory name".into(), b"inner.txt".to_vec()),
        ("device in a snapshot".into(), b"\"device\"".to_vec()),
        ("snapshot fields".into(), b"parents".to_vec()),
    ];
    let hash = blake3::hash(&content);
    needles.push(("content hash".into(), hash.as_bytes().to_vec()));
    needles.push((
        "content hash (hex)".into(),
        hash.to_hex().as_bytes().to_vec(),
    ));
    // The plaintext hash of every chunk and tree: what an unencrypted repository would use
    // as ids, and would let anyone confirm a guess of the content.
    let root = repo.snapshot(&snap).unwrap().root;
    let tree_bytes = repo.read_blob_as(&root, BlobKind::Tree).unwrap();
    let tree = Tree::decode(&tree_bytes).unwrap();
    let mut plain_hashes = vec![blake3::hash(&tree_bytes)];
    for e in &tree.entries {
        for c in &e.chunks {
            plain_hashes.push(blake3::hash(&repo.read_blob(c).unwrap()));
        }
    }
    for h in &plain_hashes {
        needles.push(("blob hash".into(), h.as_bytes().to_vec()));
        needles.push(("blob hash (hex)".into(), h.to_hex().as_bytes().to_vec()));
    }
    let all = objects(&remote);
    assert!(all.len() >= 5, "{:?}", all.keys());
    for (key, bytes) in &all {
        for (what, needle) in &needles {
            assert!(
                !contains(bytes, needle) && !contains(key.as_bytes(), needle),
                "{what} leaks in {key}"
            );
        }
    }
    // Still all there for the passphrase holder.
    assert_eq!(read_file(&repo, &snap, name), content);
}

#[test]
fn wrong_or_mismatched_passphrases_are_refused_and_write_nothing() {
    let (_d1, encrypted) = new_remote();
    commit(
        &open(&encrypted, Some("right")).unwrap(),
        "laptop",
        &[("a", b"x")],
    );
    let before = objects(&encrypted);
    let err = open(&encrypted, Some("wrong")).err().unwrap();
    assert!(matches!(err, RepoError::WrongPassphrase), "{err}");
    assert!(err.to_string().contains("wrong passphrase"));
    let err = open(&encrypted, None).err().unwrap();
    assert!(matches!(err, RepoError::PassphraseRequired), "{err}");
    assert!(err.to_string().contains("passphrase"));
    assert_eq!(objects(&encrypted), before);

    let (_d2, plain) = new_remote();
    commit(&open(&plain, None).unwrap(), "laptop", &[("a", b"x")]);
    let before = objects(&plain);
    let err = open(&plain, Some("anything")).err().unwrap();
    assert!(matches!(err, RepoError::NotEncrypted { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "the repository main is not encrypted; remove the passphrase or use another cloud name"
    );
    assert_eq!(objects(&plain), before);
}

#[test]
fn tampering_is_reported_as_damage_never_as_data() {
    let (_dir, remote) = new_remote();
    let repo = open(&remote, Some("pw")).unwrap();
    let snap = commit(&repo, "laptop", &[("a.txt", b"the original text")]);
    let root = repo.snapshot(&snap).unwrap().root;
    let tree = Tree::decode(&repo.read_blob(&root).unwrap()).unwrap();
    let chunk = tree.entries[0].chunks[0];
    let pack_key = repo.pack_key(&chunk.pack);
    let pristine = objects(&remote);
    let restore = || {
        for (k, v) in &pristine {
            remote.put(k, v).unwrap();
        }
    };
    let is_auth_failure = |e: RepoError, object: &str| match e {
        RepoError::Corrupt { key, reason } => {
            key == object && reason.contains("authentication failed")
        }
        _ => false,
    };
    assert!(check_repo(&repo).unwrap().ok());

    // A blob: reading it fails, and check names it.
    flip(&remote, &pack_key, chunk.offset as usize + 30);
    assert!(is_auth_failure(
        repo.read_blob(&chunk).unwrap_err(),
        &pack_key
    ));
    let report = check_repo(&repo).unwrap();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains(&hex::encode(chunk.hash)) && e.contains("authentication failed")),
        "{:?}",
        report.errors
    );
    restore();

    // The pack header (just before the length and end marker).
    let len = pristine[&pack_key].len();
    flip(&remote, &pack_key, len - 13);
    let report = check_repo(&repo).unwrap();
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("pack header") && e.contains("authentication failed")),
        "{:?}",
        report.errors
    );
    restore();

    // The snapshot and the head.
    let snap_key = format!("main/snapshots/{snap}");
    flip(&remote, &snap_key, 50);
    assert!(is_auth_failure(
        repo.snapshot(&snap).unwrap_err(),
        &snap_key
    ));
    assert!(!check_repo(&repo).unwrap().ok());
    restore();
    flip(&remote, "main/heads/laptop", 50);
    assert!(is_auth_failure(
        repo.head("laptop").unwrap_err(),
        "main/heads/laptop"
    ));
    let report = check_repo(&repo).unwrap();
    assert!(
        report.errors.iter().any(|e| e.contains("head of laptop")),
        "{:?}",
        report.errors
    );
    restore();

    // The key id in the clear framing is authenticated too.
    flip(&remote, &snap_key, 10);
    assert!(matches!(
        repo.snapshot(&snap),
        Err(RepoError::Corrupt { .. })
    ));
    restore();
    assert!(check_repo(&repo).unwrap().ok());
}

#[test]
fn a_new_passphrase_replaces_the_old_without_rewriting_data() {
    let (_dir, remote) = new_remote();
    let repo = open(&remote, Some("old passphrase")).unwrap();
    let snap = commit(&repo, "laptop", &[("a.txt", b"unchanged by the change")]);
    let before = objects(&remote);

    repo.change_passphrase("old passphrase", "new passphrase")
        .unwrap();
    let after = objects(&remote);
    assert_eq!(without_keys(after.clone()), without_keys(before.clone()));
    let keys = |all: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
        all.keys()
            .filter(|k| k.contains("/keys/"))
            .cloned()
            .collect()
    };
    assert_eq!(keys(&after).len(), 1);
    assert_ne!(keys(&after), keys(&before));

    assert!(matches!(
        open(&remote, Some("old passphrase")),
        Err(RepoError::WrongPassphrase)
    ));
    let reopened = open(&remote, Some("new passphrase")).unwrap();
    assert_eq!(
        read_file(&reopened, &snap, "a.txt"),
        b"unchanged by the change"
    );
    assert!(check_repo(&reopened).unwrap().ok());
    // The handle opened before the change still works: same master key.
    assert_eq!(read_file(&repo, &snap, "a.txt"), b"unchanged by the change");

    // A wrong old passphrase changes nothing.
    let now = objects(&remote);
    assert!(matches!(
        reopened.change_passphrase("old passphrase", "third"),
        Err(RepoError::WrongPassphrase)
    ));
    assert_eq!(objects(&remote), now);
}

#[test]
fn both_keys_of_a_creation_race_stay_readable() {
    // Two devices create the same repository at the same moment: each writes the same
    // config, its own key file, and data sealed with its own key before it sees the other's.
    let (_d1, a) = new_remote();
    let (_d2, b) = new_remote();
    let repo_a = open(&a, Some("shared")).unwrap();
    let repo_b = open(&b, Some("shared")).unwrap();
    let snap_a = commit(&repo_a, "device-a", &[("from-a.txt", b"written by a")]);
    let snap_b = commit(&repo_b, "device-b", &[("from-b.txt", b"written by b")]);
    for (key, bytes) in objects(&b) {
        if key == "main/config" {
            assert_eq!(a.get(&key).unwrap(), bytes, "configs must be identical");
        }
        a.put(&key, &bytes).unwrap();
    }
    assert_eq!(a.list("main/keys/").unwrap().len(), 2);

    let merged = open(&a, Some("shared")).unwrap();
    let mut ids = [repo_a.key_ids()[0].clone(), repo_b.key_ids()[0].clone()];
    ids.sort();
    assert_eq!(merged.key_ids(), ids.to_vec());
    assert_eq!(read_file(&merged, &snap_a, "from-a.txt"), b"written by a");
    assert_eq!(read_file(&merged, &snap_b, "from-b.txt"), b"written by b");
    assert_eq!(
        merged.heads().unwrap().iter().filter(|h| h.is_ok()).count(),
        2
    );
    // New writes use the smallest key id, and stay readable by everyone.
    let snap_c = commit(&merged, "device-a", &[("later.txt", b"after the race")]);
    let fresh = open(&a, Some("shared")).unwrap();
    assert_eq!(read_file(&fresh, &snap_c, "later.txt"), b"after the race");
    let report = check_repo(&fresh).unwrap();
    assert!(report.ok(), "{:?}", report.errors);
    assert_eq!(report.snapshots, 3);

    // A passphrase change re-wraps both keys.
    fresh.change_passphrase("shared", "renewed").unwrap();
    assert_eq!(a.list("main/keys/").unwrap().len(), 2);
    let renewed = open(&a, Some("renewed")).unwrap();
    assert_eq!(renewed.key_ids(), ids.to_vec());
    assert_eq!(read_file(&renewed, &snap_b, "from-b.txt"), b"written by b");
}

#[test]
fn devices_creating_at_once_all_succeed_and_read_each_other() {
    let (_dir, remote) = new_remote();
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (remote, barrier) = (remote.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let repo = open(&remote, Some("together")).unwrap();
                let name = format!("from-{i}.txt");
                let snap = commit(&repo, &format!("device-{i}"), &[(&name, name.as_bytes())]);
                (name, snap)
            })
        })
        .collect();
    let written: Vec<(String, String)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let repo = open(&remote, Some("together")).unwrap();
    assert!(!repo.key_ids().is_empty());
    for (name, snap) in &written {
        assert_eq!(read_file(&repo, snap, name), name.as_bytes());
    }
    assert!(check_repo(&repo).unwrap().ok());
}

#[test]
fn a_plain_repository_is_unchanged_by_encryption_support() {
    let (_dir, remote) = new_remote();
    let repo = open(&remote, None).unwrap();
    assert!(!repo.is_encrypted());
    let snap = commit(&repo, "laptop", &[("a.txt", b"plain content")]);
    // Ids are plain BLAKE3, objects are plaintext, as in format version 1 without encryption.
    let json = remote.get(&format!("main/snapshots/{snap}")).unwrap();
    assert_eq!(blake3::hash(&json).to_hex().as_str(), snap);
    assert_eq!(repo.blob_id(b"x"), *blake3::hash(b"x").as_bytes());
    assert!(remote.list("main/keys/").unwrap().is_empty());
    // What the encrypted repository hides is in the clear here: the leak test's probes work.
    let all = objects(&remote);
    assert!(all.values().any(|b| contains(b, b"a.txt")));
    assert!(all.values().any(|b| contains(b, b"plain content")));
    assert_eq!(read_file(&repo, &snap, "a.txt"), b"plain content");
    assert!(check_repo(&repo).unwrap().ok());
}
