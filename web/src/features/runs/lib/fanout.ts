// Collapsing wide fan-outs: tasks with the same parents and the same children (a fan-out's
// branches, an HPO study's trials) become one group node with counts by state once there are
// more than `threshold` of them, unless the group is expanded. Edges are rewired to the group.
// Pure; runs in the layout worker and in tests.
export interface GraphTask {
  name: string;
  state: string;
  needs: string[];
}

export interface GraphNode {
  id: string;
  kind: 'task' | 'group';
  label: string;
  state: string; // a task's state; for a group the "worst" live state of its members
  members?: string[];
  counts?: Record<string, number>;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

const GROUP_STATE_RANK = ['failed', 'running', 'dispatched', 'ready', 'upstream_failed', 'pending', 'cancelled', 'skipped', 'cached', 'succeeded'];

export function groupState(counts: Record<string, number>): string {
  for (const s of GROUP_STATE_RANK) if ((counts[s] ?? 0) > 0) return s;
  return Object.keys(counts)[0] ?? 'pending';
}

export function collapseFanouts(tasks: GraphTask[], threshold = 12, expanded: ReadonlySet<string> = new Set()): Graph {
  const children = new Map<string, string[]>();
  for (const t of tasks) for (const p of t.needs) {
    const list = children.get(p);
    if (list) list.push(t.name);
    else children.set(p, [t.name]);
  }
  // Siblings: same sorted parents and same sorted children.
  const bySig = new Map<string, GraphTask[]>();
  for (const t of tasks) {
    if (t.needs.length === 0) continue; // roots stay single
    const sig = [...t.needs].sort().join('\u0001') + '\u0002' + [...(children.get(t.name) ?? [])].sort().join('\u0001');
    const list = bySig.get(sig);
    if (list) list.push(t);
    else bySig.set(sig, [t]);
  }
  const groupOf = new Map<string, string>();
  const nodes: GraphNode[] = [];
  const groups = new Map<string, GraphNode>();
  for (const [, members] of bySig) {
    if (members.length <= threshold) continue;
    const first = members[0]!;
    const id = 'group:' + first.name;
    if (expanded.has(id)) continue;
    const counts: Record<string, number> = {};
    for (const m of members) {
      counts[m.state] = (counts[m.state] ?? 0) + 1;
      groupOf.set(m.name, id);
    }
    const g: GraphNode = {
      id,
      kind: 'group',
      label: `${first.name} … ${members[members.length - 1]!.name}`,
      state: groupState(counts),
      members: members.map((m) => m.name),
      counts,
    };
    groups.set(id, g);
  }
  const emitted = new Set<string>();
  for (const t of tasks) {
    const g = groupOf.get(t.name);
    if (g) {
      if (!emitted.has(g)) {
        emitted.add(g);
        nodes.push(groups.get(g)!);
      }
      continue;
    }
    nodes.push({ id: t.name, kind: 'task', label: t.name, state: t.state });
  }
  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  for (const t of tasks) {
    const target = groupOf.get(t.name) ?? t.name;
    for (const p of t.needs) {
      const source = groupOf.get(p) ?? p;
      const id = source + '->' + target;
      if (seen.has(id)) continue;
      seen.add(id);
      edges.push({ id, source, target });
    }
  }
  return { nodes, edges };
}

// HPO trials are child task runs named "<study>[N]" with no edges of their own: hang them off
// their study's task so they sit beside it (and collapse like a fan-out when there are many).
export function attachTrials(tasks: GraphTask[]): GraphTask[] {
  const names = new Set(tasks.map((t) => t.name));
  return tasks.map((t) => {
    const m = /^(.+)\[\d+\]$/.exec(t.name);
    if (m && m[1] && names.has(m[1]) && t.needs.length === 0) return { ...t, needs: [m[1]] };
    return t;
  });
}
