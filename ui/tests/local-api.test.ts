import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import Settings from '../src/lib/views/Settings.svelte';
import type { ApiToken, AppState } from '../src/lib/model';
import { DEFAULT_APP_STATE, backend, fire, renderView, type Args } from './helpers';

const SECRET = 'sdt_' + 'ab'.repeat(32);
const TOKENS: ApiToken[] = [{ name: 'default', role: 'admin', createdAt: '2026-01-01T10:00:00.000Z' }];

function fakes(state: Partial<AppState> = {}) {
  return {
    list_folders: [],
    get_app_state: { ...DEFAULT_APP_STATE, ...state },
    list_api_tokens: TOKENS,
    set_api_server: (a: Args) => ({ ...DEFAULT_APP_STATE, apiEnabled: a.enabled, apiListen: a.listen }),
    create_api_token: (a: Args) => ({
      token: { name: a.name ?? 'token-2', role: a.role, createdAt: '2026-01-02T10:00:00.000Z' },
      secret: SECRET,
    }),
    revoke_api_token: null,
  };
}

function section() {
  return within(screen.getByRole('region', { name: 'Local API' }));
}

async function ready() {
  await screen.findByRole('region', { name: 'Local API' });
  await waitFor(() => expect(section().getByLabelText('Serve the API and the web UI')).toBeEnabled());
  await section().findByRole('cell', { name: 'default' });
}

describe('Settings → Local API', () => {
  it('turns the server on and off', async () => {
    const b = backend(fakes());
    renderView(Settings);
    await ready();
    const box = section().getByLabelText('Serve the API and the web UI');
    expect(box).not.toBeChecked();
    expect(screen.queryByTestId('api-address')).not.toBeInTheDocument();

    await userEvent.click(box);
    await waitFor(() => expect(b.last('set_api_server')).toEqual({ enabled: true, listen: '127.0.0.1:6806' }));
    await waitFor(() => expect(box).toBeChecked());
    expect(screen.getByTestId('api-address')).toHaveTextContent('http://127.0.0.1:6806/');

    await userEvent.click(box);
    await waitFor(() => expect(b.last('set_api_server')).toEqual({ enabled: false, listen: '127.0.0.1:6806' }));
    await waitFor(() => expect(box).not.toBeChecked());
  });

  it('shows the switch as it was when the change fails', async () => {
    backend({
      ...fakes(),
      set_api_server: () => {
        throw { code: 'invalid_request', message: 'address 127.0.0.1:6806 is in use' };
      },
    });
    renderView(Settings);
    await ready();
    const box = section().getByLabelText('Serve the API and the web UI');
    await userEvent.click(box);
    expect(await section().findByRole('alert')).toHaveTextContent('address 127.0.0.1:6806 is in use');
    expect(box).not.toBeChecked();
  });

  it('applies another listen address, and opens a wildcard one on loopback', async () => {
    const b = backend(fakes({ apiEnabled: true }));
    renderView(Settings);
    await ready();
    const listen = section().getByLabelText('Listen address');
    expect(listen).toHaveValue('127.0.0.1:6806');

    await userEvent.clear(listen);
    await userEvent.click(section().getByRole('button', { name: 'Apply' }));
    expect(section().getByText('Enter an address such as 127.0.0.1:6806.')).toBeInTheDocument();
    expect(b.count('set_api_server')).toBe(0);

    await userEvent.type(listen, '0.0.0.0:7000');
    await userEvent.click(section().getByRole('button', { name: 'Apply' }));
    expect(await section().findByText('Address saved.')).toBeInTheDocument();
    expect(b.last('set_api_server')).toEqual({ enabled: true, listen: '0.0.0.0:7000' });
    expect(screen.getByTestId('api-address')).toHaveTextContent('http://127.0.0.1:7000/');
  });

  it('follows appStateChanged', async () => {
    backend(fakes());
    renderView(Settings);
    await ready();
    await fire('appStateChanged', { ...DEFAULT_APP_STATE, apiEnabled: true, apiListen: '[::]:6900' });
    await waitFor(() => expect(section().getByLabelText('Serve the API and the web UI')).toBeChecked());
    expect(section().getByLabelText('Listen address')).toHaveValue('[::]:6900');
    expect(screen.getByTestId('api-address')).toHaveTextContent('http://[::1]:6900/');
  });

  it('creates a token and shows its secret once', async () => {
    const user = userEvent.setup();
    const b = backend(fakes());
    renderView(Settings);
    await ready();
    await user.type(section().getByLabelText('Name (optional)'), 'ci');
    await user.selectOptions(section().getByLabelText('Role'), 'Read-only');
    await user.click(section().getByRole('button', { name: 'Create token' }));
    await waitFor(() => expect(b.last('create_api_token')).toEqual({ name: 'ci', role: 'read-only' }));

    const secret = await section().findByLabelText('Token');
    expect(secret).toHaveValue(SECRET);
    expect(secret).toHaveAccessibleDescription('Copy it now: it will not be shown again.');
    expect(section().getByText('New token “ci”')).toBeInTheDocument();
    expect(section().getByRole('cell', { name: 'ci' })).toBeInTheDocument();

    await user.click(section().getByRole('button', { name: 'Copy' }));
    expect(await section().findByText('Copied.')).toBeInTheDocument();
    await expect(navigator.clipboard.readText()).resolves.toBe(SECRET);

    await user.click(section().getByRole('button', { name: 'Close' }));
    expect(section().queryByLabelText('Token')).not.toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
    // The list keeps only names, roles and dates.
    expect(section().getByRole('cell', { name: 'ci' })).toBeInTheDocument();
  });

  it('creates an unnamed admin token by default', async () => {
    const b = backend(fakes());
    renderView(Settings);
    await ready();
    await userEvent.click(section().getByRole('button', { name: 'Create token' }));
    await waitFor(() => expect(b.last('create_api_token')).toEqual({ name: null, role: 'admin' }));
    expect(await section().findByText('New token “token-2”')).toBeInTheDocument();
  });

  it('revokes a token', async () => {
    const b = backend(fakes());
    renderView(Settings);
    await ready();
    expect(section().getByRole('cell', { name: 'Admin (everything)' })).toBeInTheDocument();
    await userEvent.click(section().getByRole('button', { name: 'Revoke token default' }));
    await waitFor(() => expect(b.last('revoke_api_token')).toEqual({ name: 'default' }));
    await waitFor(() => expect(section().queryByRole('cell', { name: 'default' })).not.toBeInTheDocument());
    expect(section().getByText('No tokens yet.')).toBeInTheDocument();
  });
});
