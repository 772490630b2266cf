// Positions for a graph's shape, computed in a Web Worker. The layout only depends on the
// nodes and edges (not on states), so a state change re-renders without a new layout.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { Graph } from '../lib/fanout';
import type { Positioned } from '../lib/layout';

// One layout worker for the page, started when this module loads (while the run is fetched),
// not when the graph mounts: its start-up is then off the critical path.
let worker: Worker | null = null;
function sharedWorker(): Worker {
  worker ??= new Worker(new URL('../lib/layout.worker.ts', import.meta.url), { type: 'module' });
  return worker;
}
if (typeof window !== 'undefined' && typeof Worker !== 'undefined') sharedWorker();

export function shapeKey(g: Graph): string {
  return g.nodes.map((n) => n.id).join('|') + '#' + g.edges.map((e) => e.id).join('|');
}

export function useDagLayout(graph: Graph): { positions: Map<string, Positioned> | null; error: string | null; key: string } {
  const workerRef = useRef<Worker | null>(null);
  const seqRef = useRef(0);
  const [result, setResult] = useState<{ key: string; positions: Map<string, Positioned> | null; error: string | null }>({
    key: '',
    positions: null,
    error: null,
  });
  const key = useMemo(() => shapeKey(graph), [graph]);
  const graphRef = useRef(graph);
  graphRef.current = graph;

  useEffect(() => {
    workerRef.current = sharedWorker();
    return () => {
      workerRef.current = null;
    };
  }, []);

  useEffect(() => {
    const w = workerRef.current;
    if (!w || graphRef.current.nodes.length === 0) return;
    const seq = ++seqRef.current;
    const onMessage = (e: MessageEvent<{ seq: number; positions?: Positioned[]; error?: string }>) => {
      if (e.data.seq !== seq) return;
      if (e.data.error) setResult({ key, positions: null, error: e.data.error });
      else setResult({ key, positions: new Map((e.data.positions ?? []).map((p) => [p.id, p])), error: null });
    };
    w.addEventListener('message', onMessage);
    w.postMessage({ seq, graph: { nodes: graphRef.current.nodes, edges: graphRef.current.edges } });
    return () => w.removeEventListener('message', onMessage);
  }, [key]);

  // `key` names the laid-out shape: the view fits it again when it changes (a group expanded).
  return { positions: result.positions, error: result.error, key: result.key };
}
