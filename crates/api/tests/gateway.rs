//! Seed 003, ingress over HTTP: `POST /service/gateway/sync`, `sync_3rd`, `list`, `file`.
//! What a caller notices: files on disk, status codes, messages; nothing written outside the
//! folder, nothing existing lost. Rate limits are scaled down through the settings and hit
//! from distinct loopback source addresses (127.0.0.x), with no sleeping.

mod common;

use std::fs;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use common::{Resp, TestServer, assert_rest_error, keys};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use syncdesk_api::GATEWAY_TEXT_LIMIT;
use syncdesk_engine::gateway::GatewaySettings;
use syncdesk_engine::ratelimit::parse_rules;

const SYNC: &str = "/service/gateway/sync";
const THIRD: &str = "/service/gateway/sync_3rd";
const LIST: &str = "/service/gateway/list";
const FILE: &str = "/service/gateway/file";

/// A server whose gateway writes into the folder `docs`, with gateway tokens for the
/// accounts `alice` and `bob`, and a directory `outside` next to the folder that nothing
/// may touch.
struct Gw {
    ts: TestServer,
    root: PathBuf,
    outside: PathBuf,
    alice: String,
    bob: String,
}

/// One multipart part: name, filename, bytes.
type MPart<'a> = (&'a str, Option<&'a str>, &'a [u8]);

/// A hostile body: Content-Type, bytes, status, code, and a word its message must hold.
type BodyCase<'a> = (Option<&'a str>, Vec<u8>, u16, &'a str, &'a str);

impl Gw {
    fn new() -> Gw {
        let ts = TestServer::with_docs();
        let root = ts.folder_path("docs");
        fs::create_dir_all(&root).expect("mkdir docs");
        let outside = ts.dir.path().join("outside");
        fs::create_dir_all(&outside).expect("mkdir outside");
        fs::write(outside.join("secret.txt"), b"outside secret").expect("write");
        ts.engine
            .set_gateway_settings(&GatewaySettings {
                folder: Some("docs".into()),
                ..GatewaySettings::default()
            })
            .expect("gateway settings");
        let alice = ts
            .engine
            .create_gateway_token("docs", "alice", None)
            .expect("alice's gateway token")
            .secret;
        let bob = ts
            .engine
            .create_gateway_token("docs", "bob", None)
            .expect("bob's gateway token")
            .secret;
        Gw {
            ts,
            root,
            outside,
            alice,
            bob,
        }
    }

    fn settings(&self, f: impl FnOnce(&mut GatewaySettings)) {
        let mut s = self.ts.engine.gateway_settings().expect("settings");
        f(&mut s);
        self.ts.engine.set_gateway_settings(&s).expect("settings");
    }

    fn client_from(&self, ip: [u8; 4]) -> Client {
        Client::builder()
            .no_proxy()
            .local_address(IpAddr::from(ip))
            .timeout(common::PATIENCE * 6)
            .build()
            .expect("an HTTP client")
    }

    /// `POST endpoint` with a JSON body, no Authorization header.
    fn json(&self, endpoint: &str, body: Value) -> Resp {
        self.raw(endpoint, None, Some("application/json"), body.to_string())
    }

    /// `POST endpoint` with a JSON body as the site owner (the admin API token).
    fn owner_json(&self, endpoint: &str, body: Value) -> Resp {
        self.raw(
            endpoint,
            Some(&self.ts.admin),
            Some("application/json"),
            body.to_string(),
        )
    }

    fn raw(
        &self,
        endpoint: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<reqwest::blocking::Body>,
    ) -> Resp {
        self.ts.post_raw(endpoint, token, content_type, body)
    }

    /// `POST endpoint` form-urlencoded.
    fn form(&self, endpoint: &str, pairs: &[(&str, &[u8])]) -> Resp {
        self.raw(
            endpoint,
            None,
            Some("application/x-www-form-urlencoded"),
            urlencode(pairs),
        )
    }

    /// `POST endpoint` as multipart/form-data, parts in this order.
    fn multipart(&self, endpoint: &str, parts: &[MPart<'_>]) -> Resp {
        let (ct, body) = multipart_body(parts);
        self.raw(endpoint, None, Some(&ct), body)
    }

    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.root.join(rel)).ok()
    }

    /// Staged uploads left behind (there should never be any after an answer).
    fn staged(&self) -> Vec<String> {
        let dir = self.root.join(".syncdesk/gateway-tmp");
        fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every file and directory of the test's directory outside the folder and the state:
    /// path, and content for files.
    fn outside_snapshot(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let base = self.ts.dir.path();
        let mut out = Vec::new();
        walk(base, base, &mut out, &[&self.root, &self.ts.state]);
        out.sort();
        out
    }
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Option<Vec<u8>>)>, skip: &[&Path]) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if skip.iter().any(|s| *s == p) {
            continue;
        }
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.push((rel, None));
            walk(base, &p, out, skip);
        } else {
            out.push((rel, Some(fs::read(&p).unwrap_or_default())));
        }
    }
}

fn urlencode(pairs: &[(&str, &[u8])]) -> Vec<u8> {
    fn enc(out: &mut Vec<u8>, bytes: &[u8]) {
        for &b in bytes {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                out.push(b);
            } else {
                out.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
        }
    }
    let mut out = Vec::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        enc(&mut out, k.as_bytes());
        out.push(b'=');
        enc(&mut out, v);
    }
    out
}

