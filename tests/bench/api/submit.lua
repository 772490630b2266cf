-- wrk script for `make bench-api`: every request submits a run of a small two-task spec
-- (POST /api/v1/runs). The server's engine runs what is submitted meanwhile, as it would in use;
-- every accepted submission is committed (synchronous_commit on) and run.sh checks the count.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"spec": "name: bench-submit\\ntasks:\\n  - {name: a, run: [\\"true\\"]}\\n  - {name: b, needs: [a], run: [\\"true\\"]}\\n"}'
