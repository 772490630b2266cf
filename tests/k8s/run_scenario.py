#!/usr/bin/env python3
"""Runs one Kubernetes executor scenario (tests/testdata/k8s/*.yaml, format in that folder's
README.md) end to end: a throwaway PostgreSQL, the fake API server (fake_apiserver.py), a
kubeconfig pointing at it, one or more `ctflow server` replicas with the --k8s-* flags, the
pipeline submitted through `ctflow submit`, the scenario's steps while it runs (kill, restart,
start a second replica, cancel, rotate the token), then the expectations: run and task states
and errors (GET /api/v1/runs/{id}), attempts, `ctflow logs`, models, terminal events, and the
requests ctflow sent (the fake's request log). Prints what differs and exits 1 on failure.

Usage: run_scenario.py [--ctflow PATH] [--keep] SCENARIO.yaml
  --ctflow (or $CTFLOW_BIN; default build/ctflow of this repository): ctflow-task is taken from
  the same folder and put first on the pods' PATH. KEEP_WORK=1 or --keep leaves the work folder.
"""

import argparse
import base64
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TERMINAL_RUN = ("succeeded", "failed", "cancelled")
TERMINAL_TASK = ("succeeded", "failed", "cancelled", "upstream_failed", "skipped", "cached")


class ScenarioError(Exception):
    pass


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- paths into JSON values

def parse_path(path):
    """`a.b[c.d/e][0].f` -> ["a", "b", "c.d/e", 0, "f"]: dots split, brackets hold a literal key
    (label names have dots) or an index."""
    out = []
    for m in re.finditer(r"\[([^\]]*)\]|([^.\[\]]+)", path):
        if m.group(1) is not None:
            out.append(int(m.group(1)) if m.group(1).isdigit() else m.group(1))
        else:
            out.append(m.group(2))
    return out


MISSING = object()


def get_path(value, path):
    for seg in parse_path(path):
        if isinstance(seg, int) and isinstance(value, list) and seg < len(value):
            value = value[seg]
        elif isinstance(value, dict) and seg in value:
            value = value[seg]
        else:
            return MISSING
    return value


OPS = ("absent", "present", "regex", "contains", "not")


def value_matches(actual, want):
    """want: a scalar or list (equal), a mapping (each of its keys matches, other keys of the
    actual mapping are ignored), or an operator {regex: R} | {contains: X} (an element of a
    list, or a substring) | {absent: true} | {present: true} | {not: X}."""
    if isinstance(want, dict) and len(want) == 1 and next(iter(want)) in OPS:
        (op, arg), = want.items()
        if op == "absent":
            return (actual is MISSING) == bool(arg)
        if op == "present":
            return (actual is not MISSING) == bool(arg)
        if op == "not":
            return not value_matches(actual, arg)
        if actual is MISSING:
            return False
        if op == "regex":
            return re.search(arg, actual if isinstance(actual, str) else json.dumps(actual)) \
                is not None
        if op == "contains":
            if isinstance(actual, list):
                return any(value_matches(a, arg) for a in actual)
            if isinstance(actual, str):
                return str(arg) in actual
            return False
    if actual is MISSING:
        return False
    if isinstance(want, dict):
        return isinstance(actual, dict) and all(
            value_matches(actual.get(k, MISSING), w) for k, w in want.items())
    return actual == want


def substitute(value, subs):
    """${NAME} in every string of a scenario's expectations -> subs[NAME]."""
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda m: subs.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, subs) for v in value]
    if isinstance(value, dict):
        return {substitute(k, subs): substitute(v, subs) for k, v in value.items()}
    return value


def show(v):
    return "<missing>" if v is MISSING else json.dumps(v)


# ---------------------------------------------------------------- the environment

