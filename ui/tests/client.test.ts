import { describe, expect, it, vi } from 'vitest';
import { TauriClient } from '../src/lib/client/tauri';
import { toApiError } from '../src/lib/client/errors';
import { backend, fire, folderInfo, job } from './helpers';

describe('toApiError', () => {
  it('keeps an ApiError from the shell as it is', () => {
    expect(toApiError({ code: 'sync_in_progress', message: 'Sync is in progress, please try again later' })).toEqual({
      code: 'sync_in_progress',
      message: 'Sync is in progress, please try again later',
    });
  });
  it('turns a bare string (Tauri: unknown command, bad arguments) into internal', () => {
    expect(toApiError('invalid args `id` for command `get_job`')).toEqual({
      code: 'internal',
      message: 'invalid args `id` for command `get_job`',
    });
  });
  it('turns an Error into internal with its message', () => {
    expect(toApiError(new TypeError('boom'))).toEqual({ code: 'internal', message: 'boom' });
  });
  it("reads the seed's { code: -1, msg } envelope", () => {
    expect(toApiError({ code: -1, msg: 'Boot sync is in progress, please try again later', data: null })).toEqual({
      code: 'internal',
      message: 'Boot sync is in progress, please try again later',
    });
  });
  it('describes anything else', () => {
    expect(toApiError({ weird: 1 })).toEqual({ code: 'internal', message: '{"weird":1}' });
    expect(toApiError(undefined)).toEqual({ code: 'internal', message: 'undefined' });
  });
});

