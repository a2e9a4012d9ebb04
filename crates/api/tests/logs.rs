//! "No secrets out" (docs/api.md) for the log: with every log line captured (syncdesk's at
//! trace level, everything else at debug, as `SYNCDESK_LOG=trace` would roughly give), none
//! carries a token, a remote secret or a passphrase that went through the API.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use common::{TestServer, WsAuth};
use serde_json::json;
use syncdesk_engine::model::ApiRole;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

#[test]
fn the_log_never_holds_a_token_or_a_secret() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug,syncdesk_api=trace,syncdesk_engine=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let ts = TestServer::new();
    let s3_secret = "S3-SECRET-in-the-log-test-1";
    let rotated = "S3-SECRET-ROTATED-in-the-log-test-2";
    let passphrase = "PASSPHRASE-in-the-log-test-3";
    let new_passphrase = "PASSPHRASE-NEW-in-the-log-test-4";
    let bogus_token = format!("sdt_{}", "ab".repeat(32));

    // Tokens: in headers, in the WebSocket query, a wrong one, one revoked.
    let temp = ts
        .engine
        .create_api_token(Some("temp"), ApiRole::Admin)
        .unwrap()
        .secret;
    ts.call_as(&temp, "/api/app/getAppState", json!({}));
    ts.engine.revoke_api_token("temp").unwrap();
    assert_eq!(
        ts.post("/api/app/getAppState", Some(&temp), &json!({}))
            .status,
        401
    );
    assert_eq!(
        ts.post("/api/app/getAppState", Some(&bogus_token), &json!({}))
            .status,
        401
    );
    let mut ws = ts.ws_with(WsAuth::Query(&ts.reader), None).unwrap();
    ws.sync_with(&ts);
    assert!(ts.ws_with(WsAuth::Query(&bogus_token), None).is_err());
    assert_eq!(
        ts.get(&format!("/api/sync/jobs?token={}", ts.admin), None)
            .status,
        401
    );

    // Secrets going in, accepted and refused.
    let r = ts.post(
        "/api/folder/addFolder",
        Some(&ts.admin),
        &json!({
            "name": "s3",
            "path": ts.dir.path().join("s3"),
            "repository": {
                "remote": "s3://bucket?endpoint=http://127.0.0.1:9&access_key_id=AKIDLOG",
                "secret": s3_secret
            },
        }),
    );
    assert_eq!(r.json()["code"], 0, "{}", r.text());
    ts.call(
        "/api/folder/setRemoteSecret",
        json!({ "folder": "s3", "secret": rotated }),
    );
    ts.refused(
        "/api/folder/addFolder",
        json!({ "name": "leak", "path": ts.dir.path().join("leak"),
                "repository": { "remote": format!("s3://b?access_key_id=A&secret_access_key={s3_secret}") } }),
        "invalid_request",
    );
    ts.call(
        "/api/folder/addFolder",
        json!({ "name": "crypt", "path": ts.dir.path().join("crypt"),
                "repository": { "remote": ts.remote, "passphrase": passphrase } }),
    );
    ts.write("crypt", "a.txt", b"a");
    ts.sync("crypt");
    ts.refused(
        "/api/folder/setPassphrase",
        json!({ "folder": "crypt", "passphrase": new_passphrase }),
        "passphrase",
    );
    ts.call(
        "/api/folder/changePassphrase",
        json!({ "folder": "crypt", "old": passphrase, "new": new_passphrase }),
    );
    // A body that fails to parse, with a secret in it.
    let r = ts.post_raw(
        "/api/folder/setRemoteSecret",
        Some(&ts.admin),
        Some("application/json"),
        format!(r#"{{"folder": "s3", "secret": "{s3_secret}", }}"#),
    );
    assert_eq!(r.status, 400);
    assert!(!r.text().contains(s3_secret), "{}", r.text());
    let (admin, reader) = (ts.admin.clone(), ts.reader.clone());
    drop(ws);
    drop(ts);

    let text = log.text();
    assert!(
        text.contains("answered") && text.contains("/api/folder/addFolder"),
        "the requests were logged: {text}"
    );
    assert!(text.contains("API token revoked"), "{text}");
    for secret in [
        s3_secret,
        rotated,
        passphrase,
        new_passphrase,
        &bogus_token,
        &temp,
        &admin,
        &reader,
    ] {
        assert!(!text.contains(secret), "the log holds {secret:?}:\n{text}");
    }
    // No token at all, nor a part long enough to matter.
    for line in text.lines() {
        if let Some(i) = line.find("sdt_") {
            let rest = &line[i + 4..];
            let hex = rest.chars().take_while(char::is_ascii_hexdigit).count();
            assert!(hex < 16, "a token in the log: {line}");
        }
    }
}
