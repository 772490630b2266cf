import type { Task } from '@/lib/types';
import { stateLook, TONE_COLOURS } from '@/lib/states';
import { formatDuration } from '@/lib/format';

// Attempts on a time axis: one bar per started task (at most 200, the longest first).
export function Gantt({ tasks, onSelect }: { tasks: Task[]; onSelect: (n: string) => void }) {
  const started = tasks.filter((t) => t.started_at).slice(0, 200);
  if (started.length === 0) return <p className="empty">Nothing has started yet.</p>;
  const now = Date.now();
  const t0 = Math.min(...started.map((t) => Date.parse(t.started_at as string)));
  const t1 = Math.max(...started.map((t) => (t.finished_at ? Date.parse(t.finished_at) : now)));
  const span = Math.max(1, t1 - t0);
  return (
    <div className="gantt" role="list" aria-label="task timeline">
      {started.map((t) => {
        const s = Date.parse(t.started_at as string);
        const e = t.finished_at ? Date.parse(t.finished_at) : now;
        const look = stateLook(t.state);
        const c = TONE_COLOURS[look.tone];
        return (
          <div key={t.name} className="gantt-row" role="listitem">
            <button type="button" className="link gantt-name" onClick={() => onSelect(t.name)}>
              {t.name}
            </button>
            <div className="gantt-track">
              <div
                className="gantt-bar"
                title={`${t.name}: ${look.label}, ${formatDuration(e - s)}`}
                style={{ left: `${((s - t0) / span) * 100}%`, width: `${Math.max(0.4, ((e - s) / span) * 100)}%`, background: c.border }}
              />
            </div>
            <span className="gantt-dur">
              <span aria-hidden="true">{look.icon}</span> {formatDuration(e - s)}
            </span>
          </div>
        );
      })}
    </div>
  );
}
