import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import AddFolder from '../src/lib/views/settings/AddFolder.svelte';
import Settings from '../src/lib/views/Settings.svelte';
import { I18n } from '../src/lib/i18n/i18n.svelte';
import { draftFromSpec, emptyDraft, normalizeLimits, specFromDraft, validateDraft } from '../src/lib/remote';
import type { Folder, ProbeReport, RemoteSpec } from '../src/lib/model';
import { backend, folder, renderView, type Args, type Fake } from './helpers';

/** What the engine's `remote_url` would answer, close enough to tell remotes apart. */
function remoteUrl(a: Args): string {
  const s = a.spec as RemoteSpec;
  return s.kind === 'local' ? s.path! : s.kind === 's3' ? `s3://${s.bucket}` : `${s.kind}+${s.url}`;
}

function addFolderFake(a: Args): Folder {
  return folder(a.name, { path: a.path, remote: a.repository?.remote ?? '/data/repos', encrypted: !!a.repository?.passphrase });
}

const REPORT: ProbeReport = {
  remote: 'S3 bucket photos at http://127.0.0.1:9000',
  providerName: 'S3',
  steps: [
    { step: 'list', ms: 120 },
    { step: 'write', ms: 45 },
    { step: 'read', ms: 30 },
    { step: 'delete', ms: 20 },
    { step: 'confirmDeleted', ms: 15 },
  ],
  totalMs: 230,
};

