import { useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/Feedback';
import type { ParamSpec } from '../api/get-pipeline';
import { useSubmitRun } from '../api/submit-run';
import { fieldsOf, parseParams } from '../lib/params';

export function ParamsForm({ pipeline, params }: { pipeline: string; params: Record<string, ParamSpec> | undefined }) {
  const fields = useMemo(() => fieldsOf(params), [params]);
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(fields.map((f) => [f.name, f.initial])));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const submit = useSubmitRun(pipeline);
  const onSubmit = (e: React.FormEvent) => {
    e.preventDefault();
    const parsed = parseParams(fields, values);
    setErrors(parsed.errors);
    if (Object.keys(parsed.errors).length === 0) submit.mutate(parsed.params);
  };
  return (
    <form className="params-form" onSubmit={onSubmit} aria-label={`run ${pipeline}`}>
      {fields.length === 0 && <p className="empty">This pipeline takes no params.</p>}
      {fields.map((f) => {
        const id = `param-${f.name}`;
        const err = errors[f.name];
        return (
          <div key={f.name} className="field">
            <label htmlFor={id}>
              {f.name} <span className="hint">({f.type})</span>
            </label>
            {f.type === 'bool' ? (
              <select id={id} value={values[f.name] ?? ''} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : f.choices ? (
              <select id={id} value={values[f.name] ?? ''} onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}>
                {f.choices.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
            ) : (
              <input
                id={id}
                name={f.name}
                inputMode={f.type === 'string' ? 'text' : 'decimal'}
                value={values[f.name] ?? ''}
                aria-invalid={!!err}
                aria-describedby={err ? `${id}-err` : undefined}
                onChange={(e) => setValues({ ...values, [f.name]: e.target.value })}
              />
            )}
            {err && (
              <span id={`${id}-err`} className="field-error">
                {err}
              </span>
            )}
          </div>
        );
      })}
      <button type="submit" disabled={submit.isPending}>
        Submit run
      </button>
      <ErrorMessage error={submit.error} />
      {submit.data && (
        <p role="status">
          Submitted <Link to={`/runs/${submit.data.id}`}>run #{submit.data.id}</Link>
        </p>
      )}
    </form>
  );
}
