import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';

export interface Me {
  role: 'viewer' | 'operator' | 'admin';
  name: string;
  token_id: string;
}

export const getMe = () => apiRequest<Me>('/api/v1/me');

export function useMe(enabled = true) {
  return useQuery({ queryKey: ['me'], queryFn: getMe, enabled, staleTime: 5 * 60_000, retry: false });
}

export function canOperate(me: Me | undefined): boolean {
  return me?.role === 'operator' || me?.role === 'admin';
}
