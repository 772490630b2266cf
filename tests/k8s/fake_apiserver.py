#!/usr/bin/env python3
"""A fake Kubernetes API server for the Kubernetes executor's tests (issue 19, acceptance 1-3).

It speaks HTTPS with the exact shapes of the API reference for what ctflow uses: batch/v1 Jobs
(create, get, list, watch, delete with propagationPolicy) and v1 Pods (get, list, watch, log with
follow), Status objects for errors, watch events as newline-delimited JSON in a chunked body,
resourceVersions and 410 Expired. A "kubelet" runs each created Job's single pod as a local
process (command+args, env with secretKeyRef resolved, workingDir) on the same disk, so the
Job's volume is the test's folder. A scenario (JSON or YAML, the `fake:` block of a
tests/testdata/k8s/*.yaml file) scripts failures: per-job outcomes (oom, image_pull, exit: N,
evicted), 429 on the first creates, a 410 or a dropped connection in the middle of a watch,
forbidden namespaces. Every request is appended to a JSON-lines log (no token values).

Usage: fake_apiserver.py --workdir DIR [--config FILE] [--port 0] [--ready-file F]
  DIR holds (made if missing): pki/ (ca.crt, server.crt, server.key; made with the openssl CLI
  unless present), token (the accepted bearer token unless the config names token_file),
  requests.jsonl, pods/<name>/ (each pod's log and default working directory).
  The ready file gets {"port": N, "url": "https://127.0.0.1:N", "ca": PATH} when it listens.
  SIGTERM stops it and kills the pods' process groups.

Scenario keys (all optional):
  token_file: PATH            re-read on every request; `Authorization: Bearer <its content>`
  client_ca_auth: true        a client certificate signed by pki/ca.crt also authenticates
  forbidden_namespaces: [NS]  every request there gets 403
  secrets: {NAME: {KEY: VALUE}}
  kubelet: true               run pods (false: Jobs are stored and stay as created)
  start_delay_ms: 100         Pending -> Running
  grace_seconds: 2            SIGTERM -> SIGKILL when a pod is deleted (caps the pod's own)
  path: [DIR]                 prepended to the pods' PATH
  create_429: N               the first N Job creates answer 429 with Retry-After
  retry_after: 1
  watch_faults: [{resource: jobs|pods|any, after_events: N, action: "410"|drop, times: 1}]
  watch_delay_ms: {pods: 500}  events reach that resource's watch streams this much later (a
                              slow watch cache: a client sees the Job end before its pod does)
  outcomes: [{task: NAME | name: REGEX | image: REGEX, outcome: run|oom|image_pull|evicted|exit|hold,
              exit: N, after_ms: 300}]   first match wins; default: run the command
"""

import argparse
import copy
import datetime
import json
import os
import random
import re
import signal
import socket
import ssl
import string
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8s_schema  # noqa: E402


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_pki(pki_dir, client=True):
    """A CA and a server certificate for 127.0.0.1 and localhost (and a client certificate
    signed by the same CA), made with the openssl CLI unless already there."""
    os.makedirs(pki_dir, exist_ok=True)
    p = lambda n: os.path.join(pki_dir, n)  # noqa: E731
    if os.path.exists(p("server.crt")):
        return
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
        "-subj", "/CN=fake-kubernetes-ca", "-keyout", p("ca.key"), "-out", p("ca.crt"),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=kube-apiserver",
        "-keyout", p("server.key"), "-out", p("server.csr"))
    run("openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey",
        p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("server.ext"),
        "-out", p("server.crt"))
    if client:
        with open(p("client.ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=clientAuth\n")
        run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/O=ctflow/CN=ctflow-client", "-keyout", p("client.key"),
            "-out", p("client.csr"))
        run("openssl", "x509", "-req", "-in", p("client.csr"), "-CA", p("ca.crt"), "-CAkey",
            p("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", p("client.ext"),
            "-out", p("client.crt"))


def status_obj(code, reason, message, details=None):
    o = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason, "code": code}
    if details:
        o["details"] = details
    return o


def parse_selector(text):
    """Equality-based label selector: a=b,c==d,e!=f. None when it cannot be parsed."""
    out = []
    for part in filter(None, (s.strip() for s in (text or "").split(","))):
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            return None
        out.append((m.group(1).strip(), m.group(2) != "!=", m.group(3).strip()))
    return out


def selector_matches(sel, labels):
    labels = labels or {}
    return all((labels.get(k) == v) == eq for k, eq, v in sel)


def field_selector_matches(text, obj):
    for k, eq, v in parse_selector(text) or []:
        cur = {"metadata.name": obj["metadata"]["name"],
               "metadata.namespace": obj["metadata"]["namespace"]}.get(k)
        if (cur == v) != eq:
            return False
    return True


def delete_policy(query, body):
    """The propagationPolicy of a DELETE: the DeleteOptions body wins over the query; batch/v1
    Jobs orphan their pods when neither says (the REST default for Jobs, unlike kubectl's)."""
    policy = query.get("propagationPolicy")
    if isinstance(body, dict) and body.get("propagationPolicy"):
        policy = body["propagationPolicy"]
    if isinstance(body, dict) and body.get("orphanDependents") is False and not policy:
        policy = "Background"
    return policy or "Orphan"


