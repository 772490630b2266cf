#!/usr/bin/env python3
"""Clang's thread-safety analysis over the control plane (scheduler/): every translation unit of
the build's compile_commands.json under scheduler/ is checked by clang++ -fsyntax-only with
-Wthread-safety -Werror (gcc ignores the GUARDED_BY / REQUIRES annotations; see
scheduler/common/mutex.hpp). Usage: thread_safety.py BUILD_DIR [JOBS]. Exit 1 on any warning."""
import json
import os
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

build = sys.argv[1]
jobs = int(sys.argv[2]) if len(sys.argv) > 2 else os.cpu_count() or 2
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
entries = json.load(open(os.path.join(build, "compile_commands.json")))


def clang_args(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    # Drop the launcher (cmake -E env ... ccache) and the compiler: keep flags, defines, includes.
    i = next(n for n, a in enumerate(args) if a.endswith("c++") or a.endswith("g++"))
    out, skip = [os.environ.get("CLANGXX", "clang++")], False
    for a in args[i + 1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a.startswith("-O") or a.startswith("-g"):
            continue
        out.append(a)
    return out + ["-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
                  "-Wno-unknown-warning-option"]


def includes(path):
    try:
        text = open(path).read()
    except OSError:
        return set()
    return {line.split('"')[1] for line in text.splitlines()
            if line.startswith('#include "scheduler/')}


# Annotated headers: scheduler/common/mutex.hpp and every header that includes one (closure);
# only sources that include one of them can hold an annotation to check.
headers = {}
for d, _, files in os.walk(os.path.join(root, "scheduler")):
    for f in files:
        if f.endswith(".hpp"):
            rel = os.path.relpath(os.path.join(d, f), root)
            headers[rel] = includes(os.path.join(root, rel))
annotated = {"scheduler/common/mutex.hpp"}
while True:
    more = {h for h, inc in headers.items() if h not in annotated and inc & annotated}
    if not more:
        break
    annotated |= more
todo = [e for e in entries
        if os.path.relpath(e["file"], root).startswith("scheduler" + os.sep)
        and includes(e["file"]) & annotated]
if not todo:
    sys.exit(f"thread_safety: no scheduler/ sources in {build}/compile_commands.json")


def check(entry):
    r = subprocess.run(clang_args(entry), cwd=entry["directory"], capture_output=True, text=True)
    return entry["file"], r.returncode, r.stderr


# The analysis must be live: a read of a guarded member without its mutex has to fail.
BAD = """#include "scheduler/common/mutex.hpp"
struct S { ctflow::Mutex mu; int n GUARDED_BY(mu) = 0; int get() { return n; } };
int main() { S s; return s.get(); }
"""
probe = subprocess.run([os.environ.get("CLANGXX", "clang++"), "-std=c++20", "-I", root, "-x", "c++",
                        "-", "-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety"],
                       input=BAD, capture_output=True, text=True)
if probe.returncode == 0 or "requires holding mutex" not in probe.stderr:
    sys.exit("thread-safety: clang did not flag an unguarded read; the annotations are not checked")

failed = 0
with ThreadPoolExecutor(jobs) as pool:
    for path, rc, err in pool.map(check, todo):
        if rc != 0:
            failed += 1
            print(f"{os.path.relpath(path, root)}:\n{err}", file=sys.stderr)
print(f"thread-safety: {len(todo) - failed} of {len(todo)} scheduler/ sources clean")
sys.exit(1 if failed else 0)
