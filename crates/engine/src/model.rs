//! The shapes the engine shares with its callers (CLI, HTTP API, desktop UI).
//!
//! Field names follow the seed each shape comes from: job records (seed 004) are
//! snake_case, `performSync` / `getSyncInfo` / events (seeds 000, 001) are camelCase.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::secrets::Secret;

/// Identifier of a job record.
pub type JobId = i64;

/// A local folder kept in sync with a repository on a remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct Folder {
    pub name: String,
    pub path: PathBuf,
    /// Where repositories live, as a remote URL (see `RemoteSpec`): a local directory path,
    /// `s3://…` or `webdav+http(s)://…`. Never holds a secret.
    pub remote: String,
    /// Repository name under the remote; defaults to `main`.
    pub cloud_name: String,
    pub enabled: bool,
    /// When background syncs run. Absent in input: automatic.
    #[serde(default)]
    pub sync_mode: SyncMode,
    /// Seconds between scheduled syncs of an automatic folder.
    #[serde(default = "default_interval_secs")]
    pub interval_secs: u32,
    /// Sync an automatic folder soon after its files change.
    #[serde(default = "default_watch")]
    pub watch: bool,
    /// The repository is end-to-end encrypted; its passphrase is in the OS keyring.
    #[serde(default)]
    pub encrypted: bool,
}

pub const DEFAULT_CLOUD_NAME: &str = "main";

/// Scheduled syncs: every 5 minutes unless set otherwise, at most every 10 seconds and at
/// least once a day.
pub const DEFAULT_INTERVAL_SECS: u32 = 300;
pub const MIN_INTERVAL_SECS: u32 = 10;
pub const MAX_INTERVAL_SECS: u32 = 86_400;

fn default_interval_secs() -> u32 {
    DEFAULT_INTERVAL_SECS
}

fn default_watch() -> bool {
    true
}

/// When a folder syncs without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// On a schedule and, when the folder is watched, soon after its files change.
    #[default]
    Automatic,
    /// Only when the user asks.
    Manual,
    /// Never in the background; each sync is a force-push or force-pull the user picks.
    CompletelyManual,
}

/// Where a folder syncs: a remote (URL, see `RemoteSpec`), the repository's name on it, and
/// the credentials, which go to the OS keyring and nowhere else.
#[derive(Debug, Clone, Default, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct RepositorySettings {
    pub remote: String,
    /// Defaults to `main`.
    #[serde(default)]
    #[ts(optional)]
    pub cloud_name: Option<String>,
    /// The S3 secret access key or the WebDAV password, when the remote has a key id or user.
    #[serde(default)]
    #[ts(optional)]
    pub secret: Option<Secret>,
    /// Encrypts the repository (a new one) or opens an encrypted one.
    #[serde(default)]
    #[ts(optional)]
    pub passphrase: Option<Secret>,
}

/// A folder to add.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct NewFolder {
    pub name: String,
    pub path: PathBuf,
    #[serde(flatten)]
    pub repository: RepositorySettings,
}

/// The settings of a folder a user can change after adding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct FolderSettings {
    pub enabled: bool,
    pub sync_mode: SyncMode,
    pub interval_secs: u32,
    pub watch: bool,
}

impl Folder {
    /// An enabled folder with the default settings.
    pub fn new(name: &str, path: PathBuf, remote: &str, cloud_name: &str) -> Folder {
        Folder {
            name: name.to_owned(),
            path,
            remote: remote.to_owned(),
            cloud_name: cloud_name.to_owned(),
            enabled: true,
            sync_mode: SyncMode::default(),
            interval_secs: DEFAULT_INTERVAL_SECS,
            watch: true,
            encrypted: false,
        }
    }

    pub fn settings(&self) -> FolderSettings {
        FolderSettings {
            enabled: self.enabled,
            sync_mode: self.sync_mode,
            interval_secs: self.interval_secs,
            watch: self.watch,
        }
    }

    /// Synced by the scheduler (and the watcher, if watched) when the app is not paused.
    pub fn syncs_in_background(&self) -> bool {
        self.enabled && self.sync_mode == SyncMode::Automatic
    }
}

/// Languages the app is translated into (`None` in [`AppState`]: follow the OS).
pub const LANGUAGES: &[&str] = &["en", "zh-CN"];