class Cluster:
    """Jobs, pods and the change history, all under one lock. Watchers wait on `cond`."""

    def __init__(self, cfg, workdir, log):
        self.cfg = cfg
        self.workdir = workdir
        self.log = log
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 100
        self.compacted_rv = 0  # a watch from an RV below this is 410 Expired
        self.history = []  # (rv, resource, namespace, type, object, time)
        self.objects = {"jobs": {}, "pods": {}}  # (ns, name) -> object
        self.procs = {}  # pod name -> Popen
        self.creates = 0
        self.watch_faults = [dict(f, left=f.get("times", 1)) for f in cfg.get("watch_faults", [])]
        self.stopping = False

    # -- changes (lock held) --
    def _record(self, resource, typ, obj):
        self.rv += 1
        if typ != "DELETED":
            obj["metadata"]["resourceVersion"] = str(self.rv)
        else:
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self.rv)
        self.history.append((self.rv, resource, obj["metadata"]["namespace"], typ,
                             copy.deepcopy(obj), time.time()))
        self.cond.notify_all()

    def put(self, resource, obj, typ="MODIFIED"):
        with self.lock:
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            if typ == "DELETED":
                self.objects[resource].pop(key, None)
            else:
                self.objects[resource][key] = obj
            self._record(resource, typ, obj)

    def compact(self):
        with self.lock:
            self.compacted_rv = self.rv

    def get(self, resource, ns, name):
        with self.lock:
            o = self.objects[resource].get((ns, name))
            return copy.deepcopy(o) if o else None

    def watch_fault(self, resource, sent):
        """The scripted fault due on a watch stream of `resource` that has sent `sent` events
        (used up when returned), or None."""
        with self.lock:
            for f in self.watch_faults:
                if (f["left"] > 0 and f.get("resource", "any") in ("any", resource) and
                        sent >= f.get("after_events", 1)):
                    f["left"] -= 1
                    return f
        return None

    # -- jobs --
    def outcome_for(self, job):
        task = ((job["spec"]["template"].get("metadata") or {}).get("labels") or {}).get(
            "ctflow.io/task")
        image = job["spec"]["template"]["spec"]["containers"][0].get("image", "")
        for o in self.cfg.get("outcomes", []):
            if "task" in o and o["task"] == task:
                return o
            if "name" in o and re.search(o["name"], job["metadata"]["name"]):
                return o
            if "image" in o and re.search(o["image"], image):
                return o
        return {"outcome": "run"}

    def create_job(self, ns, job):
        with self.lock:
            name = job["metadata"]["name"]
            if (ns, name) in self.objects["jobs"]:
                return None
            uid = str(uuid.uuid4())
            meta = job["metadata"]
            meta.update(namespace=ns, uid=uid, creationTimestamp=now_iso(), generation=1)
            meta.setdefault("labels", {})
            sel_labels = {"batch.kubernetes.io/controller-uid": uid}
            spec = job["spec"]
            spec.setdefault("parallelism", 1)
            spec.setdefault("completions", 1)
            spec.setdefault("backoffLimit", 6)
            spec.setdefault("completionMode", "NonIndexed")
            spec.setdefault("suspend", False)
            spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
            spec.setdefault("manualSelector", False)
            spec["selector"] = {"matchLabels": dict(sel_labels)}
            tmeta = spec["template"].setdefault("metadata", {})
            tl = tmeta.setdefault("labels", {})
            tl.update({"batch.kubernetes.io/controller-uid": uid,
                       "batch.kubernetes.io/job-name": name, "controller-uid": uid,
                       "job-name": name})
            pod = spec["template"]["spec"]
            pod.setdefault("dnsPolicy", "ClusterFirst")
            pod.setdefault("schedulerName", "default-scheduler")
            pod.setdefault("securityContext", {})
            pod.setdefault("terminationGracePeriodSeconds", 30)
            for c in pod["containers"]:
                c.setdefault("terminationMessagePath", "/dev/termination-log")
                c.setdefault("terminationMessagePolicy", "File")
                c.setdefault("imagePullPolicy", "Always" if c.get("image", "").endswith(
                    ":latest") or ":" not in c.get("image", "") else "IfNotPresent")
                c.setdefault("resources", {})
            job["status"] = {}
            self.put("jobs", job, "ADDED")
            stored = copy.deepcopy(job)
        if self.cfg.get("kubelet", True):
            threading.Thread(target=Kubelet(self, ns, name).run, daemon=True).start()
        return stored

    def delete_job(self, ns, name, policy):
        with self.lock:
            job = self.objects["jobs"].get((ns, name))
            if not job:
                return None
            job = copy.deepcopy(job)
            job["metadata"]["deletionTimestamp"] = now_iso()
            job["metadata"]["annotations"] = dict(job["metadata"].get("annotations") or {})
            job["metadata"]["annotations"]["fake.ctflow.io/propagationPolicy"] = policy
            uid = job["metadata"]["uid"]
            self.put("jobs", job, "DELETED")
            pods = [p for (pns, _), p in self.objects["pods"].items()
                    if pns == ns and p["metadata"]["labels"].get("controller-uid") == uid]
        for p in pods:
            if policy == "Orphan":
                with self.lock:
                    p = self.objects["pods"].get((ns, p["metadata"]["name"]))
                    if p:
                        p["metadata"]["ownerReferences"] = []
                        self._record("pods", "MODIFIED", p)
            else:
                threading.Thread(target=self.delete_pod, args=(ns, p["metadata"]["name"]),
                                 daemon=True).start()
        return job

    def delete_pod(self, ns, name):
        with self.lock:
            pod = self.objects["pods"].get((ns, name))
            if not pod or pod["metadata"].get("deletionTimestamp"):
                return
            grace = min(pod["spec"].get("terminationGracePeriodSeconds", 30),
                        self.cfg.get("grace_seconds", 2))
            pod["metadata"]["deletionTimestamp"] = now_iso()
            pod["metadata"]["deletionGracePeriodSeconds"] = grace
            self._record("pods", "MODIFIED", pod)
        self.kill(name, grace)
        with self.lock:
            pod = self.objects["pods"].get((ns, name))
            if pod:
                self.put("pods", pod, "DELETED")

    def kill(self, pod_name, grace):
        proc = self.procs.get(pod_name)
        if not proc or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def shutdown(self):
        self.stopping = True
        with self.lock:
            self.cond.notify_all()
        for name in list(self.procs):
            self.kill(name, 1)


