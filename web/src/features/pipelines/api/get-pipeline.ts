import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface ParamSpec {
  type?: string;
  default?: unknown;
  description?: string;
  enum?: unknown[];
  values?: unknown[];
}

export interface PipelineVersion {
  digest: string;
  created_at: string;
  spec: { name?: string; params?: Record<string, ParamSpec>; tasks?: unknown[]; schedule?: unknown; [k: string]: unknown };
}

export interface Pipeline {
  name: string;
  created_at: string;
  versions: PipelineVersion[];
}

export const getPipeline = (name: string) => apiRequest<Pipeline>(`/api/v1/pipelines/${encodeURIComponent(name)}`);

export function usePipeline(name: string, enabled = true) {
  return useQuery({ queryKey: ['pipeline', name], queryFn: () => getPipeline(name), enabled: enabled && !!name, staleTime: 60_000 });
}
