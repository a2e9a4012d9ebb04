//! The UI's commands (docs/desktop-contract.md): each one a thin call into the engine.
//! Anything that may touch the disk or the remote runs off the async runtime's threads.

use std::path::PathBuf;
use std::sync::Arc;

use syncdesk_engine::history::{FileInfo, RestoreReport, SnapshotInfo};
use syncdesk_engine::model::{
    ApiError, ApiRole, ApiToken, AppState, CreatedToken, Folder, FolderSettings, JobDetail,
    JobFilter, JobId, NewFolder, PerformSyncRequest, PerformSyncStarted, RepositorySettings,
    SyncInfo, SyncJobPage, SyncPreview, TriggerType,
};
use syncdesk_engine::remote::{ProbeReport, RemoteSpec};
use syncdesk_engine::secrets::Secret;
use syncdesk_engine::trash::TrashItem;
use syncdesk_engine::{Engine, EngineError};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt;

use crate::app::AppContext;

type Reply<T> = Result<T, ApiError>;

/// Runs engine work on a blocking thread and turns its error into the UI's shape.
async fn blocking<T, F>(engine: &Arc<Engine>, f: F) -> Reply<T>
where
    T: Send + 'static,
    F: FnOnce(&Arc<Engine>) -> Result<T, syncdesk_engine::EngineError> + Send + 'static,
{
    let engine = engine.clone();
    tauri::async_runtime::spawn_blocking(move || f(&engine).map_err(|e| ApiError::from(&e)))
        .await
        .unwrap_or_else(|e| {
            Err(ApiError {
                code: "internal".into(),
                message: format!("the operation stopped unexpectedly: {e}"),
            })
        })
}

#[tauri::command]
pub async fn perform_sync(
    ctx: State<'_, AppContext>,
    request: PerformSyncRequest,
) -> Reply<PerformSyncStarted> {
    let request = PerformSyncRequest {
        trigger: Some(TriggerType::Manual),
        ..request
    };
    blocking(&ctx.engine, move |e| e.perform_sync(&request)).await
}

#[tauri::command]
pub async fn get_sync_info(ctx: State<'_, AppContext>) -> Reply<SyncInfo> {
    blocking(&ctx.engine, |e| e.get_sync_info()).await
}

#[tauri::command]
pub async fn preview_sync(
    ctx: State<'_, AppContext>,
    request: PerformSyncRequest,
) -> Reply<Vec<SyncPreview>> {
    blocking(&ctx.engine, move |e| e.preview(&request)).await
}

#[tauri::command]
pub async fn list_folders(ctx: State<'_, AppContext>) -> Reply<Vec<Folder>> {
    blocking(&ctx.engine, |e| e.folders()).await
}

/// `repository: null` adds the folder to the default local repository in the app's data
/// directory, under the folder's own name.
#[tauri::command]
pub async fn add_folder(
    ctx: State<'_, AppContext>,
    name: String,
    path: PathBuf,
    repository: Option<RepositorySettings>,
) -> Reply<Folder> {
    let repository = repository.unwrap_or_else(|| RepositorySettings {
        remote: ctx.default_remote.display().to_string(),
        cloud_name: Some(name.clone()),
        ..Default::default()
    });
    let folder = NewFolder {
        name,
        path,
        repository,
    };
    blocking(&ctx.engine, move |e| e.add_folder_with(&folder)).await
}

#[tauri::command]
pub async fn parse_remote(remote: String) -> Reply<RemoteSpec> {
    RemoteSpec::parse(&remote).map_err(|e| ApiError::from(&EngineError::from(e)))
}

#[tauri::command]
pub async fn remote_url(spec: RemoteSpec) -> Reply<String> {
    Ok(spec.to_url())
}

#[tauri::command]
pub async fn test_remote(
    ctx: State<'_, AppContext>,
    remote: String,
    secret: Option<Secret>,
) -> Reply<ProbeReport> {
    blocking(&ctx.engine, move |e| {
        e.test_remote(&remote, secret.as_ref())
    })
    .await
}

