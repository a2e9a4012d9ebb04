//! Gateway egress (seed 003): the folder mirrored to a gateway (`gateway+http(s)://…`).
//!
//! Each sync scans the folder (the index cache spares unchanged files a re-hash), compares it
//! with what the gateway is known to hold (`push_state`), and sends the difference: new and
//! changed files, new empty directories, and removals (`plan`). Requests run `concurrency` at
//! a time within the client-side rate limits (`pace`), with retries (`send`); `push_state` is
//! updated after each acknowledged request, so a push stopped half-way goes on where it was.
//!
//! Force-push sends everything and removes on the gateway what the folder does not have
//! (including what the gateway's listing shows, when it lists). Force-pull makes the folder
//! exactly what the gateway holds (`pull`); only Syncdesk gateways offer the listing it needs.

// The connection test (`push::probe`) uses the same client.
pub(super) mod client;
mod pace;
mod plan;
mod pull;
mod send;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use crate::events::{Reporter, lock};
use crate::ignores::Ignores;
use crate::model::{LogLevel, Phase, PushMode, SyncJobStats, SyncPreview};
use crate::relpath::{self, RelPath};
use crate::scan::{self, LocalKind, STATE_DIR, ScanError};
use crate::store::{IndexRow, PushHash, Store, StoreError};
use crate::sync::folder_root::{self, FolderRootError};
use crate::sync::{GUARD_MIN_FILES, GUARD_SHARE, SyncOptions, SyncOutcome};
use crate::trash::TrashError;

pub use client::{Listed, SLOWEST_RATE, TEXT_LIMIT};
pub use pace::key as rate_key;
pub use plan::{Node, Op, Plan, PlanInput, plan};

use super::PushContext;
use client::{Client, Sent};
use pace::Pacer;
use send::{Gave, Sender, run_wave};

#[derive(Debug, thiserror::Error)]
pub enum GatewayPushError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "{path} has no {STATE_DIR} marker although it was pushed before: the folder looks unmounted or replaced. Nothing was sent. Mount or restore it, or remove and re-add the folder."
    )]
    MarkerMissing { path: String },
    #[error("cannot create {path}: {source}")]
    Marker {
        path: String,
        source: std::io::Error,
    },
    #[error("the gateway remote is not usable: {0}")]
    Setup(String),
    #[error(
        "the gateway {host} refused the token (HTTP 401{}); enter the folder's current token in Settings or run `syncdesk-cli folder set-secret {folder}`",
        if message.is_empty() { String::new() } else { format!(": {message}") }
    )]
    Unauthorized {
        host: String,
        folder: String,
        message: String,
    },
    #[error(
        "the secure connection to {host} failed: {reason}; if the gateway uses a certificate from a private authority, set its CA certificate (ca_cert) in the remote's options"
    )]
    Tls { host: String, reason: String },
    #[error(
        "{path}: {reason}, after {attempts} attempts; the gateway {host} is unreachable or failing. What it acknowledged is recorded: the next sync goes on from there"
    )]
    GaveUp {
        host: String,
        path: String,
        reason: String,
        attempts: u32,
    },
    #[error(
        "this gateway cannot be pulled from: it does not offer listing (only Syncdesk gateways do)"
    )]
    NotPullable,
    #[error("the gateway's listing cannot be used: {0}")]
    BadListing(String),
    #[error(transparent)]
    Trash(#[from] TrashError),
    #[error("{0}")]
    Local(String),
}

impl From<FolderRootError> for GatewayPushError {
    fn from(e: FolderRootError) -> Self {
        match e {
            FolderRootError::Scan(e) => GatewayPushError::Scan(e),
            FolderRootError::Store(e) => GatewayPushError::Store(e),
            FolderRootError::MarkerMissing { path } => GatewayPushError::MarkerMissing { path },
            FolderRootError::Marker { path, source } => GatewayPushError::Marker { path, source },
        }
    }
}

impl GatewayPushError {
    /// A stable code for programs, like `EngineError::code`.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayPushError::Unauthorized { .. } => "credentials",
            GatewayPushError::Tls { .. } | GatewayPushError::GaveUp { .. } => "unreachable",
            GatewayPushError::NotPullable
            | GatewayPushError::Setup(_)
            | GatewayPushError::MarkerMissing { .. } => "invalid_request",
            _ => "internal",
        }
    }
}

