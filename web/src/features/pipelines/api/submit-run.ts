import { useMutation, useQueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface Submitted {
  id: string;
  pipeline: string;
  pipeline_version: string;
}

export const submitRun = (pipeline: string, params: Record<string, unknown>) =>
  apiRequest<Submitted>(`/api/v1/pipelines/${encodeURIComponent(pipeline)}/runs`, { method: 'POST', body: { params } });

export function useSubmitRun(pipeline: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (params: Record<string, unknown>) => submitRun(pipeline, params),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['runs'] }),
  });
}