describe('TauriClient', () => {
  it('rejects with the ApiError the command rejected with', async () => {
    backend({
      get_job: () => {
        throw { code: 'not_found', message: 'no job 9' };
      },
    });
    await expect(new TauriClient().getJob(9)).rejects.toEqual({ code: 'not_found', message: 'no job 9' });
  });

  it('normalises a bare-string rejection', async () => {
    backend({});
    await expect(new TauriClient().listFolders()).rejects.toEqual({
      code: 'internal',
      message: 'command list_folders not found',
    });
  });

  it('calls each command by its contract name with camelCase arguments', async () => {
    const b = backend(
      Object.fromEntries(
        [
          'perform_sync', 'get_sync_info', 'preview_sync', 'list_folders', 'add_folder', 'remove_folder',
          'update_folder_settings', 'read_ignore_file', 'write_ignore_file', 'list_jobs', 'get_job',
          'list_snapshots', 'list_snapshot_files', 'restore_snapshot', 'list_trash', 'restore_trash',
          'get_app_state', 'set_paused', 'set_autostart', 'set_language', 'parse_remote', 'remote_url',
          'test_remote', 'test_folder_remote', 'set_folder_repository', 'set_remote_secret', 'set_passphrase',
          'change_passphrase', 'set_api_server', 'list_api_tokens', 'create_api_token', 'revoke_api_token',
        ].map((c) => [c, null]),
      ),
    );
    const c = new TauriClient();
    const req = { app: 'a', force: false, pushMode: '' as const, pushOnly: false, cloudName: null, folder: 'docs', confirm: false };
    const settings = { enabled: true, syncMode: 'manual' as const, intervalSecs: 60, watch: false };
    const filter = { status: null, folder: null, job_type: null, trigger_type: null, page: 2, page_size: 20 };
    const repository = { remote: 's3://b?endpoint=http://h:9000&access_key_id=K', cloudName: 'main', secret: 's', passphrase: 'p' };
    const spec = { kind: 'webdav' as const, url: 'https://dav.example.com', pathStyle: true, acceptInvalidCerts: false };
    await c.performSync(req);
    await c.getSyncInfo();
    await c.previewSync(req);
    await c.listFolders();
    await c.addFolder('docs', '/p', null);
    await c.addFolder('docs', '/p', repository);
    await c.removeFolder('docs');
    await c.updateFolderSettings('docs', settings);
    await c.readIgnoreFile('docs');
    await c.writeIgnoreFile('docs', '*.tmp\n');
    await c.listJobs(filter);
    await c.getJob(42);
    await c.listSnapshots('docs');
    await c.listSnapshotFiles('docs', 'abc', 'a/b');
    await c.restoreSnapshot('docs', 'abc', 'a/b', '/tmp/out');
    await c.listTrash('docs');
    await c.restoreTrash('docs', '20260101-100000-job3', 'a.txt');
    await c.getAppState();
    await c.setPaused(true);
    await c.setAutostart(true);
    await c.setLanguage('zh-CN');
    await c.parseRemote('/srv/sync');
    await c.remoteUrl(spec);
    await c.testRemote('webdav+https://dav.example.com', 'pw');
    await c.testRemote('/srv/sync', null);
    await c.testFolderRemote('docs');
    await c.setFolderRepository('docs', repository);
    await c.setRemoteSecret('docs', 'pw');
    await c.setPassphrase('docs', 'p');
    await c.changePassphrase('docs', 'old p', 'new p');
    await c.setApiServer(true, '127.0.0.1:6806');
    await c.listApiTokens();
    await c.createApiToken(null, 'read-only');
    await c.revokeApiToken('ci');
    expect(b.calls).toEqual([
      { cmd: 'perform_sync', args: { request: req } },
      { cmd: 'get_sync_info', args: {} },
      { cmd: 'preview_sync', args: { request: req } },
      { cmd: 'list_folders', args: {} },
      { cmd: 'add_folder', args: { name: 'docs', path: '/p', repository: null } },
      { cmd: 'add_folder', args: { name: 'docs', path: '/p', repository } },
      { cmd: 'remove_folder', args: { name: 'docs' } },
      { cmd: 'update_folder_settings', args: { name: 'docs', settings } },
      { cmd: 'read_ignore_file', args: { folder: 'docs' } },
      { cmd: 'write_ignore_file', args: { folder: 'docs', text: '*.tmp\n' } },
      { cmd: 'list_jobs', args: { filter } },
      { cmd: 'get_job', args: { id: 42 } },
      { cmd: 'list_snapshots', args: { folder: 'docs' } },
      { cmd: 'list_snapshot_files', args: { folder: 'docs', snapshot: 'abc', path: 'a/b' } },
      { cmd: 'restore_snapshot', args: { folder: 'docs', snapshot: 'abc', path: 'a/b', to: '/tmp/out' } },
      { cmd: 'list_trash', args: { folder: 'docs' } },
      { cmd: 'restore_trash', args: { folder: 'docs', batch: '20260101-100000-job3', path: 'a.txt', to: null } },
      { cmd: 'get_app_state', args: {} },
      { cmd: 'set_paused', args: { paused: true } },
      { cmd: 'set_autostart', args: { enabled: true } },
      { cmd: 'set_language', args: { language: 'zh-CN' } },
      { cmd: 'parse_remote', args: { remote: '/srv/sync' } },
      { cmd: 'remote_url', args: { spec } },
      { cmd: 'test_remote', args: { remote: 'webdav+https://dav.example.com', secret: 'pw' } },
      { cmd: 'test_remote', args: { remote: '/srv/sync', secret: null } },
      { cmd: 'test_folder_remote', args: { folder: 'docs' } },
      { cmd: 'set_folder_repository', args: { name: 'docs', repository } },
      { cmd: 'set_remote_secret', args: { folder: 'docs', secret: 'pw' } },
      { cmd: 'set_passphrase', args: { folder: 'docs', passphrase: 'p' } },
      { cmd: 'change_passphrase', args: { folder: 'docs', old: 'old p', new: 'new p' } },
      { cmd: 'set_api_server', args: { enabled: true, listen: '127.0.0.1:6806' } },
      { cmd: 'list_api_tokens', args: {} },
      { cmd: 'create_api_token', args: { name: null, role: 'read-only' } },
      { cmd: 'revoke_api_token', args: { name: 'ci' } },
    ]);
  });

  it('delivers event payloads until unsubscribed', async () => {
    backend({});
    const c = new TauriClient();
    const seen = vi.fn();
    const stop = c.on('jobChanged', seen);
    await fire('jobChanged', job(1));
    expect(seen).toHaveBeenCalledTimes(1);
    expect(seen).toHaveBeenCalledWith(job(1));
    stop();
    await fire('jobChanged', job(2));
    expect(seen).toHaveBeenCalledTimes(1);
  });

  it('keeps events apart by name', async () => {
    backend({});
    const c = new TauriClient();
    const changed = vi.fn();
    const removed = vi.fn();
    c.on('folderChanged', changed);
    c.on('folderRemoved', removed);
    await fire('folderRemoved', 'docs');
    expect(removed).toHaveBeenCalledWith('docs');
    expect(changed).not.toHaveBeenCalled();
    await fire('folderChanged', folderInfo('docs'));
    expect(changed).toHaveBeenCalledWith(folderInfo('docs'));
  });

  it('can do everything the desktop offers, and never reconnects', () => {
    const c = new TauriClient();
    expect(c.capabilities).toEqual({ pickDirectory: true, autostart: true, localApi: true });
    expect(typeof c.onReconnect(() => {})).toBe('function');
  });

  it('asks the dialog plugin for a directory', async () => {
    const b = backend({ 'plugin:dialog|open': '/home/me/Photos' });
    await expect(new TauriClient().pickDirectory('Pick')).resolves.toBe('/home/me/Photos');
    expect(b.last('plugin:dialog|open')).toEqual({ options: { directory: true, multiple: false, title: 'Pick' } });
    b.set('plugin:dialog|open', null);
    await expect(new TauriClient().pickDirectory()).resolves.toBeNull();
  });
});
