// Run and task states as the dashboard shows them: a colour AND an icon and a word, so state is
// never told by colour alone.
export type Tone = 'ok' | 'bad' | 'active' | 'wait' | 'muted' | 'warn';

export interface StateLook {
  label: string;
  icon: string;
  tone: Tone;
  final: boolean;
}

const LOOKS: Record<string, StateLook> = {
  pending: { label: 'pending', icon: '○', tone: 'wait', final: false },
  queued: { label: 'queued', icon: '○', tone: 'wait', final: false },
  ready: { label: 'ready', icon: '◔', tone: 'wait', final: false },
  dispatched: { label: 'dispatched', icon: '◑', tone: 'active', final: false },
  running: { label: 'running', icon: '▶', tone: 'active', final: false },
  succeeded: { label: 'succeeded', icon: '✔', tone: 'ok', final: true },
  complete: { label: 'complete', icon: '✔', tone: 'ok', final: true },
  cached: { label: 'cached', icon: '⟲', tone: 'ok', final: true },
  failed: { label: 'failed', icon: '✖', tone: 'bad', final: true },
  upstream_failed: { label: 'upstream failed', icon: '⊘', tone: 'warn', final: true },
  skipped: { label: 'skipped', icon: '↷', tone: 'muted', final: true },
  cancelled: { label: 'cancelled', icon: '■', tone: 'muted', final: true },
  pruned: { label: 'pruned', icon: '✂', tone: 'muted', final: true },
};

export function stateLook(state: string | null | undefined): StateLook {
  if (!state) return { label: 'unknown', icon: '?', tone: 'muted', final: false };
  return LOOKS[state] ?? { label: state.replace(/_/g, ' '), icon: '?', tone: 'muted', final: false };
}

export const TONE_COLOURS: Record<Tone, { bg: string; fg: string; border: string }> = {
  ok: { bg: '#e3f4e8', fg: '#14532d', border: '#2f9e55' },
  bad: { bg: '#fde4e4', fg: '#7f1d1d', border: '#d64545' },
  active: { bg: '#e0ecfd', fg: '#1e3a8a', border: '#3b7be0' },
  wait: { bg: '#f1f3f5', fg: '#343a40', border: '#8a939c' },
  muted: { bg: '#f4f4f4', fg: '#4a4a4a', border: '#a0a0a0' },
  warn: { bg: '#fff2d6', fg: '#713f12', border: '#d99a1e' },
};

export const TASK_STATE_ORDER = [
  'running', 'dispatched', 'ready', 'pending', 'failed', 'upstream_failed', 'succeeded', 'cached', 'skipped', 'cancelled',
];

export function isFinal(state: string | null | undefined): boolean {
  return stateLook(state).final;
}
