import { describe, expect, it } from 'vitest';
import { collapseFanouts } from './fanout';
import { layeredLayout, layoutGraph, TASK_SIZE } from './layout';

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

describe('layered layout (big graphs)', () => {
  it('lays out a 1,000-step chain behind a 4,000 fan-out quickly, without recursion', () => {
    const t = [{ name: 'root', state: 'succeeded', needs: [] as string[] }];
    for (let i = 0; i < 4000; i++) t.push({ name: `s${i}`, state: 'succeeded', needs: ['root'] });
    t.push({ name: 'merge', state: 'running', needs: t.slice(1).map((x) => x.name) });
    let prev = 'merge';
    for (let i = 1; i < 1000; i++) {
      t.push({ name: `c${i}`, state: 'pending', needs: [prev] });
      prev = `c${i}`;
    }
    const g = collapseFanouts(t);
    const t0 = performance.now();
    const pos = new Map(layoutGraph(g).map((p) => [p.id, p]));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(pos.get('root')!.x).toBeLessThan(pos.get('merge')!.x);
    expect(pos.get('c1')!.x).toBeLessThan(pos.get('c999')!.x);
  });
  it('stacks the nodes of a rank without overlap', () => {
    const g = collapseFanouts([
      { name: 'a', state: 'succeeded', needs: [] },
      { name: 'b', state: 'succeeded', needs: ['a'] },
      { name: 'c', state: 'succeeded', needs: ['a'] },
    ]);
    const pos = new Map(layeredLayout(g).map((p) => [p.id, p]));
    expect(pos.get('b')!.x).toBe(pos.get('c')!.x);
    expect(Math.abs(pos.get('b')!.y - pos.get('c')!.y)).toBeGreaterThanOrEqual(TASK_SIZE.height);
  });
});
