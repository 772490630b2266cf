// Lays out task graphs off the main thread, so a run of thousands of tasks never blocks clicks.
import { layoutGraph } from './layout';
import type { Graph } from './fanout';

self.onmessage = (e: MessageEvent<{ seq: number; graph: Graph }>) => {
  const { seq, graph } = e.data;
  try {
    const positions = layoutGraph(graph);
    (self as unknown as Worker).postMessage({ seq, positions });
  } catch (err) {
    (self as unknown as Worker).postMessage({ seq, error: String(err) });
  }
};
