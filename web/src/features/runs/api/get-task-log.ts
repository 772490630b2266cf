// A task's log: read what is there, then follow it while the task runs (a streamed response
// that the server ends when the task does). Restarts when the attempt changes.
import { useEffect, useState } from 'react';
import { apiStream } from '@/lib/api-client';

export interface LogState {
  text: string;
  following: boolean;
  error: unknown;
}

const MAX_CHARS = 2_000_000;

export function useTaskLog(run: string, task: string | null, attempt: number | undefined, started: boolean): LogState {
  const [state, setState] = useState<LogState>({ text: '', following: false, error: null });
  useEffect(() => {
    if (!task || !started) {
      setState({ text: '', following: false, error: null });
      return;
    }
    const ctrl = new AbortController();
    setState({ text: '', following: true, error: null });
    apiStream(
      `/api/v1/runs/${encodeURIComponent(run)}/tasks/${encodeURIComponent(task)}/logs`,
      { follow: true, attempt },
      (chunk) =>
        setState((s) => {
          const text = s.text + chunk;
          return { ...s, text: text.length > MAX_CHARS ? text.slice(text.length - MAX_CHARS) : text };
        }),
      ctrl.signal,
    )
      .then(() => setState((s) => ({ ...s, following: false })))
      .catch((error: unknown) => {
        if ((error as Error).name !== 'AbortError') setState((s) => ({ ...s, following: false, error }));
      });
    return () => ctrl.abort();
  }, [run, task, attempt, started]);
  return state;
}
