import type {
  AppState,
  Event,
  FileInfo,
  Folder,
  FolderSettings,
  JobDetail,
  JobFilter,
  PerformSyncRequest,
  PerformSyncStarted,
  RestoreReport,
  SnapshotInfo,
  SyncInfo,
  SyncJobPage,
  SyncPreview,
  TrashItem,
} from '../model';

/** The languages the UI ships; `null` means "follow the operating system". */
export type LanguageSetting = 'en' | 'zh-CN' | null;

/**
 * Every event the shell forwards, name → payload, derived from the engine's generated `Event`
 * (docs/desktop-contract.md, "Events").
 */
export type SyncdeskEvents = { [E in Event as E['event']]: E['payload'] };

export type SyncdeskEventName = keyof SyncdeskEvents;

/**
 * What the views can ask of the engine. One method per command of the desktop contract,
 * with the same name in camelCase and the same arguments in the same order. Every method
 * rejects with an `ApiError` (`{ code, message }`), never with anything else.
 *
 * Views get an implementation from context (see ./context.ts), so an HTTP client for the
 * served web UI can replace the Tauri one without touching them.
 */
export interface SyncdeskClient {
  performSync(request: PerformSyncRequest): Promise<PerformSyncStarted>;
  getSyncInfo(): Promise<SyncInfo>;
  previewSync(request: PerformSyncRequest): Promise<SyncPreview[]>;
  listFolders(): Promise<Folder[]>;
  /** `remote: null` = the default local repository in the app's data directory. */
  addFolder(name: string, path: string, remote: string | null, cloudName: string | null): Promise<Folder>;
  removeFolder(name: string): Promise<null>;
  updateFolderSettings(name: string, settings: FolderSettings): Promise<Folder>;
  readIgnoreFile(folder: string): Promise<string>;
  writeIgnoreFile(folder: string, text: string): Promise<null>;
  listJobs(filter: JobFilter): Promise<SyncJobPage>;
  getJob(id: number): Promise<JobDetail>;
  listSnapshots(folder: string): Promise<SnapshotInfo[]>;
  listSnapshotFiles(folder: string, snapshot: string, path: string): Promise<FileInfo[]>;
  restoreSnapshot(folder: string, snapshot: string, path: string, to: string): Promise<RestoreReport>;
  listTrash(folder: string): Promise<TrashItem[]>;
  /** Puts a trashed file back in its place, or into the directory `to`. */
  restoreTrash(folder: string, batch: string, path: string, to?: string | null): Promise<string>;
  getAppState(): Promise<AppState>;
  setPaused(paused: boolean): Promise<AppState>;
  setAutostart(enabled: boolean): Promise<AppState>;
  setLanguage(language: LanguageSetting): Promise<AppState>;

  /** Asks the user for a directory (native picker); `null` when they cancel. */
  pickDirectory(title?: string): Promise<string | null>;

  /** Follows an event; returns the function that stops following it. */
  on<E extends SyncdeskEventName>(event: E, handler: (payload: SyncdeskEvents[E]) => void): () => void;
}

/** The `app` field of every `performSync` request this UI sends. */
export const APP_ID = 'syncdesk-desktop';
