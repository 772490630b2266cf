import { afterEach, describe, expect, it, vi } from 'vitest';
import { render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { MonitorPanel } from './MonitorPanel';
import { setToken } from '@/lib/auth';

// uPlot needs a browser (matchMedia, canvas): the chart is drawn by the e2e tests, not here.
vi.mock('@/components/charts/LineChart', () => ({ LineChart: ({ title }: { title: string }) => <div>{title}</div> }));

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

function renderPanel() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter>
        <MonitorPanel name="mnist" />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('MonitorPanel', () => {
  it('shows the counts per version and the check that started a run', async () => {
    setToken('t');
    const fetchMock = vi.fn().mockResolvedValue(
      json({
        model: 'mnist',
        aliases: { production: 1 },
        bucket: '1h',
        versions: [{ version: 1, predictions: 200, labeled: 100, accuracy: 0.12, series: [{ at: '2030-01-01T00:00:00Z', predictions: 200, labeled: 100, correct: 12, accuracy: 0.12, mean: 0.8, ink: 0.8 }] }],
        monitors: [
          {
            pipeline: 'mnist-ct',
            alias: 'production',
            last_triggered_at: '2030-01-01T01:00:00Z',
            last_run_id: '7',
            checks: [
              { at: '2030-01-01T01:00:00Z', version: 1, labels: 100, accuracy: 0.12, drift_metric: null, drift_feature: null, drift: null, crossed: [{ metric: 'accuracy', value: 0.12, threshold: 0.6 }], outcome: 'triggered', run_id: '7' },
            ],
          },
        ],
      }),
    );
    vi.stubGlobal('fetch', fetchMock);
    renderPanel();
    await screen.findByText(/v1: 200 predictions, 100 labelled, accuracy 0.120/);
    expect(screen.getByText('Live accuracy by version (hourly)')).toBeTruthy();
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/models/mnist/monitor?bucket=1h&points=48');
    expect(screen.getByText('triggered: accuracy 0.12 < 0.60')).toBeTruthy();
    expect(screen.getByRole('link', { name: '#7' }).getAttribute('href')).toBe('/runs/7');
  });

  it('says when nothing is logged and no pipeline watches the model', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json({ model: 'm', aliases: {}, bucket: '1h', versions: [], monitors: [] })));
    renderPanel();
    await screen.findByText('No predictions logged yet.');
    expect(screen.getByText('No pipeline monitors this model.')).toBeTruthy();
  });
});
