#!/usr/bin/env python3
"""Checks docker-compose.yml, docker/*.Dockerfile and .dockerignore without a Docker engine.

  - docker-compose.yml: services postgres, ctflow and predictor; a healthcheck on every
    long-running service; depends_on in the long form with a condition on each edge
    (service_healthy only on a service that has a healthcheck; service_completed_successfully
    only on a one-shot); named volumes declared: ctflow's data at /var/lib/ctflow, the
    predictor's cache, PostgreSQL's data; non-root users; build files and targets that exist.
  - each Dockerfile: multi-stage, every stage from debian:12* or an earlier stage; builder runs
    `make deps` and `make build`; the final stage (and each stage compose builds) starts from
    debian:12-slim itself (not from the builder), copies only built files, installs no -dev
    package, and ends as a numeric non-root USER.
  - docker/runtime-packages.sh: when build/ holds a binary, every library it links (NEEDED)
    belongs to a package the image installs (or one debian:12-slim has).
Then it breaks parsed copies on purpose and checks that each break is reported.

Usage: check_docker.py SOURCE_DIR [BINARY_DIR]
"""
import copy
import os
import re
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("error: python3 cannot import yaml: install the Debian package python3-yaml "
             "(`make deps` does)")

DOCKERFILES = {"ctflow.Dockerfile": "server", "ctflow-task.Dockerfile": "task",
               "ctflow-serve.Dockerfile": "serve"}
BINARIES = {"server": "ctflow", "task": "ctflow-task", "serve": "ctflow-serve"}
# Packages of debian:12-slim itself that binaries may link without installing anything.
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


# ---- Dockerfiles -----------------------------------------------------------------------------

