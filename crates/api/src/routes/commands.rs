//! The desktop app's commands over HTTP (docs/desktop-contract.md): `POST /api/<area>/<name>`
//! with the command's arguments as a JSON object, answering in the envelope. Each is the
//! same engine call as its Tauri command, so the web UI runs the desktop UI's views.

use std::path::PathBuf;

use axum::extract::State;
use serde::Deserialize;
use syncdesk_engine::EngineError;
use syncdesk_engine::history::{FileInfo, RestoreReport, SnapshotInfo};
use syncdesk_engine::model::{AppState, Folder, FolderSettings, NewFolder, RepositorySettings};
use syncdesk_engine::remote::{ProbeReport, RemoteSpec};
use syncdesk_engine::secrets::Secret;
use syncdesk_engine::trash::TrashItem;

use super::blocking;
use crate::ApiState;
use crate::body::JsonBody;
use crate::reply::{Envelope, Failure};

type Reply<T> = Result<Envelope<T>, Failure>;

/// `command!(fn_name, Args { field: Type, … } -> Output, |engine, args| call)`: the handler
/// and the struct of its arguments (camelCase; unknown fields are an error, not ignored).
macro_rules! command {
    ($name:ident, $args:ident { $($field:ident : $ty:ty),* $(,)? } -> $out:ty,
     |$e:ident, $a:ident| $body:expr) => {
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $args {
            $($field: $ty),*
        }

        pub async fn $name(
            State(st): State<ApiState>,
            JsonBody($a): JsonBody<$args>,
        ) -> Reply<$out> {
            blocking(&st, move |$e| $body).await.map(Envelope)
        }
    };
}

command!(list_folders, ListFolders {} -> Vec<Folder>, |e, _a| e.folders());
command!(remove_folder, RemoveFolder { name: String } -> (), |e, a| e.remove_folder(&a.name));
command!(update_folder_settings, UpdateFolderSettings { name: String, settings: FolderSettings }
    -> Folder, |e, a| e.update_folder_settings(&a.name, &a.settings));
command!(read_ignore_file, ReadIgnoreFile { folder: String } -> String,
    |e, a| e.ignore_rules(&a.folder));
command!(write_ignore_file, WriteIgnoreFile { folder: String, text: String } -> (),
    |e, a| e.set_ignore_rules(&a.folder, &a.text));
command!(set_folder_repository, SetFolderRepository { name: String, repository: RepositorySettings }
    -> Folder, |e, a| e.set_folder_repository(&a.name, &a.repository));
command!(set_remote_secret, SetRemoteSecret { folder: String, secret: Secret } -> (),
    |e, a| e.set_remote_secret(&a.folder, &a.secret));
command!(set_passphrase, SetPassphrase { folder: String, passphrase: Secret } -> (),
    |e, a| e.set_passphrase(&a.folder, &a.passphrase));
command!(change_passphrase, ChangePassphrase { folder: String, old: Secret, new: Secret } -> (),
    |e, a| e.change_passphrase(&a.folder, &a.old, &a.new));
command!(test_folder_remote, TestFolderRemote { folder: String } -> ProbeReport,
    |e, a| e.test_folder_remote(&a.folder));

command!(parse_remote, ParseRemote { remote: String } -> RemoteSpec,
    |_e, a| RemoteSpec::parse(&a.remote).map_err(EngineError::from));
command!(remote_url, RemoteUrl { spec: RemoteSpec } -> String, |_e, a| Ok(a.spec.to_url()));
command!(test_remote, TestRemote { remote: String, secret: Option<Secret> } -> ProbeReport,
    |e, a| e.test_remote(&a.remote, a.secret.as_ref()));

command!(list_snapshots, ListSnapshots { folder: String } -> Vec<SnapshotInfo>,
    |e, a| e.snapshots(&a.folder));
command!(list_snapshot_files, ListSnapshotFiles { folder: String, snapshot: String, path: String }
    -> Vec<FileInfo>, |e, a| e.snapshot_files(&a.folder, &a.snapshot, &a.path));
command!(restore_snapshot,
    RestoreSnapshot { folder: String, snapshot: String, path: String, to: PathBuf }
    -> RestoreReport, |e, a| e.restore(&a.folder, &a.snapshot, &a.path, &a.to));
command!(list_trash, ListTrash { folder: String } -> Vec<TrashItem>, |e, a| e.trash(&a.folder));
command!(restore_trash,
    RestoreTrash { folder: String, batch: String, path: String, to: Option<PathBuf> } -> String,
    |e, a| e
        .restore_from_trash(&a.folder, &a.batch, &a.path, a.to.as_deref())
        .map(|p| p.display().to_string()));

command!(get_app_state, GetAppState {} -> AppState, |e, _a| e.app_state());
command!(set_paused, SetPaused { paused: bool } -> AppState, |e, a| e.set_paused(a.paused));
command!(set_language, SetLanguage { language: Option<String> } -> AppState,
    |e, a| e.set_language(a.language.as_deref()));

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddFolder {
    name: String,
    path: PathBuf,
    repository: Option<RepositorySettings>,
}

/// `repository: null` puts the folder in this server's default local repository, under the
/// folder's name, as the desktop app does.
pub async fn add_folder(
    State(st): State<ApiState>,
    JsonBody(a): JsonBody<AddFolder>,
) -> Reply<Folder> {
    let repository = match a.repository {
        Some(r) => r,
        None => RepositorySettings {
            remote: st.default_remote.display().to_string(),
            cloud_name: Some(a.name.clone()),
            ..Default::default()
        },
    };
    let folder = NewFolder {
        name: a.name,
        path: a.path,
        repository,
    };
    blocking(&st, move |e| e.add_folder_with(&folder))
        .await
        .map(Envelope)
}