const S3: RemoteSpec = {
  kind: 's3',
  endpoint: 'http://127.0.0.1:9000',
  bucket: 'photos',
  prefix: 'laptop',
  pathStyle: true,
  accessKeyId: 'AKIA1',
  acceptInvalidCerts: false,
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const kind = (name: string) => userEvent.click(screen.getByRole('radio', { name }));

async function fillS3() {
  await kind('S3 or S3-compatible storage');
  await userEvent.type(screen.getByLabelText('Endpoint (optional)'), 'http://127.0.0.1:9000/');
  await userEvent.type(screen.getByLabelText('Bucket'), 'photos');
  await userEvent.type(screen.getByLabelText('Prefix (optional)'), '/laptop/');
  await userEvent.type(screen.getByLabelText('Access key ID'), 'AKIA1');
  await userEvent.type(screen.getByLabelText('Secret access key'), 's3cr3t');
}

describe('RemoteForm', () => {
  it('shows the fields of each kind of remote', async () => {
    backend({});
    renderView(AddFolder);
    // The default repository needs nothing: no fields, no test, no encryption.
    expect(screen.getByRole('radio', { name: 'Default local repository (no setup needed)' })).toBeChecked();
    expect(screen.queryByRole('button', { name: 'Test connection' })).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Encrypt this folder’s repository')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Cloud name (optional)')).not.toBeInTheDocument();

    await kind('Local directory or network drive');
    expect(screen.getByLabelText('Repository directory')).toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: 'Browse…' })).toHaveLength(2);
    expect(screen.getByLabelText('Parallel requests')).toHaveAttribute('placeholder', '8');
    expect(screen.queryByLabelText('Request timeout (seconds)')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Accept invalid certificates')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Bucket')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Encrypt this folder’s repository')).toBeInTheDocument();

    await kind('S3 or S3-compatible storage');
    for (const label of ['Endpoint (optional)', 'Region (optional)', 'Bucket', 'Prefix (optional)', 'Access key ID']) {
      expect(screen.getByLabelText(label)).toBeInTheDocument();
    }
    expect(screen.getByRole('radio', { name: /^Path-style/ })).toBeChecked();
    expect(screen.getByRole('radio', { name: /^Virtual-hosted style/ })).not.toBeChecked();
    const secret = screen.getByLabelText('Secret access key');
    expect(secret).toHaveAttribute('type', 'password');
    expect(secret).toHaveAttribute('autocomplete', 'new-password');
    expect(screen.queryByLabelText('Repository directory')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Parallel requests')).toHaveAttribute('placeholder', '16');
    expect(screen.getByLabelText('Request timeout (seconds)')).toHaveAttribute('placeholder', '60');
    expect(screen.getByLabelText('Upload limit (KiB/s)')).toHaveAttribute('placeholder', 'Unlimited');
    expect(screen.getByLabelText('Download limit (KiB/s)')).toBeInTheDocument();
    expect(screen.getByLabelText('Custom CA certificate (PEM file)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Test connection' })).toBeInTheDocument();

    await kind('WebDAV server');
    expect(screen.getByLabelText('Server URL')).toBeInTheDocument();
    expect(screen.getByLabelText('User name')).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toHaveAttribute('type', 'password');
    expect(screen.queryByLabelText('Bucket')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Secret access key')).not.toBeInTheDocument();
    expect(screen.getByLabelText('Parallel requests')).toHaveAttribute('placeholder', '4');
  });

  it('picks the repository directory with the native picker', async () => {
    const b = backend({ 'plugin:dialog|open': '/mnt/nas/sync' });
    renderView(AddFolder);
    await kind('Local directory or network drive');
    const group = screen.getByLabelText('Repository directory').closest('.field') as HTMLElement;
    await userEvent.click(within(group).getByRole('button', { name: 'Browse…' }));
    await waitFor(() => expect(screen.getByLabelText('Repository directory')).toHaveValue('/mnt/nas/sync'));
    expect(b.last('plugin:dialog|open')?.options).toMatchObject({
      directory: true,
      title: 'Choose the directory for the repository',
    });
  });

  it('checks the fields before testing, with the message next to each field', async () => {
    const b = backend({ remote_url: remoteUrl, test_remote: REPORT });
    renderView(AddFolder);
    await kind('S3 or S3-compatible storage');
    await userEvent.type(screen.getByLabelText('Endpoint (optional)'), 'ftp://files.example.com');
    await userEvent.type(screen.getByLabelText('Region (optional)'), 'eu central');
    await userEvent.type(screen.getByLabelText('Access key ID'), 'AKIA1');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));

    expect(await screen.findByText('Enter the bucket’s name.')).toBeInTheDocument();
    expect(screen.getByText('Enter a URL that starts with http:// or https://.')).toBeInTheDocument();
    expect(screen.getByText('Use letters, digits and “-”, e.g. eu-central-1.')).toBeInTheDocument();
    expect(screen.getByText('Enter the secret access key.')).toBeInTheDocument();
    const endpoint = screen.getByLabelText('Endpoint (optional)');
    expect(endpoint).toHaveAttribute('aria-invalid', 'true');
    expect(endpoint).toHaveAccessibleDescription('Enter a URL that starts with http:// or https://.');
    await waitFor(() => expect(endpoint).toHaveFocus());
    expect(b.count('remote_url')).toBe(0);
    expect(b.count('test_remote')).toBe(0);

    // Editing a field drops its message.
    await userEvent.type(screen.getByLabelText('Bucket'), 'photos');
    expect(screen.queryByText('Enter the bucket’s name.')).not.toBeInTheDocument();

    await kind('WebDAV server');
    await userEvent.type(screen.getByLabelText('Server URL'), 'https://alice:pw@dav.example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'pw');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText('Leave user names and passwords out of the URL.')).toBeInTheDocument();
    expect(screen.getByText('Enter the user name that goes with the password.')).toBeInTheDocument();
    expect(b.count('test_remote')).toBe(0);
  });

  it('opens the advanced options to show a problem in them', async () => {
    const b = backend({ remote_url: remoteUrl, test_remote: REPORT });
    renderView(AddFolder);
    await kind('WebDAV server');
    await userEvent.type(screen.getByLabelText('Server URL'), 'https://dav.example.com');
    const advanced = screen.getByText('Advanced').closest('details')!;
    await userEvent.click(screen.getByText('Advanced'));
    expect(advanced.open).toBe(true);
    await userEvent.type(screen.getByLabelText('Parallel requests'), '999');
    await userEvent.type(screen.getByLabelText('Custom CA certificate (PEM file)'), 'ca.pem');
    await userEvent.click(screen.getByText('Advanced'));
    expect(advanced.open).toBe(false);
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText('Enter a whole number from 1 to 256, or leave it empty.')).toBeInTheDocument();
    expect(screen.getByText('Enter the full path of the PEM file.')).toBeInTheDocument();
    await waitFor(() => expect(advanced.open).toBe(true));
    await waitFor(() => expect(screen.getByLabelText('Parallel requests')).toHaveFocus());
    expect(b.count('test_remote')).toBe(0);
  });

  it('warns when invalid certificates are accepted', async () => {
    backend({});
    renderView(AddFolder);
    await kind('WebDAV server');
    await userEvent.click(screen.getByText('Advanced'));
    const box = screen.getByLabelText('Accept invalid certificates');
    expect(screen.queryByText(/Certificates are not checked/)).not.toBeInTheDocument();
    await userEvent.click(box);
    const warning = await screen.findByText(/Certificates are not checked/);
    expect(warning.closest('.notice')).toHaveClass('notice-warn');
    expect(box).toHaveAccessibleDescription(/anyone on the network between you and the server/);
    await userEvent.click(box);
    expect(screen.queryByText(/Certificates are not checked/)).not.toBeInTheDocument();
  });

  it('tests a connection: the spec goes to remote_url, its URL and the secret to test_remote', async () => {
    const answer = deferred<ProbeReport>();
    const b = backend({ remote_url: remoteUrl, test_remote: () => answer.promise });
    renderView(AddFolder);
    await fillS3();
    await userEvent.click(screen.getByText('Advanced'));
    await userEvent.type(screen.getByLabelText('Upload limit (KiB/s)'), '512');
    await userEvent.type(screen.getByLabelText('Request timeout (seconds)'), '30');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));

    const busy = await screen.findByRole('button', { name: 'Testing…' });
    expect(busy).toBeDisabled();
    expect(busy).toHaveAttribute('aria-busy', 'true');
    expect(b.last('remote_url')).toEqual({
      spec: { ...S3, timeoutSecs: 30, uploadLimit: 512 * 1024 },
    });
    await waitFor(() => expect(b.last('test_remote')).toEqual({ remote: 's3://photos', secret: 's3cr3t' }));

    answer.resolve(REPORT);
    const ok = await screen.findByText('The connection works.');
    const steps = within(ok.closest('.notice') as HTMLElement).getByRole('list', { name: 'Steps of the connection test' });
    const items = within(steps).getAllByRole('listitem').map((li) => li.textContent);
    expect(items).toEqual([
      'Reach the server and check the credentials 120 ms',
      'Write a test object 45 ms',
      'Read the test object back 30 ms',
      'Delete the test object 20 ms',
      'Check the test object is gone 15 ms',
    ]);
    expect(screen.getByText('Total: 230 ms')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Test connection' })).toBeEnabled();

    // A result describes the values it ran with.
    await userEvent.type(screen.getByLabelText('Bucket'), '2');
    expect(screen.queryByText('The connection works.')).not.toBeInTheDocument();
  });

  it('shows why a connection test failed', async () => {
    backend({
      remote_url: remoteUrl,
      test_remote: () => {
        throw { code: 'credentials', message: 'the server refused the access key AKIA1 (403 Forbidden)' };
      },
    });
    renderView(AddFolder);
    await fillS3();
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'credentials');
    expect(alert).toHaveTextContent('The remote did not accept the credentials');
    expect(alert).toHaveTextContent('the server refused the access key AKIA1 (403 Forbidden)');
    expect(screen.queryByText('The connection works.')).not.toBeInTheDocument();
  });

  it('tests a WebDAV remote without a user: no secret', async () => {
    const b = backend({ remote_url: remoteUrl, test_remote: REPORT });
    renderView(AddFolder);
    await kind('WebDAV server');
    await userEvent.type(screen.getByLabelText('Server URL'), 'https://dav.example.com/files/');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    await screen.findByText('The connection works.');
    expect(b.last('remote_url')).toEqual({
      spec: { kind: 'webdav', url: 'https://dav.example.com/files', pathStyle: true, acceptInvalidCerts: false },
    });
    expect(b.last('test_remote')).toEqual({ remote: 'webdav+https://dav.example.com/files', secret: null });
  });
});

