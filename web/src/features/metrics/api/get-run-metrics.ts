import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface MetricPoint {
  step: number;
  min: number;
  max: number;
  last: number;
  count: number;
}
export interface MetricSeries {
  task: string;
  name: string;
  points_total: number;
  points: MetricPoint[];
}
export interface RunMetrics {
  run_id: string;
  series: MetricSeries[];
}

export const getRunMetrics = (run: string, maxPoints = 400) =>
  apiRequest<RunMetrics>(`/api/v1/runs/${encodeURIComponent(run)}/metrics`, { query: { max_points: maxPoints } });

export function useRunMetrics(run: string | undefined) {
  return useQuery({ queryKey: ['metrics', run], queryFn: () => getRunMetrics(run as string), enabled: !!run });
}
