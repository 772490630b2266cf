// The submit form is generated from a pipeline version's params: one field per param, typed by
// its declared type, starting at its default. Pure parts tested without a browser.
import type { ParamSpec } from '../api/get-pipeline';

export interface Field {
  name: string;
  type: 'int' | 'float' | 'bool' | 'string';
  initial: string;
  choices?: string[];
  description?: string;
}

export function fieldsOf(params: Record<string, ParamSpec> | undefined): Field[] {
  return Object.entries(params ?? {}).map(([name, p]) => {
    const t = p.type === 'int' || p.type === 'integer' ? 'int' : p.type === 'float' || p.type === 'number' ? 'float' : p.type === 'bool' || p.type === 'boolean' ? 'bool' : 'string';
    const choices = (p.enum ?? p.values)?.map(String);
    return { name, type: t, initial: p.default === undefined || p.default === null ? '' : String(p.default), choices, description: p.description };
  });
}

// Form strings -> typed params; errors by field name. Empty fields are left out (defaults apply).
export function parseParams(fields: Field[], values: Record<string, string>): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = (values[f.name] ?? '').trim();
    if (raw === '') continue;
    if (f.type === 'int') {
      if (!/^-?\d+$/.test(raw)) errors[f.name] = 'expected a whole number';
      else params[f.name] = Number(raw);
    } else if (f.type === 'float') {
      const n = Number(raw);
      if (!Number.isFinite(n)) errors[f.name] = 'expected a number';
      else params[f.name] = n;
    } else if (f.type === 'bool') {
      params[f.name] = raw === 'true';
    } else params[f.name] = raw;
  }
  return { params, errors };
}
