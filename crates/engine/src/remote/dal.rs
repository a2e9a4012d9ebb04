//! S3 and WebDAV remotes, through OpenDAL with our own HTTP transport (`http.rs`).
//!
//! The engine is synchronous (rayon threads); OpenDAL is async. Every remote shares one tokio
//! runtime owned by this module, and a call blocks its thread until the runtime has done the
//! work. Waiting on a channel rather than `Runtime::block_on` keeps a call from an async
//! context from panicking (it only blocks that thread).

use std::error::Error as StdError;
use std::sync::LazyLock;
use std::sync::mpsc;
use std::time::Duration;

use opendal::options::{ListOptions, ReadOptions};
use opendal::{ErrorKind, HttpTransporter, Operator, services};
use percent_encoding::percent_decode_str;

use super::failure::Failure;
use super::http::{ClientConfig, Fetcher};
use super::retry::RetryPolicy;
use super::{ObjectInfo, OpenOptions, Remote, RemoteError, RemoteKind, RemoteSpec};

static RUNTIME: LazyLock<Result<tokio::runtime::Runtime, String>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("syncdesk-remote")
        .build()
        .map_err(|e| e.to_string())
});

fn runtime() -> Result<&'static tokio::runtime::Runtime, RemoteError> {
    RUNTIME.as_ref().map_err(|e| RemoteError::Invalid {
        remote: String::new(),
        reason: format!("cannot start the network I/O threads: {e}"),
    })
}

const S3_CREDENTIALS: &str = "the access key id and the secret";
const WEBDAV_CREDENTIALS: &str = "the user name and the password";

/// A remote on an S3 bucket or a WebDAV server.
pub struct DalRemote {
    op: Operator,
    spec: RemoteSpec,
    runtime: tokio::runtime::Handle,
    credentials: &'static str,
}

// By hand: the operator's configuration holds the secret.
impl std::fmt::Debug for DalRemote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DalRemote")
            .field("remote", &self.spec.to_url())
            .finish_non_exhaustive()
    }
}

impl DalRemote {
    pub fn open(spec: &RemoteSpec, opts: &OpenOptions) -> Result<DalRemote, RemoteError> {
        let invalid = |reason: String| RemoteError::Invalid {
            remote: spec.to_url(),
            reason,
        };
        spec.validate().map_err(invalid)?;
        let secret = opts.secret.as_deref().filter(|s| !s.is_empty());
        let (op, root_path, credentials) = match spec.kind {
            RemoteKind::S3 => {
                let (op, root) = s3_operator(spec, secret).map_err(invalid)?;
                (op, root, S3_CREDENTIALS)
            }
            RemoteKind::Webdav => {
                let (op, root) = webdav_operator(spec, secret).map_err(invalid)?;
                (op, root, WEBDAV_CREDENTIALS)
            }
            RemoteKind::Local | RemoteKind::Gateway | RemoteKind::Aries => {
                return Err(invalid(format!(
                    "a {} remote is not opened through OpenDAL",
                    spec.provider_name()
                )));
            }
        };
        if spec.accept_invalid_certs {
            tracing::warn!(
                "certificate checks are off for {}: anyone between us and the server can read and change the data",
                spec.describe()
            );
        }
        let fetcher = Fetcher::new(ClientConfig {
            timeout: Duration::from_secs(spec.timeout_secs().into()),
            concurrency: spec.concurrency(),
            upload_limit: spec.upload_limit,
            download_limit: spec.download_limit,
            ca_cert: spec.ca_cert.clone(),
            accept_invalid_certs: spec.accept_invalid_certs,
            root_path,
            credentials,
            policy: RetryPolicy::default(),
            on_retry: opts.on_retry.clone(),
        })
        .map_err(|e| match e {
            RemoteError::Invalid { reason, .. } => invalid(reason),
            other => other,
        })?;
        let ctx = op
            .base_context()
            .with_http_transport(HttpTransporter::new(fetcher));
        Ok(DalRemote {
            op: op.with_context(ctx),
            spec: spec.clone(),
            runtime: runtime()?.handle().clone(),
            credentials,
        })
    }

    /// Runs an OpenDAL call on the shared runtime and waits for it.
    fn run<T, F>(&self, fut: F) -> opendal::Result<T>
    where
        T: Send + 'static,
        F: Future<Output = opendal::Result<T>> + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            // The caller only goes away with its thread; nothing to do then.
            let _ = tx.send(fut.await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(opendal::Error::new(
                ErrorKind::Unexpected,
                "the network I/O task stopped before answering",
            ))
        })
    }

    fn read_range(&self, key: &str, offset: u64, len: u64) -> opendal::Result<Vec<u8>> {
        let (op, path) = (self.op.clone(), key.to_owned());
        let opts = ReadOptions {
            range: (offset..offset.saturating_add(len)).into(),
            ..Default::default()
        };
        self.run(async move { op.read_options(&path, opts).await.map(|b| b.to_vec()) })
    }

    fn error(&self, op: &'static str, key: &str, e: opendal::Error) -> RemoteError {
        map_error(op, key, self.credentials, e)
    }
}

