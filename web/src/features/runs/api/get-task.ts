import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { TaskDetail } from '@/lib/types';

export const getTask = (run: string, task: string) =>
  apiRequest<TaskDetail>(`/api/v1/runs/${encodeURIComponent(run)}/tasks/${encodeURIComponent(task)}`);

export function useTask(run: string, task: string | null) {
  return useQuery({
    queryKey: ['run', run, 'task', task],
    queryFn: () => getTask(run, task as string),
    enabled: !!task,
  });
}