describe('remote drafts', () => {
  const i18n = new I18n('en');

  it('round-trips a saved spec, limits in KiB/s', () => {
    const spec: RemoteSpec = { ...S3, region: 'eu-central-1', downloadLimit: 2048, caCert: '/etc/ca.pem', acceptInvalidCerts: true };
    const draft = draftFromSpec(spec);
    expect(draft.downloadKiB).toBe(2);
    expect(draft.secret).toBe('');
    expect(specFromDraft(draft)).toEqual(spec);
  });

  it('leaves network options out of a local remote', () => {
    const d = { ...emptyDraft('local'), path: '/srv/sync', timeoutSecs: 5, concurrency: 2, acceptInvalidCerts: true };
    expect(specFromDraft(d)).toEqual({ kind: 'local', path: '/srv/sync', concurrency: 2, pathStyle: true, acceptInvalidCerts: false });
    expect(validateDraft(i18n, d)).toEqual({});
  });

  it('accepts Windows paths and keeps a stored secret when asked to', () => {
    expect(validateDraft(i18n, { ...emptyDraft('local'), path: 'D:\\Sync' })).toEqual({});
    expect(validateDraft(i18n, { ...emptyDraft('local'), path: 'sync' })).toEqual({
      path: 'Enter a full path, e.g. /mnt/nas/sync or D:\\Sync.',
    });
    const s3 = { ...emptyDraft('s3'), bucket: 'b', accessKeyId: 'K' };
    expect(validateDraft(i18n, s3)).toEqual({ secret: 'Enter the secret access key.' });
    expect(validateDraft(i18n, s3, { keepSecret: true })).toEqual({});
    expect(validateDraft(i18n, { ...s3, bucket: 'my.bucket', pathStyle: false }, { keepSecret: true })).toEqual({
      bucket: 'A bucket name with a “.” needs path-style addressing.',
    });
  });
});

