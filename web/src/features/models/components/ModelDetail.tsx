import { Link, useSearchParams } from 'react-router-dom';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { formatTime, formatValue } from '@/lib/format';
import { useDeployments, useModel } from '../api/get-models';
import { useLineage, useRunTrigger } from '../api/get-lineage';
import { LineageGraph } from './LineageGraph';
import { MonitorPanel } from './MonitorPanel';

export function ModelDetail({ name }: { name: string }) {
  const m = useModel(name);
  const deps = useDeployments(name);
  const [search, setSearch] = useSearchParams();
  const versions = m.data?.versions ?? [];
  const latest = versions.reduce<number | null>((a, v) => (a === null || v.version > a ? v.version : a), null);
  const chosen = search.get('version') ? Number(search.get('version')) : latest;
  const lineage = useLineage(name, chosen);
  const trig = useRunTrigger(lineage.data?.run?.id);
  if (m.isLoading) return <Loading what="model" />;
  if (m.error || !m.data) return <ErrorMessage error={m.error} />;
  const metricKeys = Array.from(new Set(versions.flatMap((v) => Object.keys(v.metrics ?? {})))).slice(0, 6);
  const current = (deps.data ?? []).filter((d) => d.current);
  return (
    <section aria-labelledby="md-h">
      <h1 id="md-h">Model {name}</h1>
      <p>
        Deployed now:{' '}
        {current.length === 0
          ? 'nothing'
          : current.map((d) => (
              <span key={d.alias} className="count">
                <strong>{d.alias}</strong> → v{d.version}
              </span>
            ))}
      </p>
      <h2>Versions</h2>
      <table className="table compact">
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Run</th>
            <th scope="col">Aliases</th>
            {metricKeys.map((k) => (
              <th scope="col" key={k}>
                {k}
              </th>
            ))}
            <th scope="col">Created</th>
            <th scope="col">Lineage</th>
          </tr>
        </thead>
        <tbody>
          {[...versions].sort((a, b) => b.version - a.version).map((v) => (
            <tr key={v.version} className={v.version === chosen ? 'current' : ''}>
              <td>v{v.version}</td>
              <td>{v.run_id ? <Link to={`/runs/${v.run_id}`}>#{v.run_id}</Link> : '—'}</td>
              <td>{v.aliases?.join(', ') || '—'}</td>
              {metricKeys.map((k) => (
                <td key={k}>{formatValue(v.metrics?.[k])}</td>
              ))}
              <td>{formatTime(v.created_at)}</td>
              <td>
                <button type="button" className="link" onClick={() => setSearch({ version: String(v.version) }, { replace: true })} aria-label={`lineage of version ${v.version}`}>
                  show
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <MonitorPanel name={name} />
      <h2>Lineage of v{chosen}</h2>
      <ErrorMessage error={lineage.error} />
      {lineage.data && <LineageGraph lineage={lineage.data} deployments={deps.data ?? []} trigger={trig.data?.trigger} />}
    </section>
  );
}
