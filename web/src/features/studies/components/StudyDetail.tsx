import { useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { StateBadge } from '@/components/StateBadge';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { LineChart } from '@/components/charts/LineChart';
import { formatValue } from '@/lib/format';
import { useStudy } from '../api/get-study';
import { bestSoFar, sortTrials, type SortKey } from '../lib/trials';
import { ParallelCoords } from './ParallelCoords';

export function StudyDetail({ id }: { id: string }) {
  const q = useStudy(id);
  const [sort, setSort] = useState<SortKey>({ key: 'number', dir: 1 });
  const trials = q.data?.trials;
  const sorted = useMemo(() => sortTrials(trials ?? [], sort), [trials, sort]);
  const study = q.data?.study;
  const curve = useMemo(() => (study && trials ? [{ label: `best ${study.metric}`, points: bestSoFar(trials, study.goal) }] : []), [study, trials]);
  if (q.isLoading) return <Loading what="study" />;
  if (q.error || !study || !trials) return <ErrorMessage error={q.error} />;
  const paramKeys = Array.from(new Set(trials.flatMap((t) => Object.keys(t.params))));
  const header = (key: string, label: string) => (
    <th scope="col" aria-sort={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="link" onClick={() => setSort({ key, dir: sort.key === key ? (-sort.dir as 1 | -1) : 1 })}>
        {label} {sort.key === key ? (sort.dir === 1 ? '▲' : '▼') : ''}
      </button>
    </th>
  );
  return (
    <section aria-labelledby="sd-h">
      <div className="page-head">
        <h1 id="sd-h">
          Study #{study.id} {study.task} <StateBadge state={study.state} />
        </h1>
        <Link to={`/runs/${study.run_id}`}>run #{study.run_id}</Link>
      </div>
      <p>
        {study.algorithm}, {study.goal} <strong>{study.metric}</strong>, {trials.length}/{study.max_trials} trials, parallelism {study.parallelism}
        {study.best ? `; best ${formatValue(study.best.value)} at trial ${study.best.number}` : ''}
      </p>
      <h2>Parallel coordinates</h2>
      <ParallelCoords trials={trials} objective={study.metric} goal={study.goal} />
      <h2>Best so far</h2>
      <LineChart title={`best ${study.metric} by trial`} series={curve} height={200} xLabel="trial" />
      <h2>Trials</h2>
      <table className="table compact">
        <thead>
          <tr>
            {header('number', '#')}
            {header('state', 'State')}
            {paramKeys.map((k) => header(k, k))}
            {header('value', study.metric)}
          </tr>
        </thead>
        <tbody>
          {sorted.map((t) => (
            <tr key={t.number} className={study.best?.number === t.number ? 'current' : ''}>
              <td>{t.number}</td>
              <td>
                <StateBadge state={t.state} />
              </td>
              {paramKeys.map((k) => (
                <td key={k}>{formatValue(t.params[k])}</td>
              ))}
              <td>{formatValue(t.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