def parse_dockerfile(text):
    """[{'base', 'name', 'instructions': [(KEYWORD, args)]}], continuation lines joined."""
    lines, buf = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        lines.append(buf + stripped)
        buf = ""
    if buf:
        lines.append(buf)
    stages = []
    for line in lines:
        kw, _, args = line.partition(" ")
        kw = kw.upper()
        if kw == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$", args, re.I)
            stages.append({"base": m.group(1), "name": m.group(2), "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((kw, args.strip()))
    return stages


def check_dockerfile(fname, stages, runtime_targets, errors):
    where = f"docker/{fname}"
    if len(stages) < 2:
        errors.append(f"{where}: not multi-stage ({len(stages)} stage)")
        return
    names = set()
    for i, st in enumerate(stages):
        if not (st["base"].startswith("debian:12") or st["base"] in names):
            errors.append(f"{where}: stage {i} FROM {st['base']}: not debian:12* nor an earlier "
                          "stage")
        if st["name"]:
            names.add(st["name"])
    builder = stages[0]
    runs = " ; ".join(a for k, a in builder["instructions"] if k == "RUN")
    if "make deps" not in runs or "make build" not in runs:
        errors.append(f"{where}: the builder stage does not run `make deps` and `make build`")
    runtime = [st for st in stages if st is stages[-1] or st["name"] in runtime_targets]
    for st in runtime:
        label = f"{where} stage {st['name'] or len(stages) - 1}"
        if not st["base"].startswith("debian:12-slim"):
            errors.append(f"{label}: a runtime stage starts FROM {st['base']}, not debian:12-slim")
        users = [a for k, a in st["instructions"] if k == "USER"]
        if not users:
            errors.append(f"{label}: no USER: runs as root")
        else:
            user = users[-1].split(":")[0]
            if not user.isdigit() or int(user) == 0:
                errors.append(f"{label}: USER {users[-1]} is not a numeric non-root uid "
                              "(Kubernetes' runAsNonRoot can only verify a number)")
        for k, a in st["instructions"]:
            if k in ("COPY", "ADD") and "--from=" not in a:
                src = a.split()[:-1]
                if any(s in (".", "./", "*") for s in src):
                    errors.append(f"{label}: {k} {a}: copies the source tree into the runtime")
            if k == "RUN" and re.search(r"\b[\w.+-]+-dev\b", a):
                errors.append(f"{label}: RUN {a}: installs a -dev package in the runtime")


# ---- docker-compose.yml -----------------------------------------------------------------------

def named_mounts(svc):
    out = {}
    for v in svc.get("volumes") or []:
        if isinstance(v, str):
            parts = v.split(":")
            src, dst = parts[0], parts[1] if len(parts) > 1 else parts[0]
        else:
            src, dst = v.get("source"), v.get("target")
        if src and not src.startswith((".", "/", "~")):
            out[dst] = src
    return out


def check_compose(src, compose, errors):
    services = compose.get("services") or {}
    for s in ("postgres", "ctflow", "predictor"):
        if s not in services:
            errors.append(f"compose: service {s} missing")
    if any(s not in services for s in ("postgres", "ctflow", "predictor")):
        return
    one_shots = set()
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items() if isinstance(
                svc.get("depends_on"), dict) else []:
            if (cond or {}).get("condition") == "service_completed_successfully":
                one_shots.add(dep)
    declared = set((compose.get("volumes") or {}).keys())
    for name, svc in services.items():
        where = f"compose: {name}"
        hc = svc.get("healthcheck") or {}
        if name not in one_shots and (not hc.get("test") or hc.get("disable")):
            errors.append(f"{where}: no healthcheck")
        if name in one_shots and svc.get("restart", "no") != "no":
            errors.append(f"{where}: a one-shot with restart {svc.get('restart')}")
        deps = svc.get("depends_on")
        if isinstance(deps, list):
            errors.append(f"{where}: depends_on as a list (no condition): {deps}")
        for dep, cond in (deps or {}).items() if isinstance(deps, dict) else []:
            c = (cond or {}).get("condition")
            if dep not in services:
                errors.append(f"{where}: depends on unknown service {dep}")
            elif c == "service_healthy":
                if not (services[dep].get("healthcheck") or {}).get("test"):
                    errors.append(f"{where}: waits for {dep} to be healthy; it has no healthcheck")
            elif c != "service_completed_successfully":
                errors.append(f"{where}: depends_on {dep} with condition {c!r}")
        for dst, vol in named_mounts(svc).items():
            if vol not in declared:
                errors.append(f"{where}: volume {vol} is not declared under volumes:")
        if name != "postgres":
            user = str(svc.get("user", "")).split(":")[0]
            if not user.isdigit() or int(user) == 0:
                errors.append(f"{where}: user {svc.get('user')!r} is not a non-root uid")
        build = svc.get("build")
        if isinstance(build, dict):
            df = os.path.join(src, build.get("context", "."), build.get("dockerfile", "Dockerfile"))
            if not os.path.exists(df):
                errors.append(f"{where}: build file {build.get('dockerfile')} does not exist")
            elif build.get("target"):
                stage_names = {st["name"] for st in parse_dockerfile(open(df).read())}
                if build["target"] not in stage_names:
                    errors.append(f"{where}: build target {build['target']} is not a stage")
    want = [("ctflow", "/var/lib/ctflow"), ("predictor", "/var/cache/ctflow-serve"),
            ("postgres", "/var/lib/postgresql/data")]
    for name, path in want:
        if path not in named_mounts(services[name]):
            errors.append(f"compose: {name}: no named volume at {path}")
    deps = lambda n: services[n].get("depends_on") if isinstance(services[n].get("depends_on"),
                                                                   dict) else {}
    if (deps("ctflow").get("postgres") or {}).get("condition") != "service_healthy":
        errors.append("compose: ctflow does not wait for postgres to be healthy")
    if (deps("predictor").get("ctflow") or {}).get("condition") != "service_healthy":
        errors.append("compose: predictor does not wait for ctflow to be healthy")
    cmd = services["ctflow"].get("command") or []
    cmd = cmd.split() if isinstance(cmd, str) else cmd
    for flag, want_v in (("--data-dir", "/var/lib/ctflow"), ("--address", "0.0.0.0")):
        if flag not in cmd or cmd[cmd.index(flag) + 1] != want_v:
            errors.append(f"compose: ctflow command lacks {flag} {want_v}")
    if "--database-url" in cmd and "@postgres:" not in cmd[cmd.index("--database-url") + 1]:
        errors.append("compose: ctflow's --database-url does not name the postgres service")


def compose_runtime_targets(compose, fname):
    out = set()
    for svc in (compose.get("services") or {}).values():
        b = svc.get("build")
        if isinstance(b, dict) and os.path.basename(b.get("dockerfile", "")) == fname:
            if b.get("target"):
                out.add(b["target"])
    return out


# ---- runtime packages against the built binaries ----------------------------------------------

def package_of(path):
    real = os.path.realpath(path)
    for p in (real, real.replace("/usr/lib/", "/lib/", 1), real.replace("/lib/", "/usr/lib/", 1),
              path):
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def check_packages(src, bindir, errors, notes):
    if not (bindir and shutil.which("objdump") and shutil.which("dpkg") and shutil.which("ldd")):
        notes.append("runtime packages: not compared (no build dir, objdump, ldd or dpkg)")
        return
    script = os.path.join(src, "docker", "runtime-packages.sh")
    for kind, binary in BINARIES.items():
        path = os.path.join(bindir, binary)
        if not os.path.exists(path):
            notes.append(f"runtime packages: {binary} not built, not compared")
            continue
        pkgs = set(subprocess.run(["sh", script, "--list", kind], capture_output=True, text=True,
                                  check=True).stdout.split())
        needed = re.findall(r"NEEDED\s+(\S+)", subprocess.run(
            ["objdump", "-p", path], capture_output=True, text=True).stdout)
        resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", subprocess.run(
            ["ldd", path], capture_output=True, text=True).stdout, re.M))
        for lib in needed:
            if lib not in resolved:
                errors.append(f"runtime packages: {binary} needs {lib}, which ldd cannot resolve")
                continue
            pkg = package_of(resolved[lib])
            if pkg is None:
                notes.append(f"runtime packages: {binary}: {lib} belongs to no Debian package")
            elif pkg not in pkgs and pkg not in BASE_PACKAGES:
                errors.append(f"runtime packages: {binary} links {lib} from {pkg}, which "
                              f"`runtime-packages.sh {kind}` does not install")
        notes.append(f"runtime packages: {binary}: {len(needed)} linked libraries, all installed")


