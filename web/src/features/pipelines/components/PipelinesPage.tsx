import { Link } from 'react-router-dom';
import { ErrorMessage, Loading, Empty } from '@/components/Feedback';
import { formatTime, shortDigest } from '@/lib/format';
import { usePipelines } from '../api/get-pipelines';
import { useRecentRuns } from '../api/get-recent-runs';
import { stateLook, TONE_COLOURS } from '@/lib/states';

function OutcomeStrip({ pipeline }: { pipeline: string }) {
  const r = useRecentRuns(pipeline);
  const runs = [...(r.data ?? [])].reverse();
  return (
    <span className="strip" aria-label={`recent runs of ${pipeline}`}>
      {runs.map((x) => {
        const look = stateLook(x.state);
        return (
          <Link key={x.id} to={`/runs/${x.id}`} style={{ background: TONE_COLOURS[look.tone].border }} title={`run #${x.id}: ${look.label}`} aria-label={`run ${x.id} ${look.label}`}>
            <span aria-hidden="true">{look.icon}</span>
          </Link>
        );
      })}
    </span>
  );
}

export function PipelinesPage() {
  const p = usePipelines();
  return (
    <section aria-labelledby="pl-h">
      <h1 id="pl-h">Pipelines</h1>
      <ErrorMessage error={p.error} />
      {p.isLoading && <Loading what="pipelines" />}
      {p.data && p.data.length === 0 && <Empty>No pipelines yet: submit one with <code>ctflow submit FILE</code>.</Empty>}
      {p.data && p.data.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Pipeline</th>
              <th scope="col">Versions</th>
              <th scope="col">Latest version</th>
              <th scope="col">Runs</th>
              <th scope="col">Recent outcomes</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {p.data.map((x) => (
              <tr key={x.name}>
                <td>
                  <Link to={`/pipelines/${encodeURIComponent(x.name)}`}>{x.name}</Link>
                </td>
                <td>{x.versions}</td>
                <td>
                  <code>{shortDigest(x.latest_version)}</code>
                </td>
                <td>
                  <Link to={`/runs?pipeline=${encodeURIComponent(x.name)}`}>{x.runs}</Link>
                </td>
                <td>
                  <OutcomeStrip pipeline={x.name} />
                </td>
                <td>{formatTime(x.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
