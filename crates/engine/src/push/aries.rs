//! The Aries connector (seed 002): the folder holds one JSON file per server (`*.json`
//! anywhere in it, `.syncignore` honoured); a push checks them all locally with the seed's
//! InvalidParameter rules, then sends them as ONE batch, `GET {base}/aries/api/v1/sync` with
//! `{"data": [...]}` in path order and the folder's secret as a bearer token.
//!
//! - Any invalid file fails the push, listing every problem, and nothing is sent.
//! - A batch equal to the last one the endpoint accepted is not sent again (its digest is
//!   kept in `push_state` at the path `""`), unless the push is forced (`force`, force-push).
//! - An error answer is attributed to the servers it names (see `attribute`), each shown in
//!   the job's log and metadata (`server:<name>`); the job then fails with "N of M servers
//!   failed: …". The digest is recorded only for an accepted batch, so a failed one is sent
//!   again next time.
//! - An endpoint cannot be pulled from: force-pull is refused.

mod attribute;
// The connection test (`push::probe`) uses the same client.
pub(super) mod client;
mod validate;

use std::collections::{BTreeMap, HashMap};
use std::fs;

use bytes::Bytes;

use crate::model::{LogLevel, Phase, PushMode, SyncJobStats, SyncPreview};
use crate::relpath::{self, RelPath};
use crate::scan::{self, LocalKind, ScanError, ScanOptions};
use crate::store::StoreError;
use crate::sync::{SyncOptions, SyncOutcome};

pub use client::{SEED_CODES, SYNC_PATH};
pub use validate::{Problem, Server, Source, check};

/// Where the digest of the last accepted batch is kept in `push_state`.
const BATCH_KEY: &[u8] = b"";

/// How many failed servers the job's message names before "and N more".
const NAMED_IN_MESSAGE: usize = 3;

/// Why an Aries push failed as a whole. Errors of single servers are not errors here: they
/// are in the outcome (a failed job with per-server detail).
#[derive(Debug, thiserror::Error)]
pub enum AriesError {
    #[error(
        "an Aries endpoint cannot be pulled from: it only receives this folder's server definitions; sync normally or force-push instead"
    )]
    CannotPull,
    #[error("the Aries remote has no URL; set it as aries+http(s)://host[:port][/base]")]
    NoUrl,
    #[error("the Aries remote {url} is not usable: {reason}")]
    Setup { url: String, reason: String },
    #[error(
        "the Aries endpoint needs a bearer token: set the folder's secret (in Settings, or with `syncdesk-cli folder set-secret`)"
    )]
    NoToken,
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{problems} problem(s) in {files} of {total} server file(s); nothing was sent to the Aries endpoint. Fix them and sync again:\n{details}"
    )]
    Invalid {
        problems: usize,
        files: usize,
        total: usize,
        /// One problem a line: `file: $.json.path: what is wrong`.
        details: String,
    },
    #[error(
        "the Aries endpoint refused the token (HTTP {status}{}): check the folder's secret (in Settings, or with `syncdesk-cli folder set-secret`)",
        said(.message)
    )]
    Auth { status: u16, message: String },
    #[error(
        "cannot reach the Aries endpoint {host}: {reason} (tried {attempts} times); check the address, the network and that the endpoint is running"
    )]
    Unreachable {
        host: String,
        reason: String,
        attempts: u32,
    },
    #[error(
        "the secure connection to the Aries endpoint {host} failed: {reason}; if it uses a certificate from a private authority, set its CA certificate (ca_cert) in the remote's options"
    )]
    Tls { host: String, reason: String },
    #[error(
        "the Aries endpoint answered HTTP {status} to GET {url}{} (tried {attempts} times): this is not one of the seed's answers; check the remote's URL (aries+http(s)://host[:port][/base])",
        said(.body)
    )]
    Http {
        status: u16,
        url: String,
        body: String,
        attempts: u32,
    },
    #[error(
        "the Aries endpoint answered HTTP {status} without the seed's {{\"success\": true}}{}",
        said(.body)
    )]
    UnexpectedAnswer { status: u16, body: String },
}

impl AriesError {
    /// A stable code for programs, like `EngineError::code`.
    pub fn code(&self) -> &'static str {
        match self {
            AriesError::CannotPull
            | AriesError::NoUrl
            | AriesError::Setup { .. }
            | AriesError::Invalid { .. } => "invalid_request",
            AriesError::NoToken | AriesError::Auth { .. } => "credentials",
            AriesError::Unreachable { .. } | AriesError::Tls { .. } => "unreachable",
            AriesError::Scan(_)
            | AriesError::Store(_)
            | AriesError::Http { .. }
            | AriesError::UnexpectedAnswer { .. } => "internal",
        }
    }
}

