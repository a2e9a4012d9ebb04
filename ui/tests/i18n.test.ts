import { describe, expect, it } from 'vitest';
import { en } from '../src/lib/i18n/en';
import { zhCN } from '../src/lib/i18n/zh-CN';
import { I18n, localeOf } from '../src/lib/i18n/i18n.svelte';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('dictionaries', () => {
  it('Chinese has exactly the English keys, none empty, with the same placeholders', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en) as [keyof typeof en, string][]) {
      expect(text.trim(), key).not.toBe('');
      expect(zhCN[key].trim(), key).not.toBe('');
      expect(placeholders(zhCN[key]), key).toEqual(placeholders(text));
    }
  });

  it('Chinese is actually translated', () => {
    const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => en[k] === zhCN[k]);
    // Only things that read the same in both (e.g. "API") may be equal.
    expect(same).toEqual(['trigger.api']);
  });
});

describe('I18n', () => {
  it('maps language tags to locales', () => {
    expect(localeOf('zh-Hans-CN')).toBe('zh-CN');
    expect(localeOf('zh-TW')).toBe('zh-CN');
    expect(localeOf('en-GB')).toBe('en');
    expect(localeOf('de-DE')).toBeNull();
    expect(localeOf(null)).toBeNull();
  });

  it('follows the system language when the setting is null', () => {
    const i = new I18n('zh-CN');
    i.setPreference(null);
    expect(i.locale).toBe('en'); // jsdom reports en-US
    i.setPreference('zh-CN');
    expect(i.t('nav.settings')).toBe('设置');
  });

  it('fills in placeholders', () => {
    const i = new I18n('en');
    expect(i.t('history.pageOf', { page: 2, pages: 7, total: 135 })).toBe('Page 2 of 7 (135 jobs)');
    expect(new I18n('zh-CN').t('history.pageOf', { page: 2, pages: 7, total: 135 })).toBe('第 2 页，共 7 页（135 个任务）');
  });

  it('formats sizes', () => {
    const i = new I18n('en');
    expect(i.bytes(0)).toBe('0 B');
    expect(i.bytes(1023)).toBe('1,023 B');
    expect(i.bytes(1536)).toBe('1.5 KB');
    expect(i.bytes(5 * 1048576)).toBe('5 MB');
    expect(i.bytes(123.4 * 1073741824)).toBe('123 GB');
    expect(i.rate(2 * 1048576)).toBe('2 MB/s');
  });

  it('formats durations', () => {
    const i = new I18n('en');
    expect(i.duration(140)).toBe('140 ms');
    expect(i.duration(1500)).toBe('1.5 s');
    expect(i.duration(42_000)).toBe('42 s');
    expect(i.duration(65_000)).toBe('1 min 5 s');
    expect(i.duration(2 * 3600_000 + 5 * 60_000 + 9_000)).toBe('2 h 5 min');
    expect(new I18n('zh-CN').duration(65_000)).toBe('1 分钟 5 秒');
  });

  it('formats relative times against its clock', () => {
    const i = new I18n('en');
    i.now = Date.parse('2026-01-10T12:00:00.000Z');
    expect(i.relative(null)).toBe('Never');
    expect(i.relative('2026-01-10T11:59:50.000Z')).toBe('Just now');
    expect(i.relative('2026-01-10T11:55:00.000Z')).toBe('5 minutes ago');
    expect(i.relative('2026-01-10T09:00:00.000Z')).toBe('3 hours ago');
    expect(i.relative('2026-01-09T12:00:00.000Z')).toBe('yesterday');
    expect(new I18n('zh-CN').relative(null)).toBe('从未');
  });

  it('formats timestamps in the local time zone', () => {
    const i = new I18n('en');
    expect(i.dateTime(null)).toBe('—');
    expect(i.dateTime('not a date')).toBe('not a date');
    expect(i.dateTime('2026-01-10T12:00:00.000Z')).toMatch(/2026/);
  });
});
