import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { alignSeries, lttb, type XY } from '@/lib/downsample';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

// A line chart of one or more series over steps (uPlot: drag to zoom, double-click to reset).
// With `time`, x values are epoch seconds and the axis shows dates.
export function LineChart({ title, series, height = 220, xLabel = 'step', time = false }: { title: string; series: { label: string; points: XY[] }[]; height?: number; xLabel?: string; time?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const data = alignSeries(series.map((s) => lttb(s.points, 1000)));
    const opts: uPlot.Options = {
      title,
      width: Math.max(280, el.clientWidth || 480),
      height,
      scales: { x: { time } },
      // Time labels ("10:00pm") need more room than uPlot's 50 px default, or they run together.
      axes: [{ label: xLabel, space: time ? 110 : 60 }, {}],
      series: [
        { label: xLabel },
        ...series.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, points: { show: true, size: 4 } })),
      ],
    };
    const plot = new uPlot(opts, data as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [title, series, height, xLabel, time]);
  const total = series.reduce((n, s) => n + s.points.length, 0);
  return <div className="chart" ref={ref} role="img" aria-label={`${title}: ${series.length} series, ${total} points`} data-points={total} />;
}
