//! Fault tests with real processes: syncs killed at many points, and two devices syncing
//! the same remote at the same moment. Nothing may be lost and the repository must stay
//! consistent (`check` clean).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;

use common::{Device, World, assert_ok, exit_code, stderr, stdout};

/// The folder's user-visible files (state and trash excluded).
fn visible(d: &Device) -> BTreeMap<String, Vec<u8>> {
    d.tree()
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".syncdesk") && !k.ends_with('/'))
        .collect()
}

/// Every content anywhere under the folder, trash included.
fn all_contents(d: &Device) -> BTreeSet<Vec<u8>> {
    d.tree().into_values().collect()
}

/// Paths whose content differs between two trees, with short previews.
fn differences(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    let show = |v: Option<&Vec<u8>>| {
        v.map(|c| String::from_utf8_lossy(&c[..c.len().min(40)]).into_owned())
    };
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} vs {:?}", show(a.get(k)), show(b.get(k))))
        .collect()
}

fn sync_ok(d: &Device) {
    // `--yes`: these tests change many files at once; the deletion guard has its own tests.
    assert_ok(&d.run(&["sync", "--yes"]));
}

fn check_ok(d: &Device) {
    let out = d.run(&["check", "--folder", "docs"]);
    assert_eq!(
        exit_code(&out),
        0,
        "check failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

const FILES: u64 = 300;

/// Writes `n` distinct files chosen at random, each with content unique to
/// (device, round, file).
fn edit(d: &Device, who: &str, round: u64, n: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut picked = BTreeSet::new();
    while picked.len() < n {
        picked.insert(rng.next(FILES));
    }
    let mut written = Vec::new();
    for f in picked {
        let content = format!("{who} round {round} file {f}").into_bytes();
        d.write(&format!("dir{}/file{f}.txt", f % 10), &content);
        written.push(content);
    }
    written
}

/// Rounds of a test: `default`, or `SYNCDESK_FAULT_ROUNDS` (fewer for the slower network
/// backends).
fn rounds(default: u64) -> u64 {
    std::env::var("SYNCDESK_FAULT_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn a_sync_killed_at_any_point_is_recovered_by_the_next_one() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    let mut rng = Rng(0x5eed);
    for f in 0..FILES {
        a.write(
            &format!("dir{}/file{f}.txt", f % 10),
            &common::noise(2000, f),
        );
    }
    sync_ok(&a);
    sync_ok(&b);
    let points = ["pack-stored", "snapshot-written", "apply", "head-written"];
    for round in 0..rounds(30) {
        // b changes files (so a has downloads to apply), a changes others (uploads).
        edit(&b, "b", round, 15, &mut rng);
        sync_ok(&b);
        edit(&a, "a", round, 15, &mut rng);
        let before = all_contents(&a);
        let point = points[(round % 4) as usize];
        let nth = if point == "apply" {
            1 + rng.next(20)
        } else {
            1
        };
        let out = a
            .cmd()
            .args(["sync", "--yes"])
            .env("SYNCDESK_FAILPOINT", format!("{point}:{nth}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run sync");
        // Killed at the point, or finished if the sync never got that far.
        assert!(
            out.code().is_none() || out.success(),
            "round {round} at {point}:{nth}: {out:?}"
        );

        sync_ok(&a);
        check_ok(&a);
        let after = all_contents(&a);
        let lost: Vec<_> = before
            .difference(&after)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        assert!(
            lost.is_empty(),
            "round {round} at {point}:{nth} lost {lost:?}"
        );
        sync_ok(&b);
        sync_ok(&a);
        let diff = differences(&visible(&a), &visible(&b));
        assert!(
            diff.is_empty(),
            "round {round} at {point}:{nth}: devices differ: {diff:#?}"
        );
    }
}

#[test]
fn two_processes_syncing_at_the_same_moment_converge_without_losing_updates() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    let mut rng = Rng(0xc0ffee);
    for round in 0..rounds(50) {
        let mut written = edit(&a, "a", round, 4, &mut rng);
        written.extend(edit(&b, "b", round, 4, &mut rng));
        let spawn = |d: &Device| {
            d.cmd()
                .args(["sync", "--yes"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        for (name, p) in [("a", pa), ("b", pb)] {
            let out = p.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "round {round}: {name} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        sync_ok(&a);
        sync_ok(&b);
        sync_ok(&a);
        let (ta, tb) = (visible(&a), visible(&b));
        let diff = differences(&ta, &tb);
        assert!(diff.is_empty(), "round {round}: devices differ: {diff:#?}");
        // Every version written this round survives: at its path or as a conflict copy.
        let present: BTreeSet<&Vec<u8>> = ta.values().collect();
        for c in &written {
            assert!(
                present.contains(c),
                "round {round} lost {:?}",
                String::from_utf8_lossy(c)
            );
        }
    }
    check_ok(&a);
}
