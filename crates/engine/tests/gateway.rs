//! Gateway ingress on the engine side (seed 003): confinement, atomic writes through the
//! trash, jobs, local-only files and their expiry, rate limits, `sync_3rd` paths and tokens.
//! Token tests use the real OS keyring: run under scripts/keyring-session.sh.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Device, Finished, World, jobs_of};
use syncdesk_engine::gateway::{
    Content, GatewayAction, GatewayCaller, GatewayChange, GatewayError, GatewayOutcome,
    GatewaySettings,
};
use syncdesk_engine::model::{JobStatus, JobType, TriggerType};
use syncdesk_engine::ratelimit::{self, Rule};
use syncdesk_engine::store::GatewayFileOp;
use syncdesk_engine::{BackgroundOptions, Engine};

fn alice() -> GatewayCaller {
    GatewayCaller {
        account: Some("alice".into()),
        folder: "docs".into(),
        session: false,
    }
}

fn change(path: &str, content: Content, push: bool) -> GatewayChange {
    GatewayChange {
        path: path.into(),
        content,
        is_deleted: false,
        is_dir: false,
        push_to_cloud: push,
    }
}

fn put(
    engine: &Engine,
    path: &str,
    content: &[u8],
    push: bool,
) -> Result<GatewayOutcome, GatewayError> {
    engine.gateway_apply(
        &alice(),
        change(path, Content::Bytes(content.to_vec()), push),
    )
}

fn delete(engine: &Engine, path: &str, push: bool) -> Result<GatewayOutcome, GatewayError> {
    engine.gateway_apply(
        &alice(),
        GatewayChange {
            is_deleted: true,
            ..change(path, Content::Empty, push)
        },
    )
}

fn mkdir(engine: &Engine, path: &str, push: bool) -> Result<GatewayOutcome, GatewayError> {
    engine.gateway_apply(
        &alice(),
        GatewayChange {
            is_dir: true,
            ..change(path, Content::Empty, push)
        },
    )
}

/// Every path under `dir` with its content (links as their target), to compare before/after.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                out.insert(
                    p.clone(),
                    fs::read_link(&p)
                        .unwrap()
                        .into_os_string()
                        .into_encoded_bytes(),
                );
            } else if m.is_dir() {
                out.insert(p.clone(), b"<dir>".to_vec());
                todo.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn staging_files(d: &Device) -> usize {
    fs::read_dir(d.path(".syncdesk/gateway-tmp")).map_or(0, |rd| rd.count())
}

fn gateway_jobs(d: &Device) -> Vec<syncdesk_engine::model::SyncJob> {
    jobs_of(&d.engine, "docs")
        .into_iter()
        .filter(|j| j.job_type == JobType::Gateway)
        .collect()
}

#[test]
fn hostile_paths_are_refused_and_nothing_outside_changes() {
    let w = World::new();
    let a = w.device("a");
    let outside = w.dir.path().join("outside");
    fs::create_dir_all(outside.join("sub")).unwrap();
    fs::write(outside.join("secret.txt"), b"do not touch").unwrap();
    // Links a sync could bring in, or the owner made: never followed.
    std::os::unix::fs::symlink(&outside, a.path("escape")).unwrap();
    a.write("real/keep.txt", b"k");
    std::os::unix::fs::symlink(&outside, a.path("real/deeper")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), a.path("link.txt")).unwrap();
    let before_outside = snapshot(&outside);
    let before_folder = snapshot(&a.root);

    let long = "x".repeat(256);
    let hostile = [
        "",
        "/",
        "/etc/passwd",
        "..",
        "../outside/secret.txt",
        "real/../../outside/secret.txt",
        "./a",
        "a//b",
        "..\\outside\\secret.txt",
        "a\0b",
        "a\u{1}",
        "CON",
        "nul.txt",
        "real/Com3.log",
        "lpt1",
        "trailing.",
        "trailing ",
        ".syncdesk/trash/x",
        "a/.syncdesk",
        long.as_str(),
    ];
    for path in hostile {
        for result in [
            put(&a.engine, path, b"evil", true),
            put(&a.engine, path, b"evil", false),
            delete(&a.engine, path, true),
            mkdir(&a.engine, path, true),
        ] {
            match result {
                Err(e @ GatewayError::BadPath(_)) => assert_eq!(e.code(), "bad_request"),
                other => panic!("{path:?}: {other:?}"),
            }
        }
    }
    // Through a symlinked parent, or into a symlinked target.
    for path in [
        "escape/secret.txt",
        "escape/new.txt",
        "escape/sub/new.txt",
        "escape/x/y/z.txt",
        "real/deeper/secret.txt",
        "real/deeper/new/x.txt",
        "link.txt",
    ] {
        let r = put(&a.engine, path, b"evil", true);
        assert!(
            matches!(r, Err(GatewayError::BadPath(ref m)) if m.contains("symbolic link")),
            "{path}: {r:?}"
        );
        assert!(
            matches!(mkdir(&a.engine, path, true), Err(GatewayError::BadPath(_))),
            "{path}"
        );
        assert!(a.engine.gateway_open("docs", path).is_err(), "{path}");
    }
    for path in ["escape/secret.txt", "real/deeper/secret.txt"] {
        assert!(
            matches!(delete(&a.engine, path, true), Err(GatewayError::BadPath(_))),
            "{path}"
        );
    }
    assert_eq!(
        snapshot(&outside),
        before_outside,
        "nothing outside the folder changed"
    );
    assert_eq!(
        snapshot(&a.root),
        before_folder,
        "nothing inside changed either"
    );
    assert!(gateway_jobs(&a).is_empty());

    // Deleting a link removes the link itself (to the trash), never what it points to.
    let out = delete(&a.engine, "link.txt", true).unwrap();
    assert_eq!(out.action, GatewayAction::Deleted);
    assert!(fs::symlink_metadata(a.path("link.txt")).is_err());
    assert_eq!(snapshot(&outside), before_outside);
}

