import { mockIPC } from '@tauri-apps/api/mocks';
import { emit } from '@tauri-apps/api/event';
import { render } from '@testing-library/svelte';
import type { Component } from 'svelte';
import { TauriClient } from '../src/lib/client/tauri';
import { APP_CONTEXT, type AppContext } from '../src/lib/client/context';
import type { SyncdeskEventName, SyncdeskEvents } from '../src/lib/client/client';
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

export const DEFAULT_APP_STATE: AppState = { paused: false, autostart: false, language: null };

/**
 * Installs the Tauri IPC mock (with event mocking) in front of the real TauriClient.
 * Commands without a fake reject like Tauri does for an unknown command (a bare string).
 */
export function backend(fakes: Record<string, Fake> = {}): Backend {
  const table: Record<string, Fake> = { get_app_state: DEFAULT_APP_STATE, ...fakes };
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

/** Renders a view with the real Tauri client, translations and app state in context. */
export function renderView(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  view: Component<any>,
  props: Record<string, unknown> = {},
  locale: Locale = 'en',
) {
  const client = new TauriClient();
  const i18n = new I18n(locale);
  const app = new AppStateStore(client, i18n);
  const ctx: AppContext = { client, i18n, app };
  const result = render(view, { props, context: new Map([[APP_CONTEXT, ctx]]) });
  return { ...result, ctx };
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