fn said(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Pushes the folder's server definitions to its Aries endpoint in one batch.
pub fn run(ctx: &super::PushContext<'_>, opts: &SyncOptions) -> Result<SyncOutcome, AriesError> {
    if opts.mode == PushMode::ForcePull {
        return Err(AriesError::CannotPull);
    }
    let reporter = ctx.reporter;
    let name = ctx.folder.name.as_str();
    let root = ctx.folder.path.as_path();
    let client = client::Client::new(ctx.spec)?;
    let mut metadata = BTreeMap::new();
    metadata.insert("mode".to_owned(), opts.mode.as_str().to_owned());
    metadata.insert("endpoint".to_owned(), client.url().to_owned());

    reporter.phase(Phase::Scanning, 0, 0);
    scan::check_root(root)?;
    let sources = read_server_files(ctx)?;
    let checked = validate::check(&sources);
    for note in &checked.notes {
        reporter.log(LogLevel::Warn, note);
    }
    let mut stats = SyncJobStats {
        files_scanned: sources.len() as u64,
        ..Default::default()
    };
    if !checked.problems.is_empty() {
        for p in &checked.problems {
            reporter.log(LogLevel::Error, &p.to_string());
        }
        let details: Vec<String> = checked.problems.iter().map(|p| format!("- {p}")).collect();
        return Err(AriesError::Invalid {
            problems: checked.problems.len(),
            files: checked.files_with_problems(),
            total: sources.len(),
            details: details.join("\n"),
        });
    }
    let servers = checked.servers;
    metadata.insert("servers".to_owned(), servers.len().to_string());
    let mut preview = SyncPreview {
        folder: name.to_owned(),
        mode: opts.mode,
        ..Default::default()
    };
    if servers.is_empty() {
        // An empty batch could read as "no servers"; a folder that lost its files (or is not
        // mounted) must not say that.
        reporter.log(
            LogLevel::Info,
            "no server files (*.json) in the folder; nothing was sent",
        );
        metadata.insert("sent".to_owned(), "false".to_owned());
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }

    let values: Vec<&serde_json::Value> = servers.iter().map(|s| &s.value).collect();
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({ "data": values }))
            // Values parsed from JSON always serialize.
            .map_err(|e| AriesError::Setup {
                url: client.url().to_owned(),
                reason: format!("cannot encode the batch: {e}"),
            })?,
    );
    let digest = blake3::hash(&body).as_bytes().to_vec();
    let forced = opts.force || opts.mode == PushMode::ForcePush;
    let last = ctx.store.push_entry(name, BATCH_KEY)?.flatten();
    if !forced && last.as_deref() == Some(digest.as_slice()) {
        reporter.log(
            LogLevel::Info,
            &format!(
                "the {} server definition(s) are unchanged since the endpoint last accepted them; nothing was sent",
                servers.len()
            ),
        );
        metadata.insert("sent".to_owned(), "false".to_owned());
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }
    preview.upload = servers.iter().map(|s| s.file.clone()).collect();
    if opts.dry_run {
        metadata.insert("sent".to_owned(), "false".to_owned());
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }
    let token = ctx.secret.expose();
    if token.is_empty() {
        return Err(AriesError::NoToken);
    }

    reporter.phase(Phase::Uploading, 1, body.len() as u64);
    reporter.log(
        LogLevel::Info,
        &format!(
            "sending {} server definition(s) ({} bytes) to {}",
            servers.len(),
            body.len(),
            client.url()
        ),
    );
    let answer = client.send(&body, token, &|m| {
        reporter.log(LogLevel::Warn, m);
        reporter.retry(m);
    })?;
    reporter.advance(1, body.len() as u64, None);
    metadata.insert("sent".to_owned(), "true".to_owned());
    stats.bytes_uploaded = body.len() as u64;

    let (code, message, named) = match answer {
        client::Answer::Accepted => {
            reporter.phase(Phase::Committing, 0, 0);
            ctx.store
                .record_push(name, &[(BATCH_KEY.to_vec(), Some(digest))], &[])?;
            for s in &servers {
                reporter.log(LogLevel::Info, &format!("{} ({}): synced", s.name, s.file));
            }
            stats.files_uploaded = servers.len() as u64;
            return Ok(SyncOutcome::succeeded(preview, stats, metadata));
        }
        client::Answer::NotSuccessful(body) => (
            "SyncFailed".to_owned(),
            format!("the endpoint answered {body}"),
            (0..servers.len()).collect(),
        ),
        client::Answer::Refused {
            code,
            message,
            servers: listed,
            ..
        } => {
            let named = attribute::servers_named(&servers, &code, &message, listed.as_deref());
            (code, message, named)
        }
    };

    let mut failures = Vec::new();
    for (i, s) in servers.iter().enumerate() {
        if named.contains(&i) {
            let why = format!("{code}: {message}");
            reporter.log(LogLevel::Error, &format!("{} ({}): {why}", s.name, s.file));
            metadata.insert(format!("server:{}", s.name), why.clone());
            failures.push(format!("{}: {why}", s.name));
        } else {
            reporter.log(
                LogLevel::Warn,
                &format!(
                    "{} ({}): not confirmed, the endpoint refused the batch for another server; it is sent again next time",
                    s.name, s.file
                ),
            );
        }
    }
    metadata.insert("servers_failed".to_owned(), failures.len().to_string());
    let mut summary = failures
        .iter()
        .take(NAMED_IN_MESSAGE)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if failures.len() > NAMED_IN_MESSAGE {
        summary.push_str(&format!(
            "; and {} more (see the job's log)",
            failures.len() - NAMED_IN_MESSAGE
        ));
    }
    let message = format!(
        "{} of {} servers failed: {summary}",
        failures.len(),
        servers.len()
    );
    Ok(SyncOutcome::failed(preview, stats, metadata, message))
}

