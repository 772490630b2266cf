#!/usr/bin/env python3
"""Checks the fake Kubernetes API server by itself (no ctflow): TLS with its CA, 401/403,
strict decoding (400) and invalid Jobs (422), create/409, the kubelet running a command with a
secret, list + watch from a resourceVersion, the log route following a running pod, scripted
outcomes (oom, image_pull, evicted, exit), 429 with Retry-After, a 410 and a drop in the middle
of a watch, deletion with Background (the process is killed) and Orphan (it is not), the
deadline, token rotation, and the request log. Exit 0 when all pass."""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "ctflow"
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILS.append(what)


class Client:
    def __init__(self, port, ca, token_file):
        self.port = port
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token_file = token_file

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                           timeout=timeout)

    def headers(self, token=None):
        tok = token if token is not None else open(self.token_file).read().strip()
        h = {"Accept": "application/json", "Content-Type": "application/json"}
        if tok:
            h["Authorization"] = "Bearer " + tok
        return h

    def req(self, method, path, body=None, token=None):
        c = self.conn()
        c.request(method, path, body=json.dumps(body) if body is not None else None,
                  headers=self.headers(token))
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            return r.status, json.loads(data), r
        except ValueError:
            return r.status, data.decode(), r

    def stream(self, path, timeout=10):
        c = self.conn(timeout)
        c.request("GET", path, headers=self.headers())
        return c, c.getresponse()


def job(name, argv, task="t", env=None, **spec):
    labels = {"app.kubernetes.io/managed-by": "ctflow", "ctflow.io/task": task}
    j = {"apiVersion": "batch/v1", "kind": "Job",
         "metadata": {"name": name, "labels": labels},
         "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels}, "spec": {
             "restartPolicy": "Never",
             "containers": [{"name": "task", "image": "ctflow-task:dev", "command": argv,
                             "env": env or []}]}}}}
    j["spec"].update(spec)
    return j


def wait_job(cl, name, cond_type, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        st, j, _ = cl.req("GET", f"/apis/batch/v1/namespaces/{NS}/jobs/{name}")
        if st == 200 and any(c["type"] == cond_type for c in j["status"].get("conditions", [])):
            return j
        time.sleep(0.05)
    return None


def pod_of(cl, name):
    st, lst, _ = cl.req("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=job-name%3D{name}")
    return lst["items"][0] if st == 200 and lst["items"] else None


def wait_pod(cl, name, pred, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        p = pod_of(cl, name)
        if p and pred(p):
            return p
        time.sleep(0.05)
    return None


def main():
    work = tempfile.mkdtemp(prefix="ctflow-fake-selftest.")
    cfg = {"secrets": {"api-key": {"value": "s3cret"}}, "forbidden_namespaces": ["locked"],
           "create_429": 1, "grace_seconds": 1,
           "outcomes": [{"task": "oom", "outcome": "oom"},
                        {"task": "slow-oom", "outcome": "oom", "after_ms": 800},
                        {"task": "pull", "outcome": "image_pull"},
                        {"task": "evict", "outcome": "evicted"},
                        {"name": "^scripted-exit", "exit": 3}],
           "watch_faults": [{"resource": "pods", "after_events": 2, "action": "410"},
                            {"resource": "jobs", "after_events": 1, "action": "drop"}]}
    with open(os.path.join(work, "cfg.json"), "w") as f:
        json.dump(cfg, f)
    ready = os.path.join(work, "ready.json")
    fake = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_apiserver.py"),
                             "--workdir", work, "--config", os.path.join(work, "cfg.json"),
                             "--ready-file", ready])
    try:
        for _ in range(200):
            if os.path.exists(ready):
                break
            time.sleep(0.05)
        info = json.load(open(ready))
        cl = Client(info["port"], info["ca"], os.path.join(work, "token"))
        run_checks(cl, work)
    finally:
        fake.terminate()
        fake.wait(10)
        if FAILS:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(FAILS)} failed" if FAILS else "all passed")
    return 1 if FAILS else 0


