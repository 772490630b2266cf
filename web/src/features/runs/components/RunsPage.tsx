import { useEffect, useMemo, useRef } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { useVirtualizer } from '@tanstack/react-virtual';
import { StateBadge } from '@/components/StateBadge';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { formatDuration, formatTime } from '@/lib/format';
import { LiveDot, useLiveInvalidate } from '@/lib/use-live';
import { useRuns } from '../api/get-runs';
import { filtersFromSearch, filtersToSearch, isoToLocal, localToIso, RUN_STATES, TRIGGERS, type RunFilters } from '../lib/filters';

const ROW = 40;

export function RunsPage({ pipelines }: { pipelines: string[] }) {
  const [search, setSearch] = useSearchParams();
  const filters = useMemo(() => filtersFromSearch(search), [search]);
  const runs = useRuns(filters);
  const live = useLiveInvalidate({ keys: (e) => (e.kind === 'run' || e.kind === 'task' ? [['runs']] : []), throttleMs: 500 });
  const rows = useMemo(() => {
    const all = runs.data?.pages.flatMap((p) => p.runs) ?? [];
    return filters.trigger ? all.filter((r) => r.trigger === filters.trigger) : all;
  }, [runs.data, filters.trigger]);
  const parentRef = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW, overscan: 12 });
  const items = v.getVirtualItems();
  const lastIndex = items.length ? items[items.length - 1]!.index : -1;
  useEffect(() => {
    if (lastIndex >= rows.length - 20 && runs.hasNextPage && !runs.isFetchingNextPage) void runs.fetchNextPage();
  }, [lastIndex, rows.length, runs]);

  const update = (patch: Partial<RunFilters>) => setSearch(filtersToSearch({ ...filters, ...patch }), { replace: true });

  return (
    <section aria-labelledby="runs-h">
      <div className="page-head">
        <h1 id="runs-h">Runs</h1>
        <LiveDot status={live} />
      </div>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="run filters">
        <label>
          Pipeline
          <select value={filters.pipeline ?? ''} onChange={(e) => update({ pipeline: e.target.value || undefined })}>
            <option value="">all</option>
            {pipelines.map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={filters.state ?? ''} onChange={(e) => update({ state: e.target.value || undefined })}>
            <option value="">all</option>
            {RUN_STATES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Trigger
          <select value={filters.trigger ?? ''} onChange={(e) => update({ trigger: e.target.value || undefined })}>
            <option value="">all</option>
            {TRIGGERS.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Since
          <input type="datetime-local" value={isoToLocal(filters.since)} onChange={(e) => update({ since: localToIso(e.target.value) })} />
        </label>
        <label>
          Until
          <input type="datetime-local" value={isoToLocal(filters.until)} onChange={(e) => update({ until: localToIso(e.target.value) })} />
        </label>
        {search.toString() && (
          <button type="button" onClick={() => setSearch(new URLSearchParams(), { replace: true })}>
            Clear filters
          </button>
        )}
      </form>
      <ErrorMessage error={runs.error} />
      {runs.isLoading && <Loading what="runs" />}
      {!runs.isLoading && rows.length === 0 && <Empty>No runs match these filters.</Empty>}
      {rows.length > 0 && (
      <div className="grid-table runs-table" role="table" aria-label="runs" aria-rowcount={rows.length + 1}>
        <div className="grid-row grid-head" role="row">
          <span role="columnheader">Run</span>
          <span role="columnheader">Pipeline</span>
          <span role="columnheader">State</span>
          <span role="columnheader">Tasks</span>
          <span role="columnheader">Trigger</span>
          <span role="columnheader">Created</span>
          <span role="columnheader">Duration</span>
        </div>
        <div ref={parentRef} className="grid-body" style={{ height: 'calc(100vh - 260px)', minHeight: 240, overflow: 'auto' }}>
          <div style={{ height: v.getTotalSize(), position: 'relative' }}>
            {items.map((it) => {
              const r = rows[it.index]!;
              return (
                <div
                  key={r.id}
                  role="row"
                  className="grid-row"
                  data-run={r.id}
                  style={{ position: 'absolute', top: 0, left: 0, right: 0, height: ROW, transform: `translateY(${it.start}px)` }}
                >
                  <span role="cell">
                    <Link to={`/runs/${r.id}`}>#{r.id}</Link>
                  </span>
                  <span role="cell">
                    <Link to={`/pipelines/${encodeURIComponent(r.pipeline)}`}>{r.pipeline}</Link>
                  </span>
                  <span role="cell">
                    <StateBadge state={r.state} />
                  </span>
                  <span role="cell">
                    {r.tasks_done}/{r.tasks_total}
                    {r.tasks_failed ? ` (${r.tasks_failed} failed)` : ''}
                  </span>
                  <span role="cell">{r.trigger ?? '—'}</span>
                  <span role="cell">{formatTime(r.created_at)}</span>
                  <span role="cell">{formatDuration(r.duration_ms)}</span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      )}
      {runs.isFetchingNextPage && <Loading what="more runs" />}
    </section>
  );
}
