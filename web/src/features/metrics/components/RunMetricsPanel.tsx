import { useMemo } from 'react';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { useRunMetrics, type MetricSeries } from '../api/get-run-metrics';
import { LineChart } from '@/components/charts/LineChart';

// Groups a set of runs' series by metric name; a chart per name, a line per run and task.
export function groupByName(runs: { run: string; series: MetricSeries[] }[]) {
  const byName = new Map<string, { label: string; points: { x: number; y: number }[] }[]>();
  for (const { run, series } of runs)
    for (const s of series) {
      const list = byName.get(s.name) ?? [];
      list.push({ label: runs.length > 1 ? `#${run} ${s.task}` : s.task, points: s.points.map((p) => ({ x: p.step, y: p.last })) });
      byName.set(s.name, list);
    }
  return [...byName.entries()].sort((a, b) => a[0].localeCompare(b[0]));
}

export function RunMetricsPanel({ run, compareWith }: { run: string; compareWith?: string }) {
  const a = useRunMetrics(run);
  const b = useRunMetrics(compareWith);
  const charts = useMemo(() => {
    const runs = [{ run, series: a.data?.series ?? [] }];
    if (compareWith && b.data) runs.push({ run: compareWith, series: b.data.series });
    return groupByName(runs);
  }, [run, compareWith, a.data, b.data]);
  if (a.isLoading) return <Loading what="metrics" />;
  return (
    <div className="charts" data-testid="metrics">
      <ErrorMessage error={a.error ?? b.error} />
      {charts.length === 0 && <Empty>This run has recorded no metrics yet.</Empty>}
      {charts.map(([name, series]) => (
        <LineChart key={name} title={name} series={series} />
      ))}
    </div>
  );
}