/// S3: the bucket's prefix is OpenDAL's root. Credentials come only from the spec and the
/// secret: no `AWS_*` variables, no `~/.aws` files, no instance metadata.
fn s3_operator(spec: &RemoteSpec, secret: Option<&str>) -> Result<(Operator, String), String> {
    let bucket = spec.bucket.as_deref().unwrap_or_default();
    let prefix = spec.prefix.as_deref().unwrap_or_default();
    let mut b = services::S3::default()
        .bucket(bucket)
        .region(spec.region())
        .root(&format!("/{prefix}"))
        .disable_config_load()
        .disable_ec2_metadata();
    if let Some(endpoint) = &spec.endpoint {
        b = b.endpoint(endpoint);
    }
    if !spec.path_style {
        b = b.enable_virtual_host_style();
    }
    b = match (spec.access_key_id.as_deref(), secret) {
        (Some(id), Some(secret)) => b.access_key_id(id).secret_access_key(secret),
        (Some(id), None) => {
            return Err(format!(
                "the secret access key for access key id {id} is missing: enter it in Settings"
            ));
        }
        (None, Some(_)) => {
            return Err(
                "a secret was given but the remote has no access key id (access_key_id=)".into(),
            );
        }
        // A public bucket: requests go unsigned.
        (None, None) => b.skip_signature(),
    };
    let op = build(b)?;
    let root = if spec.path_style {
        format!("/{bucket}/{prefix}")
    } else {
        format!("/{prefix}")
    };
    Ok((op, root))
}

/// WebDAV: the URL's path is OpenDAL's root, so keys stay relative to it.
fn webdav_operator(spec: &RemoteSpec, secret: Option<&str>) -> Result<(Operator, String), String> {
    let url = spec.url.as_deref().unwrap_or_default();
    let parsed = url::Url::parse(url).map_err(|e| format!("the WebDAV URL {url:?}: {e}"))?;
    let origin = parsed.origin().ascii_serialization();
    let path = percent_decode_str(parsed.path())
        .decode_utf8()
        .map_err(|_| format!("the WebDAV URL {url:?} has a path that is not UTF-8"))?
        .trim_end_matches('/')
        .to_owned();
    let mut b = services::Webdav::default()
        .endpoint(&origin)
        .root(&format!("{path}/"));
    b = match (spec.user.as_deref(), secret) {
        (Some(user), Some(password)) => b.username(user).password(password),
        (Some(user), None) => {
            return Err(format!(
                "the password of WebDAV user {user} is missing: enter it in Settings"
            ));
        }
        (None, Some(_)) => {
            return Err("a password was given but the remote has no user (user=)".into());
        }
        (None, None) => b,
    };
    Ok((build(b)?, format!("{path}/")))
}

fn build(builder: impl opendal::Builder) -> Result<Operator, String> {
    // The executor OpenDAL sets up looks for a tokio runtime.
    let _guard = RUNTIME.as_ref().map_err(Clone::clone)?.enter();
    Operator::new(builder).map_err(|e| format!("cannot set up the storage client: {e}"))
}

/// Our transport's own failures come back wrapped in OpenDAL's error; everything else is
/// OpenDAL's reading of the server's answer.
fn map_error(
    op: &'static str,
    key: &str,
    credentials: &'static str,
    e: opendal::Error,
) -> RemoteError {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(f) = err.downcast_ref::<Failure>() {
            return f.clone().into();
        }
        cur = err.source();
    }
    match e.kind() {
        ErrorKind::NotFound => RemoteError::NotFound { key: key.into() },
        ErrorKind::PermissionDenied => RemoteError::Auth {
            status: 403,
            what: credentials,
        },
        _ => RemoteError::Backend {
            op,
            key: key.into(),
            message: e.to_string(),
        },
    }
}

/// Keys are `a/b/c`: OpenDAL would quietly rewrite `/a`, `a//b` or ` a`, and `..` could leave
/// the remote's root on some servers.
fn check_key(op: &'static str, key: &str) -> Result<(), RemoteError> {
    let bad = key.is_empty()
        || key.trim() != key
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        return Err(RemoteError::Backend {
            op,
            key: key.into(),
            message: "not a valid object key (a/b/c, no empty, '.' or '..' parts)".into(),
        });
    }
    Ok(())
}

