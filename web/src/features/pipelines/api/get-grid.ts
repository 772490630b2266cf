import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface Grid {
  pipeline: string;
  tasks: string[];
  runs: { id: string; state: string; created_at: string | null; duration_ms: number | null; cells: (string | null)[] }[];
}

export const getGrid = (pipeline: string, runs = 25) =>
  apiRequest<Grid>(`/api/v1/pipelines/${encodeURIComponent(pipeline)}/grid`, { query: { runs } });

export function useGrid(pipeline: string, runs = 25) {
  return useQuery({ queryKey: ['grid', pipeline, runs], queryFn: () => getGrid(pipeline, runs) });
}
