import { apiDownload } from '@/lib/api-client';

export const downloadArtifact = (digest: string, name: string) =>
  apiDownload(`/api/v1/artifacts/${encodeURIComponent(digest.replace(/^sha256:/, ''))}/content`, name);
