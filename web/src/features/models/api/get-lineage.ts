import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface LineageArtifact {
  name: string;
  digest: string;
  kind: string | null;
  produced_by: { run_id: string; task: string; name: string }[];
}

export interface Lineage {
  model: string;
  version: number;
  run: { id: string; state: string; pipeline: string; pipeline_version: string; logical_date: string | null; params: Record<string, unknown> } | null;
  task: { id: string; name: string; attempt: number } | null;
  inputs: LineageArtifact[];
  artifacts: LineageArtifact[];
  data_partitions: unknown[];
  parent: { version: number; run_id: string; created_at: string } | null;
}

export const getLineage = (name: string, version: number) =>
  apiRequest<Lineage>(`/api/v1/models/${encodeURIComponent(name)}/versions/${version}/lineage`);

export const getRunTrigger = (run: string) => apiRequest<{ trigger: string | null; state: string }>(`/api/v1/runs/${run}`, { query: { tasks: false } });

export function useLineage(name: string, version: number | null) {
  return useQuery({ queryKey: ['lineage', name, version], queryFn: () => getLineage(name, version as number), enabled: version !== null });
}

export function useRunTrigger(run: string | undefined) {
  return useQuery({ queryKey: ['run', run, 'trigger'], queryFn: () => getRunTrigger(run as string), enabled: !!run });
}
