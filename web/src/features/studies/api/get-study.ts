import { useQuery } from '@tanstack/react-query';
import { apiRequest } from '@/lib/api-client';
import type { Study, Trial } from './get-studies';

// The API nests the trial list under "trials" next to the counts in the list view; normalise.
export interface StudyDetail {
  study: Study;
  trials: Trial[];
}

export async function getStudy(id: string): Promise<StudyDetail> {
  const raw = await apiRequest<Record<string, unknown>>(`/api/v1/studies/${encodeURIComponent(id)}`);
  const trials = (Array.isArray(raw.trials) ? raw.trials : Array.isArray(raw.trial_list) ? raw.trial_list : []) as Trial[];
  return { study: raw as unknown as Study, trials };
}

export function useStudy(id: string) {
  return useQuery({ queryKey: ['study', id], queryFn: () => getStudy(id), refetchInterval: (q) => (q.state.data?.study.state === 'running' ? 3000 : false) });
}
