import type { ApiError, AppState } from './model';
import type { LanguageSetting, SyncdeskClient } from './client/client';
import { toApiError } from './client/errors';
import type { I18n } from './i18n/i18n.svelte';

/** The app-wide state (paused, autostart, language, local API): loaded once, then follows `appStateChanged`. */
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
      const stops = [
        this.client.on('appStateChanged', (s) => this.apply(s)),
        // A change may have happened while the event stream was down.
        this.client.onReconnect(() => void this.#fetch()),
      ];
      this.#stop = () => stops.forEach((stop) => stop());
      this.#loading = this.#fetch();
    }
    return this.#loading;
  }

  #fetch(): Promise<void> {
    return this.client.getAppState().then(
      (s) => this.apply(s),
      (e) => {
        this.error = toApiError(e);
      },
    );
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

  async setApiServer(enabled: boolean, listen: string): Promise<void> {
    this.apply(await this.client.setApiServer(enabled, listen));
  }

  dispose(): void {
    this.#stop?.();
    this.#stop = null;
  }
}
