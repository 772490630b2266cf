import { Link } from 'react-router-dom';
import { StateBadge } from '@/components/StateBadge';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { formatTime, formatValue } from '@/lib/format';
import { useStudies } from '../api/get-studies';

export function StudiesPage() {
  const s = useStudies();
  return (
    <section aria-labelledby="st-h">
      <h1 id="st-h">Studies</h1>
      <ErrorMessage error={s.error} />
      {s.isLoading && <Loading what="studies" />}
      {s.data && s.data.length === 0 && <Empty>No hyperparameter studies yet (a task with an <code>hpo:</code> block makes one).</Empty>}
      {s.data && s.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Study</th>
              <th scope="col">Run</th>
              <th scope="col">Algorithm</th>
              <th scope="col">State</th>
              <th scope="col">Trials</th>
              <th scope="col">Best</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {s.data.map((x) => (
              <tr key={x.id}>
                <td>
                  <Link to={`/studies/${x.id}`}>
                    #{x.id} {x.task}
                  </Link>
                </td>
                <td>
                  <Link to={`/runs/${x.run_id}`}>#{x.run_id}</Link>
                </td>
                <td>{x.algorithm}</td>
                <td>
                  <StateBadge state={x.state} />
                </td>
                <td>
                  {x.trials.complete}/{x.max_trials}
                  {x.trials.pruned ? ` (${x.trials.pruned} pruned)` : ''}
                </td>
                <td>{x.best ? `${x.metric} ${formatValue(x.best.value)} (trial ${x.best.number})` : '—'}</td>
                <td>{formatTime(x.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