#[test]
fn writes_replace_atomically_through_the_trash_and_are_recorded_as_jobs() {
    let w = World::new();
    let a = w.device("a");
    let done = Finished::on(&a.engine);

    let first = put(&a.engine, "notes/today.md", b"v1", true).unwrap();
    assert_eq!(first.action, GatewayAction::Written);
    assert_eq!(first.path, "notes/today.md");
    assert_eq!(
        (first.bytes, first.push_to_cloud, &first.expires_at),
        (2, true, &None)
    );
    let job_id = first.job_id.unwrap();
    let job = a.engine.job(job_id).unwrap().unwrap();
    assert_eq!(
        (job.job_type, job.trigger_type, job.status),
        (JobType::Gateway, TriggerType::Gateway, JobStatus::Succeeded)
    );
    assert_eq!(job.metadata["path"], "notes/today.md");
    assert_eq!(job.metadata["account"], "alice");
    assert_eq!(job.metadata["action"], "written");
    assert_eq!(job.metadata["push_to_cloud"], "true");
    assert_eq!(job.stats.files_downloaded, 1);
    let log = a.engine.job_log(job_id).unwrap();
    assert!(
        log.iter()
            .any(|l| l.msg.contains("notes/today.md") && l.msg.contains("alice")),
        "{log:?}"
    );
    // UIs hear about it like any job.
    assert_eq!(
        done.next("the gateway job", |j| j.id == job_id).status,
        JobStatus::Succeeded
    );
    assert_eq!(a.read("notes/today.md").unwrap(), b"v1");

    let second = put(&a.engine, "notes/today.md", b"v2, longer", true).unwrap();
    assert_eq!(second.action, GatewayAction::Written);
    assert_eq!(a.read("notes/today.md").unwrap(), b"v2, longer");
    let trash = a.engine.trash("docs").unwrap();
    assert_eq!(trash.len(), 1);
    assert_eq!(trash[0].path, "notes/today.md");
    assert!(
        trash[0]
            .batch
            .ends_with(&format!("-job{}", second.job_id.unwrap())),
        "{trash:?}"
    );
    assert_eq!(a.trash(), vec![b"v1".to_vec()]);

    // A streamed upload: staged in the folder's .syncdesk, renamed into place.
    let mut staged = a.engine.gateway_staging("docs").unwrap();
    assert!(staged.path().starts_with(a.root.join(".syncdesk")));
    staged.write_chunk(b"streamed ").unwrap();
    std::io::Write::write_all(&mut staged.file(), b"content").unwrap();
    let out = a
        .engine
        .gateway_apply(
            &alice(),
            change("big/upload.bin", Content::Staged(staged), true),
        )
        .unwrap();
    assert_eq!((out.action, out.bytes), (GatewayAction::Written, 16));
    assert_eq!(a.read("big/upload.bin").unwrap(), b"streamed content");
    assert_eq!(staging_files(&a), 0, "no staged file is left behind");

    // Empty content is an empty file.
    let out = a
        .engine
        .gateway_apply(&alice(), change("empty.txt", Content::Empty, true))
        .unwrap();
    assert_eq!(out.action, GatewayAction::Written);
    assert_eq!(a.read("empty.txt").unwrap(), b"");
    assert_eq!(gateway_jobs(&a).len(), 4);
    assert_eq!(
        a.engine
            .gateway_owner_of("docs", "big/upload.bin")
            .unwrap()
            .as_deref(),
        Some("alice")
    );
    assert_eq!(
        a.engine.gateway_owner_of("docs", "never.txt").unwrap(),
        None
    );
}

