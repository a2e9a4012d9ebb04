import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { render } from '@testing-library/svelte';
import type { Component } from 'svelte';
import { TauriClient } from '../src/lib/client/tauri';
import type { SocketLike } from '../src/lib/client/http';
import { APP_CONTEXT, type AppContext } from '../src/lib/client/context';
import type { SyncdeskClient, SyncdeskEventName, SyncdeskEvents } from '../src/lib/client/client';
import { I18n, type Locale } from '../src/lib/i18n/i18n.svelte';
import { AppStateStore } from '../src/lib/app-state.svelte';
import type {
  AppState,
  Folder,
  FolderInfo,
  SyncEvent,
  SyncJob,
  SyncJobPage,
} from '../src/lib/model';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Args = Record<string, any>;
/** A command's fake: a value, or a function of its arguments (throw to reject). */
export type Fake = ((args: Args) => unknown) | object | string | number | boolean | null;

export interface Backend {
  calls: { cmd: string; args: Args }[];
  count(cmd: string): number;
  /** The arguments of every call of `cmd`, in order. */
  args(cmd: string): Args[];
  last(cmd: string): Args | undefined;
  set(cmd: string, fake: Fake): void;
}

export const DEFAULT_APP_STATE: AppState = {
  paused: false,
  autostart: false,
  language: null,
  apiEnabled: false,
  apiListen: '127.0.0.1:6806',
};

/**
 * Installs the Tauri IPC mock (with event mocking) in front of the real TauriClient.
 * Commands without a fake reject like Tauri does for an unknown command (a bare string).
 */
export function backend(fakes: Record<string, Fake> = {}): Backend {
  const table: Record<string, Fake> = { get_app_state: DEFAULT_APP_STATE, list_api_tokens: [], ...fakes };
  const calls: { cmd: string; args: Args }[] = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Args;
      calls.push({ cmd, args: a });
      if (!(cmd in table)) throw `command ${cmd} not found`;
      const fake = table[cmd];
      return typeof fake === 'function' ? (fake as (a: Args) => unknown)(a) : structuredClone(fake);
    },
    { shouldMockEvents: true },
  );
  return {
    calls,
    count: (cmd) => calls.filter((c) => c.cmd === cmd).length,
    args: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    last: (cmd) => calls.filter((c) => c.cmd === cmd).at(-1)?.args,
    set: (cmd, fake) => {
      table[cmd] = fake;
    },
  };
}

/** Emits an engine event the way the shell does. */
export function fire<E extends SyncdeskEventName>(event: E, payload: SyncdeskEvents[E]): Promise<void> {
  return emit(event, payload);
}

/**
 * Renders a view with a client (the real Tauri one unless told), translations and app state
 * in context.
 */
export function renderView(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  view: Component<any>,
  props: Record<string, unknown> = {},
  locale: Locale = 'en',
  client: SyncdeskClient = new TauriClient(),
) {
  const i18n = new I18n(locale);
  const app = new AppStateStore(client, i18n);
  const ctx: AppContext = { client, i18n, app };
  const result = render(view, { props, context: new Map([[APP_CONTEXT, ctx]]) });
  return { ...result, ctx };
}

// The HTTP transport: a fake `syncdesk-cli serve` behind a fake fetch, and fake WebSockets.

export interface HttpCall {
  method: string;
  /** Without the query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
}

export interface HttpBackend {
  fetch: typeof fetch;
  calls: HttpCall[];
  /** Calls of a route, `"POST /api/folder/listFolders"`. */
  count(route: string): number;
  last(route: string): HttpCall | undefined;
  set(route: string, fake: Fake): void;
  setToken(token: string): void;
}

const STATUS_OF: Record<string, number> = { invalid_request: 400, unauthorized: 401, forbidden: 403, not_found: 404 };

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/**
 * Answers like the local HTTP API (docs/api.md): `POST /api/...` in the envelope, `GET` (the
 * jobs) as REST. A fake throwing `{ code, message }` is a failure of that code; a fake
 * returning a `Response` answers with it as it is. Routes without a fake answer 404. With
 * `token`, any other token answers 401 (`setToken` revokes it).
 */
