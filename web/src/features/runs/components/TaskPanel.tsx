import { useEffect, useRef } from 'react';
import { StateBadge } from '@/components/StateBadge';
import { ErrorMessage, Loading } from '@/components/Feedback';
import { formatDuration, formatTime, formatValue } from '@/lib/format';
import { isFinal } from '@/lib/states';
import { useTask } from '../api/get-task';
import { useTaskLog } from '../api/get-task-log';
import { rerunFrom, useRunAction } from '../api/run-actions';
import { downloadArtifact } from '../api/download-artifact';

function LogView({ run, task, attempt, started }: { run: string; task: string; attempt: number; started: boolean }) {
  const log = useTaskLog(run, task, attempt, started);
  const ref = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [log.text]);
  if (!started) return <p className="empty">No log yet: the task has not started.</p>;
  return (
    <div>
      <p className="log-status" role="status">
        {log.following ? 'following the log…' : 'log complete'} ({log.text.length} bytes)
      </p>
      <ErrorMessage error={log.error} />
      <pre className="log" ref={ref} data-testid="task-log" tabIndex={0} aria-label={`log of ${task}`}>
        {log.text}
      </pre>
    </div>
  );
}

export function TaskPanel({ run, name, canOperate, specCommand, onClose }: { run: string; name: string; canOperate: boolean; specCommand?: string[]; onClose: () => void }) {
  const task = useTask(run, name);
  const rerun = useRunAction((t: string) => rerunFrom(run, t));
  const t = task.data;
  const last = t?.attempts[t.attempts.length - 1];
  return (
    <aside className="task-panel" aria-label={`task ${name}`}>
      <header>
        <h2>
          Task <code>{name}</code>
        </h2>
        <button type="button" onClick={onClose} aria-label="close task details">
          ✕
        </button>
      </header>
      {task.isLoading && <Loading what="task" />}
      <ErrorMessage error={task.error} />
      {t && (
        <>
          <dl className="facts">
            <dt>State</dt>
            <dd>
              <StateBadge state={t.state} />
            </dd>
            <dt>Attempt</dt>
            <dd>
              {t.attempt} of {t.max_attempts}
            </dd>
            <dt>Duration</dt>
            <dd>{formatDuration(t.duration_ms)}</dd>
            <dt>Exit code</dt>
            <dd>{t.exit_code ?? '—'}</dd>
            {t.error && (
              <>
                <dt>Reason</dt>
                <dd className="reason">{t.error}</dd>
              </>
            )}
            <dt>Cache</dt>
            <dd>{t.cache_reason ?? 'off'}</dd>
            {t.pool && (
              <>
                <dt>Pool</dt>
                <dd>{t.pool}</dd>
              </>
            )}
          </dl>
          {last?.argv && last.argv.length > 0 ? (
            <>
              <h3>Command</h3>
              <pre className="command">{quoteArgv(last.argv)}</pre>
            </>
          ) : specCommand ? (
            <>
              <h3>Command (as the spec declares it)</h3>
              <pre className="command">{quoteArgv(specCommand)}</pre>
            </>
          ) : null}
          {t.outputs && Object.keys(t.outputs).length > 0 && (
            <>
              <h3>Outputs</h3>
              <Outputs outputs={t.outputs} />
            </>
          )}
          <h3>Attempts</h3>
          <table className="table compact">
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">State</th>
                <th scope="col">Exit</th>
                <th scope="col">Started</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {t.attempts.map((a) => (
                <tr key={a.attempt}>
                  <td>{a.attempt}</td>
                  <td>
                    <StateBadge state={a.state} />
                  </td>
                  <td>{a.exit_code ?? '—'}</td>
                  <td>{formatTime(a.started_at)}</td>
                  <td>{a.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {canOperate && isFinal(t.state) && (
            <p>
              <button type="button" onClick={() => rerun.mutate(name)} disabled={rerun.isPending}>
                Rerun from here
              </button>
              <ErrorMessage error={rerun.error} />
              {rerun.data ? <span role="status"> new run {(rerun.data as { id?: string }).id ?? ""}</span> : null}
            </p>
          )}
          <h3>Log</h3>
          <LogView run={run} task={name} attempt={t.attempt} started={t.attempts.length > 0} />
        </>
      )}
    </aside>
  );
}

function quoteArgv(argv: string[]): string {
  return argv.map((a) => (/[\s"'$]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ');
}

function isArtifactMap(v: unknown): v is Record<string, { digest?: string; kind?: string; path?: string }> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

function Outputs({ outputs }: { outputs: Record<string, unknown> }) {
  const { artifacts, ...rest } = outputs as Record<string, unknown> & { artifacts?: unknown };
  const values = (rest.outputs && typeof rest.outputs === 'object' ? rest.outputs : rest) as Record<string, unknown>;
  const arts = isArtifactMap(artifacts) ? artifacts : {};
  return (
    <>
      <table className="table compact">
        <tbody>
          {Object.entries(values).map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{formatValue(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {Object.keys(arts).length > 0 && (
        <ul className="artifacts">
          {Object.entries(arts).map(([k, a]) => (
            <li key={k}>
              {k} ({a.kind ?? 'file'}){' '}
              {a.digest && (
                <button type="button" className="link" data-artifact={a.digest} onClick={() => void downloadArtifact(a.digest as string, k)}>
                  download {a.digest.replace(/^sha256:/, '').slice(0, 12)}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
