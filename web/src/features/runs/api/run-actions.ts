// Operator actions on a run: cancel, retry the failed tasks, rerun from a task.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export const cancelRun = (id: string) => apiRequest<{ id: string; state: string }>(`/api/v1/runs/${id}/cancel`, { method: 'POST' });
export const retryRun = (id: string) => apiRequest<{ id: string; state: string }>(`/api/v1/runs/${id}/retry`, { method: 'POST' });
export const rerunFrom = (id: string, task: string) =>
  apiRequest<{ id: string }>(`/api/v1/runs/${id}/rerun`, { method: 'POST', body: { from: task } });

export function useRunAction<A>(fn: (arg: A) => Promise<unknown>) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSettled: () => qc.invalidateQueries({ queryKey: ['run'] }).then(() => qc.invalidateQueries({ queryKey: ['runs'] })),
  });
}
