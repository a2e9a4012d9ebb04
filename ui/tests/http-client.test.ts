import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpClient, RECONNECT_MAX_MS, RECONNECT_MIN_MS } from '../src/lib/client/http';
import type { JobFilter } from '../src/lib/model';
import { fakeSockets, folderInfo, httpBackend, job, type Fake } from './helpers';

const BASE = 'http://127.0.0.1:6806';
const TOKEN = 'sdt_0123';

function client(fakes: Record<string, Fake> = {}, onUnauthorized?: () => void) {
  const http = httpBackend(fakes);
  const ws = fakeSockets();
  const c = new HttpClient({ baseUrl: `${BASE}/`, token: TOKEN, fetch: http.fetch, WebSocket: ws.WebSocket, onUnauthorized });
  return { c, http, ws };
}

const req = { app: 'a', force: false, pushMode: '' as const, pushOnly: false, cloudName: null, folder: 'docs', confirm: false };
const settings = { enabled: true, syncMode: 'manual' as const, intervalSecs: 60, watch: false };
const repository = { remote: '/srv/sync', cloudName: 'main', secret: 's', passphrase: 'p' };
const spec = { kind: 'webdav' as const, url: 'https://dav.example.com', pathStyle: true, acceptInvalidCerts: false };

/** Every envelope command: the call, its route, the body it must send (docs/api.md). */
const COMMANDS: [string, (c: HttpClient) => Promise<unknown>, string, unknown][] = [
  ['performSync', (c) => c.performSync(req), '/api/sync/performSync', req],
  ['getSyncInfo', (c) => c.getSyncInfo(), '/api/sync/getSyncInfo', {}],
  ['previewSync', (c) => c.previewSync(req), '/api/sync/previewSync', req],
  ['listFolders', (c) => c.listFolders(), '/api/folder/listFolders', {}],
  ['addFolder', (c) => c.addFolder('docs', '/p', null), '/api/folder/addFolder', { name: 'docs', path: '/p', repository: null }],
  ['removeFolder', (c) => c.removeFolder('docs'), '/api/folder/removeFolder', { name: 'docs' }],
  ['updateFolderSettings', (c) => c.updateFolderSettings('docs', settings), '/api/folder/updateFolderSettings', { name: 'docs', settings }],
  ['readIgnoreFile', (c) => c.readIgnoreFile('docs'), '/api/folder/readIgnoreFile', { folder: 'docs' }],
  ['writeIgnoreFile', (c) => c.writeIgnoreFile('docs', '*.tmp\n'), '/api/folder/writeIgnoreFile', { folder: 'docs', text: '*.tmp\n' }],
  ['setFolderRepository', (c) => c.setFolderRepository('docs', repository), '/api/folder/setFolderRepository', { name: 'docs', repository }],
  ['setRemoteSecret', (c) => c.setRemoteSecret('docs', 'pw'), '/api/folder/setRemoteSecret', { folder: 'docs', secret: 'pw' }],
  ['setPassphrase', (c) => c.setPassphrase('docs', 'p'), '/api/folder/setPassphrase', { folder: 'docs', passphrase: 'p' }],
  ['changePassphrase', (c) => c.changePassphrase('docs', 'o', 'n'), '/api/folder/changePassphrase', { folder: 'docs', old: 'o', new: 'n' }],
  ['testFolderRemote', (c) => c.testFolderRemote('docs'), '/api/folder/testFolderRemote', { folder: 'docs' }],
  ['parseRemote', (c) => c.parseRemote('/srv/sync'), '/api/remote/parseRemote', { remote: '/srv/sync' }],
  ['remoteUrl', (c) => c.remoteUrl(spec), '/api/remote/remoteUrl', { spec }],
  ['testRemote', (c) => c.testRemote('/srv/sync', null), '/api/remote/testRemote', { remote: '/srv/sync', secret: null }],
  ['listSnapshots', (c) => c.listSnapshots('docs'), '/api/history/listSnapshots', { folder: 'docs' }],
  ['listSnapshotFiles', (c) => c.listSnapshotFiles('docs', 'abc', 'a/b'), '/api/history/listSnapshotFiles', { folder: 'docs', snapshot: 'abc', path: 'a/b' }],
  ['restoreSnapshot', (c) => c.restoreSnapshot('docs', 'abc', 'a', '/out'), '/api/history/restoreSnapshot', { folder: 'docs', snapshot: 'abc', path: 'a', to: '/out' }],
  ['listTrash', (c) => c.listTrash('docs'), '/api/history/listTrash', { folder: 'docs' }],
  ['restoreTrash', (c) => c.restoreTrash('docs', 'b1', 'a.txt'), '/api/history/restoreTrash', { folder: 'docs', batch: 'b1', path: 'a.txt', to: null }],
  ['restoreTrash to', (c) => c.restoreTrash('docs', 'b1', 'a.txt', '/out'), '/api/history/restoreTrash', { folder: 'docs', batch: 'b1', path: 'a.txt', to: '/out' }],
  ['getAppState', (c) => c.getAppState(), '/api/app/getAppState', {}],
  ['setPaused', (c) => c.setPaused(true), '/api/app/setPaused', { paused: true }],
  ['setLanguage', (c) => c.setLanguage(null), '/api/app/setLanguage', { language: null }],
];

