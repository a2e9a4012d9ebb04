/** Where the web UI keeps its API token (the browser's local storage of this origin). */
export const TOKEN_KEY = 'syncdesk.token';

/**
 * The token to start with: `#token=…` in the address (what `syncdesk-cli serve` prints),
 * which is then kept and removed from the address bar so it does not linger in history or
 * screenshots; else the one kept earlier; else null (the app asks for one).
 */
export function initialToken(): string | null {
  const fromHash = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token');
  if (fromHash) {
    saveToken(fromHash);
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, '', pathname + search);
    return fromHash;
  }
  try {
    return window.localStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  try {
    window.localStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage is off (private mode, policy): the token lasts as long as the page.
  }
}

export function forgetToken(): void {
  try {
    window.localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing was stored.
  }
}
