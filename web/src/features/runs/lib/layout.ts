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

// dagre (recursive) for graphs a person reads node by node; a linear layered layout beyond that:
// dagre overflowed the worker's stack on a 1,000-step chain and takes seconds on big graphs.
export const DAGRE_MAX_NODES = 300;

export function layoutGraph(g: Graph): Positioned[] {
  return g.nodes.length > DAGRE_MAX_NODES ? layeredLayout(g) : dagreLayout(g);
}

// Rank = longest path from a root (Kahn's order, no recursion); x by rank; within a rank, nodes
// ordered by the mean position of their parents (one barycentre pass) and stacked.
export function layeredLayout(g: Graph, nodesep = 18, ranksep = 60): Positioned[] {
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const parents: number[][] = g.nodes.map(() => []);
  const children: number[][] = g.nodes.map(() => []);
  for (const e of g.edges) {
    const a = index.get(e.source);
    const b = index.get(e.target);
    if (a === undefined || b === undefined) continue;
    children[a]!.push(b);
    parents[b]!.push(a);
  }
  const rank = new Array<number>(g.nodes.length).fill(0);
  const pending = parents.map((p) => p.length);
  const queue: number[] = [];
  pending.forEach((n, i) => n === 0 && queue.push(i));
  for (let q = 0; q < queue.length; q++) {
    const v = queue[q]!;
    for (const c of children[v]!) {
      rank[c] = Math.max(rank[c]!, rank[v]! + 1);
      if (--pending[c]! === 0) queue.push(c);
    }
  }
  const layers: number[][] = [];
  const order = queue.length === g.nodes.length ? queue : g.nodes.map((_, i) => i); // a cycle: keep input order
  for (const v of order) (layers[rank[v]!] ??= []).push(v);
  const slot = new Array<number>(g.nodes.length).fill(0);
  const colX: number[] = [];
  let x = 10;
  layers.forEach((layer, r) => {
    const centre = (v: number) => {
      const ps = parents[v]!;
      return ps.length ? ps.reduce((s, p) => s + slot[p]!, 0) / ps.length : slot[v]!;
    };
    layer.sort((a, b) => centre(a) - centre(b));
    let y = 10;
    for (const v of layer) {
      slot[v] = y + sizeOf(g.nodes[v]!).height / 2;
      y += sizeOf(g.nodes[v]!).height + nodesep;
    }
    colX[r] = x;
    x += Math.max(...layer.map((v) => sizeOf(g.nodes[v]!).width)) + ranksep;
  });
  return g.nodes.map((n, i) => {
    const s = sizeOf(n);
    return { id: n.id, x: colX[rank[i]!]!, y: slot[i]! - s.height / 2, width: s.width, height: s.height };
  });
}

export function dagreLayout(g: Graph): Positioned[] {
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
