import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Run } from '@/lib/types';

export const getRun = (id: string) => apiRequest<Run>(`/api/v1/runs/${encodeURIComponent(id)}`);

export function useRun(id: string) {
  return useQuery({ queryKey: ['run', id], queryFn: () => getRun(id) });
}
