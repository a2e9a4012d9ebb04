//! Helpers for running the real binary against real temporary directories.

#![allow(dead_code)] // Each test file uses its own subset.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// A temporary world: one remote (a local directory, or the server `SYNCDESK_TEST_BACKEND`
/// names), and devices with their own state and folder.
pub struct World {
    pub root: tempfile::TempDir,
    pub test_remote: syncdesk_testkit::backend::TestRemote,
}

pub struct Device {
    pub state: PathBuf,
    pub folder: PathBuf,
}

impl World {
    pub fn new() -> World {
        let root = tempfile::tempdir().expect("temp dir");
        let test_remote = syncdesk_testkit::backend::fresh_remote(&root.path().join("remote"));
        World { root, test_remote }
    }

    pub fn remote(&self) -> PathBuf {
        self.root.path().join("remote")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// A device named `name` with its folder `docs` added (not synced yet).
    pub fn device(&self, name: &str) -> Device {
        let d = Device {
            state: self.path(&format!("state-{name}")),
            folder: self.path(&format!("folder-{name}")),
        };
        let mut args = vec![
            "folder",
            "add",
            "docs",
            d.folder.to_str().expect("utf-8 temp path"),
            "--remote",
            &self.test_remote.url,
        ];
        let mut cmd = d.cmd();
        if let Some(secret) = &self.test_remote.secret {
            args.push(if self.test_remote.url.starts_with("s3://") {
                "--secret-stdin"
            } else {
                "--password-stdin"
            });
            cmd.stdin(Stdio::piped());
            let mut child = cmd
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run syncdesk-cli");
            use std::io::Write;
            writeln!(child.stdin.take().expect("piped stdin"), "{secret}").expect("write stdin");
            assert_ok(&child.wait_with_output().expect("run syncdesk-cli"));
            return d;
        }
        assert_ok(&run(cmd.args(&args)));
        d
    }
}

impl Device {
    /// A device with its state and folder under `root`, nothing added yet.
    pub fn new(root: &Path, name: &str) -> Device {
        Device {
            state: root.join(format!("state-{name}")),
            folder: root.join(format!("folder-{name}")),
        }
    }

    pub fn cmd(&self) -> Command {
        cli(&self.state)
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run(self.cmd().args(args))
    }

    /// Runs with `input` on stdin (secrets are never arguments).
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run syncdesk-cli");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("run syncdesk-cli")
    }

    /// Runs with `--json` and parses stdout (whatever the exit code).
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let out = run(self.cmd().arg("--json").args(args));
        (exit_code(&out), parse(&out))
    }

    pub fn write(&self, rel: &str, data: &[u8]) {
        let p = self.folder.join(rel);
        fs::create_dir_all(p.parent().expect("a file has a parent")).expect("mkdir");
        fs::write(p, data).expect("write");
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.folder.join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    /// Every file under the folder (the `.syncdesk` state included), with its bytes.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        tree(&self.folder)
    }
}

/// The binary with a given state dir, isolated from the caller's environment.
pub fn cli(state: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_syncdesk-cli"));
    c.arg("--state-dir")
        .arg(state)
        .env_remove("SYNCDESK_STATE_DIR")
        .env_remove("SYNCDESK_LOG")
        // Nobody can answer a prompt in a test.
        .stdin(Stdio::null());
    c
}

pub fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run syncdesk-cli")
}

pub fn exit_code(out: &Output) -> i32 {
    out.status.code().expect("exited normally")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn parse(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

pub fn assert_ok(out: &Output) {
    assert_eq!(
        exit_code(out),
        0,
        "stdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for entry in rd {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            out.insert(rel(root, &path) + "/", Vec::new());
            walk(root, &path, out);
        } else {
            out.insert(rel(root, &path), fs::read(&path).expect("read"));
        }
    }
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .expect("under root")
        .to_string_lossy()
        .into_owned()
}

/// Deterministic bytes that do not compress away (several chunks when large).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// The last job of a `sync --json` answer, checked to be the only one.
pub fn only_job(jobs: &Value) -> &Value {
    let list = jobs.as_array().expect("an array of jobs");
    assert_eq!(list.len(), 1, "{jobs:#}");
    &list[0]
}

/// Starts `serve --json` on a free port without background syncs; returns the process (its
/// stderr piped) and the document it prints when ready.
pub fn serve(state: &Path) -> (std::process::Child, Value) {
    use std::io::BufRead;
    let mut child = cli(state)
        .args([
            "--json",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-background",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run syncdesk-cli serve");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let mut text = String::new();
    // Pretty-printed: read until the lines make one JSON document.
    let ready = loop {
        let line = lines
            .next()
            .expect("serve printed its address")
            .expect("read stdout");
        text.push_str(&line);
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            break v;
        }
    };
    (child, ready)
}

/// Stops a server with SIGTERM; its exit code.
pub fn stop(mut child: std::process::Child) -> i32 {
    let pid = child.id().to_string();
    assert_ok(
        &Command::new("kill")
            .args(["-TERM", &pid])
            .output()
            .expect("run kill"),
    );
    child.wait().expect("wait for serve").code().unwrap_or(-1)
}
