import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import Settings from '../src/lib/views/Settings.svelte';
import type { Folder } from '../src/lib/model';
import { backend, fire, folder, folderInfo, renderView, type Args } from './helpers';

function addFolderFake(a: Args): Folder {
  const r = a.repository;
  return folder(a.name, { path: a.path, remote: r?.remote ?? '/data/repos', cloudName: r?.cloudName ?? a.name });
}

function folderCard(name: string) {
  return within(screen.getByRole('article', { name }));
}

describe('Settings', () => {
  it('adds a folder with the default local repository', async () => {
    const b = backend({ list_folders: [], add_folder: addFolderFake });
    renderView(Settings);
    await screen.findByText('No folders yet. Add your first one above.');
    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(screen.getByLabelText('Local folder'), '/home/me/Docs');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('add_folder')).toEqual({ name: 'docs', path: '/home/me/Docs', repository: null });
    expect(b.count('remote_url')).toBe(0);
    expect(await screen.findByText('Folder “docs” was added.')).toBeInTheDocument();
    expect(screen.getByRole('article', { name: 'docs' })).toBeInTheDocument();
  });

  it('adds a folder picked with the native picker, to a local directory and cloud name', async () => {
    const b = backend({
      list_folders: [],
      add_folder: addFolderFake,
      'plugin:dialog|open': '/home/me/Photos',
      remote_url: (a) => a.spec.path,
    });
    renderView(Settings);
    await screen.findByText('No folders yet. Add your first one above.');
    await userEvent.click(screen.getByRole('button', { name: 'Browse…' }));
    await waitFor(() => expect(screen.getByLabelText('Local folder')).toHaveValue('/home/me/Photos'));
    expect(b.last('plugin:dialog|open')?.options).toMatchObject({ directory: true });
    expect(screen.getByLabelText('Name')).toHaveValue('Photos');
    await userEvent.click(screen.getByLabelText('Local directory or network drive'));
    await userEvent.type(screen.getByLabelText('Repository directory'), '/mnt/nas/sync');
    await userEvent.type(screen.getByLabelText('Cloud name (optional)'), 'family');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    await waitFor(() => expect(b.count('add_folder')).toBe(1));
    expect(b.last('remote_url')).toEqual({
      spec: { kind: 'local', path: '/mnt/nas/sync', pathStyle: true, acceptInvalidCerts: false },
    });
    expect(b.last('add_folder')).toEqual({
      name: 'Photos',
      path: '/home/me/Photos',
      repository: { remote: '/mnt/nas/sync', cloudName: 'family' },
    });
  });

  it('validates an empty name and path before sending anything', async () => {
    const b = backend({ list_folders: [], add_folder: addFolderFake });
    renderView(Settings);
    await screen.findByText('No folders yet. Add your first one above.');
    await userEvent.type(screen.getByLabelText('Name'), '   ');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText('Enter a name for the folder.')).toBeInTheDocument();
    expect(screen.getByText('Choose the folder on this computer.')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Name')).toHaveFocus();
    await userEvent.clear(screen.getByLabelText('Name'));
    await userEvent.type(screen.getByLabelText('Name'), '.hidden');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByText(/not starting with/)).toBeInTheDocument();
    expect(b.count('add_folder')).toBe(0);
  });

  it('shows the engine refusing a folder', async () => {
    backend({
      list_folders: [],
      add_folder: () => {
        throw { code: 'invalid_request', message: 'a folder named docs already exists' };
      },
    });
    renderView(Settings);
    await screen.findByText('No folders yet. Add your first one above.');
    await userEvent.type(screen.getByLabelText('Name'), 'docs');
    await userEvent.type(screen.getByLabelText('Local folder'), '/x');
    await userEvent.click(screen.getByRole('button', { name: 'Add folder' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('a folder named docs already exists');
  });

  it('shows a load error', async () => {
    backend({
      list_folders: () => {
        throw { code: 'internal', message: 'state directory unreadable' };
      },
    });
    renderView(Settings);
    expect(await screen.findByRole('alert')).toHaveTextContent('state directory unreadable');
  });

  it('updates a folder: mode, interval, watcher, enabled', async () => {
    const b = backend({
      list_folders: [folder('docs'), folder('photos')],
      update_folder_settings: (a) => folder(a.name, a.settings),
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    const docs = folderCard('docs');
    expect(docs.getByRole('button', { name: 'Save' })).toBeDisabled();
    await userEvent.selectOptions(docs.getByLabelText('Sync mode'), 'Manual');
    expect(docs.getByText('Syncs only when you press “Sync now”.')).toBeInTheDocument();
    const interval = docs.getByLabelText('Sync every (minutes)');
    expect(interval).toHaveValue(5);
    await userEvent.clear(interval);
    await userEvent.type(interval, '15');
    await userEvent.click(docs.getByLabelText('Sync soon after files change'));
    await userEvent.click(docs.getByLabelText('Enabled'));
    await userEvent.click(docs.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(b.count('update_folder_settings')).toBe(1));
    expect(b.last('update_folder_settings')).toEqual({
      name: 'docs',
      settings: { enabled: false, syncMode: 'manual', intervalSecs: 900, watch: false },
    });
    expect(await docs.findByText('Saved.')).toBeInTheDocument();
  });

  it('refuses an interval of zero', async () => {
    const b = backend({ list_folders: [folder('docs')], update_folder_settings: (a) => folder(a.name, a.settings) });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    const docs = folderCard('docs');
    await userEvent.clear(docs.getByLabelText('Sync every (minutes)'));
    await userEvent.type(docs.getByLabelText('Sync every (minutes)'), '0');
    await userEvent.click(docs.getByRole('button', { name: 'Save' }));
    expect(await docs.findByText('Enter a number of minutes greater than zero.')).toBeInTheDocument();
    expect(b.count('update_folder_settings')).toBe(0);
  });

  it('edits .syncignore: read, change, write', async () => {
    const b = backend({
      list_folders: [folder('docs')],
      read_ignore_file: '*.tmp\n',
      write_ignore_file: null,
    });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    await userEvent.click(folderCard('docs').getByRole('button', { name: 'Ignore rules' }));
    const editor = await screen.findByLabelText('Ignore rules of docs (.syncignore)');
    expect(editor).toHaveValue('*.tmp\n');
    expect(b.last('read_ignore_file')).toEqual({ folder: 'docs' });
    await userEvent.type(editor, 'build/');
    await userEvent.click(screen.getByRole('button', { name: 'Save rules' }));
    await waitFor(() => expect(b.count('write_ignore_file')).toBe(1));
    expect(b.last('write_ignore_file')).toEqual({ folder: 'docs', text: '*.tmp\nbuild/' });
    expect(await screen.findByText('Rules saved.')).toBeInTheDocument();
  });

  it('removes a folder only after confirmation', async () => {
    const b = backend({ list_folders: [folder('docs'), folder('photos')], remove_folder: null });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    await userEvent.click(folderCard('docs').getByRole('button', { name: 'Remove folder…' }));
    const dialog = await screen.findByRole('alertdialog', { name: 'Stop syncing “docs”?' });
    expect(b.count('remove_folder')).toBe(0);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    await userEvent.click(folderCard('docs').getByRole('button', { name: 'Remove folder…' }));
    await userEvent.click(within(await screen.findByRole('alertdialog')).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(screen.queryByRole('article', { name: 'docs' })).not.toBeInTheDocument());
    expect(b.args('remove_folder')).toEqual([{ name: 'docs' }]);
    expect(screen.getByRole('article', { name: 'photos' })).toBeInTheDocument();
  });

  it('follows folderChanged and folderRemoved', async () => {
    backend({ list_folders: [folder('docs'), folder('photos')] });
    renderView(Settings);
    await screen.findByRole('article', { name: 'docs' });
    await fire('folderChanged', folderInfo('docs', { enabled: false }));
    await waitFor(() => expect(folderCard('docs').getByLabelText('Enabled')).not.toBeChecked());
    await fire('folderRemoved', 'photos');
    await waitFor(() => expect(screen.queryByRole('article', { name: 'photos' })).not.toBeInTheDocument());
  });

  it('switches the language to Chinese and persists it with set_language', async () => {
    const b = backend({
      list_folders: [folder('docs')],
      set_language: (a) => ({ paused: false, autostart: false, language: a.language }),
    });
    renderView(Settings);
    expect(await screen.findByRole('heading', { name: 'Settings' })).toBeInTheDocument();
    const select = screen.getByLabelText('Language');
    await waitFor(() => expect(select).toBeEnabled());
    await userEvent.selectOptions(select, '简体中文');
    expect(await screen.findByRole('heading', { name: '设置' })).toBeInTheDocument();
    expect(b.last('set_language')).toEqual({ language: 'zh-CN' });
    expect(screen.getByRole('button', { name: '添加文件夹' })).toBeInTheDocument();
    expect(screen.getByLabelText('同步模式')).toBeInTheDocument();
    expect(screen.queryByText('Add a folder')).not.toBeInTheDocument();
    expect(document.documentElement.lang).toBe('zh-CN');

    await userEvent.selectOptions(screen.getByLabelText('语言'), '跟随系统');
    expect(await screen.findByRole('heading', { name: 'Settings' })).toBeInTheDocument();
    expect(b.last('set_language')).toEqual({ language: null });
  });

  it('turns start-at-login on with set_autostart', async () => {
    const b = backend({
      list_folders: [],
      set_autostart: (a) => ({ paused: false, autostart: a.enabled, language: null }),
    });
    renderView(Settings);
    const box = await screen.findByLabelText('Start Syncdesk when I log in');
    await waitFor(() => expect(box).toBeEnabled());
    expect(box).not.toBeChecked();
    await userEvent.click(box);
    await waitFor(() => expect(b.last('set_autostart')).toEqual({ enabled: true }));
    await waitFor(() => expect(box).toBeChecked());
  });
});
