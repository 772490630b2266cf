import { describe, expect, it } from 'vitest';
import { accuracySeries, describeCrossed, recentChecks } from './monitor';
import type { MonitorView } from '../api/get-monitor';

const bucket = (at: string, accuracy: number | null) => ({ at, predictions: 10, labeled: accuracy === null ? 0 : 10, correct: 0, accuracy, mean: 0.1, ink: 0.1 });

const view: MonitorView = {
  model: 'mnist',
  aliases: { production: 2 },
  bucket: '1h',
  versions: [
    { version: 2, predictions: 10, labeled: 0, accuracy: null, series: [bucket('2030-01-01T02:00:00Z', null)] },
    { version: 1, predictions: 20, labeled: 20, accuracy: 0.5, series: [bucket('2030-01-01T00:00:00Z', 0.9), bucket('2030-01-01T01:00:00Z', 0.1)] },
  ],
  monitors: [
    {
      pipeline: 'mnist-ct',
      alias: 'production',
      last_triggered_at: '2030-01-01T01:30:00Z',
      last_run_id: '7',
      checks: [
        { at: '2030-01-01T01:00:00Z', version: 1, labels: 20, accuracy: 0.9, drift_metric: null, drift_feature: null, drift: null, crossed: [], outcome: 'ok', run_id: null },
        {
          at: '2030-01-01T01:30:00Z',
          version: 1,
          labels: 20,
          accuracy: 0.41,
          drift_metric: 'psi',
          drift_feature: 'mean',
          drift: 0.91,
          crossed: [
            { metric: 'accuracy', value: 0.41, threshold: 0.9 },
            { metric: 'psi', feature: 'mean', value: 0.91, threshold: 0.25 },
          ],
          outcome: 'triggered',
          run_id: '7',
        },
      ],
    },
  ],
};

describe('monitor view', () => {
  it('draws one accuracy line per version with labels, at the bucket times', () => {
    const s = accuracySeries(view);
    expect(s.map((x) => x.label)).toEqual(['v1']);
    expect(s[0]!.points).toEqual([
      { x: Date.parse('2030-01-01T00:00:00Z') / 1000, y: 0.9 },
      { x: Date.parse('2030-01-01T01:00:00Z') / 1000, y: 0.1 },
    ]);
  });
  it('lists the newest checks first and says what crossed', () => {
    const c = recentChecks(view, 1);
    expect(c).toHaveLength(1);
    expect(c[0]!.outcome).toBe('triggered');
    expect(c[0]!.pipeline).toBe('mnist-ct');
    expect(describeCrossed(c[0]!)).toBe('accuracy 0.41 < 0.90; psi(mean) 0.91 > 0.25');
  });
});
