import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface PipelineSummary {
  name: string;
  created_at: string;
  versions: number;
  latest_version: string;
  runs: number;
}

export const getPipelines = () => apiRequest<{ pipelines: PipelineSummary[] }>('/api/v1/pipelines');

export function usePipelines() {
  return useQuery({ queryKey: ['pipelines'], queryFn: getPipelines, select: (d) => d.pipelines });
}
