#!/usr/bin/env python3
"""Writes the big run's spec for make bench-scale: N `true` tasks as a wide fan-out plus a long
chain: root -> f00000..f{W-1} -> join (needs all W) -> c00001 -> ... (the rest, one after another).

usage: gen_spec.py N [FAN] > spec.yaml     (FAN defaults to N / 2)

The output is flow-style YAML, one task a line, the compact form a generator would write."""
import sys

n = int(sys.argv[1])
fan = int(sys.argv[2]) if len(sys.argv) > 2 else n // 2
chain = n - fan - 2
if fan < 1 or chain < 0:
    sys.exit("gen_spec.py: N must be at least FAN + 2")
w = len(str(max(fan, chain)))
out = [f"name: scale-{n}", "tasks:", "  - {name: root, run: [\"true\"]}"]
out += [f"  - {{name: f{i:0{w}d}, needs: [root], run: [\"true\"]}}" for i in range(fan)]
out.append("  - {name: join, needs: [" + ", ".join(f"f{i:0{w}d}" for i in range(fan)) +
           "], run: [\"true\"]}")
prev = "join"
for i in range(1, chain + 1):
    out.append(f"  - {{name: c{i:0{w}d}, needs: [{prev}], run: [\"true\"]}}")
    prev = f"c{i:0{w}d}"
print("\n".join(out))
