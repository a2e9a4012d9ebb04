//! Two Syncdesk instances on loopback: A mirrors a folder to B's gateway, B syncs what arrives
//! on to its S3 remote, and a third device reading that S3 repository sees A's files. Run under
//! scripts/keyring-session.sh with the test servers started (tokens and the S3 secret live in the
//! OS keyring).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Child;

use common::{Device, assert_ok, noise, parse, stdout};
use serde_json::Value;
use syncdesk_testkit::servers;

/// Runs `sync --json --yes` of the folder `docs` with `extra` options; its answer.
fn sync(d: &Device, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "sync", "--folder", "docs", "--yes"];
    args.extend_from_slice(extra);
    let out = d.run(&args);
    assert_ok(&out);
    parse(&out)
}

/// The folder's files and directories, without Syncdesk's own state.
fn files(d: &Device) -> BTreeMap<String, Vec<u8>> {
    d.tree()
        .into_iter()
        .filter(|(k, _)| !k.starts_with(".syncdesk"))
        .collect()
}

/// `serve` on a free port; the process and its address.
fn serve(state: &Path) -> (Child, String) {
    let (child, ready) = common::serve(state);
    (
        child,
        ready["listen"]
            .as_str()
            .expect("serve prints its address")
            .to_owned(),
    )
}

fn stop(child: Child) {
    assert_eq!(common::stop(child), 0, "SIGTERM stops serve cleanly");
}

/// A gateway token of `b`'s folder `docs`, for account `alice`.
fn gateway_token(b: &Device) -> String {
    let out = b.run(&[
        "gateway",
        "token",
        "create",
        "--folder",
        "docs",
        "--account",
        "alice",
    ]);
    assert_ok(&out);
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("sdg_"), "{token}");
    token
}

/// Adds `a`'s folder `docs` mirrored to the gateway at `remote`, with `token`.
fn add_mirror(a: &Device, remote: &str, token: &str) {
    assert_ok(&a.run_with_stdin(
        &[
            "folder",
            "add",
            "docs",
            a.folder.to_str().unwrap(),
            "--remote",
            remote,
            "--token-stdin",
        ],
        &format!("{token}\n"),
    ));
}

fn s3_remote(prefix: &str) -> String {
    let s3 = &servers().s3;
    format!(
        "s3://{}/{prefix}?endpoint={}&region={}",
        s3.bucket, s3.endpoint, s3.region
    )
}

fn add_s3_folder(d: &Device, prefix: &str) {
    let s3 = &servers().s3;
    assert_ok(&d.run_with_stdin(
        &[
            "folder",
            "add",
            "docs",
            d.folder.to_str().unwrap(),
            "--remote",
            &s3_remote(prefix),
            "--access-key-id",
            &s3.access_key_id,
            "--secret-stdin",
        ],
        &format!("{}\n", s3.secret),
    ));
}

fn job_of(answer: &Value) -> &Value {
    common::only_job(answer)
}

