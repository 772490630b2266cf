import { useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { formatTime, shortDigest } from '@/lib/format';
import { usePipeline } from '../api/get-pipeline';
import { diffLines, specText } from '../lib/diff';
import { ParamsForm } from './ParamsForm';
import { ScheduleCard } from './ScheduleCard';
import { PipelineGrid } from './PipelineGrid';

export function PipelineDetail({ name, canOperate }: { name: string; canOperate: boolean }) {
  const p = usePipeline(name);
  const [shown, setShown] = useState(0);
  const [against, setAgainst] = useState<number | null>(null);
  const versions = useMemo(() => p.data?.versions ?? [], [p.data]);
  const diff = useMemo(() => {
    if (against === null || !versions[against] || !versions[shown]) return null;
    return diffLines(specText(versions[against]!.spec).split('\n'), specText(versions[shown]!.spec).split('\n'));
  }, [versions, shown, against]);
  if (p.isLoading) return <Loading what="pipeline" />;
  if (p.error || !p.data) return <ErrorMessage error={p.error} />;
  const latest = versions[0];
  const v = versions[shown];
  return (
    <section aria-labelledby="p-h">
      <div className="page-head">
        <h1 id="p-h">Pipeline {name}</h1>
        <Link to={`/runs?pipeline=${encodeURIComponent(name)}`}>its runs</Link>
      </div>
      <h2>Last runs</h2>
      <PipelineGrid pipeline={name} />
      <div className="columns">
        <div>
          <h2>Submit a run</h2>
          {canOperate ? (
            <ParamsForm key={latest?.digest} pipeline={name} params={latest?.spec.params} />
          ) : (
            <p className="empty">Viewers cannot submit runs.</p>
          )}
          <h2>Schedule</h2>
          <ScheduleCard pipeline={name} canOperate={canOperate} />
        </div>
        <div>
          <h2>Versions</h2>
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Stored</th>
                <th scope="col">Show</th>
                <th scope="col">Diff</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((x, i) => (
                <tr key={x.digest} className={i === shown ? 'current' : ''}>
                  <td>
                    <code>{shortDigest(x.digest)}</code>
                    {i === 0 ? ' (latest)' : ''}
                  </td>
                  <td>{formatTime(x.created_at)}</td>
                  <td>
                    <button type="button" className="link" onClick={() => { setShown(i); setAgainst(null); }} aria-label={`show version ${shortDigest(x.digest)}`}>
                      spec
                    </button>
                  </td>
                  <td>
                    {i !== shown && (
                      <button type="button" className="link" onClick={() => setAgainst(i)} aria-label={`diff against ${shortDigest(x.digest)}`}>
                        diff
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {v && !diff && (
            <>
              <h3>Spec of {shortDigest(v.digest)}</h3>
              <pre className="spec" tabIndex={0} aria-label="pipeline spec">{specText(v.spec)}</pre>
            </>
          )}
          {diff && (
            <>
              <h3>
                Diff {shortDigest(versions[against!]!.digest)} → {shortDigest(v?.digest)}
              </h3>
              <pre className="spec diff" tabIndex={0} aria-label="spec diff">
                {diff.map((l, i) => (
                  <div key={i} className={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>
                    {l.op} {l.text}
                  </div>
                ))}
              </pre>
            </>
          )}
        </div>
      </div>
    </section>
  );
}
