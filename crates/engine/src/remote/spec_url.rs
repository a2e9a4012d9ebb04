//! The URL form of a [`RemoteSpec`], as a folder's settings keep it:
//!
//! ```text
//! /srv/sync                                   a local directory (or file:///srv/sync)
//! s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&access_key_id=ID
//! webdav+https://dav.example.com/remote.php/dav?user=alice
//! gateway+https://site.example.com/base?push_to_cloud=false&limits=2000/10m,5000/1h
//! aries+https://aries.example.com
//! ```
//!
//! Options for every kind: `timeout` (seconds), `concurrency`, `upload_limit` and
//! `download_limit` (bytes per second; not for push remotes), `ca_cert` (a PEM file) and
//! `insecure=true`. A gateway also takes `push_to_cloud` (default true) and `limits` (the
//! client-side rate limits, default the seed's account limits).
//! A URL with a secret in it (a password before the host, `password=`, `secret_access_key=`)
//! is refused, and error messages never repeat one.

use std::fmt::Write as _;
use std::path::Path;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use url::Url;

use super::RemoteError;
use super::spec::{RemoteKind, RemoteSpec};

/// Keys that would put a secret into the URL.
const SECRET_KEYS: &[&str] = &[
    "secret",
    "secret_access_key",
    "secret_key",
    "password",
    "pass",
    "passwd",
    "token",
    "session_token",
    "fb_token",
];

const S3_KEYS: &[&str] = &["endpoint", "region", "path_style", "access_key_id"];
const WEBDAV_KEYS: &[&str] = &["user"];
const GATEWAY_KEYS: &[&str] = &["push_to_cloud", "limits"];
const COMMON_KEYS: &[&str] = &[
    "timeout",
    "concurrency",
    "upload_limit",
    "download_limit",
    "ca_cert",
    "insecure",
];

/// What a query value or a path segment must escape: the URL syntax characters that would
/// change its meaning. `:` and `/` stay readable (`endpoint=http://127.0.0.1:9000`).
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');
/// A path segment also escapes `/`.
const SEGMENT: &AsciiSet = &COMPONENT.add(b'/');

impl RemoteSpec {
    /// Parses a remote setting: an absolute path, `file://`, `s3://`, `webdav+http(s)://`,
    /// `gateway+http(s)://` or `aries+http(s)://`.
    pub fn parse(s: &str) -> Result<RemoteSpec, RemoteError> {
        let invalid = |reason: String| RemoteError::Invalid {
            remote: redact(s),
            reason,
        };
        let trimmed = s.trim();
        let lower = trimmed.to_ascii_lowercase();
        let spec = if lower.starts_with("s3://") {
            parse_s3(trimmed)
        } else if lower.starts_with("webdav+http://") || lower.starts_with("webdav+https://") {
            parse_webdav(trimmed)
        } else if lower.starts_with("gateway+http://") || lower.starts_with("gateway+https://") {
            parse_push(trimmed, RemoteKind::Gateway)
        } else if lower.starts_with("aries+http://") || lower.starts_with("aries+https://") {
            parse_push(trimmed, RemoteKind::Aries)
        } else if lower.starts_with("file:") {
            parse_file_url(trimmed)
        } else if let Some((scheme, _)) = trimmed.split_once("://") {
            Err(format!(
                "unknown remote type {scheme:?}: use an absolute directory path, file://, s3://, webdav+http(s)://, gateway+http(s):// or aries+http(s)://"
            ))
        } else {
            parse_local_path(trimmed)
        };
        let spec = spec.map_err(invalid)?;
        spec.validate().map_err(|reason| RemoteError::Invalid {
            remote: redact(s),
            reason,
        })?;
        Ok(spec)
    }