#[test]
fn the_same_content_again_changes_nothing() {
    let w = World::new();
    let a = w.device("a");
    put(&a.engine, "a.txt", b"same", true).unwrap();
    let jobs = gateway_jobs(&a).len();
    let out = put(&a.engine, "a.txt", b"same", true).unwrap();
    assert_eq!(
        (out.action, out.job_id, out.bytes),
        (GatewayAction::Unchanged, None, 4)
    );
    let mut staged = a.engine.gateway_staging("docs").unwrap();
    staged.write_chunk(b"same").unwrap();
    let out = a
        .engine
        .gateway_apply(&alice(), change("a.txt", Content::Staged(staged), true))
        .unwrap();
    assert_eq!(out.action, GatewayAction::Unchanged);
    assert_eq!(gateway_jobs(&a).len(), jobs);
    assert!(a.engine.trash("docs").unwrap().is_empty());
    assert_eq!(staging_files(&a), 0);
}

#[test]
fn deletes_go_to_the_trash_and_directories_are_made() {
    let w = World::new();
    let a = w.device("a");
    put(&a.engine, "d/a.txt", b"precious", true).unwrap();
    let out = delete(&a.engine, "d/a.txt", true).unwrap();
    assert_eq!(out.action, GatewayAction::Deleted);
    assert!(a.read("d/a.txt").is_none());
    assert_eq!(a.trash(), vec![b"precious".to_vec()]);
    let job = a.engine.job(out.job_id.unwrap()).unwrap().unwrap();
    assert_eq!(
        (job.metadata["action"].as_str(), job.stats.files_deleted),
        ("deleted", 1)
    );

    for missing in ["d/a.txt", "nothing", "nothing/below", "d/a.txt/x"] {
        let err = delete(&a.engine, missing, true).unwrap_err();
        assert_eq!(err.code(), "not_found", "{missing}: {err}");
    }

    let out = mkdir(&a.engine, "new/deep/dir", true).unwrap();
    assert_eq!(out.action, GatewayAction::Directory);
    assert!(a.path("new/deep/dir").is_dir());
    assert_eq!(
        mkdir(&a.engine, "new/deep/dir", true).unwrap().action,
        GatewayAction::Unchanged
    );
    put(&a.engine, "file", b"x", true).unwrap();
    assert_eq!(
        mkdir(&a.engine, "file", true).unwrap_err().code(),
        "bad_request"
    );
    assert_eq!(
        put(&a.engine, "new", b"x", true).unwrap_err().code(),
        "bad_request"
    );
    assert_eq!(
        put(&a.engine, "file/below", b"x", true).unwrap_err().code(),
        "bad_request"
    );

    // A whole directory goes to the trash too.
    let out = delete(&a.engine, "new", true).unwrap();
    assert_eq!(out.action, GatewayAction::Deleted);
    assert!(!a.path("new").exists());
    let in_trash = fs::read_dir(a.root.join(".syncdesk/trash"))
        .unwrap()
        .any(|b| b.unwrap().path().join("new/deep/dir").is_dir());
    assert!(in_trash, "the deleted directory is in a trash batch");

    let both = GatewayChange {
        is_deleted: true,
        is_dir: true,
        ..change("x", Content::Empty, true)
    };
    assert_eq!(
        a.engine.gateway_apply(&alice(), both).unwrap_err().code(),
        "bad_request"
    );
}