class Env:
    """The processes of one scenario and their folder; `close` stops them all."""

    def __init__(self, scenario, ctflow, keep):
        self.sc = scenario
        self.ctflow = os.path.abspath(ctflow)
        self.bindir = os.path.dirname(self.ctflow)
        self.keep = keep
        self.work = tempfile.mkdtemp(prefix="ctflow-k8s.")
        os.chmod(self.work, 0o755)
        self.as_pg = []
        self.pgbin = sorted(
            (os.path.join("/usr/lib/postgresql", v, "bin") for v in
             os.listdir("/usr/lib/postgresql")), key=lambda p: int(p.split("/")[-2]))[-1]
        self.fake = None
        self.servers = {}  # replica -> Popen
        self.ports = {}
        self.data = os.path.join(self.work, "data")
        self.k8s = os.path.join(self.work, "k8s")
        self.token_file = os.path.join(self.k8s, "token")
        self.run_id = None

    # -- PostgreSQL --
    def start_postgres(self):
        if os.getuid() == 0:
            shutil.chown(self.work, "postgres")
            self.as_pg = ["runuser", "-u", "postgres", "--"]
        pg = os.path.join(self.work, "pg")
        subprocess.run(self.as_pg + [f"{self.pgbin}/initdb", "-D", pg, "-A", "trust", "-U",
                                     "ctflow", "--no-sync"], check=True, capture_output=True)
        self.kill_leftovers()
        subprocess.run(self.as_pg + [f"{self.pgbin}/pg_ctl", "-D", pg, "-l",
                                     os.path.join(self.work, "pg.log"), "-w", "-o",
                                     f"-c listen_addresses='' -k {self.work} -c fsync=off",
                                     "start"], check=True, capture_output=True)
        subprocess.run(self.as_pg + [f"{self.pgbin}/createdb", "-h", self.work, "-U", "ctflow",
                                     "ct"], check=True, capture_output=True)
        self.db_url = f"postgresql:///ct?host={self.work}&user=ctflow"

    def psql(self, sql):
        r = subprocess.run(self.as_pg + [f"{self.pgbin}/psql", "-h", self.work, "-U", "ctflow",
                                         "-d", "ct", "-qAtX", "-F", "\t", "-v",
                                         "ON_ERROR_STOP=1", "-c", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise ScenarioError(f"psql: {r.stderr.strip()}")
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    # -- the fake API server --
    def start_fake(self):
        os.makedirs(self.k8s, exist_ok=True)
        os.makedirs(self.data, exist_ok=True)
        with open(self.token_file, "w") as f:
            f.write("token-" + os.urandom(12).hex() + "\n")
        cfg = copy.deepcopy(self.sc.get("fake") or {})
        cfg.setdefault("token_file", self.token_file)
        cfg["path"] = [self.bindir] + cfg.get("path", [])
        cfg_path = os.path.join(self.k8s, "fake.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        ready = os.path.join(self.k8s, "ready.json")
        self.fake_log = open(os.path.join(self.work, "fake.log"), "w")
        self.fake = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "fake_apiserver.py"), "--workdir", self.k8s,
             "--config", cfg_path, "--ready-file", ready],
            stdout=self.fake_log, stderr=subprocess.STDOUT)
        for _ in range(400):
            if os.path.exists(ready):
                break
            if self.fake.poll() is not None:
                raise ScenarioError("the fake API server exited: " + self.tail("fake.log"))
            time.sleep(0.05)
        self.fake_info = json.load(open(ready))
        self.write_kubeconfig()

    def write_kubeconfig(self):
        kc = self.sc.get("kubeconfig") or {}
        pki = os.path.join(self.k8s, "pki")
        cluster = {"server": self.fake_info["url"]}
        if kc.get("ca", "data") == "data":
            cluster["certificate-authority-data"] = base64.b64encode(
                open(os.path.join(pki, "ca.crt"), "rb").read()).decode()
        else:
            cluster["certificate-authority"] = os.path.join(pki, "ca.crt")
        user_kind = kc.get("user", "token_file")
        if user_kind == "token_file":
            user = {"tokenFile": self.token_file}
        elif user_kind == "token":
            user = {"token": kc.get("token") or open(self.token_file).read().strip()}
        elif user_kind == "client_cert":
            user = {k + "-data": base64.b64encode(open(os.path.join(pki, f), "rb").read())
                    .decode() for k, f in (("client-certificate", "client.crt"),
                                           ("client-key", "client.key"))}
        else:
            raise ScenarioError(f"kubeconfig.user: unknown {user_kind!r}")
        ctx = {"cluster": "fake", "user": "ctflow"}
        if kc.get("namespace", "ctflow"):
            ctx["namespace"] = kc.get("namespace", "ctflow")
        doc = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "clusters": [{"name": "fake", "cluster": cluster}],
               "contexts": [{"name": "fake", "context": ctx}],
               "users": [{"name": "ctflow", "user": user}]}
        if kc.get("current_context", True):
            doc["current-context"] = "fake"
        self.kubeconfig = os.path.join(self.k8s, "kubeconfig")
        with open(self.kubeconfig, "w") as f:
            yaml.safe_dump(doc, f, sort_keys=False)

    # -- ctflow servers --
    def server_args(self):
        srv = self.sc.get("server") or {}
        args = ["--database-url", self.db_url, "--data-dir", self.data, "--port", "0",
                "--lease-ms", str(srv.get("lease_ms", 3000)),
                "--sweep-ms", str(srv.get("sweep_ms", 500))]
        if not srv.get("k8s_flags", True):  # a harness check against a server without them
            return args + [str(a) for a in srv.get("args", [])]
        args += ["--k8s-kubeconfig", self.kubeconfig,
                "--k8s-volume", "hostpath:" + self.data,
                "--k8s-image", srv.get("image", "ctflow-task:test"),
                "--k8s-image-pull-grace-ms", str(srv.get("image_pull_grace_ms", 1000))]
        return args + [str(a) for a in srv.get("args", [])]

    def start_server(self, replica):
        if replica in self.servers and self.servers[replica].poll() is None:
            raise ScenarioError(f"replica {replica} is already running")
        path = os.path.join(self.work, f"server-{replica}.log")
        with open(path, "a") as f:
            f.write(f"==== start {time.strftime('%H:%M:%S')}\n")
        offset = os.path.getsize(path)
        out = open(path, "a")
        env = dict(os.environ, KUBECONFIG="/nonexistent")
        p = subprocess.Popen([self.ctflow, "server"] + self.server_args(), stdout=out,
                             stderr=out, env=env)
        self.servers[replica] = p
        end = time.time() + 60
        while time.time() < end:
            with open(path, errors="replace") as f:
                f.seek(offset)
                m = re.search(r"API listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.ports[replica] = int(m.group(1))
                log(f"replica {replica} (pid {p.pid}) on port {m.group(1)}")
                return
            if p.poll() is not None:
                raise ScenarioError(f"ctflow server {replica} exited {p.returncode}:\n" +
                                    self.tail(f"server-{replica}.log"))
            time.sleep(0.1)
        raise ScenarioError(f"ctflow server {replica} did not listen:\n" +
                            self.tail(f"server-{replica}.log"))

    def signal_server(self, replica, sig):
        p = self.servers.get(replica)
        if not p or p.poll() is not None:
            raise ScenarioError(f"replica {replica} is not running")
        os.kill(p.pid, getattr(signal, "SIG" + sig))
        log(f"SIG{sig} -> replica {replica} (pid {p.pid})")
        if sig in ("KILL", "TERM"):
            p.wait(30)
            self.ports.pop(replica, None)

    def url(self):
        for r, p in sorted(self.servers.items()):
            if p.poll() is None and r in self.ports and not getattr(p, "stopped", False):
                return f"http://127.0.0.1:{self.ports[r]}"
        raise ScenarioError("no ctflow server is running")

    def admin_token(self):
        return open(os.path.join(self.data, "admin-token")).read().strip()

    def api(self, path, timeout=10):
        req = urllib.request.Request(self.url() + path, headers={
            "Authorization": "Bearer " + self.admin_token()})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def cli(self, *args, timeout=60):
        return subprocess.run([self.ctflow] + list(args) + [
            "--url", self.url(), "--token-file", os.path.join(self.data, "admin-token")],
            capture_output=True, text=True, timeout=timeout)

    def fake_state(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.fake_info["ca"])
        with urllib.request.urlopen(self.fake_info["url"] + "/fake/state", context=ctx,
                                    timeout=10) as r:
            return json.loads(r.read())

    def requests(self):
        path = os.path.join(self.k8s, "requests.jsonl")
        if not os.path.exists(path):
            return []
        return [e for e in (json.loads(line) for line in open(path)) if not e.get("driver")]

    def tail(self, name, n=40):
        path = os.path.join(self.work, name)
        if not os.path.exists(path):
            return f"({name}: none)"
        lines = open(path, errors="replace").read().splitlines()
        return "\n".join(f"  {name}: {line}" for line in lines[-n:])

    def kill_leftovers(self):
        """Processes this scenario started that outlive their parents (the local executor's
        supervisor, a task): those whose command line names the work folder, postgres aside."""
        mine = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
            except OSError:
                continue
            if self.work in cmd and "postgres" not in cmd and int(pid) != os.getpid():
                mine.append(int(pid))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in mine:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            if sig == signal.SIGTERM and mine:
                time.sleep(1)

    def close(self, failed):
        for p in self.servers.values():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGCONT)
                    p.terminate()
                    p.wait(15)
                except (subprocess.TimeoutExpired, ProcessLookupError):
                    p.kill()
        if self.fake and self.fake.poll() is None:
            self.fake.terminate()
            try:
                self.fake.wait(15)
            except subprocess.TimeoutExpired:
                self.fake.kill()
        self.kill_leftovers()
        subprocess.run(self.as_pg + [f"{self.pgbin}/pg_ctl", "-D",
                                     os.path.join(self.work, "pg"), "-m", "immediate", "stop"],
                       capture_output=True)
        if self.keep or failed:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)


