import { useCallback, useState, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { StateBadge } from '@/components/StateBadge';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { formatDuration, formatTime, formatValue, shortDigest } from '@/lib/format';
import { LiveDot, useLiveInvalidate } from '@/lib/use-live';
import { stateLook, TASK_STATE_ORDER } from '@/lib/states';
import { useRun } from '../api/get-run';
import { cancelRun, retryRun, useRunAction } from '../api/run-actions';
import { DagView } from './DagView';
import { Gantt } from './Gantt';
import { TaskPanel } from './TaskPanel';

export function RunDetail({ id, canOperate, metrics, specCommands = {} }: { id: string; canOperate: boolean; metrics?: ReactNode; specCommands?: Record<string, string[]> }) {
  const run = useRun(id);
  const [search, setSearch] = useSearchParams();
  const selected = search.get('task');
  const [tab, setTab] = useState<'graph' | 'timeline' | 'metrics'>('graph');
  const live = useLiveInvalidate({
    run: id,
    keys: (e) => (e.kind === 'task' || e.kind === 'run' ? [['run', id]] : e.kind === 'metric' ? [['metrics', id]] : []),
    // A big run's task list is megabytes: refresh it at most every 2 s.
    throttleMs: (run.data?.tasks_total ?? 0) > 1000 ? 2000 : 250,
  });
  const cancel = useRunAction(cancelRun);
  const retry = useRunAction(retryRun);
  // Not stable across navigations (setSearchParams changes with the URL): DagView keeps it in a ref.
  const select = useCallback(
    (name: string | null) =>
      setSearch(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (name) next.set('task', name);
          else next.delete('task');
          return next;
        },
        { replace: true },
      ),
    [setSearch],
  );
  if (run.isLoading) return <Loading what={`run ${id}`} />;
  if (run.error || !run.data) return <ErrorMessage error={run.error ?? new Error('no such run')} />;
  const r = run.data;
  const tasks = r.tasks ?? [];
  const counts: Record<string, number> = {};
  for (const t of tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
  const active = r.state === 'queued' || r.state === 'running';
  return (
    <section aria-labelledby="run-h" className="run-detail">
      <div className="page-head">
        <h1 id="run-h">
          Run #{r.id} <StateBadge state={r.state} />
        </h1>
        <LiveDot status={live} />
        {canOperate && (
          <div className="actions">
            {active && (
              <button type="button" className="danger" onClick={() => cancel.mutate(r.id)} disabled={cancel.isPending || r.cancel_requested}>
                {r.cancel_requested ? 'Cancelling…' : 'Cancel run'}
              </button>
            )}
            {r.state === 'failed' && (
              <button type="button" onClick={() => retry.mutate(r.id)} disabled={retry.isPending}>
                Retry failed tasks
              </button>
            )}
          </div>
        )}
      </div>
      <ErrorMessage error={cancel.error ?? retry.error} />
      <dl className="facts inline">
        <dt>Pipeline</dt>
        <dd>
          <Link to={`/pipelines/${encodeURIComponent(r.pipeline)}`}>{r.pipeline}</Link> <code>{shortDigest(r.pipeline_version)}</code>
        </dd>
        <dt>Trigger</dt>
        <dd>{r.trigger ?? '—'}</dd>
        <dt>Created</dt>
        <dd>{formatTime(r.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(r.duration_ms)}</dd>
        <dt>Tasks</dt>
        <dd data-testid="task-counts">
          {TASK_STATE_ORDER.filter((s) => counts[s]).map((s) => (
            <span key={s} className="count">
              <span aria-hidden="true">{stateLook(s).icon}</span> {counts[s]} {stateLook(s).label}
            </span>
          ))}
        </dd>
        {r.params && Object.keys(r.params).length > 0 && (
          <>
            <dt>Params</dt>
            <dd>
              {Object.entries(r.params).map(([k, v]) => (
                <code key={k} className="param">
                  {k}={formatValue(v)}
                </code>
              ))}
            </dd>
          </>
        )}
        {r.error && (
          <>
            <dt>Error</dt>
            <dd className="reason">{r.error}</dd>
          </>
        )}
      </dl>
      <div className="tabs" role="tablist" aria-label="run views">
        {(['graph', 'timeline', 'metrics'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
            {t === 'graph' ? 'Graph' : t === 'timeline' ? 'Timeline' : 'Metrics'}
          </button>
        ))}
      </div>
      <div className="run-body">
        <div className="run-main" role="tabpanel">
          {tab === 'graph' && <DagView tasks={tasks} selected={selected} onSelect={select} />}
          {tab === 'timeline' && <Gantt tasks={tasks} onSelect={select} />}
          {tab === 'metrics' && metrics}
        </div>
        {selected && <TaskPanel run={r.id} name={selected} canOperate={canOperate} specCommand={specCommands[selected.replace(/\[.*$/, '')]} onClose={() => select(null)} />}
      </div>
    </section>
  );
}
