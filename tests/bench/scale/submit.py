#!/usr/bin/env python3
"""bench-scale's client for replicas.sh: stores PIPELINES pipelines (a diamond of 4 tasks, each
appending "RUN TASK ATTEMPT" to SIDE) through the first server, then submits RUNS runs at once
from CLIENTS threads, each with its own keep-alive connection, submission k going to server
k mod n and pipeline k mod PIPELINES. Prints the submission's wall time; exits 1 on any
answer other than 201.

usage: submit.py SIDE PIPELINES RUNS CLIENTS URL=TOKEN [URL=TOKEN ...]"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

side, pipelines, runs, clients = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
servers = [a.split("=", 1) for a in sys.argv[5:]]


def conn(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def post(c, token, path, body):
    c.request("POST", path, body=json.dumps(body),
              headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    return r.status, data


cmd = ["sh", "-c", f'echo "$CTFLOW_RUN_ID $CTFLOW_TASK $CTFLOW_ATTEMPT" >> {side}']
c0 = conn(servers[0][0])
for p in range(pipelines):
    tasks = [{"name": "a", "run": cmd}, {"name": "b", "needs": ["a"], "run": cmd},
             {"name": "c", "needs": ["a"], "run": cmd},
             {"name": "d", "needs": ["b", "c"], "run": cmd}]
    status, data = post(c0, servers[0][1], "/api/v1/pipelines",
                        {"spec": json.dumps({"name": f"small-{p:02d}", "tasks": tasks})})
    if status not in (200, 201):
        sys.exit(f"submit.py: storing pipeline {p}: {status} {data[:200]!r}")

failures = []
def worker(w):
    cs = {}
    for k in range(w, runs, clients):
        url, token = servers[k % len(servers)]
        c = cs.setdefault(url, conn(url))
        status, data = post(c, token, f"/api/v1/pipelines/small-{k % pipelines:02d}/runs", {})
        if status != 201:
            failures.append(f"run {k}: {status} {data[:200]!r}")

t0 = time.time()
threads = [threading.Thread(target=worker, args=(w,)) for w in range(clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f"{time.time() - t0:.3f}")
if failures:
    sys.exit(f"submit.py: {len(failures)} submissions failed; first: {failures[0]}")
