import type {
  ApiError,
  ApiToken,
  AppState,
  CreatedToken,
  FileInfo,
  Folder,
  FolderSettings,
  JobDetail,
  JobFilter,
  JobLogLine,
  PerformSyncRequest,
  PerformSyncStarted,
  ProbeReport,
  RemoteSpec,
  RepositorySettings,
  RestoreReport,
  SnapshotInfo,
  SyncInfo,
  SyncJob,
  SyncJobPage,
  SyncPreview,
  TrashItem,
} from '../model';
import type { ClientCapabilities, LanguageSetting, SyncdeskClient, SyncdeskEventName, SyncdeskEvents } from './client';

/** What the client needs of a WebSocket: the browser's, or a test's fake. */
export interface SocketLike {
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  close(code?: number, reason?: string): void;
}
export type SocketConstructor = new (url: string) => SocketLike;

export interface HttpClientOptions {
  /** Where `syncdesk-cli serve` answers, e.g. `http://127.0.0.1:6806`. */
  baseUrl: string;
  /** An API token (`sdt_…`), sent as `Authorization: Token <token>`. */
  token: string;
  fetch?: typeof fetch;
  WebSocket?: SocketConstructor;
  /** The server refused the token (HTTP 401): the app must ask for another one. */
  onUnauthorized?: () => void;
}

/** Reconnect delays of the event stream: from half a second, doubling, up to ten seconds. */
export const RECONNECT_MIN_MS = 500;
export const RECONNECT_MAX_MS = 10_000;

type Handler = (payload: unknown) => void;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function unsupported(what: string): Promise<never> {
  return Promise.reject<never>({ code: 'unsupported', message: `${what} is only available in the Syncdesk desktop app.` });
}

/**
 * The web UI's client: the control API over HTTP and the events over a WebSocket, as
 * `syncdesk-cli serve` offers them (docs/api.md, "The local HTTP API").
 */
export class HttpClient implements SyncdeskClient {
  readonly capabilities: ClientCapabilities = { pickDirectory: false, autostart: false, localApi: false };

  readonly #base: string;
  readonly #token: string;
  readonly #fetch: typeof fetch;
  readonly #Socket: SocketConstructor;
  readonly #onUnauthorized: (() => void) | undefined;

  readonly #handlers = new Map<string, Set<Handler>>();
  readonly #reconnectHandlers = new Set<() => void>();
  #socket: SocketLike | null = null;
  #retry: ReturnType<typeof setTimeout> | null = null;
  #delay = RECONNECT_MIN_MS;
  #attempts = 0;
  #closed = false;

  constructor(options: HttpClientOptions) {
    // A trailing slash would double up with the paths below; a path prefix (a proxy) is kept.
    this.#base = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    // Called unbound, the browser's fetch throws "Illegal invocation".
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#Socket = options.WebSocket ?? (globalThis.WebSocket as unknown as SocketConstructor);
    this.#onUnauthorized = options.onUnauthorized;
  }

  // Transport.

