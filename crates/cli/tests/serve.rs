//! `serve` and `token`: the local HTTP API from the command line (run under
//! scripts/keyring-session.sh: tokens live in the OS keyring).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{assert_ok, cli, exit_code, parse, serve, stderr, stdout, stop};
use serde_json::Value;

/// The status line and body of `GET path`.
fn get(addr: &str, path: &str, token: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the server listens");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn tokens_are_created_once_listed_without_secrets_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out =
        common::run(cli(&state).args(["token", "create", "--role", "read-only", "--name", "ci"]));
    assert_ok(&out);
    let secret = stdout(&out).trim().to_owned();
    assert!(secret.starts_with("sdt_") && secret.len() == 68, "{secret}");
    assert!(
        stderr(&out).contains("read-only token \"ci\""),
        "{}",
        stderr(&out)
    );

    let out = common::run(cli(&state).args(["--json", "token", "list"]));
    assert_ok(&out);
    let list = parse(&out);
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["role"], "read-only");
    assert!(
        !stdout(&out).contains(&secret[4..]),
        "no secret in the list"
    );

    let again =
        common::run(cli(&state).args(["token", "create", "--role", "admin", "--name", "ci"]));
    assert_eq!(exit_code(&again), 1);
    assert!(stderr(&again).contains("exists"), "{}", stderr(&again));
    let unnamed = common::run(cli(&state).args(["--json", "token", "create", "--role", "admin"]));
    assert_eq!(parse(&unnamed)["token"]["name"], "token-1");

    assert_ok(&common::run(cli(&state).args(["token", "revoke", "ci"])));
    let gone = common::run(cli(&state).args(["token", "revoke", "ci"]));
    assert_eq!(exit_code(&gone), 1);
    assert!(
        stderr(&gone).contains("no API token named \"ci\""),
        "{}",
        stderr(&gone)
    );
    let out = common::run(cli(&state).args(["--json", "token", "list"]));
    assert_eq!(parse(&out).as_array().unwrap().len(), 1, "token-1 is left");
}

#[test]
fn the_first_serve_prints_an_admin_token_that_works_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (child, ready) = serve(&state);
    let addr = ready["listen"].as_str().unwrap().to_owned();
    assert_eq!(ready["url"], format!("http://{addr}/"));
    assert_eq!(ready["createdToken"]["token"]["name"], "default");
    assert_eq!(ready["createdToken"]["token"]["role"], "admin");
    let secret = ready["createdToken"]["secret"].as_str().unwrap().to_owned();

    let (status, body) = get(&addr, "/api/sync/jobs", &secret);
    assert_eq!(status, 200, "{body}");
    assert_eq!(get(&addr, "/api/sync/jobs", "sdt_0").0, 401);
    // A token made by another process while the server runs works at once.
    let out = common::run(cli(&state).args(["token", "create", "--role", "read-only"]));
    assert_eq!(get(&addr, "/api/sync/jobs", stdout(&out).trim()).0, 200);
    assert_eq!(stop(child), 0, "SIGTERM stops it cleanly");
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens any more"
    );

    // The token was shown once: not in the logs, and not again.
    for entry in walk(&state) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret[4..]),
            "the token is in {}",
            entry.display()
        );
    }
    let (child, ready) = serve(&state);
    assert_eq!(ready["createdToken"], Value::Null);
    assert_eq!(stop(child), 0);
}

#[test]
fn a_network_address_needs_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(cli(&dir.path().join("state")).args(["serve", "--listen", "0.0.0.0:0"]));
    assert_eq!(exit_code(&out), 1);
    assert!(stderr(&out).contains("--allow-remote"), "{}", stderr(&out));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
