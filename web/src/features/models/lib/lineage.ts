// The lineage of a model version as one graph: trigger -> data partitions -> run -> (task) ->
// model version -> deployments, plus the parent version. Pure; each node carries where a click
// goes.
import type { Lineage } from '../api/get-lineage';
import type { Deployment } from '../api/get-models';

export interface LNode {
  id: string;
  kind: 'trigger' | 'partition' | 'run' | 'version' | 'parent' | 'deployment' | 'artifact';
  label: string;
  sub?: string;
  href?: string;
  column: number;
}

export interface LEdge {
  id: string;
  source: string;
  target: string;
}

function partitionLabel(p: unknown): string {
  if (typeof p === 'string') return p;
  if (p && typeof p === 'object') {
    const o = p as Record<string, unknown>;
    return String(o.name ?? o.partition ?? o.date ?? o.path ?? JSON.stringify(o));
  }
  return String(p);
}

export function buildLineage(l: Lineage, deployments: Deployment[], trigger?: string | null): { nodes: LNode[]; edges: LEdge[] } {
  const nodes: LNode[] = [];
  const edges: LEdge[] = [];
  const version = `version:${l.version}`;
  const runId = l.run ? `run:${l.run.id}` : null;
  if (trigger && runId) {
    nodes.push({ id: 'trigger', kind: 'trigger', label: `trigger: ${trigger}`, sub: 'what started the run', column: 1 });
    edges.push({ id: 'trigger->run', source: 'trigger', target: runId });
  }
  l.data_partitions.forEach((p, i) => {
    const id = `partition:${i}`;
    nodes.push({ id, kind: 'partition', label: partitionLabel(p), sub: 'data partition', column: 1 });
    edges.push({ id: `${id}->${runId ?? version}`, source: id, target: runId ?? version });
  });
  if (l.run && runId) {
    nodes.push({
      id: runId,
      kind: 'run',
      label: `run #${l.run.id}`,
      sub: `${l.run.pipeline}${l.task ? ` · ${l.task.name}` : ''} · ${l.run.state}`,
      href: `/runs/${l.run.id}${l.task ? `?task=${encodeURIComponent(l.task.name)}` : ''}`,
      column: 2,
    });
    edges.push({ id: `${runId}->${version}`, source: runId, target: version });
  }
  nodes.push({ id: version, kind: 'version', label: `${l.model} v${l.version}`, sub: 'model version', href: `/models/${encodeURIComponent(l.model)}?version=${l.version}`, column: 3 });
  if (l.parent) {
    const id = `parent:${l.parent.version}`;
    nodes.push({ id, kind: 'parent', label: `${l.model} v${l.parent.version}`, sub: 'previous version', href: `/models/${encodeURIComponent(l.model)}?version=${l.parent.version}`, column: 2 });
    edges.push({ id: `${id}->${version}`, source: id, target: version });
  }
  for (const d of deployments.filter((d) => d.version === l.version)) {
    const id = `deployment:${d.alias}:${d.created_at}`;
    nodes.push({ id, kind: 'deployment', label: `${d.alias}`, sub: d.current ? 'deployed now' : 'superseded', column: 4 });
    edges.push({ id: `${version}->${id}`, source: version, target: id });
  }
  return { nodes, edges };
}

// Column layout: x by column, y stacked within it, centred.
export function placeLineage(nodes: LNode[], w = 220, h = 64, gapX = 70, gapY = 24): Map<string, { x: number; y: number }> {
  const cols = new Map<number, LNode[]>();
  for (const n of nodes) cols.set(n.column, [...(cols.get(n.column) ?? []), n]);
  const tallest = Math.max(1, ...[...cols.values()].map((c) => c.length));
  const out = new Map<string, { x: number; y: number }>();
  for (const [c, list] of cols) {
    const offset = ((tallest - list.length) * (h + gapY)) / 2;
    list.forEach((n, i) => out.set(n.id, { x: c * (w + gapX), y: offset + i * (h + gapY) }));
  }
  return out;
}
