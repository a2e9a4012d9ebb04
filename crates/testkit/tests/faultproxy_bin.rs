//! The `faultproxy` binary: proxies, and reports its request counts at exit.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::{Client, Upstream};

#[test]
fn faultproxy_counts_requests_and_reports_them_on_sigterm() {
    let upstream = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let count_file = dir.path().join("counts.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultproxy"))
        .args(["--listen", "127.0.0.1:0", "--upstream", &upstream.url()])
        .arg("--count-file")
        .arg(&count_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let addr = url.strip_prefix("http://").unwrap().parse().unwrap();

    let mut client = Client::connect(addr);
    for _ in 0..3 {
        assert_eq!(client.request("GET", "/g", &[], b"").unwrap().status, 200);
    }
    assert_eq!(client.request("PUT", "/p", &[], b"x").unwrap().status, 201);
    assert_eq!(upstream.seen().len(), 4);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());

    let printed: serde_json::Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(printed["total"], 4);
    assert_eq!(printed["forwarded"], 4);
    assert_eq!(printed["by_method"]["GET"], 3);
    assert_eq!(printed["by_method"]["PUT"], 1);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&count_file).unwrap()).unwrap();
    assert_eq!(written, printed);
}

#[test]
fn faultproxy_rejects_bad_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_faultproxy"))
        .arg("--listen")
        .arg("127.0.0.1:0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--upstream is required"));

    let out = Command::new(env!("CARGO_BIN_EXE_faultproxy"))
        .args(["--upstream", "https://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only http"));
}
