-- wrk script for `make bench-api`: every request submits a run of a small spec (POST /api/v1/runs).
-- `concurrency: 1` queues the runs, so the engine executing them does not compete with the
-- submissions for the two cores; every accepted submission is committed (synchronous_commit on).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"spec": "name: bench-submit\\nconcurrency: 1\\ntasks:\\n  - {name: a, run: [\\"true\\"]}\\n  - {name: b, needs: [a], run: [\\"true\\"]}\\n"}'
