import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import WebApp from '../src/WebApp.svelte';
import Settings from '../src/lib/views/Settings.svelte';
import Snapshots from '../src/lib/views/Snapshots.svelte';
import { HttpClient } from '../src/lib/client/http';
import { TOKEN_KEY } from '../src/lib/client/token';
import type { SnapshotInfo } from '../src/lib/model';
import { fakeSockets, folder, folderInfo, httpBackend, page, renderView, syncInfo, type Args, type Fake } from './helpers';

const BASE = 'http://127.0.0.1:6806';
const GOOD = 'sdt_good';

function fakes(extra: Record<string, Fake> = {}): Record<string, Fake> {
  return {
    'POST /api/sync/getSyncInfo': syncInfo([folderInfo('vault')]),
    'POST /api/folder/listFolders': [folder('vault')],
    'GET /api/sync/jobs': page([]),
    ...extra,
  };
}

function renderWeb(extra: Record<string, Fake> = {}) {
  const http = httpBackend(fakes(extra), { token: GOOD });
  const ws = fakeSockets();
  render(WebApp, { props: { baseUrl: BASE, fetch: http.fetch, WebSocket: ws.WebSocket } });
  return { http, ws };
}

function httpClient(extra: Record<string, Fake> = {}) {
  const http = httpBackend(fakes(extra));
  const ws = fakeSockets();
  return { http, ws, client: new HttpClient({ baseUrl: BASE, token: GOOD, fetch: http.fetch, WebSocket: ws.WebSocket }) };
}

afterEach(() => {
  localStorage.clear();
  window.history.replaceState(null, '', '/');
});

describe('Web UI sign-in', () => {
  it('takes the token from #token=, keeps it, and removes it from the address', async () => {
    window.history.replaceState(null, '', `/?x=1#token=${GOOD}`);
    const { http, ws } = renderWeb();
    expect(localStorage.getItem(TOKEN_KEY)).toBe(GOOD);
    expect(window.location.hash).toBe('');
    expect(window.location.search).toBe('?x=1');
    expect(await screen.findByRole('heading', { name: 'vault' })).toBeInTheDocument();
    expect(http.last('POST /api/sync/getSyncInfo')?.headers.Authorization).toBe(`Token ${GOOD}`);
    expect(ws.sockets).toHaveLength(1);
    expect(ws.sockets[0].url).toBe(`ws://127.0.0.1:6806/ws?token=${GOOD}`);
  });

  it('starts with the kept token', async () => {
    localStorage.setItem(TOKEN_KEY, GOOD);
    renderWeb();
    expect(await screen.findByRole('heading', { name: 'vault' })).toBeInTheDocument();
  });

  it('asks for a token, refuses a wrong one, keeps a good one', async () => {
    const { http } = renderWeb();
    expect(screen.getByRole('heading', { name: 'Sign in to Syncdesk' })).toBeInTheDocument();
    expect(screen.getByText('syncdesk-cli token create --role admin')).toBeInTheDocument();
    const input = screen.getByLabelText('API token');
    expect(input).toHaveAttribute('type', 'password');

    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByText('Enter a token.')).toBeInTheDocument();
    expect(http.calls).toHaveLength(0);

    await userEvent.type(input, 'sdt_wrong');
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The API token was not accepted');
    expect(alert).toHaveTextContent('unknown or revoked token');
    expect(http.last('POST /api/sync/getSyncInfo')?.headers.Authorization).toBe('Token sdt_wrong');
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();

    await userEvent.clear(input);
    await userEvent.type(input, ` ${GOOD} `);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'vault' })).toBeInTheDocument();
    expect(localStorage.getItem(TOKEN_KEY)).toBe(GOOD);
  });

  it('says when the server cannot be reached', async () => {
    render(WebApp, { props: { baseUrl: BASE, fetch: () => Promise.reject(new TypeError('Failed to fetch')) } });
    await userEvent.type(screen.getByLabelText('API token'), GOOD);
    await userEvent.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Cannot reach Syncdesk at http://127.0.0.1:6806');
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it('goes back to sign-in when the token is revoked', async () => {
    localStorage.setItem(TOKEN_KEY, GOOD);
    const { http, ws } = renderWeb();
    const sync = await screen.findByRole('button', { name: 'Sync now: vault' });
    http.setToken('sdt_other');
    await userEvent.click(sync);
    expect(http.last('POST /api/sync/performSync')?.headers.Authorization).toBe(`Token ${GOOD}`);
    expect(await screen.findByText('Your token is no longer accepted. Sign in again.')).toBeInTheDocument();
    expect(screen.getByLabelText('API token')).toBeInTheDocument();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(ws.sockets[0].closed).toBe(true);
  });

  it('signs out from Settings, which has no desktop-only settings', async () => {
    localStorage.setItem(TOKEN_KEY, GOOD);
    const { ws } = renderWeb();
    const nav = within(screen.getByRole('navigation', { name: 'Sections' }));
    await userEvent.click(nav.getByRole('button', { name: 'Settings' }));
    const signOut = await screen.findByRole('button', { name: 'Sign out' });
    expect(screen.queryByLabelText('Start Syncdesk when I log in')).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Local API' })).not.toBeInTheDocument();
    await userEvent.click(signOut);
    expect(await screen.findByRole('heading', { name: 'Sign in to Syncdesk' })).toBeInTheDocument();
    expect(screen.queryByText('Your token is no longer accepted. Sign in again.')).not.toBeInTheDocument();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
    expect(ws.sockets[0].closed).toBe(true);
  });

  it('reloads what it shows when the event stream comes back', async () => {
    localStorage.setItem(TOKEN_KEY, GOOD);
    const { http, ws } = renderWeb();
    expect(await screen.findByRole('heading', { name: 'vault' })).toBeInTheDocument();
    ws.sockets[0].open();
    // Meanwhile, a folder was added by someone else, and its event was lost.
    http.set('POST /api/sync/getSyncInfo', syncInfo([folderInfo('photos'), folderInfo('vault')]));
    ws.sockets[0].drop();
    await waitFor(() => expect(ws.sockets).toHaveLength(2));
    expect(http.count('POST /api/sync/getSyncInfo')).toBe(1);
    ws.sockets[1].open();
    expect(await screen.findByRole('heading', { name: 'photos' })).toBeInTheDocument();
    expect(http.count('POST /api/app/getAppState')).toBe(2);
  });
});

