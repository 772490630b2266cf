-- Indexes for what every engine pass asks of `runs` when runs are waiting in numbers (a burst of
-- submissions, make bench-api): which active runs were asked to cancel, and which active runs
-- have a deadline. Without them each question read every queued and running run.
CREATE INDEX runs_cancel_requested ON runs(id)
  WHERE cancel_requested AND state IN ('queued','running');
CREATE INDEX runs_deadline ON runs(deadline)
  WHERE deadline IS NOT NULL AND state IN ('queued','running');
