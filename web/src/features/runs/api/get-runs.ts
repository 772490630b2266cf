import { useInfiniteQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Run } from '@/lib/types';
import type { RunFilters } from '../lib/filters';

export interface RunPage {
  runs: Run[];
  next_cursor: string | null;
}

export const PAGE_SIZE = 100;

export function getRuns(f: RunFilters, cursor?: string, limit = PAGE_SIZE): Promise<RunPage> {
  return apiRequest<RunPage>('/api/v1/runs', {
    query: { pipeline: f.pipeline, state: f.state, trigger: f.trigger, since: f.since, until: f.until, cursor, limit },
  });
}

// Pages of runs, newest first; the list asks for the next page as it scrolls.
export function useRuns(f: RunFilters) {
  return useInfiniteQuery({
    queryKey: ['runs', f],
    queryFn: ({ pageParam }) => getRuns(f, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}