/// Pushes the folder to its gateway (or pulls it, for force-pull).
pub fn run(ctx: &PushContext<'_>, opts: &SyncOptions) -> Result<SyncOutcome, GatewayPushError> {
    let PushContext {
        store,
        folder,
        spec,
        reporter,
        ..
    } = *ctx;
    let name = folder.name.as_str();
    let root = folder.path.as_path();
    let mut metadata = BTreeMap::new();
    metadata.insert("mode".into(), opts.mode.as_str().to_owned());
    metadata.insert("remote".into(), spec.describe());

    // A force-pull may fill a replaced folder: only a push needs it to be the one pushed.
    let state = folder_root::prepare(
        root,
        opts.dry_run,
        reporter,
        || store.push_state(name),
        |s| !s.is_empty() && opts.mode != PushMode::ForcePull,
    )?;
    let client = Client::new(spec, ctx.secret).map_err(GatewayPushError::Setup)?;
    let stop = AtomicBool::new(false);

    reporter.phase(Phase::Scanning, 0, 0);
    let local = scan_local(store, name, root, reporter, opts)?;
    let state = known(&state);

    if opts.mode == PushMode::ForcePull {
        let sender = Sender::new(client.host(), name, None, reporter, &stop);
        return pull::run(
            &pull::Pull {
                ctx,
                client: &client,
                sender: &sender,
                local: &local,
                stop: &stop,
            },
            opts,
            metadata,
        );
    }

    let rules = spec.limit_rules().map_err(GatewayPushError::Setup)?;
    let pacer = Pacer::new(store, name, rules)?;
    let sender = Sender::new(client.host(), name, Some(&pacer), reporter, &stop);

    let listed = if opts.mode == PushMode::ForcePush {
        reporter.phase(Phase::Fetching, 0, 0);
        match sender.run("the gateway's listing", || client.list()) {
            Ok(Some(entries)) => Some(listing(entries, &local)?),
            Ok(None) => {
                reporter.log(
                    LogLevel::Warn,
                    "the gateway does not offer a listing (only Syncdesk gateways do): force-push removes only what this device pushed before",
                );
                None
            }
            Err(gave) => return Err(fatal(gave, "the gateway's listing")),
        }
    } else {
        None
    };

    reporter.phase(Phase::Merging, 0, 0);
    let keep = |p: &[u8]| local.keeps(p);
    let plan = plan::plan(&PlanInput {
        local: &local.nodes,
        state: &state,
        listed: listed.as_ref(),
        force: opts.mode == PushMode::ForcePush,
        keep: &keep,
    });
    let preview = preview_of(name, opts.mode, &plan);
    let mut stats = SyncJobStats {
        files_scanned: local.files,
        ..Default::default()
    };
    reporter.update_stats(|s| s.files_scanned = local.files);

    let file_deletes = plan
        .ops()
        .filter(|op| matches!(op, Op::Delete { dir: false, .. }))
        .count();
    let known_files = state.values().filter(|h| h.is_some()).count();
    if opts.mode == PushMode::TwoWay
        && !opts.confirm
        && file_deletes >= GUARD_MIN_FILES
        && file_deletes as f64 > GUARD_SHARE * known_files.max(1) as f64
    {
        let message = format!(
            "this push would delete {file_deletes} of the {known_files} files on the gateway; confirm to go ahead"
        );
        reporter.log(LogLevel::Warn, &message);
        metadata.insert("delete_remote".into(), file_deletes.to_string());
        return Ok(SyncOutcome::needs_confirmation(
            preview, stats, metadata, message,
        ));
    }
    if opts.dry_run {
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }

    let total = plan.ops().count();
    let bytes_total: u64 = plan
        .ops()
        .map(|op| match op {
            Op::Put { size, .. } => *size,
            _ => 0,
        })
        .sum();
    reporter.phase(Phase::Uploading, total as u64, bytes_total);
    let exec = Exec {
        client: &client,
        sender: &sender,
        store,
        folder: name,
        root,
        reporter,
        state: &state,
        failures: Mutex::new(Vec::new()),
        fatal: Mutex::new(None),
        stop: &stop,
    };
    let workers = spec.concurrency() as usize;
    for wave in &plan.waves {
        run_wave(wave, workers, &stop, |op| exec.push(op));
        if let Some(e) = lock(&exec.fatal).take() {
            return Err(e);
        }
    }

    let done = reporter.stats();
    stats.files_uploaded = done.files_uploaded;
    stats.files_deleted = done.files_deleted;
    stats.bytes_uploaded = done.bytes_uploaded;
    let failures = std::mem::take(&mut *lock(&exec.failures));
    metadata.insert("requests".into(), total.to_string());
    Ok(finish(
        preview, stats, metadata, &failures, total, "requests",
    ))
}

