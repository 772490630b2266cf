import { Link } from 'react-router-dom';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { formatTime } from '@/lib/format';
import { useModels } from '../api/get-models';

function aliasText(a: unknown): string {
  if (!a) return '—';
  if (Array.isArray(a)) return a.map((x) => (typeof x === 'object' && x ? `${(x as { alias: string }).alias} → v${(x as { version: number }).version}` : String(x))).join(', ') || '—';
  if (typeof a === 'object') return Object.entries(a as Record<string, unknown>).map(([k, v]) => `${k} → v${String(v)}`).join(', ') || '—';
  return String(a);
}

export function ModelsPage() {
  const m = useModels();
  return (
    <section aria-labelledby="m-h">
      <h1 id="m-h">Models</h1>
      <ErrorMessage error={m.error} />
      {m.isLoading && <Loading what="models" />}
      {m.data && m.data.length === 0 && <Empty>No registered models yet: a task registers one through its outputs file.</Empty>}
      {m.data && m.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Versions</th>
              <th scope="col">Latest</th>
              <th scope="col">Aliases</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {m.data.map((x) => (
              <tr key={x.name}>
                <td>
                  <Link to={`/models/${encodeURIComponent(x.name)}`}>{x.name}</Link>
                </td>
                <td>{x.versions}</td>
                <td>{x.latest_version ? `v${x.latest_version}` : '—'}</td>
                <td>{aliasText(x.aliases)}</td>
                <td>{formatTime(x.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export { aliasText };