fn multipart_body(parts: &[MPart<'_>]) -> (String, Vec<u8>) {
    let boundary = "gw-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        write!(
            body,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
        )
        .unwrap();
        if let Some(f) = filename {
            write!(
                body,
                "; filename=\"{f}\"\r\nContent-Type: application/octet-stream"
            )
            .unwrap();
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    write!(body, "--{boundary}--\r\n").unwrap();
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A 200 answer of sync or sync_3rd: its body, checked for the wire shape.
fn ok(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        keys(&v),
        [
            "action",
            "bytes",
            "expires_at",
            "job_id",
            "path",
            "push_to_cloud"
        ],
        "{v:#}"
    );
    v
}

/// A refusal: `{code, message}` with this status and code; the message.
fn refused(r: &Resp, status: u16, code: &str) -> String {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert_rest_error(&v, code);
    v["message"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------
// Bodies and fields

#[test]
fn json_urlencoded_and_multipart_bodies_write_files() {
    let gw = Gw::new();
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "json.txt", "raw_content": "from json"}),
    ));
    assert_eq!(v["path"], "json.txt");
    assert_eq!(v["action"], "written");
    assert_eq!(v["bytes"], 9);
    assert_eq!(gw.read("json.txt").unwrap(), b"from json");
    // The change is a job of type gateway.
    let job = gw.ts.job(v["job_id"].as_i64().expect("a job id"));
    assert_eq!(job["job_type"], "gateway", "{job:#}");
    assert_eq!(job["trigger_type"], "gateway", "{job:#}");

    let binary = [0u8, 0xff, b'\n', b'&', b'=', b'+', b'%'];
    ok(&gw.form(
        SYNC,
        &[
            ("fb_token", gw.alice.as_bytes()),
            ("path", "dir/form é.bin".as_bytes()),
            ("raw_content", &binary),
        ],
    ));
    assert_eq!(gw.read("dir/form é.bin").unwrap(), binary);

    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, gw.alice.as_bytes()),
            ("path", None, b"multi/part.bin"),
            ("file", Some("part.bin"), &binary),
        ],
    ));
    assert_eq!(gw.read("multi/part.bin").unwrap(), binary);

    // Text parts of a multipart body work like form fields.
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, gw.alice.as_bytes()),
            ("path", None, b"multi/text.txt"),
            ("base64", None, b"aGVsbG8="),
        ],
    ));
    assert_eq!(gw.read("multi/text.txt").unwrap(), b"hello");

    // A Content-Type with parameters is still its type.
    let r = gw.raw(
        SYNC,
        None,
        Some("Application/JSON; charset=utf-8"),
        json!({"fb_token": gw.alice, "path": "ct.txt", "raw_content": "x"}).to_string(),
    );
    ok(&r);
    // Unknown fields are ignored.
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "u.txt", "raw_content": "u", "title": "t", "tags": ["a"]}),
    ));
    assert_eq!(gw.read("u.txt").unwrap(), b"u");
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
}

#[test]
fn content_precedence_is_file_then_raw_content_then_base64() {
    let gw = Gw::new();
    let t = gw.alice.as_bytes();
    // file > raw_content
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("path", None, b"fr.txt"),
            ("raw_content", None, b"raw"),
            ("file", Some("f"), b"file"),
        ],
    ));
    assert_eq!(gw.read("fr.txt").unwrap(), b"file");
    // file > base64
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("path", None, b"fb.txt"),
            ("file", Some("f"), b"file"),
            ("base64", None, b"YmFzZTY0"),
        ],
    ));
    assert_eq!(gw.read("fb.txt").unwrap(), b"file");
    // raw_content > base64, in JSON and in a form
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "rb.txt", "base64": "YmFzZTY0", "raw_content": "raw"}),
    ));
    assert_eq!(gw.read("rb.txt").unwrap(), b"raw");
    ok(&gw.form(
        SYNC,
        &[
            ("fb_token", t),
            ("path", b"rb2.txt"),
            ("base64", b"YmFzZTY0"),
            ("raw_content", b"raw2"),
        ],
    ));
    assert_eq!(gw.read("rb2.txt").unwrap(), b"raw2");
    // The ignored base64 is not even checked.
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "rb3.txt", "base64": "%%%", "raw_content": "raw3"}),
    ));
    assert_eq!(gw.read("rb3.txt").unwrap(), b"raw3");
    // All three: the file.
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("base64", None, b"YmFzZTY0"),
            ("path", None, b"all.txt"),
            ("raw_content", None, b"raw"),
            ("file", Some("f"), b"the file"),
        ],
    ));
    assert_eq!(gw.read("all.txt").unwrap(), b"the file");
    // base64 alone, standard or URL-safe, padded or not, wrapped.
    for (b64, want) in [
        ("+/8=", &[0xfbu8, 0xff][..]),
        ("-_8", &[0xfb, 0xff]),
        ("aGVs\nbG8=", b"hello"),
    ] {
        ok(&gw.json(
            SYNC,
            json!({"fb_token": gw.alice, "path": "b.bin", "base64": b64}),
        ));
        assert_eq!(gw.read("b.bin").unwrap(), want, "{b64}");
    }
    // An unescaped + in a form's base64 is still a +.
    let body = format!("fb_token={}&path=p.bin&base64=+/8=", gw.alice);
    ok(&gw.raw(SYNC, None, Some("application/x-www-form-urlencoded"), body));
    assert_eq!(gw.read("p.bin").unwrap(), [0xfb, 0xff]);
    // A browser form with no file chosen sends an empty part with filename="": absent.
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("path", None, b"nofile.txt"),
            ("file", Some(""), b""),
            ("raw_content", None, b"typed text"),
        ],
    ));
    assert_eq!(gw.read("nofile.txt").unwrap(), b"typed text");
    // An empty file that was chosen is an empty file.
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("path", None, b"empty.txt"),
            ("raw_content", None, b"ignored"),
            ("file", Some("empty.txt"), b""),
        ],
    ));
    assert_eq!(gw.read("empty.txt").unwrap(), b"");
    assert!(gw.staged().is_empty());
}

