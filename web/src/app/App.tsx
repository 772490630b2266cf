import { useEffect, useState } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter } from 'react-router-dom';
import { consumeFragmentToken, getToken, onTokenChange } from '@/lib/auth';
import { ApiError } from '@/lib/api-client';
import { LoginPage } from '@/features/auth/components/LoginPage';
import { AppRoutes } from './routes';

// The login link's token is taken before the first render, so it never stays in the address bar.
consumeFragmentToken();

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 2_000,
      refetchOnWindowFocus: false,
      retry: (n, e) => !(e instanceof ApiError && e.status >= 400 && e.status < 500) && n < 2,
    },
  },
});

export function App() {
  const [token, setTok] = useState(getToken());
  useEffect(
    () =>
      onTokenChange((t) => {
        setTok(t);
        if (!t) queryClient.clear();
      }),
    [],
  );
  return (
    <QueryClientProvider client={queryClient}>
      {token ? (
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      ) : (
        <LoginPage />
      )}
    </QueryClientProvider>
  );
}