/// The outcome of a push or pull that ran to the end: failed when any of its `total`
/// requests (`what`) failed, with the failures in the metadata (at most 50) and the message.
fn finish(
    preview: SyncPreview,
    stats: SyncJobStats,
    mut metadata: BTreeMap<String, String>,
    failures: &[String],
    total: usize,
    what: &str,
) -> SyncOutcome {
    if failures.is_empty() {
        return SyncOutcome::succeeded(preview, stats, metadata);
    }
    let message = failure_message(failures.len(), total, what, failures);
    metadata.insert("failed".into(), failures.len().to_string());
    metadata.insert(
        "failures".into(),
        failures[..failures.len().min(50)].join("\n"),
    );
    SyncOutcome::failed(preview, stats, metadata, message)
}

/// "2 of 5 requests failed: a.txt: HTTP 400 …; b.bin: …".
fn failure_message(failed: usize, total: usize, what: &str, failures: &[String]) -> String {
    let mut shown: Vec<&str> = failures.iter().take(3).map(String::as_str).collect();
    if failures.len() > 3 {
        shown.push("…");
    }
    format!("{failed} of {total} {what} failed: {}", shown.join("; "))
}

/// A request that could not go through, as the push's error.
fn fatal(gave: Gave, what: &str) -> GatewayPushError {
    match gave {
        Gave::Fatal(e) => e,
        Gave::Refused { status, message } => GatewayPushError::Local(format!(
            "{what}: the gateway answered HTTP {status}: {message}"
        )),
        Gave::Local(why) => GatewayPushError::Local(format!("{what}: {why}")),
        Gave::Vanished | Gave::Stopped => GatewayPushError::Local(format!("{what}: stopped")),
    }
}

/// The recorded state with hashes as arrays; a malformed hash never matches a file.
fn known(state: &BTreeMap<RelPath, PushHash>) -> BTreeMap<RelPath, Option<[u8; 32]>> {
    state
        .iter()
        .map(|(p, h)| {
            let h = h
                .as_ref()
                .map(|v| <[u8; 32]>::try_from(v.as_slice()).unwrap_or([0xff; 32]));
            (p.clone(), h)
        })
        .collect()
}

/// The folder as the push sees it.
pub(crate) struct Local {
    root: std::path::PathBuf,
    /// Every pushable path.
    nodes: BTreeMap<RelPath, Node>,
    /// Present but not pushed: symbolic links, names that are not UTF-8.
    unpushable: BTreeSet<RelPath>,
    /// Unreadable paths (and everything below them): never deleted on the gateway.
    unreadable: Vec<RelPath>,
    ignores: Ignores,
    /// Written through this machine's own gateway with `push_to_cloud` off: they stay here
    /// until they expire, like files a sync leaves out.
    local_only: HashSet<RelPath>,
    files: u64,
}

impl Local {
    /// A path the gateway holds that must stay there: it exists locally but is not pushed.
    fn keeps(&self, p: &[u8]) -> bool {
        if self
            .unreadable
            .iter()
            .any(|u| u.as_slice() == p || plan::is_below(p, u))
            || self.unpushable.contains(p)
            || self.local_only.contains(p)
        {
            return true;
        }
        match std::fs::symlink_metadata(relpath::to_path(&self.root, p)) {
            Ok(meta) => self.ignores.is_ignored(p, meta.is_dir()),
            Err(_) => false,
        }
    }

    /// Ignored by the folder's rules (or ours), whatever is on disk.
    fn ignored(&self, p: &[u8], is_dir: bool) -> bool {
        self.ignores.is_ignored(p, is_dir)
    }
}

