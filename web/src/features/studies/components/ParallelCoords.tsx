import { useMemo, useState } from 'react';
import type { Trial } from '../api/get-studies';
import { axesOf, position } from '../lib/trials';
import { formatValue } from '@/lib/format';

// Parallel coordinates: one vertical axis per param and the objective, one line per trial,
// coloured by objective (best dark), pruned and failed trials dashed grey. Hover a line for its
// trial; the table beside it has the same numbers for keyboard and screen-reader users.
export function ParallelCoords({ trials, objective, goal }: { trials: Trial[]; objective: string; goal: 'maximize' | 'minimize' }) {
  const axes = useMemo(() => axesOf(trials, objective), [trials, objective]);
  const [hover, setHover] = useState<number | null>(null);
  const W = Math.max(900, axes.length * 220);
  const H = 340;
  const pad = { l: 60, r: 60, t: 30, b: 30 };
  const x = (i: number) => pad.l + (axes.length <= 1 ? 0 : (i * (W - pad.l - pad.r)) / (axes.length - 1));
  const y = (p: number) => pad.t + (1 - p) * (H - pad.t - pad.b);
  const obj = axes[axes.length - 1]!;
  const colour = (v: number | null) => {
    if (v === null) return '#aaa';
    let p = position(obj, v) ?? 0.5;
    if (goal === 'minimize') p = 1 - p;
    const l = 80 - p * 55;
    return `hsl(212, 75%, ${l}%)`;
  };
  return (
    <figure className="parcoords" data-testid="parallel-coordinates">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" style={{ maxWidth: W }} role="img" aria-label={`parallel coordinates of ${trials.length} trials over ${axes.map((a) => a.key).join(', ')}`}>
        {trials.map((t) => {
          const pts = axes.map((a, i) => {
            const p = position(a, i === axes.length - 1 ? t.value : t.params[a.key]);
            return p === null ? null : `${x(i)},${y(p)}`;
          });
          if (pts.some((p) => p === null) && t.value !== null) return null;
          const d = pts.filter(Boolean).join(' ');
          const weak = t.state === 'pruned' || t.state === 'failed';
          return (
            <polyline
              key={t.number}
              points={d}
              fill="none"
              stroke={weak ? '#b0b0b0' : colour(t.value)}
              strokeWidth={hover === t.number ? 4 : 2}
              strokeDasharray={weak ? '5 4' : undefined}
              opacity={hover === null || hover === t.number ? 0.9 : 0.25}
              onMouseEnter={() => setHover(t.number)}
              onMouseLeave={() => setHover(null)}
              data-trial={t.number}
            >
              <title>
                trial {t.number} ({t.state}): {Object.entries(t.params).map(([k, v]) => `${k}=${formatValue(v)}`).join(', ')} → {formatValue(t.value)}
              </title>
            </polyline>
          );
        })}
        {axes.map((a, i) => (
          <g key={a.key}>
            <line x1={x(i)} x2={x(i)} y1={pad.t} y2={H - pad.b} stroke="#333" />
            <text x={x(i)} y={pad.t - 10} textAnchor="middle" fontSize="12" fontWeight={i === axes.length - 1 ? 700 : 400}>
              {a.key}
              {a.kind === 'log' ? ' (log)' : ''}
            </text>
            <text x={x(i) + 4} y={H - pad.b + 14} fontSize="10">
              {a.kind === 'cat' ? a.cats[0] ?? '' : formatValue(a.min)}
            </text>
            <text x={x(i) + 4} y={pad.t + 10} fontSize="10">
              {a.kind === 'cat' ? a.cats[a.cats.length - 1] ?? '' : formatValue(a.max)}
            </text>
          </g>
        ))}
      </svg>
      <figcaption>
        Each line is a trial; darker is better {objective}. Dashed grey: pruned or failed.
      </figcaption>
    </figure>
  );
}
