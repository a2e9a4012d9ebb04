//! What a remote is, without its secret. Its URL form (what a folder's settings keep) is in
//! `spec_url`.
//!
//! Secrets (the S3 secret access key, the WebDAV password) are never part of a spec: they live
//! in the OS keyring and are handed to [`super::open_spec`] separately.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::spec_url::check_http_url;

/// Seconds a request may go without progress before it is retried.
pub const DEFAULT_TIMEOUT_SECS: u32 = 60;
const MAX_TIMEOUT_SECS: u32 = 3600;
const MAX_CONCURRENCY: u32 = 256;
/// S3's region when none is given; S3-compatible servers mostly ignore it.
pub const DEFAULT_REGION: &str = "us-east-1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum RemoteKind {
    Local,
    S3,
    Webdav,
    /// A Syncdesk or FarBox-style gateway (seed 003) the folder is pushed to.
    Gateway,
    /// An Aries endpoint (seed 002) the folder's server definitions are pushed to.
    Aries,
}

impl RemoteKind {
    /// A push remote: the folder is mirrored to it by requests, there is no repository (no
    /// history, no encryption, no cloud name), and only this device writes it.
    pub fn is_push(self) -> bool {
        matches!(self, RemoteKind::Gateway | RemoteKind::Aries)
    }
}

/// A remote as the user configured it. Only the fields of its `kind` are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct RemoteSpec {
    pub kind: RemoteKind,
    /// Local: the absolute directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub path: Option<String>,
    /// S3: the server, `http(s)://host[:port]`; absent means AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub endpoint: Option<String>,
    /// S3: absent means `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub bucket: Option<String>,
    /// S3: the key prefix everything lives under, without leading or trailing `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub prefix: Option<String>,
    /// S3: `https://endpoint/bucket/key` (true) or `https://bucket.endpoint/key` (false).
    /// In a URL it defaults to true when an endpoint is given (what S3-compatible servers
    /// need) and false for AWS; in JSON it defaults to true.
    #[serde(default = "default_path_style")]
    pub path_style: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub access_key_id: Option<String>,
    /// WebDAV, gateway, Aries: the base URL, `http(s)://host[:port][/path]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub url: Option<String>,
    /// WebDAV: the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub user: Option<String>,
    /// Seconds a request may go without progress; absent means 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub timeout_secs: Option<u32>,
    /// Requests in flight at once; absent means 16 for S3, 4 for WebDAV, 8 for local.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub concurrency: Option<u32>,
    /// Bytes per second sent; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub upload_limit: Option<u64>,
    /// Bytes per second received; absent means unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub download_limit: Option<u64>,
    /// A PEM file with the certificate authority of a server with a private certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub ca_cert: Option<String>,
    /// Skips certificate checks (a test server with a self-signed certificate).
    #[serde(default)]
    pub accept_invalid_certs: bool,
    /// Gateway: whether the gateway passes pushed files on to its own remote; absent means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub push_to_cloud: Option<bool>,
    /// Gateway: the client-side rate limits, `MAX/WINDOW,…` (`2000/10m,5000/1h,25000/1d`);
    /// absent means the seed's account limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub limits: Option<String>,
}

fn default_path_style() -> bool {
    true
}

impl RemoteSpec {
    pub(super) fn empty(kind: RemoteKind) -> RemoteSpec {
        RemoteSpec {
            kind,
            path: None,
            endpoint: None,
            region: None,
            bucket: None,
            prefix: None,
            path_style: true,
            access_key_id: None,
            url: None,
            user: None,
            timeout_secs: None,
            concurrency: None,
            upload_limit: None,
            download_limit: None,
            ca_cert: None,
            accept_invalid_certs: false,
            push_to_cloud: None,
            limits: None,
        }
    }

    /// A local directory remote.
    pub fn local(path: impl Into<String>) -> RemoteSpec {
        RemoteSpec {
            path: Some(path.into()),
            ..RemoteSpec::empty(RemoteKind::Local)
        }
    }

    /// Whether the remote takes a secret: S3 with an access key id, WebDAV with a user, and
    /// always a gateway (its `fb_token`) or Aries (its bearer token).
    pub fn needs_secret(&self) -> bool {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        self.kind.is_push() || set(&self.access_key_id) || set(&self.user)
    }