class Kubelet:
    """One Job's controller and its pod's kubelet: creates the pod, runs (or scripts) its
    container, and keeps the pod's and the Job's status as the real ones would."""

    def __init__(self, cluster, ns, job_name):
        self.c = cluster
        self.ns = ns
        self.job_name = job_name
        self.pod_name = None

    def _job(self):
        return self.c.objects["jobs"].get((self.ns, self.job_name))

    def _pod(self):
        return self.c.objects["pods"].get((self.ns, self.pod_name))

    def _update_job(self, fn):
        with self.c.lock:
            job = self._job()
            if job is None:
                return False
            fn(job["status"], job)
            self.c.put("jobs", job)
            return True

    def _update_pod(self, fn):
        with self.c.lock:
            pod = self._pod()
            if pod is None:
                return False
            fn(pod["status"], pod)
            self.c.put("pods", pod)
            return True

    def run(self):
        time.sleep(0.02)
        with self.c.lock:
            job = self._job()
            if job is None:
                return
            job = copy.deepcopy(job)
            outcome = self.c.outcome_for(job)
            tpl = job["spec"]["template"]
            base = (self.job_name + "-")[:58]
            self.pod_name = base + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                           for _ in range(5))
            meta = {"name": self.pod_name, "generateName": self.job_name + "-",
                    "namespace": self.ns, "uid": str(uuid.uuid4()),
                    "creationTimestamp": now_iso(),
                    "labels": dict(tpl["metadata"]["labels"]),
                    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job",
                                         "name": self.job_name, "uid": job["metadata"]["uid"],
                                         "controller": True, "blockOwnerDeletion": True}]}
            spec = copy.deepcopy(tpl["spec"])
            spec["nodeName"] = "fake-node"
            pod = {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec,
                   "status": {"phase": "Pending", "qosClass": "BestEffort",
                              "conditions": [{"type": "PodScheduled", "status": "True",
                                              "lastTransitionTime": now_iso()}]}}
            self.c.put("pods", pod, "ADDED")
            self.started = time.time()

            def start(st, j):
                st.update(startTime=now_iso(), active=1, ready=0, terminating=0,
                          uncountedTerminatedPods={})
            self._update_job(start)
        deadline = job["spec"].get("activeDeadlineSeconds")
        self.deadline_at = self.started + deadline if deadline else None
        time.sleep(self.c.cfg.get("start_delay_ms", 100) / 1000)
        kind = outcome.get("outcome", "run")
        if "exit" in outcome and kind == "run":
            kind = "exit"
        if kind == "run":
            self.run_process(spec["containers"][0])
        elif kind == "image_pull":
            self.image_pull(spec["containers"][0])
        elif kind == "hold":
            self.running(spec["containers"][0])
            self.wait_deadline(None)
        else:
            self.running(spec["containers"][0])
            if self.wait_deadline(outcome.get("after_ms", 300) / 1000):
                return
            if kind == "oom":
                self.terminate(137, "OOMKilled")
            elif kind == "evicted":
                self.terminate(137, "Error", pod_reason="Evicted",
                               pod_message="The node was low on resource: memory. Threshold "
                               "quantity: 100Mi, available: 51200Ki. Container task was using "
                               "1Gi, request is 64Mi, has larger consumption of memory.")
            else:
                code = int(outcome.get("exit", 1))
                self.terminate(code, "Completed" if code == 0 else "Error")

    def wait_deadline(self, seconds):
        """Sleeps `seconds` (None: until the pod goes); True when the Job's deadline passed
        (and was acted on) or the pod is gone."""
        end = time.time() + seconds if seconds is not None else None
        while not self.c.stopping:
            t = time.time()
            if self.deadline_at and t >= self.deadline_at:
                self.deadline_exceeded()
                return True
            with self.c.lock:
                if self._pod() is None:
                    return True
            if end is not None and t >= end:
                return False
            time.sleep(0.05)
        return True

    def container_status(self, c, state, ready=False, started=False):
        return [{"name": c["name"], "image": c.get("image", ""),
                 "imageID": "docker.io/library/fake@sha256:" + "0" * 64 if started else "",
                 "containerID": "containerd://" + uuid.uuid4().hex if started else None,
                 "ready": ready, "started": started, "restartCount": 0, "state": state}]

    def running(self, c):
        pod_dir = os.path.join(self.c.workdir, "pods", self.pod_name)
        os.makedirs(pod_dir, exist_ok=True)
        open(os.path.join(pod_dir, "log"), "ab").close()  # a started container has a log

        def f(st, pod):
            st.update(phase="Running", startTime=now_iso(), podIP="10.244.0.7",
                      hostIP="192.168.49.2")
            st["containerStatuses"] = self.container_status(
                c, {"running": {"startedAt": now_iso()}}, ready=True, started=True)
            st["conditions"] = [{"type": t, "status": "True", "lastTransitionTime": now_iso()}
                                for t in ("PodScheduled", "Initialized", "ContainersReady",
                                          "Ready")]
        self.container_started = now_iso()
        self._update_pod(f)
        self._update_job(lambda st, j: st.update(ready=1))

    def waiting(self, c, reason, message):
        def f(st, pod):
            st["containerStatuses"] = self.container_status(
                c, {"waiting": {"reason": reason, "message": message}})
            st["conditions"] = [{"type": "PodScheduled", "status": "True",
                                 "lastTransitionTime": now_iso()},
                                {"type": "ContainersReady", "status": "False",
                                 "reason": "ContainersNotReady",
                                 "message": "containers with unready status: [task]",
                                 "lastTransitionTime": now_iso()}]
        self._update_pod(f)

    def terminate(self, code, reason, pod_reason=None, pod_message=None):
        started = getattr(self, "container_started", now_iso())

        def f(st, pod):
            st["phase"] = "Succeeded" if code == 0 and not pod_reason else "Failed"
            if pod_reason:
                st["reason"] = pod_reason
                st["message"] = pod_message
            cs = st.get("containerStatuses") or [{"name": "task", "restartCount": 0}]
            cs[0].update(ready=False, started=False, state={"terminated": {
                "exitCode": code, "reason": reason, "startedAt": started,
                "finishedAt": now_iso(), "containerID": cs[0].get("containerID")}})
            st["containerStatuses"] = cs
            for cond in st.get("conditions", []):
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond.update(status="False", reason="PodCompleted")
        if not self._update_pod(f):
            return
        ok = code == 0 and not pod_reason

        def j(st, job):
            st.update(active=0, ready=0)
            t = now_iso()
            if ok:
                st["succeeded"] = 1
                st["completionTime"] = t
                st["conditions"] = [{"type": "Complete", "status": "True",
                                     "lastProbeTime": t, "lastTransitionTime": t}]
            else:
                st["failed"] = 1
                st["conditions"] = [{"type": "Failed", "status": "True", "lastProbeTime": t,
                                     "lastTransitionTime": t, "reason": "BackoffLimitExceeded",
                                     "message": "Job has reached the specified backoff limit"}]
        self._update_job(j)

    def deadline_exceeded(self):
        self.c.kill(self.pod_name, self.c.cfg.get("grace_seconds", 2))

        def j(st, job):
            t = now_iso()
            st.update(active=0, ready=0, failed=1)
            st["conditions"] = [{"type": "Failed", "status": "True", "lastProbeTime": t,
                                 "lastTransitionTime": t, "reason": "DeadlineExceeded",
                                 "message": "Job was active longer than specified deadline"}]
        self._update_job(j)
        with self.c.lock:
            pod = self._pod()
            if pod:
                pod["metadata"]["deletionTimestamp"] = now_iso()
                self.c.put("pods", pod, "DELETED")

    def image_pull(self, c):
        image = c.get("image", "")
        self.waiting(c, "ErrImagePull", f'failed to pull and unpack image "docker.io/library/'
                     f'{image}": failed to resolve reference: pull access denied, repository '
                     "does not exist or may require authorization")
        if self.wait_deadline(0.3):
            return
        self.waiting(c, "ImagePullBackOff", f'Back-off pulling image "{image}"')
        self.wait_deadline(None)

    def env_for(self, c):
        env = {"PATH": ":".join(self.c.cfg.get("path", []) +
                                ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                                 "/sbin", "/bin"]),
               "HOSTNAME": self.pod_name, "HOME": "/root",
               "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
        secrets = self.c.cfg.get("secrets", {})
        for e in c.get("env") or []:
            if "value" in e or not e.get("valueFrom"):
                env[e["name"]] = e.get("value", "")
                continue
            ref = e["valueFrom"].get("secretKeyRef")
            if ref is None:
                continue  # fieldRef and the like: not modelled
            if ref["name"] not in secrets:
                if ref.get("optional"):
                    continue
                return None, f'secret "{ref["name"]}" not found'
            if ref["key"] not in secrets[ref["name"]]:
                if ref.get("optional"):
                    continue
                return None, (f"couldn't find key {ref['key']} in Secret "
                              f"{self.ns}/{ref['name']}")
            env[e["name"]] = str(secrets[ref["name"]][ref["key"]])
        return env, None

    def run_process(self, c):
        env, err = self.env_for(c)
        if err:
            self.waiting(c, "CreateContainerConfigError", err)
            self.wait_deadline(None)
            return
        argv = list(c.get("command") or []) + list(c.get("args") or [])
        pod_dir = os.path.join(self.c.workdir, "pods", self.pod_name)
        os.makedirs(pod_dir, exist_ok=True)
        cwd = c.get("workingDir") or pod_dir
        os.makedirs(cwd, exist_ok=True)
        log_path = os.path.join(pod_dir, "log")
        with open(log_path, "wb") as out:
            try:
                exe = argv[0] if argv else ""
                if exe and "/" not in exe:
                    for d in env["PATH"].split(":"):
                        if os.access(os.path.join(d, exe), os.X_OK):
                            exe = os.path.join(d, exe)
                            break
                proc = subprocess.Popen([exe] + argv[1:], cwd=cwd, env=env, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            except OSError as e:
                # What containerd reports for an argv[0] the image does not have.
                self.running(c)
                out.write(f"exec {argv[:1]}: {e.strerror}\n".encode())
                self.terminate(128, "StartError")
                return
        self.c.procs[self.pod_name] = proc
        self.running(c)
        while proc.poll() is None:
            if self.deadline_at and time.time() >= self.deadline_at:
                self.deadline_exceeded()
                return
            time.sleep(0.02)
        code = proc.returncode
        if code < 0:
            code = 128 - code  # killed by a signal: the runtime reports 128+N
        with self.c.lock:
            gone = self._pod() is None or self._pod()["metadata"].get("deletionTimestamp")
        if not gone:
            self.terminate(code, "Completed" if code == 0 else "Error")


def _resources(*items):
    return [{"name": n, "singularName": "" if "/" in n else n[:-1], "namespaced": True,
             "kind": k, "verbs": v} for n, k, v in items]


# What kubectl reads before it talks to the resources (a client that knows its paths needs none).
DISCOVERY = {
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0-fake", "platform":
                 "linux/amd64"},
    "/healthz": "ok", "/readyz": "ok", "/livez": "ok",
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": _resources(
        ("pods", "Pod", ["create", "delete", "get", "list", "watch"]),
        ("pods/log", "Pod", ["get"]))},
    "/apis/batch/v1": {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion":
                       "batch/v1", "resources": _resources(
                           ("jobs", "Job", ["create", "delete", "get", "list", "watch"]),
                           ("jobs/status", "Job", ["get"]))},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver/1.32"

    def log_message(self, fmt, *args):  # the request log replaces the stderr lines
        pass

    # -- plumbing --
    @property
    def cluster(self):
        return self.server.cluster

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                raw += self.rfile.read(size)
                self.rfile.readline()
        return raw

    def send_json(self, code, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_status(self, code, reason, message, extra=None, details=None):
        self.send_json(code, status_obj(code, reason, message, details), extra)

    def start_chunked(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def drop(self):
        """Closes the connection with no terminating chunk, as a dying proxy would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- auth and logging --
    def authenticate(self):
        """(ok, record) where record says how the request authenticated (no token value)."""
        rec = {"authorization": False, "token_matched": False, "token_generation": None,
               "client_cert": None}
        h = self.headers.get("Authorization")
        cert = getattr(self.connection, "getpeercert", lambda: None)()
        if cert:
            cn = [v for rdn in cert.get("subject", ()) for (k, v) in rdn if k == "commonName"]
            rec["client_cert"] = cn[0] if cn else "?"
        if h:
            rec["authorization"] = True
            tok = h[7:].strip() if h.startswith("Bearer ") else None
            cur = self.server.current_token()
            if tok is not None and cur and tok == cur:
                rec["token_matched"] = True
                rec["token_generation"] = self.server.token_generation(cur)
                return True, rec
            return False, rec
        return bool(rec["client_cert"]) and self.server.cfg.get("client_ca_auth", True), rec

    def log_request_entry(self, method, path, query, body, status, auth):
        headers = {k.lower(): v for k, v in self.headers.items()
                   if k.lower() != "authorization"}
        entry = {"ts": time.time(), "method": method, "path": path, "query": query,
                 "headers": headers, "auth": auth, "body": body, "status": status,
                 "driver": "x-fake-driver" in headers}
        if method == "DELETE":  # what the server understood, from the body or the query
            entry["propagation_policy"] = delete_policy(query, body)
        self.server.append_log(entry)

    # -- dispatch --
    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query,
                                                            keep_blank_values=True).items()}
        raw = self.read_body()
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        if path == "/fake/state":  # the driver's view; not part of the API, not logged
            with self.cluster.lock:
                st = {"rv": self.cluster.rv, "jobs": list(self.cluster.objects["jobs"].values()),
                      "pods": list(self.cluster.objects["pods"].values())}
            return self.send_json(200, st)
        ok, auth = self.authenticate()
        status, respond = self.route(method, path, query, body, ok)
        self.log_request_entry(method, path, query, body, status, auth)
        respond()

    def route(self, method, path, query, body, authed):
        """(status, thunk that writes the response)."""
        if not authed:
            return 401, lambda: self.send_status(401, "Unauthorized", "Unauthorized")
        if path in DISCOVERY:
            return 200, lambda: self.send_json(200, DISCOVERY[path])
        m = re.match(r"^/(apis/batch/v1|api/v1)/namespaces/([^/]+)/(jobs|pods)"
                     r"(?:/([^/]+))?(?:/(log|status))?$", path)
        if not m or (m.group(1) == "api/v1") != (m.group(3) == "pods"):
            return 404, lambda: self.send_status(404, "NotFound",
                                                 "the server could not find the requested "
                                                 "resource")
        _, ns, resource, name, sub = m.groups()
        group = "batch" if resource == "jobs" else ""
        verb = {"GET": "get" if name else ("watch" if query.get("watch") in ("1", "true")
                                           else "list"),
                "POST": "create", "DELETE": "delete"}.get(method, method.lower())
        if ns in self.server.cfg.get("forbidden_namespaces", []):
            rname = resource + (f"/{sub}" if sub else "")
            grp = f' in API group "{group}"' if group else ' in API group ""'
            return 403, lambda: self.send_status(
                403, "Forbidden",
                f'{resource}{"." + group if group else ""}{" " + repr(name) if name else ""} '
                f'is forbidden: User "system:serviceaccount:ctflow:ctflow" cannot {verb} '
                f'resource "{rname}"{grp} in the namespace "{ns}"',
                details={"name": name or "", "group": group, "kind": resource})
        if resource == "jobs":
            if method == "POST" and not name:
                return self.create_job(ns, body)
            if method == "GET" and name and sub in (None, "status"):
                return self.get_one("jobs", ns, name)
            if method == "GET" and not name:
                return self.list_or_watch("jobs", ns, query)
            if method == "DELETE" and name and not sub:
                return self.delete_job(ns, name, query, body)
        else:
            if method == "GET" and name and sub == "log":
                return self.pod_log(ns, name, query)
            if method == "GET" and name and not sub:
                return self.get_one("pods", ns, name)
            if method == "GET" and not name:
                return self.list_or_watch("pods", ns, query)
            if method == "DELETE" and name and not sub:
                pod = self.cluster.get("pods", ns, name)
                if pod is None:
                    return self.not_found("pods", name)
                threading.Thread(target=self.cluster.delete_pod, args=(ns, name),
                                 daemon=True).start()
                return 200, lambda: self.send_json(200, pod)
        return 405, lambda: self.send_status(405, "MethodNotAllowed",
                                             f"the server does not allow this method on the "
                                             f"requested resource")

    # -- handlers --
    def create_job(self, ns, body):
        c = self.cluster
        n429 = self.server.cfg.get("create_429", 0)
        with c.lock:
            c.creates += 1
            attempt = c.creates
        if attempt <= n429:
            ra = str(self.server.cfg.get("retry_after", 1))
            return 429, lambda: self.send_status(
                429, "TooManyRequests", "Too many requests, please try again later.",
                extra={"Retry-After": ra}, details={"retryAfterSeconds": int(ra)})
        if not isinstance(body, dict):
            return 400, lambda: self.send_status(400, "BadRequest",
                                                 "the body of the request was not valid JSON")
        if body.get("apiVersion") not in (None, "batch/v1") or body.get("kind") not in (
                None, "Job"):
            msg = (f"the API version in the data ({body.get('apiVersion')}) does not match the "
                   f"expected API version (batch/v1)" if body.get("apiVersion") != "batch/v1"
                   else f"Job in version \"v1\" cannot be handled as a {body.get('kind')}")
            return 400, lambda: self.send_status(400, "BadRequest", msg)
        errs = k8s_schema.decode_errors(body)
        if errs:
            msg = "Job in version \"v1\" cannot be handled as a Job: strict decoding error: " + \
                ", ".join(errs)
            return 400, lambda: self.send_status(400, "BadRequest", msg)
        meta_ns = (body.get("metadata") or {}).get("namespace")
        if meta_ns and meta_ns != ns:
            return 400, lambda: self.send_status(
                400, "BadRequest", "the namespace of the provided object does not match the "
                "namespace sent on the request")
        name = (body.get("metadata") or {}).get("name") or ""
        causes = k8s_schema.invalid_causes(body, ns)
        if causes:
            msg = f'Job.batch "{name}" is invalid: [' + ", ".join(c[1] for c in causes) + "]"
            details = {"name": name, "group": "batch", "kind": "Job",
                       "causes": [{"reason": r, "message": m, "field": f}
                                  for r, m, f in causes]}
            return 422, lambda: self.send_status(422, "Invalid", msg, details=details)
        job = copy.deepcopy(body)
        job["apiVersion"], job["kind"] = "batch/v1", "Job"
        stored = self.cluster.create_job(ns, job)
        if stored is None:
            return 409, lambda: self.send_status(
                409, "AlreadyExists", f'jobs.batch "{name}" already exists',
                details={"name": name, "group": "batch", "kind": "jobs"})
        return 201, lambda: self.send_json(201, stored)

    def not_found(self, resource, name):
        kind = "jobs.batch" if resource == "jobs" else "pods"
        return 404, lambda: self.send_status(
            404, "NotFound", f'{kind} "{name}" not found',
            details={"name": name, "group": "batch" if resource == "jobs" else "",
                     "kind": resource})

    def get_one(self, resource, ns, name):
        obj = self.cluster.get(resource, ns, name)
        if obj is None:
            return self.not_found(resource, name)
        return 200, lambda: self.send_json(200, obj)

    def list_or_watch(self, resource, ns, query):
        sel = parse_selector(query.get("labelSelector"))
        if sel is None:
            return 400, lambda: self.send_status(
                400, "BadRequest", f"unable to parse requirement: {query.get('labelSelector')}")
        fsel = query.get("fieldSelector")

        def match(o):
            return selector_matches(sel, o["metadata"].get("labels")) and (
                not fsel or field_selector_matches(fsel, o))
        if query.get("watch") in ("1", "true"):
            return 200, lambda: self.watch(resource, ns, query, match)
        c = self.cluster
        with c.lock:
            items = [copy.deepcopy(o) for (ons, _), o in c.objects[resource].items()
                     if ons == ns and match(o)]
            rv = c.rv
        for o in items:  # items of a typed list carry no kind/apiVersion
            o.pop("kind", None)
            o.pop("apiVersion", None)
        lst = {"kind": "JobList" if resource == "jobs" else "PodList",
               "apiVersion": "batch/v1" if resource == "jobs" else "v1",
               "metadata": {"resourceVersion": str(rv)}, "items": items}
        return 200, lambda: self.send_json(200, lst)

    def watch(self, resource, ns, query, match):
        c = self.cluster
        kind, api = ("Job", "batch/v1") if resource == "jobs" else ("Pod", "v1")
        timeout = float(query.get("timeoutSeconds") or 1800)
        end = time.time() + timeout
        rv_text = query.get("resourceVersion") or ""
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        sent = 0
        last_write = time.time()
        self.start_chunked("application/json")
        self.close_connection = True

        def emit(typ, obj):
            o = copy.deepcopy(obj)
            o["kind"], o["apiVersion"] = kind, api
            self.chunk(json.dumps({"type": typ, "object": o}).encode() + b"\n")

        try:
            with c.lock:
                if rv_text in ("", "0"):
                    start = c.rv
                    initial = [copy.deepcopy(o) for (ons, _), o in c.objects[resource].items()
                               if ons == ns and match(o)]
                else:
                    start = int(rv_text)
                    initial = []
                    expired = start < c.compacted_rv
                    msg = f"too old resource version: {start} ({c.compacted_rv})"
            if rv_text not in ("", "0") and expired:
                self.chunk(json.dumps({"type": "ERROR", "object": status_obj(
                    410, "Expired", msg)}).encode() + b"\n")
                self.end_chunks()
                return
            for o in initial:
                emit("ADDED", o)
            last = start
            delay = (self.server.cfg.get("watch_delay_ms") or {}).get(resource, 0) / 1000
            while time.time() < end and not c.stopping:
                with c.lock:
                    now = time.time()
                    pending = [e for e in c.history if e[0] > last and e[1] == resource and
                               e[2] == ns and match(e[4])]
                    evs = []
                    for e in pending:  # in order; a delayed stream holds back what follows
                        if e[5] + delay > now:
                            break
                        evs.append(e)
                    if not evs:
                        wait = min(1.0, max(0.0, end - now))
                        if pending:
                            wait = min(wait, pending[0][5] + delay - now)
                        c.cond.wait(max(0.0, wait))
                        # a bookmark never passes an event this stream still owes
                        if bookmarks and not pending and time.time() - last_write > 2:
                            bm = {"metadata": {"resourceVersion": str(c.rv)}}
                        else:
                            continue
                if not evs:
                    emit("BOOKMARK", bm)
                    last_write = time.time()
                    continue
                for rv, _, _, typ, obj, _ in evs:
                    last = rv
                    fault = c.watch_fault(resource, sent)
                    if fault:
                        if str(fault.get("action")) == "410":
                            c.compact()
                            self.chunk(json.dumps({"type": "ERROR", "object": status_obj(
                                410, "Expired", f"too old resource version: {start} "
                                f"({c.compacted_rv})")}).encode() + b"\n")
                            self.end_chunks()
                        else:
                            self.drop()
                        return
                    emit(typ, obj)
                    sent += 1
                    last_write = time.time()
            self.end_chunks()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def delete_job(self, ns, name, query, body):
        policy = delete_policy(query, body)
        if policy not in ("Orphan", "Background", "Foreground"):
            return 422, lambda: self.send_status(
                422, "Invalid", f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                f'Unsupported value: "{policy}"')
        job = self.cluster.delete_job(ns, name, policy)
        if job is None:
            return self.not_found("jobs", name)
        if policy == "Background":
            # Deleted at once (the garbage collector takes the pods): a Success Status.
            ok = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                  "details": {"name": name, "group": "batch", "kind": "jobs",
                              "uid": job["metadata"]["uid"]}}
            return 200, lambda: self.send_json(200, ok)
        # Orphan and Foreground keep the Job until the garbage collector has done its part
        # (a finalizer): 202 with the object. (This fake removes it at once all the same.)
        job["metadata"]["finalizers"] = ["orphan" if policy == "Orphan" else
                                         "foregroundDeletion"]
        return 202, lambda: self.send_json(202, job)

    def pod_log(self, ns, name, query):
        c = self.cluster
        pod = c.get("pods", ns, name)
        if pod is None:
            return self.not_found("pods", name)
        cname = query.get("container") or pod["spec"]["containers"][0]["name"]
        if cname not in [x["name"] for x in pod["spec"]["containers"]]:
            return 400, lambda: self.send_status(
                400, "BadRequest", f"container {cname} is not valid for pod {name}")
        path = os.path.join(c.workdir, "pods", name, "log")
        cs = (pod["status"].get("containerStatuses") or [{}])[0].get("state", {})
        if not os.path.exists(path) and "terminated" not in cs:
            why = (cs.get("waiting") or {}).get("reason", "ContainerCreating")
            return 400, lambda: self.send_status(
                400, "BadRequest", f'container "{cname}" in pod "{name}" is waiting to start: '
                f"{why}")
        follow = query.get("follow") in ("1", "true")
        if not follow:
            data = open(path, "rb").read() if os.path.exists(path) else b""
            if query.get("tailLines"):
                lines = data.splitlines(True)
                data = b"".join(lines[-int(query["tailLines"]):])

            def send():
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            return 200, send

        def container_done():
            p = c.get("pods", ns, name)
            if p is None or c.stopping:
                return True
            st = (p["status"].get("containerStatuses") or [{}])[0].get("state", {})
            return "terminated" in st

        def stream():
            self.start_chunked("text/plain")
            self.close_connection = True
            try:
                pos = 0
                while True:
                    done = container_done()  # before the read: then the read sees it all
                    data = b""
                    if os.path.exists(path):
                        with open(path, "rb") as f:
                            f.seek(pos)
                            data = f.read()
                    if data:
                        pos += len(data)
                        self.chunk(data)
                    elif done:
                        break
                    else:
                        time.sleep(0.05)
                self.end_chunks()
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True
        return 200, stream


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, cfg, workdir):
        super().__init__(addr, Handler)
        self.cfg = cfg
        self.workdir = workdir
        self.log_lock = threading.Lock()
        self.log_file = open(os.path.join(workdir, "requests.jsonl"), "a")
        self.token_path = cfg.get("token_file") or os.path.join(workdir, "token")
        self.tokens_seen = []
        pki = os.path.join(workdir, "pki")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"))
        self.ctx.load_verify_locations(os.path.join(pki, "ca.crt"))
        self.ctx.verify_mode = ssl.CERT_OPTIONAL
        self.cluster = Cluster(cfg, workdir, self.append_log)

    def finish_request(self, request, client_address):
        # The TLS handshake happens here, on the connection's own thread, not in accept().
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        try:
            super().finish_request(request, client_address)
        finally:
            try:
                request.close()
            except OSError:
                pass

    def current_token(self):
        try:
            with open(self.token_path) as f:
                return f.read().strip()
        except OSError:
            return None

    def token_generation(self, tok):
        with self.log_lock:
            if tok not in self.tokens_seen:
                self.tokens_seen.append(tok)
            return self.tokens_seen.index(tok) + 1

    def append_log(self, entry):
        with self.log_lock:
            self.log_file.write(json.dumps(entry) + "\n")
            self.log_file.flush()


def load_config(path):
    if not path:
        return {}
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError:
        import yaml  # python3-yaml, only for YAML configs
        return yaml.safe_load(text) or {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--config")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ready-file")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.workdir, "pods"), exist_ok=True)
    make_pki(os.path.join(a.workdir, "pki"))
    cfg = load_config(a.config)
    tok = os.path.join(a.workdir, "token")
    if not cfg.get("token_file") and not os.path.exists(tok):
        with open(tok, "w") as f:
            f.write("".join(random.choice(string.ascii_letters) for _ in range(32)))
    srv = Server(("127.0.0.1", a.port), cfg, a.workdir)
    port = srv.server_address[1]

    def stop(*_):
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if a.ready_file:
        tmp = a.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"port": port, "url": f"https://127.0.0.1:{port}",
                       "ca": os.path.join(a.workdir, "pki", "ca.crt")}, f)
        os.rename(tmp, a.ready_file)
    print(f"fake kube-apiserver listening on https://127.0.0.1:{port}", flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.cluster.shutdown()


if __name__ == "__main__":
    main()
