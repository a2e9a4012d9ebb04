import { describe, expect, it, vi } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import Overview from '../src/lib/views/Overview.svelte';
import { DEFAULT_APP_STATE, backend, event, fire, folderInfo, job, renderView, syncInfo } from './helpers';

const started = { jobIds: [7], current: 0, total: 0, info: 'Preparing to sync', msg: '', percent: 0 };

function card(name: string) {
  return screen.getByRole('heading', { name }).closest('li') as HTMLElement;
}

describe('Overview', () => {
  it('renders each folder from get_sync_info with its state, remote, cloud name and last sync', async () => {
    backend({
      get_sync_info: syncInfo([
        folderInfo('docs', { cloudName: 'work', lastSyncAt: new Date(Date.now() - 5 * 60_000).toISOString() }),
        folderInfo('photos', { lastJob: job(3, { folder: 'photos', status: 'failed', error_message: 'remote unreachable' }) }),
        folderInfo('music', { enabled: false }),
      ]),
    });
    renderView(Overview);
    const docs = within(await screen.findByRole('listitem', { name: 'docs' }));
    expect(docs.getByText('work')).toBeInTheDocument();
    expect(docs.getAllByText(/\/srv\/sync/)[0]).toBeInTheDocument();
    expect(docs.getByText('5 minutes ago')).toBeInTheDocument();
    expect(docs.getByTestId('state-docs')).toHaveTextContent('Up to date');

    const photos = within(card('photos'));
    expect(photos.getByTestId('state-photos')).toHaveTextContent('Error');
    expect(photos.getByRole('alert')).toHaveTextContent('remote unreachable');
    expect(within(card('music')).getByTestId('state-music')).toHaveTextContent('Disabled');
  });

  it('shows no cloud name for a folder pushed to a gateway or an Aries endpoint', async () => {
    backend({
      get_sync_info: syncInfo([
        folderInfo('site', { providerName: 'Gateway', remote: 'gateway+https://files.example.com', cloudName: 'main' }),
        folderInfo('servers', { providerName: 'Aries', remote: 'aries+https://aries.example.com', cloudName: 'main' }),
        folderInfo('docs', { cloudName: 'work' }),
      ]),
    });
    renderView(Overview);
    const site = within(await screen.findByRole('listitem', { name: 'site' }));
    expect(site.getByText('gateway+https://files.example.com')).toBeInTheDocument();
    expect(site.getByText('(Gateway)')).toBeInTheDocument();
    expect(site.queryByText('Cloud name')).not.toBeInTheDocument();
    const servers = within(card('servers'));
    expect(servers.getByText('(Aries)')).toBeInTheDocument();
    expect(servers.queryByText('Cloud name')).not.toBeInTheDocument();
    expect(within(card('docs')).getByText('Cloud name')).toBeInTheDocument();
  });

  it('shows an empty state without folders', async () => {
    backend({ get_sync_info: syncInfo([]) });
    renderView(Overview);
    expect(await screen.findByText('No folders yet. Add one in Settings.')).toBeInTheDocument();
  });

  it('shows a load error with a way to retry', async () => {
    const b = backend({
      get_sync_info: () => {
        throw { code: 'internal', message: 'database is locked' };
      },
    });
    renderView(Overview);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Something went wrong');
    expect(alert).toHaveTextContent('database is locked');
    b.set('get_sync_info', syncInfo([folderInfo('docs')]));
    await userEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByRole('heading', { name: 'docs' })).toBeInTheDocument();
  });

  it('"Sync now" invokes perform_sync with the folder and the right request', async () => {
    const b = backend({
      get_sync_info: syncInfo([folderInfo('docs'), folderInfo('photos')]),
      perform_sync: started,
    });
    renderView(Overview);
    await userEvent.click(await screen.findByRole('button', { name: 'Sync now: photos' }));
    await waitFor(() => expect(b.count('perform_sync')).toBe(1));
    expect(b.last('perform_sync')).toEqual({
      request: {
        app: 'syncdesk-desktop',
        force: false,
        pushMode: '',
        pushOnly: false,
        cloudName: null,
        folder: 'photos',
        confirm: false,
      },
    });
    expect(await within(card('photos')).findByTestId('state-photos')).toHaveTextContent('Syncing');
  });

  it('follows syncProgress events (phase, counts, bytes, rate, ETA) without polling', async () => {
    const b = backend({ get_sync_info: syncInfo([folderInfo('docs')]) });
    renderView(Overview);
    await screen.findByRole('heading', { name: 'docs' });
    await fire('syncBegin', event({ name: 'syncBegin', phase: 'preparing', at: '2026-01-01T10:00:00.000Z' }));
    const progress = await screen.findByTestId('progress-docs');
    expect(progress).toHaveTextContent('Preparing');
    await fire(
      'syncProgress',
      event({ current: 10, total: 40, bytes: 0, bytesTotal: 4 * 1048576, info: 'a.txt', at: '2026-01-01T10:00:01.000Z' }),
    );
    await waitFor(() => expect(progress).toHaveTextContent('Uploading'));
    expect(progress).toHaveTextContent('10 of 40 items');
    expect(progress).toHaveTextContent('0 B of 4 MB');
    await fire(
      'syncProgress',
      event({ current: 20, total: 40, bytes: 1048576, bytesTotal: 4 * 1048576, info: 'b.txt', at: '2026-01-01T10:00:02.000Z' }),
    );
    await waitFor(() => expect(progress).toHaveTextContent('20 of 40 items'));
    expect(progress).toHaveTextContent('1 MB of 4 MB');
    expect(progress).toHaveTextContent('1 MB/s');
    expect(progress).toHaveTextContent('about 3 s left');
    expect(progress).toHaveTextContent('b.txt');
    expect(within(progress).getByRole('progressbar', { name: 'Progress of docs' })).toBeInTheDocument();
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Syncing');

    await fire('syncEnd', event({ name: 'syncEnd', phase: 'done', status: 'succeeded' }));
    await waitFor(() => expect(screen.queryByTestId('progress-docs')).not.toBeInTheDocument());
    expect(b.count('get_sync_info')).toBe(1);
  });

  it('shows a rejected command in plain words', async () => {
    backend({
      get_sync_info: syncInfo([folderInfo('docs')]),
      perform_sync: () => {
        throw { code: 'sync_in_progress', message: 'Sync is in progress, please try again later' };
      },
    });
    renderView(Overview);
    await userEvent.click(await screen.findByRole('button', { name: 'Sync now: docs' }));
    const alert = await within(card('docs')).findByRole('alert');
    expect(alert).toHaveTextContent('A sync is already running');
    expect(alert).toHaveTextContent('Wait for it to finish, then try again.');
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Up to date');
  });

  it('offers to confirm a sync stopped by the mass-deletion guard, and sends confirm: true', async () => {
    const b = backend({
      get_sync_info: syncInfo([
        folderInfo('docs', {
          lastJob: job(5, { status: 'needs_confirmation', error_message: 'would delete 120 of 150 files' }),
        }),
      ]),
      perform_sync: started,
    });
    renderView(Overview);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('would delete 120 of 150 files');
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Needs confirmation');
    await userEvent.click(within(alert).getByRole('button', { name: 'Confirm and sync' }));
    await waitFor(() => expect(b.count('perform_sync')).toBe(1));
    expect(b.last('perform_sync')?.request).toMatchObject({ folder: 'docs', pushMode: '', confirm: true });
  });

  it('gives completely-manual folders no two-way sync, only force push / pull', async () => {
    backend({
      get_sync_info: syncInfo([folderInfo('vault', { syncMode: 'completely_manual' })]),
    });
    const onForce = vi.fn();
    renderView(Overview, { onForce });
    const c = within(await screen.findByRole('listitem', { name: 'vault' }));
    await c.findByRole('button', { name: 'Force pull…' });
    expect(c.queryByRole('button', { name: /Sync now/ })).not.toBeInTheDocument();
    await userEvent.click(c.getByRole('button', { name: 'Force pull…' }));
    expect(onForce).toHaveBeenCalledWith('vault', 'force-pull');
  });

  it('pauses and resumes globally, and follows appStateChanged', async () => {
    const b = backend({
      get_sync_info: syncInfo([folderInfo('docs')]),
      set_paused: (a) => ({ paused: a.paused, autostart: false, language: null }),
    });
    renderView(Overview);
    await userEvent.click(await screen.findByRole('button', { name: 'Pause syncing' }));
    expect(await screen.findByRole('button', { name: 'Resume syncing' })).toBeInTheDocument();
    expect(b.last('set_paused')).toEqual({ paused: true });
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Paused');
    expect(screen.getByText(/Syncing is paused/)).toBeInTheDocument();

    await fire('appStateChanged', { ...DEFAULT_APP_STATE });
    expect(await screen.findByRole('button', { name: 'Pause syncing' })).toBeInTheDocument();
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Up to date');
  });

  it('follows jobChanged, folderChanged and folderRemoved', async () => {
    const b = backend({
      get_sync_info: syncInfo([folderInfo('docs'), folderInfo('old')]),
    });
    renderView(Overview);
    await screen.findByRole('heading', { name: 'docs' });

    await fire('jobChanged', job(9, { status: 'failed', error_message: 'disk full' }));
    expect(await within(card('docs')).findByText('disk full')).toBeInTheDocument();
    expect(screen.getByTestId('state-docs')).toHaveTextContent('Error');

    await fire('folderChanged', folderInfo('new', { cloudName: 'fresh', syncMode: 'completely_manual' }));
    const fresh = within(await screen.findByRole('listitem', { name: 'new' }));
    expect(fresh.getByText('fresh')).toBeInTheDocument();
    expect(await fresh.findByRole('button', { name: 'Force push…' })).toBeInTheDocument();

    await fire('folderRemoved', 'old');
    await waitFor(() => expect(screen.queryByRole('heading', { name: 'old' })).not.toBeInTheDocument());
    expect(b.count('get_sync_info')).toBe(1);
  });
});