    /// The provider as `getSyncInfo` reports it.
    pub fn provider_name(&self) -> &'static str {
        match self.kind {
            RemoteKind::Local => "Local",
            RemoteKind::S3 => "S3",
            RemoteKind::Webdav => "WebDAV",
            RemoteKind::Gateway => "Gateway",
            RemoteKind::Aries => "Aries",
        }
    }

    /// Gateway: whether pushed files go on to the gateway's own remote (`push_to_cloud`).
    pub fn push_to_cloud(&self) -> bool {
        self.push_to_cloud.unwrap_or(true)
    }

    /// Gateway: the client-side rate limits in effect (the seed's account limits by default).
    pub fn limit_rules(&self) -> Result<Vec<crate::ratelimit::Rule>, String> {
        match &self.limits {
            Some(text) => crate::ratelimit::parse_rules(text),
            None => Ok(crate::ratelimit::ACCOUNT_RULES.to_vec()),
        }
    }

    /// For people: "S3 bucket b at http://127.0.0.1:9000 (prefix p)".
    pub fn describe(&self) -> String {
        match self.kind {
            RemoteKind::Local => {
                format!(
                    "local directory {}",
                    self.path.as_deref().unwrap_or_default()
                )
            }
            RemoteKind::S3 => {
                let mut out = format!("S3 bucket {}", self.bucket.as_deref().unwrap_or_default());
                match &self.endpoint {
                    Some(e) => {
                        let _ = write!(out, " at {e}");
                    }
                    None => {
                        let _ = write!(out, " on AWS ({})", self.region());
                    }
                }
                if let Some(p) = self.prefix.as_deref().filter(|p| !p.is_empty()) {
                    let _ = write!(out, " (prefix {p})");
                }
                out
            }
            RemoteKind::Webdav => {
                let mut out = format!("WebDAV server {}", self.url.as_deref().unwrap_or_default());
                if let Some(u) = &self.user {
                    let _ = write!(out, " (user {u})");
                }
                out
            }
            RemoteKind::Gateway => {
                let mut out = format!("gateway {}", self.url.as_deref().unwrap_or_default());
                if !self.push_to_cloud() {
                    out.push_str(" (push_to_cloud off)");
                }
                if let Some(l) = &self.limits {
                    let _ = write!(out, " (limits {l})");
                }
                out
            }
            RemoteKind::Aries => {
                format!("Aries endpoint {}", self.url.as_deref().unwrap_or_default())
            }
        }
    }

    /// The request timeout in effect.
    pub fn timeout_secs(&self) -> u32 {
        self.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)
    }

    /// The number of requests in flight at once in effect.
    pub fn concurrency(&self) -> u32 {
        self.concurrency.unwrap_or(match self.kind {
            RemoteKind::Local => 8,
            RemoteKind::S3 => 16,
            // WebDAV servers (often a small NAS or a PHP app) do badly with many at once.
            RemoteKind::Webdav => 4,
            RemoteKind::Gateway | RemoteKind::Aries => 8,
        })
    }

    /// The S3 region in effect.
    pub fn region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }

    pub(super) fn common_options_empty(&self) -> bool {
        self.timeout_secs.is_none()
            && self.concurrency.is_none()
            && self.upload_limit.is_none()
            && self.download_limit.is_none()
            && self.ca_cert.is_none()
            && !self.accept_invalid_certs
    }

    /// Checks a spec however it was made (parsed or deserialized from JSON).
    pub fn validate(&self) -> Result<(), String> {
        if let Some(t) = self.timeout_secs
            && !(1..=MAX_TIMEOUT_SECS).contains(&t)
        {
            return Err(format!(
                "timeout must be between 1 and {MAX_TIMEOUT_SECS} seconds, not {t}"
            ));
        }
        if let Some(c) = self.concurrency
            && !(1..=MAX_CONCURRENCY).contains(&c)
        {
            return Err(format!(
                "concurrency must be between 1 and {MAX_CONCURRENCY}, not {c}"
            ));
        }
        if self.upload_limit == Some(0) || self.download_limit == Some(0) {
            return Err("a bandwidth limit of 0 means unlimited: leave it out instead".into());
        }
        if let Some(ca) = &self.ca_cert
            && !Path::new(ca).is_absolute()
        {
            return Err(format!(
                "ca_cert must be the absolute path of a PEM file, not {ca:?}"
            ));
        }
        if self.kind != RemoteKind::Gateway
            && (self.push_to_cloud.is_some() || self.limits.is_some())
        {
            return Err("push_to_cloud and limits are options of a gateway remote only".into());
        }
        match self.kind {
            RemoteKind::Local => {
                let path = self.path.as_deref().unwrap_or_default();
                if path.is_empty() {
                    return Err("a local remote needs a directory path".into());
                }
                if !Path::new(path).is_absolute() {
                    return Err(format!(
                        "a local remote needs an absolute directory path, not {path:?}"
                    ));
                }
                if self.upload_limit.is_some()
                    || self.download_limit.is_some()
                    || self.ca_cert.is_some()
                    || self.accept_invalid_certs
                    || self.timeout_secs.is_some()
                {
                    return Err(
                        "a local remote takes only the concurrency option (timeout, limits and certificates are for network remotes)"
                            .into(),
                    );
                }
            }
            RemoteKind::S3 => {
                let bucket = self.bucket.as_deref().unwrap_or_default();
                check_bucket(bucket)?;
                if !self.path_style && bucket.contains('.') {
                    return Err(format!(
                        "the bucket {bucket:?} contains a dot, which virtual-host style addressing cannot reach: use path_style=true"
                    ));
                }
                if let Some(p) = &self.prefix {
                    check_prefix(p)?;
                }
                if let Some(e) = &self.endpoint {
                    check_http_url("endpoint", e)?;
                }
                if let Some(r) = &self.region
                    && (r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
                {
                    return Err(format!("the region {r:?} is not a valid region name"));
                }
                if let Some(k) = &self.access_key_id
                    && (k.is_empty() || k.chars().any(|c| c.is_whitespace() || c.is_control()))
                {
                    return Err("the access key id is empty or contains spaces".into());
                }
            }
            RemoteKind::Webdav => {
                let url = self.url.as_deref().unwrap_or_default();
                if url.is_empty() {
                    return Err("a WebDAV remote needs its URL".into());
                }
                check_http_url("the WebDAV URL", url)?;
                if let Some(u) = &self.user
                    && (u.is_empty() || u.contains(':') || u.chars().any(char::is_control))
                {
                    return Err(format!(
                        "the user name {u:?} is empty or contains ':' or control characters"
                    ));
                }
            }
            RemoteKind::Gateway | RemoteKind::Aries => {
                let what = if self.kind == RemoteKind::Gateway {
                    "the gateway URL"
                } else {
                    "the Aries URL"
                };
                let url = self.url.as_deref().unwrap_or_default();
                if url.is_empty() {
                    return Err(format!("{what} is missing"));
                }
                check_http_url(what, url)?;
                if self.user.is_some() || self.access_key_id.is_some() {
                    return Err(format!(
                        "{what} takes no user or access key id: its token is the remote's secret, kept in the OS keyring"
                    ));
                }
                if self.upload_limit.is_some() || self.download_limit.is_some() {
                    return Err(
                        "a push remote takes no bandwidth limits (upload_limit, download_limit)"
                            .into(),
                    );
                }
                if let Some(l) = &self.limits {
                    crate::ratelimit::parse_rules(l).map_err(|e| format!("limits: {e}"))?;
                }
            }
        }
        Ok(())
    }
}

