import { useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { RunMetricsPanel } from './RunMetricsPanel';

// Metrics of a run, or two runs overlaid (?a=ID&b=ID).
export function MetricsCompare({ a, b }: { a: string; b: string }) {
  const [, setSearch] = useSearchParams();
  const [ra, setA] = useState(a);
  const [rb, setB] = useState(b);
  return (
    <section aria-labelledby="mc-h">
      <h1 id="mc-h">Metrics</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          const p = new URLSearchParams();
          if (ra) p.set('a', ra);
          if (rb) p.set('b', rb);
          setSearch(p);
        }}
      >
        <label>
          Run
          <input value={ra} onChange={(e) => setA(e.target.value.trim())} inputMode="numeric" placeholder="id" />
        </label>
        <label>
          Compare with run
          <input value={rb} onChange={(e) => setB(e.target.value.trim())} inputMode="numeric" placeholder="id (optional)" />
        </label>
        <button type="submit">Show</button>
      </form>
      {a ? <RunMetricsPanel run={a} compareWith={b || undefined} /> : <p className="empty">Pick a run (its id is on the Runs page).</p>}
    </section>
  );
}