/// Every `*.json` file of the folder (outside `.syncdesk/`, not ignored), in path order, with
/// its bytes or why they could not be read. An unreadable directory is a problem too: the
/// server files in it could not be checked.
fn read_server_files(ctx: &super::PushContext<'_>) -> Result<Vec<Source>, AriesError> {
    let root = ctx.folder.path.as_path();
    let reporter = ctx.reporter;
    let report = scan::scan(root, &HashMap::new(), &ScanOptions::default(), &|p| {
        reporter.set(p.files, p.bytes_hashed)
    })?;
    let mut found: BTreeMap<RelPath, Result<(), String>> = BTreeMap::new();
    for (path, entry) in &report.entries {
        if !is_json(path) {
            continue;
        }
        match entry.kind {
            LocalKind::File => {
                found.insert(path.clone(), Ok(()));
            }
            LocalKind::Symlink => reporter.log(
                LogLevel::Warn,
                &format!(
                    "{} is a symbolic link, which is never followed: it is not sent",
                    relpath::display(path)
                ),
            ),
            LocalKind::Dir => {}
        }
    }
    for (path, why) in &report.unreadable {
        let is_dir = fs::symlink_metadata(relpath::to_path(root, path)).is_ok_and(|m| m.is_dir());
        if is_json(path) || is_dir {
            let why = if is_dir {
                format!("{why} (a directory: its server files cannot be checked)")
            } else {
                why.clone()
            };
            found.insert(path.clone(), Err(why));
        }
    }
    reporter.phase(Phase::Scanning, found.len() as u64, 0);
    let mut out = Vec::with_capacity(found.len());
    for (path, state) in found {
        let file = relpath::display(&path);
        let content =
            state.and_then(|()| fs::read(relpath::to_path(root, &path)).map_err(|e| e.to_string()));
        let bytes = content.as_ref().map_or(0, |b| b.len() as u64);
        reporter.advance(1, bytes, Some(&file));
        out.push(Source { file, content });
    }
    Ok(out)
}

fn is_json(path: &[u8]) -> bool {
    let (_, name) = relpath::split(path);
    name.len() > 5 && name[name.len() - 5..].eq_ignore_ascii_case(b".json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_files_are_named_json() {
        assert!(is_json(b"web.json"));
        assert!(is_json(b"a/b/WEB.JSON"));
        assert!(!is_json(b".json"));
        assert!(!is_json(b"a/.json"));
        assert!(!is_json(b"web.json5"));
        assert!(!is_json(b"json"));
    }

    #[test]
    fn errors_say_what_to_do() {
        assert_eq!(
            AriesError::CannotPull.to_string(),
            "an Aries endpoint cannot be pulled from: it only receives this folder's server definitions; sync normally or force-push instead"
        );
        let e = AriesError::Auth {
            status: 401,
            message: "bad token".into(),
        };
        assert!(
            e.to_string()
                .starts_with("the Aries endpoint refused the token (HTTP 401: bad token)"),
            "{e}"
        );
    }
}
