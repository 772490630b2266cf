import { stateLook, TONE_COLOURS } from '@/lib/states';

export function StateBadge({ state, count }: { state: string | null | undefined; count?: number }) {
  const look = stateLook(state);
  const c = TONE_COLOURS[look.tone];
  return (
    <span
      className="badge"
      data-state={state ?? 'unknown'}
      style={{ background: c.bg, color: c.fg, borderColor: c.border }}
    >
      <span aria-hidden="true">{look.icon}</span> {look.label}
      {count !== undefined ? ` ${count}` : ''}
    </span>
  );
}
