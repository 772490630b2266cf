"""Sends the 10,000 MNIST test images to a predictor over KServe v1 and over the Open Inference
Protocol v2 (batches of BATCH images), compares its labels with the true ones and prints the
accuracy of each protocol. Exit 1 when either is below MIN (default 0.994).

    python3 accuracy.py URL MODEL IMAGES_IDX LABELS_IDX [--min 0.994] [--batch 100]
"""
import argparse
import gzip
import json
import struct
import sys
import urllib.request


def read_idx(path, magic_want):
    raw = (gzip.open if path.endswith(".gz") else open)(path, "rb").read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic != magic_want:
        sys.exit(f"{path}: not an idx file of the expected kind (magic {magic})")
    return raw, n


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("model")
    ap.add_argument("images")
    ap.add_argument("labels")
    ap.add_argument("--min", type=float, default=0.994)
    ap.add_argument("--batch", type=int, default=100)
    a = ap.parse_args()
    images, n = read_idx(a.images, 2051)
    labels, m = read_idx(a.labels, 2049)
    if n != m:
        sys.exit(f"{n} images but {m} labels")
    truth = list(labels[8:8 + n])

    def pixels(i):
        return [b / 255.0 for b in images[16 + i * 784:16 + (i + 1) * 784]]

    ok = True
    for proto in ("v1", "v2"):
        right = 0
        versions = set()
        for first in range(0, n, a.batch):
            idx = range(first, min(n, first + a.batch))
            if proto == "v1":
                out = post(f"{a.url}/v1/models/{a.model}:predict",
                           {"instances": [pixels(i) for i in idx]})
                got = out["predictions"]
            else:
                data = []
                for i in idx:
                    data.extend(pixels(i))
                out = post(f"{a.url}/v2/models/{a.model}/infer",
                           {"inputs": [{"name": "input-0", "shape": [len(idx), 784],
                                        "datatype": "FP32", "data": data}]})
                got = out["outputs"][0]["data"]
                versions.add(out.get("model_version"))
            right += sum(int(g) == truth[i] for g, i in zip(got, idx))
        acc = right / n
        shown = f" (version {', '.join(sorted(str(v) for v in versions))})" if versions else ""
        print(f"{proto}: {right} of {n} right = {100 * acc:.2f}%{shown}")
        ok = ok and acc >= a.min
    if not ok:
        print(f"FAIL: below {100 * a.min:.2f}%")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
