import { describe, expect, it } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import DangerZone from '../src/lib/views/DangerZone.svelte';
import type { SyncPreview } from '../src/lib/model';
import { backend, folder, renderView, type Args } from './helpers';

function preview(a: Args): SyncPreview[] {
  return [
    {
      folder: a.request.folder,
      mode: a.request.pushMode,
      upload: [],
      download: ['photos/a.jpg', 'photos/b.jpg'],
      replace: ['notes.md'],
      deleteLocal: ['draft.txt', 'old/x.txt', 'old/y.txt'],
      deleteRemote: [],
      conflicts: ['report.docx'],
    },
  ];
}

const started = { jobIds: [31], current: 0, total: 0, info: 'Preparing to sync', msg: '', percent: 0 };

describe('Danger zone', () => {
  it('previews a force pull, then runs it only after the folder name is typed', async () => {
    const b = backend({ list_folders: [folder('docs'), folder('photos')], preview_sync: preview, perform_sync: started });
    renderView(DangerZone);
    await screen.findByRole('option', { name: 'photos' });
    await userEvent.selectOptions(screen.getByLabelText('Folder'), 'photos');
    await userEvent.click(screen.getByLabelText('Force pull'));
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }));

    const region = within(await screen.findByRole('region', { name: 'Force pull of photos: what would change' }));
    expect(b.last('preview_sync')).toEqual({
      request: {
        app: 'syncdesk-desktop',
        force: false,
        pushMode: 'force-pull',
        pushOnly: false,
        cloudName: null,
        folder: 'photos',
        confirm: false,
      },
    });
    expect(region.getByTestId('count-download')).toHaveTextContent('Download 2');
    expect(region.getByTestId('count-deleteLocal')).toHaveTextContent('Delete locally 3');
    expect(region.getByTestId('count-upload')).toHaveTextContent('Upload 0');
    const deletions = region.getByRole('list', { name: 'Delete locally' });
    expect(within(deletions).getAllByRole('listitem').map((li) => li.textContent)).toEqual([
      'draft.txt',
      'old/x.txt',
      'old/y.txt',
    ]);
    expect(region.getByRole('list', { name: 'Replace locally' })).toHaveTextContent('notes.md');
    expect(region.getByRole('list', { name: 'Conflicts' })).toHaveTextContent('report.docx');
    expect(region.getByRole('list', { name: 'Download' })).toHaveTextContent('photos/b.jpg');
    expect(region.queryByRole('list', { name: 'Upload' })).not.toBeInTheDocument();

    const run = region.getByRole('button', { name: 'Force pull now' });
    expect(run).toBeDisabled();
    const confirm = region.getByLabelText('To confirm, type the folder name “photos”');
    await userEvent.type(confirm, 'photo');
    expect(run).toBeDisabled();
    await userEvent.click(run);
    await userEvent.type(confirm, '{Enter}');
    await fireEvent.submit(confirm.closest('form')!);
    expect(b.count('perform_sync')).toBe(0);

    await userEvent.type(confirm, 's');
    expect(run).toBeEnabled();
    await userEvent.click(run);
    await waitFor(() => expect(b.count('perform_sync')).toBe(1));
    expect(b.last('perform_sync')).toEqual({
      request: {
        app: 'syncdesk-desktop',
        force: false,
        pushMode: 'force-pull',
        pushOnly: false,
        cloudName: null,
        folder: 'photos',
        confirm: true,
      },
    });
    expect(await screen.findByText(/Force pull of photos started \(job 31\)/)).toBeInTheDocument();
  });

  it('starts from the folder and mode it was opened with, and says when nothing would change', async () => {
    const b = backend({
      list_folders: [folder('docs'), folder('vault')],
      preview_sync: (a: Args) => [
        { folder: a.request.folder, mode: a.request.pushMode, upload: [], download: [], replace: [], deleteLocal: [], deleteRemote: [], conflicts: [] },
      ],
    });
    renderView(DangerZone, { folder: 'vault', mode: 'force-push' });
    await screen.findByRole('option', { name: 'vault' });
    expect(screen.getByLabelText('Folder')).toHaveValue('vault');
    expect(screen.getByLabelText('Force push')).toBeChecked();
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }));
    expect(await screen.findByText('Nothing would change: both sides are already the same.')).toBeInTheDocument();
    expect(b.last('preview_sync')?.request).toMatchObject({ folder: 'vault', pushMode: 'force-push', confirm: false });
  });

  it('drops the preview when the direction changes', async () => {
    const b = backend({ list_folders: [folder('docs')], preview_sync: preview, perform_sync: started });
    renderView(DangerZone);
    await waitFor(() => expect(screen.getByLabelText('Folder')).toHaveValue('docs'));
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }));
    await screen.findByRole('region', { name: /what would change/ });
    await userEvent.click(screen.getByLabelText('Force pull'));
    await waitFor(() => expect(screen.queryByRole('region', { name: /what would change/ })).not.toBeInTheDocument());
    expect(b.count('perform_sync')).toBe(0);
  });

  it('shows a failing preview or run in plain words', async () => {
    const b = backend({
      list_folders: [folder('docs')],
      preview_sync: () => {
        throw { code: 'boot_sync_in_progress', message: 'Boot sync is in progress, please try again later' };
      },
    });
    renderView(DangerZone);
    await waitFor(() => expect(screen.getByLabelText('Folder')).toHaveValue('docs'));
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('The start-up sync is still running');

    b.set('preview_sync', preview);
    b.set('perform_sync', () => {
      throw { code: 'sync_in_progress', message: 'Sync is in progress, please try again later' };
    });
    await userEvent.click(screen.getByRole('button', { name: 'Preview changes' }));
    await userEvent.type(await screen.findByLabelText(/To confirm/), 'docs');
    await userEvent.click(screen.getByRole('button', { name: 'Force push now' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('A sync is already running');
  });
});
