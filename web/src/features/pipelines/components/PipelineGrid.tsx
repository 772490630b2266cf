import { useRef } from 'react';
import { Link } from 'react-router-dom';
import { useVirtualizer } from '@tanstack/react-virtual';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { stateLook, TONE_COLOURS } from '@/lib/states';
import { useLiveInvalidate } from '@/lib/use-live';
import { useGrid } from '../api/get-grid';

const ROW = 24;
const CELL = 26;

// Airflow's grid: tasks (spec order) down, the last runs across (oldest left), a state per cell;
// rows are virtualised, so a pipeline of thousands of tasks renders only what is on screen.
export function PipelineGrid({ pipeline }: { pipeline: string }) {
  const g = useGrid(pipeline);
  useLiveInvalidate({ keys: (e) => (e.kind === 'run' || e.kind === 'task' ? [['grid', pipeline]] : []), throttleMs: 1000 });
  const parentRef = useRef<HTMLDivElement>(null);
  const tasks = g.data?.tasks ?? [];
  const runs = [...(g.data?.runs ?? [])].reverse();
  const v = useVirtualizer({ count: tasks.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 20 });
  if (g.isLoading) return <Loading what="grid" />;
  if (g.error) return <ErrorMessage error={g.error} />;
  if (runs.length === 0) return <Empty>No runs yet.</Empty>;
  const width = 220 + runs.length * CELL;
  return (
    <div className="pgrid" data-testid="pipeline-grid" aria-label={`grid of ${tasks.length} tasks by ${runs.length} runs`}>
      <div className="pgrid-head" style={{ width }}>
        <span className="pgrid-name">task \ run</span>
        {runs.map((r) => {
          const look = stateLook(r.state);
          return (
            <Link key={r.id} to={`/runs/${r.id}`} className="pgrid-cell pgrid-run" title={`run #${r.id}: ${look.label}`} style={{ background: TONE_COLOURS[look.tone].border }} aria-label={`run ${r.id} ${look.label}`}>
              <span aria-hidden="true">{look.icon}</span>
            </Link>
          );
        })}
      </div>
      <div ref={parentRef} className="pgrid-body" style={{ height: Math.min(560, tasks.length * ROW + 4), overflow: 'auto' }}>
        <div style={{ height: v.getTotalSize(), width, position: 'relative' }}>
          {v.getVirtualItems().map((it) => {
            const name = tasks[it.index]!;
            return (
              <div key={name} className="pgrid-row" style={{ position: 'absolute', top: 0, height: ROW, transform: `translateY(${it.start}px)` }}>
                <span className="pgrid-name" title={name}>
                  {name}
                </span>
                {runs.map((r) => {
                  const s = r.cells[it.index] ?? null;
                  const look = stateLook(s);
                  return s ? (
                    <Link
                      key={r.id}
                      to={`/runs/${r.id}?task=${encodeURIComponent(name)}`}
                      className="pgrid-cell"
                      style={{ background: TONE_COLOURS[look.tone].bg, borderColor: TONE_COLOURS[look.tone].border, color: TONE_COLOURS[look.tone].fg }}
                      title={`${name} in run #${r.id}: ${look.label}`}
                      aria-label={`${name} in run ${r.id}: ${look.label}`}
                      data-state={s}
                    >
                      <span aria-hidden="true">{look.icon}</span>
                    </Link>
                  ) : (
                    <span key={r.id} className="pgrid-cell pgrid-none" />
                  );
                })}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
