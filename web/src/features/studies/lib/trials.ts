// Pure shaping of a study's trials: best-so-far curve, sorting, and parallel-coordinates axes.
import type { Trial } from '../api/get-studies';

export function bestSoFar(trials: Trial[], goal: 'maximize' | 'minimize'): { x: number; y: number }[] {
  const done = trials.filter((t) => t.value !== null && t.state === 'complete').sort((a, b) => a.number - b.number);
  const out: { x: number; y: number }[] = [];
  let best: number | null = null;
  for (const t of done) {
    const v = t.value as number;
    if (best === null || (goal === 'maximize' ? v > best : v < best)) best = v;
    out.push({ x: t.number, y: best });
  }
  return out;
}

export type SortKey = { key: string; dir: 1 | -1 };

export function sortTrials(trials: Trial[], s: SortKey): Trial[] {
  const get = (t: Trial): unknown => (s.key === 'number' ? t.number : s.key === 'value' ? t.value : s.key === 'state' ? t.state : t.params[s.key]);
  return [...trials].sort((a, b) => {
    const x = get(a);
    const y = get(b);
    if (x === y) return a.number - b.number;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * s.dir;
  });
}

export interface Axis {
  key: string;
  kind: 'num' | 'cat' | 'log';
  min: number;
  max: number;
  cats: string[];
}

// One axis per param plus the objective; numbers scale linearly (log when every value is > 0
// and they span two decades or more), anything else is categorical in order of appearance.
export function axesOf(trials: Trial[], objective: string): Axis[] {
  const keys = Array.from(new Set(trials.flatMap((t) => Object.keys(t.params))));
  const axes: Axis[] = keys.map((key) => {
    const vals = trials.map((t) => t.params[key]).filter((v) => v !== undefined && v !== null);
    if (vals.length > 0 && vals.every((v) => typeof v === 'number')) {
      const nums = vals as number[];
      const min = Math.min(...nums);
      const max = Math.max(...nums);
      const kind = min > 0 && max / min >= 100 ? 'log' : 'num';
      return { key, kind, min, max, cats: [] };
    }
    return { key, kind: 'cat', min: 0, max: 0, cats: Array.from(new Set(vals.map(String))) };
  });
  const obj = trials.map((t) => t.value).filter((v): v is number => v !== null);
  axes.push({ key: objective, kind: 'num', min: obj.length ? Math.min(...obj) : 0, max: obj.length ? Math.max(...obj) : 1, cats: [] });
  return axes;
}

// A value's position on an axis, 0 (bottom) .. 1 (top); null when the trial has none.
export function position(axis: Axis, v: unknown): number | null {
  if (v === undefined || v === null) return null;
  if (axis.kind === 'cat') {
    const i = axis.cats.indexOf(String(v));
    return axis.cats.length <= 1 ? 0.5 : i / (axis.cats.length - 1);
  }
  const n = Number(v);
  if (!Number.isFinite(n)) return null;
  if (axis.max === axis.min) return 0.5;
  if (axis.kind === 'log') return (Math.log(n) - Math.log(axis.min)) / (Math.log(axis.max) - Math.log(axis.min));
  return (n - axis.min) / (axis.max - axis.min);
}