  async #send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ res: Response; json: unknown }> {
    const headers: Record<string, string> = { Authorization: `Token ${this.#token}`, Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.#fetch(this.#base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      const why = e instanceof Error && e.message ? ` (${e.message})` : '';
      throw {
        code: 'unreachable',
        message: `Cannot reach Syncdesk at ${this.#base}${why}. Is it still running?`,
      } satisfies ApiError;
    }
    let json: unknown = undefined;
    try {
      json = await res.json();
    } catch {
      // Not JSON (a proxy's error page, an empty body): described by the status below.
    }
    if (res.status === 401) {
      this.#onUnauthorized?.();
      throw { code: 'unauthorized', message: messageOf(json) ?? 'The API token was not accepted.' } satisfies ApiError;
    }
    return { res, json };
  }

  /** A command answering in the envelope `{ code, msg, data, error }`. */
  async #command<T>(path: string, body: unknown = {}): Promise<T> {
    const { res, json } = await this.#send('POST', path, body);
    if (isRecord(json) && typeof json.code === 'number') {
      if (json.code === 0) return json.data as T;
      throw {
        code: typeof json.error === 'string' && json.error ? json.error : 'internal',
        message: typeof json.msg === 'string' ? json.msg : `HTTP ${res.status}`,
      } satisfies ApiError;
    }
    throw httpError(res, json);
  }

  /** A REST resource: the JSON itself, or an `ErrorResponse` `{ code, message }`. */
  async #rest<T>(path: string): Promise<T> {
    const { res, json } = await this.#send('GET', path);
    if (res.ok && json !== undefined) return json as T;
    throw httpError(res, json);
  }

  // Commands (docs/api.md, "Endpoints").

  performSync(request: PerformSyncRequest): Promise<PerformSyncStarted> {
    return this.#command('/api/sync/performSync', request);
  }
  getSyncInfo(): Promise<SyncInfo> {
    return this.#command('/api/sync/getSyncInfo');
  }
  previewSync(request: PerformSyncRequest): Promise<SyncPreview[]> {
    return this.#command('/api/sync/previewSync', request);
  }
  listFolders(): Promise<Folder[]> {
    return this.#command('/api/folder/listFolders');
  }
  addFolder(name: string, path: string, repository: RepositorySettings | null): Promise<Folder> {
    return this.#command('/api/folder/addFolder', { name, path, repository });
  }
  parseRemote(remote: string): Promise<RemoteSpec> {
    return this.#command('/api/remote/parseRemote', { remote });
  }
  remoteUrl(spec: RemoteSpec): Promise<string> {
    return this.#command('/api/remote/remoteUrl', { spec });
  }
  testRemote(remote: string, secret: string | null): Promise<ProbeReport> {
    return this.#command('/api/remote/testRemote', { remote, secret });
  }
  testFolderRemote(folder: string): Promise<ProbeReport> {
    return this.#command('/api/folder/testFolderRemote', { folder });
  }
  setFolderRepository(name: string, repository: RepositorySettings): Promise<Folder> {
    return this.#command('/api/folder/setFolderRepository', { name, repository });
  }
  setRemoteSecret(folder: string, secret: string): Promise<null> {
    return this.#command('/api/folder/setRemoteSecret', { folder, secret });
  }
  setPassphrase(folder: string, passphrase: string): Promise<null> {
    return this.#command('/api/folder/setPassphrase', { folder, passphrase });
  }
  changePassphrase(folder: string, oldPassphrase: string, newPassphrase: string): Promise<null> {
    return this.#command('/api/folder/changePassphrase', { folder, old: oldPassphrase, new: newPassphrase });
  }
  removeFolder(name: string): Promise<null> {
    return this.#command('/api/folder/removeFolder', { name });
  }
  updateFolderSettings(name: string, settings: FolderSettings): Promise<Folder> {
    return this.#command('/api/folder/updateFolderSettings', { name, settings });
  }
  readIgnoreFile(folder: string): Promise<string> {
    return this.#command('/api/folder/readIgnoreFile', { folder });
  }
  writeIgnoreFile(folder: string, text: string): Promise<null> {
    return this.#command('/api/folder/writeIgnoreFile', { folder, text });
  }
  listJobs(filter: JobFilter): Promise<SyncJobPage> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filter)) {
      if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
    }
    const q = query.toString();
    return this.#rest(`/api/sync/jobs${q ? `?${q}` : ''}`);
  }
  async getJob(id: number): Promise<JobDetail> {
    const path = `/api/sync/jobs/${encodeURIComponent(String(id))}`;
    const [job, log] = await Promise.all([this.#rest<SyncJob>(path), this.#rest<JobLogLine[]>(`${path}/log`)]);
    return { job, log };
  }
  listSnapshots(folder: string): Promise<SnapshotInfo[]> {
    return this.#command('/api/history/listSnapshots', { folder });
  }
  listSnapshotFiles(folder: string, snapshot: string, path: string): Promise<FileInfo[]> {
    return this.#command('/api/history/listSnapshotFiles', { folder, snapshot, path });
  }
  restoreSnapshot(folder: string, snapshot: string, path: string, to: string): Promise<RestoreReport> {
    return this.#command('/api/history/restoreSnapshot', { folder, snapshot, path, to });
  }
  listTrash(folder: string): Promise<TrashItem[]> {
    return this.#command('/api/history/listTrash', { folder });
  }
  restoreTrash(folder: string, batch: string, path: string, to: string | null = null): Promise<string> {
    return this.#command('/api/history/restoreTrash', { folder, batch, path, to });
  }
  getAppState(): Promise<AppState> {
    return this.#command('/api/app/getAppState');
  }
  setPaused(paused: boolean): Promise<AppState> {
    return this.#command('/api/app/setPaused', { paused });
  }
  setLanguage(language: LanguageSetting): Promise<AppState> {
    return this.#command('/api/app/setLanguage', { language });
  }

  // The desktop app's own: no endpoint (docs/api.md), and `capabilities` tells the views.

  setAutostart(): Promise<AppState> {
    return unsupported('Start at login');
  }
  pickDirectory(): Promise<string | null> {
    return unsupported('Choosing a directory');
  }
  setApiServer(): Promise<AppState> {
    return unsupported('The local API settings');
  }
  listApiTokens(): Promise<ApiToken[]> {
    return unsupported('Managing API tokens');
  }
  createApiToken(): Promise<CreatedToken> {
    return unsupported('Managing API tokens');
  }
  revokeApiToken(): Promise<null> {
    return unsupported('Managing API tokens');
  }

  // Events: one WebSocket for every subscription.

  on<E extends SyncdeskEventName>(event: E, handler: (payload: SyncdeskEvents[E]) => void): () => void {
    let set = this.#handlers.get(event);
    if (!set) this.#handlers.set(event, (set = new Set()));
    // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
    const h: Handler = (p) => handler(p as SyncdeskEvents[E]);
    set.add(h);
    this.#connect();
    return () => {
      set.delete(h);
    };
  }

  onReconnect(handler: () => void): () => void {
    const h = () => handler();
    this.#reconnectHandlers.add(h);
    return () => {
      this.#reconnectHandlers.delete(h);
    };
  }

  /** Stops the event stream for good (sign-out): no more reconnects. */
  close(): void {
    this.#closed = true;
    if (this.#retry !== null) clearTimeout(this.#retry);
    this.#retry = null;
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
    this.#handlers.clear();
    this.#reconnectHandlers.clear();
  }

  #connect(): void {
    if (this.#closed || this.#socket || this.#retry !== null) return;
    // A browser cannot set headers on a WebSocket: the token goes in the query (docs/api.md).
    const url = `${this.#base.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(this.#token)}`;
    const first = this.#attempts++ === 0;
    let socket: SocketLike;
    try {
      socket = new this.#Socket(url);
    } catch {
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      this.#delay = RECONNECT_MIN_MS;
      // Any open but the very first one follows a gap in which events may have been lost.
      if (!first) for (const h of [...this.#reconnectHandlers]) safely(h, undefined);
    };
    socket.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      let frame: unknown;
      try {
        frame = JSON.parse(m.data);
      } catch {
        return;
      }
      if (!isRecord(frame) || typeof frame.event !== 'string') return;
      const set = this.#handlers.get(frame.event);
      if (set) for (const h of [...set]) safely(h, frame.payload);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#scheduleReconnect();
    };
    // An error is always followed by a close, which does the reconnecting.
    socket.onerror = () => {};
  }

  #scheduleReconnect(): void {
    if (this.#closed) return;
    const wait = this.#delay;
    this.#delay = Math.min(this.#delay * 2, RECONNECT_MAX_MS);
    this.#retry = setTimeout(() => {
      this.#retry = null;
      this.#connect();
    }, wait);
  }
}

/** One view's failing handler must not keep the others from their events. */
function safely<T>(h: (x: T) => void, x: T): void {
  try {
    h(x);
  } catch (e) {
    console.error(e);
  }
}

function messageOf(json: unknown): string | null {
  if (!isRecord(json)) return null;
  if (typeof json.message === 'string') return json.message;
  if (typeof json.msg === 'string') return json.msg;
  return null;
}

/** A failed answer as an `ApiError`: the server's `ErrorResponse` or envelope, else the status. */
function httpError(res: Response, json: unknown): ApiError {
  if (isRecord(json)) {
    const code = typeof json.code === 'string' ? json.code : typeof json.error === 'string' ? json.error : null;
    const message = messageOf(json);
    if (code && message !== null) return { code, message };
  }
  const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
  return {
    code: res.status === 403 ? 'forbidden' : res.status === 404 ? 'not_found' : 'internal',
    message: res.ok ? `${status}: the server's answer was not understood.` : `The server answered ${status}.`,
  };
}
