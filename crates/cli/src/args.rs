//! The command line, as clap definitions. Other people script against it: names, flags and
//! defaults here are an interface.

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use syncdesk_engine::model::{JobStatus, JobType, PushMode, SyncMode, TriggerType};

/// Shown under `--help`; docs/cli.md carries the same table.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  error (bad input, unknown folder, a failure before any job started)
  2  usage error
  3  a sync job ended `failed`
  4  a sync needs confirmation (mass-deletion guard, or a force mode without --yes
     where nobody can be asked)
  5  a sync is already in progress
  6  `check` found problems";

#[derive(Debug, Parser)]
#[command(
    name = "syncdesk-cli",
    version,
    about = "Headless Syncdesk: sync folders from a terminal or a script.",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Where Syncdesk keeps its state (folders, jobs, logs).
    /// Default: the platform's state directory for Syncdesk.
    // hide_env_values: help must never print the environment.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "SYNCDESK_STATE_DIR",
        hide_env_values = true
    )]
    pub state_dir: Option<PathBuf>,

    /// Print exactly one JSON document on stdout (errors as {"error": "..."}).
    #[arg(long, global = true)]
    pub json: bool,

    /// Also write the log to stderr (the filter comes from SYNCDESK_LOG, default `info`).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, list or remove synced folders.
    #[command(subcommand)]
    Folder(FolderCommand),
    /// Test the connection to a remote.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Sync folders with their repositories (all enabled folders unless --folder).
    Sync(SyncArgs),
    /// Show the sync state of every folder (the getSyncInfo shape).
    Info,
    /// List sync jobs or show one.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// List the snapshots of a folder's repository, newest first.
    Snapshots(FolderArg),
    /// List a directory of a snapshot.
    Files(FilesArgs),
    /// Restore a file or directory of a snapshot into a directory (never overwrites).
    Restore(RestoreArgs),
    /// Verify that every object the snapshots reach is present and intact.
    Check(FolderArg),
    /// List or restore local files a sync replaced or deleted.
    #[command(subcommand)]
    Trash(TrashCommand),
    /// Show or replace a folder's ignore rules (its top-level .syncignore).
    #[command(subcommand)]
    Ignore(IgnoreCommand),
    /// Pause background syncs (schedule and watcher) of every Syncdesk process using this
    /// state: the desktop app and daemons. `sync` still works.
    Pause,
    /// Resume background syncs; folders due meanwhile sync at once.
    Resume,
    /// Sync in the background until stopped (Ctrl-C, SIGTERM): a boot sync first, then
    /// every automatic folder on its schedule and soon after its files change.
    Daemon,
    /// Serve the local HTTP API, the WebSocket events and the web UI (docs/api.md), and
    /// sync in the background like `daemon`, until stopped (Ctrl-C, SIGTERM).
    Serve(ServeArgs),
    /// Create, list or revoke the local HTTP API's tokens (kept in the OS keyring).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The file gateway other machines push to (`/service/gateway/sync`): its tokens and
    /// settings.
    #[command(subcommand)]
    Gateway(GatewayCommand),
    /// Run a pending job (used by `sync --detach`).
    #[command(hide = true)]
    RunJob { id: i64 },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address and port to listen on. Only loopback addresses unless --allow-remote.
    #[arg(long, value_name = "ADDR:PORT", default_value = syncdesk_engine::model::DEFAULT_API_LISTEN)]
    pub listen: std::net::SocketAddr,
    /// Allow a --listen address other machines can reach (the API is then on the network;
    /// every request still needs a token).
    #[arg(long)]
    pub allow_remote: bool,
    /// Another host name the server answers to (e.g. the machine's DNS name); repeatable.
    /// Requests naming any other host are refused (DNS rebinding).
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,
    /// The built web UI to serve (default: $SYNCDESK_UI_DIR, the installed UI, or ui/dist).
    #[arg(long, value_name = "DIR")]
    pub ui_dir: Option<PathBuf>,
    /// Only serve: no boot sync, no scheduled or watched syncs.
    #[arg(long)]
    pub no_background: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time it is shown).
    Create {
        /// What it may do: admin (everything) or read-only (no changes).
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A name to list and revoke it by (default: token-N).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tokens: names, roles and dates, never the tokens.
    List,
    /// Revoke a token: servers refuse it from their next request.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum GatewayCommand {
    /// Create, list or revoke the tokens (`fb_token`) senders use; each maps to an account
    /// and the folder its files land in.
    #[command(subcommand)]
    Token(GatewayTokenCommand),
    /// Show the gateway's settings, or change the ones given.
    Settings(GatewaySettingsArgs),
}

