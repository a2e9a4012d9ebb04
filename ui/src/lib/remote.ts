// The remote form's values and rules. The engine checks every remote again; the checks here
// only put a friendlier message next to the field. URLs are always made by the engine
// (`remoteUrl`), never here.
import type { I18n } from './i18n/i18n.svelte';
import type { MessageKey } from './i18n/en';
import type { RemoteKind, RemoteSpec } from './model';

/** What the user picks: the app's default local repository, or a remote of one kind. */
export type RemoteChoice = 'default' | RemoteKind;

export const REMOTE_CHOICES: RemoteChoice[] = ['default', 'local', 's3', 'webdav', 'gateway', 'aries'];

/** Requests in flight at once when the field is empty (the engine's defaults). */
export const DEFAULT_CONCURRENCY: Record<RemoteKind, number> = { local: 8, s3: 16, webdav: 4, gateway: 8, aries: 8 };
/** A gateway's client-side rate limits when the field is empty (the seed's account limits). */
export const DEFAULT_GATEWAY_LIMITS = '2000/10m,5000/1h,25000/1d';
/** Seconds a request may go without progress when the field is empty. */
export const DEFAULT_TIMEOUT_SECS = 60;
const MAX_TIMEOUT_SECS = 3600;
const MAX_CONCURRENCY = 256;

/** The form's values. Numbers are `null` when their field is empty. */
export interface RemoteDraft {
  kind: RemoteChoice;
  /** Local: the repository directory. */
  path: string;
  endpoint: string;
  region: string;
  bucket: string;
  prefix: string;
  pathStyle: boolean;
  accessKeyId: string;
  /** WebDAV, gateway, Aries: the server's base URL. */
  url: string;
  user: string;
  /** Gateway: the gateway passes the files on to its own remote (the engine's default). */
  pushToCloud: boolean;
  /** Gateway: rate limits, `MAX/WINDOW,…`; empty means the default ones. */
  limits: string;
  /**
   * The S3 secret access key, the WebDAV password or the gateway / Aries token; emptied as
   * soon as it was sent.
   */
  secret: string;
  timeoutSecs: number | null;
  concurrency: number | null;
  /** KiB/s in the form; bytes/s in the spec. */
  uploadKiB: number | null;
  downloadKiB: number | null;
  caCert: string;
  acceptInvalidCerts: boolean;
}

export type RemoteField = Exclude<keyof RemoteDraft, 'kind' | 'pathStyle' | 'pushToCloud' | 'acceptInvalidCerts'>;
export type RemoteErrors = Partial<Record<RemoteField, string>>;

/** The fields in the order the form shows them (for focusing the first wrong one). */
export const REMOTE_FIELDS: RemoteField[] = [
  'path',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'accessKeyId',
  'url',
  'user',
  'limits',
  'secret',
  'timeoutSecs',
  'concurrency',
  'uploadKiB',
  'downloadKiB',
  'caCert',
];

/** Fields inside the "Advanced" disclosure. */
export const ADVANCED_FIELDS: RemoteField[] = ['timeoutSecs', 'concurrency', 'uploadKiB', 'downloadKiB', 'caCert'];

export function emptyDraft(kind: RemoteChoice = 'default'): RemoteDraft {
  return {
    kind,
    path: '',
    endpoint: '',
    region: '',
    bucket: '',
    prefix: '',
    pathStyle: true,
    accessKeyId: '',
    url: '',
    user: '',
    pushToCloud: true,
    limits: '',
    secret: '',
    timeoutSecs: null,
    concurrency: null,
    uploadKiB: null,
    downloadKiB: null,
    caCert: '',
    acceptInvalidCerts: false,
  };
}

const kib = (bytes: number | undefined | null) => (bytes == null ? null : bytes / 1024);

/** The form filled from a saved remote (its secret stays in the keyring: the field is empty). */
export function draftFromSpec(spec: RemoteSpec): RemoteDraft {
  return {
    kind: spec.kind,
    path: spec.path ?? '',
    endpoint: spec.endpoint ?? '',
    region: spec.region ?? '',
    bucket: spec.bucket ?? '',
    prefix: spec.prefix ?? '',
    pathStyle: spec.pathStyle,
    accessKeyId: spec.accessKeyId ?? '',
    url: spec.url ?? '',
    user: spec.user ?? '',
    pushToCloud: spec.pushToCloud ?? true,
    limits: spec.limits ?? '',
    secret: '',
    timeoutSecs: spec.timeoutSecs ?? null,
    concurrency: spec.concurrency ?? null,
    uploadKiB: kib(spec.uploadLimit),
    downloadKiB: kib(spec.downloadLimit),
    caCert: spec.caCert ?? '',
    acceptInvalidCerts: spec.acceptInvalidCerts,
  };
}

