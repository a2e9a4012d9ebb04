import type { ApiError } from '../model';

/**
 * The codes the engine sends (docs/desktop-contract.md), plus those of the HTTP transport
 * (docs/api.md: `unauthorized`, `forbidden`; `unsupported` for desktop-only commands).
 * Anything else is shown as-is.
 */
export const KNOWN_ERROR_CODES = [
  'sync_in_progress',
  'boot_sync_in_progress',
  'app_required',
  'unknown_folder',
  'no_folders',
  'invalid_request',
  'not_found',
  'credentials',
  'keyring',
  'passphrase',
  'unreachable',
  'internal',
  'unauthorized',
  'forbidden',
  'unsupported',
] as const;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

/**
 * Turns whatever a failed call rejected with into an `ApiError`. The shell sends
 * `{ code, message }`; Tauri itself rejects with a bare string (unknown command, bad
 * arguments); a JS bug throws an `Error`; the seed's envelope is `{ code: -1, msg }`.
 */
export function toApiError(e: unknown): ApiError {
  if (isRecord(e)) {
    const code = e.code;
    const message = typeof e.message === 'string' ? e.message : typeof e.msg === 'string' ? e.msg : null;
    if (typeof code === 'string' && code !== '' && message !== null) {
      return { code, message };
    }
    if (e instanceof Error) {
      return { code: 'internal', message: e.message || String(e) };
    }
    if (message !== null) {
      return { code: 'internal', message };
    }
    try {
      return { code: 'internal', message: JSON.stringify(e) };
    } catch {
      return { code: 'internal', message: String(e) };
    }
  }
  if (typeof e === 'string') {
    return { code: 'internal', message: e };
  }
  return { code: 'internal', message: String(e) };
}
