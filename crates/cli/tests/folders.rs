//! Folders, usage errors and help: the parts of the interface that need no sync.

mod common;

use common::*;
use serde_json::json;

#[test]
fn folder_add_list_remove_round_trip() {
    let w = World::new();
    let state = w.path("state");
    let folder = w.path("docs");
    let remote = w.remote();
    let dev = Device {
        state: state.clone(),
        folder: folder.clone(),
    };

    let (code, added) = dev.json(&[
        "folder",
        "add",
        "docs",
        folder.to_str().unwrap(),
        "--remote",
        remote.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{added}");
    let expected = json!({
        "name": "docs",
        "path": folder.canonicalize().unwrap(),
        "remote": remote,
        "cloudName": "main",
        "enabled": true,
        "syncMode": "automatic",
        "intervalSecs": 300,
        "watch": true,
        "encrypted": false,
    });
    assert_eq!(added, expected);
    assert!(folder.is_dir(), "the folder's directory is created");

    let (code, list) = dev.json(&["folder", "list"]);
    assert_eq!(code, 0);
    assert_eq!(list, json!([expected]));

    let human = dev.run(&["folder", "list"]);
    assert_ok(&human);
    let text = stdout(&human);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("docs") && text.contains("main"), "{text}");

    let (code, removed) = dev.json(&["folder", "remove", "docs"]);
    assert_eq!(code, 0);
    assert_eq!(removed, json!({ "removed": "docs" }));
    assert_eq!(dev.json(&["folder", "list"]), (0, json!([])));
    assert!(folder.is_dir(), "removing a folder leaves its files");

    // The log goes to a daily file in the state directory.
    let logs: Vec<_> = std::fs::read_dir(state.join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        logs.iter().any(|n| n.starts_with("syncdesk-cli.log")),
        "{logs:?}"
    );
}

#[test]
fn relative_paths_are_made_absolute() {
    let w = World::new();
    let out = run(cli(&w.path("state")).current_dir(w.root.path()).args([
        "--json", "folder", "add", "docs", "docs", "--remote", "remote",
    ]));
    assert_ok(&out);
    let folder = parse(&out);
    assert_eq!(
        folder["path"],
        json!(w.path("docs").canonicalize().unwrap())
    );
    assert_eq!(folder["remote"], json!(w.remote()));
}

#[test]
fn unknown_folder_is_exit_1_with_a_clear_message() {
    let w = World::new();
    let dev = w.device("a");
    for args in [
        &["folder", "remove", "nope"][..],
        &["sync", "--folder", "nope"],
        &["snapshots", "--folder", "nope"],
        &["check", "--folder", "nope"],
        &["trash", "list", "--folder", "nope"],
    ] {
        let out = dev.run(args);
        assert_eq!(exit_code(&out), 1, "{args:?}");
        assert!(
            stderr(&out).contains("no folder named \"nope\""),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stdout(&out).is_empty(),
            "errors go to stderr without --json"
        );

        let (code, doc) = dev.json(args);
        assert_eq!(code, 1);
        let msg = doc["error"].as_str().expect("an error message");
        assert!(msg.contains("no folder named \"nope\""), "{msg}");
    }
}

#[test]
fn bad_cloud_name_is_exit_1_and_adds_nothing() {
    let w = World::new();
    let dev = Device {
        state: w.path("state"),
        folder: w.path("docs"),
    };
    let (code, doc) = dev.json(&[
        "folder",
        "add",
        "docs",
        w.path("docs").to_str().unwrap(),
        "--remote",
        w.remote().to_str().unwrap(),
        "--cloud-name",
        "../escape",
    ]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("invalid cloud name"),
        "{doc}"
    );
    assert_eq!(dev.json(&["folder", "list"]), (0, json!([])));

    let dev = w.device("b");
    let (code, doc) = dev.json(&["sync", "--cloud-name", "bad name"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("invalid cloud name")
    );
}

#[test]
fn usage_errors_are_exit_2_and_json_when_asked() {
    let w = World::new();
    let state = w.path("state");
    let out = run(cli(&state).args(["sync", "--push-mode", "sideways"]));
    assert_eq!(exit_code(&out), 2);
    assert!(stderr(&out).contains("sideways"));

    let out = run(cli(&state).args(["--json", "jobs", "list", "--status", "weird"]));
    assert_eq!(exit_code(&out), 2);
    let doc = parse(&out);
    assert!(doc["error"].as_str().unwrap().contains("weird"), "{doc}");

    let out = run(cli(&state).args(["sync", "--push-only", "--push-mode", "force-pull"]));
    assert_eq!(exit_code(&out), 2, "contradictory modes are refused");
}

#[test]
fn help_documents_the_exit_codes_and_hides_run_job() {
    let out = run(cli(std::path::Path::new("/nonexistent")).arg("--help"));
    assert_ok(&out);
    let help = stdout(&out);
    for line in [
        "3  a sync job ended `failed`",
        "4  a sync needs confirmation",
        "5  a sync is already in progress",
        "6  `check` found problems",
    ] {
        assert!(help.contains(line), "{help}");
    }
    assert!(!help.contains("run-job"), "{help}");
}

#[test]
fn help_never_prints_environment_values() {
    let out = run(cli(std::path::Path::new("/x"))
        .env("SYNCDESK_STATE_DIR", "/very/secret/place")
        .args(["sync", "--help"]));
    assert_ok(&out);
    assert!(!stdout(&out).contains("/very/secret/place"));
}

#[test]
fn removing_an_unknown_folder_leaves_no_file_behind() {
    let w = World::new();
    let state = w.path("state");
    let out = run(cli(&state).args(["folder", "remove", "../../escaped"]));
    assert_eq!(exit_code(&out), 1);
    assert!(!w.root.path().join("escaped.lock").exists());
}
