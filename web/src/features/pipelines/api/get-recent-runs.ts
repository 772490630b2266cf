import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface RecentRun {
  id: string;
  state: string;
}

// The last few runs of a pipeline, for its strip of recent outcomes.
export const getRecentRuns = (pipeline: string, n = 12) =>
  apiRequest<{ runs: RecentRun[] }>('/api/v1/runs', { query: { pipeline, limit: n } });

export function useRecentRuns(pipeline: string, n = 12) {
  return useQuery({ queryKey: ['runs', 'recent', pipeline, n], queryFn: () => getRecentRuns(pipeline, n), select: (d) => d.runs });
}
