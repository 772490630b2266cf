import { describe, expect, it } from 'vitest';
import { axesOf, bestSoFar, position, sortTrials } from './trials';
import type { Trial } from '../api/get-studies';

const t = (number: number, value: number | null, params: Record<string, unknown>, state = 'complete'): Trial => ({
  number, value, params, state, error: null, task_run_id: String(number), task: `tune[${number}]`, created_at: '', finished_at: null,
});

const trials = [t(0, 0.8, { lr: 0.001, dim: 32, opt: 'sgd' }), t(1, 0.9, { lr: 0.1, dim: 64, opt: 'adam' }), t(2, 0.85, { lr: 0.01, dim: 128, opt: 'sgd' }), t(3, null, { lr: 0.05, dim: 32, opt: 'adam' }, 'pruned')];

describe('study trials', () => {
  it('computes the best so far', () => {
    expect(bestSoFar(trials, 'maximize').map((p) => p.y)).toEqual([0.8, 0.9, 0.9]);
    expect(bestSoFar(trials, 'minimize').map((p) => p.y)).toEqual([0.8, 0.8, 0.8]);
  });
  it('sorts by objective with missing values last', () => {
    expect(sortTrials(trials, { key: 'value', dir: -1 }).map((x) => x.number)).toEqual([1, 2, 0, 3]);
    expect(sortTrials(trials, { key: 'dim', dir: 1 }).map((x) => x.number)).toEqual([0, 3, 1, 2]);
  });
  it('builds axes: log for wide positive ranges, categories for strings, objective last', () => {
    const axes = axesOf(trials, 'val_accuracy');
    expect(axes.map((a) => `${a.key}:${a.kind}`)).toEqual(['lr:log', 'dim:num', 'opt:cat', 'val_accuracy:num']);
    const lr = axes[0]!;
    expect(position(lr, 0.001)).toBeCloseTo(0);
    expect(position(lr, 0.1)).toBeCloseTo(1);
    expect(position(lr, 0.01)).toBeCloseTo(0.5);
    expect(position(axes[2]!, 'adam')).toBe(1);
    expect(position(axes[3]!, null)).toBeNull();
  });
});
