import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { open } from '@tauri-apps/plugin-dialog';
import type {
  ApiRole,
  ApiToken,
  AppState,
  CreatedToken,
  FileInfo,
  Folder,
  FolderSettings,
  JobDetail,
  JobFilter,
  PerformSyncRequest,
  PerformSyncStarted,
  ProbeReport,
  RemoteSpec,
  RepositorySettings,
  RestoreReport,
  SnapshotInfo,
  SyncInfo,
  SyncJobPage,
  SyncPreview,
  TrashItem,
} from '../model';
import type { ClientCapabilities, LanguageSetting, SyncdeskClient, SyncdeskEventName, SyncdeskEvents } from './client';
import { toApiError } from './errors';

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/** The desktop client: Tauri commands and events (arguments in camelCase, as Tauri maps them). */
export class TauriClient implements SyncdeskClient {
  readonly capabilities: ClientCapabilities = { pickDirectory: true, autostart: true, localApi: true };

  performSync(request: PerformSyncRequest): Promise<PerformSyncStarted> {
    return call('perform_sync', { request });
  }
  getSyncInfo(): Promise<SyncInfo> {
    return call('get_sync_info');
  }
  previewSync(request: PerformSyncRequest): Promise<SyncPreview[]> {
    return call('preview_sync', { request });
  }
  listFolders(): Promise<Folder[]> {
    return call('list_folders');
  }
  addFolder(name: string, path: string, repository: RepositorySettings | null): Promise<Folder> {
    return call('add_folder', { name, path, repository });
  }
  parseRemote(remote: string): Promise<RemoteSpec> {
    return call('parse_remote', { remote });
  }
  remoteUrl(spec: RemoteSpec): Promise<string> {
    return call('remote_url', { spec });
  }
  testRemote(remote: string, secret: string | null): Promise<ProbeReport> {
    return call('test_remote', { remote, secret });
  }
  testFolderRemote(folder: string): Promise<ProbeReport> {
    return call('test_folder_remote', { folder });
  }
  setFolderRepository(name: string, repository: RepositorySettings): Promise<Folder> {
    return call('set_folder_repository', { name, repository });
  }
  setRemoteSecret(folder: string, secret: string): Promise<null> {
    return call('set_remote_secret', { folder, secret });
  }
  setPassphrase(folder: string, passphrase: string): Promise<null> {
    return call('set_passphrase', { folder, passphrase });
  }
  changePassphrase(folder: string, oldPassphrase: string, newPassphrase: string): Promise<null> {
    return call('change_passphrase', { folder, old: oldPassphrase, new: newPassphrase });
  }
  removeFolder(name: string): Promise<null> {
    return call('remove_folder', { name });
  }
  updateFolderSettings(name: string, settings: FolderSettings): Promise<Folder> {
    return call('update_folder_settings', { name, settings });
  }
  readIgnoreFile(folder: string): Promise<string> {
    return call('read_ignore_file', { folder });
  }
  writeIgnoreFile(folder: string, text: string): Promise<null> {
    return call('write_ignore_file', { folder, text });
  }
  listJobs(filter: JobFilter): Promise<SyncJobPage> {
    return call('list_jobs', { filter });
  }
  getJob(id: number): Promise<JobDetail> {
    return call('get_job', { id });
  }
  listSnapshots(folder: string): Promise<SnapshotInfo[]> {
    return call('list_snapshots', { folder });
  }
  listSnapshotFiles(folder: string, snapshot: string, path: string): Promise<FileInfo[]> {
    return call('list_snapshot_files', { folder, snapshot, path });
  }
  restoreSnapshot(folder: string, snapshot: string, path: string, to: string): Promise<RestoreReport> {
    return call('restore_snapshot', { folder, snapshot, path, to });
  }
  listTrash(folder: string): Promise<TrashItem[]> {
    return call('list_trash', { folder });
  }
  restoreTrash(folder: string, batch: string, path: string, to: string | null = null): Promise<string> {
    return call('restore_trash', { folder, batch, path, to });
  }
  getAppState(): Promise<AppState> {
    return call('get_app_state');
  }
  setPaused(paused: boolean): Promise<AppState> {
    return call('set_paused', { paused });
  }
  setAutostart(enabled: boolean): Promise<AppState> {
    return call('set_autostart', { enabled });
  }
  setLanguage(language: LanguageSetting): Promise<AppState> {
    return call('set_language', { language });
  }

  setApiServer(enabled: boolean, listen: string): Promise<AppState> {
    return call('set_api_server', { enabled, listen });
  }
  listApiTokens(): Promise<ApiToken[]> {
    return call('list_api_tokens');
  }
  createApiToken(name: string | null, role: ApiRole): Promise<CreatedToken> {
    return call('create_api_token', { name, role });
  }
  revokeApiToken(name: string): Promise<null> {
    return call('revoke_api_token', { name });
  }

  async pickDirectory(title?: string): Promise<string | null> {
    try {
      const picked = await open({ directory: true, multiple: false, title });
      return typeof picked === 'string' ? picked : null;
    } catch (e) {
      throw toApiError(e);
    }
  }

  on<E extends SyncdeskEventName>(event: E, handler: (payload: SyncdeskEvents[E]) => void): () => void {
    let active = true;
    let stop: (() => unknown) | null = null;
    const quietly = (f: () => unknown) => {
      try {
        void Promise.resolve(f()).catch(() => {});
      } catch {
        // The window is going away; nothing to unlisten from.
      }
    };
    listen<SyncdeskEvents[E]>(event, (e) => {
      if (active) handler(e.payload);
    }).then(
      (unlisten) => {
        if (active) stop = unlisten;
        else quietly(unlisten);
      },
      () => {},
    );
    return () => {
      if (!active) return;
      active = false;
      if (stop) quietly(stop);
      stop = null;
    };
  }

  /** Tauri events go through the app's own IPC, which never drops: there is nothing to reconnect. */
  onReconnect(_handler: () => void): () => void {
    return () => {};
  }
}