# ---- driver ------------------------------------------------------------------------------------

def check_all(src, compose, dockerfiles):
    errors = []
    check_compose(src, compose, errors)
    for fname, stages in dockerfiles.items():
        check_dockerfile(fname, stages, compose_runtime_targets(compose, fname), errors)
    ign = os.path.join(src, ".dockerignore")
    if not os.path.exists(ign):
        errors.append(".dockerignore missing")
    else:
        entries = {l.strip().strip("/") for l in open(ign) if l.strip() and not l.startswith("#")}
        for must in (".git", "web/node_modules", "build*"):
            if must not in entries:
                errors.append(f".dockerignore does not exclude {must}")
    return errors


def _stage(d, fname, idx=-1):
    return d[fname][idx]


def _set_user(fname, user):
    def f(c, d):
        st = _stage(d, fname)
        st["instructions"] = [(k, a) for k, a in st["instructions"] if k != "USER"]
        if user:
            st["instructions"].append(("USER", user))
    return f


BREAKS = [
    ("final stage as root", "no USER", _set_user("ctflow-task.Dockerfile", None)),
    ("USER root", "not a numeric non-root uid", _set_user("ctflow-serve.Dockerfile", "root")),
    ("USER 0", "not a numeric non-root uid", _set_user("ctflow.Dockerfile", "0:0")),
    ("standalone stage as root", "stage standalone: no USER",
     lambda c, d: _stage(d, "ctflow.Dockerfile", 2).__setitem__(
         "instructions", [i for i in _stage(d, "ctflow.Dockerfile", 2)["instructions"]
                          if i[0] != "USER"])),
    ("a single stage", "not multi-stage",
     lambda c, d: d.__setitem__("ctflow-task.Dockerfile", d["ctflow-task.Dockerfile"][-1:])),
    ("an Ubuntu base", "not debian:12",
     lambda c, d: _stage(d, "ctflow.Dockerfile", 0).__setitem__("base", "ubuntu:22.04")),
    ("the runtime FROM the builder", "not debian:12-slim",
     lambda c, d: _stage(d, "ctflow-task.Dockerfile").__setitem__("base", "build")),
    ("sources in the runtime", "copies the source tree",
     lambda c, d: _stage(d, "ctflow-serve.Dockerfile")["instructions"].append(("COPY", ". /src"))),
    ("a -dev package in the runtime", "installs a -dev package",
     lambda c, d: _stage(d, "ctflow.Dockerfile")["instructions"].append(
         ("RUN", "apt-get install -y libpqxx-dev"))),
    ("no make deps", "does not run `make deps`",
     lambda c, d: _stage(d, "ctflow.Dockerfile", 0).__setitem__("instructions", [])),
    ("no predictor", "service predictor missing", lambda c, d: c["services"].pop("predictor")),
    ("no healthcheck on ctflow", "compose: ctflow: no healthcheck",
     lambda c, d: c["services"]["ctflow"].pop("healthcheck")),
    ("no healthcheck on postgres", "compose: postgres: no healthcheck",
     lambda c, d: c["services"]["postgres"].pop("healthcheck")),
    ("depends_on as a list", "depends_on as a list",
     lambda c, d: c["services"]["predictor"].__setitem__("depends_on", ["ctflow"])),
    ("service_started instead of healthy", "condition 'service_started'",
     lambda c, d: c["services"]["ctflow"]["depends_on"]["postgres"].__setitem__(
         "condition", "service_started")),
    ("data volume elsewhere", "no named volume at /var/lib/ctflow",
     lambda c, d: c["services"]["ctflow"].__setitem__("volumes", ["ctflow-data:/data"])),
    ("an undeclared volume", "is not declared",
     lambda c, d: c["services"]["predictor"]["volumes"].append("other:/x")),
    ("ctflow as root", "not a non-root uid",
     lambda c, d: c["services"]["ctflow"].__setitem__("user", "0:0")),
    ("a target that is not a stage", "is not a stage",
     lambda c, d: c["services"]["ctflow"]["build"].__setitem__("target", "nope")),
]


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    bindir = sys.argv[2] if len(sys.argv) == 3 else None
    compose = yaml.safe_load(open(os.path.join(src, "docker-compose.yml")))
    dockerfiles = {f: parse_dockerfile(open(os.path.join(src, "docker", f)).read())
                   for f in DOCKERFILES}
    failures = 0
    errors = check_all(src, compose, dockerfiles)
    notes = []
    check_packages(src, bindir, errors, notes)
    for n in notes:
        print(f"note: {n}")
    for e in errors:
        print(f"FAIL {e}")
    failures += len(errors)
    print(f"{'ok' if not errors else 'FAIL'} docker-compose.yml and {len(dockerfiles)} "
          f"Dockerfiles: {len(errors)} problems")
    for what, expect, breaker in BREAKS:
        c, d = copy.deepcopy(compose), copy.deepcopy(dockerfiles)
        breaker(c, d)
        found = check_all(src, c, d)
        if not any(expect in e for e in found):
            print(f"FAIL break not caught: {what} (expected {expect!r}; got {found})")
            failures += 1
    print(f"ok {len(BREAKS)} deliberate breaks checked")
    print("all checks passed" if not failures else f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
