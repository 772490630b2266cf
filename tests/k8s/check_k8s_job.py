#!/usr/bin/env python3
"""Checks `ctflow k8s job SPEC TASK` (the Job a task's first attempt would create, as YAML)
against the batch/v1 schema the fake API server enforces (k8s_schema.py: unknown fields, JSON
types, the rules a real server applies), and against what the executor promises: ctflow's
labels on the Job and its pod template, backoffLimit 0, restartPolicy Never, one container
`task` whose command is the task's argv, the env of the task contract, secrets as
secretKeyRef only.

Usage: check_k8s_job.py [--ctflow PATH] SPEC TASK [--expect-argv JSON]; exit 0 when it holds.
"""

import argparse
import json
import os
import subprocess
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import k8s_schema  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("task")
    ap.add_argument("--ctflow", default=os.environ.get("CTFLOW_BIN",
                                                       os.path.join(REPO, "build", "ctflow")))
    a = ap.parse_args()
    r = subprocess.run([a.ctflow, "k8s", "job", a.spec, a.task], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        print(f"ctflow k8s job exited {r.returncode}:\n{r.stdout}{r.stderr}")
        return 1
    job = yaml.safe_load(r.stdout)
    spec = yaml.safe_load(open(a.spec))
    task = next(t for t in spec["tasks"] if t["name"] == a.task)
    fails = []
    fails += k8s_schema.decode_errors(job)
    ns = (job.get("metadata") or {}).get("namespace") or "default"
    fails += [m for _, m, _ in k8s_schema.invalid_causes(job, ns)]
    if job.get("apiVersion") != "batch/v1" or job.get("kind") != "Job":
        fails.append(f"apiVersion/kind: {job.get('apiVersion')}/{job.get('kind')}")
    if fails:
        return report(fails, r.stdout)
    labels = job["metadata"].get("labels") or {}
    tlabels = (job["spec"]["template"].get("metadata") or {}).get("labels") or {}
    for where, ls in (("metadata.labels", labels), ("spec.template.metadata.labels", tlabels)):
        for k in ("app.kubernetes.io/managed-by", "ctflow.io/run", "ctflow.io/task",
                  "ctflow.io/attempt", "ctflow.io/pipeline"):
            if k not in ls:
                fails.append(f"{where}: no {k}")
    if tlabels.get("ctflow.io/task") not in (None, a.task):
        fails.append(f"ctflow.io/task: {tlabels.get('ctflow.io/task')!r}, task {a.task!r}")
    if job["spec"].get("backoffLimit") != 0:
        fails.append(f"spec.backoffLimit: {job['spec'].get('backoffLimit')!r}, expected 0")
    pod = job["spec"]["template"]["spec"]
    if pod.get("restartPolicy") != "Never":
        fails.append(f"restartPolicy: {pod.get('restartPolicy')!r}")
    cs = pod.get("containers") or []
    if len(cs) != 1 or cs[0].get("name") != "task":
        fails.append(f"containers: expected one named task, got {[c.get('name') for c in cs]}")
    else:
        c = cs[0]
        argv = (c.get("command") or []) + (c.get("args") or [])
        if argv != [str(x) for x in task["run"]]:
            fails.append(f"command+args {argv} != the task's argv {task['run']}")
        env = {e["name"]: e for e in c.get("env") or []}
        for k in ("CTFLOW_INPUTS", "CTFLOW_OUTPUTS", "CTFLOW_METRICS"):
            if k not in env:
                fails.append(f"env: no {k}")
        for name, v in (task.get("env") or {}).items():
            e = env.get(name)
            if isinstance(v, dict) and "secret" in v:
                want = {"name": v["secret"], "key": "value"}
                got = ((e or {}).get("valueFrom") or {}).get("secretKeyRef")
                if not got or {k: got.get(k) for k in want} != want or "value" in (e or {}):
                    fails.append(f"env {name}: expected secretKeyRef {want}, got {e}")
            elif not e or e.get("value") != str(v):
                fails.append(f"env {name}: expected value {v!r}, got {e}")
        k8s = task.get("k8s") or {}
        for key, got in (("image", c.get("image")), ("resources", c.get("resources")),
                         ("nodeSelector", pod.get("nodeSelector")),
                         ("tolerations", pod.get("tolerations")),
                         ("serviceAccountName", pod.get("serviceAccountName")),
                         ("ttlSecondsAfterFinished", job["spec"].get("ttlSecondsAfterFinished"))):
            if key in k8s and json.dumps(got, sort_keys=True) != json.dumps(k8s[key],
                                                                            sort_keys=True):
                fails.append(f"k8s.{key}: spec says {k8s[key]!r}, the Job has {got!r}")
    return report(fails, r.stdout)


def report(fails, text):
    if not fails:
        print("ok: a valid batch/v1 Job with ctflow's labels and the task's settings")
        return 0
    print("the printed Job:\n" + text + "\nproblems:")
    for f in fails:
        print("  - " + f)
    return 1


if __name__ == "__main__":
    sys.exit(main())
