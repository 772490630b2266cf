import { describe, expect, it } from 'vitest';
import { collapseFanouts } from './fanout';
import { layoutGraph, TASK_SIZE } from './layout';

describe('layout', () => {
  it('places parents left of children without overlaps', () => {
    const g = collapseFanouts([
      { name: 'a', state: 'succeeded', needs: [] },
      { name: 'b', state: 'running', needs: ['a'] },
      { name: 'c', state: 'pending', needs: ['a'] },
      { name: 'd', state: 'pending', needs: ['b', 'c'] },
    ]);
    const pos = new Map(layoutGraph(g).map((p) => [p.id, p]));
    expect(pos.get('a')!.x).toBeLessThan(pos.get('b')!.x);
    expect(pos.get('b')!.x).toBeLessThan(pos.get('d')!.x);
    expect(Math.abs(pos.get('b')!.y - pos.get('c')!.y)).toBeGreaterThanOrEqual(TASK_SIZE.height);
  });
});