/**
 * A push remote: the folder is pushed to it by requests. It holds no repository, so it has no
 * cloud name, encryption or snapshots.
 */
export const isPush = (kind: RemoteChoice): kind is 'gateway' | 'aries' => kind === 'gateway' || kind === 'aries';

/**
 * Whether a kind of remote has a secret: the S3 secret access key, the WebDAV password, the
 * gateway or Aries token.
 */
export const hasSecret = (kind: RemoteChoice): kind is 's3' | 'webdav' | 'gateway' | 'aries' =>
  kind === 's3' || kind === 'webdav' || isPush(kind);

/** What a kind's secret is called, and the message when it is missing. */
export const SECRET_LABEL: Record<'s3' | 'webdav' | 'gateway' | 'aries', { label: MessageKey; required: MessageKey }> = {
  s3: { label: 'remote.secretKey', required: 'remote.secretKeyRequired' },
  webdav: { label: 'remote.password', required: 'remote.passwordRequired' },
  gateway: { label: 'remote.gatewayToken', required: 'remote.tokenRequired' },
  aries: { label: 'remote.ariesToken', required: 'remote.tokenRequired' },
};

/** Whether a kind of remote talks to a server (timeouts, certificates). */
export const isNetwork = hasSecret;

/** Whether a kind of remote takes bandwidth limits (push remotes do not). */
export const hasBandwidthLimits = (kind: RemoteChoice): kind is 's3' | 'webdav' => kind === 's3' || kind === 'webdav';

/**
 * The push kind a saved remote URL names (`gateway+https://…`, `aries+https://…`), or `null`.
 * Only tells kinds apart, before (or without) the engine reading the URL.
 */
export function pushKindOf(remote: string): 'gateway' | 'aries' | null {
  const r = remote.trim().toLowerCase();
  return r.startsWith('gateway+') ? 'gateway' : r.startsWith('aries+') ? 'aries' : null;
}

/** The engine's longest rate-limit window, in seconds (one day). */
const MAX_WINDOW_SECS = 86_400;
const WINDOW_UNIT_SECS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_U32 = 4_294_967_295;

/**
 * Rate limits as the engine writes them (`2000/10m,5000/1h`), or `null` when the text is not
 * `MAX/WINDOW` items separated by commas (MAX at least 1, WINDOW a whole number and a unit
 * s, m, h or d, at most a day). Spaces around the parts are dropped.
 */
export function normalizeLimits(text: string): string | null {
  const items = text.split(',').map((item) => {
    const m = /^(\d+)\s*\/\s*(\d+)([smhd])$/.exec(item.trim());
    if (!m) return null;
    const max = Number(m[1]);
    const secs = Number(m[2]) * WINDOW_UNIT_SECS[m[3]];
    if (max < 1 || max > MAX_U32 || secs < 1 || secs > MAX_WINDOW_SECS) return null;
    return `${max}/${Number(m[2])}${m[3]}`;
  });
  return items.every((i) => i !== null) ? items.join(',') : null;
}

/** An absolute path on any of the desktop systems. */
export const isAbsolutePath = (p: string) => /^(\/|[A-Za-z]:[\\/]|\\\\)/.test(p);

/**
 * `http(s)://host[:port][/path]` the way the engine writes it (no trailing `/`), or `null`
 * when it is no such URL. Throws a `UrlProblem` for a URL the engine would refuse anyway.
 */
export function normalizeHttpUrl(s: string): string | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (!u.hostname) return null;
  if (u.username || u.password) throw new UrlProblem('remote.urlHasUser');
  if (u.search || u.hash) throw new UrlProblem('remote.urlHasQuery');
  return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** A URL problem, named by its message key. */
export class UrlProblem extends Error {
  constructor(readonly key: 'remote.urlHasUser' | 'remote.urlHasQuery') {
    super(key);
  }
}