#[test]
fn files_over_the_size_limit_are_refused() {
    let w = World::new();
    let a = w.device("a");
    assert_eq!(
        a.engine.gateway_settings().unwrap(),
        GatewaySettings::default()
    );
    assert_eq!(GatewaySettings::default().max_file_size, 1 << 30);
    let s = GatewaySettings {
        folder: Some("docs".into()),
        max_file_size: 10,
        ..Default::default()
    };
    a.engine.set_gateway_settings(&s).unwrap();
    assert_eq!(a.engine.gateway_settings().unwrap(), s);
    put(&a.engine, "ok.txt", b"0123456789", true).unwrap();
    let err = put(&a.engine, "big.txt", b"0123456789a", true).unwrap_err();
    assert!(
        matches!(err, GatewayError::TooLarge { limit: 10 }),
        "{err:?}"
    );
    assert_eq!(err.code(), "too_large");
    let mut staged = a.engine.gateway_staging("docs").unwrap();
    staged.write_chunk(b"01234").unwrap();
    assert!(matches!(
        staged.write_chunk(b"567890"),
        Err(GatewayError::TooLarge { limit: 10 })
    ));
    drop(staged);
    assert_eq!(staging_files(&a), 0);
    assert!(a.read("big.txt").is_none());

    // Settings are checked.
    let bad = GatewaySettings {
        folder: Some("nope".into()),
        ..Default::default()
    };
    assert_eq!(
        a.engine.set_gateway_settings(&bad).unwrap_err().code(),
        "unknown_folder"
    );
}

fn expire_now(d: &Device, paths: &[&str]) {
    let ops: Vec<GatewayFileOp> = paths
        .iter()
        .map(|p| GatewayFileOp::Set {
            path: p.as_bytes().to_vec(),
            account: Some("alice".into()),
            local_only: true,
            expires_at_ms: Some(1),
        })
        .collect();
    d.engine.store().update_gateway_files("docs", &ops).unwrap();
}

