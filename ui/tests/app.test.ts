import { describe, expect, it } from 'vitest';
import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import App from '../src/App.svelte';
import { TauriClient } from '../src/lib/client/tauri';
import { DEFAULT_APP_STATE, backend, fire, folder, folderInfo, page, syncInfo } from './helpers';

function fakes(language: string | null = null) {
  return {
    get_app_state: { paused: false, autostart: false, language },
    get_sync_info: syncInfo([folderInfo('vault', { syncMode: 'completely_manual' })]),
    list_folders: [folder('vault', { syncMode: 'completely_manual' })],
    list_jobs: page([]),
  };
}

describe('App', () => {
  it('switches between the sections from the navigation', async () => {
    const b = backend(fakes());
    render(App, { props: { client: new TauriClient() } });
    const nav = within(screen.getByRole('navigation', { name: 'Sections' }));
    expect(nav.getByRole('button', { name: 'Overview' })).toHaveAttribute('aria-current', 'page');
    expect(await screen.findByRole('heading', { name: 'vault' })).toBeInTheDocument();

    await userEvent.click(nav.getByRole('button', { name: 'History' }));
    expect(await screen.findByText('No jobs match.')).toBeVisible();
    expect(screen.getByRole('heading', { name: 'Overview', hidden: true })).not.toBeVisible();
    expect(nav.getByRole('button', { name: 'History' })).toHaveAttribute('aria-current', 'page');

    // Views stay mounted: coming back does not reload them.
    await userEvent.click(nav.getByRole('button', { name: 'Overview' }));
    await userEvent.click(nav.getByRole('button', { name: 'History' }));
    expect(b.count('list_jobs')).toBe(1);
    expect(b.count('get_sync_info')).toBe(1);
  });

  it("opens the danger zone from a completely-manual folder's force button", async () => {
    backend(fakes());
    render(App, { props: { client: new TauriClient() } });
    await userEvent.click(await screen.findByRole('button', { name: 'Force push…' }));
    expect(await screen.findByRole('heading', { name: 'Danger zone' })).toBeVisible();
    await waitFor(() => expect(screen.getByLabelText('Folder')).toHaveValue('vault'));
    expect(screen.getByLabelText('Force push')).toBeChecked();
  });

  it('uses the saved language, and follows appStateChanged', async () => {
    backend(fakes('zh-CN'));
    render(App, { props: { client: new TauriClient() } });
    expect(await screen.findByRole('button', { name: '历史记录' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: '概览' })).toBeInTheDocument();
    await fire('appStateChanged', { ...DEFAULT_APP_STATE, language: 'en' });
    expect(await screen.findByRole('button', { name: 'History' })).toBeInTheDocument();
  });
});