    /// The URL [`RemoteSpec::parse`] reads back into the same spec. A local remote without
    /// options is its plain path.
    pub fn to_url(&self) -> String {
        let mut query = Vec::<(&str, String)>::new();
        let mut out = match self.kind {
            RemoteKind::Local => {
                let path = self.path.clone().unwrap_or_default();
                if self.common_options_empty() {
                    return path;
                }
                file_url(&path)
            }
            RemoteKind::S3 => {
                let mut out = format!("s3://{}", self.bucket.as_deref().unwrap_or_default());
                if let Some(prefix) = self.prefix.as_deref().filter(|p| !p.is_empty()) {
                    for segment in prefix.split('/') {
                        out.push('/');
                        out.extend(utf8_percent_encode(segment, SEGMENT));
                    }
                }
                if let Some(e) = &self.endpoint {
                    query.push(("endpoint", e.clone()));
                }
                if let Some(r) = &self.region {
                    query.push(("region", r.clone()));
                }
                if self.path_style != self.endpoint.is_some() {
                    query.push(("path_style", self.path_style.to_string()));
                }
                if let Some(k) = &self.access_key_id {
                    query.push(("access_key_id", k.clone()));
                }
                out
            }
            RemoteKind::Webdav => {
                let out = format!("webdav+{}", self.url.as_deref().unwrap_or_default());
                if let Some(u) = &self.user {
                    query.push(("user", u.clone()));
                }
                out
            }
            RemoteKind::Gateway => {
                let out = format!("gateway+{}", self.url.as_deref().unwrap_or_default());
                if let Some(p) = self.push_to_cloud.filter(|p| !p) {
                    query.push(("push_to_cloud", p.to_string()));
                }
                if let Some(l) = &self.limits {
                    query.push(("limits", l.clone()));
                }
                out
            }
            RemoteKind::Aries => format!("aries+{}", self.url.as_deref().unwrap_or_default()),
        };
        if let Some(t) = self.timeout_secs {
            query.push(("timeout", t.to_string()));
        }
        if let Some(c) = self.concurrency {
            query.push(("concurrency", c.to_string()));
        }
        if let Some(l) = self.upload_limit {
            query.push(("upload_limit", l.to_string()));
        }
        if let Some(l) = self.download_limit {
            query.push(("download_limit", l.to_string()));
        }
        if let Some(c) = &self.ca_cert {
            query.push(("ca_cert", c.clone()));
        }
        if self.accept_invalid_certs {
            query.push(("insecure", "true".into()));
        }
        for (i, (k, v)) in query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            // Writing to a String cannot fail.
            let _ = write!(out, "{k}={}", utf8_percent_encode(v, COMPONENT));
        }
        out
    }
}

/// The URL of a remote setting with any secret in it blanked out, for error messages.
pub(crate) fn redact(s: &str) -> String {
    let (base, query) = match s.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (s, None),
    };
    let lower = base.to_ascii_lowercase();
    // Whatever stands before a push remote's host can only be its token.
    let base = if lower.starts_with("gateway+") || lower.starts_with("aries+") {
        without_userinfo(base)
    } else {
        without_password(base)
    };
    let Some(query) = query else {
        return base;
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_secret_key(k) => format!("{k}=***"),
            Some((k, v)) => {
                format!(
                    "{k}={}",
                    without_password(&percent_decode_str(v).decode_utf8_lossy())
                )
            }
            None => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// `scheme://user:password@host…` with the password replaced by `***`.
fn without_password(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
        return s.to_owned();
    };
    let authority_end = s[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(s.len(), |i| scheme_end + i);
    let authority = &s[scheme_end..authority_end];
    match authority.rsplit_once('@') {
        Some((userinfo, _)) => match percent_decode_str(userinfo)
            .decode_utf8_lossy()
            .split_once(':')
        {
            Some((user, _)) => format!(
                "{}{user}:***{}",
                &s[..scheme_end],
                &s[scheme_end + userinfo.len()..]
            ),
            None => s.to_owned(),
        },
        None => s.to_owned(),
    }
}

/// `scheme://userinfo@host…` with the whole user part replaced by `***`.
fn without_userinfo(s: &str) -> String {
    let Some(scheme_end) = s.find("://").map(|i| i + 3) else {
        return s.to_owned();
    };
    let authority_end = s[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(s.len(), |i| scheme_end + i);
    match s[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &s[..scheme_end], &s[scheme_end + at..]),
        None => s.to_owned(),
    }
}

fn is_secret_key(k: &str) -> bool {
    let k = decode(k).unwrap_or_default().to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str())
}

