import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderHook, waitFor } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useRun } from './get-run';
import { useRuns } from './get-runs';
import { useTaskLog } from './get-task-log';
import { setToken } from '@/lib/auth';

function wrapper() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return ({ children }: { children: ReactNode }) => <QueryClientProvider client={qc}>{children}</QueryClientProvider>;
}

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

afterEach(() => vi.unstubAllGlobals());

describe('run hooks', () => {
  it('useRun loads one run', async () => {
    setToken('t');
    const fetchMock = vi.fn().mockResolvedValue(json({ id: '5', state: 'running', tasks: [] }));
    vi.stubGlobal('fetch', fetchMock);
    const { result } = renderHook(() => useRun('5'), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.data?.state).toBe('running');
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/runs/5');
  });

  it('useRuns pages with the server cursor and passes the filters', async () => {
    const fetchMock = vi
      .fn()
      .mockResolvedValueOnce(json({ runs: [{ id: '9' }, { id: '8' }], next_cursor: '8' }))
      .mockResolvedValueOnce(json({ runs: [{ id: '7' }], next_cursor: null }));
    vi.stubGlobal('fetch', fetchMock);
    const { result } = renderHook(() => useRuns({ state: 'failed', pipeline: 'p' }), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(result.current.hasNextPage).toBe(true);
    await result.current.fetchNextPage();
    await waitFor(() => expect(result.current.data?.pages).toHaveLength(2));
    expect(result.current.hasNextPage).toBe(false);
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/runs?pipeline=p&state=failed&limit=100');
    expect(fetchMock.mock.calls[1]![0]).toBe('/api/v1/runs?pipeline=p&state=failed&cursor=8&limit=100');
  });

  it('useRun surfaces the API error message', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json({ error: { code: 'not_found', message: 'run 404 does not exist' } }, 404)));
    const { result } = renderHook(() => useRun('404'), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.isError).toBe(true));
    expect((result.current.error as Error).message).toBe('run 404 does not exist');
  });

  it('useTaskLog follows a log as chunks arrive', async () => {
    let push: (s: string) => void = () => undefined;
    let end: () => void = () => undefined;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        push = (s) => c.enqueue(new TextEncoder().encode(s));
        end = () => c.close();
      },
    });
    const fetchMock = vi.fn().mockResolvedValue(new Response(body, { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const { result } = renderHook(() => useTaskLog('3', 'train', 1, true));
    expect(result.current.following).toBe(true);
    push('epoch 1\n');
    await waitFor(() => expect(result.current.text).toBe('epoch 1\n'));
    push('epoch 2\n');
    await waitFor(() => expect(result.current.text).toBe('epoch 1\nepoch 2\n'));
    end();
    await waitFor(() => expect(result.current.following).toBe(false));
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/v1/runs/3/tasks/train/logs?follow=true&attempt=1');
  });
});