#[derive(Debug, Subcommand)]
pub enum GatewayTokenCommand {
    /// Create a token and print it (the only time it is shown).
    Create {
        /// The folder the token's files land in.
        #[arg(long)]
        folder: String,
        /// The account the token acts as (rate limits and edit rights are per account).
        #[arg(long)]
        account: String,
        /// A name to list and revoke it by (default: gw-N).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tokens: names, folders, accounts and dates, never the tokens.
    List,
    /// Revoke a token: the gateway refuses it from its next request.
    Revoke { name: String },
}

/// Rate limits are written `MAX/WINDOW[,MAX/WINDOW…]`, the window in s, m, h or d:
/// `2000/10m,5000/1h,25000/1d`.
#[derive(Debug, Args)]
pub struct GatewaySettingsArgs {
    /// The drop box: the folder `sync_3rd` and the owner's session write into.
    #[arg(long)]
    pub folder: Option<String>,
    /// Accept `sync_3rd` uploads from logged-in accounts.
    #[arg(long, value_name = "on|off")]
    pub sync_by_3rd: Option<Switch>,
    /// Accept `sync_3rd` uploads from anyone (needs --sync-by-3rd on).
    #[arg(long, value_name = "on|off")]
    pub sync_by_3rd_public: Option<Switch>,
    /// Limits of `/service/gateway/sync` per account (default 2000/10m,5000/1h,25000/1d).
    #[arg(long, value_name = "RULES")]
    pub account_limits: Option<String>,
    /// Limits of `sync_3rd` per logged-in account (default 5/10m).
    #[arg(long, value_name = "RULES")]
    pub public_account_limits: Option<String>,
    /// Limits of anonymous `sync_3rd` per IP address (default 2/10m).
    #[arg(long, value_name = "RULES")]
    pub public_ip_limits: Option<String>,
    /// Limits of all `sync_3rd` uploads together (default 300/10m).
    #[arg(long, value_name = "RULES")]
    pub site_limits: Option<String>,
    /// The largest file accepted, in bytes (default 1 GiB).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    ReadOnly,
}

impl From<RoleArg> for syncdesk_engine::model::ApiRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => syncdesk_engine::model::ApiRole::Admin,
            RoleArg::ReadOnly => syncdesk_engine::model::ApiRole::ReadOnly,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum FolderCommand {
    /// Start syncing a local directory with a repository on a remote.
    Add {
        /// A name for the folder (letters, digits, '.', '_', '-').
        name: String,
        /// The local directory (created when missing).
        path: PathBuf,
        #[command(flatten)]
        repository: RepositoryArgs,
    },
    /// Point a folder at another remote or repository; its sync starts over from scratch
    /// (the old repository stays as it is).
    SetRemote {
        name: String,
        #[command(flatten)]
        repository: RepositoryArgs,
    },
    /// Replace the secret of a folder's remote in the OS keyring (prompted, or one line on
    /// stdin with --stdin).
    SetSecret {
        name: String,
        #[arg(long)]
        stdin: bool,
    },
    /// Store the passphrase of an encrypted folder (e.g. after it was changed on another
    /// device); it is checked against the repository first.
    SetPassphrase {
        name: String,
        #[arg(long)]
        stdin: bool,
    },
    /// Change the passphrase of an encrypted folder's repository, for every device; no data
    /// is rewritten. Prompts for the old and the new one (or two lines on stdin with --stdin).
    ChangePassphrase {
        name: String,
        #[arg(long)]
        stdin: bool,
    },
    /// List the folders.
    List,
    /// Stop syncing a folder; its files and its repository stay as they are.
    Remove { name: String },
    /// Change when a folder syncs by itself (the settings the desktop app shows).
    Set(FolderSetArgs),
}

/// Where a folder syncs. Secrets are never arguments: they are prompted for, or read from
/// stdin (one line each, the remote's secret first, then the passphrase).
#[derive(Debug, Args)]
pub struct RepositoryArgs {
    /// The remote: a local directory, `s3://BUCKET/PREFIX?endpoint=URL&region=R`,
    /// `webdav+https://HOST/PATH`, a gateway to mirror to (`gateway+https://HOST`) or an
    /// Aries endpoint (`aries+https://HOST`). Options as query parameters: timeout, concurrency,
    /// upload_limit, download_limit (bytes/s), ca_cert, insecure=true, path_style.
    #[arg(long, value_name = "REMOTE")]
    pub remote: String,
    /// The repository name on the remote (default: main).
    #[arg(long, value_name = "NAME")]
    pub cloud_name: Option<String>,
    /// S3: the access key id (its secret key is prompted for, or --secret-stdin).
    #[arg(long, value_name = "ID")]
    pub access_key_id: Option<String>,
    /// WebDAV: the user name (the password is prompted for, or --password-stdin).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Read the S3 secret access key from stdin.
    #[arg(long)]
    pub secret_stdin: bool,
    /// Read the WebDAV password from stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Read the token of a gateway (its `fb_token`) or of an Aries endpoint from stdin.
    #[arg(long)]
    pub token_stdin: bool,
    /// Encrypt the repository end to end (or open an encrypted one); the passphrase is
    /// prompted for, or read with --passphrase-stdin.
    #[arg(long)]
    pub encrypt: bool,
    /// Read the encryption passphrase from stdin (implies --encrypt).
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Test a connection: reach the remote, check the credentials, write, read and delete a
    /// probe object.
    Test(RemoteTestArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["folder", "remote"])))]
