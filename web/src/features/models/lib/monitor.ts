import type { XY } from '@/lib/downsample';
import type { MonitorCheck, MonitorView } from '../api/get-monitor';

// One accuracy line per version (x: bucket start in epoch seconds; buckets without labels are
// left out), newest version first as the API sends them.
export function accuracySeries(view: MonitorView): { label: string; points: XY[] }[] {
  return view.versions
    .map((v) => ({
      label: `v${v.version}`,
      points: v.series.filter((b) => b.accuracy !== null).map((b) => ({ x: Date.parse(b.at) / 1000, y: b.accuracy as number })),
    }))
    .filter((s) => s.points.length > 0);
}

// The newest `n` checks of every monitor, newest first, with the pipeline that owns them.
export function recentChecks(view: MonitorView, n: number): (MonitorCheck & { pipeline: string })[] {
  return view.monitors
    .flatMap((m) => m.checks.map((c) => ({ ...c, pipeline: m.pipeline })))
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0))
    .slice(0, n);
}

// "accuracy 0.41 < 0.90; psi(mean) 0.91 > 0.25" for a check's crossings, "" when none.
export function describeCrossed(c: MonitorCheck): string {
  return c.crossed
    .map((x) => {
      const name = x.feature ? `${x.metric}(${x.feature})` : x.metric;
      const op = x.metric === 'accuracy' ? '<' : '>';
      return `${name} ${x.value.toFixed(2)} ${op} ${x.threshold.toFixed(2)}`;
    })
    .join('; ');
}