#[tauri::command]
pub async fn test_folder_remote(ctx: State<'_, AppContext>, folder: String) -> Reply<ProbeReport> {
    blocking(&ctx.engine, move |e| e.test_folder_remote(&folder)).await
}

#[tauri::command]
pub async fn set_folder_repository(
    ctx: State<'_, AppContext>,
    name: String,
    repository: RepositorySettings,
) -> Reply<Folder> {
    blocking(&ctx.engine, move |e| {
        e.set_folder_repository(&name, &repository)
    })
    .await
}

#[tauri::command]
pub async fn set_remote_secret(
    ctx: State<'_, AppContext>,
    folder: String,
    secret: Secret,
) -> Reply<()> {
    blocking(&ctx.engine, move |e| e.set_remote_secret(&folder, &secret)).await
}

#[tauri::command]
pub async fn set_passphrase(
    ctx: State<'_, AppContext>,
    folder: String,
    passphrase: Secret,
) -> Reply<()> {
    blocking(&ctx.engine, move |e| e.set_passphrase(&folder, &passphrase)).await
}

#[tauri::command]
pub async fn change_passphrase(
    ctx: State<'_, AppContext>,
    folder: String,
    old: Secret,
    new: Secret,
) -> Reply<()> {
    blocking(&ctx.engine, move |e| {
        e.change_passphrase(&folder, &old, &new)
    })
    .await
}

#[tauri::command]
pub async fn remove_folder(ctx: State<'_, AppContext>, name: String) -> Reply<()> {
    blocking(&ctx.engine, move |e| e.remove_folder(&name)).await
}

#[tauri::command]
pub async fn update_folder_settings(
    ctx: State<'_, AppContext>,
    name: String,
    settings: FolderSettings,
) -> Reply<Folder> {
    blocking(&ctx.engine, move |e| {
        e.update_folder_settings(&name, &settings)
    })
    .await
}

#[tauri::command]
pub async fn read_ignore_file(ctx: State<'_, AppContext>, folder: String) -> Reply<String> {
    blocking(&ctx.engine, move |e| e.ignore_rules(&folder)).await
}

#[tauri::command]
pub async fn write_ignore_file(
    ctx: State<'_, AppContext>,
    folder: String,
    text: String,
) -> Reply<()> {
    blocking(&ctx.engine, move |e| e.set_ignore_rules(&folder, &text)).await
}

#[tauri::command]
pub async fn list_jobs(ctx: State<'_, AppContext>, filter: JobFilter) -> Reply<SyncJobPage> {
    blocking(&ctx.engine, move |e| e.jobs(&filter)).await
}

#[tauri::command]
pub async fn get_job(ctx: State<'_, AppContext>, id: JobId) -> Reply<JobDetail> {
    blocking(&ctx.engine, move |e| e.job_detail(id)).await
}

#[tauri::command]
pub async fn list_snapshots(
    ctx: State<'_, AppContext>,
    folder: String,
) -> Reply<Vec<SnapshotInfo>> {
    blocking(&ctx.engine, move |e| e.snapshots(&folder)).await
}

#[tauri::command]
pub async fn list_snapshot_files(
    ctx: State<'_, AppContext>,
    folder: String,
    snapshot: String,
    path: String,
) -> Reply<Vec<FileInfo>> {
    blocking(&ctx.engine, move |e| {
        e.snapshot_files(&folder, &snapshot, &path)
    })
    .await
}

#[tauri::command]
pub async fn restore_snapshot(
    ctx: State<'_, AppContext>,
    folder: String,
    snapshot: String,
    path: String,
    to: PathBuf,
) -> Reply<RestoreReport> {
    blocking(&ctx.engine, move |e| {
        e.restore(&folder, &snapshot, &path, &to)
    })
    .await
}

