//! The `aries-server` binary: prints its URL, answers per seed 002, records what it received.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// One request over a fresh connection: (status, JSON answer).
fn call(base: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, serde_json::Value) {
    let mut conn = TcpStream::connect(base.strip_prefix("http://").unwrap()).unwrap();
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    conn.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let json = out.split_once("\r\n\r\n").unwrap().1;
    (status, serde_json::from_str(json).unwrap())
}

#[test]
fn aries_server_prints_its_url_and_serves_the_seed() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aries-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            "T",
            "--images",
            "img-a,img-b",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url:?}");

    let batch = r#"{"data":[{"name":"web","compute":{"cpu_core_count":1,"memory_size":512},
        "storage":{"volumes":[{"name":"d","size":10,"type":0,"image_ref":"img-c"}]}}]}"#;
    let auth = [
        ("Authorization", "Bearer T"),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = call(&url, "/aries/api/v1/sync", &auth, batch);
    assert_eq!(status, 404);
    assert_eq!(body["code"], "ImageNotFound");
    let (status, body) = call(
        &url,
        "/aries/api/v1/sync",
        &auth,
        &batch.replace("img-c", "img-b"),
    );
    assert_eq!((status, body), (200, serde_json::json!({"success": true})));
    let (_, log) = call(&url, "/_test/requests", &[], "");
    assert_eq!(log["count"], 2);
    assert_eq!(log["accepted"][0]["data"][0]["name"], "web");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn aries_server_needs_a_token() {
    let out = Command::new(env!("CARGO_BIN_EXE_aries-server"))
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token is required"));
}