/// App-wide state the desktop app shows and changes (tray, settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    /// Background syncs (scheduler, watcher) are stopped; syncs the user asks for still run.
    pub paused: bool,
    /// The app starts with the session (the shell registers it with the OS).
    pub autostart: bool,
    /// `en` or `zh-CN`; `None` follows the OS.
    pub language: Option<String>,
    /// The desktop app serves the local HTTP API (off unless the user turns it on).
    pub api_enabled: bool,
    /// Where the desktop app serves it: a loopback address and port.
    pub api_listen: String,
}

/// Where the local HTTP API listens unless told otherwise.
pub const DEFAULT_API_LISTEN: &str = "127.0.0.1:6806";

impl Default for AppState {
    fn default() -> Self {
        AppState {
            paused: false,
            autostart: false,
            language: None,
            api_enabled: false,
            api_listen: DEFAULT_API_LISTEN.to_owned(),
        }
    }
}

/// What a token of the local HTTP API may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "kebab-case")]
pub enum ApiRole {
    /// Reads only: every mutation answers 403.
    ReadOnly,
    /// Everything.
    Admin,
}

impl ApiRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiRole::ReadOnly => "read-only",
            ApiRole::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<ApiRole> {
        match s {
            "read-only" => Some(ApiRole::ReadOnly),
            "admin" => Some(ApiRole::Admin),
            _ => None,
        }
    }
}

/// A token of the local HTTP API, as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub name: String,
    pub role: ApiRole,
    pub created_at: String,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub token: ApiToken,
    pub secret: String,
}

/// A failed call, as the desktop shell and the HTTP API report it: a stable `code` for
/// programs and the engine's sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ApiError {
    /// One of `sync_in_progress`, `boot_sync_in_progress`, `app_required`, `unknown_folder`,
    /// `no_folders`, `invalid_request`, `not_found`, `internal`.
    pub code: String,
    pub message: String,
}

/// A job with its log (`get_job`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JobDetail {
    pub job: SyncJob,
    pub log: Vec<JobLogLine>,
}

/// Seed 004 `JobStatus`, plus `needs_confirmation` for the mass-deletion guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    NeedsConfirmation,
}

/// What started a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum TriggerType {
    Manual,
    Tray,
    Schedule,
    Watch,
    Boot,
    Api,
    Gateway,
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum JobType {
    Sync,
    ForcePush,
    ForcePull,
    /// A change written into the folder through the gateway (one per accepted request).
    Gateway,
}

/// The sync mode requested by `performSync`'s `pushMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, TS)]
#[ts(export)]
pub enum PushMode {
    #[default]
    #[serde(rename = "")]
    TwoWay,
    #[serde(rename = "force-push")]
    ForcePush,
    #[serde(rename = "force-pull")]
    ForcePull,
}

impl PushMode {
    pub fn job_type(self) -> JobType {
        match self {
            PushMode::TwoWay => JobType::Sync,
            PushMode::ForcePush => JobType::ForcePush,
            PushMode::ForcePull => JobType::ForcePull,
        }
    }
}

/// Counters of one job (DESIGN "SyncJobStats").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncJobStats {
    #[ts(type = "number")]
    pub files_scanned: u64,
    #[ts(type = "number")]
    pub files_uploaded: u64,
    #[ts(type = "number")]
    pub files_downloaded: u64,
    #[ts(type = "number")]
    pub files_deleted: u64,
    #[ts(type = "number")]
    pub conflicts: u64,
    #[ts(type = "number")]
    pub bytes_uploaded: u64,
    #[ts(type = "number")]
    pub bytes_downloaded: u64,
    #[ts(type = "number")]
    pub retries: u64,
    #[ts(type = "number")]
    pub duration_ms: u64,
}

/// A job record, as seed 004 describes it. Timestamps are RFC 3339 UTC with milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncJob {
    #[ts(type = "number")]
    pub id: JobId,
    pub job_type: JobType,
    pub trigger_type: TriggerType,
    pub status: JobStatus,
    /// The folder the job syncs.
    pub folder: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub error_message: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub stats: SyncJobStats,
    pub created_at: String,
    pub updated_at: String,
}

/// Pagination of a listing (1-based pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PageMeta {
    pub page: u32,
    pub page_size: u32,
    #[ts(type = "number")]
    pub total: u64,
    pub total_pages: u32,
}

/// Seed 004 `SyncJobPage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SyncJobPage {
    pub items: Vec<SyncJob>,
    pub meta: PageMeta,
}

pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_PAGE_SIZE: u32 = 200;

/// Filters of a job listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub folder: Option<String>,
    pub job_type: Option<JobType>,
    pub trigger_type: Option<TriggerType>,
    pub page: u32,
    pub page_size: u32,
}

