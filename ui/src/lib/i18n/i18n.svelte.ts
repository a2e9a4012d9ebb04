import { en, type MessageKey } from './en';
import { zhCN } from './zh-CN';

export type Locale = 'en' | 'zh-CN';
export const LOCALES: Locale[] = ['en', 'zh-CN'];

const DICTIONARIES: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };

export type Params = Record<string, string | number>;

/** The locale of a language tag: any Chinese → zh-CN, everything else → en. */
export function localeOf(tag: string | null | undefined): Locale | null {
  if (!tag) return null;
  const t = tag.toLowerCase();
  if (t.startsWith('zh')) return 'zh-CN';
  if (t.startsWith('en')) return 'en';
  return null;
}

/** The OS / browser language, as far as the webview tells it. */
export function systemLocale(): Locale {
  const nav = typeof navigator === 'undefined' ? undefined : navigator;
  const tags = nav?.languages?.length ? nav.languages : nav?.language ? [nav.language] : [];
  for (const tag of tags) {
    const l = localeOf(tag);
    if (l) return l;
  }
  return 'en';
}

/** Translations and locale-aware formatting; reactive (a `$state` locale). */
export class I18n {
  locale = $state<Locale>('en');
  /** "Now" for relative times; the app shell moves it forward every so often. */
  now = $state<number>(Date.now());

  constructor(locale?: Locale) {
    this.locale = locale ?? systemLocale();
  }

  /** Applies the app's language setting (`null` = follow the OS). */
  setPreference(language: string | null): void {
    this.locale = localeOf(language) ?? systemLocale();
    if (typeof document !== 'undefined') document.documentElement.lang = this.locale;
  }

  t = (key: MessageKey, params?: Params): string => {
    const text = DICTIONARIES[this.locale][key] ?? en[key] ?? key;
    if (!params) return text;
    return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
  };

  number = (n: number, digits = 0): string =>
    new Intl.NumberFormat(this.locale, { maximumFractionDigits: digits }).format(n);

  /** 1536 → "1.5 KB" (binary multiples, as file managers show them). */
  bytes = (n: number): string => {
    if (!Number.isFinite(n) || n < 0) return '—';
    const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
    let v = n;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    const digits = i === 0 ? 0 : v < 10 ? 1 : 0;
    return `${this.number(v, digits)} ${units[i]}`;
  };

  rate = (bytesPerSec: number): string => this.t('unit.perSecond', { value: this.bytes(bytesPerSec) });

  /** 140 → "140 ms", 65_000 → "1 min 5 s", 7_200_000 → "2 h". */
  duration = (ms: number): string => {
    if (!Number.isFinite(ms) || ms < 0) return '—';
    if (ms < 1000) return this.t('unit.ms', { n: Math.round(ms) });
    const s = ms / 1000;
    if (s < 60) return this.t('unit.s', { n: this.number(s, s < 10 ? 1 : 0) });
    const total = Math.round(s);
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const sec = total % 60;
    const parts: string[] = [];
    if (h) parts.push(this.t('unit.h', { n: h }));
    if (m) parts.push(this.t('unit.min', { n: m }));
    if (sec && !h) parts.push(this.t('unit.s', { n: sec }));
    return parts.join(' ');
  };

  /** An RFC 3339 timestamp as local date and time. */
  dateTime = (iso: string | null | undefined): string => {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return new Intl.DateTimeFormat(this.locale, { dateStyle: 'medium', timeStyle: 'medium' }).format(d);
  };

  /** An RFC 3339 timestamp relative to now: "5 minutes ago". */
  relative = (iso: string | null | undefined): string => {
    if (!iso) return this.t('time.never');
    const d = new Date(iso).getTime();
    if (Number.isNaN(d)) return iso;
    const diff = (d - this.now) / 1000;
    const abs = Math.abs(diff);
    const rtf = new Intl.RelativeTimeFormat(this.locale, { numeric: 'auto' });
    if (abs < 45) return this.t('time.justNow');
    if (abs < 45 * 60) return rtf.format(Math.round(diff / 60), 'minute');
    if (abs < 22 * 3600) return rtf.format(Math.round(diff / 3600), 'hour');
    if (abs < 26 * 86400) return rtf.format(Math.round(diff / 86400), 'day');
    if (abs < 320 * 86400) return rtf.format(Math.round(diff / (30 * 86400)), 'month');
    return rtf.format(Math.round(diff / (365 * 86400)), 'year');
  };
}
