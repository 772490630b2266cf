import { describe, expect, it } from 'vitest';
import { fieldsOf, parseParams } from './params';
import { diffLines } from './diff';

describe('params form', () => {
  const fields = fieldsOf({ epochs: { type: 'int', default: 3 }, lr: { type: 'float' }, who: { type: 'string', default: 'world' }, fast: { type: 'bool', default: false } });
  it('makes a field per param with its default', () => {
    expect(fields.map((f) => [f.name, f.type, f.initial])).toEqual([['epochs', 'int', '3'], ['lr', 'float', ''], ['who', 'string', 'world'], ['fast', 'bool', 'false']]);
  });
  it('types the values and reports bad ones', () => {
    expect(parseParams(fields, { epochs: '5', lr: '0.01', who: ' you ', fast: 'true' })).toEqual({ params: { epochs: 5, lr: 0.01, who: 'you', fast: true }, errors: {} });
    expect(parseParams(fields, { epochs: '2.5', lr: 'x' }).errors).toEqual({ epochs: 'expected a whole number', lr: 'expected a number' });
    expect(parseParams(fields, { epochs: '' }).params).toEqual({});
  });
});

describe('version diff', () => {
  it('marks added and removed lines', () => {
    expect(diffLines(['a', 'b', 'c'], ['a', 'c', 'd'])).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: ' ', text: 'c' },
      { op: '+', text: 'd' },
    ]);
  });
});