fn check_bucket(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("the S3 remote has no bucket".into());
    }
    if bucket.len() > 255
        || !bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(format!(
            "the bucket name {bucket:?} may only contain letters, digits, '.', '-' and '_'"
        ));
    }
    Ok(())
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    for segment in prefix.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(format!(
                "the prefix {prefix:?} has an empty, '.' or '..' part"
            ));
        }
        if segment.chars().any(char::is_control) {
            return Err(format!("the prefix {prefix:?} contains control characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_checks_json_input() {
        let mut spec = RemoteSpec::parse("s3://b?endpoint=http://h:9000").unwrap();
        assert!(spec.validate().is_ok());
        spec.endpoint = Some("http://h:9000/".into());
        assert!(spec.validate().unwrap_err().contains("should be written"));
        let json = r#"{"kind":"webdav","url":"http://h/dav"}"#;
        let spec: RemoteSpec = serde_json::from_str(json).unwrap();
        assert!(spec.validate().is_ok());
        assert_eq!(spec.to_url(), "webdav+http://h/dav");
        let json = r#"{"kind":"s3","bucket":"b","endpoint":"http://h"}"#;
        let spec: RemoteSpec = serde_json::from_str(json).unwrap();
        assert!(spec.path_style);
        assert_eq!(spec.to_url(), "s3://b?endpoint=http://h");
    }
}
