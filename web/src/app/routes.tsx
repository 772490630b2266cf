// The app composes the features: pages here may import any feature; features import only the
// shared folders (src/lib, src/components), never each other.
import { lazy, Suspense } from 'react';
import { Navigate, Route, Routes, useParams, useSearchParams } from 'react-router-dom';
import { Loading } from '@/components/Feedback';
import { canOperate, useMe } from '@/features/auth/api/get-me';
import { RunsPage } from '@/features/runs/components/RunsPage';
import { usePipelines } from '@/features/pipelines/api/get-pipelines';
import { usePipeline } from '@/features/pipelines/api/get-pipeline';
import { useRun } from '@/features/runs/api/get-run';
import { Layout } from './Layout';

const RunDetail = lazy(() => import('@/features/runs/components/RunDetail').then((m) => ({ default: m.RunDetail })));
const RunMetricsPanel = lazy(() => import('@/features/metrics/components/RunMetricsPanel').then((m) => ({ default: m.RunMetricsPanel })));
const PipelinesPage = lazy(() => import('@/features/pipelines/components/PipelinesPage').then((m) => ({ default: m.PipelinesPage })));
const PipelineDetail = lazy(() => import('@/features/pipelines/components/PipelineDetail').then((m) => ({ default: m.PipelineDetail })));
const StudiesPage = lazy(() => import('@/features/studies/components/StudiesPage').then((m) => ({ default: m.StudiesPage })));
const StudyDetail = lazy(() => import('@/features/studies/components/StudyDetail').then((m) => ({ default: m.StudyDetail })));
const ModelsPage = lazy(() => import('@/features/models/components/ModelsPage').then((m) => ({ default: m.ModelsPage })));
const ModelDetail = lazy(() => import('@/features/models/components/ModelDetail').then((m) => ({ default: m.ModelDetail })));
const MetricsCompare = lazy(() => import('@/features/metrics/components/MetricsCompare').then((m) => ({ default: m.MetricsCompare })));

function RunsRoute() {
  const p = usePipelines();
  return <RunsPage pipelines={(p.data ?? []).map((x) => x.name)} />;
}

function RunRoute() {
  const { id = '' } = useParams();
  const me = useMe();
  const run = useRun(id);
  const [search] = useSearchParams();
  // The commands as the spec declares them (before templating), from the run's pipeline version;
  // fetched once a task is opened (a big pipeline's versions weigh megabytes).
  const pipeline = usePipeline(run.data?.pipeline ?? '', !!run.data && search.has('task'));
  const spec = pipeline.data?.versions.find((v) => v.digest === run.data?.pipeline_version)?.spec;
  const commands = specCommands(spec);
  return <RunDetail key={id} id={id} canOperate={canOperate(me.data)} specCommands={commands} metrics={<RunMetricsPanel run={id} />} />;
}

function specCommands(spec: { tasks?: unknown[] } | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const t of (spec?.tasks ?? []) as { name?: string; run?: unknown; hpo?: { trial?: { run?: unknown } } }[]) {
    const run = Array.isArray(t.run) ? t.run : Array.isArray(t.hpo?.trial?.run) ? t.hpo?.trial?.run : null;
    if (t.name && run) out[t.name] = (run as unknown[]).map(String);
  }
  return out;
}

function PipelineRoute() {
  const { name = '' } = useParams();
  const me = useMe();
  return <PipelineDetail key={name} name={name} canOperate={canOperate(me.data)} />;
}

function StudyRoute() {
  const { id = '' } = useParams();
  return <StudyDetail key={id} id={id} />;
}

function ModelRoute() {
  const { name = '' } = useParams();
  return <ModelDetail key={name} name={name} />;
}

function MetricsRoute() {
  const [s] = useSearchParams();
  return <MetricsCompare a={s.get('a') ?? ''} b={s.get('b') ?? ''} />;
}

export function AppRoutes() {
  return (
    <Suspense fallback={<Loading what="page" />}>
      <Routes>
        <Route element={<Layout />}>
          <Route index element={<Navigate to="/runs" replace />} />
          <Route path="runs" element={<RunsRoute />} />
          <Route path="runs/:id" element={<RunRoute />} />
          <Route path="pipelines" element={<PipelinesPage />} />
          <Route path="pipelines/:name" element={<PipelineRoute />} />
          <Route path="studies" element={<StudiesPage />} />
          <Route path="studies/:id" element={<StudyRoute />} />
          <Route path="models" element={<ModelsPage />} />
          <Route path="models/:name" element={<ModelRoute />} />
          <Route path="compare" element={<MetricsRoute />} />
          <Route path="*" element={<p>No such page.</p>} />
        </Route>
      </Routes>
    </Suspense>
  );
}
