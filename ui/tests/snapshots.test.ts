import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import Snapshots from '../src/lib/views/Snapshots.svelte';
import type { FileInfo, SnapshotInfo } from '../src/lib/model';
import { backend, folder, renderView, type Args } from './helpers';

const snaps: SnapshotInfo[] = [
  { id: 'aaaa1111bbbb2222', device: 'laptop', createdAt: '2026-01-01T09:00:00.000Z', parents: [], files: 1200, bytes: 5 * 1048576, headOf: [] },
  { id: 'cccc3333dddd4444', device: 'desktop', createdAt: '2026-01-02T09:00:00.000Z', parents: ['aaaa1111bbbb2222'], files: 1204, bytes: 6 * 1048576, headOf: ['desktop'] },
];

const tree: Record<string, FileInfo[]> = {
  '': [
    { name: 'readme.md', kind: 'file', size: 2048, mtimeNs: 0, device: 'laptop' },
    { name: 'notes', kind: 'dir', size: 0, mtimeNs: 0, device: 'laptop' },
  ],
  notes: [{ name: 'today.md', kind: 'file', size: 512, mtimeNs: 0, device: 'desktop' }],
};

function fakes(extra: Record<string, unknown> = {}) {
  return {
    list_folders: [folder('docs'), folder('photos')],
    list_snapshots: snaps,
    list_snapshot_files: (a: Args) => tree[a.path] ?? [],
    list_trash: [
      { batch: '20260102-101500-job42', path: 'old/draft.txt', size: 100 },
      { batch: '20260102-101500-job42', path: 'b.txt', size: 2000 },
    ],
    ...extra,
  };
}

async function chooseDocs() {
  await screen.findByRole('option', { name: 'docs' });
  await userEvent.selectOptions(screen.getByLabelText('Folder'), 'docs');
}