fn secret_refused(what: &str) -> String {
    format!(
        "the URL contains {what}: secrets are kept in the OS keyring and given separately (in Settings, or with `syncdesk-cli folder set-secret`), never in the remote URL"
    )
}

fn decode(s: &str) -> Result<String, String> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| format!("{s:?} is not valid UTF-8 once percent-decoded"))
}

/// The query of a remote URL: `key=value` pairs, percent-decoded (`+` stays a plus), each
/// key once, every key one this kind of remote knows.
fn parse_query(
    query: Option<&str>,
    kind_keys: &[&str],
    kind: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(out);
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k)?;
        let v = decode(v)?;
        if SECRET_KEYS.contains(&k.to_ascii_lowercase().as_str()) {
            return Err(secret_refused(&format!("a secret ({k}=)")));
        }
        if !kind_keys.contains(&k.as_str()) && !COMMON_KEYS.contains(&k.as_str()) {
            let mut known: Vec<&str> = kind_keys.to_vec();
            known.extend_from_slice(COMMON_KEYS);
            return Err(format!(
                "unknown option {k:?} for a {kind} remote (known: {})",
                known.join(", ")
            ));
        }
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(format!("the option {k:?} is given twice"));
        }
        if v.is_empty() {
            return Err(format!("the option {k:?} has no value"));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{key} must be true or false, not {v:?}")),
    }
}

fn parse_number<T: std::str::FromStr>(key: &str, v: &str, what: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{key} must be {what}, not {v:?}"))
}

/// Applies the options every kind shares; returns the pairs left for the kind.
fn apply_common(
    spec: &mut RemoteSpec,
    pairs: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, String> {
    let mut rest = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "timeout" => {
                spec.timeout_secs = Some(parse_number(&k, &v, "a whole number of seconds")?)
            }
            "concurrency" => spec.concurrency = Some(parse_number(&k, &v, "a whole number")?),
            "upload_limit" => {
                let l: u64 = parse_number(&k, &v, "a whole number of bytes per second")?;
                spec.upload_limit = (l > 0).then_some(l);
            }
            "download_limit" => {
                let l: u64 = parse_number(&k, &v, "a whole number of bytes per second")?;
                spec.download_limit = (l > 0).then_some(l);
            }
            "ca_cert" => spec.ca_cert = Some(v),
            "insecure" => spec.accept_invalid_certs = parse_bool(&k, &v)?,
            _ => rest.push((k, v)),
        }
    }
    Ok(rest)
}

fn parse_local_path(s: &str) -> Result<RemoteSpec, String> {
    if s.is_empty() {
        return Err("the remote is empty: give a directory path or a URL".into());
    }
    if !Path::new(s).is_absolute() {
        return Err(format!(
            "a local remote needs an absolute directory path, not {s:?}"
        ));
    }
    Ok(RemoteSpec::local(s))
}

fn parse_file_url(s: &str) -> Result<RemoteSpec, String> {
    let rest = s
        .get(.."file://".len())
        .filter(|scheme| scheme.eq_ignore_ascii_case("file://"))
        .map(|scheme| &s[scheme.len()..])
        .ok_or_else(|| format!("a file URL starts with file:///, not {s:?}"))?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = match path.strip_prefix("localhost") {
        Some(p) => p,
        None => path,
    };
    if !path.starts_with('/') {
        return Err(format!(
            "a file URL needs an absolute path (file:///dir), not {s:?}"
        ));
    }
    let mut path = decode(path)?;
    // file:///C:/dir names a Windows drive.
    if cfg!(windows) && path.len() > 2 && path.as_bytes()[2] == b':' {
        path.remove(0);
    }
    let mut spec = RemoteSpec::local(path);
    let rest = apply_common(&mut spec, parse_query(query, &[], "local")?)?;
    debug_assert!(rest.is_empty(), "parse_query only lets known keys through");
    Ok(spec)
}