#[test]
fn a_lone_path_deletes_and_other_fields_decide_otherwise() {
    let gw = Gw::new();
    gw.ts.write("docs", "gone.txt", b"old");
    gw.ts.write("docs", "kept.txt", b"old");
    // Only path (and the token): a delete.
    let v = ok(&gw.json(SYNC, json!({"fb_token": gw.alice, "path": "gone.txt"})));
    assert_eq!(v["action"], "deleted");
    assert!(gw.read("gone.txt").is_none());
    // Unknown fields do not count either.
    gw.ts.write("docs", "gone2.txt", b"old");
    ok(&gw.form(
        SYNC,
        &[
            ("path", b"gone2.txt"),
            ("fb_token", gw.alice.as_bytes()),
            ("utm", b"x"),
        ],
    ));
    assert!(gw.read("gone2.txt").is_none());
    // Another known field but no content: neither an empty file nor a delete.
    for extra in [
        json!({"push_to_cloud": true}),
        json!({"is_deleted": false}),
        json!({"is_dir": "no"}),
    ] {
        let mut body = json!({"fb_token": gw.alice, "path": "kept.txt"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let msg = refused(&gw.json(SYNC, body), 400, "bad_request");
        assert!(msg.starts_with("nothing to do"), "{extra}: {msg}");
        assert_eq!(gw.read("kept.txt").unwrap(), b"old", "{extra}");
    }
    // An empty raw_content makes an empty file.
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "kept.txt", "raw_content": ""}),
    ));
    assert_eq!(gw.read("kept.txt").unwrap(), b"");
    // An explicit delete, with push_to_cloud.
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "kept.txt", "is_deleted": "YES", "push_to_cloud": 1}),
    ));
    assert_eq!(v["action"], "deleted");
    assert!(gw.read("kept.txt").is_none());
}

#[test]
fn directories_booleans_and_conflicting_fields() {
    let gw = Gw::new();
    for (i, yes) in [
        json!(true),
        json!(1),
        json!("ON"),
        json!("yes"),
        json!("True"),
    ]
    .into_iter()
    .enumerate()
    {
        let path = format!("d{i}/sub");
        let v = ok(&gw.json(
            SYNC,
            json!({"fb_token": gw.alice, "path": path, "is_dir": yes}),
        ));
        assert_eq!(v["action"], "directory");
        assert!(gw.root.join(&path).is_dir(), "{yes}");
    }
    // A directory goes with is_deleted, is_dir or not.
    gw.ts.write("docs", "d0/sub/f.txt", b"f");
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "d0", "is_deleted": true, "is_dir": true}),
    ));
    assert_eq!(v["action"], "deleted");
    assert!(!gw.root.join("d0").exists());
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "d1", "is_deleted": "1"}),
    ));
    assert_eq!(v["action"], "deleted");
    assert!(!gw.root.join("d1").exists());
    gw.ts.write("docs", "keep.txt", b"keep");
    for (body, want) in [
        (
            json!({"path": "keep.txt", "is_dir": true, "raw_content": "x"}),
            "is_dir=true cannot go with content",
        ),
        (
            json!({"path": "keep.txt", "is_deleted": true, "raw_content": "x"}),
            "is_deleted=true cannot go with content",
        ),
        (
            json!({"path": "keep.txt", "is_deleted": "1", "base64": "eA=="}),
            "is_deleted=true cannot go with content",
        ),
        (
            json!({"path": "keep.txt", "is_dir": "maybe"}),
            "is_dir must be a boolean",
        ),
        (
            json!({"path": "keep.txt", "is_deleted": 2}),
            "is_deleted must be a boolean",
        ),
        (
            json!({"path": "keep.txt", "push_to_cloud": "", "raw_content": "x"}),
            "push_to_cloud must be a boolean",
        ),
        (json!({"raw_content": "x"}), "path is required"),
        (
            json!({"path": ["keep.txt"], "raw_content": "x"}),
            "path must be a string, not an array",
        ),
        (
            json!({"path": "keep.txt", "raw_content": {"a": 1}}),
            "raw_content must be a string",
        ),
        (
            json!({"path": "keep.txt", "base64": "not base64!"}),
            "base64 is not valid base64",
        ),
        (
            json!({"path": "keep.txt", "file": "x"}),
            "file must be the file part of a multipart/form-data body",
        ),
    ] {
        let mut body = body;
        body["fb_token"] = json!(gw.alice);
        let msg = refused(&gw.json(SYNC, body.clone()), 400, "bad_request");
        assert!(msg.contains(want), "{body}: {msg}");
    }
    // A field given twice, in each body type.
    let dup = format!(
        r#"{{"fb_token":"{}","path":"keep.txt","raw_content":"a","raw_content":"b"}}"#,
        gw.alice
    );
    let msg = refused(
        &gw.raw(SYNC, None, Some("application/json"), dup),
        400,
        "bad_request",
    );
    assert!(msg.contains("raw_content is given twice"), "{msg}");
    let msg = refused(
        &gw.form(
            SYNC,
            &[
                ("fb_token", gw.alice.as_bytes()),
                ("path", b"keep.txt"),
                ("path", b"other.txt"),
                ("raw_content", b"x"),
            ],
        ),
        400,
        "bad_request",
    );
    assert!(msg.contains("path is given twice"), "{msg}");
    let msg = refused(
        &gw.multipart(
            SYNC,
            &[
                ("fb_token", None, gw.alice.as_bytes()),
                ("path", None, b"keep.txt"),
                ("file", Some("a"), b"a"),
                ("file", Some("b"), b"b"),
            ],
        ),
        400,
        "bad_request",
    );
    assert!(msg.contains("file part is given twice"), "{msg}");
    assert_eq!(gw.read("keep.txt").unwrap(), b"keep");
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
}

#[test]
fn push_to_cloud_defaults_off_with_a_token_and_is_always_on_for_the_owner() {
    let gw = Gw::new();
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "local.txt", "raw_content": "x"}),
    ));
    assert_eq!(v["push_to_cloud"], false);
    assert!(v["expires_at"].is_string(), "{v:#}");
    let v = ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "cloud.txt", "raw_content": "x", "push_to_cloud": "on"}),
    ));
    assert_eq!(v["push_to_cloud"], true);
    assert!(v["expires_at"].is_null(), "{v:#}");
    // The owner's session: always true, even when asked otherwise.
    let v = ok(&gw.owner_json(
        SYNC,
        json!({"path": "owner.txt", "raw_content": "mine", "push_to_cloud": false}),
    ));
    assert_eq!(v["push_to_cloud"], true);
    assert!(v["expires_at"].is_null(), "{v:#}");
    assert_eq!(gw.read("owner.txt").unwrap(), b"mine");
}