#[tauri::command]
pub async fn list_trash(ctx: State<'_, AppContext>, folder: String) -> Reply<Vec<TrashItem>> {
    blocking(&ctx.engine, move |e| e.trash(&folder)).await
}

#[tauri::command]
pub async fn restore_trash(
    ctx: State<'_, AppContext>,
    folder: String,
    batch: String,
    path: String,
    to: Option<PathBuf>,
) -> Reply<String> {
    blocking(&ctx.engine, move |e| {
        e.restore_from_trash(&folder, &batch, &path, to.as_deref())
            .map(|p| p.display().to_string())
    })
    .await
}

#[tauri::command]
pub async fn get_app_state(ctx: State<'_, AppContext>) -> Reply<AppState> {
    blocking(&ctx.engine, |e| e.app_state()).await
}

#[tauri::command]
pub async fn set_paused(ctx: State<'_, AppContext>, paused: bool) -> Reply<AppState> {
    blocking(&ctx.engine, move |e| e.set_paused(paused)).await
}

#[tauri::command]
pub async fn set_autostart<R: Runtime>(
    app: AppHandle<R>,
    ctx: State<'_, AppContext>,
    enabled: bool,
) -> Reply<AppState> {
    let launcher = app.autolaunch();
    let os = if enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    os.map_err(|e| ApiError {
        code: "internal".into(),
        message: format!("cannot change start at login: {e}"),
    })?;
    blocking(&ctx.engine, move |e| e.set_autostart_flag(enabled)).await
}

#[tauri::command]
pub async fn set_language(ctx: State<'_, AppContext>, language: Option<String>) -> Reply<AppState> {
    blocking(&ctx.engine, move |e| e.set_language(language.as_deref())).await
}

/// The handler with every command, for the app and its tests.
/// Serves the local HTTP API or stops it. If it cannot listen there, the setting is turned
/// back off and the reason returned.
#[tauri::command]
pub async fn set_api_server(
    ctx: State<'_, AppContext>,
    enabled: bool,
    listen: String,
) -> Reply<AppState> {
    let state = blocking(&ctx.engine, move |e| e.set_api_server(enabled, &listen)).await?;
    match ctx
        .api
        .apply(&ctx.engine, &ctx.default_remote, &state)
        .await
    {
        Ok(()) => Ok(state),
        Err(e) => {
            let listen = state.api_listen.clone();
            blocking(&ctx.engine, move |en| en.set_api_server(false, &listen)).await?;
            Err(e)
        }
    }
}

#[tauri::command]
pub async fn list_api_tokens(ctx: State<'_, AppContext>) -> Reply<Vec<ApiToken>> {
    blocking(&ctx.engine, |e| e.api_tokens()).await
}

/// The new token's secret is in the answer, and never again.
#[tauri::command]
pub async fn create_api_token(
    ctx: State<'_, AppContext>,
    name: Option<String>,
    role: ApiRole,
) -> Reply<CreatedToken> {
    blocking(&ctx.engine, move |e| {
        e.create_api_token(name.as_deref(), role)
    })
    .await
}

#[tauri::command]
pub async fn revoke_api_token(ctx: State<'_, AppContext>, name: String) -> Reply<()> {
    blocking(&ctx.engine, move |e| e.revoke_api_token(&name)).await
}

pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        perform_sync,
        get_sync_info,
        preview_sync,
        list_folders,
        add_folder,
        parse_remote,
        remote_url,
        test_remote,
        test_folder_remote,
        set_folder_repository,
        set_remote_secret,
        set_passphrase,
        change_passphrase,
        remove_folder,
        update_folder_settings,
        read_ignore_file,
        write_ignore_file,
        list_jobs,
        get_job,
        list_snapshots,
        list_snapshot_files,
        restore_snapshot,
        list_trash,
        restore_trash,
        get_app_state,
        set_paused,
        set_autostart,
        set_language,
        set_api_server,
        list_api_tokens,
        create_api_token,
        revoke_api_token,
    ]
}