describe('Views over HTTP', () => {
  it('Settings: no autostart, no browse button, a typed path', async () => {
    const { http, client } = httpClient({
      'POST /api/folder/listFolders': [],
      'POST /api/folder/addFolder': (a: Args) => folder(a.name, { path: a.path }),
    });
    renderView(Settings, {}, 'en', client);
    await screen.findByText('No folders yet. Add your first one above.');
    expect(screen.queryByLabelText('Start Syncdesk when I log in')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Browse…' })).not.toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Local API' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Sign out' })).not.toBeInTheDocument();
    const path = screen.getByLabelText('Local folder');
    expect(path).toHaveAccessibleDescription('The full path of the folder on the computer where Syncdesk runs.');

    await userEvent.click(screen.getByLabelText('Local directory or network drive'));
    expect(screen.getByLabelText('Repository directory')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Browse…' })).not.toBeInTheDocument();
    await userEvent.click(screen.getByLabelText(/default/i));

    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(path, '/srv/docs');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText('Folder “docs” was added.')).toBeInTheDocument();
    expect(http.last('POST /api/folder/addFolder')?.body).toEqual({ name: 'docs', path: '/srv/docs', repository: null });
  });

  it('Snapshots: the restore target is typed', async () => {
    const snap: SnapshotInfo = { id: 'aaaa1111', device: 'laptop', createdAt: '2026-01-01T09:00:00.000Z', parents: [], files: 1, bytes: 10, headOf: [] };
    const { http, client } = httpClient({
      'POST /api/folder/listFolders': [folder('docs')],
      'POST /api/history/listSnapshots': [snap],
      'POST /api/history/listTrash': [{ batch: '20260102-101500-job42', path: 'b.txt', size: 2000 }],
      'POST /api/history/listSnapshotFiles': [{ name: 'readme.md', kind: 'file', size: 2048, mtimeNs: 0, device: 'laptop' }],
      'POST /api/history/restoreSnapshot': (a: Args) => ({ target: `${a.to}/readme.md`, files: 1, bytes: 2048 }),
    });
    renderView(Snapshots, {}, 'en', client);
    await userEvent.click(await screen.findByRole('button', { name: /^Browse the snapshot of/ }));
    await userEvent.click(await screen.findByRole('button', { name: 'Restore readme.md' }));

    const target = await screen.findByLabelText('Restore into which folder?');
    await waitFor(() => expect(target).toHaveFocus());
    expect(target).toHaveAccessibleDescription('A full path on the computer where Syncdesk runs.');
    const form = target.closest('form')!;
    await userEvent.click(within(form).getByRole('button', { name: 'Restore' }));
    expect(screen.getByText('Enter the path of a directory.')).toBeInTheDocument();
    await userEvent.type(target, '/srv/out');
    await userEvent.click(within(form).getByRole('button', { name: 'Restore' }));
    await waitFor(() => expect(http.count('POST /api/history/restoreSnapshot')).toBe(1));
    expect(http.last('POST /api/history/restoreSnapshot')?.body).toEqual({ folder: 'docs', snapshot: 'aaaa1111', path: 'readme.md', to: '/srv/out' });
    expect(screen.queryByLabelText('Restore into which folder?')).not.toBeInTheDocument();

    // Cancelled: nothing is restored.
    await userEvent.click(screen.getByRole('button', { name: 'Restore b.txt to another folder' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Cancel' }));
    expect(screen.queryByLabelText('Restore into which folder?')).not.toBeInTheDocument();
    expect(http.count('POST /api/history/restoreTrash')).toBe(0);
  });
});