const trimmed = (s: string) => s.trim();
const optional = (s: string) => {
  const v = s.trim();
  return v === '' ? undefined : v;
};
/** A prefix without leading or trailing slashes. */
const cleanPrefix = (s: string) => s.trim().replace(/^\/+|\/+$/g, '');

export interface ValidateOptions {
  /** An empty secret keeps the one stored in the keyring (changing a saved remote). */
  keepSecret?: boolean;
}

/** The problems of a draft, by field, in the UI's language; `{}` when it can be sent. */
export function validateDraft(i18n: I18n, d: RemoteDraft, options: ValidateOptions = {}): RemoteErrors {
  const t = i18n.t;
  const e: RemoteErrors = {};
  const url = (field: 'endpoint' | 'url', required: boolean) => {
    const v = d[field].trim();
    if (!v) {
      if (required) e[field] = t('remote.urlRequired');
      return;
    }
    try {
      if (normalizeHttpUrl(v) === null) e[field] = t('remote.urlInvalid');
    } catch (p) {
      e[field] = t((p as UrlProblem).key);
    }
  };
  const whole = (field: 'timeoutSecs' | 'concurrency', max: number) => {
    const v = d[field];
    if (v != null && (!Number.isInteger(v) || v < 1 || v > max)) e[field] = t('remote.rangeInvalid', { max });
  };
  const limit = (field: 'uploadKiB' | 'downloadKiB') => {
    const v = d[field];
    if (v != null && (!Number.isFinite(v) || Math.round(v * 1024) < 1)) e[field] = t('remote.limitInvalid');
  };

  switch (d.kind) {
    case 'default':
      return e;
    case 'local': {
      const p = d.path.trim();
      if (!p) e.path = t('remote.pathRequired');
      else if (!isAbsolutePath(p)) e.path = t('remote.pathAbsolute');
      break;
    }
    case 's3': {
      url('endpoint', false);
      const region = d.region.trim();
      if (region && !/^[A-Za-z0-9-]+$/.test(region)) e.region = t('remote.regionInvalid');
      const bucket = d.bucket.trim();
      if (!bucket) e.bucket = t('remote.bucketRequired');
      else if (bucket.length > 255 || !/^[A-Za-z0-9._-]+$/.test(bucket)) e.bucket = t('remote.bucketInvalid');
      else if (!d.pathStyle && bucket.includes('.')) e.bucket = t('remote.bucketDotted');
      const prefix = cleanPrefix(d.prefix);
      if (prefix && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
        e.prefix = t('remote.prefixInvalid');
      }
      const key = d.accessKeyId.trim();
      if (/\s/.test(key)) e.accessKeyId = t('remote.accessKeyInvalid');
      if (key && !d.secret && !options.keepSecret) e.secret = t('remote.secretKeyRequired');
      if (!key && d.secret) e.accessKeyId = t('remote.accessKeyRequired');
      break;
    }
    case 'webdav': {
      url('url', true);
      const user = d.user.trim();
      if (user.includes(':')) e.user = t('remote.userInvalid');
      if (user && !d.secret && !options.keepSecret) e.secret = t('remote.passwordRequired');
      if (!user && d.secret) e.user = t('remote.userRequired');
      break;
    }
    case 'gateway':
    case 'aries': {
      url('url', true);
      if (d.kind === 'gateway' && d.limits.trim() && normalizeLimits(d.limits) === null) {
        e.limits = t('remote.limitsInvalid');
      }
      // The token is the only way in: a push remote always has one.
      if (!d.secret && !options.keepSecret) e.secret = t('remote.tokenRequired');
      break;
    }
  }

  whole('concurrency', MAX_CONCURRENCY);
  if (isNetwork(d.kind)) {
    whole('timeoutSecs', MAX_TIMEOUT_SECS);
    if (hasBandwidthLimits(d.kind)) {
      limit('uploadKiB');
      limit('downloadKiB');
    }
    const ca = d.caCert.trim();
    if (ca && !isAbsolutePath(ca)) e.caCert = t('remote.caCertAbsolute');
  }
  return e;
}

/** The id of the first field with a problem, for focusing it. */
export function firstInvalid(idPrefix: string, errors: RemoteErrors): string | null {
  const f = REMOTE_FIELDS.find((k) => errors[k]);
  return f ? `${idPrefix}-${f}` : null;
}

