"""Writes the request bodies of `make bench-serve` from the MNIST test images (idx, optionally
.gz): v2_1.json (one image), v2_32.json (32 images, shape [32,784]) and labels.json.

    python3 bodies.py IMAGES_IDX OUT_DIR
"""
import gzip
import json
import struct
import sys

path, out = sys.argv[1], sys.argv[2]
raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
assert magic == 2051 and rows == 28 and cols == 28, "not an idx image file of 28x28"


def image(i):
    px = raw[16 + i * 784: 16 + (i + 1) * 784]
    return [round(b / 255.0, 6) for b in px]


def body(first, count):
    data = []
    for i in range(first, first + count):
        data.extend(image(i))
    return {"id": "bench", "inputs": [{"name": "input-0", "shape": [count, 784],
                                       "datatype": "FP32", "data": data}]}


with open(f"{out}/v2_1.json", "w") as f:
    json.dump(body(0, 1), f)
with open(f"{out}/v2_32.json", "w") as f:
    json.dump(body(0, 32), f)
