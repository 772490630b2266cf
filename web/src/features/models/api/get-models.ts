import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface ModelSummary {
  name: string;
  created_at: string;
  versions: number;
  latest_version: number | null;
  aliases: Record<string, number> | { alias: string; version: number }[] | null;
}

export interface ModelVersion {
  version: number;
  run_id: string | null;
  created_at: string;
  metrics: Record<string, unknown> | null;
  parent_version: number | null;
  aliases: string[];
}

export interface Model {
  name: string;
  created_at: string;
  aliases: unknown;
  versions: ModelVersion[];
}

export interface Deployment {
  alias: string;
  version: number;
  run_id: string | null;
  task: string | null;
  created_at: string;
  superseded_at: string | null;
  current: boolean;
}

export const getModels = () => apiRequest<{ models: ModelSummary[] }>('/api/v1/models');
export const getModel = (name: string) => apiRequest<Model>(`/api/v1/models/${encodeURIComponent(name)}`);
export const getDeployments = (name: string) =>
  apiRequest<{ deployments: Deployment[] }>(`/api/v1/models/${encodeURIComponent(name)}/deployments`);

export function useModels() {
  return useQuery({ queryKey: ['models'], queryFn: getModels, select: (d) => d.models });
}
export function useModel(name: string) {
  return useQuery({ queryKey: ['model', name], queryFn: () => getModel(name) });
}
export function useDeployments(name: string) {
  return useQuery({ queryKey: ['model', name, 'deployments'], queryFn: () => getDeployments(name), select: (d) => d.deployments });
}
