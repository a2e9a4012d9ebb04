//! The engine's front door: every operation the CLI, the HTTP API and the desktop app
//! offer, with the same names and shapes (`performSync`, `getSyncInfo`, jobs, history).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::background::{self, Background, BackgroundOptions};
use crate::echo::EchoLog;
use crate::events::{EventBus, Reporter, lock};
use crate::history::{self, CheckReport, FileInfo, RestoreReport, SnapshotInfo};
use crate::ignores::{self, RulesError};
use crate::jobs::{self, FolderLock};
use crate::launcher::Launcher;
use crate::model::{
    ApiError, AppState, DEFAULT_CLOUD_NAME, Event, Folder, FolderInfo, FolderSettings, JobDetail,
    JobFilter, JobId, JobLogLine, LANGUAGES, MAX_INTERVAL_SECS, MIN_INTERVAL_SECS, NewFolder,
    PerformSyncRequest, PerformSyncStarted, Phase, Progress, RepositorySettings, SyncInfo, SyncJob,
    SyncJobPage, SyncPreview, TriggerType,
};
use crate::push::{self, PushContext, PushError};
use crate::remote::{RemoteError, RemoteSpec};
use crate::repo::{self, RepoError};
use crate::secrets::{Keyring, Secret, SecretError, SecretKind};
use crate::store::{Device, Store, StoreError};
use crate::sync::{self, SyncContext, SyncError, SyncOptions};
use crate::trash::{self, TrashError, TrashItem};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("app is required: name the client asking for the sync")]
    AppRequired,
    #[error("Sync is in progress, please try again later")]
    SyncInProgress,
    #[error("Boot sync is in progress, please try again later")]
    BootSyncInProgress,
    #[error("no folder named {0:?}; `folder list` shows the folders")]
    UnknownFolder(String),
    #[error("no enabled folders to sync; add one with `folder add`")]
    NoFolders,
    #[error("{0}")]
    InvalidRequest(String),
    /// A job, snapshot, trash item or path that does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error("state directory: {0}")]
    StateDir(std::io::Error),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Trash(#[from] TrashError),
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A push to a gateway or an Aries endpoint failed.
    #[error(transparent)]
    Push(#[from] PushError),
    /// A credential is missing or was refused.
    #[error("{0}")]
    Credentials(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownFolder(name) => EngineError::UnknownFolder(name),
            StoreError::UnknownJob(id) => EngineError::NotFound(format!("no job with id {id}")),
            other => EngineError::Store(other),
        }
    }
}

impl EngineError {
    /// A stable code for programs (the shell, the HTTP API, the UI); the message is for people.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::SyncInProgress => "sync_in_progress",
            EngineError::BootSyncInProgress => "boot_sync_in_progress",
            EngineError::AppRequired => "app_required",
            EngineError::UnknownFolder(_) | EngineError::Store(StoreError::UnknownFolder(_)) => {
                "unknown_folder"
            }
            EngineError::NoFolders => "no_folders",
            EngineError::InvalidRequest(_)
            | EngineError::Store(StoreError::FolderExists(_) | StoreError::Invalid(_))
            | EngineError::Repo(RepoError::BadCloudName(_))
            | EngineError::Remote(RemoteError::Invalid { .. })
            | EngineError::Trash(TrashError::BadPath(_) | TrashError::Exists(_))
            | EngineError::Rules(RulesError::BadRule { .. } | RulesError::NotText(_)) => {
                "invalid_request"
            }
            EngineError::NotFound(_)
            | EngineError::Store(StoreError::UnknownJob(_))
            | EngineError::Trash(TrashError::NotFound { .. }) => "not_found",
            EngineError::Credentials(_) => "credentials",
            EngineError::Secret(_) => "keyring",
            EngineError::Repo(e) | EngineError::Sync(SyncError::Repo(e))
                if matches!(
                    e,
                    RepoError::WrongPassphrase
                        | RepoError::PassphraseRequired
                        | RepoError::NotEncrypted { .. }
                ) =>
            {
                "passphrase"
            }
            EngineError::Push(e) => e.code(),
            EngineError::Remote(e) | EngineError::Sync(SyncError::Remote(e)) => match e.cause() {
                RemoteError::Auth { .. } => "credentials",
                RemoteError::Unreachable { .. } | RemoteError::Tls { .. } => "unreachable",
                _ => "internal",
            },
            _ => "internal",
        }
    }
}

