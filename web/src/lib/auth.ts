// The bearer token: typed once on the login page or carried by the login link's URL fragment
// (#token=...), kept in sessionStorage (gone when the tab closes), never in a query string.
const KEY = 'ctflow.token';

type Listener = (token: string | null) => void;
const listeners = new Set<Listener>();

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l(token));
}

export function onTokenChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

// Moves a token from the URL fragment into sessionStorage and clears it from the address bar
// (history.replaceState: no reload, no history entry holding the secret). Returns whether one
// was found.
export function consumeFragmentToken(loc: Location = window.location, hist: History = window.history): boolean {
  const m = /(?:^#|&)token=([^&]+)/.exec(loc.hash);
  if (!m || !m[1]) return false;
  setToken(decodeURIComponent(m[1]));
  hist.replaceState(hist.state, '', loc.pathname + loc.search);
  return true;
}
