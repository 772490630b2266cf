import { describe, expect, it } from 'vitest';
import { filtersFromSearch, filtersToSearch, isoToLocal, localToIso } from './filters';

describe('URL filter state', () => {
  it('round-trips through the query string', () => {
    const f = { pipeline: 'mnist-ct', state: 'failed', trigger: 'schedule', since: '2026-01-01T00:00:00.000Z' };
    expect(filtersFromSearch(filtersToSearch(f))).toEqual(f);
    expect(filtersToSearch(f).toString()).toBe('pipeline=mnist-ct&state=failed&trigger=schedule&since=2026-01-01T00%3A00%3A00.000Z');
  });
  it('drops empty and unknown values', () => {
    expect(filtersFromSearch(new URLSearchParams('state=bogus&pipeline=&x=1'))).toEqual({});
    expect(filtersToSearch({ pipeline: undefined, state: '' }).toString()).toBe('');
  });
  it('converts datetime-local values to instants and back', () => {
    const iso = localToIso('2026-03-04T05:06');
    expect(iso).toMatch(/^2026-03-0[34]T/);
    expect(isoToLocal(iso)).toBe('2026-03-04T05:06');
    expect(localToIso('')).toBeUndefined();
    expect(isoToLocal('nonsense')).toBe('');
  });
});