#[test]
fn local_only_files_stay_out_of_the_sync_and_expire() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    // A synced file that a local-only write will cover.
    a.write("shared.txt", b"synced version");
    a.sync();
    b.sync();

    let tmp = put(&a.engine, "drafts/tmp.txt", b"only here", false).unwrap();
    assert_eq!(tmp.action, GatewayAction::Written);
    assert!(!tmp.push_to_cloud);
    let expires = syncdesk_engine::clock::parse(tmp.expires_at.as_deref().unwrap()).unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(119) && left <= time::Duration::minutes(120),
        "{left}"
    );
    put(&a.engine, "shared.txt", b"local-only edit", false).unwrap();
    put(&a.engine, "kept.txt", b"for everyone", true).unwrap();
    put(&a.engine, "later.txt", b"first local", false).unwrap();
    // The listing for force-pull leaves local-only paths out.
    let listed: Vec<String> = a
        .engine
        .gateway_list("docs")
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert!(listed.contains(&"kept.txt".to_owned()), "{listed:?}");
    for hidden in ["drafts", "drafts/tmp.txt", "later.txt", "shared.txt"] {
        assert!(
            !listed.contains(&hidden.to_owned()),
            "{hidden} in {listed:?}"
        );
    }
    assert_eq!(
        a.engine
            .gateway_open("docs", "drafts/tmp.txt")
            .unwrap_err()
            .code(),
        "not_found"
    );

    a.sync();
    b.sync();
    assert_eq!(b.read("kept.txt").unwrap(), b"for everyone");
    assert!(b.read("drafts/tmp.txt").is_none());
    assert!(
        !b.path("drafts").exists(),
        "the directory made for it is local-only too"
    );
    assert!(b.read("later.txt").is_none());
    assert_eq!(b.read("shared.txt").unwrap(), b"synced version");

    // Written again for good: it syncs from now on.
    let out = put(&a.engine, "later.txt", b"first local", true).unwrap();
    assert_eq!(
        (out.action, out.expires_at),
        (GatewayAction::Unchanged, None)
    );
    a.sync();
    b.sync();
    assert_eq!(b.read("later.txt").unwrap(), b"first local");

    // Two hours later (moved forward in the database).
    expire_now(&a, &["drafts", "drafts/tmp.txt", "shared.txt"]);
    let done = Finished::on(&a.engine);
    assert_eq!(a.engine.gateway_expire().unwrap(), 3);
    let job = done.next("the expiry job", |j| j.job_type == JobType::Gateway);
    assert_eq!(job.metadata["action"], "expired");
    assert!(a.read("drafts/tmp.txt").is_none());
    assert!(!a.path("drafts").exists());
    assert_eq!(
        a.read("shared.txt").unwrap(),
        b"synced version",
        "the synced original is back"
    );
    let trashed = a.trash();
    assert!(
        trashed.contains(&b"only here".to_vec()) && trashed.contains(&b"local-only edit".to_vec())
    );
    assert_eq!(a.engine.gateway_expire().unwrap(), 0);

    // Nothing of it reached the other device, and nothing synced was deleted.
    a.sync();
    b.sync();
    assert_eq!(b.read("shared.txt").unwrap(), b"synced version");
    assert_eq!(a.tree(), b.tree());
}

#[test]
fn a_local_only_delete_comes_back_when_it_expires() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("keep.txt", b"synced");
    a.sync();
    b.sync();
    let out = delete(&a.engine, "keep.txt", false).unwrap();
    assert_eq!(out.action, GatewayAction::Deleted);
    assert!(out.expires_at.is_some());
    assert!(a.read("keep.txt").is_none());
    a.sync();
    b.sync();
    assert_eq!(
        b.read("keep.txt").unwrap(),
        b"synced",
        "not deleted on the remote"
    );
    expire_now(&a, &["keep.txt"]);
    a.engine.gateway_expire().unwrap();
    assert_eq!(a.read("keep.txt").unwrap(), b"synced");
    // A synced folder cannot be deleted on this machine only.
    a.write("dir/x", b"x");
    a.sync();
    assert_eq!(
        delete(&a.engine, "dir", false).unwrap_err().code(),
        "bad_request"
    );
}

#[test]
fn ingress_writes_are_seen_by_the_watcher_and_synced_on() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    let done = Finished::on(&a.engine);
    let _bg = a
        .engine
        .start_background_with(BackgroundOptions {
            debounce: Duration::from_millis(200),
            interval_override: None,
            settings_poll: Duration::from_millis(100),
        })
        .unwrap();
    put(&a.engine, "from-the-gateway.txt", b"hello", true).unwrap();
    let job = done.next("a watch sync", |j| j.trigger_type == TriggerType::Watch);
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    b.sync();
    assert_eq!(b.read("from-the-gateway.txt").unwrap(), b"hello");
}