describe('Snapshots & trash', () => {
  it('lists the snapshots of the chosen folder, newest first', async () => {
    const b = backend(fakes());
    renderView(Snapshots);
    await chooseDocs();
    const table = await screen.findByRole('table', { name: 'Snapshots' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('desktop');
    expect(rows[0]).toHaveTextContent('1,204');
    expect(rows[0]).toHaveTextContent('6 MB');
    expect(rows[0]).toHaveTextContent('latest');
    expect(rows[1]).toHaveTextContent('laptop');
    expect(b.last('list_snapshots')).toEqual({ folder: 'docs' });
    expect(b.last('list_trash')).toEqual({ folder: 'docs' });
  });

  it('explains that a folder pushed to a gateway has no snapshots, and still shows its trash', async () => {
    const b = backend(fakes({ list_folders: [folder('site', { remote: 'gateway+https://files.example.com' }), folder('docs')] }));
    renderView(Snapshots);
    await screen.findByRole('option', { name: 'site' });
    await userEvent.selectOptions(screen.getByLabelText('Folder'), 'site');
    expect(await screen.findByText(/keeps no repository: it has no snapshots/)).toBeInTheDocument();
    expect(await screen.findByRole('table', { name: 'Trash' })).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'Snapshots' })).not.toBeInTheDocument();
    expect(b.count('list_snapshots')).toBe(0);
    expect(b.last('list_trash')).toEqual({ folder: 'site' });

    await userEvent.selectOptions(screen.getByLabelText('Folder'), 'docs');
    expect(await screen.findByRole('table', { name: 'Snapshots' })).toBeInTheDocument();
    expect(screen.queryByText(/keeps no repository/)).not.toBeInTheDocument();
  });

  it('browses a snapshot and restores a file to a chosen directory', async () => {
    const b = backend(
      fakes({
        'plugin:dialog|open': '/home/me/Restored',
        restore_snapshot: (a: Args) => ({ target: `${a.to}/today.md`, files: 1, bytes: 512 }),
      }),
    );
    renderView(Snapshots);
    await chooseDocs();
    const browse = await screen.findAllByRole('button', { name: /^Browse the snapshot of/ });
    await userEvent.click(browse[1]);
    const view = within(await screen.findByRole('region', { name: /^Snapshot of/ }));
    expect(b.last('list_snapshot_files')).toEqual({ folder: 'docs', snapshot: 'aaaa1111bbbb2222', path: '' });
    expect(view.getByText(/readme\.md/)).toBeInTheDocument();

    await userEvent.click(view.getByRole('button', { name: /notes\// }));
    await waitFor(() => expect(view.getByText(/today\.md/)).toBeInTheDocument());
    expect(b.last('list_snapshot_files')).toEqual({ folder: 'docs', snapshot: 'aaaa1111bbbb2222', path: 'notes' });
    expect(view.getByRole('button', { name: 'notes' })).toHaveAttribute('aria-current', 'location');

    await userEvent.click(view.getByRole('button', { name: 'Restore today.md' }));
    await waitFor(() => expect(b.count('restore_snapshot')).toBe(1));
    expect(b.last('plugin:dialog|open')?.options).toMatchObject({ directory: true });
    expect(b.last('restore_snapshot')).toEqual({
      folder: 'docs',
      snapshot: 'aaaa1111bbbb2222',
      path: 'notes/today.md',
      to: '/home/me/Restored',
    });
    expect(await screen.findByText('Restored to /home/me/Restored/today.md. Files: 1, size: 512 B.')).toBeInTheDocument();

    // Back to the root through the breadcrumb, and restore a directory.
    await userEvent.click(view.getByRole('button', { name: 'docs' }));
    await waitFor(() => expect(view.getByText(/readme\.md/)).toBeInTheDocument());
    await userEvent.click(view.getByRole('button', { name: 'Restore notes' }));
    await waitFor(() => expect(b.count('restore_snapshot')).toBe(2));
    expect(b.last('restore_snapshot')?.path).toBe('notes');
  });

  it('does not restore when the picker is cancelled', async () => {
    const b = backend(fakes({ 'plugin:dialog|open': null, restore_snapshot: null }));
    renderView(Snapshots);
    await chooseDocs();
    await userEvent.click((await screen.findAllByRole('button', { name: /^Browse the snapshot of/ }))[0]);
    await userEvent.click(await screen.findByRole('button', { name: 'Restore the whole snapshot' }));
    await waitFor(() => expect(b.count('plugin:dialog|open')).toBe(1));
    expect(b.count('restore_snapshot')).toBe(0);
  });

  it('shows a failing restore', async () => {
    backend(
      fakes({
        'plugin:dialog|open': '/home/me/Restored',
        restore_snapshot: () => {
          throw { code: 'invalid_request', message: '/home/me/Restored/readme.md already exists; restore to another directory' };
        },
      }),
    );
    renderView(Snapshots);
    await chooseDocs();
    await userEvent.click((await screen.findAllByRole('button', { name: /^Browse the snapshot of/ }))[0]);
    await userEvent.click(await screen.findByRole('button', { name: 'Restore readme.md' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('already exists; restore to another directory');
  });

  it('lists the trash and restores an item', async () => {
    const b = backend(fakes({ restore_trash: '/home/me/docs/old/draft.txt' }));
    renderView(Snapshots);
    await chooseDocs();
    const trash = within(await screen.findByRole('region', { name: 'Trash' }));
    expect(trash.getByText('old/draft.txt')).toBeInTheDocument();
    expect(trash.getAllByText(/\(job 42\)/)).toHaveLength(2);
    await userEvent.click(trash.getByRole('button', { name: 'Restore old/draft.txt' }));
    await waitFor(() => expect(b.count('restore_trash')).toBe(1));
    expect(b.last('restore_trash')).toEqual({ folder: 'docs', batch: '20260102-101500-job42', path: 'old/draft.txt', to: null });
    expect(await screen.findByText('Restored to /home/me/docs/old/draft.txt.')).toBeInTheDocument();
    expect(trash.queryByText('old/draft.txt')).not.toBeInTheDocument();
    expect(trash.getByText('b.txt')).toBeInTheDocument();
  });

  it('restores a trashed file into another folder the user picks', async () => {
    const b = backend(
      fakes({ 'plugin:dialog|open': '/home/me/Recovered', restore_trash: '/home/me/Recovered/draft.txt' }),
    );
    renderView(Snapshots);
    await chooseDocs();
    const trash = within(await screen.findByRole('region', { name: 'Trash' }));
    await userEvent.click(trash.getByRole('button', { name: 'Restore old/draft.txt to another folder' }));
    await waitFor(() => expect(b.count('restore_trash')).toBe(1));
    expect(b.last('restore_trash')).toEqual({
      folder: 'docs',
      batch: '20260102-101500-job42',
      path: 'old/draft.txt',
      to: '/home/me/Recovered',
    });
    expect(await screen.findByText('Restored to /home/me/Recovered/draft.txt.')).toBeInTheDocument();
  });

  it('shows empty states', async () => {
    backend(fakes({ list_snapshots: [], list_trash: [] }));
    renderView(Snapshots);
    await chooseDocs();
    expect(await screen.findByText('This folder has no snapshots yet. One is made by every sync.')).toBeInTheDocument();
    expect(screen.getByText('The trash is empty.')).toBeInTheDocument();
  });

  it('shows an error when listing fails', async () => {
    backend(
      fakes({
        list_snapshots: () => {
          throw { code: 'unknown_folder', message: 'no folder named docs' };
        },
      }),
    );
    renderView(Snapshots);
    await chooseDocs();
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('This folder is not known (any more)');
    expect(alert).toHaveTextContent('no folder named docs');
  });
});