#[test]
fn callers_must_authenticate() {
    let gw = Gw::new();
    gw.ts.write("docs", "keep.txt", b"keep");
    let body = json!({"path": "keep.txt", "raw_content": "overwritten"});
    // Nobody.
    let msg = refused(&gw.json(SYNC, body.clone()), 401, "unauthorized");
    assert!(msg.contains("fb_token"), "{msg}");
    // A made-up token, a well-formed unknown one, an API token given as fb_token.
    for token in [
        "nope".to_owned(),
        format!("sdg_{}", "0".repeat(64)),
        gw.ts.admin.clone(),
    ] {
        let mut b = body.clone();
        b["fb_token"] = json!(token);
        refused(&gw.json(SYNC, b), 401, "unauthorized");
    }
    // A bad API token in the header, another scheme, a read-only token.
    refused(
        &gw.raw(
            SYNC,
            Some("not-a-token"),
            Some("application/json"),
            body.to_string(),
        ),
        401,
        "unauthorized",
    );
    let r = gw.ts.send(
        gw.ts
            .http
            .post(gw.ts.url(SYNC))
            .header("Authorization", format!("Bearer {}", gw.ts.admin))
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    );
    refused(&r, 401, "unauthorized");
    let msg = refused(
        &gw.raw(
            SYNC,
            Some(&gw.ts.reader),
            Some("application/json"),
            body.to_string(),
        ),
        403,
        "forbidden",
    );
    assert!(msg.contains("read-only"), "{msg}");
    // Both credentials at once.
    let mut b = body.clone();
    b["fb_token"] = json!(gw.alice);
    let msg = refused(&gw.owner_json(SYNC, b), 400, "bad_request");
    assert!(msg.contains("not both"), "{msg}");
    // A revoked token.
    let created = gw
        .ts
        .engine
        .create_gateway_token("docs", "carol", Some("carol"))
        .unwrap();
    let mut b = body.clone();
    b["fb_token"] = json!(created.secret);
    b["path"] = json!("carol.txt");
    ok(&gw.json(SYNC, b.clone()));
    gw.ts.engine.revoke_gateway_token("carol").unwrap();
    refused(&gw.json(SYNC, b), 401, "unauthorized");
    // In a multipart body, the token must come before the file.
    let msg = refused(
        &gw.multipart(
            SYNC,
            &[
                ("path", None, b"keep.txt"),
                ("file", Some("f"), b"overwritten"),
                ("fb_token", None, gw.alice.as_bytes()),
            ],
        ),
        401,
        "unauthorized",
    );
    assert!(msg.contains("fb_token"), "{msg}");
    let (ct, late_token) = multipart_body(&[
        ("path", None, b"keep.txt"),
        ("file", Some("f"), b"overwritten"),
        ("fb_token", None, gw.alice.as_bytes()),
    ]);
    let msg = refused(
        &gw.raw(SYNC, Some(&gw.ts.admin), Some(&ct), late_token),
        400,
        "bad_request",
    );
    assert!(
        msg.contains("fb_token must come before the file part"),
        "{msg}"
    );
    assert_eq!(gw.read("keep.txt").unwrap(), b"keep");
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
}

#[test]
fn the_gateway_needs_no_api_token_but_keeps_the_host_check_and_post_only() {
    let gw = Gw::new();
    let port = gw.ts.addr.port();
    let r = gw.ts.send(
        gw.ts
            .http
            .post(gw.ts.url(SYNC))
            .header("Host", format!("evil.example:{port}"))
            .header("Content-Type", "application/json")
            .body(json!({"fb_token": gw.alice, "path": "h.txt", "raw_content": "x"}).to_string()),
    );
    refused(&r, 403, "forbidden");
    assert!(gw.read("h.txt").is_none());
    let r = gw.ts.get(SYNC, None);
    refused(&r, 405, "method_not_allowed");
    let r = gw.json("/service/gateway/nope", json!({}));
    refused(&r, 404, "not_found");
    let r = gw.json("/service/gateway/%2e%2e/sync", json!({}));
    assert_eq!(r.status, 404, "{}", r.text());
}

// ---------------------------------------------------------------------------------------
// sync_3rd

#[test]
fn sync_3rd_is_off_until_the_site_turns_it_on() {
    let gw = Gw::new();
    let body = json!({"fb_token": gw.alice, "raw_content": "hello"});
    let msg = refused(&gw.json(THIRD, body.clone()), 403, "disabled");
    assert!(msg.contains("sync_by_3rd"), "{msg}");
    gw.settings(|s| s.sync_by_3rd = true);
    // Logged in: fine. Anonymous: only once public.
    let v = ok(&gw.json(THIRD, body));
    assert_eq!(v["push_to_cloud"], true);
    let msg = refused(
        &gw.json(THIRD, json!({"raw_content": "anon"})),
        401,
        "unauthorized",
    );
    assert!(msg.contains("sync_by_3rd_public"), "{msg}");
    gw.settings(|s| s.sync_by_3rd_public = true);
    let v = ok(&gw.json(THIRD, json!({"raw_content": "anon"})));
    let path = v["path"].as_str().unwrap();
    assert_eq!(gw.read(path).unwrap(), b"anon");
    assert!(gw.staged().is_empty());
}

/// `share/<dir>/YYYY/YYYY-MM/YYYY-MM-DD HH-MM-SS[ (n)].<ext>`, consistent with itself.
fn assert_share_path(path: &str, dir: &str, ext: &str) {
    let parts: Vec<&str> = path.split('/').collect();
    assert_eq!(parts.len(), 5, "{path}");
    assert_eq!(parts[0], "share", "{path}");
    assert_eq!(parts[1], dir, "{path}");
    let (year, month, name) = (parts[2], parts[3], parts[4]);
    assert!(
        year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit()),
        "{path}"
    );
    assert!(
        month.starts_with(&format!("{year}-")) && month.len() == 7,
        "{path}"
    );
    assert!(name.starts_with(&format!("{month}-")), "{path}");
    assert!(name.ends_with(&format!(".{ext}")), "{path}");
    let stamp = &name[..19];
    let b = stamp.as_bytes();
    assert!(b[10] == b' ' && b[13] == b'-' && b[16] == b'-', "{path}");
}