# ---------------------------------------------------------------- the scenario

def load_pipeline(sc):
    if "pipeline_file" in sc:
        spec = yaml.safe_load(open(os.path.join(REPO, sc["pipeline_file"])))
        deep_merge(spec, sc.get("pipeline_patch") or {})
        return spec
    if isinstance(sc.get("pipeline"), str):
        return sc["pipeline"]
    return sc["pipeline"]


def deep_merge(dst, patch):
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = v


def tasks_by_label(state, task, phase):
    pods = [p for p in state["pods"]
            if p["metadata"]["labels"].get("ctflow.io/task") == task]
    jobs = [j for j in state["jobs"]
            if ((j["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(
                "ctflow.io/task") == task]
    if phase == "created":
        return bool(jobs)
    if phase == "running":
        return any(p["status"].get("phase") == "Running" for p in pods)
    if phase == "finished":
        return any(any(c["type"] in ("Complete", "Failed") for c in
                       j["status"].get("conditions", [])) for j in jobs)
    raise ScenarioError(f"wait.job.phase: unknown {phase!r}")


def run_steps(env, steps):
    for i, step in enumerate(steps or []):
        (kind, arg), = step.items()
        log(f"step {i}: {kind} {json.dumps(arg)}")
        if kind == "wait":
            if "seconds" in arg:
                time.sleep(float(arg["seconds"]))
                continue
            if "job" in arg:
                end = time.time() + float(arg.get("timeout", 60))
                while not tasks_by_label(env.fake_state(), arg["job"]["task"],
                                         arg["job"].get("phase", "running")):
                    if time.time() > end:
                        raise ScenarioError(f"step {i}: timed out waiting for {arg}")
                    time.sleep(0.1)
                continue
            if "requests" in arg:  # {requests: {method, path, status}, count: N}
                end = time.time() + float(arg.get("timeout", 60))
                while len(select(env.requests(), arg["requests"])) < arg.get("count", 1):
                    if time.time() > end:
                        raise ScenarioError(f"step {i}: timed out waiting for {arg}")
                    time.sleep(0.1)
                continue
            raise ScenarioError(f"step {i}: wait needs seconds, job or requests")
        elif kind == "kill":
            sig = arg.get("signal", "KILL")
            env.signal_server(arg.get("replica", 0), sig)
            p = env.servers[arg.get("replica", 0)]
            p.stopped = sig == "STOP"
        elif kind == "start":
            env.start_server(arg.get("replica", 0))
        elif kind == "cancel":
            r = env.cli("cancel", env.run_id)
            if r.returncode != 0:
                raise ScenarioError(f"step {i}: ctflow cancel: {r.stdout}{r.stderr}")
        elif kind == "rotate_token":
            tmp = env.token_file + ".tmp"
            with open(tmp, "w") as f:
                f.write(arg.get("token", "rotated-" + os.urandom(8).hex()) + "\n")
            os.rename(tmp, env.token_file)
        else:
            raise ScenarioError(f"step {i}: unknown step {kind!r}")


def select(reqs, flt):
    """The request log entries that match a filter {method, path (regex), query {k: want},
    body {path: want}, status, token_generation, entry {path into the whole log entry: want}}."""
    out = []
    for e in reqs:
        if any(not value_matches(get_path(e, p), w) for p, w in (flt.get("entry") or {}).items()):
            continue
        if "method" in flt and e["method"] != flt["method"]:
            continue
        if "path" in flt and not re.search(flt["path"], e["path"]):
            continue
        if "status" in flt and e["status"] != flt["status"]:
            continue
        if "token_generation" in flt and e["auth"].get("token_generation") != \
                flt["token_generation"]:
            continue
        if any(not value_matches(e["query"].get(k, MISSING), w)
               for k, w in (flt.get("query") or {}).items()):
            continue
        if any(not value_matches(get_path(e["body"], p) if e["body"] is not None else MISSING,
                                 w) for p, w in (flt.get("body") or {}).items()):
            continue
        out.append(e)
    return out


def summarize(e):
    name = ""
    if isinstance(e.get("body"), dict):
        name = (e["body"].get("metadata") or {}).get("name") or e["body"].get(
            "propagationPolicy", "")
    q = "&".join(f"{k}={v}" for k, v in e["query"].items())
    return f"{e['status']} {e['method']} {e['path']}{'?' + q if q else ''} {name}".rstrip()


def check_requests(reqs, rules, fails):
    for i, rule in enumerate(rules or []):
        flt = {k: rule[k] for k in ("method", "path", "query", "body", "status",
                                    "token_generation", "entry") if k in rule}
        sel = select(reqs, flt)
        what = f"requests[{i}] {json.dumps(flt)}"
        n = len(sel)
        if "count" in rule and n != rule["count"]:
            fails.append(f"{what}: expected {rule['count']} matching requests, got {n}")
        if "min" in rule and n < rule["min"]:
            fails.append(f"{what}: expected at least {rule['min']}, got {n}")
        if "max" in rule and n > rule["max"]:
            fails.append(f"{what}: expected at most {rule['max']}, got {n}")
        if "min" not in rule and "count" not in rule and "max" not in rule and n == 0 \
                and "each" not in rule:
            fails.append(f"{what}: expected at least one, got none")
        if "group_by" in rule:
            groups = {}
            for e in sel:
                key = (get_path(e["body"], rule["group_by"]) if rule["group_by"] != "path"
                       else e["path"])
                groups.setdefault(json.dumps(key), []).append(e)
            bad = {k: len(v) for k, v in groups.items() if len(v) != rule.get("each", 1)}
            if bad:
                fails.append(f"{what}: expected {rule.get('each', 1)} per "
                             f"{rule['group_by']}, got {bad}")
            if "groups" in rule and len(groups) != rule["groups"]:
                fails.append(f"{what}: expected {rule['groups']} distinct "
                             f"{rule['group_by']}, got {sorted(groups)}")
        if "spacing_min_s" in rule:  # e.g. a retry waited for Retry-After
            gaps = [b["ts"] - a["ts"] for a, b in zip(sel, sel[1:])]
            if any(g < rule["spacing_min_s"] for g in gaps):
                fails.append(f"{what}: expected at least {rule['spacing_min_s']} s between "
                             f"them, got gaps {[round(g, 2) for g in gaps]}")
        if "after" in rule:  # all matches come after the first match of another filter
            first = select(reqs, rule["after"])
            if not first:
                fails.append(f"{what}: its 'after' filter matched nothing")
            elif any(e["ts"] < first[0]["ts"] for e in sel):
                fails.append(f"{what}: some came before {json.dumps(rule['after'])}")


def check_run(env, exp, fails):
    run = env.api(f"/api/v1/runs/{env.run_id}")
    want = exp.get("run") or {}
    if "state" in want and run["state"] != want["state"]:
        fails.append(f"run.state: expected {want['state']!r}, got {run['state']!r} "
                     f"(error: {run.get('error')!r})")
    if "error" in want and want["error"] not in (run.get("error") or ""):
        fails.append(f"run.error: expected to contain {want['error']!r}, got "
                     f"{run.get('error')!r}")
    tasks = {t["name"]: t for t in run.get("tasks", [])}
    for name, tw in (exp.get("tasks") or {}).items():
        t = tasks.get(name)
        if t is None:
            fails.append(f"tasks.{name}: no such task in the run (has {sorted(tasks)})")
            continue
        for k in ("state", "exit_code", "attempt"):
            if k in tw and t.get(k) != tw[k]:
                fails.append(f"tasks.{name}.{k}: expected {tw[k]!r}, got {t.get(k)!r} "
                             f"(error: {t.get('error')!r})")
        if "error" in tw:
            err = t.get("error") or ""
            if tw["error"] is None and err:
                fails.append(f"tasks.{name}.error: expected none, got {err!r}")
            elif tw["error"] is not None and tw["error"].lower() not in err.lower():
                fails.append(f"tasks.{name}.error: expected to contain {tw['error']!r}, got "
                             f"{err!r}")
        if "attempts" in tw:
            full = env.api(f"/api/v1/runs/{env.run_id}/tasks/{name}")
            n = len(full.get("attempts", []))
            if n != tw["attempts"]:
                fails.append(f"tasks.{name}.attempts: expected {tw['attempts']}, got {n}: "
                             f"{json.dumps(full.get('attempts'))[:600]}")
    return run


def check_logs(env, exp, fails):
    for name, want in (exp.get("logs") or {}).items():
        r = env.cli("logs", env.run_id, name)
        wants = want if isinstance(want, list) else [want]
        for w in wants:
            if w not in r.stdout:
                fails.append(f"logs.{name}: expected to contain {w!r}, got exit "
                             f"{r.returncode}, stdout {r.stdout[-600:]!r}, stderr "
                             f"{r.stderr[-300:]!r}")


def check_models(env, exp, fails):
    want = exp.get("models")
    if not want:
        return
    models = {m["name"]: m for m in env.api("/api/v1/models").get("models", [])}
    for name, w in want.items():
        m = models.get(name)
        if m is None:
            fails.append(f"models.{name}: not registered (models: {sorted(models)})")
        elif m.get("versions", 0) < w.get("min_versions", 1):
            fails.append(f"models.{name}.versions: expected >= {w.get('min_versions', 1)}, "
                         f"got {m.get('versions')}")


def check_events(env, exp, fails):
    """Every task of the run reached its final state once (no transition lost or repeated)."""
    if not exp.get("terminal_events_once"):
        return
    states = "','".join(TERMINAL_TASK)
    rows = env.psql(f"SELECT payload->>'task', payload->>'state', count(*) FROM events "
                    f"WHERE run_id = {int(env.run_id)} AND kind = 'task' AND "
                    f"payload->>'state' IN ('{states}') GROUP BY 1, 2 ORDER BY 1, 2")
    per = {}
    for task, st, n in rows:
        per.setdefault(task, []).append((st, int(n)))
    for task, lst in per.items():
        if len(lst) != 1 or lst[0][1] != 1:
            fails.append(f"events: task {task} ended {lst} (expected one terminal event)")
    for task in exp.get("tasks") or {}:
        if task not in per:
            fails.append(f"events: task {task} has no terminal event")


def check_pods_gone(env, exp, fails):
    """The pods of these tasks are deleted (and their processes ended) within 15 s."""
    tasks = exp.get("pods_gone") or []
    end = time.time() + 15
    left = tasks
    while left and time.time() < end:
        st = env.fake_state()
        left = [t for t in tasks if any(p["metadata"]["labels"].get("ctflow.io/task") == t
                                        for p in st["pods"])]
        time.sleep(0.2)
    for t in left:
        fails.append(f"pods_gone: the pod of task {t} still exists 15 s after the run ended")


KEYS = {
    "": {"description", "timeout", "pipeline", "pipeline_file", "pipeline_patch", "params",
         "logical_date", "server", "kubeconfig", "fake", "steps", "expect"},
    "server": {"replicas", "lease_ms", "sweep_ms", "image", "image_pull_grace_ms", "args",
               "k8s_flags"},
    "kubeconfig": {"user", "token", "current_context", "namespace", "ca"},
    "fake": {"token_file", "client_ca_auth", "forbidden_namespaces", "secrets", "kubelet",
             "start_delay_ms", "grace_seconds", "path", "create_429", "retry_after",
             "watch_faults", "watch_delay_ms", "outcomes"},
    "expect": {"submit", "run", "tasks", "logs", "models", "terminal_events_once", "pods_gone",
               "requests"},
    "request": {"method", "path", "query", "body", "status", "token_generation", "entry",
                "count", "min", "max", "group_by", "each", "groups", "spacing_min_s", "after"},
    "task": {"state", "error", "exit_code", "attempt", "attempts"},
}


def lint(sc):
    """Unknown keys in a scenario (a typo would make an expectation vacuous)."""
    errs = []

    def known(where, obj, kind):
        for k in (obj or {}):
            if k not in KEYS[kind]:
                errs.append(f"{where}: unknown key {k!r} (known: {sorted(KEYS[kind])})")
    known("scenario", sc, "")
    for kind in ("server", "kubeconfig", "fake", "expect"):
        known(kind, sc.get(kind), kind)
    exp = sc.get("expect") or {}
    for i, r in enumerate(exp.get("requests") or []):
        known(f"expect.requests[{i}]", r, "request")
    for name, t in (exp.get("tasks") or {}).items():
        known(f"expect.tasks.{name}", t, "task")
    if "pipeline" not in sc and "pipeline_file" not in sc:
        errs.append("scenario: needs pipeline or pipeline_file")
    return errs


def run_scenario(path, ctflow, keep):
    sc = yaml.safe_load(open(path))
    errs = lint(sc)
    if errs:
        print("\n".join(f"{path}: {e}" for e in errs))
        return 2
    exp = sc.get("expect") or {}
    env = Env(sc, ctflow, keep)
    fails = []
    started = time.time()
    try:
        env.start_postgres()
        env.start_fake()
        srv = sc.get("server") or {}
        for r in range(int(srv.get("replicas", 1))):
            env.start_server(r)
        spec = load_pipeline(sc)
        spec_path = os.path.join(env.work, "pipeline.yaml")
        with open(spec_path, "w") as f:
            f.write(spec if isinstance(spec, str) else yaml.safe_dump(spec, sort_keys=False))
        args = ["submit", spec_path]
        for k, v in (sc.get("params") or {}).items():
            args += ["-p", f"{k}={v}"]
        if sc.get("logical_date"):
            args += ["--logical-date", sc["logical_date"]]
        sub = env.cli(*args)
        log(f"submit: exit {sub.returncode} {sub.stdout.strip()} {sub.stderr.strip()[:300]}")
        if "submit" in exp:
            w = exp["submit"]
            if "exit" in w and sub.returncode != w["exit"]:
                fails.append(f"submit.exit: expected {w['exit']}, got {sub.returncode}")
            for k in ("stderr", "stdout"):
                if k in w and w[k] not in getattr(sub, k):
                    fails.append(f"submit.{k}: expected to contain {w[k]!r}, got "
                                 f"{getattr(sub, k)!r}")
            if sub.returncode != 0:
                check_requests(env.requests(), exp.get("requests"), fails)
                return finish(env, fails, started)
        if sub.returncode != 0:
            raise ScenarioError(f"ctflow submit failed ({sub.returncode}): {sub.stdout}"
                                f"{sub.stderr}")
        m = re.search(r"(\d+)\s*$", sub.stdout.strip())
        if not m:
            raise ScenarioError(f"ctflow submit printed no run id: {sub.stdout!r}")
        env.run_id = m.group(1)
        exp = substitute(exp, {"DATA": env.data, "WORK": env.work, "RUN": env.run_id,
                               "NAMESPACE": (sc.get("kubeconfig") or {}).get("namespace",
                                                                             "ctflow")})
        run_steps(env, sc.get("steps"))
        end = started + float(sc.get("timeout", 120))
        state = None
        while time.time() < end:
            try:
                state = env.api(f"/api/v1/runs/{env.run_id}?tasks=false")["state"]
            except (urllib.error.URLError, OSError, ScenarioError):
                state = None
            if state in TERMINAL_RUN:
                break
            time.sleep(0.2)
        if state not in TERMINAL_RUN:
            run = env.api(f"/api/v1/runs/{env.run_id}")
            fails.append(f"the run did not end within {sc.get('timeout', 120)} s: " +
                         ", ".join(f"{t['name']}={t['state']}" for t in run["tasks"]))
        else:
            log(f"run {env.run_id} ended {state} after {time.time() - started:.1f} s")
        run = check_run(env, exp, fails)
        check_pods_gone(env, exp, fails)
        check_logs(env, exp, fails)
        check_models(env, exp, fails)
        check_events(env, exp, fails)
        check_requests(env.requests(), exp.get("requests"), fails)
        if fails:
            print("tasks:")
            for t in run.get("tasks", []):
                print(f"  {t['name']}: {t['state']} attempt {t.get('attempt')} exit "
                      f"{t.get('exit_code')} error {t.get('error')!r}")
        return finish(env, fails, started)
    except Exception as e:  # the scenario could not run: say why, with the logs
        fails.append(f"{type(e).__name__}: {e}")
        if not isinstance(e, ScenarioError):
            traceback.print_exc()
        return finish(env, fails, started)
    except BaseException:  # SIGTERM (ctest's timeout) or Ctrl-C: stop what was started
        print("\ninterrupted; requests so far:")
        for e in env.requests():
            print("  " + summarize(e))
        env.close(True)
        raise


def finish(env, fails, started):
    if fails:
        print("\nFAILED expectations:")
        for f in fails:
            print("  - " + f)
        print("\nrequests ctflow sent to the fake API server:")
        for e in env.requests():
            print("  " + summarize(e))
        for name in sorted(os.listdir(env.work)):
            if name.startswith("server-") or name == "fake.log":
                print(env.tail(name))
    else:
        log(f"PASS ({time.time() - started:.1f} s)")
    env.close(bool(fails))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser(description="run one tests/testdata/k8s scenario")
    ap.add_argument("scenario")
    ap.add_argument("--ctflow", default=os.environ.get("CTFLOW_BIN",
                                                       os.path.join(REPO, "build", "ctflow")))
    ap.add_argument("--keep", action="store_true", default=bool(os.environ.get("KEEP_WORK")))
    ap.add_argument("--lint", action="store_true", help="only check the file's keys")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if a.lint:
        errs = lint(yaml.safe_load(open(a.scenario)))
        print("\n".join(errs) or f"{a.scenario}: ok")
        return 1 if errs else 0
    if not os.access(a.ctflow, os.X_OK):
        print(f"{a.ctflow}: not an executable (set CTFLOW_BIN or --ctflow)", file=sys.stderr)
        return 2
    return run_scenario(a.scenario, a.ctflow, a.keep)


if __name__ == "__main__":
    sys.exit(main())
