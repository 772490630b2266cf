import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { setToken } from '@/lib/auth';
import { getMe } from '../api/get-me';
import { ErrorMessage } from '@/components/Feedback';

export function LoginPage() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const qc = useQueryClient();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setToken(value.trim());
    try {
      const me = await getMe();
      qc.setQueryData(['me'], me);
    } catch (err) {
      setToken(null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <h1>ctflow</h1>
      <p>
        Paste an API token (<code>ctflow up</code> prints a login link that fills it in; the admin token is in{' '}
        <code>&lt;data dir&gt;/admin-token</code>).
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="ctf_…"
        />
        <button type="submit" disabled={busy || !value.trim()}>
          Sign in
        </button>
      </form>
      <ErrorMessage error={error} />
    </main>
  );
}