export function httpBackend(fakes: Record<string, Fake> = {}, options: { token?: string } = {}): HttpBackend {
  let token = options.token;
  const table: Record<string, Fake> = { 'POST /api/app/getAppState': DEFAULT_APP_STATE, ...fakes };
  const calls: HttpCall[] = [];
  const fetch = async (input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const method = init.method ?? 'GET';
    const call: HttpCall = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...(init.headers as Record<string, string>) },
      body: typeof init.body === 'string' ? JSON.parse(init.body) : init.body,
    };
    calls.push(call);
    const route = `${method} ${url.pathname}`;
    const envelope = method === 'POST';
    if (token !== undefined && call.headers.Authorization !== `Token ${token}`) {
      const message = 'unknown or revoked token';
      return json(envelope ? { code: -1, msg: message, data: null, error: 'unauthorized' } : { code: 'unauthorized', message }, 401);
    }
    if (!(route in table)) return json({ code: 'not_found', message: `no route ${route}` }, 404);
    const fake = table[route];
    try {
      const value =
        typeof fake === 'function'
          ? (fake as (a: Args) => unknown)((call.body ?? {}) as Args)
          : fake instanceof Response
            ? fake
            : structuredClone(fake);
      if (value instanceof Response) return value;
      return json(envelope ? { code: 0, msg: '', data: value } : value);
    } catch (e) {
      const { code, message } = e as { code: string; message: string };
      const status = STATUS_OF[code] ?? (envelope ? 200 : 500);
      return json(envelope ? { code: -1, msg: message, data: null, error: code } : { code, message }, status);
    }
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    calls,
    count: (route) => calls.filter((c) => `${c.method} ${c.path}` === route).length,
    last: (route) => calls.filter((c) => `${c.method} ${c.path}` === route).at(-1),
    set: (route, fake) => {
      table[route] = fake;
    },
    setToken: (t) => {
      token = t;
    },
  };
}

/** A WebSocket the test drives: open it, send frames from the "server", drop it. */
export class FakeSocket implements SocketLike {
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  closed = false;
  constructor(readonly url: string) {}
  close(): void {
    this.closed = true;
  }
  open(): void {
    this.onopen?.(new Event('open'));
  }
  emit(event: string, payload: unknown): void {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify({ event, payload }) }));
  }
  raw(data: string): void {
    this.onmessage?.(new MessageEvent('message', { data }));
  }
  drop(code = 1006): void {
    this.onerror?.(new Event('error'));
    this.onclose?.(new CloseEvent('close', { code }));
  }
}

/** A WebSocket constructor that records every socket it makes. */
export function fakeSockets() {
  const sockets: FakeSocket[] = [];
  const WebSocket = class extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  };
  return { WebSocket, sockets, last: () => sockets.at(-1) };
}

// Fixtures.

export function folder(name: string, over: Partial<Folder> = {}): Folder {
  return {
    name,
    path: `/home/me/${name}`,
    remote: '/srv/sync',
    cloudName: 'main',
    enabled: true,
    syncMode: 'automatic',
    intervalSecs: 300,
    watch: true,
    encrypted: false,
    ...over,
  };
}

export function job(id: number, over: Partial<SyncJob> = {}): SyncJob {
  return {
    id,
    job_type: 'sync',
    trigger_type: 'manual',
    status: 'succeeded',
    folder: 'docs',
    started_at: '2026-01-01T10:00:00.000Z',
    ended_at: '2026-01-01T10:00:01.500Z',
    error_message: null,
    metadata: { app: 'syncdesk-desktop', mode: '' },
    stats: {
      files_scanned: 100,
      files_uploaded: 3,
      files_downloaded: 2,
      files_deleted: 1,
      conflicts: 0,
      bytes_uploaded: 8192,
      bytes_downloaded: 4096,
      retries: 0,
      duration_ms: 1500,
    },
    created_at: '2026-01-01T10:00:00.000Z',
    updated_at: '2026-01-01T10:00:01.500Z',
    ...over,
  };
}

export function folderInfo(name: string, over: Partial<FolderInfo> = {}): FolderInfo {
  return {
    name,
    path: `/home/me/${name}`,
    providerName: 'Local',
    remote: '/srv/sync',
    cloudName: 'main',
    enabled: true,
    syncMode: 'automatic',
    intervalSecs: 300,
    watch: true,
    encrypted: false,
    syncing: false,
    progress: { current: 0, total: 0, info: 'Idle', msg: '', percent: 0 },
    lastJob: null,
    lastSyncAt: null,
    ...over,
  };
}

export function syncInfo(folders: FolderInfo[]) {
  return {
    providerName: 'Local',
    cloudName: 'main',
    enabled: true,
    syncMode: 'automatic',
    intervalSecs: 300,
    watch: true,
    encrypted: false,
    syncing: false,
    progress: { current: 0, total: 0, info: 'Idle', msg: '', percent: 0 },
    folders,
  };
}

export function event(over: Partial<SyncEvent> = {}): SyncEvent {
  return {
    name: 'syncProgress',
    jobId: 7,
    folder: 'docs',
    phase: 'uploading',
    current: 0,
    total: 0,
    bytes: 0,
    bytesTotal: 0,
    info: '',
    msg: '',
    percent: 0,
    status: null,
    at: '2026-01-01T10:00:00.000Z',
    ...over,
  };
}

export function page(items: SyncJob[], meta: Partial<SyncJobPage['meta']> = {}): SyncJobPage {
  return {
    items,
    meta: { page: 1, page_size: 20, total: items.length, total_pages: items.length ? 1 : 0, ...meta },
  };
}