fn file_url(path: &str) -> String {
    let mut out = String::from("file://");
    let path = path.replace('\\', "/");
    if !path.starts_with('/') {
        out.push('/');
    }
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        out.extend(utf8_percent_encode(segment, SEGMENT));
    }
    out
}

/// Splits `scheme://authority/path?query` by hand: `url` would normalize an S3 bucket or
/// refuse characters we want to report precisely.
struct Parts<'a> {
    userinfo: Option<&'a str>,
    authority: &'a str,
    path: &'a str,
    query: Option<&'a str>,
}

fn split_url<'a>(rest: &'a str, s: &str) -> Result<Parts<'a>, String> {
    if rest.contains('#') {
        return Err(format!(
            "{s:?} has a #fragment, which a remote URL cannot have"
        ));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    let (userinfo, authority) = match authority.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, authority),
    };
    Ok(Parts {
        userinfo,
        authority,
        path,
        query,
    })
}

fn parse_s3(s: &str) -> Result<RemoteSpec, String> {
    let parts = split_url(&s["s3://".len()..], s)?;
    if let Some(userinfo) = parts.userinfo {
        if userinfo.contains(':') || userinfo.to_ascii_lowercase().contains("%3a") {
            return Err(secret_refused("a password in the user part (id:secret@)"));
        }
        return Err(
            "put the access key id in the access_key_id= option, not before the bucket".into(),
        );
    }
    let bucket = decode(parts.authority)?;
    if bucket.is_empty() {
        return Err("the S3 URL has no bucket: s3://<bucket>/<prefix>?endpoint=…".into());
    }
    let mut spec = RemoteSpec {
        bucket: Some(bucket),
        ..RemoteSpec::empty(RemoteKind::S3)
    };
    let prefix = parts.path.trim_matches('/');
    if !prefix.is_empty() {
        let segments: Result<Vec<String>, String> = prefix.split('/').map(decode).collect();
        spec.prefix = Some(segments?.join("/"));
    }
    let mut path_style = None;
    for (k, v) in apply_common(&mut spec, parse_query(parts.query, S3_KEYS, "S3")?)? {
        match k.as_str() {
            "endpoint" => spec.endpoint = Some(normalize_http_url("endpoint", &v)?),
            "region" => spec.region = Some(v),
            "path_style" => path_style = Some(parse_bool(&k, &v)?),
            "access_key_id" => spec.access_key_id = Some(v),
            _ => unreachable!("parse_query only lets S3 and common keys through"),
        }
    }
    spec.path_style = path_style.unwrap_or(spec.endpoint.is_some());
    Ok(spec)
}

fn parse_webdav(s: &str) -> Result<RemoteSpec, String> {
    let inner = &s["webdav+".len()..];
    let (scheme, rest) = inner
        .split_once("://")
        .ok_or_else(|| format!("{s:?} is not a webdav+http(s):// URL"))?;
    let parts = split_url(rest, s)?;
    let mut spec = RemoteSpec::empty(RemoteKind::Webdav);
    if let Some(userinfo) = parts.userinfo {
        let userinfo = decode(userinfo)?;
        if userinfo.contains(':') {
            return Err(secret_refused(
                "a password in the user part (user:password@)",
            ));
        }
        spec.user = Some(userinfo);
    }
    let base = format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        parts.authority,
        parts.path
    );
    spec.url = Some(normalize_http_url("the WebDAV URL", &base)?);
    for (k, v) in apply_common(&mut spec, parse_query(parts.query, WEBDAV_KEYS, "WebDAV")?)? {
        match k.as_str() {
            "user" => {
                if spec.user.is_some() {
                    return Err("the user is given twice (before the host and as user=)".into());
                }
                spec.user = Some(v);
            }
            _ => unreachable!("parse_query only lets WebDAV and common keys through"),
        }
    }
    Ok(spec)
}

