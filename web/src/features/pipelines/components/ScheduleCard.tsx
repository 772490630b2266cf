import { ErrorMessage } from '@/components/Feedback';
import { formatTime } from '@/lib/format';
import { useSchedule, useScheduleAction } from '../api/schedules';

export function ScheduleCard({ pipeline, canOperate }: { pipeline: string; canOperate: boolean }) {
  const s = useSchedule(pipeline);
  const act = useScheduleAction(pipeline);
  if (s.isLoading) return null;
  if (!s.data) return <p className="empty">No schedule.</p>;
  const d = s.data;
  const next = (d.next_fires ?? d.next ?? []) as unknown[];
  return (
    <div className="card" aria-label="schedule">
      <p>
        <code>{d.cron}</code> in <strong>{d.timezone}</strong> · catch-up {d.catchup} · concurrency {d.concurrency} ·{' '}
        {d.paused ? <strong>paused</strong> : d.ended ? 'ended' : 'active'} · {d.fires} fires
      </p>
      {next.length > 0 && (
        <>
          <h3>Next fires ({d.timezone})</h3>
          <ul>
            {next.map((n, i) => {
              const when = typeof n === 'string' ? n : ((n as { logical_date?: string; at?: string }).logical_date ?? (n as { at?: string }).at ?? '');
              return (
                <li key={i}>
                  {formatTime(when)} <code>{when}</code>
                </li>
              );
            })}
          </ul>
        </>
      )}
      {canOperate && (
        <div className="actions">
          {d.paused ? (
            <button type="button" onClick={() => act.mutate('resume')} disabled={act.isPending}>
              Resume
            </button>
          ) : (
            <button type="button" onClick={() => act.mutate('pause')} disabled={act.isPending}>
              Pause
            </button>
          )}
          <button type="button" onClick={() => act.mutate('trigger')} disabled={act.isPending}>
            Trigger now
          </button>
        </div>
      )}
      <ErrorMessage error={act.error} />
    </div>
  );
}
