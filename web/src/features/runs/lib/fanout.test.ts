import { describe, expect, it } from 'vitest';
import { attachTrials, collapseFanouts, groupState, type GraphTask } from './fanout';

function fanout(n: number, state = (i: number) => (i % 3 === 0 ? 'running' : 'succeeded')): GraphTask[] {
  const tasks: GraphTask[] = [{ name: 'split', state: 'succeeded', needs: [] }];
  for (let i = 0; i < n; i++) tasks.push({ name: `shard-${i}`, state: state(i), needs: ['split'] });
  tasks.push({ name: 'merge', state: 'pending', needs: tasks.slice(1).map((t) => t.name) });
  return tasks;
}

describe('fan-out collapsing', () => {
  it('collapses a wide fan-out into one group with counts by state', () => {
    const g = collapseFanouts(fanout(4000));
    expect(g.nodes.map((n) => n.kind)).toEqual(['task', 'group', 'task']);
    const group = g.nodes[1]!;
    expect(group.members).toHaveLength(4000);
    expect(group.counts).toEqual({ running: 1334, succeeded: 2666 });
    expect(group.state).toBe('running');
    expect(g.edges.map((e) => `${e.source}->${e.target}`)).toEqual([`split->${group.id}`, `${group.id}->merge`]);
  });

  it('leaves narrow fan-outs alone', () => {
    const g = collapseFanouts(fanout(5));
    expect(g.nodes).toHaveLength(7);
    expect(g.nodes.every((n) => n.kind === 'task')).toBe(true);
    expect(g.edges).toHaveLength(10);
  });

  it('expands a group on request', () => {
    const id = collapseFanouts(fanout(50)).nodes[1]!.id;
    const g = collapseFanouts(fanout(50), 12, new Set([id]));
    expect(g.nodes).toHaveLength(52);
  });

  it('groups only true siblings (same parents and same children)', () => {
    const tasks: GraphTask[] = [{ name: 'a', state: 'succeeded', needs: [] }, { name: 'b', state: 'succeeded', needs: [] }];
    for (let i = 0; i < 20; i++) tasks.push({ name: `x${i}`, state: 'pending', needs: [i < 10 ? 'a' : 'b'] });
    const g = collapseFanouts(tasks, 12);
    expect(g.nodes.filter((n) => n.kind === 'group')).toHaveLength(0);
    const g2 = collapseFanouts(tasks, 5);
    expect(g2.nodes.filter((n) => n.kind === 'group')).toHaveLength(2);
  });

  it('shows a failure before anything else in a group', () => {
    expect(groupState({ succeeded: 10, failed: 1, running: 3 })).toBe('failed');
    expect(groupState({ succeeded: 10 })).toBe('succeeded');
  });

  it('handles 5,000 tasks quickly', () => {
    const tasks = fanout(4000);
    for (let i = 0; i < 1000; i++) tasks.push({ name: `c${i}`, state: 'pending', needs: [i === 0 ? 'merge' : `c${i - 1}`] });
    const t0 = performance.now();
    const g = collapseFanouts(tasks);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(g.nodes).toHaveLength(1003);
  });
});

describe('trials', () => {
  it('hang off their study task', () => {
    const t = attachTrials([
      { name: 'split', state: 'succeeded', needs: [] },
      { name: 'tune', state: 'succeeded', needs: ['split'] },
      { name: 'tune[0]', state: 'succeeded', needs: [] },
      { name: 'other[1]', state: 'succeeded', needs: [] },
    ]);
    expect(t[2]!.needs).toEqual(['tune']);
    expect(t[3]!.needs).toEqual([]);
  });
});