/// `gateway+http(s)://host[:port][/base]?push_to_cloud=…&limits=…` or
/// `aries+http(s)://host[:port][/base]`. The token is the remote's secret, never in the URL.
fn parse_push(s: &str, kind: RemoteKind) -> Result<RemoteSpec, String> {
    let (prefix, name, keys) = match kind {
        RemoteKind::Gateway => ("gateway+", "gateway", GATEWAY_KEYS),
        _ => ("aries+", "Aries", &[][..]),
    };
    let inner = &s[prefix.len()..];
    let (scheme, rest) = inner
        .split_once("://")
        .ok_or_else(|| format!("{s:?} is not a {prefix}http(s):// URL"))?;
    let parts = split_url(rest, s)?;
    if parts.userinfo.is_some() {
        return Err(secret_refused(&format!(
            "a user or token before the host (the {name} token)"
        )));
    }
    let mut spec = RemoteSpec::empty(kind);
    let base = format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        parts.authority,
        parts.path
    );
    spec.url = Some(normalize_http_url(&format!("the {name} URL"), &base)?);
    for (k, v) in apply_common(&mut spec, parse_query(parts.query, keys, name)?)? {
        match k.as_str() {
            // Written only when off: on is the default.
            "push_to_cloud" => spec.push_to_cloud = (!parse_bool(&k, &v)?).then_some(false),
            "limits" => {
                let rules =
                    crate::ratelimit::parse_rules(&v).map_err(|e| format!("limits: {e}"))?;
                spec.limits = Some(crate::ratelimit::format_rules(&rules));
            }
            _ => unreachable!("parse_query only lets gateway and common keys through"),
        }
    }
    Ok(spec)
}

