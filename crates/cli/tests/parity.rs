//! What the desktop app's settings do, from the command line: folder settings, pause and
//! resume, ignore rules, and the daemon that syncs in the background like the app.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// Longest wait for a line a daemon should print within a few seconds.
const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn folder_set_changes_only_the_named_settings() {
    let w = World::new();
    let a = w.device("a");
    let (code, folder) = a.json(&[
        "folder",
        "set",
        "docs",
        "--mode",
        "completely-manual",
        "--interval",
        "600",
    ]);
    assert_eq!(code, 0, "{folder}");
    assert_eq!(folder["syncMode"], "completely_manual");
    assert_eq!(folder["intervalSecs"], 600);
    assert_eq!(folder["watch"], true, "not named, so unchanged");
    assert_eq!(folder["enabled"], true);

    let (code, folder) = a.json(&[
        "folder",
        "set",
        "docs",
        "--mode",
        "automatic",
        "--watch",
        "off",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        (
            &folder["syncMode"],
            &folder["intervalSecs"],
            &folder["watch"]
        ),
        (&json!("automatic"), &json!(600), &json!(false))
    );
    assert_eq!(a.json(&["folder", "list"]).1, json!([folder]));
    let list = a.run(&["folder", "list"]);
    let text = stdout(&list);
    assert!(
        text.lines().next().unwrap().contains("MODE") && text.contains("automatic"),
        "{text}"
    );
    assert!(text.contains("10m"), "the interval, readable: {text}");

    // A disabled folder is left out of a plain `sync`.
    let out = a.run(&["folder", "set", "docs", "--enabled", "off"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("disabled"), "{}", stdout(&out));
    let (code, doc) = a.json(&["sync"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("no enabled folders"),
        "{doc}"
    );
}

#[test]
fn folder_set_refuses_bad_settings_and_changes_nothing() {
    let w = World::new();
    let a = w.device("a");
    let (_, before) = a.json(&["folder", "list"]);

    let (code, doc) = a.json(&["folder", "set", "docs", "--interval", "5"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("between 10 seconds and 86400 seconds"),
        "{doc}"
    );
    let (code, doc) = a.json(&["folder", "set", "nope", "--watch", "on"]);
    assert_eq!(code, 1);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("no folder named \"nope\"")
    );
    // Usage errors: nothing to change, or a value that is not on the list.
    assert_eq!(exit_code(&a.run(&["folder", "set", "docs"])), 2);
    assert_eq!(
        exit_code(&a.run(&["folder", "set", "docs", "--mode", "sometimes"])),
        2
    );
    assert_eq!(
        exit_code(&a.run(&["folder", "set", "docs", "--watch", "yes"])),
        2
    );
    assert_eq!(a.json(&["folder", "list"]).1, before);
}

#[test]
fn pause_and_resume_report_the_app_state() {
    let w = World::new();
    let a = w.device("a");
    let (code, state) = a.json(&["pause"]);
    assert_eq!(code, 0);
    assert_eq!(
        state,
        json!({
            "paused": true, "autostart": false, "language": null,
            "apiEnabled": false, "apiListen": "127.0.0.1:6806",
        })
    );
    // Idempotent, and a sync the user asks for still runs.
    assert_eq!(a.json(&["pause"]).1["paused"], true);
    a.write("x.txt", b"x");
    assert_ok(&a.run(&["sync"]));

    let out = a.run(&["resume"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("resumed"), "{}", stdout(&out));
    assert_eq!(a.json(&["resume"]).1["paused"], false);
}

#[test]
fn ignore_rules_are_shown_set_checked_and_applied() {
    let w = World::new();
    let a = w.device("a");
    let (code, doc) = a.json(&["ignore", "show", "--folder", "docs"]);
    assert_eq!((code, doc), (0, json!({ "folder": "docs", "text": "" })));
    let out = a.run(&["ignore", "show", "--folder", "docs"]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "", "no rules: nothing on stdout");

    // From stdin.
    let rules = "# build output\n*.log\n\nbuild/\n";
    let out = with_stdin(a.cmd().args(["ignore", "set", "--folder", "docs"]), rules);
    assert_ok(&out);
    assert!(stdout(&out).contains("2 rules"), "{}", stdout(&out));
    let out = a.run(&["ignore", "show", "--folder", "docs"]);
    assert_eq!(stdout(&out), rules, "shown exactly as written");

    // A bad pattern is refused and the rules stay.
    let bad = w.path("bad-rules");
    std::fs::write(&bad, "ok\n[z-a]\n").unwrap();
    let (code, doc) = a.json(&[
        "ignore",
        "set",
        "--folder",
        "docs",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{doc}");
    assert!(doc["error"].as_str().unwrap().contains("line 2"), "{doc}");
    assert_eq!(
        a.json(&["ignore", "show", "--folder", "docs"]).1["text"],
        rules
    );

    // The next sync applies them: the log file stays local.
    a.write("keep.txt", b"kept");
    a.write("debug.log", b"noise");
    let (code, jobs) = a.json(&["sync"]);
    assert_eq!(code, 0, "{jobs}");
    let snapshot = only_job(&jobs)["metadata"]["snapshot"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, files) = a.json(&["files", "--folder", "docs", "--snapshot", &snapshot]);
    let names: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [".syncignore", "keep.txt"], "{files}");

    // Empty rules remove the file.
    let empty = w.path("empty-rules");
    std::fs::write(&empty, "").unwrap();
    let (code, doc) = a.json(&[
        "ignore",
        "set",
        "--folder",
        "docs",
        "--file",
        empty.to_str().unwrap(),
    ]);
    assert_eq!((code, doc), (0, json!({ "folder": "docs", "text": "" })));
    assert!(!a.folder.join(".syncignore").exists());
}

#[test]
fn the_daemon_follows_resume_and_changes_then_stops_on_sigterm() {
    let w = World::new();
    let a = w.device("a");
    a.write("a.txt", b"before the daemon");
    assert_ok(&a.run(&["pause"]));
    let mut daemon = Daemon::start(&a, false);
    daemon.expect("daemon started, paused");

    // Resumed from another process: the daemon catches up at once.
    assert_ok(&a.run(&["resume"]));
    let line = daemon.expect("docs: schedule sync");
    assert!(line.contains("succeeded (job 1): 1 uploaded"), "{line}");

    a.write("b.txt", b"while the daemon runs");
    let line = daemon.expect("docs: watch sync");
    assert!(line.contains("succeeded (job 2): 1 uploaded"), "{line}");

    daemon.signal("TERM");
    daemon.expect("stopped; 2 jobs ran");
    assert_eq!(daemon.wait(), 0);

    let (_, jobs) = a.json(&["jobs", "list"]);
    let triggers: Vec<&str> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["trigger_type"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["watch", "schedule"], "{jobs}");
}

#[test]
fn the_daemon_boot_syncs_and_prints_one_json_document_when_interrupted() {
    let w = World::new();
    let a = w.device("a");
    a.write("a.txt", b"synced at boot");
    let mut daemon = Daemon::start(&a, true);
    // With --json, what happens goes to stderr.
    daemon.expect("daemon started: 1 of 1 folder syncs in the background (1 watched)");
    let line = daemon.expect("docs: boot sync");
    assert!(line.contains("succeeded (job 1)"), "{line}");

    daemon.signal("INT");
    assert_eq!(daemon.wait(), 0);
    let mut out = String::new();
    daemon
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc, json!({ "jobIds": [1] }));
}

/// Runs `cmd` with `input` on its stdin.
fn with_stdin(cmd: &mut std::process::Command, input: &str) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running `syncdesk-cli daemon`, and the lines it prints for people.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Daemon {
    fn start(dev: &Device, json: bool) -> Daemon {
        let mut cmd = dev.cmd();
        if json {
            cmd.arg("--json");
        }
        let mut child = cmd
            .arg("daemon")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // People's lines: stdout, or stderr when stdout is kept for the JSON document.
        let stream: Box<dyn Read + Send> = if json {
            Box::new(child.stderr.take().unwrap())
        } else {
            Box::new(child.stdout.take().unwrap())
        };
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon { child, lines }
    }

    /// The next line starting with `prefix` (others are skipped).
    fn expect(&mut self, prefix: &str) -> String {
        loop {
            match self.lines.recv_timeout(PATIENCE) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => {
                    let _ = self.child.kill();
                    panic!("no line starting with {prefix:?} ({e})");
                }
            }
        }
    }

    fn signal(&self, name: &str) {
        let out = run(std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string()));
        assert_ok(&out);
    }

    fn wait(&mut self) -> i32 {
        self.child
            .wait()
            .unwrap()
            .code()
            .expect("exited, not killed")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failed test must not leave a daemon behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