fn scan_local(
    store: &Store,
    name: &str,
    root: &Path,
    reporter: &Reporter,
    opts: &SyncOptions,
) -> Result<Local, GatewayPushError> {
    let index = store.load_index(name)?;
    let (report, ignores) = folder_root::scan(root, &index, opts, reporter, "pushed")?;
    let local_only = store.gateway_local_only(name)?;
    let mut nodes = BTreeMap::new();
    let mut unpushable = BTreeSet::new();
    let mut files = 0;
    let mut links = 0;
    for (p, e) in &report.entries {
        let is_dir = e.kind == LocalKind::Dir;
        if ignores.is_ignored(p, is_dir) || local_only.contains(p) {
            continue;
        }
        if std::str::from_utf8(p).is_err() {
            reporter.log(
                LogLevel::Warn,
                &format!(
                    "not pushed: {} (the name is not UTF-8, which a gateway cannot take)",
                    relpath::display(p)
                ),
            );
            unpushable.insert(p.clone());
            continue;
        }
        match e.kind {
            LocalKind::Dir => {
                nodes.insert(p.clone(), Node::Dir);
            }
            LocalKind::File => {
                files += 1;
                nodes.insert(
                    p.clone(),
                    Node::File {
                        hash: e.hash,
                        size: e.stat.size,
                    },
                );
            }
            LocalKind::Symlink => {
                links += 1;
                unpushable.insert(p.clone());
            }
        }
    }
    if links > 0 {
        reporter.log(
            LogLevel::Info,
            &format!(
                "{links} symbolic link(s) not pushed: a gateway holds files and directories only"
            ),
        );
    }
    if !opts.dry_run {
        let (upserts, deletes) = index_changes(&index, &report);
        if !upserts.is_empty() || !deletes.is_empty() {
            store.update_index(name, &upserts, &deletes)?;
        }
    }
    Ok(Local {
        root: root.to_path_buf(),
        nodes,
        unpushable,
        unreadable: report.unreadable.iter().map(|(p, _)| p.clone()).collect(),
        ignores,
        local_only,
        files,
    })
}

/// The index cache after a scan: what it hashed, minus what is gone.
fn index_changes(
    index: &HashMap<RelPath, IndexRow>,
    report: &scan::ScanReport,
) -> (Vec<(RelPath, IndexRow)>, Vec<RelPath>) {
    let unreadable: HashSet<&RelPath> = report.unreadable.iter().map(|(p, _)| p).collect();
    let upserts = report
        .entries
        .iter()
        .filter(|(_, e)| e.kind != LocalKind::Dir)
        .map(|(p, e)| {
            (
                p.clone(),
                IndexRow {
                    stat: Some(e.stat),
                    hash: Some(e.hash),
                },
            )
        })
        .filter(|(p, row)| index.get(p) != Some(row))
        .collect();
    let deletes = index
        .keys()
        .filter(|p| !report.entries.contains_key(*p) && !unreadable.contains(p))
        .cloned()
        .collect();
    (upserts, deletes)
}

/// The gateway's listing as paths, leaving out what a push must not touch.
fn listing(
    entries: Vec<Listed>,
    local: &Local,
) -> Result<BTreeMap<RelPath, bool>, GatewayPushError> {
    let mut out = BTreeMap::new();
    for e in entries {
        let Some(p) = safe_path(&e.path) else {
            return Err(GatewayPushError::BadListing(format!(
                "it names the unsafe path {:?}",
                e.path
            )));
        };
        if local.ignored(&p, e.dir) {
            continue;
        }
        out.insert(p, e.dir);
    }
    Ok(out)
}

/// A relative path from the gateway, if it stays inside the folder and out of `.syncdesk`.
fn safe_path(p: &str) -> Option<RelPath> {
    if p.is_empty() || p.starts_with('/') || p.contains('\\') || p.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = p.split('/').collect();
    if parts
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == ".." || *s == STATE_DIR)
    {
        return None;
    }
    Some(p.as_bytes().to_vec())
}

fn preview_of(folder: &str, mode: PushMode, plan: &Plan) -> SyncPreview {
    let mut p = SyncPreview {
        folder: folder.to_owned(),
        mode,
        ..Default::default()
    };
    for op in plan.ops() {
        let path = relpath::display(op.path());
        match op {
            Op::Put { .. } => p.upload.push(path),
            Op::MakeDir { .. } => p.upload.push(format!("{path}/")),
            Op::Delete { dir: true, .. } => p.delete_remote.push(format!("{path}/")),
            Op::Delete { dir: false, .. } => p.delete_remote.push(path),
        }
    }
    p
}

