import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, apiRequest, apiStream, buildUrl } from './api-client';
import { getToken, setToken } from './auth';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

describe('api client', () => {
  it('builds query strings without empty values', () => {
    expect(buildUrl('/api/v1/runs', { state: 'failed', pipeline: undefined, limit: 50, since: '' })).toBe('/api/v1/runs?state=failed&limit=50');
    expect(buildUrl('/x')).toBe('/x');
  });

  it('sends the bearer token and JSON body', async () => {
    setToken('ctf_abc');
    const fetchMock = vi.fn().mockResolvedValue(jsonResponse(201, { id: '7' }));
    vi.stubGlobal('fetch', fetchMock);
    const out = await apiRequest<{ id: string }>('/api/v1/runs', { method: 'POST', body: { pipeline: 'p' } });
    expect(out.id).toBe('7');
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/v1/runs');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer ctf_abc');
    expect(init.body).toBe('{"pipeline":"p"}');
  });

  it('turns API errors into readable ApiErrors', async () => {
    setToken('t');
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(jsonResponse(422, { error: { code: 'invalid', message: 'tasks[1].needs[0]: unknown task "splt"', details: ['a', 'b'] } })));
    const err = (await apiRequest('/api/v1/runs').catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(422);
    expect(err.code).toBe('invalid');
    expect(err.message).toContain('unknown task');
    expect(err.details).toEqual(['a', 'b']);
    expect(getToken()).toBe('t');
  });

  it('forgets the token on 401', async () => {
    setToken('old');
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(jsonResponse(401, { error: { code: 'unauthorized', message: 'unknown token' } })));
    await expect(apiRequest('/api/v1/me')).rejects.toMatchObject({ status: 401 });
    expect(getToken()).toBeNull();
  });

  it('reports an unreachable server', async () => {
    vi.stubGlobal('fetch', vi.fn().mockRejectedValue(new TypeError('Failed to fetch')));
    await expect(apiRequest('/api/v1/runs')).rejects.toMatchObject({ code: 'network' });
  });

  it('keeps a non-JSON error as its status line', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response('boom', { status: 502, statusText: 'Bad Gateway' })));
    await expect(apiRequest('/x')).rejects.toMatchObject({ status: 502, message: '502 Bad Gateway' });
  });

  it('streams a body chunk by chunk', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('line 1\n'));
        c.enqueue(new TextEncoder().encode('line 2\n'));
        c.close();
      },
    });
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(new Response(body, { status: 200 })));
    const chunks: string[] = [];
    await apiStream('/logs', { follow: true }, (c) => chunks.push(c), new AbortController().signal);
    expect(chunks.join('')).toBe('line 1\nline 2\n');
  });
});