#[test]
fn rate_limits_hold_across_a_restart() {
    let w = World::new();
    let a = w.device("a");
    let rules = ratelimit::parse_rules("2/10m").unwrap();
    let keys = vec![
        ("account:alice".to_owned(), rules.clone()),
        ("3rd-site".to_owned(), ratelimit::PUBLIC_SITE_RULES.to_vec()),
    ];
    a.engine.gateway_admit(&keys).unwrap();
    a.engine.gateway_admit(&keys).unwrap();
    let refused = a.engine.gateway_admit(&keys).unwrap_err();
    match refused {
        GatewayError::RateLimited { retry_after_secs } => assert!(
            (598..=600).contains(&retry_after_secs),
            "{retry_after_secs}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(refused.code(), "rate_limited");
    // A refused request was not counted anywhere: the site key had room.
    let other = vec![("account:bob".to_owned(), rules.clone())];
    a.engine.gateway_admit(&other).unwrap();

    let state = a.state.clone();
    drop(a);
    let engine = Engine::open(&state).unwrap();
    assert!(matches!(
        engine.gateway_admit(&keys),
        Err(GatewayError::RateLimited { .. })
    ));
    engine.gateway_admit(&other).unwrap();
    assert!(matches!(
        engine.gateway_admit(&other),
        Err(GatewayError::RateLimited { .. })
    ));
    // The site key counted exactly the two admitted requests.
    let site_only = vec![(
        "3rd-site".to_owned(),
        vec![Rule {
            max: 3,
            window: Duration::from_secs(600),
        }],
    )];
    engine.gateway_admit(&site_only).unwrap();
    assert!(engine.gateway_admit(&site_only).is_err());
}

#[test]
fn third_party_paths_never_collide() {
    let w = World::new();
    let a = w.device("a");
    let first = a.engine.gateway_3rd_path("docs", None, None).unwrap();
    let shape = first.strip_prefix("share/default/").unwrap();
    let (year, rest) = shape.split_once('/').unwrap();
    assert_eq!(year.len(), 4);
    assert!(rest.starts_with(&format!("{year}-")), "{first}");
    assert!(first.ends_with(".txt"));
    // Asked for again before it is written, and after: never the same path.
    let mut seen = vec![first.clone()];
    let out = put(&a.engine, &first, b"one", true).unwrap();
    assert_eq!(out.path, first);
    for _ in 0..4 {
        let p = a.engine.gateway_3rd_path("docs", None, None).unwrap();
        assert!(!seen.contains(&p), "{p} handed out twice");
        assert!(a.read(&p).is_none());
        seen.push(p);
    }
    // Within the same second the numbers count up before the extension.
    let stamp = &first[..first.len() - 4];
    let numbered: Vec<&String> = seen[1..].iter().filter(|p| p.starts_with(stamp)).collect();
    for (i, p) in numbered.iter().enumerate() {
        assert_eq!(**p, format!("{stamp} ({}).txt", i + 2));
    }
    let notes = a
        .engine
        .gateway_3rd_path("docs", Some("notes"), Some("md"))
        .unwrap();
    assert!(
        notes.starts_with("share/notes/") && notes.ends_with(".md"),
        "{notes}"
    );
    for (f3, ext) in [
        (Some("../x"), None),
        (Some("a/b"), None),
        (Some(".syncdesk"), None),
        (None, Some("t.x")),
        (None, Some("toolongextension17")),
    ] {
        assert_eq!(
            a.engine
                .gateway_3rd_path("docs", f3, ext)
                .unwrap_err()
                .code(),
            "bad_request",
            "{f3:?} {ext:?}"
        );
    }
}

#[test]
fn disk_full_keeps_the_old_file_and_leaves_no_upload_behind() {
    let w = World::new();
    let small = w.dir.path().join("small");
    fs::create_dir_all(&small).unwrap();
    // A tiny filesystem needs root (or CAP_SYS_ADMIN); elsewhere this test has nothing to run on.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&small)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(small.clone());
    let engine = Engine::open(&w.dir.path().join("state-small")).unwrap();
    let remote = w.dir.path().join("remote-small");
    engine
        .add_folder("docs", &small, remote.to_str().unwrap(), None)
        .unwrap();
    put(&engine, "a.txt", b"old", true).unwrap();
    let err = put(&engine, "a.txt", &vec![7u8; 1 << 20], true).unwrap_err();
    assert!(matches!(err, GatewayError::DiskFull(_)), "{err:?}");
    assert_eq!(err.code(), "insufficient_storage");
    assert!(err.to_string().contains("full"), "{err}");
    assert_eq!(fs::read(small.join("a.txt")).unwrap(), b"old");
    let mut staged = engine.gateway_staging("docs").unwrap();
    let err = staged.write_chunk(&vec![7u8; 1 << 20]).unwrap_err();
    assert!(matches!(err, GatewayError::DiskFull(_)), "{err:?}");
    drop(staged);
    assert_eq!(
        fs::read_dir(small.join(".syncdesk/gateway-tmp"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        engine
            .jobs(&Default::default())
            .unwrap()
            .items
            .iter()
            .filter(|j| j.job_type == JobType::Gateway)
            .count(),
        1
    );
}

/// The real OS keyring: run under scripts/keyring-session.sh.
#[test]
fn tokens_are_created_checked_and_revoked_across_processes() {
    let w = World::new();
    let a = w.device("a");
    let t1 = a
        .engine
        .create_gateway_token("docs", "alice", None)
        .unwrap();
    assert_eq!(t1.token.name, "gw-1");
    assert!(
        t1.secret.starts_with("sdg_") && t1.secret.len() == 68,
        "{}",
        t1.secret
    );
    assert!(t1.secret[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    let caller = a.engine.gateway_caller(&t1.secret).unwrap();
    assert_eq!(
        caller,
        GatewayCaller {
            account: Some("alice".into()),
            folder: "docs".into(),
            session: false
        }
    );
    let t2 = a
        .engine
        .create_gateway_token("docs", "bob", Some("bobs"))
        .unwrap();
    assert_eq!(
        a.engine
            .gateway_caller(&t2.secret)
            .unwrap()
            .account
            .as_deref(),
        Some("bob")
    );
    let listed = a.engine.gateway_tokens().unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["bobs", "gw-1"]
    );
    let json = serde_json::to_string(&listed).unwrap();
    assert!(
        !json.contains(&t1.secret) && json.contains("createdAt"),
        "{json}"
    );
    assert_eq!(
        a.engine
            .create_gateway_token("docs", "x", Some("bobs"))
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    assert_eq!(
        a.engine
            .create_gateway_token("nope", "x", None)
            .unwrap_err()
            .code(),
        "unknown_folder"
    );

    let last = if t1.secret.ends_with('0') { '1' } else { '0' };
    let near_miss = format!("{}{last}", &t1.secret[..67]);
    for bad in ["", "sdg_", "Token abc", &t1.secret[..67], &near_miss] {
        let err = a.engine.gateway_caller(bad).unwrap_err();
        assert_eq!(err.code(), "unauthorized", "{bad:?}");
    }

    // Another process (another engine on the same state) sees tokens made here, and revokes.
    let other = Engine::open(&a.state).unwrap();
    assert_eq!(
        other.gateway_caller(&t1.secret).unwrap().account.as_deref(),
        Some("alice")
    );
    other.revoke_gateway_token("gw-1").unwrap();
    assert_eq!(
        a.engine.gateway_caller(&t1.secret).unwrap_err().code(),
        "unauthorized"
    );
    assert_eq!(
        other.revoke_gateway_token("gw-1").unwrap_err().code(),
        "not_found"
    );
    // A new token under the old name is another token: the old secret stays refused.
    let again = other
        .create_gateway_token("docs", "carol", Some("gw-1"))
        .unwrap();
    assert_eq!(
        a.engine.gateway_caller(&t1.secret).unwrap_err().code(),
        "unauthorized"
    );
    assert_eq!(
        other
            .gateway_caller(&again.secret)
            .unwrap()
            .account
            .as_deref(),
        Some("carol")
    );

    // The owner's session writes into the settings' folder.
    assert_eq!(a.engine.gateway_owner().unwrap_err().code(), "disabled");
    a.engine
        .set_gateway_settings(&GatewaySettings {
            folder: Some("docs".into()),
            ..Default::default()
        })
        .unwrap();
    let owner = a.engine.gateway_owner().unwrap();
    assert_eq!(
        (
            owner.account.as_deref(),
            owner.folder.as_str(),
            owner.session
        ),
        (Some("owner"), "docs", true)
    );
    // No job log or event carries a token.
    let out = a
        .engine
        .gateway_apply(
            &caller,
            change("t.txt", Content::Bytes(b"x".to_vec()), true),
        )
        .unwrap();
    let log = a.engine.job_log(out.job_id.unwrap()).unwrap();
    assert!(!format!("{log:?}").contains("sdg_"));
}
