import { describe, expect, it } from 'vitest';
import { advance, begin, percentOf } from '../src/lib/progress';
import { event } from './helpers';

describe('live progress', () => {
  it('measures the byte rate and ETA between successive events', () => {
    let p = begin(event({ name: 'syncBegin', phase: 'uploading', bytesTotal: 10_000, at: '2026-01-01T10:00:00.000Z' }));
    expect(p.rate).toBeNull();
    p = advance(p, event({ bytes: 2_000, bytesTotal: 10_000, at: '2026-01-01T10:00:01.000Z' }));
    expect(p.rate).toBe(2_000);
    expect(p.eta).toBe(4);
    // Smoothed: half the old rate, half the new one (4000 B/s over the last second).
    p = advance(p, event({ bytes: 6_000, bytesTotal: 10_000, at: '2026-01-01T10:00:02.000Z' }));
    expect(p.rate).toBe(3_000);
    expect(p.eta).toBeCloseTo(4_000 / 3_000);
  });

  it('gives no estimate once the phase is done', () => {
    let p = begin(event({ name: 'syncBegin', phase: 'uploading', bytesTotal: 1_000, at: '2026-01-01T10:00:00.000Z' }));
    p = advance(p, event({ bytes: 500, bytesTotal: 1_000, at: '2026-01-01T10:00:01.000Z' }));
    expect(p.eta).toBe(1);
    p = advance(p, event({ bytes: 1_000, bytesTotal: 1_000, at: '2026-01-01T10:00:02.000Z' }));
    expect(p.eta).toBeNull();
  });

  it('falls back to items when the phase moves no bytes', () => {
    let p = begin(event({ phase: 'scanning', total: 100, at: '2026-01-01T10:00:00.000Z' }));
    p = advance(p, event({ phase: 'scanning', current: 25, total: 100, at: '2026-01-01T10:00:00.500Z' }));
    expect(p.itemRate).toBe(50);
    expect(p.eta).toBe(1.5);
    expect(percentOf(p)).toBe(25);
  });

  it('starts measuring afresh in a new phase and for a new job', () => {
    let p = begin(event({ phase: 'scanning', total: 10, at: '2026-01-01T10:00:00.000Z' }));
    p = advance(p, event({ phase: 'scanning', current: 5, total: 10, at: '2026-01-01T10:00:01.000Z' }));
    expect(p.itemRate).toBe(5);
    p = advance(p, event({ phase: 'uploading', bytes: 10, bytesTotal: 100, at: '2026-01-01T10:00:02.000Z' }));
    expect(p.rate).toBeNull();
    expect(p.itemRate).toBeNull();
    expect(p.eta).toBeNull();
    const other = advance(p, event({ jobId: 8, phase: 'uploading', bytes: 50, bytesTotal: 100, at: '2026-01-01T10:00:03.000Z' }));
    expect(other.jobId).toBe(8);
    expect(other.rate).toBeNull();
  });

  it("prefers the engine's percent", () => {
    expect(percentOf(begin(event({ percent: 40, current: 1, total: 10 })))).toBe(40);
    expect(percentOf(begin(event({ bytes: 30, bytesTotal: 60 })))).toBe(50);
    expect(percentOf(begin(event({})))).toBe(0);
  });
});