impl Default for JobFilter {
    fn default() -> Self {
        JobFilter {
            status: None,
            folder: None,
            job_type: None,
            trigger_type: None,
            page: 1,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}

/// One line of a job's log (the `syncLog` lines it emitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct JobLogLine {
    pub at: String,
    pub level: LogLevel,
    pub msg: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// Progress as `performSync` returns it (seed 000) and `getSyncInfo` reports it (seed 001).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[ts(type = "number")]
    pub current: u64,
    #[ts(type = "number")]
    pub total: u64,
    pub info: String,
    pub msg: String,
    pub percent: f64,
}

/// The phases of a sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Preparing,
    Scanning,
    Fetching,
    Merging,
    Uploading,
    Downloading,
    Applying,
    Committing,
    Done,
}

impl Phase {
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Preparing => "Preparing to sync",
            Phase::Scanning => "Scanning local files",
            Phase::Fetching => "Reading remote heads",
            Phase::Merging => "Merging changes",
            Phase::Uploading => "Uploading",
            Phase::Downloading => "Downloading",
            Phase::Applying => "Applying changes locally",
            Phase::Committing => "Committing snapshot",
            Phase::Done => "Done",
        }
    }
}

/// Seed 000's event names, exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub enum EventName {
    SyncBegin,
    SyncProgress,
    SyncRetry,
    SyncFail,
    SyncLog,
    SyncEnd,
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventName::SyncBegin => "syncBegin",
            EventName::SyncProgress => "syncProgress",
            EventName::SyncRetry => "syncRetry",
            EventName::SyncFail => "syncFail",
            EventName::SyncLog => "syncLog",
            EventName::SyncEnd => "syncEnd",
        })
    }
}

/// One event of a sync job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct SyncEvent {
    pub name: EventName,
    #[ts(type = "number")]
    pub job_id: JobId,
    pub folder: String,
    pub phase: Phase,
    #[ts(type = "number")]
    pub current: u64,
    #[ts(type = "number")]
    pub total: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    #[ts(type = "number")]
    pub bytes_total: u64,
    pub info: String,
    pub msg: String,
    pub percent: f64,
    /// Final status, on `syncEnd` and `syncFail`.
    pub status: Option<JobStatus>,
    pub at: String,
}

/// `performSync` request (seed 000).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase", default)]
pub struct PerformSyncRequest {
    pub app: String,
    pub force: bool,
    pub push_mode: PushMode,
    /// Deprecated alias of `pushMode: "force-push"`.
    pub push_only: bool,
    pub cloud_name: Option<String>,
    /// Sync one folder; all enabled folders when absent.
    pub folder: Option<String>,
    /// Go ahead past the mass-deletion guard.
    pub confirm: bool,
    #[serde(skip)]
    pub trigger: Option<TriggerType>,
}

impl PerformSyncRequest {
    /// The effective mode: `pushOnly: true` means force-push unless a mode is named.
    pub fn mode(&self) -> PushMode {
        match (self.push_mode, self.push_only) {
            (PushMode::TwoWay, true) => PushMode::ForcePush,
            (mode, _) => mode,
        }
    }
}

/// What `performSync` returns at once: the initial progress and the jobs it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct PerformSyncStarted {
    #[serde(flatten)]
    pub progress: Progress,
    #[ts(type = "number[]")]
    pub job_ids: Vec<JobId>,
}

/// `getSyncInfo` (seed 001) plus per-folder detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct SyncInfo {
    pub provider_name: String,
    pub cloud_name: String,
    pub enabled: bool,
    pub syncing: bool,
    pub progress: Progress,
    pub folders: Vec<FolderInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct FolderInfo {
    pub name: String,
    pub path: PathBuf,
    pub provider_name: String,
    pub remote: String,
    pub cloud_name: String,
    pub enabled: bool,
    pub sync_mode: SyncMode,
    pub interval_secs: u32,
    pub watch: bool,
    pub encrypted: bool,
    pub syncing: bool,
    pub progress: Progress,
    pub last_job: Option<SyncJob>,
    pub last_sync_at: Option<String>,
}

