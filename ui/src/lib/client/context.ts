import { getContext, setContext } from 'svelte';
import type { I18n } from '../i18n/i18n.svelte';
import type { AppStateStore } from '../app-state.svelte';
import type { SyncdeskClient } from './client';

/** What every view gets from its parent: the client, the translations, the app state. */
export interface AppContext {
  client: SyncdeskClient;
  i18n: I18n;
  app: AppStateStore;
  /** Forgets the API token (the web UI only; the desktop app has no sign-in). */
  signOut?: () => void;
}

export const APP_CONTEXT = Symbol('syncdesk');

export function setAppContext(ctx: AppContext): AppContext {
  return setContext(APP_CONTEXT, ctx);
}

export function getAppContext(): AppContext {
  const ctx = getContext<AppContext | undefined>(APP_CONTEXT);
  if (!ctx) throw new Error('Syncdesk views need an AppContext (see lib/client/context.ts)');
  return ctx;
}
