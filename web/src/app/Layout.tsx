import { NavLink, Outlet } from 'react-router-dom';
import { setToken } from '@/lib/auth';
import { useMe } from '@/features/auth/api/get-me';

const LINKS = [
  ['/runs', 'Runs'],
  ['/pipelines', 'Pipelines'],
  ['/studies', 'Studies'],
  ['/models', 'Models'],
  ['/compare', 'Metrics'],
] as const;

export function Layout() {
  const me = useMe();
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand" aria-hidden="true">
          ctflow
        </span>
        <nav aria-label="main">
          {LINKS.map(([to, label]) => (
            <NavLink key={to} to={to}>
              {label}
            </NavLink>
          ))}
        </nav>
        <span className="who">
          {me.data ? (
            <>
              {me.data.name || 'token'} · <strong data-testid="role">{me.data.role}</strong>
            </>
          ) : null}
          <button type="button" className="link" onClick={() => setToken(null)}>
            Sign out
          </button>
        </span>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </div>
  );
}
