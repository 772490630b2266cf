#!/usr/bin/env python3
"""Renders k8s/overlays/{minikube,production} with `kubectl kustomize` and checks the objects.

No cluster runs here, so this is what stands between a manifest edit and a broken install:
  - RBAC: the executor's Role grants exactly the verbs scheduler/executor/kubernetes/ uses
    (batch jobs: create get list watch delete; pods: get list watch; pods/log: get), bound to
    the server's service account; no ClusterRole, nothing more, nothing less.
  - every container, initContainers included: requests and limits (cpu, memory; limit >=
    request), non-root (runAsNonRoot, runAsUser > 0), allowPrivilegeEscalation false,
    capabilities drop ALL, seccomp RuntimeDefault, a read-only root with a writable /tmp;
  - the ctflow Deployment: 2 replicas, the data volume mounted at /var/lib/ctflow (the path the
    executor's Jobs mount it at, CTFLOW_K8S_VOLUME) and passed as --data-dir, that volume being
    what the ConfigMap's CTFLOW_K8S_VOLUME names (hostpath:<path> on minikube, pvc:<claim> of a
    ReadWriteMany claim in production), probes on /healthz and /readyz;
  - the predictor: its token from the Secret at --token-file, probes on /v2/health/*;
  - every Secret, ConfigMap, claim and service account referenced exists (with the key);
    Services select a pod template and name a container port; all in namespace ctflow.
Then it breaks the rendered objects on purpose, one way at a time (an extra verb, a missing
limit, root, another mount path...), and checks that each break is reported: a check that
cannot fail checks nothing.

Usage: check_k8s.py SOURCE_DIR     (exit 0: all good; 1: problems, each printed)
"""
import copy
import os
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("error: python3 cannot import yaml: install the Debian package python3-yaml "
             "(`make deps` does)")

NAMESPACE = "ctflow"
DATA_PATH = "/var/lib/ctflow"
# What the Kubernetes executor calls, as (apiGroup, resource, verb).
EXECUTOR_VERBS = {
    *(("batch", "jobs", v) for v in ("create", "get", "list", "watch", "delete")),
    *(("", "pods", v) for v in ("get", "list", "watch")),
    ("", "pods/log", "get"),
}
POD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                 "StorageClass", "CustomResourceDefinition", "PriorityClass"}


