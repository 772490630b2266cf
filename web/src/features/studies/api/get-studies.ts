import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface StudySummary {
  id: string;
  run_id: string;
  task: string;
  algorithm: string;
  metric: string;
  goal: 'maximize' | 'minimize';
  max_trials: number;
  parallelism: number;
  state: string;
  error: string | null;
  created_at: string;
  finished_at: string | null;
  trials: { total: number; complete: number; running: number; failed: number; pruned: number };
  best: { number: number; params: Record<string, unknown>; value: number } | null;
}

export interface Trial {
  number: number;
  params: Record<string, unknown>;
  state: string;
  value: number | null;
  error: string | null;
  task_run_id: string;
  task: string;
  created_at: string;
  finished_at: string | null;
}

export interface Study extends StudySummary {
  space: Record<string, { type: string; min?: number; max?: number; log?: boolean; values?: unknown[] }>;
  early_stopping: unknown;
  trials_list?: Trial[];
  [k: string]: unknown;
}

export const getStudies = (run?: string) => apiRequest<{ studies: StudySummary[] }>('/api/v1/studies', { query: { run, limit: 100 } });

export function useStudies(run?: string) {
  return useQuery({ queryKey: ['studies', run ?? null], queryFn: () => getStudies(run), select: (d) => d.studies });
}