impl Remote for DalRemote {
    fn put(&self, key: &str, data: &[u8]) -> Result<(), RemoteError> {
        check_key("put", key)?;
        let (op, path, buf) = (self.op.clone(), key.to_owned(), data.to_vec());
        self.run(async move { op.write(&path, buf).await.map(|_| ()) })
            .map_err(|e| self.error("put", key, e))
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, RemoteError> {
        check_key("get", key)?;
        let (op, path) = (self.op.clone(), key.to_owned());
        self.run(async move { op.read(&path).await.map(|b| b.to_vec()) })
            .map_err(|e| self.error("get", key, e))
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, RemoteError> {
        check_key("get", key)?;
        if len == 0 {
            // Nothing to read, but a missing object is still an error, as for a local remote.
            return match self.stat(key)? {
                Some(_) => Ok(Vec::new()),
                None => Err(RemoteError::NotFound { key: key.into() }),
            };
        }
        match self.read_range(key, offset, len) {
            Ok(data) => Ok(data),
            // Starting at or past the end reads nothing, as a local file does.
            Err(e) if e.kind() == ErrorKind::RangeNotSatisfied => Ok(Vec::new()),
            Err(e) => match self.error("get", key, e) {
                // OpenDAL insists on the whole range; a range running past the end of the
                // object (rare: readers know their sizes) is read again up to the end.
                RemoteError::Backend { .. } => {
                    let err = |e| self.error("get", key, e);
                    let size = self
                        .stat(key)?
                        .ok_or_else(|| RemoteError::NotFound { key: key.into() })?
                        .size;
                    if offset >= size {
                        return Ok(Vec::new());
                    }
                    self.read_range(key, offset, len.min(size - offset))
                        .map_err(err)
                }
                other => Err(other),
            },
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RemoteError> {
        // List the directory the prefix is in, recursively, and keep what matches: S3 could
        // match a partial name itself, WebDAV cannot.
        let dir = match prefix.rfind('/') {
            Some(i) => &prefix[..=i],
            None => "",
        };
        if !dir.is_empty() {
            check_key("list", dir.trim_end_matches('/'))?;
        }
        let (op, path) = (
            self.op.clone(),
            if dir.is_empty() {
                "/".to_owned()
            } else {
                dir.to_owned()
            },
        );
        let opts = ListOptions {
            recursive: true,
            ..Default::default()
        };
        let entries = match self.run(async move { op.list_options(&path, opts).await }) {
            Ok(entries) => entries,
            // A prefix nothing was written under yet.
            Err(e) if e.kind() == ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.error("list", prefix, e)),
        };
        let mut out: Vec<ObjectInfo> = entries
            .into_iter()
            .filter(|e| e.metadata().is_file() && e.path().starts_with(prefix))
            .map(|e| ObjectInfo {
                size: e.metadata().content_length(),
                key: e.path().to_owned(),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), RemoteError> {
        check_key("delete", key)?;
        let (op, path) = (self.op.clone(), key.to_owned());
        match self.run(async move { op.delete(&path).await }) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.error("delete", key, e)),
        }
    }

    fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, RemoteError> {
        check_key("stat", key)?;
        let (op, path) = (self.op.clone(), key.to_owned());
        match self.run(async move { op.stat(&path).await }) {
            Ok(meta) if meta.is_dir() => Ok(None),
            Ok(meta) => Ok(Some(ObjectInfo {
                key: key.to_owned(),
                size: meta.content_length(),
            })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => match self.error("stat", key, e) {
                RemoteError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    fn describe(&self) -> String {
        self.spec.describe()
    }

    fn provider_name(&self) -> &'static str {
        self.spec.provider_name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_checked() {
        for bad in ["", "/a", "a/", "a//b", "a/../b", "./a", " a", "a "] {
            assert!(check_key("put", bad).is_err(), "{bad:?}");
        }
        for good in ["a", "main/heads/x", "a b/c.d", ".syncdesk-probe/x"] {
            assert!(check_key("put", good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn opening_needs_the_secret_that_goes_with_the_id() {
        let spec =
            RemoteSpec::parse("s3://b?endpoint=http://127.0.0.1:9&access_key_id=AK").unwrap();
        let err = DalRemote::open(&spec, &OpenOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("secret access key for access key id AK is missing"),
            "{err}"
        );
        let spec = RemoteSpec::parse("webdav+http://127.0.0.1:9/x?user=u").unwrap();
        let err = DalRemote::open(&spec, &OpenOptions::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("password of WebDAV user u is missing"),
            "{err}"
        );
        let spec = RemoteSpec::parse("webdav+http://127.0.0.1:9/x").unwrap();
        let opts = OpenOptions {
            secret: Some("pw".into()),
            on_retry: None,
        };
        assert!(DalRemote::open(&spec, &opts).is_err());
    }

    #[test]
    fn debug_output_holds_no_secret() {
        let spec =
            RemoteSpec::parse("s3://b?endpoint=http://127.0.0.1:9&access_key_id=AK").unwrap();
        let opts = OpenOptions {
            secret: Some("TOPSECRET".into()),
            on_retry: None,
        };
        let r = DalRemote::open(&spec, &opts).unwrap();
        let text = format!("{r:?} {opts:?}");
        assert!(!text.contains("TOPSECRET"), "{text}");
        assert!(text.contains("access_key_id=AK"), "{text}");
    }
}
