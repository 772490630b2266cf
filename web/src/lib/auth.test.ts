import { describe, expect, it, vi } from 'vitest';
import { consumeFragmentToken, getToken, onTokenChange, setToken } from './auth';

describe('auth', () => {
  it('moves the fragment token to sessionStorage and clears the address bar', () => {
    sessionStorage.clear();
    const hist = { state: null, replaceState: vi.fn() } as unknown as History;
    const loc = { hash: '#token=ctf_123%2B', pathname: '/runs', search: '?state=failed' } as Location;
    expect(consumeFragmentToken(loc, hist)).toBe(true);
    expect(getToken()).toBe('ctf_123+');
    expect(hist.replaceState).toHaveBeenCalledWith(null, '', '/runs?state=failed');
  });

  it('leaves other fragments alone', () => {
    const hist = { state: null, replaceState: vi.fn() } as unknown as History;
    expect(consumeFragmentToken({ hash: '#section', pathname: '/', search: '' } as Location, hist)).toBe(false);
    expect(hist.replaceState).not.toHaveBeenCalled();
  });

  it('tells listeners about sign-out', () => {
    const seen: (string | null)[] = [];
    const off = onTokenChange((t) => seen.push(t));
    setToken('a');
    setToken(null);
    off();
    setToken('b');
    expect(seen).toEqual(['a', null]);
  });
});
