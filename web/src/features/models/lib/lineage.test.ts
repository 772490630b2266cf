import { describe, expect, it } from 'vitest';
import { buildLineage, placeLineage } from './lineage';
import type { Lineage } from '../api/get-lineage';

const lineage: Lineage = {
  model: 'mnist',
  version: 3,
  run: { id: '12', state: 'succeeded', pipeline: 'mnist-ct', pipeline_version: 'abc', logical_date: null, params: {} },
  task: { id: '99', name: 'register', attempt: 1 },
  inputs: [],
  artifacts: [],
  data_partitions: ['2026-01-01', { name: '2026-01-02' }],
  parent: { version: 2, run_id: '10', created_at: '2026-01-01T00:00:00Z' },
};

describe('lineage', () => {
  it('chains partitions -> run -> version -> deployment, with the trigger and the parent', () => {
    const deps = [
      { alias: 'production', version: 3, run_id: '12', task: 'deploy', created_at: 't1', superseded_at: null, current: true },
      { alias: 'staging', version: 2, run_id: '10', task: 'deploy', created_at: 't0', superseded_at: 't1', current: false },
    ];
    const g = buildLineage(lineage, deps, 'schedule');
    expect(g.nodes.map((n) => n.kind)).toEqual(['trigger', 'partition', 'partition', 'run', 'version', 'parent', 'deployment']);
    expect(g.nodes.find((n) => n.kind === 'partition' && n.label === '2026-01-02')).toBeTruthy();
    const edges = g.edges.map((e) => `${e.source}->${e.target}`);
    expect(edges).toContain('trigger->run:12');
    expect(edges).toContain('partition:0->run:12');
    expect(edges).toContain('run:12->version:3');
    expect(edges).toContain('parent:2->version:3');
    expect(edges.filter((e) => e.includes('deployment'))).toHaveLength(1);
    expect(g.nodes.find((n) => n.kind === 'run')!.href).toBe('/runs/12?task=register');
  });

  it('works without a run (a version registered by hand)', () => {
    const g = buildLineage({ ...lineage, run: null, task: null, data_partitions: ['p'], parent: null }, []);
    expect(g.edges.map((e) => `${e.source}->${e.target}`)).toEqual(['partition:0->version:3']);
  });

  it('lays columns left to right', () => {
    const g = buildLineage(lineage, [], 'api');
    const pos = placeLineage(g.nodes);
    expect(pos.get('partition:0')!.x).toBeLessThan(pos.get('run:12')!.x);
    expect(pos.get('run:12')!.x).toBeLessThan(pos.get('version:3')!.x);
  });
});