impl From<&EngineError> for ApiError {
    fn from(e: &EngineError) -> Self {
        ApiError {
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

/// Where state lives when nobody says: `$XDG_STATE_HOME/syncdesk` on Linux, the platform's
/// local data directory elsewhere.
pub fn default_state_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "Syncdesk")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

pub struct Engine {
    state_dir: PathBuf,
    store: Arc<Store>,
    device: Device,
    bus: Arc<EventBus>,
    /// Reporters of the jobs running in this process, by folder.
    pub(crate) running: Mutex<HashMap<String, Arc<Reporter>>>,
    boot: AtomicBool,
    finished: (Mutex<u64>, Condvar),
    /// What syncs wrote locally, for the watcher's echo suppression.
    echo: Arc<EchoLog>,
    /// Serializes read-modify-write of the app state.
    app_state: Mutex<()>,
    /// Set while a [`Background`] runs: two would start every sync twice.
    pub(crate) background: AtomicBool,
    /// Starts the threads of syncs asked for with `perform_sync` and the boot sync.
    launcher: Launcher,
    /// The gateway's token cache, rate limiter and per-folder write locks.
    pub(crate) gateway: crate::gateway::GatewayState,
}

impl Engine {
    pub fn open(state_dir: &Path) -> Result<Arc<Engine>, EngineError> {
        let store = Store::open(state_dir)?;
        let device = store.device()?;
        let orphans = store.fail_orphaned_jobs()?;
        if orphans > 0 {
            tracing::warn!("{orphans} jobs were interrupted when a process stopped");
        }
        Ok(Arc::new(Engine {
            state_dir: state_dir.to_path_buf(),
            store: Arc::new(store),
            device,
            bus: EventBus::new(),
            running: Mutex::new(HashMap::new()),
            boot: AtomicBool::new(false),
            finished: (Mutex::new(0), Condvar::new()),
            echo: Arc::new(EchoLog::default()),
            app_state: Mutex::new(()),
            background: AtomicBool::new(false),
            launcher: Launcher::start()?,
            gateway: Default::default(),
        }))
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn events(&self) -> &Arc<EventBus> {
        &self.bus
    }

    pub(crate) fn echo(&self) -> &Arc<EchoLog> {
        &self.echo
    }

    /// This installation's entries in the OS keyring.
    pub(crate) fn keyring(&self) -> Result<Keyring, SecretError> {
        Keyring::new(&self.device.id)
    }

    /// The token of a folder's push remote (gateway, Aries), from the OS keyring.
    pub(crate) fn push_secret(
        &self,
        folder: &Folder,
        spec: &RemoteSpec,
    ) -> Result<Secret, EngineError> {
        self.keyring()?
            .get(&folder.name, SecretKind::Remote)?
            .ok_or_else(|| {
                EngineError::Credentials(format!(
                    "the {} token of folder {:?} is not in the OS keyring; enter it in Settings or run `syncdesk-cli folder set-secret {}`",
                    spec.provider_name(),
                    folder.name,
                    folder.name
                ))
            })
    }

    pub(crate) fn publish(&self, event: Event) {
        self.bus.publish(&event);
    }

    /// Tells listeners the folder's current state. A failure to read it is only logged: the
    /// change it reports has happened either way.
    pub(crate) fn publish_folder(&self, name: &str) {
        match self.folder_info(name) {
            Ok(info) => self.publish(Event::FolderChanged(Box::new(info))),
            Err(e) => tracing::warn!(folder = name, "cannot report the folder's state: {e}"),
        }
    }

    fn locks_dir(&self) -> PathBuf {
        self.state_dir.join("locks")
    }

    // Folders.

    /// Adds a folder synced to a repository `cloud_name` (default `main`) on `remote`, a
    /// remote that needs no credentials.
    pub fn add_folder(
        &self,
        name: &str,
        path: &Path,
        remote: &str,
        cloud_name: Option<&str>,
    ) -> Result<Folder, EngineError> {
        self.add_folder_with(&NewFolder {
            name: name.to_owned(),
            path: path.to_owned(),
            repository: RepositorySettings {
                remote: remote.to_owned(),
                cloud_name: cloud_name.map(str::to_owned),
                ..Default::default()
            },
        })
    }

    /// Adds a folder. The folder's directory is created when missing; its credentials go to
    /// the OS keyring; an encrypted repository is opened (or created) first, so a wrong
    /// passphrase is refused before anything is saved.
    pub fn add_folder_with(&self, req: &NewFolder) -> Result<Folder, EngineError> {
        let name = req.name.as_str();
        validate_folder_name(name)?;
        let repo_settings = &req.repository;
        let cloud_name = repo_settings
            .cloud_name
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(DEFAULT_CLOUD_NAME);
        repo::validate_cloud_name(cloud_name)?;
        let path = &req.path;
        if !path.is_absolute() {
            return Err(EngineError::InvalidRequest(format!(
                "{} is not an absolute path",
                path.display()
            )));
        }
        // Normalized, so one remote is always written the same way (duplicate checks below).
        let spec = RemoteSpec::parse(&repo_settings.remote)?;
        let remote = spec.to_url();
        std::fs::create_dir_all(path).map_err(|e| {
            EngineError::InvalidRequest(format!("cannot create {}: {e}", path.display()))
        })?;
        let path = path.canonicalize().map_err(|e| {
            EngineError::InvalidRequest(format!("cannot use {}: {e}", path.display()))
        })?;
        if let Some(local) = &spec.path {
            // Opening creates a local remote's directory.
            crate::remote::open_spec(&spec, &Default::default())?;
            if let Ok(r) = Path::new(local).canonicalize()
                && (r.starts_with(&path) || path.starts_with(&r))
            {
                return Err(EngineError::InvalidRequest(
                    "the remote directory and the folder must not contain one another".into(),
                ));
            }
        }
        for other in self.store.folders()? {
            if other.name == name {
                return Err(StoreError::FolderExists(name.to_owned()).into());
            }
            if other.path.starts_with(&path) || path.starts_with(&other.path) {
                return Err(EngineError::InvalidRequest(format!(
                    "{} overlaps the folder {:?} ({})",
                    path.display(),
                    other.name,
                    other.path.display()
                )));
            }
            // A push remote's token decides where the files go, not its URL.
            if other.remote == remote && other.cloud_name == cloud_name && !spec.kind.is_push() {
                return Err(EngineError::InvalidRequest(format!(
                    "the folder {:?} already syncs with {remote} as {cloud_name:?}; pick another cloud name",
                    other.name
                )));
            }
        }
        let secret = repo_settings
            .secret
            .as_ref()
            .filter(|s| !s.expose().is_empty());
        let passphrase = repo_settings
            .passphrase
            .as_ref()
            .filter(|s| !s.expose().is_empty());
        if spec.kind.is_push() {
            check_push_remote(&spec, secret, passphrase)?;
        } else {
            self.verify_repository(&remote, cloud_name, secret, passphrase)?;
        }
        let mut folder = Folder::new(name, path, &remote, cloud_name);
        folder.encrypted = passphrase.is_some();
        self.store_secrets(name, secret, passphrase)?;
        if let Err(e) = self.store.add_folder(&folder) {
            self.forget_secrets(&folder);
            return Err(e.into());
        }
        self.publish_folder(name);
        Ok(folder)
    }

    /// Points a folder at another remote or repository (e.g. encrypted, under a new cloud
    /// name). Like a new cloud name, it restarts the folder's sync from scratch; the old
    /// repository stays as it is.
    pub fn set_folder_repository(
        &self,
        name: &str,
        settings: &RepositorySettings,
    ) -> Result<Folder, EngineError> {
        let current = self.store.folder(name)?;
        let _lock = FolderLock::try_take(&self.locks_dir(), name)?;
        let cloud_name = settings
            .cloud_name
            .as_deref()
            .filter(|c| !c.is_empty())
            .unwrap_or(&current.cloud_name);
        repo::validate_cloud_name(cloud_name)?;
        let spec = RemoteSpec::parse(&settings.remote)?;
        let remote = spec.to_url();
        let secret = settings.secret.as_ref().filter(|s| !s.expose().is_empty());
        let passphrase = settings
            .passphrase
            .as_ref()
            .filter(|s| !s.expose().is_empty());
        // A remote keeps its stored secret unless a new one is given.
        let stored_secret = match secret {
            Some(_) => None,
            None => self.keyring()?.get(name, SecretKind::Remote)?,
        };
        if spec.kind.is_push() {
            check_push_remote(&spec, secret.or(stored_secret.as_ref()), passphrase)?;
        } else {
            self.verify_repository(
                &remote,
                cloud_name,
                secret.or(stored_secret.as_ref()),
                passphrase,
            )?;
        }
        self.store_secrets(name, secret, passphrase)?;
        self.store
            .set_repository(name, &remote, cloud_name, passphrase.is_some())?;
        if remote != current.remote {
            // What the old push remote holds says nothing about the new one.
            self.store.clear_push_state(name)?;
        }
        if passphrase.is_none() {
            self.keyring()?.delete(name, SecretKind::Passphrase)?;
        }
        self.publish_folder(name);
        Ok(self.store.folder(name)?)
    }

    fn store_secrets(
        &self,
        folder: &str,
        secret: Option<&Secret>,
        passphrase: Option<&Secret>,
    ) -> Result<(), EngineError> {
        if secret.is_none() && passphrase.is_none() {
            return Ok(());
        }
        let keyring = self.keyring()?;
        if let Some(s) = secret {
            keyring.set(folder, SecretKind::Remote, s)?;
        }
        if let Some(p) = passphrase {
            keyring.set(folder, SecretKind::Passphrase, p)?;
        }
        Ok(())
    }

    /// Removes a folder's secrets from the keyring. Folders that never had any do not touch
    /// the keyring (which may not exist on a machine using only local remotes).
    fn forget_secrets(&self, folder: &Folder) {
        let has_secret = RemoteSpec::parse(&folder.remote)
            .map(|s| s.needs_secret())
            .unwrap_or(true);
        if !(has_secret || folder.encrypted) {
            return;
        }
        if let Err(e) = self.keyring().and_then(|k| k.forget_folder(&folder.name)) {
            tracing::warn!(folder = %folder.name, "cannot remove the folder's secrets from the keyring: {e}");
        }
    }

    pub fn folders(&self) -> Result<Vec<Folder>, EngineError> {
        Ok(self.store.folders()?)
    }

    pub fn folder(&self, name: &str) -> Result<Folder, EngineError> {
        Ok(self.store.folder(name)?)
    }

    /// Stops syncing a folder. Its files and its repository stay as they are.
    pub fn remove_folder(&self, name: &str) -> Result<(), EngineError> {
        // Checked first: the lock file is named after the folder.
        let folder = self.store.folder(name)?;
        let _lock = FolderLock::try_take(&self.locks_dir(), name)?;
        self.store.remove_folder(name)?;
        self.forget_secrets(&folder);
        self.publish(Event::FolderRemoved(name.to_owned()));
        Ok(())
    }

    pub fn set_folder_enabled(&self, name: &str, enabled: bool) -> Result<(), EngineError> {
        self.store.set_enabled(name, enabled)?;
        self.publish_folder(name);
        Ok(())
    }

    /// Validates and stores a folder's settings; a running background sync follows them at once.
    pub fn update_folder_settings(
        &self,
        name: &str,
        settings: &FolderSettings,
    ) -> Result<Folder, EngineError> {
        if !(MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&settings.interval_secs) {
            return Err(EngineError::InvalidRequest(format!(
                "the sync interval must be between {MIN_INTERVAL_SECS} seconds and {MAX_INTERVAL_SECS} seconds (24 hours); got {}",
                settings.interval_secs
            )));
        }
        self.store.set_folder_settings(name, settings)?;
        self.publish_folder(name);
        Ok(self.store.folder(name)?)
    }

    // Ignore rules.

    /// The folder's top-level `.syncignore` (gitignore syntax), empty when it has none.
    pub fn ignore_rules(&self, folder: &str) -> Result<String, EngineError> {
        Ok(ignores::read_rules(&self.store.folder(folder)?.path)?)
    }

    /// Checks and replaces the folder's top-level `.syncignore` (empty text removes it).
    /// It is synced like any file; the next sync applies it.
    pub fn set_ignore_rules(&self, folder: &str, text: &str) -> Result<(), EngineError> {
        Ok(ignores::write_rules(
            &self.store.folder(folder)?.path,
            text,
        )?)
    }

    // App state.

    pub fn app_state(&self) -> Result<AppState, EngineError> {
        Ok(self.store.app_state()?)
    }

    /// Pauses or resumes background syncs (scheduler and watcher). Syncs a user asks for
    /// still run while paused.
    pub fn set_paused(&self, paused: bool) -> Result<AppState, EngineError> {
        self.change_app_state(|s| s.paused = paused)
    }

    /// Remembers whether the app starts with the session; registering it with the OS is the
    /// shell's part.
    pub fn set_autostart_flag(&self, enabled: bool) -> Result<AppState, EngineError> {
        self.change_app_state(|s| s.autostart = enabled)
    }

    /// `en` or `zh-CN`; `None` follows the OS.
    pub fn set_language(&self, language: Option<&str>) -> Result<AppState, EngineError> {
        if let Some(lang) = language
            && !LANGUAGES.contains(&lang)
        {
            return Err(EngineError::InvalidRequest(format!(
                "unsupported language {lang:?}: choose one of {} (or none to follow the system)",
                LANGUAGES.join(", ")
            )));
        }
        self.change_app_state(|s| s.language = language.map(str::to_owned))
    }

    pub(crate) fn change_app_state(
        &self,
        f: impl FnOnce(&mut AppState),
    ) -> Result<AppState, EngineError> {
        let _serial = lock(&self.app_state);
        let mut state = self.store.app_state()?;
        let before = state.clone();
        f(&mut state);
        if state != before {
            self.store.set_app_state(&state)?;
            self.publish(Event::AppStateChanged(state.clone()));
        }
        Ok(state)
    }

    // Background sync.

    /// Starts the scheduler and the watcher; they stop when the returned handle is dropped.
    /// Call once, after [`Engine::start_boot_sync`] if the app does a boot sync. If they
    /// cannot start (already running, no thread), the reason is logged and the handle runs
    /// nothing: syncs the user asks for work regardless.
    pub fn start_background(self: &Arc<Self>) -> Background {
        self.start_background_with(BackgroundOptions::default())
            .unwrap_or_else(|e| {
                tracing::error!("background sync is not running: {e}");
                Background::inert()
            })
    }

    /// [`Engine::start_background`] with other timings (tests, benchmarks), saying why it
    /// could not start.
    pub fn start_background_with(
        self: &Arc<Self>,
        opts: BackgroundOptions,
    ) -> Result<Background, EngineError> {
        background::start(self, opts)
    }

    // performSync.

    /// Starts syncing and returns at once with the initial progress; the jobs run in the
    /// background and report through the event bus.
    pub fn perform_sync(
        self: &Arc<Self>,
        req: &PerformSyncRequest,
    ) -> Result<PerformSyncStarted, EngineError> {
        let prepared = self.prepare(req)?;
        let job_ids = prepared.iter().map(|(job, _)| job.id).collect();
        for (job, lock) in prepared {
            let engine = self.clone();
            self.launcher
                .spawn(format!("sync-{}", job.folder), move || {
                    jobs::execute(&engine, job, lock);
                })?;
        }
        Ok(PerformSyncStarted {
            progress: Progress {
                current: 0,
                total: 0,
                info: Phase::Preparing.describe().to_owned(),
                msg: String::new(),
                percent: 0.0,
            },
            job_ids,
        })
    }

    /// Creates pending jobs for a request without running them (another process may run
    /// them with [`Engine::run_job`]).
    pub fn create_jobs(&self, req: &PerformSyncRequest) -> Result<Vec<JobId>, EngineError> {
        Ok(self
            .prepare(req)?
            .into_iter()
            .map(|(job, _)| job.id)
            .collect())
    }

    /// Runs a pending job on this thread and returns its final record.
    pub fn run_job(&self, id: JobId) -> Result<SyncJob, EngineError> {
        let job = self.store.job(id)?;
        if job.status.is_final() || job.status == crate::model::JobStatus::Running {
            return Ok(job);
        }
        let lock = match FolderLock::try_take(&self.locks_dir(), &job.folder) {
            Ok(l) => l,
            Err(e) => {
                let stats = job.stats;
                return Ok(self.store.finish_job(
                    id,
                    crate::model::JobStatus::Failed,
                    Some(&e.to_string()),
                    &stats,
                    &job.metadata,
                )?);
            }
        };
        Ok(jobs::execute(self, job, lock))
    }

    /// The folders a request names: the one given, else every enabled folder (for the boot
    /// sync, a background sync, only those that sync by themselves).
    fn targets(&self, req: &PerformSyncRequest) -> Result<Vec<Folder>, EngineError> {
        let boot = req.trigger == Some(TriggerType::Boot);
        let targets: Vec<Folder> = match &req.folder {
            Some(name) => vec![self.store.folder(name)?],
            None => self
                .store
                .folders()?
                .into_iter()
                .filter(|f| {
                    if boot {
                        f.syncs_in_background()
                    } else {
                        f.enabled
                    }
                })
                .collect(),
        };
        if targets.is_empty() {
            return Err(EngineError::NoFolders);
        }
        Ok(targets)
    }

    fn prepare(&self, req: &PerformSyncRequest) -> Result<Vec<(SyncJob, FolderLock)>, EngineError> {
        if req.app.trim().is_empty() {
            return Err(EngineError::AppRequired);
        }
        if self.boot.load(Ordering::SeqCst) && req.trigger != Some(TriggerType::Boot) {
            return Err(EngineError::BootSyncInProgress);
        }
        let targets = self.targets(req)?;
        if let Some(cloud) = req.cloud_name.as_deref().filter(|c| !c.is_empty()) {
            repo::validate_cloud_name(cloud)?;
            if targets.len() != 1 {
                return Err(EngineError::InvalidRequest(
                    "cloudName applies to one folder: name the folder too".into(),
                ));
            }
        }
        // All or nothing: refuse if any target is busy.
        let mut locks = Vec::with_capacity(targets.len());
        for f in &targets {
            if lock(&self.running).contains_key(&f.name) {
                return Err(EngineError::SyncInProgress);
            }
            locks.push(FolderLock::try_take(&self.locks_dir(), &f.name)?);
        }
        if let Some(cloud) = req.cloud_name.as_deref().filter(|c| !c.is_empty())
            && targets[0].cloud_name != cloud
        {
            // A new repository name starts from scratch (the seed's lastSyncTime = 0).
            self.store.set_cloud_name(&targets[0].name, cloud)?;
        }
        let opts = SyncOptions {
            mode: req.mode(),
            force: req.force,
            dry_run: false,
            confirm: req.confirm,
        };
        let trigger = req.trigger.unwrap_or(TriggerType::Manual);
        let mut out = Vec::with_capacity(targets.len());
        for (f, lock) in targets.iter().zip(locks) {
            let metadata = jobs::options_to_metadata(&opts, &req.app);
            let job = self
                .store
                .create_job(&f.name, opts.mode.job_type(), trigger, &metadata)?;
            self.publish(Event::JobChanged(job.clone()));
            out.push((job, lock));
        }
        Ok(out)
    }

    /// What a sync would do, per folder, without changing anything.
    pub fn preview(&self, req: &PerformSyncRequest) -> Result<Vec<SyncPreview>, EngineError> {
        let targets = self.targets(req)?;
        // Previews report nowhere: a private bus and no job record.
        let quiet = EventBus::new();
        let opts = SyncOptions {
            mode: req.mode(),
            force: req.force,
            dry_run: true,
            confirm: true,
        };
        let mut out = Vec::new();
        for folder in targets {
            let reporter = Reporter::new(quiet.clone(), None, 0, &folder.name);
            let spec = RemoteSpec::parse(&folder.remote)?;
            if spec.kind.is_push() {
                let secret = self.push_secret(&folder, &spec)?;
                let ctx = PushContext {
                    store: &self.store,
                    folder: &folder,
                    spec: &spec,
                    secret: &secret,
                    reporter: &reporter,
                    job_id: 0,
                };
                out.push(push::run(&ctx, &opts)?.preview);
                continue;
            }
            let access = self.access(&folder, None)?;
            let ctx = SyncContext {
                access: &access,
                store: &self.store,
                device: &self.device,
                folder: &folder,
                reporter: &reporter,
                job_id: 0,
                echo: None,
            };
            out.push(sync::run(&ctx, &opts)?.preview);
        }
        Ok(out)
    }

    /// Runs the boot sync of every enabled automatic folder in the background (none while
    /// paused); `performSync` answers "Boot sync is in progress" until it ends.
    pub fn start_boot_sync(self: &Arc<Self>) -> Result<Vec<JobId>, EngineError> {
        if self.app_state()?.paused {
            return Ok(Vec::new());
        }
        let req = PerformSyncRequest {
            app: "syncdesk".into(),
            trigger: Some(TriggerType::Boot),
            ..Default::default()
        };
        let prepared = match self.prepare(&req) {
            Err(EngineError::NoFolders) => return Ok(Vec::new()),
            other => other?,
        };
        self.boot.store(true, Ordering::SeqCst);
        let ids = prepared.iter().map(|(j, _)| j.id).collect();
        let engine = self.clone();
        self.launcher.spawn("boot-sync".into(), move || {
            for (job, lock) in prepared {
                jobs::execute(&engine, job, lock);
            }
            engine.boot.store(false, Ordering::SeqCst);
        })?;
        Ok(ids)
    }

    pub(crate) fn notify_finished(&self) {
        let (m, cv) = &self.finished;
        *lock(m) += 1;
        cv.notify_all();
    }

    /// Blocks until the job reaches a final status (it may run in another process).
    pub fn wait_job(&self, id: JobId) -> Result<SyncJob, EngineError> {
        let (m, cv) = &self.finished;
        let mut guard = lock(m);
        loop {
            let job = self.store.job(id)?;
            if job.status.is_final() {
                return Ok(job);
            }
            // Woken by jobs of this process; jobs of other processes are polled.
            guard = cv
                .wait_timeout(guard, Duration::from_millis(200))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    // getSyncInfo.

    pub fn get_sync_info(&self) -> Result<SyncInfo, EngineError> {
        let folders = self.store.folders()?;
        let mut infos = Vec::with_capacity(folders.len());
        for f in &folders {
            infos.push(self.info_of(f)?);
        }
        let first = infos.first();
        let active = infos.iter().find(|i| i.syncing);
        Ok(SyncInfo {
            provider_name: first
                .map_or("Local", |f| f.provider_name.as_str())
                .to_owned(),
            cloud_name: first
                .map_or(DEFAULT_CLOUD_NAME, |f| f.cloud_name.as_str())
                .to_owned(),
            enabled: infos.iter().any(|f| f.enabled),
            syncing: active.is_some() || self.boot.load(Ordering::SeqCst),
            progress: active.map_or_else(idle, |f| f.progress.clone()),
            folders: infos,
        })
    }

    /// One folder's part of [`Engine::get_sync_info`] (the `folderChanged` payload).
    pub fn folder_info(&self, name: &str) -> Result<FolderInfo, EngineError> {
        self.info_of(&self.store.folder(name)?)
    }

    fn info_of(&self, f: &Folder) -> Result<FolderInfo, EngineError> {
        let running = lock(&self.running).get(&f.name).cloned();
        // A sync run by another process holds the folder's lock.
        let syncing = running.is_some()
            || matches!(
                FolderLock::try_take(&self.locks_dir(), &f.name),
                Err(EngineError::SyncInProgress)
            );
        let progress = match &running {
            Some(r) => r.progress(),
            None if syncing => busy(),
            None => idle(),
        };
        Ok(FolderInfo {
            name: f.name.clone(),
            path: f.path.clone(),
            provider_name: crate::remote::provider_name(&f.remote).to_owned(),
            remote: f.remote.clone(),
            cloud_name: f.cloud_name.clone(),
            enabled: f.enabled,
            sync_mode: f.sync_mode,
            interval_secs: f.interval_secs,
            watch: f.watch,
            encrypted: f.encrypted,
            syncing,
            progress,
            last_job: self.store.last_job(&f.name)?,
            last_sync_at: self.store.folder_state(&f.name)?.last_sync_at,
        })
    }

    // Jobs.

    pub fn jobs(&self, filter: &JobFilter) -> Result<SyncJobPage, EngineError> {
        Ok(self.store.jobs(filter)?)
    }

    pub fn job(&self, id: JobId) -> Result<Option<SyncJob>, EngineError> {
        match self.store.job(id) {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::UnknownJob(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn job_log(&self, id: JobId) -> Result<Vec<JobLogLine>, EngineError> {
        Ok(self.store.job_log(id)?)
    }

    /// A job with its log; an unknown id is `not_found`.
    pub fn job_detail(&self, id: JobId) -> Result<JobDetail, EngineError> {
        Ok(JobDetail {
            job: self.store.job(id)?,
            log: self.store.job_log(id)?,
        })
    }

    // History.

    pub fn snapshots(&self, folder: &str) -> Result<Vec<SnapshotInfo>, EngineError> {
        history::snapshots(&self.open_repo(&self.store.folder(folder)?)?)
    }

    pub fn snapshot_files(
        &self,
        folder: &str,
        snapshot: &str,
        path: &str,
    ) -> Result<Vec<FileInfo>, EngineError> {
        let folder = self.store.folder(folder)?;
        history::files(
            &self.store,
            &self.open_repo(&folder)?,
            &folder,
            snapshot,
            path,
        )
    }

    pub fn restore(
        &self,
        folder: &str,
        snapshot: &str,
        path: &str,
        to: &Path,
    ) -> Result<RestoreReport, EngineError> {
        let folder = self.store.folder(folder)?;
        let repo = self.open_repo(&folder)?;
        history::restore(&self.store, &repo, &folder, snapshot, path, to)
    }

    pub fn check(&self, folder: &str) -> Result<CheckReport, EngineError> {
        history::check_repo(&self.open_repo(&self.store.folder(folder)?)?)
    }

    // Trash.

    pub fn trash(&self, folder: &str) -> Result<Vec<TrashItem>, EngineError> {
        Ok(trash::list(&self.store.folder(folder)?.path)?)
    }

    /// Puts a trashed file back where it was, or into the directory `to`.
    pub fn restore_from_trash(
        &self,
        folder: &str,
        batch: &str,
        path: &str,
        to: Option<&Path>,
    ) -> Result<PathBuf, EngineError> {
        Ok(trash::restore(
            &self.store.folder(folder)?.path,
            batch,
            path,
            to,
        )?)
    }
}

fn idle() -> Progress {
    Progress {
        info: "Idle".into(),
        ..Default::default()
    }
}

fn busy() -> Progress {
    Progress {
        info: "Syncing in another Syncdesk process".into(),
        ..Default::default()
    }
}

/// A gateway or Aries remote holds no repository: nothing to open or create, no
/// encryption; it only needs its token.
fn check_push_remote(
    spec: &RemoteSpec,
    secret: Option<&Secret>,
    passphrase: Option<&Secret>,
) -> Result<(), EngineError> {
    if passphrase.is_some() {
        return Err(EngineError::InvalidRequest(format!(
            "a {} remote cannot be encrypted: it receives the files themselves, not a repository; leave the passphrase out",
            spec.provider_name()
        )));
    }
    if secret.is_none() {
        return Err(EngineError::Credentials(format!(
            "this {} remote needs its token ({}); give it when adding the folder",
            spec.provider_name(),
            if spec.kind == crate::remote::RemoteKind::Gateway {
                "the gateway's fb_token"
            } else {
                "the Aries bearer token"
            }
        )));
    }
    Ok(())
}

fn validate_folder_name(name: &str) -> Result<(), EngineError> {
    if repo::is_plain_name(name) {
        Ok(())
    } else {
        Err(EngineError::InvalidRequest(format!(
            "invalid folder name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}