def run_checks(cl, work):
    jobs = f"/apis/batch/v1/namespaces/{NS}/jobs"
    st, body, _ = cl.req("GET", jobs, token="wrong")
    check(st == 401 and body["reason"] == "Unauthorized" and body["kind"] == "Status", "401")
    st, body, _ = cl.req("POST", "/apis/batch/v1/namespaces/locked/jobs", job("x", ["true"]))
    check(st == 403 and body["reason"] == "Forbidden" and "cannot create" in body["message"],
          "403 " + str(body.get("message")))
    st, body, r = cl.req("POST", jobs, job("x", ["true"]))
    check(st == 429 and body["reason"] == "TooManyRequests" and
          r.getheader("Retry-After") == "1", "429 with Retry-After on the first create")
    bad = job("bad", ["true"])
    bad["spec"]["template"]["spec"]["containers"][0]["gpu"] = 1
    st, body, _ = cl.req("POST", jobs, bad)
    check(st == 400 and 'unknown field "spec.template.spec.containers[0].gpu"' in body["message"],
          "400 unknown field: " + str(body.get("message")))
    bad = job("bad", ["true"], backoffLimit="0")
    st, body, _ = cl.req("POST", jobs, bad)
    check(st == 400 and "spec.backoffLimit of type int64" in body["message"], "400 wrong type")
    bad = job("Bad_Name", ["true"])
    bad["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    st, body, _ = cl.req("POST", jobs, bad)
    check(st == 422 and body["reason"] == "Invalid" and len(body["details"]["causes"]) == 2,
          "422 invalid: " + str(body.get("message")))

    # list, then watch from its resourceVersion; a command with a secret env var
    st, lst, _ = cl.req("GET", jobs + "?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dctflow")
    check(st == 200 and lst["kind"] == "JobList" and lst["metadata"]["resourceVersion"],
          "JobList")
    rv = lst["metadata"]["resourceVersion"]
    env = [{"name": "KEY", "valueFrom": {"secretKeyRef": {"name": "api-key", "key": "value"}}},
           {"name": "WHO", "value": "pod"}]
    ok = job("ok", ["sh", "-c", 'echo "hello $WHO $KEY"; sleep 0.5; echo bye'], env=env)
    st, created, _ = cl.req("POST", jobs, ok)
    check(st == 201 and created["metadata"]["uid"] and created["metadata"]["resourceVersion"],
          "201 create")
    st, body, _ = cl.req("POST", jobs, ok)
    check(st == 409 and body["reason"] == "AlreadyExists", "409 AlreadyExists")
    # the jobs watch is scripted to drop after 1 event
    c, r = cl.stream(jobs + f"?watch=1&resourceVersion={rv}&labelSelector=ctflow.io%2Ftask%3Dt")
    first = json.loads(r.readline())
    check(first["type"] == "ADDED" and first["object"]["kind"] == "Job", "watch ADDED")
    try:
        rest = r.read()
        dropped = False
    except (http.client.IncompleteRead, ConnectionError, ssl.SSLError, OSError):
        dropped = True
    check(dropped, "watch dropped after 1 event")
    c.close()
    p = wait_pod(cl, "ok", lambda p: p["status"]["phase"] == "Running")
    check(p is not None and p["metadata"]["name"].startswith("ok-") and
          p["metadata"]["labels"]["job-name"] == "ok", "pod Running")
    c, r = cl.stream(f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}/log?follow=true"
                     "&container=task")
    text = r.read().decode()
    c.close()
    check(text == "hello pod s3cret\nbye\n", "log followed to the end: " + repr(text))
    j = wait_job(cl, "ok", "Complete")
    check(j is not None and j["status"]["succeeded"] == 1 and j["status"]["completionTime"],
          "Job Complete")
    # a second watch from the old RV replays every change in order (no fault left)
    c, r = cl.stream(jobs + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1")
    evs = [json.loads(line) for line in r.read().splitlines()]
    c.close()
    types = [e["type"] for e in evs]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
    check(types[0] == "ADDED" and all(t == "MODIFIED" for t in types[1:]) and
          rvs == sorted(rvs) and len(set(rvs)) == len(rvs) and
          any(c["type"] == "Complete" for c in evs[-1]["object"]["status"]["conditions"]),
          "watch replay " + str(types))

    # scripted outcomes
    for name, task in (("o", "oom"), ("e", "evict"), ("scripted-exit", "t")):
        cl.req("POST", jobs, job(name, ["true"], task=task))
    j = wait_job(cl, "o", "Failed")
    p = pod_of(cl, "o")
    term = p["status"]["containerStatuses"][0]["state"].get("terminated", {})
    check(j and term.get("reason") == "OOMKilled" and term.get("exitCode") == 137, "oom")
    j = wait_job(cl, "e", "Failed")
    p = pod_of(cl, "e")
    check(j and p["status"].get("reason") == "Evicted", "evicted")
    j = wait_job(cl, "scripted-exit", "Failed")
    p = pod_of(cl, "scripted-exit")
    term = p["status"]["containerStatuses"][0]["state"].get("terminated", {})
    check(j and j["status"]["conditions"][0]["reason"] == "BackoffLimitExceeded" and
          term.get("exitCode") == 3 and term.get("reason") == "Error", "exit 3")
    # following a running container's log lasts until it ends, even with nothing printed
    cl.req("POST", jobs, job("held", ["true"], task="slow-oom"))
    p = wait_pod(cl, "held", lambda p: p["status"]["phase"] == "Running")
    t0 = time.time()
    c, r = cl.stream(f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}/log?follow=true")
    text = r.read()
    c.close()
    check(text == b"" and time.time() - t0 > 0.4, "log follow of a running pod waits for its end")
    cl.req("POST", jobs, job("pull", ["true"], task="pull"))
    p = wait_pod(cl, "pull", lambda p: p["status"].get("containerStatuses") and
                 p["status"]["containerStatuses"][0]["state"].get("waiting", {}).get(
                     "reason") == "ImagePullBackOff")
    check(p is not None and p["status"]["phase"] == "Pending", "ImagePullBackOff")
    st, body, _ = cl.req("GET", f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}/log")
    check(st == 400 and "waiting to start: ImagePullBackOff" in body["message"],
          "log of a container that never started: 400")

    # pods watch: 410 after 2 events, then a watch from the old RV is 410 at once
    st, lst, _ = cl.req("GET", f"/api/v1/namespaces/{NS}/pods")
    prv = lst["metadata"]["resourceVersion"]
    check(lst["kind"] == "PodList" and "kind" not in lst["items"][0], "PodList items bare")
    cl.req("POST", jobs, job("w", ["sh", "-c", "echo w"]))
    c, r = cl.stream(f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={prv}")
    evs = [json.loads(line) for line in r.read().splitlines()]
    c.close()
    check(len(evs) == 3 and evs[2]["type"] == "ERROR" and evs[2]["object"]["code"] == 410 and
          evs[2]["object"]["reason"] == "Expired", "410 after 2 events")
    c, r = cl.stream(f"/api/v1/namespaces/{NS}/pods?watch=1&resourceVersion={prv}")
    evs = [json.loads(line) for line in r.read().splitlines()]
    c.close()
    check(len(evs) == 1 and evs[0]["object"]["code"] == 410, "old RV is 410 Expired at once")

    # delete: Background kills the process group; Orphan leaves it
    pidfile = os.path.join(work, "bg.pid")
    cl.req("POST", jobs, job("bg", ["sh", "-c", f"echo $$ > {pidfile}; sleep 30 & wait"]))
    wait_pod(cl, "bg", lambda p: p["status"]["phase"] == "Running")
    for _ in range(100):
        if os.path.exists(pidfile) and open(pidfile).read().strip():
            break
        time.sleep(0.05)
    pid = int(open(pidfile).read())
    st, body, _ = cl.req("DELETE", jobs + "/bg", {"kind": "DeleteOptions", "apiVersion": "v1",
                                                 "propagationPolicy": "Background"})
    check(st == 200 and body["kind"] == "Status" and body["status"] == "Success",
          "DELETE Background: 200 Success Status")
    gone = False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone = True
            break
        time.sleep(0.05)
    check(gone, "Background delete killed the process")
    for _ in range(60):
        if pod_of(cl, "bg") is None:
            break
        time.sleep(0.05)
    check(pod_of(cl, "bg") is None, "Background delete removed the pod")
    st, body, _ = cl.req("DELETE", jobs + "/bg")
    check(st == 404 and body["reason"] == "NotFound", "DELETE again 404")
    cl.req("POST", jobs, job("orph", ["sleep", "30"]))
    wait_pod(cl, "orph", lambda p: p["status"]["phase"] == "Running")
    st, body, _ = cl.req("DELETE", jobs + "/orph")
    check(st == 202 and body["metadata"]["finalizers"] == ["orphan"], "DELETE orphan: 202 Job")
    time.sleep(0.3)
    p = pod_of(cl, "orph")
    check(p is not None and p["status"]["phase"] == "Running", "DELETE without policy orphans")

    # deadline
    cl.req("POST", jobs, job("slow", ["sleep", "30"], activeDeadlineSeconds=1))
    j = wait_job(cl, "slow", "Failed", timeout=5)
    check(j is not None and j["status"]["conditions"][0]["reason"] == "DeadlineExceeded",
          "DeadlineExceeded")

    # token rotation: the old token stops working at once
    tf = os.path.join(work, "token")
    old = open(tf).read().strip()
    with open(tf, "w") as f:
        f.write("rotated-token\n")
    st, _, _ = cl.req("GET", jobs, token=old)
    check(st == 401, "old token 401 after rotation")
    st, _, _ = cl.req("GET", jobs)
    check(st == 200, "new token 200")

    # a client certificate signed by the fake's CA authenticates without a token
    ctx = ssl.create_default_context(cafile=os.path.join(work, "pki", "ca.crt"))
    ctx.load_cert_chain(os.path.join(work, "pki", "client.crt"),
                        os.path.join(work, "pki", "client.key"))
    c = http.client.HTTPSConnection("127.0.0.1", cl.port, context=ctx, timeout=10)
    c.request("GET", jobs)
    r = c.getresponse()
    r.read()
    c.close()
    check(r.status == 200, f"client certificate: {r.status}")

    # the request log
    log = [json.loads(line) for line in open(os.path.join(work, "requests.jsonl"))]
    posts = [e for e in log if e["method"] == "POST" and e["status"] == 201]
    check(all("authorization" not in e["headers"] for e in log), "no token in the log")
    check(any(e["body"] and e["body"].get("propagationPolicy") == "Background"
              for e in log if e["method"] == "DELETE"), "DELETE body logged")
    gens = {e["auth"]["token_generation"] for e in log if e["auth"]["token_matched"]}
    check(gens == {1, 2}, "token generations " + str(gens))
    check(log[-1]["auth"]["client_cert"] == "ctflow-client" and
          not log[-1]["auth"]["authorization"], "client certificate logged")
    check(len(posts) == 10, f"10 creates logged ({len(posts)})")
    kubectl_checks(cl, work)


def kubectl_checks(cl, work):
    """kubectl (a real client: Go types, kubeconfig with tokenFile and CA data) against the
    fake: discovery, create, logs through the Job's selector, a watch, delete."""
    if not shutil.which("kubectl"):
        print("skip kubectl checks (no kubectl)")
        return
    import base64
    ca = base64.b64encode(open(os.path.join(work, "pki", "ca.crt"), "rb").read()).decode()
    kc = os.path.join(work, "kubeconfig")
    with open(kc, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster: {{server: "https://127.0.0.1:{cl.port}", certificate-authority-data: {ca}}}
contexts:
- name: fake
  context: {{cluster: fake, user: ctflow, namespace: {NS}}}
current-context: fake
users:
- name: ctflow
  user: {{tokenFile: {cl.token_file}}}
""")
    manifest = os.path.join(work, "kjob.json")
    with open(manifest, "w") as f:
        json.dump(job("kjob", ["sh", "-c", "echo hi from kubectl"]), f)
    env = dict(os.environ, KUBECONFIG=kc)

    def kubectl(*args):
        r = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout + r.stderr
    rc, out = kubectl("create", "-f", manifest, "--validate=false")
    check(rc == 0 and "job.batch/kjob created" in out, "kubectl create: " + out.strip())
    wait_job(cl, "kjob", "Complete")
    rc, out = kubectl("logs", "job/kjob", "-c", "task")
    check(rc == 0 and "hi from kubectl" in out, "kubectl logs job/kjob: " + out.strip())
    rc, out = kubectl("get", "job", "kjob", "-o", "jsonpath={.status.succeeded}")
    check(rc == 0 and out.strip() == "1", "kubectl get -o jsonpath: " + out.strip())
    rc, out = kubectl("get", "pods", "-l", "job-name=kjob", "-o", "name")
    check(rc == 0 and out.startswith("pod/kjob-"), "kubectl get pods -l: " + out.strip())
    rc, out = kubectl("delete", "job", "kjob", "--cascade=background")
    check(rc == 0 and 'job.batch "kjob" deleted' in out, "kubectl delete: " + out.strip())


if __name__ == "__main__":
    sys.exit(main())
