import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

// GET /api/v1/models/{name}/monitor: live accuracy per version in time buckets, and each
// monitor's recent checks (scheduler/store/predictions.hpp, monitors.hpp).
export interface MonitorBucket {
  at: string;
  predictions: number;
  labeled: number;
  correct: number;
  accuracy: number | null;
  mean: number;
  ink: number;
}

export interface MonitorVersion {
  version: number;
  predictions: number;
  labeled: number;
  accuracy: number | null;
  series: MonitorBucket[];
}

export interface MonitorCheck {
  at: string;
  version: number | null;
  labels: number;
  accuracy: number | null;
  drift_metric: string | null;
  drift_feature: string | null;
  drift: number | null;
  crossed: { metric: string; feature?: string; value: number; threshold: number }[];
  outcome: string;
  run_id: string | null;
}

export interface MonitorInfo {
  pipeline: string;
  alias: string;
  last_triggered_at: string | null;
  last_run_id: string | null;
  checks: MonitorCheck[];
}

export interface MonitorView {
  model: string;
  aliases: Record<string, number>;
  bucket: string;
  versions: MonitorVersion[];
  monitors: MonitorInfo[];
}

export const getMonitor = (name: string) => apiRequest<MonitorView>(`/api/v1/models/${encodeURIComponent(name)}/monitor`, { query: { bucket: '1h', points: 48 } });

export function useMonitor(name: string) {
  return useQuery({ queryKey: ['model', name, 'monitor'], queryFn: () => getMonitor(name), refetchInterval: 30_000 });
}
