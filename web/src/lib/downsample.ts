// Series shaping for charts. The server already buckets a run's metrics (min, max, last per
// bucket); the client keeps at most `max` points per drawn series when several are merged, and
// aligns series with different steps on one x axis (uPlot wants one shared x array).
export interface XY {
  x: number;
  y: number;
}

// Largest-Triangle-Three-Buckets: keeps the first and last points and, per bucket, the point
// that forms the largest triangle with its neighbours, so peaks survive.
export function lttb(points: XY[], max: number): XY[] {
  if (max >= points.length || max < 3) return points.slice();
  const last = points.length - 1;
  const out: XY[] = [points[0]!];
  const every = (points.length - 2) / (max - 2);
  let a = 0;
  for (let i = 0; i < max - 2; i++) {
    // This bucket: [start, end); the next one's average is the third corner.
    const start = Math.floor(i * every) + 1;
    const end = Math.min(Math.floor((i + 1) * every) + 1, last);
    const nextEnd = Math.min(Math.floor((i + 2) * every) + 1, points.length);
    let ax = 0;
    let ay = 0;
    for (let j = end; j < nextEnd; j++) {
      ax += points[j]!.x;
      ay += points[j]!.y;
    }
    const n = Math.max(1, nextEnd - end);
    ax /= n;
    ay /= n;
    const pa = points[a]!;
    let best = start;
    let bestArea = -1;
    for (let j = start; j < Math.max(end, start + 1); j++) {
      const p = points[j]!;
      const area = Math.abs((pa.x - ax) * (p.y - pa.y) - (pa.x - p.x) * (ay - pa.y));
      if (area > bestArea) {
        bestArea = area;
        best = j;
      }
    }
    out.push(points[best]!);
    a = best;
  }
  out.push(points[last]!);
  return out;
}

// One x array (sorted union of steps) and per series a y array with null where it has no point.
export function alignSeries(series: XY[][]): [number[], ...(number | null)[][]] {
  const xs = Array.from(new Set(series.flatMap((s) => s.map((p) => p.x)))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    for (const p of s) y[index.get(p.x)!] = p.y;
    return y;
  });
  return [xs, ...ys];
}
