//! Which remote the engine's and the CLI's multi-device and crash tests sync through, so the
//! same tests run against every backend: `SYNCDESK_TEST_BACKEND` = `local` (the default), `s3`
//! (moto), or the WebDAV servers `rclone`, `apache`, `nginx`.

use std::path::Path;

use crate::{servers, unique};

/// A remote for one test world: its URL (as `folder add --remote` takes it) and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRemote {
    pub url: String,
    /// The S3 secret key or WebDAV password, for the OS keyring.
    pub secret: Option<String>,
}

/// The backend named by `SYNCDESK_TEST_BACKEND`.
pub fn name() -> String {
    std::env::var("SYNCDESK_TEST_BACKEND").unwrap_or_else(|_| "local".into())
}

/// A fresh, empty remote of the selected backend; a local one lives in `local_dir`.
///
/// # Panics
/// On an unknown backend name, or when the servers it needs are not running.
pub fn fresh_remote(local_dir: &Path) -> TestRemote {
    let backend = name();
    match backend.as_str() {
        "local" => TestRemote {
            url: local_dir.to_string_lossy().into_owned(),
            secret: None,
        },
        "s3" => {
            let s3 = &servers().s3;
            TestRemote {
                url: format!(
                    "s3://{}/{}?endpoint={}&region={}&access_key_id={}",
                    s3.bucket,
                    unique("world"),
                    s3.endpoint,
                    s3.region,
                    s3.access_key_id
                ),
                secret: Some(s3.secret.clone()),
            }
        }
        dav @ ("rclone" | "apache" | "nginx") => {
            let w = servers().webdav_named(dav);
            let base = w
                .url
                .strip_prefix("http://")
                .map(|rest| format!("webdav+http://{rest}"))
                .unwrap_or_else(|| format!("webdav+{}", w.url));
            TestRemote {
                url: format!("{base}{}/?user={}", unique("world"), w.user),
                secret: Some(w.password.clone()),
            }
        }
        other => panic!(
            "SYNCDESK_TEST_BACKEND={other:?} is not a test backend (local, s3, rclone, apache, nginx)"
        ),
    }
}