#[test]
fn a_folder_mirrored_to_another_instance_reaches_its_s3_remote_intact() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("gateway-two-{}", std::process::id());
    let a = Device::new(dir.path(), "a");
    let b = Device::new(dir.path(), "b");
    let c = Device::new(dir.path(), "c");

    // B: a folder synced to S3, and a gateway token whose files land in it.
    add_s3_folder(&b, &prefix);
    let token = gateway_token(&b);
    let (server, addr) = serve(&b.state);

    // A: a folder mirrored to B's gateway, keeping the files on B's remote too.
    add_mirror(
        &a,
        &format!("gateway+http://{addr}?push_to_cloud=true"),
        &token,
    );
    a.write("notes/hello.txt", "héllo from A\n".as_bytes());
    a.write("data/blob.bin", &noise(300_000, 1));
    a.write("big.txt", "line\n".repeat(80_000).as_bytes());
    fs::create_dir_all(a.folder.join("empty/inner")).unwrap();

    let first = sync(&a, &[]);
    assert_eq!(job_of(&first)["status"], "succeeded", "{first:#}");
    assert_eq!(
        files(&b),
        files(&a),
        "B holds exactly A's files and directories"
    );

    // B syncs them on to S3, where another device finds them.
    let b_job = sync(&b, &[]);
    assert_eq!(job_of(&b_job)["status"], "succeeded", "{b_job:#}");
    add_s3_folder(&c, &prefix);
    sync(&c, &[]);
    assert_eq!(files(&c), files(&a), "the S3 repository holds A's files");

    // Edits, a delete, a new directory.
    a.write("notes/hello.txt", b"edited on A\n");
    fs::remove_file(a.folder.join("data/blob.bin")).unwrap();
    a.write("new/deep/file.md", b"# new\n");
    let second = sync(&a, &[]);
    let job = job_of(&second);
    assert_eq!(job["status"], "succeeded", "{second:#}");
    assert_eq!(
        job["stats"]["files_uploaded"], 2,
        "only what changed is sent: {job:#}"
    );
    assert_eq!(files(&b), files(&a));
    sync(&b, &[]);
    sync(&c, &[]);
    assert_eq!(files(&c), files(&a));

    // Nothing changed: nothing is sent.
    let idle = sync(&a, &[]);
    assert_eq!(job_of(&idle)["stats"]["files_uploaded"], 0, "{idle:#}");

    // A force-pull makes A exactly what the gateway holds; what it replaces is in A's trash.
    let before = files(&a);
    a.write("notes/hello.txt", b"local change to drop\n");
    a.write("stray.txt", b"only on A\n");
    fs::remove_file(a.folder.join("new/deep/file.md")).unwrap();
    let pulled = sync(&a, &["--push-mode", "force-pull"]);
    assert_eq!(job_of(&pulled)["status"], "succeeded", "{pulled:#}");
    assert_eq!(files(&a), before);
    let out = a.run(&["--json", "trash", "list", "--folder", "docs"]);
    assert_ok(&out);
    let trash = parse(&out).to_string();
    assert!(trash.contains("stray.txt"), "{trash}");
    assert!(trash.contains("hello.txt"), "{trash}");

    stop(server);
}

#[test]
fn with_equal_limits_on_both_sides_the_client_paces_itself_and_draws_no_429() {
    let dir = tempfile::tempdir().unwrap();
    let a = Device::new(dir.path(), "a");
    let b = Device::new(dir.path(), "b");
    let remote = dir.path().join("b-remote");
    assert_ok(&b.run(&[
        "folder",
        "add",
        "docs",
        b.folder.to_str().unwrap(),
        "--remote",
        remote.to_str().unwrap(),
    ]));
    // The seed's shape (per-account windows), scaled down from minutes to seconds.
    let limits = "3/2s,5/4s";
    assert_ok(&b.run(&["gateway", "settings", "--account-limits", limits]));
    let token = gateway_token(&b);
    let (server, addr) = serve(&b.state);

    add_mirror(
        &a,
        &format!("gateway+http://{addr}?limits={limits}"),
        &token,
    );
    for i in 0..8 {
        a.write(&format!("f{i}.txt"), format!("file {i}\n").as_bytes());
    }
    let answer = sync(&a, &[]);
    let job = job_of(&answer);
    assert_eq!(job["status"], "succeeded", "{answer:#}");
    assert_eq!(job["stats"]["files_uploaded"], 8, "{job:#}");
    assert_eq!(files(&b), files(&a));

    // It waited for its own limiter, not for the server's 429s.
    assert_eq!(job["stats"]["retries"], 0, "{job:#}");
    let id = job["id"].to_string();
    let out = a.run(&["--json", "jobs", "show", &id]);
    assert_ok(&out);
    let log = stdout(&out);
    assert!(log.contains("rate-limited, resuming at"), "{log}");
    assert!(!log.contains("429"), "{log}");

    stop(server);
}
