import type { JobStatus, Phase, SyncEvent } from './model';

/** What the overview shows for a running job, built from its events only. */
export interface LiveProgress {
  jobId: number;
  folder: string;
  phase: Phase;
  current: number;
  total: number;
  bytes: number;
  bytesTotal: number;
  info: string;
  percent: number;
  /** Bytes per second, from successive `syncProgress` events (null until two samples). */
  rate: number | null;
  /** Items per second, likewise. */
  itemRate: number | null;
  /** Seconds left at the current rate (null when unknown). */
  eta: number | null;
  retrying: string | null;
  /** Time of the last sample (ms since the epoch, from the event's `at`). */
  at: number;
  status: JobStatus | null;
}

/** Weight of the newest sample in the moving average of the rate. */
const SMOOTHING = 0.5;

function smooth(prev: number | null, sample: number): number {
  return prev === null ? sample : prev * (1 - SMOOTHING) + sample * SMOOTHING;
}

function timeOf(e: SyncEvent, fallback: number): number {
  const t = Date.parse(e.at);
  return Number.isNaN(t) ? fallback : t;
}

/** A new live entry for a job that has just begun (or was just started by us). */
export function begin(e: SyncEvent): LiveProgress {
  return {
    jobId: e.jobId,
    folder: e.folder,
    phase: e.phase,
    current: e.current,
    total: e.total,
    bytes: e.bytes,
    bytesTotal: e.bytesTotal,
    info: e.info,
    percent: e.percent,
    rate: null,
    itemRate: null,
    eta: null,
    retrying: null,
    at: timeOf(e, Date.now()),
    status: null,
  };
}

/**
 * Folds a `syncProgress` event into the previous state of its job. Rates are measured
 * between successive events of the same phase (the counters restart with each phase).
 */
export function advance(prev: LiveProgress | undefined, e: SyncEvent): LiveProgress {
  if (!prev || prev.jobId !== e.jobId) return begin(e);
  const at = timeOf(e, prev.at);
  const next: LiveProgress = {
    ...prev,
    phase: e.phase,
    current: e.current,
    total: e.total,
    bytes: e.bytes,
    bytesTotal: e.bytesTotal,
    info: e.info,
    percent: e.percent,
    retrying: null,
    at,
  };
  if (prev.phase !== e.phase) {
    next.rate = null;
    next.itemRate = null;
    next.eta = null;
    return next;
  }
  const dt = (at - prev.at) / 1000;
  if (dt > 0) {
    const db = e.bytes - prev.bytes;
    const di = e.current - prev.current;
    if (db >= 0) next.rate = smooth(prev.rate, db / dt);
    if (di >= 0) next.itemRate = smooth(prev.itemRate, di / dt);
  }
  next.eta = estimate(next);
  return next;
}

/**
 * Seconds left: by bytes when the phase moves bytes, else by items. None once the phase's
 * work is done ("about 0 s left" tells nobody anything).
 */
export function estimate(p: LiveProgress): number | null {
  if (p.bytesTotal > 0 && p.rate && p.rate > 0) {
    return p.bytes < p.bytesTotal ? (p.bytesTotal - p.bytes) / p.rate : null;
  }
  if (p.total > 0 && p.itemRate && p.itemRate > 0) {
    return p.current < p.total ? (p.total - p.current) / p.itemRate : null;
  }
  return null;
}

/** 0–100 for a progress bar, from the engine's percent or the counts. */
export function percentOf(p: LiveProgress): number {
  if (p.percent > 0) return Math.min(100, p.percent);
  if (p.bytesTotal > 0) return Math.min(100, (100 * p.bytes) / p.bytesTotal);
  if (p.total > 0) return Math.min(100, (100 * p.current) / p.total);
  return 0;
}
