import type { ApiError, JobStatus, JobType, Phase, ProbeStepName, PushMode, SyncMode, TriggerType } from './model';
import type { MessageKey } from './i18n/en';
import type { I18n } from './i18n/i18n.svelte';
import { KNOWN_ERROR_CODES } from './client/errors';

export const JOB_STATUSES: JobStatus[] = ['pending', 'running', 'succeeded', 'failed', 'cancelled', 'needs_confirmation'];
export const JOB_TYPES: JobType[] = ['sync', 'force_push', 'force_pull', 'gateway'];
export const TRIGGERS: TriggerType[] = ['manual', 'tray', 'schedule', 'watch', 'boot', 'api', 'gateway'];
export const SYNC_MODES: SyncMode[] = ['automatic', 'manual', 'completely_manual'];

export const statusLabel = (i18n: I18n, s: JobStatus) => i18n.t(`status.${s}`);
export const jobTypeLabel = (i18n: I18n, s: JobType) => i18n.t(`jobType.${s}`);
export const triggerLabel = (i18n: I18n, s: TriggerType) => i18n.t(`trigger.${s}`);
export const phaseLabel = (i18n: I18n, s: Phase) => i18n.t(`phase.${s}`);
export const syncModeLabel = (i18n: I18n, s: SyncMode) => i18n.t(`syncMode.${s}`);
export const probeStepLabel = (i18n: I18n, s: ProbeStepName) => i18n.t(`probe.${s}`);

/** The `pushMode` that repeats a job of this type. */
export function pushModeOf(t: JobType): PushMode {
  return t === 'force_push' ? 'force-push' : t === 'force_pull' ? 'force-pull' : '';
}

/** Codes whose own title says everything (the engine's sentence would only repeat it). */
const SELF_EXPLAINING = new Set(['sync_in_progress', 'boot_sync_in_progress', 'app_required', 'no_folders']);

/** An error in plain words: what happened, the engine's detail, and what to do. */
export function describeError(i18n: I18n, e: ApiError): { title: string; detail: string | null; hint: string } {
  const known = (KNOWN_ERROR_CODES as readonly string[]).includes(e.code);
  const code = known ? e.code : 'unknown';
  return {
    title: i18n.t(`error.${code}.title` as MessageKey),
    detail: SELF_EXPLAINING.has(code) || !e.message ? null : e.message,
    hint: i18n.t(`error.${code}.hint` as MessageKey),
  };
}
