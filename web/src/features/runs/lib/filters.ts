// The Runs list's filters live in the URL (?pipeline=&state=&trigger=&since=&until=), so a view
// can be shared and survives a reload. Pure functions, tested without a browser.
export interface RunFilters {
  pipeline?: string;
  state?: string;
  trigger?: string;
  since?: string;
  until?: string;
}

const KEYS: (keyof RunFilters)[] = ['pipeline', 'state', 'trigger', 'since', 'until'];
export const RUN_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
export const TRIGGERS = ['api', 'schedule', 'backfill', 'rerun', 'monitor'];

export function filtersFromSearch(search: URLSearchParams): RunFilters {
  const f: RunFilters = {};
  for (const k of KEYS) {
    const v = search.get(k);
    if (v) f[k] = v;
  }
  if (f.state && !RUN_STATES.includes(f.state)) delete f.state;
  return f;
}

export function filtersToSearch(f: RunFilters): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of KEYS) {
    const v = f[k];
    if (v) p.set(k, v);
  }
  return p;
}

// An <input type="datetime-local"> value (local time) as an ISO-8601 instant, or undefined.
export function localToIso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function isoToLocal(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
