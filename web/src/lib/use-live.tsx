// List-then-watch: views load with TanStack Query, then this hook follows /api/v1/events and
// refreshes the queries an event touches (coalesced: at most one refresh per `throttleMs`).
import { useEffect, useRef, useState } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { apiRequest } from './api-client';
import { openEventStream, type CtEvent } from './event-stream';

export type LiveStatus = 'connecting' | 'open' | 'retrying' | 'closed';

export function useLiveInvalidate(opts: {
  run?: string;
  keys: (e: CtEvent) => QueryKey[];
  throttleMs?: number;
  enabled?: boolean;
}): LiveStatus {
  const qc = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>('connecting');
  const keysRef = useRef(opts.keys);
  keysRef.current = opts.keys;
  const { run, throttleMs = 250, enabled = true } = opts;
  useEffect(() => {
    if (!enabled) return;
    let cancelled = false;
    let close: (() => void) | null = null;
    const pending = new Map<string, QueryKey>();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      for (const k of pending.values()) void qc.invalidateQueries({ queryKey: k });
      pending.clear();
    };
    const onEvent = (e: CtEvent) => {
      for (const k of keysRef.current(e)) pending.set(JSON.stringify(k), k);
      if (!timer) timer = setTimeout(flush, throttleMs);
    };
    // Every stream starts at the newest event: the view has just loaded its data, so replaying
    // history (a big run has tens of thousands of events) would only refetch what it has.
    const start = async () => {
      let after: string | undefined;
      try {
        after = (await apiRequest<{ last_id: string }>('/api/v1/events/head')).last_id;
      } catch {
        after = undefined;
      }
      if (cancelled) return;
      close = openEventStream({ run, after, onEvent, onStatus: setStatus });
    };
    void start();
    return () => {
      cancelled = true;
      close?.();
      if (timer) clearTimeout(timer);
    };
  }, [qc, run, throttleMs, enabled]);
  return status;
}

export function LiveDot({ status }: { status: LiveStatus }) {
  const label = status === 'open' ? 'live' : status === 'retrying' ? 'reconnecting' : status === 'closed' ? 'offline' : 'connecting';
  return (
    <span className={`live live-${status}`} role="status" aria-live="polite">
      <span aria-hidden="true">●</span> {label}
    </span>
  );
}