describe('HttpClient commands', () => {
  it.each(COMMANDS)('%s posts to its route with its named arguments', async (_name, call, path, body) => {
    const { c, http } = client({ [`POST ${path}`]: { answer: 42 } });
    await expect(call(c)).resolves.toEqual({ answer: 42 });
    expect(http.calls).toHaveLength(1);
    expect(http.calls[0]).toEqual({
      method: 'POST',
      path,
      query: {},
      headers: { Authorization: `Token ${TOKEN}`, Accept: 'application/json', 'Content-Type': 'application/json' },
      body,
    });
  });

  it('lists jobs with only the filters that are set', async () => {
    const page = { items: [job(1)], meta: { page: 2, page_size: 20, total: 21, total_pages: 2 } };
    const { c, http } = client({ 'GET /api/sync/jobs': page });
    const filter: JobFilter = { status: 'failed', folder: 'docs', job_type: null, trigger_type: 'api', page: 2, page_size: 20 };
    await expect(c.listJobs(filter)).resolves.toEqual(page);
    expect(http.calls[0]).toMatchObject({
      method: 'GET',
      path: '/api/sync/jobs',
      query: { status: 'failed', folder: 'docs', trigger_type: 'api', page: '2', page_size: '20' },
      headers: { Authorization: `Token ${TOKEN}` },
      body: undefined,
    });
    expect(http.calls[0].headers).not.toHaveProperty('Content-Type');
  });

  it('gets a job and its log in parallel', async () => {
    const log = [{ at: '2026-01-01T10:00:00Z', level: 'info', message: 'hello' }];
    const { c, http } = client({ 'GET /api/sync/jobs/42': job(42), 'GET /api/sync/jobs/42/log': log });
    await expect(c.getJob(42)).resolves.toEqual({ job: job(42), log });
    expect(http.calls.map((x) => `${x.method} ${x.path}`).sort()).toEqual(['GET /api/sync/jobs/42', 'GET /api/sync/jobs/42/log']);
  });

  it("rejects with the envelope's error code and sentence", async () => {
    const { c } = client({
      'POST /api/sync/performSync': () => {
        throw { code: 'sync_in_progress', message: 'Sync is in progress, please try again later' };
      },
    });
    await expect(c.performSync(req)).rejects.toEqual({ code: 'sync_in_progress', message: 'Sync is in progress, please try again later' });
  });

  it('takes an envelope failure without an error code as internal', async () => {
    const { c } = client({ 'POST /api/sync/getSyncInfo': new Response(JSON.stringify({ code: -1, msg: 'boom', data: null })) });
    await expect(c.getSyncInfo()).rejects.toEqual({ code: 'internal', message: 'boom' });
  });

  it("rejects with a REST ErrorResponse's code and message", async () => {
    const { c } = client({
      'GET /api/sync/jobs/9': () => {
        throw { code: 'not_found', message: 'no job 9' };
      },
      'GET /api/sync/jobs/9/log': [],
    });
    await expect(c.getJob(9)).rejects.toEqual({ code: 'not_found', message: 'no job 9' });
  });

  it('describes an answer that is no JSON by its status', async () => {
    const { c } = client({ 'POST /api/folder/listFolders': new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' }) });
    await expect(c.listFolders()).rejects.toEqual({ code: 'internal', message: 'The server answered HTTP 502 Bad Gateway.' });
  });

  it('reports a network failure as unreachable', async () => {
    const c = new HttpClient({
      baseUrl: BASE,
      token: TOKEN,
      fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    });
    await expect(c.listFolders()).rejects.toEqual({
      code: 'unreachable',
      message: `Cannot reach Syncdesk at ${BASE} (Failed to fetch). Is it still running?`,
    });
  });

  it('calls onUnauthorized on 401, envelope and REST alike', async () => {
    const refused = vi.fn();
    const unauthorized = () => {
      throw { code: 'unauthorized', message: 'unknown or revoked token' };
    };
    const { c } = client({ 'POST /api/sync/getSyncInfo': unauthorized, 'GET /api/sync/jobs': unauthorized }, refused);
    await expect(c.getSyncInfo()).rejects.toEqual({ code: 'unauthorized', message: 'unknown or revoked token' });
    expect(refused).toHaveBeenCalledTimes(1);
    await expect(c.listJobs({ status: null, folder: null, job_type: null, trigger_type: null, page: 1, page_size: 20 })).rejects.toEqual({
      code: 'unauthorized',
      message: 'unknown or revoked token',
    });
    expect(refused).toHaveBeenCalledTimes(2);
  });

  it('maps 403 to forbidden', async () => {
    const { c } = client({
      'POST /api/app/setPaused': () => {
        throw { code: 'forbidden', message: 'this token is read-only' };
      },
    });
    await expect(c.setPaused(true)).rejects.toEqual({ code: 'forbidden', message: 'this token is read-only' });
  });

  it('refuses what only the desktop app can do, without a request', async () => {
    const { c, http } = client();
    expect(c.capabilities).toEqual({ pickDirectory: false, autostart: false, localApi: false });
    for (const call of [
      () => c.setAutostart(),
      () => c.pickDirectory(),
      () => c.setApiServer(),
      () => c.listApiTokens(),
      () => c.createApiToken(),
      () => c.revokeApiToken(),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'unsupported' });
    }
    expect(http.calls).toEqual([]);
  });
});

describe('HttpClient events', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens one WebSocket, lazily, with the token in the query', () => {
    const { c, ws } = client();
    expect(ws.sockets).toHaveLength(0);
    c.on('jobChanged', () => {});
    c.on('folderRemoved', () => {});
    expect(ws.sockets).toHaveLength(1);
    expect(ws.sockets[0].url).toBe(`ws://127.0.0.1:6806/ws?token=${TOKEN}`);
  });

  it('uses wss behind https', () => {
    const ws = fakeSockets();
    new HttpClient({ baseUrl: 'https://sync.example.com', token: 'a b', WebSocket: ws.WebSocket }).on('jobChanged', () => {});
    expect(ws.sockets[0].url).toBe('wss://sync.example.com/ws?token=a%20b');
  });

  it('dispatches frames by event name until unsubscribed', () => {
    const { c, ws } = client();
    const jobs = vi.fn();
    const removed = vi.fn();
    const stop = c.on('jobChanged', jobs);
    c.on('folderRemoved', removed);
    const s = ws.sockets[0];
    s.open();
    s.emit('jobChanged', job(1));
    s.emit('folderChanged', folderInfo('docs'));
    s.emit('folderRemoved', 'docs');
    s.raw('not json');
    s.raw('{"payload": 1}');
    expect(jobs).toHaveBeenCalledTimes(1);
    expect(jobs).toHaveBeenCalledWith(job(1));
    expect(removed).toHaveBeenCalledWith('docs');
    stop();
    s.emit('jobChanged', job(2));
    expect(jobs).toHaveBeenCalledTimes(1);
  });

  it('keeps dispatching when one handler throws', () => {
    const { c, ws } = client();
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const after = vi.fn();
    c.on('folderRemoved', () => {
      throw new Error('view bug');
    });
    c.on('folderRemoved', after);
    ws.sockets[0].emit('folderRemoved', 'docs');
    expect(after).toHaveBeenCalledWith('docs');
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });

  it('reconnects with backoff, then signals the reconnect and delivers again', () => {
    vi.useFakeTimers();
    const { c, ws } = client();
    const jobs = vi.fn();
    const reconnected = vi.fn();
    c.on('jobChanged', jobs);
    c.onReconnect(reconnected);
    ws.sockets[0].open();
    expect(reconnected).not.toHaveBeenCalled();

    ws.sockets[0].drop();
    vi.advanceTimersByTime(RECONNECT_MIN_MS - 1);
    expect(ws.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(ws.sockets).toHaveLength(2);
    // Still down: each wait doubles, up to the maximum.
    let wait = RECONNECT_MIN_MS * 2;
    while (ws.sockets.length < 8) {
      const n = ws.sockets.length;
      ws.last()!.drop();
      vi.advanceTimersByTime(wait - 1);
      expect(ws.sockets).toHaveLength(n);
      vi.advanceTimersByTime(1);
      expect(ws.sockets).toHaveLength(n + 1);
      wait = Math.min(wait * 2, RECONNECT_MAX_MS);
    }
    expect(wait).toBe(RECONNECT_MAX_MS);

    ws.last()!.open();
    expect(reconnected).toHaveBeenCalledTimes(1);
    ws.last()!.emit('jobChanged', job(3));
    expect(jobs).toHaveBeenCalledWith(job(3));

    // A good connection starts the backoff over.
    ws.last()!.drop(1013);
    vi.advanceTimersByTime(RECONNECT_MIN_MS);
    expect(ws.sockets).toHaveLength(9);
  });

  it('signals a reconnect when the first attempt failed and a later one opens', () => {
    vi.useFakeTimers();
    const { c, ws } = client();
    const reconnected = vi.fn();
    c.onReconnect(reconnected);
    c.on('jobChanged', () => {});
    ws.sockets[0].drop();
    vi.advanceTimersByTime(RECONNECT_MIN_MS);
    ws.sockets[1].open();
    expect(reconnected).toHaveBeenCalledTimes(1);
  });

  it('stops for good when closed', () => {
    vi.useFakeTimers();
    const { c, ws } = client();
    const reconnected = vi.fn();
    c.onReconnect(reconnected);
    c.on('jobChanged', () => {});
    ws.sockets[0].open();
    ws.sockets[0].drop();
    c.close();
    vi.advanceTimersByTime(RECONNECT_MAX_MS * 2);
    expect(ws.sockets).toHaveLength(1);
    c.on('jobChanged', () => {});
    expect(ws.sockets).toHaveLength(1);
    expect(reconnected).not.toHaveBeenCalled();
  });

  it('closes its socket when closed', () => {
    const { c, ws } = client();
    c.on('jobChanged', () => {});
    c.close();
    expect(ws.sockets[0].closed).toBe(true);
  });
});