/**
 * The spec of a valid draft; `null` for the default local repository. Only the fields of its
 * kind are set (local remotes take no network options, push remotes no bandwidth limits).
 */
export function specFromDraft(d: RemoteDraft): RemoteSpec | null {
  if (d.kind === 'default') return null;
  const spec: RemoteSpec = { kind: d.kind, pathStyle: true, acceptInvalidCerts: false };
  if (d.concurrency != null) spec.concurrency = d.concurrency;
  if (d.kind === 'local') {
    spec.path = trimmed(d.path);
    return spec;
  }
  if (d.kind === 's3') {
    spec.endpoint = optional(d.endpoint);
    if (spec.endpoint) spec.endpoint = normalizeHttpUrl(spec.endpoint) ?? spec.endpoint;
    spec.region = optional(d.region);
    spec.bucket = trimmed(d.bucket);
    spec.prefix = optional(cleanPrefix(d.prefix));
    spec.pathStyle = d.pathStyle;
    spec.accessKeyId = optional(d.accessKeyId);
  } else {
    const url = trimmed(d.url);
    spec.url = normalizeHttpUrl(url) ?? url;
    if (d.kind === 'webdav') spec.user = optional(d.user);
  }
  if (d.kind === 'gateway') {
    // Absent means on: the engine writes only `push_to_cloud=false` into the URL.
    if (!d.pushToCloud) spec.pushToCloud = false;
    const limits = d.limits.trim();
    if (limits) spec.limits = normalizeLimits(limits) ?? limits;
  }
  if (d.timeoutSecs != null) spec.timeoutSecs = d.timeoutSecs;
  if (hasBandwidthLimits(d.kind)) {
    if (d.uploadKiB != null) spec.uploadLimit = Math.round(d.uploadKiB * 1024);
    if (d.downloadKiB != null) spec.downloadLimit = Math.round(d.downloadKiB * 1024);
  }
  spec.caCert = optional(d.caCert);
  spec.acceptInvalidCerts = d.acceptInvalidCerts;
  // Absent, not undefined: the spec goes over IPC as JSON.
  for (const k of Object.keys(spec) as (keyof RemoteSpec)[]) if (spec[k] === undefined) delete spec[k];
  return spec;
}

/** The secret to send with a draft, or `null` (none given, or a remote without one). */
export function secretOf(d: RemoteDraft): string | null {
  return hasSecret(d.kind) && d.secret !== '' ? d.secret : null;
}

/** A saved remote for people: its provider and where it points. */
export function describeRemote(i18n: I18n, spec: RemoteSpec): { provider: string; where: string } {
  const t = i18n.t;
  switch (spec.kind) {
    case 'local':
      return { provider: t('remote.kind.local'), where: spec.path ?? '' };
    case 's3': {
      const bucket = spec.prefix ? `${spec.bucket ?? ''}/${spec.prefix}` : (spec.bucket ?? '');
      return {
        provider: t('remote.kind.s3'),
        where: spec.endpoint
          ? t('remote.whereS3', { bucket, endpoint: spec.endpoint })
          : t('remote.whereAws', { bucket, region: spec.region ?? 'us-east-1' }),
      };
    }
    case 'webdav':
      return {
        provider: t('remote.kind.webdav'),
        where: spec.user ? t('remote.whereWebdavUser', { url: spec.url ?? '', user: spec.user }) : (spec.url ?? ''),
      };
    case 'gateway':
      return {
        provider: t('remote.kind.gateway'),
        where: spec.pushToCloud === false ? t('remote.whereGatewayLocal', { url: spec.url ?? '' }) : (spec.url ?? ''),
      };
    case 'aries':
      return { provider: t('remote.kind.aries'), where: spec.url ?? '' };
  }
}

export type PassphraseErrors = { passphrase?: string; confirm?: string };

/** A passphrase typed twice: not empty, and the same both times. */
export function validatePassphrase(i18n: I18n, passphrase: string, confirm: string): PassphraseErrors {
  if (passphrase === '') return { passphrase: i18n.t('passphrase.required') };
  if (confirm !== passphrase) return { confirm: i18n.t('passphrase.mismatch') };
  return {};
}