/// Everything the engine tells its listeners: the sync events of seed 000 plus changes of
/// jobs, folders and app state, so a UI can follow along without polling.
///
/// Serialized as `{"event": <name>, "payload": ...}`, the name being [`Event::name`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(tag = "event", content = "payload", rename_all = "camelCase")]
pub enum Event {
    SyncBegin(SyncEvent),
    SyncProgress(SyncEvent),
    SyncRetry(SyncEvent),
    SyncFail(SyncEvent),
    SyncLog(SyncEvent),
    SyncEnd(SyncEvent),
    /// A job was created, started or finished.
    JobChanged(SyncJob),
    /// A folder was added, its settings changed, or it started or stopped syncing.
    FolderChanged(Box<FolderInfo>),
    /// A folder was removed (its name).
    FolderRemoved(String),
    /// Paused or resumed, autostart or language changed.
    AppStateChanged(AppState),
}

impl Event {
    /// The name adapters forward the event under (docs/desktop-contract.md).
    pub fn name(&self) -> &'static str {
        match self {
            Event::SyncBegin(_) => "syncBegin",
            Event::SyncProgress(_) => "syncProgress",
            Event::SyncRetry(_) => "syncRetry",
            Event::SyncFail(_) => "syncFail",
            Event::SyncLog(_) => "syncLog",
            Event::SyncEnd(_) => "syncEnd",
            Event::JobChanged(_) => "jobChanged",
            Event::FolderChanged(_) => "folderChanged",
            Event::FolderRemoved(_) => "folderRemoved",
            Event::AppStateChanged(_) => "appStateChanged",
        }
    }

    /// The sync event this is, if it is one.
    pub fn as_sync(&self) -> Option<&SyncEvent> {
        match self {
            Event::SyncBegin(e)
            | Event::SyncProgress(e)
            | Event::SyncRetry(e)
            | Event::SyncFail(e)
            | Event::SyncLog(e)
            | Event::SyncEnd(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SyncEvent> for Event {
    fn from(e: SyncEvent) -> Self {
        match e.name {
            EventName::SyncBegin => Event::SyncBegin(e),
            EventName::SyncProgress => Event::SyncProgress(e),
            EventName::SyncRetry => Event::SyncRetry(e),
            EventName::SyncFail => Event::SyncFail(e),
            EventName::SyncLog => Event::SyncLog(e),
            EventName::SyncEnd => Event::SyncEnd(e),
        }
    }
}

/// A dry-run's answer: what a sync would do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct SyncPreview {
    pub folder: String,
    pub mode: PushMode,
    pub upload: Vec<String>,
    /// Files that would be written where the folder has none.
    pub download: Vec<String>,
    /// Local files that would be overwritten (they go to the trash first).
    pub replace: Vec<String>,
    /// Local files that would be deleted (to the trash).
    pub delete_local: Vec<String>,
    /// Paths that would be deleted on the remote (kept in history).
    pub delete_remote: Vec<String>,
    pub conflicts: Vec<String>,
}

impl SyncPreview {
    /// The sync would change nothing on either side.
    pub fn is_empty(&self) -> bool {
        self.upload.is_empty()
            && self.download.is_empty()
            && self.replace.is_empty()
            && self.delete_local.is_empty()
            && self.delete_remote.is_empty()
            && self.conflicts.is_empty()
    }
}

macro_rules! string_enum {
    ($ty:ty { $($variant:path => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($variant => $text),+ }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($variant),)+
                    other => Err(format!(
                        "unknown value {other:?}; expected one of: {}",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }
    };
}

string_enum!(JobStatus {
    JobStatus::Pending => "pending",
    JobStatus::Running => "running",
    JobStatus::Succeeded => "succeeded",
    JobStatus::Failed => "failed",
    JobStatus::Cancelled => "cancelled",
    JobStatus::NeedsConfirmation => "needs_confirmation",
});

string_enum!(TriggerType {
    TriggerType::Manual => "manual",
    TriggerType::Tray => "tray",
    TriggerType::Schedule => "schedule",
    TriggerType::Watch => "watch",
    TriggerType::Boot => "boot",
    TriggerType::Api => "api",
    TriggerType::Gateway => "gateway",
});

string_enum!(SyncMode {
    SyncMode::Automatic => "automatic",
    SyncMode::Manual => "manual",
    SyncMode::CompletelyManual => "completely_manual",
});

string_enum!(JobType {
    JobType::Sync => "sync",
    JobType::ForcePush => "force_push",
    JobType::ForcePull => "force_pull",
    JobType::Gateway => "gateway",
});

string_enum!(PushMode {
    PushMode::TwoWay => "",
    PushMode::ForcePush => "force-push",
    PushMode::ForcePull => "force-pull",
});

impl JobStatus {
    /// A job in this status will not change any more.
    pub fn is_final(self) -> bool {
        !matches!(self, JobStatus::Pending | JobStatus::Running)
    }
}