#[test]
fn sync_3rd_picks_paths_and_checks_edit_rights() {
    let gw = Gw::new();
    gw.settings(|s| {
        s.sync_by_3rd = true;
        s.sync_by_3rd_public = true;
        // This test is about paths; the seed's 5 calls per account would end it early.
        s.public_account_limits = parse_rules("100/1h").unwrap();
        s.public_ip_limits = parse_rules("100/1h").unwrap();
    });
    let v = ok(&gw.json(THIRD, json!({"fb_token": gw.alice, "raw_content": "one"})));
    let first = v["path"].as_str().unwrap().to_owned();
    assert_share_path(&first, "default", "txt");
    assert_eq!(gw.read(&first).unwrap(), b"one");
    // Same second or not, a second upload never replaces the first.
    let v = ok(&gw.json(THIRD, json!({"fb_token": gw.alice, "raw_content": "two"})));
    let second = v["path"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    if second[..second.len() - 4].starts_with(&first[..first.len() - 4]) {
        assert!(second.ends_with(" (2).txt"), "{second}");
    }
    assert_eq!(gw.read(&first).unwrap(), b"one");
    assert_eq!(gw.read(&second).unwrap(), b"two");
    // folder_3rd and ext_3rd, through a multipart file.
    let v = ok(&gw.multipart(
        THIRD,
        &[
            ("folder_3rd", None, b"photos"),
            ("ext_3rd", None, b"jpg"),
            ("file", Some("x.jpg"), b"\xff\xd8jpeg"),
        ],
    ));
    let photo = v["path"].as_str().unwrap().to_owned();
    assert_share_path(&photo, "photos", "jpg");
    assert_eq!(gw.read(&photo).unwrap(), b"\xff\xd8jpeg");
    for (body, want) in [
        (json!({"folder_3rd": "../up"}), "folder_3rd"),
        (json!({"folder_3rd": "a/b"}), "folder_3rd"),
        (json!({"folder_3rd": ".."}), "folder_3rd"),
        (json!({"ext_3rd": "tx t"}), "ext_3rd"),
        (json!({"ext_3rd": "../txt"}), "ext_3rd"),
        (json!({"ext_3rd": "averyveryverylongext"}), "ext_3rd"),
    ] {
        let mut body = body;
        body["raw_content"] = json!("x");
        body["fb_token"] = json!(gw.alice);
        let msg = refused(&gw.json(THIRD, body.clone()), 400, "bad_request");
        assert!(msg.contains(want), "{body}: {msg}");
    }
    // No deletes, no directories, no empty calls.
    for (body, want) in [
        (
            json!({"is_deleted": true, "path": first}),
            "is_deleted is not allowed",
        ),
        (
            json!({"is_deleted": false, "raw_content": "x"}),
            "is_deleted is not allowed",
        ),
        (
            json!({"is_dir": true, "raw_content": "x"}),
            "is_dir is not allowed",
        ),
        (json!({}), "nothing to upload"),
    ] {
        let mut body = body;
        body["fb_token"] = json!(gw.alice);
        let msg = refused(&gw.json(THIRD, body.clone()), 400, "bad_request");
        assert!(msg.contains(want), "{body}: {msg}");
    }
    assert_eq!(gw.read(&first).unwrap(), b"one");
    // Edit rights: alice may replace her upload; bob may not; anonymous may not name a path.
    ok(&gw.json(
        THIRD,
        json!({"fb_token": gw.alice, "path": first, "raw_content": "one, edited"}),
    ));
    assert_eq!(gw.read(&first).unwrap(), b"one, edited");
    let msg = refused(
        &gw.json(
            THIRD,
            json!({"fb_token": gw.bob, "path": first, "raw_content": "bob"}),
        ),
        403,
        "forbidden",
    );
    assert!(
        msg.contains("you may only replace files you uploaded"),
        "{msg}"
    );
    let msg = refused(
        &gw.json(THIRD, json!({"path": first, "raw_content": "anon"})),
        400,
        "bad_request",
    );
    assert!(msg.contains("logged-in"), "{msg}");
    // A file nobody uploaded through the gateway is nobody's to edit.
    gw.ts.write("docs", "notes.md", b"mine");
    refused(
        &gw.json(
            THIRD,
            json!({"fb_token": gw.alice, "path": "notes.md", "raw_content": "x"}),
        ),
        403,
        "forbidden",
    );
    // The anonymous photo belongs to nobody.
    refused(
        &gw.json(
            THIRD,
            json!({"fb_token": gw.alice, "path": photo, "raw_content": "x"}),
        ),
        403,
        "forbidden",
    );
    assert_eq!(gw.read("notes.md").unwrap(), b"mine");
    assert_eq!(gw.read(&first).unwrap(), b"one, edited");
    assert_eq!(gw.read(&photo).unwrap(), b"\xff\xd8jpeg");
}

// ---------------------------------------------------------------------------------------
// Rate limits

/// A request of `client` (its own source address): the answer.
fn send_from(gw: &Gw, client: &Client, endpoint: &str, body: Value) -> Resp {
    gw.ts.send(
        client
            .post(gw.ts.url(endpoint))
            .header("Content-Type", "application/json")
            .body(body.to_string()),
    )
}

fn retry_after(r: &Resp) -> u64 {
    refused(r, 429, "rate_limited");
    let secs: u64 = r
        .header("retry-after")
        .expect("a Retry-After header")
        .parse()
        .expect("Retry-After in whole seconds");
    assert!((1..=86_400).contains(&secs), "{secs}");
    secs
}

#[test]
fn basic_sync_is_limited_per_account() {
    let gw = Gw::new();
    gw.settings(|s| s.account_limits = parse_rules("3/1h").unwrap());
    let write = |token: &str, n: u32| {
        gw.json(
            SYNC,
            json!({"fb_token": token, "path": format!("n{n}.txt"), "raw_content": "x"}),
        )
    };
    for n in 0..3 {
        ok(&write(&gw.alice, n));
    }
    let r = write(&gw.alice, 3);
    retry_after(&r);
    assert!(gw.read("n3.txt").is_none());
    // Another account has its own count, and bad calls count too (they are calls).
    let msg = refused(
        &gw.json(
            SYNC,
            json!({"fb_token": gw.bob, "path": "../x", "raw_content": "x"}),
        ),
        400,
        "bad_request",
    );
    assert!(msg.contains(".."), "{msg}");
    ok(&write(&gw.bob, 4));
    ok(&write(&gw.bob, 5));
    retry_after(&write(&gw.bob, 6));
    // The owner's session is the account "owner".
    for n in 7..10 {
        ok(&gw.owner_json(
            SYNC,
            json!({"path": format!("n{n}.txt"), "raw_content": "x"}),
        ));
    }
    retry_after(&gw.owner_json(SYNC, json!({"path": "n10.txt", "raw_content": "x"})));
    // Refused calls were not counted: alice is still refused, not further behind.
    retry_after(&write(&gw.alice, 11));
    // list and file are not limited.
    let r = gw.json(LIST, json!({"fb_token": gw.alice}));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn sync_3rd_is_limited_per_ip_per_account_and_per_site() {
    let gw = Gw::new();
    gw.settings(|s| {
        s.sync_by_3rd = true;
        s.sync_by_3rd_public = true;
        s.public_ip_limits = parse_rules("2/1h").unwrap();
        s.public_account_limits = parse_rules("1/1h").unwrap();
        s.site_limits = parse_rules("6/1d").unwrap();
    });
    let (a, b, c, d) = (
        gw.client_from([127, 0, 0, 2]),
        gw.client_from([127, 0, 0, 3]),
        gw.client_from([127, 0, 0, 4]),
        gw.client_from([127, 0, 0, 5]),
    );
    let anon = json!({"raw_content": "anon"});
    ok(&send_from(&gw, &a, THIRD, anon.clone()));
    ok(&send_from(&gw, &a, THIRD, anon.clone()));
    retry_after(&send_from(&gw, &a, THIRD, anon.clone()));
    // X-Forwarded-For is not believed.
    let r = gw.ts.send(
        a.post(gw.ts.url(THIRD))
            .header("Content-Type", "application/json")
            .header("X-Forwarded-For", "127.0.0.9")
            .body(anon.to_string()),
    );
    retry_after(&r);
    // Another address has its own count. (Site: 3 so far.)
    ok(&send_from(&gw, &b, THIRD, anon.clone()));
    // A logged-in caller is counted by account, wherever it calls from. (Site: 4.)
    let alice = json!({"fb_token": gw.alice, "raw_content": "alice"});
    ok(&send_from(&gw, &a, THIRD, alice.clone()));
    retry_after(&send_from(&gw, &c, THIRD, alice.clone()));
    // Basic sync has its own limits.
    ok(&send_from(
        &gw,
        &c,
        SYNC,
        json!({"fb_token": gw.alice, "path": "basic.txt", "raw_content": "x"}),
    ));
    // The site's limit covers everyone. (Site: 5, 6, then full.)
    ok(&send_from(&gw, &b, THIRD, anon.clone()));
    ok(&send_from(&gw, &c, THIRD, anon.clone()));
    let secs = retry_after(&send_from(&gw, &d, THIRD, anon.clone()));
    assert!(secs > 3600, "a day's window: {secs}");
    retry_after(&send_from(
        &gw,
        &d,
        THIRD,
        json!({"fb_token": gw.bob, "raw_content": "bob"}),
    ));
    // Six uploads landed under share/.
    let shared: Vec<_> = common::files_under(&gw.root)
        .into_iter()
        .filter(|p| p.starts_with("share/"))
        .collect();
    assert_eq!(shared.len(), 6, "{shared:?}");
}

// ---------------------------------------------------------------------------------------
// Hostile input

#[cfg(unix)]
#[test]
fn hostile_paths_and_bodies_are_refused_and_harm_nothing() {
    let gw = Gw::new();
    gw.ts.write("docs", "keep.txt", b"keep");
    gw.ts.write("docs", "sub/keep.txt", b"sub keep");
    // Links planted in the folder, to a directory and to a file outside it.
    std::os::unix::fs::symlink(&gw.outside, gw.root.join("link")).unwrap();
    std::os::unix::fs::symlink(gw.outside.join("secret.txt"), gw.root.join("secret-link")).unwrap();
    let before = gw.outside_snapshot();
    let mut folder_before = common::files_under(&gw.root);

    let long_segment = "a".repeat(256);
    let long_path = format!("{}/x", ["abc"; 1100].join("/"));
    let paths: Vec<(String, &str)> = vec![
        ("".into(), "empty"),
        ("/etc/passwd".into(), "absolute"),
        ("/".into(), "absolute"),
        ("../outside/secret.txt".into(), ".."),
        ("sub/../../outside/secret.txt".into(), ".."),
        ("./keep.txt".into(), "\".\""),
        ("..".into(), ".."),
        ("sub\\..\\..\\x".into(), "backslash"),
        ("C:\\Windows\\x".into(), "backslash"),
        ("a\0b".into(), "NUL"),
        ("a\nb".into(), "control"),
        ("CON".into(), "device"),
        ("nul.txt".into(), "device"),
        ("sub/Com1.log".into(), "device"),
        ("lpt9".into(), "device"),
        ("trailing.".into(), ""),
        ("trailing ".into(), ""),
        (".syncdesk/state.db".into(), ".syncdesk"),
        ("sub/.syncdesk/x".into(), ".syncdesk"),
        ("a//b".into(), "empty segment"),
        (long_segment, "255"),
        (long_path, "4096"),
        ("link/secret.txt".into(), "link"),
        ("link/new.txt".into(), "link"),
        ("secret-link".into(), "link"),
    ];
    for (path, want) in &paths {
        for body in [
            json!({"fb_token": gw.alice, "path": path, "raw_content": "pwned"}),
            json!({"fb_token": gw.alice, "path": path}),
            json!({"fb_token": gw.alice, "path": path, "is_dir": true}),
        ] {
            if path == "secret-link" && body.get("raw_content").is_none() {
                // Deleting or replacing the link itself is below.
                continue;
            }
            let r = gw.json(SYNC, body.clone());
            let msg = refused(&r, 400, "bad_request");
            assert!(
                msg.to_lowercase().contains(&want.to_lowercase()),
                "{path:?}: {msg}"
            );
        }
        let r = gw.multipart(
            SYNC,
            &[
                ("fb_token", None, gw.alice.as_bytes()),
                ("path", None, path.as_bytes()),
                ("file", Some("x"), b"pwned"),
            ],
        );
        refused(&r, 400, "bad_request");
        let r = gw.json(FILE, json!({"fb_token": gw.alice, "path": path}));
        assert!(
            r.status == 400 || r.status == 404,
            "{path:?}: {} {}",
            r.status,
            r.text()
        );
        assert!(!r.text().contains("outside secret"), "{path:?}");
    }
    // Percent-encoding is decoded once, by the form: %2e%2e is "..".
    let msg = refused(
        &gw.raw(
            SYNC,
            None,
            Some("application/x-www-form-urlencoded"),
            format!(
                "fb_token={}&path=%2e%2e%2foutside%2fsecret.txt&raw_content=pwned",
                gw.alice
            ),
        ),
        400,
        "bad_request",
    );
    assert!(msg.contains(".."), "{msg}");
    // In JSON it is just a name, inside the folder.
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "%2e%2e/x.txt", "raw_content": "fine"}),
    ));
    assert_eq!(gw.read("%2e%2e/x.txt").unwrap(), b"fine");

    // Bodies.
    let t = gw.alice.clone();
    let cases: Vec<BodyCase<'_>> = vec![
        (
            Some("application/json"),
            br#"[{"path":"keep.txt"}]"#.to_vec(),
            400,
            "bad_request",
            "JSON object",
        ),
        (
            Some("application/json"),
            br#"{"path": "keep.txt", "#.to_vec(),
            400,
            "bad_request",
            "not valid JSON",
        ),
        (
            Some("application/json"),
            b"\"keep.txt\"".to_vec(),
            400,
            "bad_request",
            "JSON object",
        ),
        (
            Some("text/plain"),
            b"path=keep.txt".to_vec(),
            415,
            "unsupported_media_type",
            "multipart/form-data",
        ),
        (
            Some("application/xml"),
            b"<path>keep.txt</path>".to_vec(),
            415,
            "unsupported_media_type",
            "application/json",
        ),
        (
            None,
            b"path=keep.txt".to_vec(),
            415,
            "unsupported_media_type",
            "without a Content-Type",
        ),
        (
            Some("multipart/form-data"),
            b"--x\r\n".to_vec(),
            400,
            "bad_request",
            "boundary",
        ),
        (
            Some("multipart/form-data; boundary=zz"),
            format!(
                "--zz\r\nContent-Disposition: form-data; name=\"fb_token\"\r\n\r\n{t}\r\n\
                 --zz\r\nContent-Disposition: form-data; name=\"path\"\r\n\r\nkeep.txt\r\n\
                 --zz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\npwned"
            )
            .into_bytes(),
            400,
            "bad_request",
            "multipart",
        ),
        (
            Some("application/json"),
            json!({"fb_token": t, "path": "keep.txt", "base64": "@@@@"})
                .to_string()
                .into_bytes(),
            400,
            "bad_request",
            "base64",
        ),
    ];
    for (ct, body, status, code, want) in cases {
        let r = gw.raw(SYNC, None, ct, body.clone());
        let msg = refused(&r, status, code);
        assert!(
            msg.contains(want),
            "{ct:?} {}: {msg}",
            String::from_utf8_lossy(&body)
        );
    }

    // Deleting a link removes the link, never what it points to.
    let r = gw.json(SYNC, json!({"fb_token": gw.alice, "path": "secret-link"}));
    if r.status == 200 {
        assert!(fs::symlink_metadata(gw.root.join("secret-link")).is_err());
    } else {
        refused(&r, 400, "bad_request");
    }

    // Nothing outside changed, nothing inside lost, no staged upload left.
    assert_eq!(gw.outside_snapshot(), before);
    assert_eq!(
        fs::read(gw.outside.join("secret.txt")).unwrap(),
        b"outside secret"
    );
    assert_eq!(gw.read("keep.txt").unwrap(), b"keep");
    assert_eq!(gw.read("sub/keep.txt").unwrap(), b"sub keep");
    let mut folder_after = common::files_under(&gw.root);
    folder_after.retain(|p| p != "%2e%2e/x.txt");
    folder_before.retain(|p| p != "secret-link");
    folder_after.retain(|p| p != "secret-link");
    assert_eq!(folder_after, folder_before);
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
    assert!(
        fs::symlink_metadata(gw.root.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn oversized_content_is_413_and_leaves_nothing() {
    let gw = Gw::new();
    gw.ts.write("docs", "keep.txt", b"keep");
    gw.settings(|s| s.max_file_size = 64 * 1024);
    let t = gw.alice.as_bytes();
    // Exactly the limit is fine.
    let exact = vec![b'x'; 64 * 1024];
    ok(&gw.multipart(
        SYNC,
        &[
            ("fb_token", None, t),
            ("path", None, b"exact.bin"),
            ("file", Some("f"), &exact),
        ],
    ));
    assert_eq!(gw.read("exact.bin").unwrap().len(), 64 * 1024);
    // One byte over, as a file part, raw_content or base64.
    let over = vec![b'y'; 64 * 1024 + 1];
    let msg = refused(
        &gw.multipart(
            SYNC,
            &[
                ("fb_token", None, t),
                ("path", None, b"keep.txt"),
                ("file", Some("f"), &over),
            ],
        ),
        413,
        "too_large",
    );
    assert!(msg.contains("max_file_size"), "{msg}");
    let msg = refused(
        &gw.form(
            SYNC,
            &[
                ("fb_token", t),
                ("path", b"keep.txt"),
                ("raw_content", &over),
            ],
        ),
        413,
        "too_large",
    );
    assert!(msg.contains("max_file_size"), "{msg}");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&over);
    refused(
        &gw.json(
            SYNC,
            json!({"fb_token": gw.alice, "path": "keep.txt", "base64": b64}),
        ),
        413,
        "too_large",
    );
    // Far over: a 3 MiB file part; the client still gets its answer.
    let big = vec![b'z'; 3 << 20];
    refused(
        &gw.multipart(
            SYNC,
            &[
                ("fb_token", None, t),
                ("path", None, b"keep.txt"),
                ("file", Some("f"), &big),
            ],
        ),
        413,
        "too_large",
    );
    // A JSON body over the in-memory limit, whatever max_file_size says.
    gw.settings(|s| s.max_file_size = 1 << 30);
    let mut huge = format!(
        r#"{{"fb_token":"{}","path":"keep.txt","raw_content":""#,
        gw.alice
    )
    .into_bytes();
    huge.resize(GATEWAY_TEXT_LIMIT + 1, b'a');
    huge.extend_from_slice(b"\"}");
    let msg = refused(
        &gw.raw(SYNC, None, Some("application/json"), huge),
        413,
        "too_large",
    );
    assert!(msg.contains("multipart"), "{msg}");
    assert_eq!(gw.read("keep.txt").unwrap(), b"keep");
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
}

// ---------------------------------------------------------------------------------------
// list and file

#[test]
fn list_and_file_read_the_folder_back() {
    let gw = Gw::new();
    gw.ts.write("docs", "a/b.txt", b"hello world!");
    fs::create_dir_all(gw.root.join("empty-dir")).unwrap();
    ok(&gw.owner_json(SYNC, json!({"path": "c.bin", "base64": "AAEC"})));
    // A local-only upload is not listed.
    ok(&gw.json(
        SYNC,
        json!({"fb_token": gw.alice, "path": "local.txt", "raw_content": "local"}),
    ));
    let r = gw.json(LIST, json!({"fb_token": gw.alice}));
    assert_eq!(r.status, 200, "{}", r.text());
    let files = r.json()["files"].as_array().expect("files").clone();
    let by_path = |p: &str| files.iter().find(|f| f["path"] == p).cloned();
    assert_eq!(
        by_path("a/b.txt"),
        Some(
            json!({"path": "a/b.txt", "size": 12, "hash": blake3::hash(b"hello world!").to_hex().to_string()})
        )
    );
    assert_eq!(by_path("a"), Some(json!({"path": "a", "dir": true})));
    assert_eq!(
        by_path("empty-dir"),
        Some(json!({"path": "empty-dir", "dir": true}))
    );
    assert_eq!(by_path("c.bin").unwrap()["size"], 3);
    assert!(by_path("local.txt").is_none(), "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f["path"].as_str().unwrap().starts_with(".syncdesk")),
        "{files:?}"
    );
    // The owner's session lists the same folder; with no body at all too.
    let r = gw.raw(LIST, Some(&gw.ts.admin), None, Vec::new());
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["files"].as_array().unwrap().len(), files.len());

    let r = gw.form(
        FILE,
        &[("fb_token", gw.alice.as_bytes()), ("path", b"a/b.txt")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(r.body, b"hello world!");
    let msg = refused(
        &gw.json(FILE, json!({"fb_token": gw.alice, "path": "nope.txt"})),
        404,
        "not_found",
    );
    assert!(!msg.is_empty());
    refused(
        &gw.json(FILE, json!({"fb_token": gw.alice})),
        400,
        "bad_request",
    );
    refused(
        &gw.json(FILE, json!({"path": "a/b.txt"})),
        401,
        "unauthorized",
    );
    refused(&gw.json(LIST, json!({})), 401, "unauthorized");
    refused(
        &gw.json(LIST, json!({"fb_token": format!("sdg_{}", "1".repeat(64))})),
        401,
        "unauthorized",
    );
}

// ---------------------------------------------------------------------------------------
// Large uploads

#[test]
fn a_100_mib_multipart_upload_arrives_intact() {
    let gw = Gw::new();
    const SIZE: usize = 100 << 20;
    // Incompressible, reproducible content: BLAKE3's output stream.
    let src = gw.ts.dir.path().join("big.bin");
    {
        let mut out = std::io::BufWriter::new(fs::File::create(&src).unwrap());
        let mut xof = blake3::Hasher::new().update(b"gateway").finalize_xof();
        let mut buf = vec![0u8; 1 << 20];
        for _ in 0..SIZE / buf.len() {
            xof.fill(&mut buf);
            out.write_all(&buf).unwrap();
        }
    }
    let want = blake3::hash(&fs::read(&src).unwrap());
    let form = reqwest::blocking::multipart::Form::new()
        .text("fb_token", gw.alice.clone())
        .text("path", "big/upload.bin")
        .text("push_to_cloud", "true")
        .file("file", &src)
        .unwrap();
    let client = gw.client_from([127, 0, 0, 1]);
    let r = gw.ts.send(client.post(gw.ts.url(SYNC)).multipart(form));
    let v = ok(&r);
    assert_eq!(v["bytes"], SIZE as u64);
    let got = fs::read(gw.root.join("big/upload.bin")).unwrap();
    assert_eq!(got.len(), SIZE);
    assert_eq!(blake3::hash(&got), want);
    drop(got);
    // And back through /file, streamed.
    let r = gw.ts.send(
        client
            .post(gw.ts.url(FILE))
            .header("Content-Type", "application/json")
            .body(json!({"fb_token": gw.alice, "path": "big/upload.bin"}).to_string()),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(SIZE.to_string()));
    assert_eq!(blake3::hash(&r.body), want);
    assert!(gw.staged().is_empty(), "{:?}", gw.staged());
}

#[test]
fn a_folder_whose_root_is_gone_is_unavailable_and_nothing_is_written() {
    let gw = Gw::new();
    let moved = gw.root.with_extension("unmounted");
    fs::rename(&gw.root, &moved).expect("take the folder away");
    let msg = refused(
        &gw.json(
            SYNC,
            json!({"fb_token": gw.alice, "path": "a.txt", "raw_content": "x"}),
        ),
        503,
        "folder_unavailable",
    );
    assert!(msg.contains(&gw.root.display().to_string()), "{msg}");
    assert!(!gw.root.exists(), "the gateway did not recreate the folder");
}
