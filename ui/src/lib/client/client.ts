import type {
  ApiRole,
  ApiToken,
  AppState,
  CreatedToken,
  Event,
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

/** The languages the UI ships; `null` means "follow the operating system". */
export type LanguageSetting = 'en' | 'zh-CN' | null;

/**
 * Every event the shell forwards, name → payload, derived from the engine's generated `Event`
 * (docs/desktop-contract.md, "Events").
 */
export type SyncdeskEvents = { [E in Event as E['event']]: E['payload'] };

export type SyncdeskEventName = keyof SyncdeskEvents;

/** What a transport can do beyond the engine's commands; the views hide what it cannot. */
export interface ClientCapabilities {
  /** A native directory picker (the desktop app); elsewhere the user types a path. */
  pickDirectory: boolean;
  /** Start-at-login, which only the desktop app can register with the OS. */
  autostart: boolean;
  /** The desktop app's settings of the local HTTP API (server switch, tokens). */
  localApi: boolean;
}

/**
 * What the views can ask of the engine. One method per command of the desktop contract,
 * with the same name in camelCase and the same arguments in the same order. Every method
 * rejects with an `ApiError` (`{ code, message }`), never with anything else.
 *
 * Views get an implementation from context (see ./context.ts), so an HTTP client for the
 * served web UI can replace the Tauri one without touching them.
 */
export interface SyncdeskClient {
  readonly capabilities: ClientCapabilities;

  performSync(request: PerformSyncRequest): Promise<PerformSyncStarted>;
  getSyncInfo(): Promise<SyncInfo>;
  previewSync(request: PerformSyncRequest): Promise<SyncPreview[]>;
  listFolders(): Promise<Folder[]>;
  /** `repository: null` = the default local repository in the app's data directory. */
  addFolder(name: string, path: string, repository: RepositorySettings | null): Promise<Folder>;
  /** Reads a remote URL (a folder's `remote`) back into its parts. */
  parseRemote(remote: string): Promise<RemoteSpec>;
  /** The remote URL of a spec, as `RepositorySettings.remote` takes it. */
  remoteUrl(spec: RemoteSpec): Promise<string>;
  /** Tries a remote that is not saved yet, with its secret (S3 secret key, WebDAV password). */
  testRemote(remote: string, secret: string | null): Promise<ProbeReport>;
  /** Tries a folder's saved remote with the credentials in the OS keyring. */
  testFolderRemote(folder: string): Promise<ProbeReport>;
  /**
   * Moves a folder to another remote, cloud name or encryption. Its sync starts over; the old
   * repository stays as it is. Without `secret`, the stored one is kept.
   */
  setFolderRepository(name: string, repository: RepositorySettings): Promise<Folder>;
  /** Replaces the secret of a folder's remote in the OS keyring. */
  setRemoteSecret(folder: string, secret: string): Promise<null>;
  /** Stores the passphrase of an encrypted folder changed on another device (checked first). */
  setPassphrase(folder: string, passphrase: string): Promise<null>;
  /** Changes the passphrase of an encrypted folder's repository for every device. */
  changePassphrase(folder: string, oldPassphrase: string, newPassphrase: string): Promise<null>;
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

  // The local HTTP API, managed from the desktop app only (`capabilities.localApi`).
  /** Turns the API server on or off and sets its listen address (`host:port`). */
  setApiServer(enabled: boolean, listen: string): Promise<AppState>;
  listApiTokens(): Promise<ApiToken[]>;
  /** The secret is in the answer only: it cannot be read back later. */
  createApiToken(name: string | null, role: ApiRole): Promise<CreatedToken>;
  revokeApiToken(name: string): Promise<null>;

  /** Follows an event; returns the function that stops following it. */
  on<E extends SyncdeskEventName>(event: E, handler: (payload: SyncdeskEvents[E]) => void): () => void;

  /**
   * Called after the event stream came back from an interruption: events may have been
   * missed, so whoever shows engine state loads it again. Returns the unsubscribe.
   */
  onReconnect(handler: () => void): () => void;
}

/** The `app` field of every `performSync` request this UI sends. */
export const APP_ID = 'syncdesk-desktop';
