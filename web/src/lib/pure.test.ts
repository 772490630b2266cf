import { describe, expect, it } from 'vitest';
import { stateLook, isFinal } from './states';
import { nextBackoff } from './event-stream';
import { alignSeries, lttb } from './downsample';
import { formatDuration } from './format';

describe('state mapping', () => {
  it('gives every state a word and an icon, not colour alone', () => {
    for (const s of ['pending', 'ready', 'dispatched', 'running', 'succeeded', 'failed', 'upstream_failed', 'skipped', 'cancelled', 'cached', 'queued']) {
      const l = stateLook(s);
      expect(l.label.length).toBeGreaterThan(0);
      expect(l.icon).not.toBe('?');
    }
    expect(stateLook('upstream_failed').label).toBe('upstream failed');
    expect(stateLook('brand_new').label).toBe('brand new');
    expect(isFinal('cached')).toBe(true);
    expect(isFinal('running')).toBe(false);
  });
});

describe('reconnect backoff', () => {
  it('starts at 3 s, grows 1.5x, stops at 60 s', () => {
    const seq: number[] = [];
    let b: number | null = null;
    for (let i = 0; i < 12; i++) seq.push((b = nextBackoff(b)));
    expect(seq.slice(0, 3)).toEqual([3000, 4500, 6750]);
    expect(Math.max(...seq)).toBe(60000);
  });
});

describe('metric downsampling', () => {
  it('keeps the ends and the peaks', () => {
    const pts = Array.from({ length: 10000 }, (_, i) => ({ x: i, y: i === 5000 ? 100 : Math.sin(i / 100) }));
    const out = lttb(pts, 200);
    expect(out).toHaveLength(200);
    expect(out[0]).toEqual(pts[0]);
    expect(out[199]).toEqual(pts[9999]);
    expect(out.some((p) => p.y === 100)).toBe(true);
    for (let i = 1; i < out.length; i++) expect(out[i]!.x).toBeGreaterThan(out[i - 1]!.x);
  });
  it('returns short series unchanged', () => {
    const pts = [{ x: 0, y: 1 }, { x: 1, y: 2 }];
    expect(lttb(pts, 100)).toEqual(pts);
  });
  it('aligns series with different steps on one x axis', () => {
    const [xs, a, b] = alignSeries([[{ x: 0, y: 1 }, { x: 2, y: 3 }], [{ x: 1, y: 5 }]]);
    expect(xs).toEqual([0, 1, 2]);
    expect(a).toEqual([1, null, 3]);
    expect(b).toEqual([null, 5, null]);
  });
});

describe('format', () => {
  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(2500)).toBe('2.5 s');
    expect(formatDuration(125000)).toBe('2 m 5 s');
  });
});
