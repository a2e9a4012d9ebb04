//! Credentials: S3 secrets and passphrases go to the OS keyring (run under
//! scripts/keyring-session.sh) and nowhere else; a wrong passphrase or a missing keyring is a
//! clear error that changes nothing.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

use common::{Device, assert_ok, cli, exit_code, stderr, stdout};
use syncdesk_testkit::{servers, unique};

fn s3_remote(prefix: &str) -> String {
    let s3 = &servers().s3;
    format!(
        "s3://{}/{prefix}?endpoint={}&region={}",
        s3.bucket, s3.endpoint, s3.region
    )
}

fn add_encrypted(d: &Device, remote: &str, passphrase: &str) -> Output {
    let s3 = &servers().s3;
    d.run_with_stdin(
        &[
            "folder",
            "add",
            "docs",
            d.folder.to_str().unwrap(),
            "--remote",
            remote,
            "--access-key-id",
            &s3.access_key_id,
            "--secret-stdin",
            "--encrypt",
            "--passphrase-stdin",
        ],
        &format!("{}\n{passphrase}\n", s3.secret),
    )
}

/// Every file under `dir`, as bytes.
fn all_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(b) = std::fs::read(&path) {
                out.push((path.display().to_string(), b));
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_stay_in_the_keyring_and_an_encrypted_folder_syncs_between_devices() {
    let root = tempfile::tempdir().unwrap();
    let remote = s3_remote(&unique("creds"));
    let passphrase = format!("correct horse {}", unique("pp"));
    let secret = &servers().s3.secret;

    let a = Device::new(root.path(), "a");
    assert_ok(&add_encrypted(&a, &remote, &passphrase));
    a.write("diary.txt", b"dear diary");
    let out = a.run(&["--verbose", "sync", "--yes"]);
    assert_ok(&out);
    let mut shown = String::new();
    for args in [
        &["info"][..],
        &["folder", "list"],
        &["jobs", "list"],
        &["jobs", "show", "1"],
    ] {
        let o = a.run(&[&["--json"][..], args].concat());
        assert_ok(&o);
        shown.push_str(&stdout(&o));
    }
    shown.push_str(&stdout(&out));
    shown.push_str(&stderr(&out));

    // A second device opens the same encrypted repository with the passphrase.
    let b = Device::new(root.path(), "b");
    let wrong = add_encrypted(&b, &remote, "not the passphrase");
    assert_eq!(exit_code(&wrong), 1, "{}", stdout(&wrong));
    assert!(stderr(&wrong).contains("passphrase"), "{}", stderr(&wrong));
    let listed = b.run(&["--json", "folder", "list"]);
    assert_eq!(stdout(&listed).trim(), "[]", "nothing was added");
    assert_ok(&add_encrypted(&b, &remote, &passphrase));
    assert_ok(&b.run(&["sync", "--yes"]));
    assert_eq!(b.read("diary.txt"), b"dear diary");

    // Neither the S3 secret nor the passphrase is in any file, output or log.
    for needle in [secret.as_str(), passphrase.as_str()] {
        assert!(!shown.contains(needle), "{needle} was shown");
        for state in [&a.state, &b.state] {
            for (path, bytes) in all_bytes(state) {
                assert!(!contains(&bytes, needle), "{needle} found in {path}");
            }
        }
    }
}

#[test]
fn the_passphrase_can_be_changed_and_other_devices_then_need_the_new_one() {
    let root = tempfile::tempdir().unwrap();
    let remote = s3_remote(&unique("change"));
    let a = Device::new(root.path(), "a");
    let b = Device::new(root.path(), "b");
    assert_ok(&add_encrypted(&a, &remote, "old passphrase"));
    assert_ok(&add_encrypted(&b, &remote, "old passphrase"));
    a.write("f.txt", b"v1");
    assert_ok(&a.run(&["sync", "--yes"]));

    let bad = a.run_with_stdin(
        &["folder", "change-passphrase", "docs", "--stdin"],
        "wrong\nnew passphrase\n",
    );
    assert_eq!(exit_code(&bad), 1);
    assert_ok(&a.run_with_stdin(
        &["folder", "change-passphrase", "docs", "--stdin"],
        "old passphrase\nnew passphrase\n",
    ));
    assert_ok(&a.run(&["sync", "--yes"]));

    // b still has the old one: its sync fails clearly until it is given the new one.
    let failed = b.run(&["sync", "--yes"]);
    assert_eq!(exit_code(&failed), 3, "{}", stdout(&failed));
    let again = b.run_with_stdin(
        &["folder", "set-passphrase", "docs", "--stdin"],
        "old passphrase\n",
    );
    assert_eq!(exit_code(&again), 1);
    assert_ok(&b.run_with_stdin(
        &["folder", "set-passphrase", "docs", "--stdin"],
        "new passphrase\n",
    ));
    assert_ok(&b.run(&["sync", "--yes"]));
    assert_eq!(b.read("f.txt"), b"v1");
}

#[test]
fn without_a_keyring_adding_a_folder_with_a_secret_fails_and_says_what_to_do() {
    let root = tempfile::tempdir().unwrap();
    let d = Device::new(root.path(), "a");
    let s3 = &servers().s3;
    let mut child = cli(&d.state)
        .args([
            "folder",
            "add",
            "docs",
            d.folder.to_str().unwrap(),
            "--remote",
            &s3_remote("nokeyring"),
            "--access-key-id",
            &s3.access_key_id,
            "--secret-stdin",
        ])
        // No session bus: no Secret Service to talk to.
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{}", s3.secret).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("OS keyring"), "{}", stderr(&out));
    let listed = d.run(&["--json", "folder", "list"]);
    assert_eq!(stdout(&listed).trim(), "[]");
}

#[test]
fn secrets_are_refused_on_the_command_line() {
    let root = tempfile::tempdir().unwrap();
    let d = Device::new(root.path(), "a");
    let out = d.run(&[
        "folder",
        "add",
        "docs",
        d.folder.to_str().unwrap(),
        "--remote",
        "webdav+https://user:hunter2@example.com/dav",
    ]);
    assert_ne!(exit_code(&out), 0);
    assert!(stderr(&out).contains("keyring"), "{}", stderr(&out));
    // No terminal to prompt on and no --secret-stdin: refused, nothing read from argv.
    let out = d.run(&[
        "folder",
        "add",
        "docs",
        d.folder.to_str().unwrap(),
        "--remote",
        &s3_remote("x"),
        "--access-key-id",
        "AKIA",
    ]);
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("--secret-stdin"), "{}", stderr(&out));
}
