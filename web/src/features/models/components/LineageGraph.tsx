import { memo, useMemo } from 'react';
import { useNavigate } from 'react-router-dom';
import { ReactFlow, Background, Handle, Position, type Node, type NodeProps } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import type { Lineage } from '../api/get-lineage';
import type { Deployment } from '../api/get-models';
import { buildLineage, placeLineage, type LNode } from '../lib/lineage';

type D = { n: LNode; go: (href: string) => void };

const LineageNode = memo(function LineageNode({ data }: NodeProps<Node<D>>) {
  const { n, go } = data;
  const body = (
    <>
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-name">{n.label}</span>
      {n.sub && <span className="dag-state">{n.sub}</span>}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </>
  );
  return n.href ? (
    <button type="button" className={`lineage-node lineage-${n.kind}`} onClick={() => go(n.href!)} data-lineage={n.kind}>
      {body}
    </button>
  ) : (
    <div className={`lineage-node lineage-${n.kind}`} data-lineage={n.kind}>
      {body}
    </div>
  );
});

const nodeTypes = { lineage: LineageNode };

export function LineageGraph({ lineage, deployments, trigger }: { lineage: Lineage; deployments: Deployment[]; trigger?: string | null }) {
  const navigate = useNavigate();
  const { nodes, edges } = useMemo(() => {
    const g = buildLineage(lineage, deployments, trigger);
    const pos = placeLineage(g.nodes);
    return {
      nodes: g.nodes.map((n) => ({ id: n.id, type: 'lineage', position: pos.get(n.id)!, data: { n, go: navigate }, draggable: false, style: { width: 220, height: 64 } })),
      edges: g.edges.map((e) => ({ ...e, focusable: false, animated: false })),
    };
  }, [lineage, deployments, trigger, navigate]);
  return (
    <div className="lineage" data-testid="lineage" aria-label={`lineage of ${lineage.model} version ${lineage.version}`}>
      <ReactFlow key={nodes.map((n) => n.id).join('|')} nodes={nodes} edges={edges} nodeTypes={nodeTypes} fitView fitViewOptions={{ maxZoom: 1 }} nodesDraggable={false} nodesConnectable={false} proOptions={{ hideAttribution: true }}>
        <Background />
      </ReactFlow>
    </div>
  );
}
