import { useMemo } from 'react';
import { Link } from 'react-router-dom';
import { LineChart } from '@/components/charts/LineChart';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { formatTime } from '@/lib/format';
import { useMonitor } from '../api/get-monitor';
import { accuracySeries, describeCrossed, recentChecks } from '../lib/monitor';

const num = (v: number | null) => (v === null ? '—' : v.toFixed(3));

// Live accuracy per version (hourly buckets of the prediction log) and the monitors' recent
// checks: what they measured, what crossed, and the retraining runs they started.
export function MonitorPanel({ name }: { name: string }) {
  const q = useMonitor(name);
  const series = useMemo(() => (q.data ? accuracySeries(q.data) : []), [q.data]);
  if (q.isLoading) return <Loading what="monitor" />;
  if (q.error || !q.data) return <ErrorMessage error={q.error} />;
  const checks = recentChecks(q.data, 10);
  const logged = q.data.versions.reduce((n, v) => n + v.predictions, 0);
  return (
    <section aria-labelledby="mon-h">
      <h2 id="mon-h">Live accuracy and drift</h2>
      {logged === 0 ? (
        <p>No predictions logged yet.</p>
      ) : (
        <p>
          {q.data.versions.map((v) => (
            <span key={v.version} className="count">
              v{v.version}: {v.predictions} predictions, {v.labeled} labelled, accuracy {num(v.accuracy)}
            </span>
          ))}
        </p>
      )}
      {series.length > 0 && <LineChart title="Live accuracy by version (hourly)" series={series} xLabel="time" time />}
      {q.data.monitors.length === 0 ? (
        <p>No pipeline monitors this model.</p>
      ) : (
        <table className="table compact" aria-label="monitor checks">
          <thead>
            <tr>
              <th scope="col">Checked</th>
              <th scope="col">Pipeline</th>
              <th scope="col">Version</th>
              <th scope="col">Labels</th>
              <th scope="col">Accuracy</th>
              <th scope="col">Drift</th>
              <th scope="col">Outcome</th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {checks.map((c) => (
              <tr key={`${c.pipeline}-${c.at}-${c.outcome}`}>
                <td>{formatTime(c.at)}</td>
                <td>{c.pipeline}</td>
                <td>{c.version === null ? '—' : `v${c.version}`}</td>
                <td>{c.labels}</td>
                <td>{num(c.accuracy)}</td>
                <td>{c.drift_metric ? `${c.drift_metric}(${c.drift_feature}) ${num(c.drift)}` : '—'}</td>
                <td title={describeCrossed(c)}>
                  {c.outcome}
                  {c.crossed.length > 0 ? `: ${describeCrossed(c)}` : ''}
                </td>
                <td>{c.run_id ? <Link to={`/runs/${c.run_id}`}>#{c.run_id}</Link> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
