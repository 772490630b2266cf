// The live feed: /api/v1/events (Server-Sent Events) read with fetch, so the token travels in
// the Authorization header and never in a URL. On a drop it reconnects with backoff (3 s, x1.5,
// up to 60 s, as the Argo UI's list-watch does) and resumes after the last event it saw.
import { fetchEventSource, EventStreamContentType } from '@microsoft/fetch-event-source';
import { authHeaders, buildUrl, toApiError } from './api-client';

export interface CtEvent {
  id: string;
  kind: string;
  run_id?: string | null;
  task_run_id?: string | null;
  payload?: Record<string, unknown>;
  [k: string]: unknown;
}

export function nextBackoff(prevMs: number | null): number {
  if (prevMs === null) return 3000;
  return Math.min(60000, Math.round(prevMs * 1.5));
}

class FatalError extends Error {}

export interface StreamOptions {
  run?: string;
  after?: string;
  onEvent: (e: CtEvent) => void;
  onStatus?: (s: 'open' | 'retrying' | 'closed') => void;
}

export function openEventStream(opts: StreamOptions): () => void {
  const ctrl = new AbortController();
  let last = opts.after ?? '';
  let backoff: number | null = null;
  void fetchEventSource(buildUrl('/api/v1/events', { run: opts.run, after: last || undefined }), {
    signal: ctrl.signal,
    headers: authHeaders(),
    openWhenHidden: true,
    async onopen(res) {
      if (res.ok && res.headers.get('content-type')?.startsWith(EventStreamContentType)) {
        backoff = null;
        opts.onStatus?.('open');
        return;
      }
      const err = await toApiError(res);
      if (res.status === 401 || res.status === 403 || res.status === 400) throw new FatalError(err.message);
      throw err;
    },
    onmessage(msg) {
      if (!msg.data) return;
      if (msg.id) last = msg.id;
      try {
        const e = JSON.parse(msg.data) as CtEvent;
        if (!e.kind) e.kind = msg.event;
        opts.onEvent(e);
      } catch {
        /* a malformed event is skipped */
      }
    },
    onerror(err) {
      if (err instanceof FatalError) {
        opts.onStatus?.('closed');
        throw err;
      }
      backoff = nextBackoff(backoff);
      opts.onStatus?.('retrying');
      return backoff;
    },
  }).catch(() => undefined);
  return () => ctrl.abort();
}