pub struct RemoteTestArgs {
    /// A folder's saved remote and credentials.
    #[arg(long)]
    pub folder: Option<String>,
    /// A remote not saved yet.
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    #[arg(long, value_name = "ID", requires = "remote")]
    pub access_key_id: Option<String>,
    #[arg(long, value_name = "USER", requires = "remote")]
    pub user: Option<String>,
    #[arg(long, requires = "remote")]
    pub secret_stdin: bool,
    #[arg(long, requires = "remote")]
    pub password_stdin: bool,
    #[arg(long, requires = "remote")]
    pub token_stdin: bool,
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("change")
        .required(true)
        .multiple(true)
        .args(["mode", "interval", "watch", "enabled"])
))]
pub struct FolderSetArgs {
    pub name: String,
    /// automatic: on a schedule and after changes; manual: only when asked;
    /// completely-manual: only force-push or force-pull, when asked.
    #[arg(long, value_name = "MODE")]
    pub mode: Option<SyncModeArg>,
    /// Seconds between scheduled syncs of an automatic folder (10 to 86400).
    #[arg(long, value_name = "SECS")]
    pub interval: Option<u32>,
    /// Sync an automatic folder soon after its files change.
    #[arg(long, value_name = "on|off")]
    pub watch: Option<Switch>,
    /// Whether the folder syncs at all (a plain `sync` skips disabled folders).
    #[arg(long, value_name = "on|off")]
    pub enabled: Option<Switch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncModeArg {
    Automatic,
    Manual,
    CompletelyManual,
}

impl From<SyncModeArg> for SyncMode {
    fn from(m: SyncModeArg) -> Self {
        match m {
            SyncModeArg::Automatic => SyncMode::Automatic,
            SyncModeArg::Manual => SyncMode::Manual,
            SyncModeArg::CompletelyManual => SyncMode::CompletelyManual,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl From<Switch> for bool {
    fn from(s: Switch) -> Self {
        s == Switch::On
    }
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only this folder.
    #[arg(long, value_name = "NAME")]
    pub folder: Option<String>,
    /// Re-hash every file instead of trusting the index cache.
    #[arg(long)]
    pub force: bool,
    /// Make one side a copy of the other; shows what would change and asks first.
    #[arg(long, value_name = "MODE")]
    pub push_mode: Option<PushModeArg>,
    /// Deprecated: same as --push-mode force-push.
    #[arg(long, conflicts_with = "push_mode")]
    pub push_only: bool,
    /// Sync with this repository name on the remote (needs --folder with several folders).
    #[arg(long, value_name = "NAME")]
    pub cloud_name: Option<String>,
    /// Show what a sync would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask: go ahead with force modes and past the mass-deletion guard.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Start the jobs in the background, print their ids and return at once.
    #[arg(long, conflicts_with = "dry_run")]
    pub detach: bool,
    /// The client asking for the sync, recorded with the job.
    #[arg(long, value_name = "ID", default_value = "syncdesk-cli")]
    pub app: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushModeArg {
    /// The remote becomes a copy of this folder.
    ForcePush,
    /// This folder becomes a copy of the remote (replaced files go to the trash).
    ForcePull,
}

impl From<PushModeArg> for PushMode {
    fn from(m: PushModeArg) -> Self {
        match m {
            PushModeArg::ForcePush => PushMode::ForcePush,
            PushModeArg::ForcePull => PushMode::ForcePull,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(JobsListArgs),
    /// Show a job record and its log.
    Show { id: i64 },
    /// Wait until a job ends (e.g. one started with `sync --detach`), then show it.
    /// Exits like `sync` would: 0, 3 (failed) or 4 (needs confirmation).
    Wait { id: i64 },
}

#[derive(Debug, Args)]
pub struct JobsListArgs {
    #[arg(long, value_name = "S")]
    pub status: Option<StatusArg>,
    #[arg(long, value_name = "F")]
    pub folder: Option<String>,
    #[arg(long = "type", value_name = "TYPE")]
    pub job_type: Option<TypeArg>,
    #[arg(long, value_name = "T")]
    pub trigger: Option<TriggerArg>,
    /// 1-based page number.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub page: u32,
    /// Jobs per page (at most 200).
    #[arg(long, value_name = "N", default_value_t = syncdesk_engine::model::DEFAULT_PAGE_SIZE)]
    pub page_size: u32,
}

// The value names below are the engine's own spellings (snake_case), so filters read the
// same as the JSON they filter.

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    #[value(name = "needs_confirmation")]
    NeedsConfirmation,
}

impl From<StatusArg> for JobStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Pending => JobStatus::Pending,
            StatusArg::Running => JobStatus::Running,
            StatusArg::Succeeded => JobStatus::Succeeded,
            StatusArg::Failed => JobStatus::Failed,
            StatusArg::Cancelled => JobStatus::Cancelled,
            StatusArg::NeedsConfirmation => JobStatus::NeedsConfirmation,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TypeArg {
    Sync,
    #[value(name = "force_push")]
    ForcePush,
    #[value(name = "force_pull")]
    ForcePull,
    Gateway,
}

impl From<TypeArg> for JobType {
    fn from(t: TypeArg) -> Self {
        match t {
            TypeArg::Sync => JobType::Sync,
            TypeArg::ForcePush => JobType::ForcePush,
            TypeArg::ForcePull => JobType::ForcePull,
            TypeArg::Gateway => JobType::Gateway,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TriggerArg {
    Manual,
    Tray,
    Schedule,
    Watch,
    Boot,
    Api,
    Gateway,
}

impl From<TriggerArg> for TriggerType {
    fn from(t: TriggerArg) -> Self {
        match t {
            TriggerArg::Manual => TriggerType::Manual,
            TriggerArg::Tray => TriggerType::Tray,
            TriggerArg::Schedule => TriggerType::Schedule,
            TriggerArg::Watch => TriggerType::Watch,
            TriggerArg::Boot => TriggerType::Boot,
            TriggerArg::Api => TriggerType::Api,
            TriggerArg::Gateway => TriggerType::Gateway,
        }
    }
}

#[derive(Debug, Args)]
pub struct FolderArg {
    #[arg(long, value_name = "NAME")]
    pub folder: String,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    #[arg(long, value_name = "NAME")]
    pub folder: String,
    /// Snapshot id, or a unique prefix of at least 4 characters.
    #[arg(long, value_name = "ID")]
    pub snapshot: String,
    /// Directory inside the snapshot (default: the top).
    #[arg(default_value = "")]
    pub path: String,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[arg(long, value_name = "NAME")]
    pub folder: String,
    /// Snapshot id, or a unique prefix of at least 4 characters.
    #[arg(long, value_name = "ID")]
    pub snapshot: String,
    /// File or directory inside the snapshot; `/` restores the whole snapshot.
    pub path: String,
    /// Directory to restore into.
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// List trashed files, newest batch first.
    List(FolderArg),
    /// Move a trashed file back to its place in the folder.
    Restore {
        #[arg(long, value_name = "NAME")]
        folder: String,
        /// The batch, as `trash list` shows it.
        batch: String,
        /// The path inside the folder, as `trash list` shows it.
        path: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum IgnoreCommand {
    /// Print the folder's rules as they are (nothing when it has none).
    Show(FolderArg),
    /// Replace the folder's rules with those read from --file or, without it, stdin.
    /// Every pattern is checked first; empty rules remove the file.
    Set {
        #[arg(long, value_name = "NAME")]
        folder: String,
        /// Read the rules from this file instead of stdin.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
