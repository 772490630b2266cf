// Layered layout of a (collapsed) task graph with dagre: left to right, positions are node
// centres turned into top-left corners for React Flow. Pure; the worker calls it.
import dagre from '@dagrejs/dagre';
import type { Graph, GraphNode } from './fanout';

export const TASK_SIZE = { width: 190, height: 46 };
export const GROUP_SIZE = { width: 250, height: 84 };

export interface Positioned {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export function sizeOf(n: GraphNode) {
  return n.kind === 'group' ? GROUP_SIZE : TASK_SIZE;
}

export function layoutGraph(g: Graph): Positioned[] {
  const d = new dagre.graphlib.Graph();
  d.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 60, marginx: 10, marginy: 10 });
  d.setDefaultEdgeLabel(() => ({}));
  for (const n of g.nodes) d.setNode(n.id, { ...sizeOf(n) });
  for (const e of g.edges) d.setEdge(e.source, e.target);
  dagre.layout(d);
  return g.nodes.map((n) => {
    const p = d.node(n.id);
    const s = sizeOf(n);
    return { id: n.id, x: p.x - s.width / 2, y: p.y - s.height / 2, width: s.width, height: s.height };
  });
}
