// The API's resources as the dashboard reads them (see /api/v1/openapi.json).
export interface Run {
  id: string;
  pipeline: string;
  pipeline_version: string;
  state: string;
  params: Record<string, unknown> | null;
  trigger: string | null;
  tasks_total: number;
  tasks_done: number;
  tasks_failed: number;
  error: string | null;
  cancel_requested: boolean;
  logical_date: string | null;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  tasks?: Task[];
}

export interface Task {
  id: string;
  name: string;
  state: string;
  attempt: number;
  max_attempts: number;
  pending_deps: number;
  pool: string | null;
  exit_code: number | null;
  error: string | null;
  cache_key: string | null;
  cache_reason: string | null;
  outputs: Record<string, unknown> | null;
  not_before: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  needs: string[];
}

export interface Attempt {
  attempt: number;
  state: string;
  exit_code: number | null;
  error: string | null;
  executor_ref: string | null;
  argv: string[] | null;
  started_at: string | null;
  finished_at: string | null;
}

export interface TaskDetail extends Task {
  attempts: Attempt[];
}