def render(kubectl, path):
    p = subprocess.run([kubectl, "kustomize", path], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {path} failed:\n{p.stderr}")
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def name_of(o):
    return f"{o['kind']}/{o['metadata']['name']}"


def find(objs, kind, name=None):
    return [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def pod_spec(o):
    if o["kind"] == "Pod":
        return o["spec"]
    if o["kind"] == "CronJob":
        return o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return o["spec"]["template"]["spec"]


def containers(spec):
    for field in ("initContainers", "containers"):
        for c in spec.get(field) or []:
            yield field, c


def quantity(q):
    """A Kubernetes quantity as a float (cpu in cores, memory in bytes)."""
    s = str(q)
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suf in sorted(suffixes, key=len, reverse=True):
        if s.endswith(suf):
            return float(s[: -len(suf)]) * suffixes[suf]
    return float(s)


def check_rbac(objs, errors):
    for kind in ("ClusterRole", "ClusterRoleBinding"):
        for o in find(objs, kind):
            errors.append(f"RBAC: {name_of(o)}: ctflow needs no cluster-wide permission")
    roles = find(objs, "Role")
    if len(roles) != 1:
        errors.append(f"RBAC: expected exactly one Role (the executor's), found {len(roles)}")
    granted = set()
    for role in roles:
        for rule in role.get("rules") or []:
            if rule.get("resourceNames") or rule.get("nonResourceURLs"):
                errors.append(f"RBAC: {name_of(role)}: unexpected resourceNames/nonResourceURLs")
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    for v in rule.get("verbs") or []:
                        granted.add((g, r, v))
    for extra in sorted(granted - EXECUTOR_VERBS):
        errors.append(f"RBAC: verb not used by the executor is granted: {extra}")
    for missing in sorted(EXECUTOR_VERBS - granted):
        errors.append(f"RBAC: verb the executor needs is missing: {missing}")
    # The Role is bound to the service account the ctflow Deployment runs as, and to nothing else.
    role_names = {r["metadata"]["name"] for r in roles}
    bound = set()
    for rb in find(objs, "RoleBinding"):
        ref = rb.get("roleRef") or {}
        if ref.get("kind") != "Role" or ref.get("name") not in role_names:
            errors.append(f"RBAC: {name_of(rb)} binds {ref.get('kind')}/{ref.get('name')}")
            continue
        for s in rb.get("subjects") or []:
            if s.get("kind") != "ServiceAccount":
                errors.append(f"RBAC: {name_of(rb)} binds a {s.get('kind')}")
            bound.add((s.get("name"), s.get("namespace", rb["metadata"].get("namespace"))))
    server = find(objs, "Deployment", "ctflow")
    if server:
        sa = pod_spec(server[0]).get("serviceAccountName")
        if bound != {(sa, NAMESPACE)}:
            errors.append(f"RBAC: the executor's Role is bound to {sorted(bound, key=str)}, "
                          f"expected only the ctflow Deployment's service account {sa!r}")


def check_containers(objs, errors):
    for o in objs:
        if o["kind"] not in POD_KINDS:
            continue
        spec = pod_spec(o)
        pod_sc = spec.get("securityContext") or {}
        mounts_by_volume = {v["name"]: v for v in spec.get("volumes") or []}
        for field, c in containers(spec):
            where = f"{name_of(o)} {field}[{c['name']}]"
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        errors.append(f"{where}: resources.{part}.{r} missing")
            for r in ("cpu", "memory"):
                req, lim = (res.get("requests") or {}).get(r), (res.get("limits") or {}).get(r)
                if req is not None and lim is not None and quantity(lim) < quantity(req):
                    errors.append(f"{where}: limits.{r} {lim} < requests.{r} {req}")
            sc = c.get("securityContext") or {}

            def eff(key):  # the container's setting wins over the pod's
                return sc.get(key, pod_sc.get(key))

            if eff("runAsNonRoot") is not True:
                errors.append(f"{where}: runAsNonRoot is not true")
            uid = eff("runAsUser")
            if not isinstance(uid, int) or uid <= 0:
                errors.append(f"{where}: runAsUser must be a non-zero uid, is {uid!r}")
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where}: allowPrivilegeEscalation is not false")
            if sc.get("privileged"):
                errors.append(f"{where}: privileged")
            drop = (sc.get("capabilities") or {}).get("drop") or []
            if "ALL" not in drop:
                errors.append(f"{where}: capabilities.drop lacks ALL")
            if (sc.get("capabilities") or {}).get("add"):
                errors.append(f"{where}: capabilities.add is not empty")
            if (eff("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                errors.append(f"{where}: no seccompProfile RuntimeDefault")
            if sc.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{where}: readOnlyRootFilesystem is not true")
            else:
                tmp = [m for m in c.get("volumeMounts") or [] if m["mountPath"] == "/tmp"]
                if not tmp or "emptyDir" not in mounts_by_volume.get(tmp[0]["name"], {}):
                    errors.append(f"{where}: read-only root without an emptyDir at /tmp")


def env_value(container, name):
    for e in container.get("env") or []:
        if e["name"] == name:
            return e.get("value"), e.get("valueFrom")
    return None, None


def check_probe(where, container, kind, path, errors):
    probe = container.get(kind) or {}
    got = (probe.get("httpGet") or {}).get("path")
    if got != path:
        errors.append(f"{where}: {kind} httpGet path is {got!r}, expected {path!r}")


def check_server(objs, overlay, errors):
    deps = find(objs, "Deployment", "ctflow")
    if len(deps) != 1:
        errors.append("Deployment/ctflow: missing")
        return
    dep = deps[0]
    spec = pod_spec(dep)
    if dep["spec"].get("replicas") != 2:
        errors.append(f"Deployment/ctflow: replicas is {dep['spec'].get('replicas')}, expected 2")
    server = [c for c in spec["containers"] if c["name"] == "ctflow"]
    if not server:
        errors.append("Deployment/ctflow: no container named ctflow")
        return
    c = server[0]
    where = "Deployment/ctflow container ctflow"
    args = c.get("args") or []
    if args[:1] != ["server"]:
        errors.append(f"{where}: args do not start with `server`: {args}")
    for flag, want in (("--data-dir", DATA_PATH), ("--address", "0.0.0.0"), ("--port", "8080")):
        if flag not in args or args.index(flag) + 1 >= len(args) or args[args.index(flag) + 1] != want:
            errors.append(f"{where}: {flag} {want} missing from args")
    check_probe(where, c, "livenessProbe", "/healthz", errors)
    check_probe(where, c, "readinessProbe", "/readyz", errors)

    # The data volume: mounted at the path the executor's Jobs use, and the same volume.
    mounts = [m for m in c.get("volumeMounts") or [] if m["mountPath"] == DATA_PATH]
    if len(mounts) != 1 or mounts[0].get("readOnly"):
        errors.append(f"{where}: the data volume is not mounted read-write at {DATA_PATH}")
        return
    vol = next((v for v in spec.get("volumes") or [] if v["name"] == mounts[0]["name"]), None)
    if vol is None:
        errors.append(f"{where}: volume {mounts[0]['name']} is not defined")
        return
    cms = [cm for cm in find(objs, "ConfigMap")
           if any(ef.get("configMapRef", {}).get("name") == cm["metadata"]["name"]
                  for ef in c.get("envFrom") or [])]
    if len(cms) != 1:
        errors.append(f"{where}: expected one ConfigMap in envFrom with the executor settings")
        return
    settings = cms[0].get("data") or {}
    k8s_volume = settings.get("CTFLOW_K8S_VOLUME", "")
    if overlay == "minikube":
        hp = vol.get("hostPath")
        if not hp:
            errors.append(f"{where}: minikube: the data volume is not a hostPath: {vol}")
        elif k8s_volume != f"hostpath:{hp['path']}":
            errors.append(f"CTFLOW_K8S_VOLUME is {k8s_volume!r}, expected 'hostpath:{hp['path']}' "
                          "(the server's data volume)")
        if find(objs, "PersistentVolumeClaim", "ctflow-data"):
            errors.append("minikube: the ctflow-data claim should not be rendered (hostPath)")
    else:
        pvc_ref = vol.get("persistentVolumeClaim")
        if not pvc_ref:
            errors.append(f"{where}: production: the data volume is not a claim: {vol}")
            return
        claim = pvc_ref["claimName"]
        if k8s_volume != f"pvc:{claim}":
            errors.append(f"CTFLOW_K8S_VOLUME is {k8s_volume!r}, expected 'pvc:{claim}' "
                          "(the server's data volume)")
        pvcs = find(objs, "PersistentVolumeClaim", claim)
        if not pvcs:
            errors.append(f"production: claim {claim} is not rendered")
        else:
            if "ReadWriteMany" not in (pvcs[0]["spec"].get("accessModes") or []):
                errors.append(f"production: claim {claim} is not ReadWriteMany")
            if not pvcs[0]["spec"].get("storageClassName"):
                errors.append(f"production: claim {claim} has no storageClassName")
    sa = settings.get("CTFLOW_K8S_SERVICE_ACCOUNT")
    if not sa or not find(objs, "ServiceAccount", sa):
        errors.append(f"CTFLOW_K8S_SERVICE_ACCOUNT {sa!r} is not a rendered ServiceAccount")
    image = settings.get("CTFLOW_K8S_IMAGE", "")
    if "ctflow-task" not in image:
        errors.append(f"CTFLOW_K8S_IMAGE {image!r} does not name the ctflow-task image")
    elif overlay == "production":
        server_repo = c["image"].rsplit("/", 1)[0] if "/" in c["image"] else ""
        task_repo = image.rsplit("/", 1)[0] if "/" in image else ""
        if server_repo != task_repo:
            errors.append(f"production: CTFLOW_K8S_IMAGE {image!r} is not from the registry of "
                          f"the ctflow image {c['image']!r}")


def check_predictor(objs, errors):
    deps = find(objs, "Deployment", "ctflow-predictor")
    if len(deps) != 1:
        errors.append("Deployment/ctflow-predictor: missing")
        return
    spec = pod_spec(deps[0])
    c = spec["containers"][0]
    where = "Deployment/ctflow-predictor"
    args = c.get("args") or []
    if "--token-file" not in args:
        errors.append(f"{where}: no --token-file")
        return
    token_file = args[args.index("--token-file") + 1]
    folder, fname = os.path.split(token_file)
    mount = next((m for m in c.get("volumeMounts") or [] if m["mountPath"] == folder), None)
    vol = mount and next((v for v in spec.get("volumes") or [] if v["name"] == mount["name"]), None)
    items = ((vol or {}).get("secret") or {}).get("items") or []
    if not vol or "secret" not in vol or not any(i.get("path") == fname for i in items):
        errors.append(f"{where}: --token-file {token_file} is not a key of a mounted Secret")
    check_probe(where, c, "livenessProbe", "/v2/health/live", errors)
    check_probe(where, c, "readinessProbe", "/v2/health/ready", errors)


def check_references(objs, errors):
    def has(kind, name):
        return bool(find(objs, kind, name))

    def secret_has_key(name, key):
        for s in find(objs, "Secret", name):
            if key in (s.get("data") or {}) or key in (s.get("stringData") or {}):
                return True
        return False

    for o in objs:
        if o["kind"] not in POD_KINDS:
            continue
        spec = pod_spec(o)
        sa = spec.get("serviceAccountName")
        if sa and not has("ServiceAccount", sa):
            errors.append(f"{name_of(o)}: service account {sa} is not rendered")
        for v in spec.get("volumes") or []:
            if "secret" in v:
                name = v["secret"]["secretName"]
                if not has("Secret", name):
                    errors.append(f"{name_of(o)}: volume {v['name']}: Secret {name} is not rendered")
                for i in v["secret"].get("items") or []:
                    if has("Secret", name) and not secret_has_key(name, i["key"]):
                        errors.append(f"{name_of(o)}: Secret {name} has no key {i['key']}")
            if "configMap" in v and not has("ConfigMap", v["configMap"]["name"]):
                errors.append(f"{name_of(o)}: ConfigMap {v['configMap']['name']} is not rendered")
            if "persistentVolumeClaim" in v and not has("PersistentVolumeClaim",
                                                        v["persistentVolumeClaim"]["claimName"]):
                errors.append(f"{name_of(o)}: claim {v['persistentVolumeClaim']['claimName']} "
                              "is not rendered")
        for _, c in containers(spec):
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    if not has("Secret", ref["name"]):
                        errors.append(f"{name_of(o)}: env {e['name']}: Secret {ref['name']} "
                                      "is not rendered")
                    elif not secret_has_key(ref["name"], ref["key"]):
                        errors.append(f"{name_of(o)}: env {e['name']}: Secret {ref['name']} "
                                      f"has no key {ref['key']}")
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref and not has("ConfigMap", ref["name"]):
                    errors.append(f"{name_of(o)}: ConfigMap {ref['name']} is not rendered")
            for ef in c.get("envFrom") or []:
                if "secretRef" in ef and not has("Secret", ef["secretRef"]["name"]):
                    errors.append(f"{name_of(o)}: Secret {ef['secretRef']['name']} is not rendered")
                if "configMapRef" in ef and not has("ConfigMap", ef["configMapRef"]["name"]):
                    errors.append(f"{name_of(o)}: ConfigMap {ef['configMapRef']['name']} "
                                  "is not rendered")
    for svc in find(objs, "Service"):
        sel = svc["spec"].get("selector") or {}
        targets = [o for o in objs if o["kind"] in POD_KINDS - {"Pod", "CronJob", "Job"}
                   and sel and sel.items() <= (o["spec"]["template"]["metadata"].get("labels")
                                               or {}).items()]
        if not targets:
            errors.append(f"{name_of(svc)}: its selector matches no pod template")
            continue
        ports = {p.get("name") for _, c in containers(pod_spec(targets[0]))
                 for p in c.get("ports") or []}
        for p in svc["spec"].get("ports") or []:
            tp = p.get("targetPort")
            if isinstance(tp, str) and tp not in ports:
                errors.append(f"{name_of(svc)}: targetPort {tp} is not a container port")
    for o in objs:
        ns = o["metadata"].get("namespace")
        if o["kind"] not in CLUSTER_KINDS and ns != NAMESPACE:
            errors.append(f"{name_of(o)}: namespace is {ns!r}, expected {NAMESPACE!r}")


def check_database(objs, overlay, errors):
    sts = find(objs, "StatefulSet")
    secret = find(objs, "Secret", "ctflow")
    url = ""
    if secret:
        url = (secret[0].get("stringData") or {}).get("database-url", "")
    if overlay == "minikube":
        if not [s for s in sts if "postgres" in s["metadata"]["name"]]:
            errors.append("minikube: no PostgreSQL StatefulSet")
        hosts = [s["metadata"]["name"] for s in find(objs, "Service")]
        if not any(f"@{h}:" in url or f"@{h}/" in url for h in hosts):
            errors.append(f"minikube: database-url {url!r} does not name a rendered Service")
    elif sts:
        errors.append("production: a StatefulSet is rendered; production uses an external "
                      "PostgreSQL")


def check(objs, overlay):
    errors = []
    check_rbac(objs, errors)
    check_containers(objs, errors)
    check_server(objs, overlay, errors)
    check_predictor(objs, errors)
    check_references(objs, errors)
    check_database(objs, overlay, errors)
    return errors


# ---- breaks: each edits a copy of the rendered objects; check() must report it ---------------

def _one(objs, kind, name):
    return find(objs, kind, name)[0]


def _container(objs, kind, name, idx=0):
    return pod_spec(_one(objs, kind, name))["containers"][idx]


def _role_rules(objs):
    return find(objs, "Role")[0]["rules"]


def _add_init(objs):
    pod_spec(_one(objs, "Deployment", "ctflow"))["initContainers"] = [
        {"name": "wait", "image": "busybox", "command": ["true"]}]


def _set_cm(key, value):
    def f(objs):
        _one(objs, "ConfigMap", "ctflow-config")["data"][key] = value
    return f


BREAKS = [
    ("an extra verb on jobs", "RBAC: verb not used",
     lambda o: _role_rules(o)[0]["verbs"].append("patch")),
    ("a wildcard verb", "RBAC: verb not used",
     lambda o: _role_rules(o)[1]["verbs"].append("*")),
    ("watch on pods removed", "RBAC: verb the executor needs is missing",
     lambda o: _role_rules(o)[1]["verbs"].remove("watch")),
    ("pods/log dropped", "RBAC: verb the executor needs is missing",
     lambda o: _role_rules(o).pop(2)),
    ("secrets readable", "RBAC: verb not used",
     lambda o: _role_rules(o).append({"apiGroups": [""], "resources": ["secrets"],
                                      "verbs": ["get"]})),
    ("a ClusterRole", "cluster-wide",
     lambda o: o.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                         "metadata": {"name": "x"}, "rules": []})),
    ("the Role bound to the predictor too", "RBAC: the executor's Role is bound",
     lambda o: _one(o, "RoleBinding", "ctflow-executor")["subjects"].append(
         {"kind": "ServiceAccount", "name": "ctflow-predictor", "namespace": NAMESPACE})),
    ("no memory limit on the predictor", "resources.limits.memory missing",
     lambda o: _container(o, "Deployment", "ctflow-predictor")["resources"]["limits"]
     .pop("memory")),
    ("no requests on the server", "resources.requests.cpu missing",
     lambda o: _container(o, "Deployment", "ctflow")["resources"].pop("requests")),
    ("limit below request", "limits.cpu",
     lambda o: _container(o, "Deployment", "ctflow")["resources"]["limits"]
     .__setitem__("cpu", "100m")),
    ("an initContainer without resources or securityContext", "initContainers[wait]",
     _add_init),
    ("runAsNonRoot false", "runAsNonRoot is not true",
     lambda o: _container(o, "Deployment", "ctflow")["securityContext"]
     .__setitem__("runAsNonRoot", False)),
    ("runAsUser 0", "runAsUser must be a non-zero uid",
     lambda o: _container(o, "Deployment", "ctflow-predictor")["securityContext"]
     .__setitem__("runAsUser", 0)),
    ("privilege escalation allowed", "allowPrivilegeEscalation is not false",
     lambda o: _container(o, "Deployment", "ctflow")["securityContext"]
     .pop("allowPrivilegeEscalation")),
    ("capabilities kept", "capabilities.drop lacks ALL",
     lambda o: _container(o, "Deployment", "ctflow")["securityContext"].pop("capabilities")),
    ("no seccomp profile", "no seccompProfile",
     lambda o: pod_spec(_one(o, "Deployment", "ctflow"))["securityContext"].pop("seccompProfile")),
    ("a writable root filesystem", "readOnlyRootFilesystem is not true",
     lambda o: _container(o, "Deployment", "ctflow-predictor")["securityContext"]
     .__setitem__("readOnlyRootFilesystem", False)),
    ("the data volume mounted elsewhere", "not mounted read-write at /var/lib/ctflow",
     lambda o: _container(o, "Deployment", "ctflow")["volumeMounts"][0]
     .__setitem__("mountPath", "/data")),
    ("one replica", "replicas is 1",
     lambda o: _one(o, "Deployment", "ctflow")["spec"].__setitem__("replicas", 1)),
    ("the executor's volume of another kind", "CTFLOW_K8S_VOLUME is",
     _set_cm("CTFLOW_K8S_VOLUME", "emptydir:")),
    ("a task service account that does not exist", "CTFLOW_K8S_SERVICE_ACCOUNT",
     _set_cm("CTFLOW_K8S_SERVICE_ACCOUNT", "nobody")),
    ("a Secret that is not rendered", "Secret missing is not rendered",
     lambda o: _container(o, "Deployment", "ctflow")["env"][0]["valueFrom"]["secretKeyRef"]
     .__setitem__("name", "missing")),
    ("a Secret key that does not exist", "has no key nope",
     lambda o: _container(o, "Deployment", "ctflow")["env"][0]["valueFrom"]["secretKeyRef"]
     .__setitem__("key", "nope")),
    ("no readiness probe", "readinessProbe httpGet path",
     lambda o: _container(o, "Deployment", "ctflow").pop("readinessProbe")),
    ("an object outside the namespace", "namespace is 'default'",
     lambda o: _one(o, "Service", "ctflow")["metadata"].__setitem__("namespace", "default")),
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    src = sys.argv[1]
    kubectl = shutil.which("kubectl")
    if not kubectl:
        sys.exit("error: kubectl not found on PATH: these checks render k8s/ with "
                 "`kubectl kustomize` (kubectl 1.32 with kustomize v5 is on the CI image; "
                 "Debian's kubernetes-client is older and conflicts with it)")
    failures = 0
    try:
        render(kubectl, os.path.join(src, "k8s", "base"))
    except RuntimeError as e:
        print(f"FAIL base: {e}")
        failures += 1
    for overlay in ("minikube", "production"):
        try:
            objs = render(kubectl, os.path.join(src, "k8s", "overlays", overlay))
        except RuntimeError as e:
            print(f"FAIL {overlay}: {e}")
            failures += 1
            continue
        errors = check(objs, overlay)
        for e in errors:
            print(f"FAIL {overlay}: {e}")
        failures += bool(errors)
        print(f"{'ok' if not errors else 'FAIL'} {overlay}: {len(objs)} objects rendered, "
              f"{len(errors)} problems")
        for what, expect, breaker in BREAKS:
            broken = copy.deepcopy(objs)
            breaker(broken)
            found = check(broken, overlay)
            if not any(expect in e for e in found):
                print(f"FAIL {overlay}: break not caught: {what} (expected a problem with "
                      f"{expect!r}; got {found})")
                failures += 1
        print(f"ok {overlay}: {len(BREAKS)} deliberate breaks checked")
    print("all checks passed" if not failures else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
