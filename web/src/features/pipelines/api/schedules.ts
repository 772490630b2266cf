import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface Schedule {
  pipeline: string;
  cron: string;
  timezone: string;
  catchup: string;
  concurrency: string;
  paused: boolean;
  next_fire_at: string | null;
  last_logical_date: string | null;
  ended: boolean;
  fires: number;
  next?: string[];
  next_fires?: string[];
  [k: string]: unknown;
}

export const getSchedule = (pipeline: string) =>
  apiRequest<Schedule>(`/api/v1/schedules/${encodeURIComponent(pipeline)}`, { query: { n: 5 } });

export function useSchedule(pipeline: string) {
  return useQuery({ queryKey: ['schedule', pipeline], queryFn: () => getSchedule(pipeline), retry: false });
}

export function useScheduleAction(pipeline: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (op: 'pause' | 'resume' | 'trigger') =>
      apiRequest<unknown>(`/api/v1/schedules/${encodeURIComponent(pipeline)}/${op}`, { method: 'POST' }),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: ['schedule', pipeline] });
      void qc.invalidateQueries({ queryKey: ['runs'] });
    },
  });
}
