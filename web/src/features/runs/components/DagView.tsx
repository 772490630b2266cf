import { createContext, memo, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { ReactFlow, Background, Controls, Handle, Position, type Node, type Edge, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { Task } from '@/lib/types';
import { stateLook, TONE_COLOURS } from '@/lib/states';
import { attachTrials, collapseFanouts, type GraphNode } from '../lib/fanout';
import { useDagLayout } from '../hooks/use-dag-layout';

type FlowData = { node: GraphNode; onOpen: (n: GraphNode) => void };

// The selected task, out of the node objects: a click re-renders the nodes on screen (few), and
// React Flow keeps every node object, with its measured size and handles, as it was.
const SelectedTask = createContext<string | null>(null);

const TaskNode = memo(function TaskNode({ data }: NodeProps<Node<FlowData>>) {
  const { node, onOpen } = data;
  const selected = useContext(SelectedTask) === node.id;
  const look = stateLook(node.state);
  const c = TONE_COLOURS[look.tone];
  return (
    <button
      type="button"
      className={`dag-node${selected ? ' selected' : ''}${node.state === 'running' ? ' pulsing' : ''}`}
      style={{ background: c.bg, color: c.fg, borderColor: c.border }}
      onClick={() => onOpen(node)}
      data-task={node.id}
      data-state={node.state}
      aria-label={`task ${node.label}: ${look.label}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-icon" aria-hidden="true">{look.icon}</span>
      <span className="dag-label">
        <span className="dag-name">{node.label}</span>
        <span className="dag-state">{look.label}</span>
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </button>
  );
});

const GroupNode = memo(function GroupNode({ data }: NodeProps<Node<FlowData>>) {
  const { node, onOpen } = data;
  const look = stateLook(node.state);
  const c = TONE_COLOURS[look.tone];
  const counts = Object.entries(node.counts ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <button
      type="button"
      className="dag-node dag-group"
      style={{ background: c.bg, color: c.fg, borderColor: c.border }}
      onClick={() => onOpen(node)}
      data-group={node.id}
      aria-label={`group of ${node.members?.length ?? 0} tasks, ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}; expand`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-label">
        <span className="dag-name">{node.label}</span>
        <span className="dag-state">{node.members?.length ?? 0} tasks in a fan-out · click to expand</span>
        <span className="dag-counts">
          {counts.map(([s, n]) => (
            <span key={s}>
              <span aria-hidden="true">{stateLook(s).icon}</span> {n} {stateLook(s).label}
            </span>
          ))}
        </span>
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </button>
  );
});

// 'fanout', not 'group': React Flow styles its built-in group type as a sub-flow frame.
const nodeTypes = { task: TaskNode, fanout: GroupNode };

export function DagView({ tasks, selected, onSelect }: { tasks: Task[]; selected: string | null; onSelect: (name: string) => void }) {
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const graph = useMemo(
    () => collapseFanouts(attachTrials(tasks.map((t) => ({ name: t.name, state: t.state, needs: t.needs ?? [] }))), 12, expanded),
    [tasks, expanded],
  );
  const { positions, error, key } = useDagLayout(graph);
  // onOpen is in every node's data, so it must not change when onSelect does: react-router's
  // setSearchParams (behind RunDetail's onSelect) is a new function after every navigation, and a
  // new onOpen rebuilt all node objects on each click. React Flow then dropped their measured
  // handles and, with onlyRenderVisibleElements, mounted and measured every node of a big graph.
  const onSelectRef = useRef(onSelect);
  useEffect(() => {
    onSelectRef.current = onSelect;
  }, [onSelect]);
  const onOpen = useCallback((n: GraphNode) => {
    if (n.kind === 'group') setExpanded((s) => new Set(s).add(n.id));
    else onSelectRef.current(n.id);
  }, []);
  // Node objects are reused while their state and place stay, so a live update re-renders the
  // few nodes that changed, not a thousand (and a click changes none: see SelectedTask).
  const cache = useRef(new Map<string, { key: string; node: Node<FlowData> }>());
  const nodes: Node<FlowData>[] = useMemo(() => {
    if (!positions) return [];
    return graph.nodes.flatMap((n) => {
      const p = positions.get(n.id);
      if (!p) return [];
      const key = `${n.state}|${p.x}|${p.y}|${n.counts ? JSON.stringify(n.counts) : ''}`;
      const hit = cache.current.get(n.id);
      if (hit && hit.key === key && hit.node.data.onOpen === onOpen) return [hit.node];
      const node: Node<FlowData> = {
        id: n.id,
        type: n.kind === 'group' ? 'fanout' : 'task',
        position: { x: p.x, y: p.y },
        data: { node: n, onOpen },
        draggable: false,
        connectable: false,
        style: { width: p.width, height: p.height },
      };
      cache.current.set(n.id, { key, node });
      return [node];
    });
  }, [graph, positions, onOpen]);
  const edges: Edge[] = useMemo(() => graph.edges.map((e) => ({ ...e, focusable: false })), [graph]);
  // A big graph does not fit legibly: start at its beginning (the leftmost nodes) instead.
  const fitOptions = useMemo(() => {
    if (!positions || nodes.length <= 150) return { maxZoom: 1 };
    // The first columns (about a screen's width), at most 40 nodes of them.
    const minX = Math.min(...nodes.map((n) => n.position.x));
    const first = nodes
      .filter((n) => n.position.x <= minX + 1000)
      .sort((a, b) => a.position.x - b.position.x || a.position.y - b.position.y)
      .slice(0, 40);
    return { maxZoom: 1, minZoom: 0.2, nodes: first.map((n) => ({ id: n.id })) };
    // Only the layout matters here, not states or the selection.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [positions]);
  if (error) return <p role="alert">Layout failed: {error}</p>;
  return (
    <div className="dag" data-testid="dag" aria-label="task graph">
      {!positions && <p className="loading">Laying out {graph.nodes.length} nodes…</p>}
      {positions && (
        <SelectedTask.Provider value={selected}>
          <ReactFlow
            key={key}
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            fitView
            fitViewOptions={fitOptions}
            minZoom={0.05}
            onlyRenderVisibleElements
            nodesDraggable={false}
            nodesConnectable={false}
            proOptions={{ hideAttribution: true }}
          >
            <Background />
            <Controls showInteractive={false} />
          </ReactFlow>
        </SelectedTask.Provider>
      )}
    </div>
  );
}
