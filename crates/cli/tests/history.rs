//! Snapshots, browsing and restoring them, and checking the repository.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

fn ids(snaps: &Value) -> Vec<String> {
    snaps
        .as_array()
        .expect("an array of snapshots")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn snapshots_files_and_restore_bring_back_old_bytes() {
    let w = World::new();
    let a = w.device("a");
    let v1 = noise(100_000, 7);
    a.write("report/draft.bin", &v1);
    a.write("readme.txt", b"v1");
    assert_ok(&a.run(&["sync"]));
    a.write("report/draft.bin", b"rewritten");
    assert_ok(&a.run(&["sync"]));

    let (code, snaps) = a.json(&["snapshots", "--folder", "docs"]);
    assert_eq!(code, 0);
    let ids = ids(&snaps);
    assert_eq!(ids.len(), 2, "{snaps:#}");
    let (newest, oldest) = (&snaps[0], &snaps[1]);
    assert_eq!(oldest["files"], 2);
    assert_eq!(oldest["bytes"], v1.len() as u64 + 2);
    assert_eq!(newest["parents"], serde_json::json!([ids[1]]));
    assert!(
        !newest["headOf"].as_array().unwrap().is_empty(),
        "the newest is A's head"
    );
    let old = &ids[1][..8]; // a prefix is enough

    let human = a.run(&["snapshots", "--folder", "docs"]);
    assert_ok(&human);
    assert!(stdout(&human).contains(&ids[1][..12]), "{}", stdout(&human));

    let (code, top) = a.json(&["files", "--folder", "docs", "--snapshot", old]);
    assert_eq!(code, 0, "{top:#}");
    let names: Vec<(&str, &str)> = top
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["kind"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("report", "dir")), "{top:#}");
    assert!(names.contains(&("readme.txt", "file")), "{top:#}");
    let (_, inner) = a.json(&["files", "--folder", "docs", "--snapshot", old, "report"]);
    assert_eq!(inner[0]["name"], "draft.bin");
    assert_eq!(inner[0]["size"], v1.len() as u64);

    let to = w.path("restored");
    let (code, report) = a.json(&[
        "restore",
        "--folder",
        "docs",
        "--snapshot",
        old,
        "report/draft.bin",
        "--to",
        to.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["files"], 1);
    assert_eq!(fs::read(to.join("draft.bin")).unwrap(), v1);
    assert_eq!(
        a.read("report/draft.bin"),
        b"rewritten",
        "the folder is untouched"
    );

    // Never overwrites.
    let out = a.run(&[
        "restore",
        "--folder",
        "docs",
        "--snapshot",
        old,
        "report/draft.bin",
        "--to",
        to.to_str().unwrap(),
    ]);
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));

    let (code, doc) = a.json(&["files", "--folder", "docs", "--snapshot", "ffffffff"]);
    assert_eq!(code, 1);
    assert!(
        doc["error"].as_str().unwrap().contains("no snapshot"),
        "{doc}"
    );
}

fn pack_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(pack_files(&p));
        } else if !p.file_name().unwrap().to_string_lossy().starts_with('.') {
            out.push(p);
        }
    }
    out
}

#[test]
fn check_passes_on_a_good_repository_and_exits_6_on_a_damaged_pack() {
    let w = World::new();
    let a = w.device("a");
    a.write("data.bin", &noise(200_000, 3));
    assert_ok(&a.run(&["sync"]));

    let (code, report) = a.json(&["check", "--folder", "docs"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["errors"], serde_json::json!([]));
    assert_eq!(report["snapshots"], 1);
    assert!(report["blobs"].as_u64().unwrap() >= 1);
    let out = a.run(&["check", "--folder", "docs"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("no problems found"));

    // Flip a byte in the middle of every pack.
    let packs = pack_files(&w.remote().join("main/packs"));
    assert!(!packs.is_empty());
    for p in &packs {
        let mut bytes = fs::read(p).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xFF;
        fs::write(p, bytes).unwrap();
    }

    let (code, report) = a.json(&["check", "--folder", "docs"]);
    assert_eq!(code, 6, "{report:#}");
    assert!(
        !report["errors"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    let out = a.run(&["check", "--folder", "docs"]);
    assert_eq!(exit_code(&out), 6);
    assert!(stdout(&out).contains("problem"), "{}", stdout(&out));
}