/// `http(s)://host[:port][/path]` with the host lowercased, the default port and a trailing
/// `/` dropped, and the path percent-encoded once.
fn normalize_http_url(what: &str, s: &str) -> Result<String, String> {
    let url = Url::parse(s).map_err(|e| format!("{what} {s:?} is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{what} must start with http:// or https://, not {s:?}"
        ));
    }
    if url.password().is_some() {
        return Err(secret_refused(&format!("a password in {what}")));
    }
    if !url.username().is_empty() {
        return Err(format!(
            "{what} must not carry a user name (use the user= option)"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{what} must not have a ?query or #fragment"));
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("{what} {s:?} has no host"))?;
    let mut out = format!("{}://{host}", url.scheme());
    if let Some(port) = url.port() {
        let _ = write!(out, ":{port}");
    }
    out.push_str(url.path().trim_end_matches('/'));
    Ok(out)
}

pub(super) fn check_http_url(what: &str, s: &str) -> Result<(), String> {
    let normalized = normalize_http_url(what, s)?;
    if normalized != s {
        return Err(format!(
            "{what} should be written {normalized:?}, not {s:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        match RemoteSpec::parse(s) {
            Err(RemoteError::Invalid { reason, .. }) => reason,
            other => panic!("{s}: expected Invalid, got {other:?}"),
        }
    }

    fn roundtrip(url: &str) -> RemoteSpec {
        let spec = RemoteSpec::parse(url).unwrap();
        assert_eq!(spec.to_url(), url, "to_url of {url}");
        assert_eq!(RemoteSpec::parse(&spec.to_url()).unwrap(), spec);
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<RemoteSpec>(&json).unwrap(), spec);
        spec
    }

    #[test]
    fn local_paths() {
        let spec = roundtrip("/srv/sync dir");
        assert_eq!(spec.kind, RemoteKind::Local);
        assert_eq!(spec.path.as_deref(), Some("/srv/sync dir"));
        assert_eq!(spec.provider_name(), "Local");
        assert_eq!(spec.describe(), "local directory /srv/sync dir");
        assert_eq!(spec.concurrency(), 8);

        let spec = RemoteSpec::parse("file:///srv/a%20b/c").unwrap();
        assert_eq!(spec.path.as_deref(), Some("/srv/a b/c"));
        assert_eq!(spec.to_url(), "/srv/a b/c");
        let spec = roundtrip("file:///srv/a%20b%3Fc?concurrency=3");
        assert_eq!(spec.path.as_deref(), Some("/srv/a b?c"));
        assert_eq!(spec.concurrency(), 3);
        // A plain path may contain '?': it is not a URL.
        assert_eq!(
            RemoteSpec::parse("/srv/what?x=1").unwrap().path.as_deref(),
            Some("/srv/what?x=1")
        );
    }

    #[test]
    fn local_errors() {
        assert!(reason("relative/dir").contains("absolute"));
        assert!(reason("").contains("empty"));
        assert!(reason("file://relative").contains("absolute path"));
        assert!(reason("file:///srv?timeout=3").contains("only the concurrency"));
        assert!(reason("file:///srv?bogus=1").contains("unknown option \"bogus\""));
        assert!(reason("ftp://host/x").contains("unknown remote type \"ftp\""));
    }

    #[test]
    fn s3_urls() {
        let spec = roundtrip(
            "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&access_key_id=AKID",
        );
        assert_eq!(spec.kind, RemoteKind::S3);
        assert_eq!(spec.bucket.as_deref(), Some("bucket"));
        assert_eq!(spec.prefix.as_deref(), Some("some/prefix"));
        assert_eq!(spec.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(spec.region(), "eu-west-1");
        assert!(spec.path_style, "path style by default with an endpoint");
        assert_eq!(spec.access_key_id.as_deref(), Some("AKID"));
        assert_eq!(spec.provider_name(), "S3");
        assert_eq!(spec.concurrency(), 16);
        assert_eq!(spec.timeout_secs(), 60);
        assert_eq!(
            spec.describe(),
            "S3 bucket bucket at http://127.0.0.1:9000 (prefix some/prefix)"
        );

        let aws = roundtrip("s3://bucket");
        assert!(!aws.path_style, "virtual-host style by default on AWS");
        assert_eq!(aws.region(), "us-east-1");
        assert_eq!(aws.describe(), "S3 bucket bucket on AWS (us-east-1)");
        assert!(roundtrip("s3://bucket?path_style=true").path_style);
        assert!(!roundtrip("s3://bucket?endpoint=https://minio.local&path_style=false").path_style);

        // Normalized on the way in.
        let spec =
            RemoteSpec::parse("S3://b/p/?endpoint=http://LOCALHOST:80/&path_style=1").unwrap();
        assert_eq!(spec.to_url(), "s3://b/p?endpoint=http://localhost");
        // Percent-encoding in the prefix and the values.
        let spec = roundtrip("s3://b/a%20b/c%2Bd?access_key_id=a%26b%3Dc%2B");
        assert_eq!(spec.prefix.as_deref(), Some("a b/c+d"));
        assert_eq!(spec.access_key_id.as_deref(), Some("a&b=c+"));
    }

    #[test]
    fn every_common_option() {
        let spec = roundtrip(
            "s3://b?endpoint=https://s3.example.com&timeout=5&concurrency=2&upload_limit=1000&download_limit=2000&ca_cert=/etc/ca%20dir/ca.pem&insecure=true",
        );
        assert_eq!(spec.timeout_secs, Some(5));
        assert_eq!(spec.concurrency, Some(2));
        assert_eq!(spec.upload_limit, Some(1000));
        assert_eq!(spec.download_limit, Some(2000));
        assert_eq!(spec.ca_cert.as_deref(), Some("/etc/ca dir/ca.pem"));
        assert!(spec.accept_invalid_certs);
        // 0 is unlimited, false is the default: both vanish.
        let spec = RemoteSpec::parse("webdav+http://h/x?upload_limit=0&insecure=false").unwrap();
        assert_eq!(spec.upload_limit, None);
        assert_eq!(spec.to_url(), "webdav+http://h/x");
    }

    #[test]
    fn webdav_urls() {
        let spec = roundtrip("webdav+http://127.0.0.1:8080/dav/sync?user=alice");
        assert_eq!(spec.kind, RemoteKind::Webdav);
        assert_eq!(spec.url.as_deref(), Some("http://127.0.0.1:8080/dav/sync"));
        assert_eq!(spec.user.as_deref(), Some("alice"));
        assert_eq!(spec.provider_name(), "WebDAV");
        assert_eq!(spec.concurrency(), 4);
        assert_eq!(
            spec.describe(),
            "WebDAV server http://127.0.0.1:8080/dav/sync (user alice)"
        );
        roundtrip("webdav+https://dav.example.com");
        roundtrip("webdav+https://dav.example.com/remote.php/dav/files/a%20b?timeout=10");
        // A user before the host is read like user=.
        let spec = RemoteSpec::parse("webdav+https://bob@dav.example.com/").unwrap();
        assert_eq!(spec.user.as_deref(), Some("bob"));
        assert_eq!(spec.to_url(), "webdav+https://dav.example.com?user=bob");
    }

    #[test]
    fn gateway_urls() {
        let spec = roundtrip("gateway+https://site.example.com/base");
        assert_eq!(spec.kind, RemoteKind::Gateway);
        assert_eq!(spec.url.as_deref(), Some("https://site.example.com/base"));
        assert!(spec.push_to_cloud());
        assert!(spec.needs_secret(), "the fb_token is always needed");
        assert!(spec.kind.is_push());
        assert_eq!(spec.provider_name(), "Gateway");
        assert_eq!(spec.concurrency(), 8);
        assert_eq!(spec.describe(), "gateway https://site.example.com/base");
        assert_eq!(
            spec.limit_rules().unwrap(),
            crate::ratelimit::ACCOUNT_RULES.to_vec()
        );

        let spec = roundtrip(
            "gateway+http://127.0.0.1:8080?push_to_cloud=false&limits=3/2s&timeout=5&concurrency=2&insecure=true",
        );
        assert!(!spec.push_to_cloud());
        assert_eq!(spec.limits.as_deref(), Some("3/2s"));
        assert_eq!(spec.limit_rules().unwrap().len(), 1);
        assert_eq!(spec.concurrency(), 2);
        assert_eq!(
            spec.describe(),
            "gateway http://127.0.0.1:8080 (push_to_cloud off) (limits 3/2s)"
        );
        roundtrip("gateway+https://h?limits=2000/10m,5000/1h,25000/1d&ca_cert=/etc/ca.pem");

        // Normalized on the way in: the default push_to_cloud vanishes, the host is lowercased.
        let spec =
            RemoteSpec::parse("GATEWAY+HTTPS://Site.Example.com:443/?push_to_cloud=yes").unwrap();
        assert_eq!(spec.to_url(), "gateway+https://site.example.com");
        assert_eq!(spec.push_to_cloud, None);
    }

    #[test]
    fn aries_urls() {
        let spec = roundtrip("aries+https://aries.example.com/api");
        assert_eq!(spec.kind, RemoteKind::Aries);
        assert!(spec.needs_secret());
        assert!(spec.kind.is_push());
        assert_eq!(spec.provider_name(), "Aries");
        assert_eq!(spec.concurrency(), 8);
        assert_eq!(
            spec.describe(),
            "Aries endpoint https://aries.example.com/api"
        );
        roundtrip("aries+http://127.0.0.1:9000?timeout=10&concurrency=1");
    }

    #[test]
    fn push_remote_errors() {
        assert!(reason("gateway+https://h?limits=abc").contains("limits"));
        assert!(reason("gateway+https://h?push_to_cloud=maybe").contains("push_to_cloud"));
        assert!(reason("gateway+https://h?upload_limit=10").contains("bandwidth"));
        assert!(reason("aries+https://h?push_to_cloud=false").contains("unknown option"));
        assert!(reason("aries+https://h?limits=3/2s").contains("unknown option"));
        assert!(reason("s3://b?limits=3/2s").contains("unknown option"));
        assert!(reason("gateway+https://h?user=x").contains("unknown option"));
        assert!(reason("gateway+ftp://h").contains("unknown remote type"));
        assert!(reason("gateway+https://").contains("not a valid URL"));
        for url in [
            "gateway+https://h?fb_token=TOPSECRET",
            "gateway+https://TOPSECRET@h",
            "aries+https://me:TOPSECRET@h",
            "aries+https://h?token=TOPSECRET",
        ] {
            let err = RemoteSpec::parse(url).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("OS keyring"), "{url}: {text}");
            assert!(!text.contains("TOPSECRET"), "{url} leaks: {text}");
        }
        // JSON input is checked too.
        let json = r#"{"kind":"s3","bucket":"b","limits":"3/2s"}"#;
        let spec: RemoteSpec = serde_json::from_str(json).unwrap();
        assert!(spec.validate().unwrap_err().contains("gateway remote only"));
        let json = r#"{"kind":"gateway","url":"http://h","pushToCloud":false}"#;
        let spec: RemoteSpec = serde_json::from_str(json).unwrap();
        assert_eq!(spec.to_url(), "gateway+http://h?push_to_cloud=false");
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(reason("s3://").contains("no bucket"));
        assert!(reason("s3:///prefix").contains("no bucket"));
        assert!(reason("s3://b?foo=1").contains("unknown option \"foo\""));
        assert!(reason("s3://b?user=x").contains("unknown option \"user\""));
        assert!(reason("webdav+http://h?region=x").contains("unknown option \"region\""));
        assert!(reason("s3://b?timeout=abc").contains("timeout must be a whole number"));
        assert!(reason("s3://b?timeout=0").contains("timeout must be between"));
        assert!(reason("s3://b?concurrency=-1").contains("concurrency must be"));
        assert!(reason("s3://b?concurrency=1000").contains("concurrency must be between"));
        assert!(reason("s3://b?upload_limit=1.5").contains("upload_limit must be"));
        assert!(reason("s3://b?download_limit=x").contains("download_limit must be"));
        assert!(reason("s3://b?insecure=maybe").contains("insecure must be true or false"));
        assert!(reason("s3://b?path_style=x").contains("path_style must be"));
        assert!(reason("s3://b?ca_cert=ca.pem").contains("absolute path"));
        assert!(reason("s3://b?timeout=1&timeout=2").contains("given twice"));
        assert!(reason("s3://b?region=").contains("no value"));
        assert!(reason("s3://b?endpoint=ftp://x").contains("http:// or https://"));
        assert!(reason("s3://b?endpoint=nonsense").contains("not a valid URL"));
        assert!(reason("s3://b?region=us%20east").contains("region"));
        assert!(reason("s3://b/a/../c").contains("'..'"));
        assert!(reason("s3://bad%2Fbucket").contains("bucket name"));
        assert!(reason("s3://a.b?endpoint=http://h&path_style=false").contains("dot"));
        assert!(reason("s3://b#frag").contains("fragment"));
        assert!(reason("s3://b/%FF").contains("UTF-8"));
        assert!(reason("s3://id@bucket").contains("access_key_id="));
        assert!(reason("webdav+http://").contains("not a valid URL"));
        assert!(reason("webdav+http://h/x?user=a&user=b").contains("given twice"));
        assert!(reason("webdav+http://a@h/x?user=b").contains("given twice"));
        assert!(reason("webdav+http://h/x?q=1").contains("unknown option"));
    }

    #[test]
    fn secrets_are_refused_and_never_echoed() {
        for url in [
            "s3://b?secret_access_key=TOPSECRET",
            "s3://b?access_key_id=a&Password=TOPSECRET",
            "webdav+https://alice:TOPSECRET@h/x",
            "webdav+https://h/x?password=TOPSECRET",
            "s3://id:TOPSECRET@bucket",
            "s3://b?endpoint=http://u:TOPSECRET@h",
            "s3://b?endpoint=http%3A%2F%2Fu%3ATOPSECRET%40h",
            "webdav+https://alice%3ATOPSECRET@h/x",
            "s3://id%3aTOPSECRET@bucket",
            "webdav+https://h/x?sEcReT=TOPSECRET",
        ] {
            let err = RemoteSpec::parse(url).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("OS keyring"), "{url}: {text}");
            assert!(!text.contains("TOPSECRET"), "{url} leaks: {text}");
        }
    }
}
