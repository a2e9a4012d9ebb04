import type { ApiError, AppState } from './model';
import type { LanguageSetting, SyncdeskClient } from './client/client';
import { toApiError } from './client/errors';
import type { I18n } from './i18n/i18n.svelte';

/** The app-wide state (paused, autostart, language): loaded once, then follows `appStateChanged`. */
export class AppStateStore {
  state = $state<AppState | null>(null);
  error = $state<ApiError | null>(null);
  #loading: Promise<void> | null = null;
  #stop: (() => void) | null = null;

  constructor(
    private client: SyncdeskClient,
    private i18n: I18n,
  ) {}

  load(): Promise<void> {
    if (!this.#loading) {
      this.#stop = this.client.on('appStateChanged', (s) => this.apply(s));
      this.#loading = this.client.getAppState().then(
        (s) => this.apply(s),
        (e) => {
          this.error = toApiError(e);
        },
      );
    }
    return this.#loading;
  }

  apply(s: AppState): void {
    this.state = s;
    this.error = null;
    this.i18n.setPreference(s.language);
  }

  async setPaused(paused: boolean): Promise<void> {
    this.apply(await this.client.setPaused(paused));
  }

  async setAutostart(enabled: boolean): Promise<void> {
    this.apply(await this.client.setAutostart(enabled));
  }

  async setLanguage(language: LanguageSetting): Promise<void> {
    this.apply(await this.client.setLanguage(language));
  }

  dispose(): void {
    this.#stop?.();
    this.#stop = null;
  }
}