describe('AddFolder with a remote', () => {
  it('sends the remote URL, secret, cloud name and passphrase, then forgets the secrets', async () => {
    const b = backend({ remote_url: remoteUrl, add_folder: addFolderFake });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'photos');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Photos');
    await fillS3();
    await userEvent.type(screen.getByLabelText('Cloud name (optional)'), 'family');
    await userEvent.click(screen.getByLabelText('Encrypt this folder’s repository'));
    expect(screen.getByText(/The passphrase cannot be recovered/)).toBeInTheDocument();
    expect(screen.getByText(/the same passphrase opens it/)).toBeInTheDocument();
    const pass = screen.getByLabelText('Passphrase');
    expect(pass).toHaveAttribute('type', 'password');
    expect(pass).toHaveAttribute('autocomplete', 'new-password');
    expect(pass).toHaveAccessibleDescription('Syncdesk keeps it in the OS keyring on this computer.');
    await userEvent.type(pass, 'correct horse');
    await userEvent.type(screen.getByLabelText('Confirm passphrase'), 'correct horse');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));

    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('remote_url')).toEqual({ spec: S3 });
    expect(b.last('add_folder')).toEqual({
      name: 'photos',
      path: '/home/me/Photos',
      repository: { remote: 's3://photos', cloudName: 'family', secret: 's3cr3t', passphrase: 'correct horse' },
    });
    expect(await screen.findByText('Folder “photos” was added.')).toBeInTheDocument();
    // The form starts again empty: no secret is left in it.
    expect(screen.getByRole('radio', { name: 'Default local repository (no setup needed)' })).toBeChecked();
    await kind('S3 or S3-compatible storage');
    expect(screen.getByLabelText('Secret access key')).toHaveValue('');
    await userEvent.click(screen.getByLabelText('Encrypt this folder’s repository'));
    expect(screen.getByLabelText('Passphrase')).toHaveValue('');
    expect(screen.getByLabelText('Confirm passphrase')).toHaveValue('');
  });

  it('leaves out what is not given: no secret, no cloud name, no passphrase', async () => {
    const b = backend({ remote_url: remoteUrl, add_folder: addFolderFake });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Docs');
    await kind('WebDAV server');
    await userEvent.type(screen.getByLabelText('Server URL'), 'https://dav.example.com');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('add_folder')).toEqual({
      name: 'docs',
      path: '/home/me/Docs',
      repository: { remote: 'webdav+https://dav.example.com' },
    });
  });

  it('blocks a passphrase that is empty or typed differently twice', async () => {
    const b = backend({ remote_url: remoteUrl, add_folder: addFolderFake });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Docs');
    await kind('Local directory or network drive');
    await userEvent.type(screen.getByLabelText('Repository directory'), '/mnt/nas/sync');
    await userEvent.click(screen.getByLabelText('Encrypt this folder’s repository'));
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText('Enter the passphrase.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Passphrase')).toHaveFocus());

    await userEvent.type(screen.getByLabelText('Passphrase'), 'one');
    await userEvent.type(screen.getByLabelText('Confirm passphrase'), 'two');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText('The passphrases do not match.')).toBeInTheDocument();
    expect(screen.getByLabelText('Confirm passphrase')).toHaveAttribute('aria-invalid', 'true');
    await waitFor(() => expect(screen.getByLabelText('Confirm passphrase')).toHaveFocus());
    expect(b.count('add_folder')).toBe(0);
    expect(b.count('remote_url')).toBe(0);
  });

  it('shows the engine refusing a passphrase, and keeps what was typed to try again', async () => {
    backend({
      remote_url: remoteUrl,
      add_folder: () => {
        throw { code: 'passphrase', message: 'the repository at /mnt/nas/sync is encrypted with another passphrase' };
      },
    });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Docs');
    await kind('Local directory or network drive');
    await userEvent.type(screen.getByLabelText('Repository directory'), '/mnt/nas/sync');
    await userEvent.click(screen.getByLabelText('Encrypt this folder’s repository'));
    await userEvent.type(screen.getByLabelText('Passphrase'), 'guess');
    await userEvent.type(screen.getByLabelText('Confirm passphrase'), 'guess');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The passphrase does not fit this repository');
    expect(alert).toHaveTextContent('encrypted with another passphrase');
    expect(screen.getByLabelText('Passphrase')).toHaveValue('guess');
  });

  it('shows a keyring problem with the engine’s instructions', async () => {
    backend({
      remote_url: remoteUrl,
      add_folder: () => {
        throw { code: 'keyring', message: 'no OS keyring is available: start a Secret Service provider such as GNOME Keyring' };
      },
    });
    renderView(AddFolder, {}, 'zh-CN');
    await userEvent.type(screen.getByLabelText('名称'), 'docs');
    await userEvent.type(screen.getByLabelText('本地文件夹'), '/home/me/Docs');
    await kind('WebDAV 服务器');
    await userEvent.type(screen.getByLabelText('服务器 URL'), 'https://dav.example.com');
    await userEvent.type(screen.getByLabelText('用户名'), 'alice');
    await userEvent.type(screen.getByLabelText('密码'), 'pw');
    await userEvent.click(screen.getByRole('button', { name: '添加文件夹' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('无法使用系统密钥环');
    expect(alert).toHaveTextContent('start a Secret Service provider such as GNOME Keyring');
  });
});

describe('a folder’s remote', () => {
  const card = (name: string) => within(screen.getByRole('article', { name }));

  function settings(over: Record<string, Fake> = {}) {
    return backend({
      list_folders: [
        folder('photos', { remote: 's3://photos/laptop?endpoint=http://127.0.0.1:9000&access_key_id=AKIA1', encrypted: true }),
        folder('docs'),
      ],
      parse_remote: (a) => (a.remote.startsWith('s3://') ? S3 : { kind: 'local', path: a.remote, pathStyle: true, acceptInvalidCerts: false }),
      remote_url: remoteUrl,
      ...over,
    });
  }

  it('shows where the remote is and whether it is encrypted', async () => {
    const b = settings();
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    const photos = card('photos');
    expect(await photos.findByText('bucket photos/laptop at http://127.0.0.1:9000')).toBeInTheDocument();
    expect(photos.getByText('S3 storage')).toBeInTheDocument();
    expect(photos.getByText('Encrypted')).toBeInTheDocument();
    expect(photos.getByRole('button', { name: 'Update secret…' })).toBeInTheDocument();
    expect(photos.getByRole('button', { name: 'Enter passphrase…' })).toBeInTheDocument();
    const docs = card('docs');
    expect(await docs.findByText('/srv/sync')).toBeInTheDocument();
    expect(docs.getByText('Local directory')).toBeInTheDocument();
    expect(docs.queryByText('Encrypted')).not.toBeInTheDocument();
    expect(docs.queryByRole('button', { name: 'Update secret…' })).not.toBeInTheDocument();
    expect(docs.queryByRole('button', { name: 'Change passphrase…' })).not.toBeInTheDocument();
    expect(b.args('parse_remote').map((a) => a.remote).sort()).toEqual([
      '/srv/sync',
      's3://photos/laptop?endpoint=http://127.0.0.1:9000&access_key_id=AKIA1',
    ]);
  });

  it('tests the saved remote with test_folder_remote', async () => {
    const b = settings({ test_folder_remote: REPORT });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await userEvent.click(card('photos').getByRole('button', { name: 'Test connection' }));
    expect(await card('photos').findByText('The connection works.')).toBeInTheDocument();
    expect(b.args('test_folder_remote')).toEqual([{ folder: 'photos' }]);
    expect(card('docs').queryByText('The connection works.')).not.toBeInTheDocument();

    b.set('test_folder_remote', () => {
      throw { code: 'unreachable', message: 'cannot connect to http://127.0.0.1:9000: connection refused' };
    });
    await userEvent.click(card('photos').getByRole('button', { name: 'Test connection' }));
    const alert = await card('photos').findByRole('alert');
    expect(alert).toHaveTextContent('The remote cannot be reached');
    expect(alert).toHaveTextContent('connection refused');
    expect(card('photos').queryByText('The connection works.')).not.toBeInTheDocument();
  });

  it('changes the remote after a confirmation; an empty secret keeps the stored one', async () => {
    const b = settings({
      set_folder_repository: (a) =>
        folder(a.name, { remote: a.repository.remote, cloudName: a.repository.cloudName, encrypted: !!a.repository.passphrase }),
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await card('photos').findByText('bucket photos/laptop at http://127.0.0.1:9000');
    await userEvent.click(card('photos').getByRole('button', { name: 'Change remote…' }));
    const form = card('photos').getByRole('form', { name: 'Change the remote of photos' });
    const f = within(form);
    // Filled from the saved remote; the secret stays in the keyring.
    expect(f.getByRole('radio', { name: 'S3 or S3-compatible storage' })).toBeChecked();
    expect(f.getByLabelText('Bucket')).toHaveValue('photos');
    expect(f.getByLabelText('Prefix (optional)')).toHaveValue('laptop');
    expect(f.getByLabelText('Access key ID')).toHaveValue('AKIA1');
    expect(f.getByLabelText('Secret access key')).toHaveValue('');
    expect(f.getByLabelText('Secret access key')).toHaveAccessibleDescription(
      'Leave empty to keep the one stored in the OS keyring.',
    );
    expect(f.getByLabelText('Cloud name (optional)')).toHaveValue('main');
    expect(f.getByLabelText('Encrypt the repository')).toBeChecked();

    await userEvent.clear(f.getByLabelText('Bucket'));
    await userEvent.type(f.getByLabelText('Bucket'), 'archive');
    await userEvent.clear(f.getByLabelText('Cloud name (optional)'));
    await userEvent.type(f.getByLabelText('Cloud name (optional)'), 'family');
    await userEvent.type(f.getByLabelText('Passphrase'), 'pass');
    await userEvent.type(f.getByLabelText('Confirm passphrase'), 'pass');
    await userEvent.click(f.getByRole('button', { name: 'Change remote' }));

    const dialog = await f.findByRole('alertdialog', { name: 'Change where “photos” syncs?' });
    expect(dialog).toHaveAccessibleDescription(/sync starts over.*old repository is kept as it is/);
    expect(b.count('set_folder_repository')).toBe(0);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(f.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(b.count('set_folder_repository')).toBe(0);

    await userEvent.click(f.getByRole('button', { name: 'Change remote' }));
    await userEvent.click(within(await f.findByRole('alertdialog')).getByRole('button', { name: 'Change and start over' }));
    await waitFor(() => expect(b.count('set_folder_repository')).toBe(1));
    expect(b.last('remote_url')).toEqual({ spec: { ...S3, bucket: 'archive' } });
    expect(b.last('set_folder_repository')).toEqual({
      name: 'photos',
      repository: { remote: 's3://archive', cloudName: 'family', passphrase: 'pass' },
    });
    expect(await card('photos').findByText('The remote was changed. The next sync starts over.')).toBeInTheDocument();
    expect(card('photos').queryByRole('form', { name: 'Change the remote of photos' })).not.toBeInTheDocument();
    // The card follows the answer.
    await waitFor(() => expect(b.args('parse_remote').at(-1)).toEqual({ remote: 's3://archive' }));
  });

  it('changes a local remote to S3 with a new secret, turning encryption off', async () => {
    const b = settings({
      set_folder_repository: (a) => folder(a.name, { remote: a.repository.remote }),
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    await card('docs').findByText('/srv/sync');
    await userEvent.click(card('docs').getByRole('button', { name: 'Change remote…' }));
    const f = within(card('docs').getByRole('form', { name: 'Change the remote of docs' }));
    expect(f.queryByRole('radio', { name: /Default local repository/ })).not.toBeInTheDocument();
    expect(f.getByLabelText('Repository directory')).toHaveValue('/srv/sync');
    await userEvent.click(f.getByRole('radio', { name: 'S3 or S3-compatible storage' }));
    await userEvent.type(f.getByLabelText('Bucket'), 'docs');
    await userEvent.type(f.getByLabelText('Access key ID'), 'AKIA2');
    // No secret stored for a local remote: it is required now.
    await userEvent.click(f.getByRole('button', { name: 'Change remote' }));
    expect(await f.findByText('Enter the secret access key.')).toBeInTheDocument();
    expect(f.queryByRole('alertdialog')).not.toBeInTheDocument();
    await userEvent.type(f.getByLabelText('Secret access key'), 'k2');
    await userEvent.click(f.getByRole('button', { name: 'Change remote' }));
    await userEvent.click(within(await f.findByRole('alertdialog')).getByRole('button', { name: 'Change and start over' }));
    await waitFor(() => expect(b.count('set_folder_repository')).toBe(1));
    expect(b.last('set_folder_repository')).toEqual({
      name: 'docs',
      repository: { remote: 's3://docs', cloudName: 'main', secret: 'k2' },
    });
  });

  it('shows a refused change next to the form and keeps it open', async () => {
    settings({
      set_folder_repository: () => {
        throw { code: 'credentials', message: 'no secret stored for access key AKIA1' };
      },
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await card('photos').findByText('bucket photos/laptop at http://127.0.0.1:9000');
    await userEvent.click(card('photos').getByRole('button', { name: 'Change remote…' }));
    const form = card('photos').getByRole('form', { name: 'Change the remote of photos' });
    await userEvent.click(within(form).getByLabelText('Encrypt the repository'));
    expect(within(form).queryByLabelText('Passphrase')).not.toBeInTheDocument();
    await userEvent.click(within(form).getByRole('button', { name: 'Change remote' }));
    await userEvent.click(within(await within(form).findByRole('alertdialog')).getByRole('button', { name: 'Change and start over' }));
    const alert = await within(form).findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'credentials');
    expect(alert).toHaveTextContent('no secret stored for access key AKIA1');
  });

  it('updates the stored secret and forgets it', async () => {
    const b = settings({ set_remote_secret: null });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await userEvent.click(await card('photos').findByRole('button', { name: 'Update secret…' }));
    const f = within(card('photos').getByRole('form', { name: 'New secret for the remote of photos' }));
    await userEvent.click(f.getByRole('button', { name: 'Save secret' }));
    expect(await f.findByText('Enter the secret access key.')).toBeInTheDocument();
    expect(b.count('set_remote_secret')).toBe(0);
    await userEvent.type(f.getByLabelText('Secret access key'), 'n3w');
    await userEvent.click(f.getByRole('button', { name: 'Save secret' }));
    await waitFor(() => expect(b.args('set_remote_secret')).toEqual([{ folder: 'photos', secret: 'n3w' }]));
    expect(await card('photos').findByText('The secret was saved in the OS keyring.')).toBeInTheDocument();
    await userEvent.click(card('photos').getByRole('button', { name: 'Update secret…' }));
    expect(card('photos').getByLabelText('Secret access key')).toHaveValue('');
  });

  it('enters a passphrase changed on another device; a wrong one is shown next to it', async () => {
    const b = settings({
      set_passphrase: (a) => {
        if (a.passphrase !== 'new one') throw { code: 'passphrase', message: 'wrong passphrase for the repository of photos' };
        return null;
      },
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await userEvent.click(card('photos').getByRole('button', { name: 'Enter passphrase…' }));
    const form = card('photos').getByRole('form', { name: 'Enter the passphrase of photos' });
    const f = within(form);
    expect(f.getByText(/changed on another device/)).toBeInTheDocument();
    await userEvent.type(f.getByLabelText('Passphrase'), 'old one');
    await userEvent.click(f.getByRole('button', { name: 'Save passphrase' }));
    const alert = await f.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'passphrase');
    expect(alert).toHaveTextContent('The passphrase does not fit this repository');
    expect(alert).toHaveTextContent('wrong passphrase for the repository of photos');

    await userEvent.clear(f.getByLabelText('Passphrase'));
    await userEvent.type(f.getByLabelText('Passphrase'), 'new one');
    await userEvent.click(f.getByRole('button', { name: 'Save passphrase' }));
    expect(await card('photos').findByText('The passphrase was saved in the OS keyring.')).toBeInTheDocument();
    expect(b.args('set_passphrase')).toEqual([
      { folder: 'photos', passphrase: 'old one' },
      { folder: 'photos', passphrase: 'new one' },
    ]);
    expect(form).not.toBeInTheDocument();
  });

  it('changes the passphrase: current, new twice, and says the other devices need it', async () => {
    const b = settings({ change_passphrase: null });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await userEvent.click(card('photos').getByRole('button', { name: 'Change passphrase…' }));
    const f = within(card('photos').getByRole('form', { name: 'Change the passphrase of photos' }));
    expect(f.getByText(/other devices cannot sync this folder until you enter the new passphrase/)).toBeInTheDocument();
    expect(f.getByLabelText('Current passphrase')).toHaveAttribute('autocomplete', 'off');
    expect(f.getByLabelText('New passphrase')).toHaveAttribute('autocomplete', 'new-password');

    await userEvent.click(f.getByRole('button', { name: 'Change passphrase' }));
    expect(await f.findByText('Enter the passphrase.')).toBeInTheDocument();
    await userEvent.type(f.getByLabelText('Current passphrase'), 'old');
    await userEvent.type(f.getByLabelText('New passphrase'), 'new');
    await userEvent.type(f.getByLabelText('Confirm new passphrase'), 'neu');
    await userEvent.click(f.getByRole('button', { name: 'Change passphrase' }));
    expect(await f.findByText('The passphrases do not match.')).toBeInTheDocument();
    await userEvent.clear(f.getByLabelText('New passphrase'));
    await userEvent.type(f.getByLabelText('New passphrase'), 'old');
    await userEvent.clear(f.getByLabelText('Confirm new passphrase'));
    await userEvent.type(f.getByLabelText('Confirm new passphrase'), 'old');
    await userEvent.click(f.getByRole('button', { name: 'Change passphrase' }));
    expect(await f.findByText('The new passphrase is the same as the current one.')).toBeInTheDocument();
    expect(b.count('change_passphrase')).toBe(0);

    await userEvent.clear(f.getByLabelText('New passphrase'));
    await userEvent.type(f.getByLabelText('New passphrase'), 'new');
    await userEvent.clear(f.getByLabelText('Confirm new passphrase'));
    await userEvent.type(f.getByLabelText('Confirm new passphrase'), 'new');
    await userEvent.click(f.getByRole('button', { name: 'Change passphrase' }));
    await waitFor(() => expect(b.args('change_passphrase')).toEqual([{ folder: 'photos', old: 'old', new: 'new' }]));
    expect(
      await card('photos').findByText('The passphrase was changed. Enter the new one on your other devices.'),
    ).toBeInTheDocument();
    // Open again: nothing typed before is left.
    await userEvent.click(card('photos').getByRole('button', { name: 'Change passphrase…' }));
    expect(card('photos').getByLabelText('Current passphrase')).toHaveValue('');
    expect(card('photos').getByLabelText('New passphrase')).toHaveValue('');
  });

  it('shows a refused passphrase change with its message', async () => {
    settings({
      change_passphrase: () => {
        throw { code: 'passphrase', message: 'the current passphrase is wrong' };
      },
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'photos' });
    await userEvent.click(card('photos').getByRole('button', { name: 'Change passphrase…' }));
    const f = within(card('photos').getByRole('form', { name: 'Change the passphrase of photos' }));
    await userEvent.type(f.getByLabelText('Current passphrase'), 'wrong');
    await userEvent.type(f.getByLabelText('New passphrase'), 'new');
    await userEvent.type(f.getByLabelText('Confirm new passphrase'), 'new');
    await userEvent.click(f.getByRole('button', { name: 'Change passphrase' }));
    const alert = await f.findByRole('alert');
    expect(alert).toHaveTextContent('The passphrase does not fit this repository');
    expect(alert).toHaveTextContent('the current passphrase is wrong');
  });
});

describe('push remotes (gateway, Aries)', () => {
  const GATEWAY_CHOICE = 'Gateway (push the folder to a file gateway)';
  const ARIES_CHOICE = 'Aries endpoint (push the folder’s server definitions)';
  const PUSH_NOTE = /no cloud name, encryption or snapshots/;

  it('offers a gateway with every field, and no repository options', async () => {
    backend({});
    renderView(AddFolder);
    await kind(GATEWAY_CHOICE);
    expect(screen.getByLabelText('Gateway URL')).toHaveAttribute('placeholder', 'https://files.example.com');
    const toCloud = screen.getByLabelText('Push to cloud');
    expect(toCloud).toBeChecked();
    expect(toCloud).toHaveAccessibleDescription(/Off: they stay on the gateway only/);
    const limits = screen.getByLabelText('Rate limits (optional)');
    expect(limits).toHaveValue('');
    expect(limits).toHaveAttribute('placeholder', '2000/10m,5000/1h,25000/1d');
    expect(limits).toHaveAccessibleDescription(/Empty: 2000\/10m,5000\/1h,25000\/1d\./);
    const token = screen.getByLabelText('Gateway token');
    expect(token).toHaveAttribute('type', 'password');
    expect(token).toHaveAttribute('autocomplete', 'new-password');
    expect(token).toHaveAccessibleDescription('Kept in the OS keyring, never in Syncdesk’s settings.');
    // No repository: no cloud name, no encryption; the form says why.
    expect(screen.queryByLabelText('Cloud name (optional)')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Encrypt this folder’s repository')).not.toBeInTheDocument();
    expect(screen.getByText(PUSH_NOTE)).toBeInTheDocument();
    expect(screen.queryByLabelText('User name')).not.toBeInTheDocument();

    await userEvent.click(screen.getByText('Advanced'));
    expect(screen.getByLabelText('Request timeout (seconds)')).toHaveAttribute('placeholder', '60');
    expect(screen.getByLabelText('Parallel requests')).toHaveAttribute('placeholder', '8');
    expect(screen.getByLabelText('Custom CA certificate (PEM file)')).toBeInTheDocument();
    expect(screen.queryByLabelText('Upload limit (KiB/s)')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Download limit (KiB/s)')).not.toBeInTheDocument();
    await userEvent.click(screen.getByLabelText('Accept invalid certificates'));
    expect(await screen.findByText(/Certificates are not checked/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Test connection' })).toBeInTheDocument();

    await kind(ARIES_CHOICE);
    expect(screen.getByLabelText('Aries URL')).toBeInTheDocument();
    expect(screen.getByLabelText('Aries token')).toHaveAttribute('type', 'password');
    expect(screen.queryByLabelText('Push to cloud')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Rate limits (optional)')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Gateway token')).not.toBeInTheDocument();
    expect(screen.queryByLabelText('Cloud name (optional)')).not.toBeInTheDocument();
    expect(screen.getByText(PUSH_NOTE)).toBeInTheDocument();
    expect(screen.getByLabelText('Parallel requests')).toHaveAttribute('placeholder', '8');
    expect(screen.getByLabelText('Accept invalid certificates')).toBeChecked();
    expect(screen.queryByLabelText('Upload limit (KiB/s)')).not.toBeInTheDocument();

    // Back to a repository: its options come back.
    await kind('WebDAV server');
    expect(screen.getByLabelText('Cloud name (optional)')).toBeInTheDocument();
    expect(screen.queryByText(PUSH_NOTE)).not.toBeInTheDocument();
  });

  it('checks the URL, the rate limits and the token before testing', async () => {
    const b = backend({ remote_url: remoteUrl, test_remote: REPORT });
    renderView(AddFolder);
    await kind(GATEWAY_CHOICE);
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText('Enter the server’s URL.')).toBeInTheDocument();
    expect(screen.getByText('Enter the token.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Gateway URL')).toHaveFocus());

    await userEvent.type(screen.getByLabelText('Gateway URL'), 'https://files.example.com');
    const limits = screen.getByLabelText('Rate limits (optional)');
    await userEvent.type(limits, '2000/10x');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    const problem = /Write each limit as MAX\/WINDOW/;
    expect(await screen.findByText(problem)).toBeInTheDocument();
    expect(limits).toHaveAttribute('aria-invalid', 'true');
    expect(limits).toHaveAccessibleDescription(problem);
    await waitFor(() => expect(limits).toHaveFocus());
    expect(b.count('remote_url')).toBe(0);
    expect(b.count('test_remote')).toBe(0);

    // Editing drops the message; a window over a day is refused too.
    await userEvent.clear(limits);
    expect(screen.queryByText(problem)).not.toBeInTheDocument();
    await userEvent.type(limits, '5/2d');
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText(problem)).toBeInTheDocument();
    expect(b.count('test_remote')).toBe(0);
  });

  it('tests a gateway: the spec goes to remote_url, its URL and the token to test_remote; the answer is shown', async () => {
    const b = backend({
      remote_url: remoteUrl,
      test_remote: () => {
        throw { code: 'invalid_request', message: 'a Gateway remote is a push target, not a repository' };
      },
    });
    renderView(AddFolder);
    await kind(GATEWAY_CHOICE);
    await userEvent.type(screen.getByLabelText('Gateway URL'), 'https://files.example.com/base/');
    await userEvent.click(screen.getByLabelText('Push to cloud'));
    await userEvent.type(screen.getByLabelText('Rate limits (optional)'), ' 100 / 1m , 5/2s ');
    await userEvent.type(screen.getByLabelText('Gateway token'), 'fb-secret');
    await userEvent.click(screen.getByText('Advanced'));
    await userEvent.type(screen.getByLabelText('Request timeout (seconds)'), '30');
    await userEvent.type(screen.getByLabelText('Parallel requests'), '2');
    await userEvent.type(screen.getByLabelText('Custom CA certificate (PEM file)'), '/etc/ssl/gw.pem');
    await userEvent.click(screen.getByLabelText('Accept invalid certificates'));
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('a Gateway remote is a push target, not a repository');
    expect(b.last('remote_url')).toEqual({
      spec: {
        kind: 'gateway',
        url: 'https://files.example.com/base',
        pushToCloud: false,
        limits: '100/1m,5/2s',
        timeoutSecs: 30,
        concurrency: 2,
        caCert: '/etc/ssl/gw.pem',
        pathStyle: true,
        acceptInvalidCerts: true,
      },
    });
    expect(b.last('test_remote')).toEqual({ remote: 'gateway+https://files.example.com/base', secret: 'fb-secret' });

    // Whatever the engine answers is shown: a report too.
    b.set('test_remote', REPORT);
    await userEvent.click(screen.getByRole('button', { name: 'Test connection' }));
    expect(await screen.findByText('The connection works.')).toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('adds a folder pushed to a gateway: the URL and the token, never a cloud name or passphrase', async () => {
    const b = backend({ remote_url: remoteUrl, add_folder: addFolderFake });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'site');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Site');
    // Options typed for a repository first do not follow the folder to a push remote.
    await kind('Local directory or network drive');
    await userEvent.type(screen.getByLabelText('Cloud name (optional)'), 'family');
    await userEvent.click(screen.getByLabelText('Encrypt this folder’s repository'));
    await userEvent.type(screen.getByLabelText('Passphrase'), 'pp');
    await kind(GATEWAY_CHOICE);
    await userEvent.type(screen.getByLabelText('Gateway URL'), 'http://127.0.0.1:8080');
    await userEvent.type(screen.getByLabelText('Gateway token'), 'fb-secret');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));

    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('remote_url')).toEqual({
      spec: { kind: 'gateway', url: 'http://127.0.0.1:8080', pathStyle: true, acceptInvalidCerts: false },
    });
    expect(b.last('add_folder')).toEqual({
      name: 'site',
      path: '/home/me/Site',
      repository: { remote: 'gateway+http://127.0.0.1:8080', secret: 'fb-secret' },
    });
    expect(await screen.findByText('Folder “site” was added.')).toBeInTheDocument();
    await kind(GATEWAY_CHOICE);
    expect(screen.getByLabelText('Gateway token')).toHaveValue('');
  });

  it('adds a folder pushed to an Aries endpoint; the token is required', async () => {
    const b = backend({ remote_url: remoteUrl, add_folder: addFolderFake });
    renderView(AddFolder);
    await userEvent.type(screen.getByLabelText('Name'), 'servers');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Servers');
    await kind(ARIES_CHOICE);
    await userEvent.type(screen.getByLabelText('Aries URL'), 'https://aries.example.com/api');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText('Enter the token.')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Aries token')).toHaveFocus());
    expect(b.count('add_folder')).toBe(0);
    await userEvent.type(screen.getByLabelText('Aries token'), 'bearer-1');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('add_folder')).toEqual({
      name: 'servers',
      path: '/home/me/Servers',
      repository: { remote: 'aries+https://aries.example.com/api', secret: 'bearer-1' },
    });
  });

  it('shows a folder pushed to a gateway: no cloud name; its token and its remote can be changed', async () => {
    const saved: RemoteSpec = {
      kind: 'gateway',
      url: 'https://files.example.com',
      pushToCloud: false,
      limits: '100/1m',
      pathStyle: true,
      acceptInvalidCerts: false,
    };
    const b = backend({
      list_folders: [folder('site', { remote: 'gateway+https://files.example.com?push_to_cloud=false&limits=100/1m' })],
      parse_remote: saved,
      remote_url: remoteUrl,
      set_remote_secret: null,
      set_folder_repository: (a) => folder(a.name, { remote: a.repository.remote }),
    });
    renderView(Settings);
    const card = within(await screen.findByRole('article', { name: 'site' }));
    expect(await card.findByText('https://files.example.com (files stay on the gateway)')).toBeInTheDocument();
    expect(card.getByText('Gateway')).toBeInTheDocument();
    expect(card.queryByText('Cloud name')).not.toBeInTheDocument();
    expect(card.queryByText('Encrypted')).not.toBeInTheDocument();
    expect(card.queryByRole('button', { name: 'Enter passphrase…' })).not.toBeInTheDocument();

    // The token is the remote's secret.
    await userEvent.click(card.getByRole('button', { name: 'Update secret…' }));
    const secretForm = within(card.getByRole('form', { name: 'New secret for the remote of site' }));
    await userEvent.click(secretForm.getByRole('button', { name: 'Save secret' }));
    expect(await secretForm.findByText('Enter the token.')).toBeInTheDocument();
    await userEvent.type(secretForm.getByLabelText('Gateway token'), 'fb-new');
    await userEvent.click(secretForm.getByRole('button', { name: 'Save secret' }));
    await waitFor(() => expect(b.args('set_remote_secret')).toEqual([{ folder: 'site', secret: 'fb-new' }]));

    // Changing it: filled from the saved remote, no repository options, the stored token kept.
    await userEvent.click(card.getByRole('button', { name: 'Change remote…' }));
    const f = within(card.getByRole('form', { name: 'Change the remote of site' }));
    expect(f.getByRole('radio', { name: GATEWAY_CHOICE })).toBeChecked();
    expect(f.getByLabelText('Gateway URL')).toHaveValue('https://files.example.com');
    expect(f.getByLabelText('Push to cloud')).not.toBeChecked();
    expect(f.getByLabelText('Rate limits (optional)')).toHaveValue('100/1m');
    expect(f.getByLabelText('Gateway token')).toHaveAccessibleDescription('Leave empty to keep the one stored in the OS keyring.');
    expect(f.queryByLabelText('Cloud name (optional)')).not.toBeInTheDocument();
    expect(f.queryByLabelText('Encrypt the repository')).not.toBeInTheDocument();
    expect(f.getByText(PUSH_NOTE)).toBeInTheDocument();
    await userEvent.click(f.getByLabelText('Push to cloud'));
    await userEvent.clear(f.getByLabelText('Rate limits (optional)'));
    await userEvent.click(f.getByRole('button', { name: 'Change remote' }));
    const dialog = await f.findByRole('alertdialog', { name: 'Change where “site” syncs?' });
    expect(dialog).toHaveAccessibleDescription(/folder is pushed to the new server/);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Change and start over' }));
    await waitFor(() => expect(b.count('set_folder_repository')).toBe(1));
    expect(b.last('remote_url')).toEqual({
      spec: { kind: 'gateway', url: 'https://files.example.com', pathStyle: true, acceptInvalidCerts: false },
    });
    expect(b.last('set_folder_repository')).toEqual({
      name: 'site',
      repository: { remote: 'gateway+https://files.example.com' },
    });
  });

  it('speaks Chinese', async () => {
    backend({});
    renderView(AddFolder, {}, 'zh-CN');
    await kind('网关（把文件夹推送到文件网关）');
    expect(screen.getByLabelText('网关 URL')).toBeInTheDocument();
    expect(screen.getByLabelText('推送到云端')).toBeChecked();
    expect(screen.getByLabelText('速率限制（可选）')).toHaveAccessibleDescription(/留空则为 2000\/10m,5000\/1h,25000\/1d。/);
    expect(screen.getByLabelText('网关令牌')).toHaveAttribute('type', 'password');
    await kind('Aries 端点（推送文件夹中的服务器定义）');
    expect(screen.getByLabelText('Aries 地址')).toBeInTheDocument();
    expect(screen.getByLabelText('Aries 令牌')).toBeInTheDocument();
  });
});

describe('push remote drafts', () => {
  const i18n = new I18n('en');
  const GATEWAY: RemoteSpec = {
    kind: 'gateway',
    url: 'https://files.example.com/base',
    pushToCloud: false,
    limits: '3/2s',
    timeoutSecs: 5,
    concurrency: 2,
    caCert: '/etc/ca.pem',
    pathStyle: true,
    acceptInvalidCerts: true,
  };

  it('round-trips a saved gateway; push to cloud is on when absent', () => {
    const draft = draftFromSpec(GATEWAY);
    expect(draft.pushToCloud).toBe(false);
    expect(draft.limits).toBe('3/2s');
    expect(draft.secret).toBe('');
    expect(specFromDraft(draft)).toEqual(GATEWAY);
    const on = draftFromSpec({ kind: 'gateway', url: 'https://g', pathStyle: true, acceptInvalidCerts: false });
    expect(on.pushToCloud).toBe(true);
    expect(specFromDraft(on)).toEqual({ kind: 'gateway', url: 'https://g', pathStyle: true, acceptInvalidCerts: false });
  });

  it('leaves what push remotes do not take out of their spec', () => {
    const d = {
      ...emptyDraft('aries'),
      url: 'https://aries.example.com/',
      user: 'alice',
      pushToCloud: false,
      limits: '1/1s',
      uploadKiB: 10,
      downloadKiB: 10,
      secret: 't',
    };
    expect(validateDraft(i18n, d)).toEqual({});
    expect(specFromDraft(d)).toEqual({ kind: 'aries', url: 'https://aries.example.com', pathStyle: true, acceptInvalidCerts: false });
  });

  it('needs a token unless one is stored', () => {
    const d = { ...emptyDraft('gateway'), url: 'https://g.example.com' };
    expect(validateDraft(i18n, d)).toEqual({ secret: 'Enter the token.' });
    expect(validateDraft(i18n, d, { keepSecret: true })).toEqual({});
    expect(validateDraft(i18n, { ...d, url: 'https://g.example.com?fb_token=x' }, { keepSecret: true })).toEqual({
      url: 'Leave out the “?…” and “#…” parts of the URL.',
    });
  });

  it('reads rate limits the way the engine does', () => {
    expect(normalizeLimits('2000/10m,5000/1h,25000/1d')).toBe('2000/10m,5000/1h,25000/1d');
    expect(normalizeLimits(' 5 / 30s ,1/1d')).toBe('5/30s,1/1d');
    expect(normalizeLimits('4294967295/24h')).toBe('4294967295/24h');
    for (const bad of ['', '2000', '2000/10', '2000/10x', '0/10m', '5/0m', '5/2d', '5/25h', '5/1M', '5/10m,', '-1/1m', '1.5/1m', '4294967296/1m']) {
      expect(normalizeLimits(bad), bad).toBeNull();
    }
  });
});