/// Runs the requests of a push and records what the gateway acknowledged.
struct Exec<'a> {
    client: &'a Client,
    sender: &'a Sender<'a>,
    store: &'a Store,
    folder: &'a str,
    root: &'a Path,
    reporter: &'a Reporter,
    /// The state the plan was made from (for what a directory's removal takes with it).
    state: &'a BTreeMap<RelPath, Option<[u8; 32]>>,
    failures: Mutex<Vec<String>>,
    fatal: Mutex<Option<GatewayPushError>>,
    stop: &'a AtomicBool,
}

impl Exec<'_> {
    fn push(&self, op: &Op) {
        let shown = relpath::display(op.path());
        match self.sender.run(&shown, || self.client.send(self.root, op)) {
            Ok(sent) => {
                if let Err(e) = self.record(op, &sent) {
                    self.stop_with(e.into());
                    return;
                }
                self.reporter.update_stats(|s| match op {
                    Op::Put { .. } => {
                        s.files_uploaded += 1;
                        s.bytes_uploaded += sent.bytes;
                    }
                    Op::Delete { dir: false, .. } => s.files_deleted += 1,
                    _ => {}
                });
                self.reporter.advance(1, sent.bytes, Some(&shown));
            }
            Err(Gave::Vanished) => {
                self.reporter.log(
                    LogLevel::Info,
                    &format!("{shown} disappeared before it was sent; the next sync removes it from the gateway"),
                );
                self.reporter.advance(1, 0, Some(&shown));
            }
            Err(Gave::Refused { status, message }) => {
                let line = if status == 0 {
                    format!("{shown}: {message}")
                } else {
                    format!("{shown}: HTTP {status} {message}")
                };
                self.reporter
                    .log(LogLevel::Error, &format!("the gateway refused {line}"));
                lock(&self.failures).push(line);
                self.reporter.advance(1, 0, Some(&shown));
            }
            Err(Gave::Local(why)) => {
                let line = format!("{shown}: {why}");
                self.reporter
                    .log(LogLevel::Error, &format!("cannot push {line}"));
                lock(&self.failures).push(line);
                self.reporter.advance(1, 0, Some(&shown));
            }
            Err(Gave::Fatal(e)) => self.stop_with(e),
            Err(Gave::Stopped) => {}
        }
    }

    fn stop_with(&self, e: GatewayPushError) {
        let mut fatal = lock(&self.fatal);
        if fatal.is_none() {
            *fatal = Some(e);
        }
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// What the gateway holds now: the path, and the directories above it.
    fn record(&self, op: &Op, sent: &Sent) -> Result<(), StoreError> {
        let path = op.path();
        let mut upserts: Vec<(RelPath, PushHash)> = Vec::new();
        let mut deletes: Vec<RelPath> = Vec::new();
        match op {
            Op::Put { .. } | Op::MakeDir { .. } => {
                for (i, &b) in path.iter().enumerate() {
                    if b == b'/' {
                        upserts.push((path[..i].to_vec(), None));
                    }
                }
                upserts.push((path.to_vec(), sent.hash.map(|h| h.to_vec())));
            }
            Op::Delete { .. } => {
                deletes.push(path.to_vec());
                deletes.extend(
                    self.state
                        .keys()
                        .filter(|k| plan::is_below(k, path))
                        .cloned(),
                );
            }
        }
        self.store.record_push(self.folder, &upserts, &deletes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_paths_must_stay_inside() {
        assert_eq!(safe_path("a/b.txt"), Some(b"a/b.txt".to_vec()));
        for bad in [
            "",
            "/a",
            "a/../b",
            "./a",
            "a//b",
            "a\\b",
            ".syncdesk/x",
            "d/.syncdesk",
            "a\0",
        ] {
            assert_eq!(safe_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn failure_messages_count_and_show_the_first() {
        let f: Vec<String> = (1..=5).map(|i| format!("f{i}: HTTP 400 x")).collect();
        assert_eq!(
            failure_message(2, 7, "requests", &f[..2]),
            "2 of 7 requests failed: f1: HTTP 400 x; f2: HTTP 400 x"
        );
        assert!(failure_message(5, 7, "requests", &f).ends_with("f3: HTTP 400 x; …"));
    }
}
