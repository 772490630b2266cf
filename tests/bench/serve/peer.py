"""The peer for `make bench-serve`: FastAPI + uvicorn serving the same TorchScript file and faiss
index with the same Open Inference Protocol v2 route and the same computation as ctflow-serve
(embed with the TorchScript module, inner-product search with the same faiss index file: flat
IndexFlatIP or IndexHNSWFlat with the ef_search of index-labels.json, k-NN majority vote, a tie
going to the best summed score). One request is one forward pass and one
search: no cross-request batching (the usual way such a service is written).

    python3 peer.py MODEL_DIR PORT
The TorchScript module is run through torch.jit.optimize_for_inference, as ctflow-serve does.
Threads as for ctflow-serve: torch intra-op = $CTFLOW_THREADS (run.sh's THREADS) or the CPUs, OpenBLAS 1 (set OPENBLAS_NUM_THREADS=1 before
start; faiss's search then runs its sgemm single-threaded, as ctflow-serve's batches do not).
"""
import json
import os
import sys

import faiss
import numpy as np
import torch
import uvicorn
from fastapi import FastAPI, HTTPException, Request

model_dir, port = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(os.environ.get("CTFLOW_THREADS") or os.cpu_count()))
module = torch.jit.load(os.path.join(model_dir, "model.pt"))
module.eval()
if os.environ.get("PEER_OPTIMIZE", "1") != "0":
    # What ctflow-serve's loader does (tasks/train/embedder.cpp): frozen weights, folded batch
    # norms, prepacked convolutions. PEER_OPTIMIZE=0 serves the module as saved.
    module = torch.jit.optimize_for_inference(module)
index = faiss.read_index(os.path.join(model_dir, "index.faiss"))
with open(os.path.join(model_dir, "index-labels.json")) as f:
    meta = json.load(f)
labels = np.asarray(meta["labels"], dtype=np.int64)
k = int(meta.get("k", 5))
if meta.get("index") == "hnsw" and meta.get("ef_search"):  # as ctflow-serve's loader does
    faiss.downcast_index(index).hnsw.efSearch = int(meta["ef_search"])
app = FastAPI()


def classify(x: np.ndarray):
    with torch.no_grad():
        emb = module(torch.from_numpy(x).reshape(-1, 1, 28, 28)).numpy()
    scores, ids = index.search(np.ascontiguousarray(emb, dtype=np.float32), k)
    out, conf = [], []
    for q in range(len(ids)):
        count = np.zeros(10)
        score = np.zeros(10)
        for j in range(k):
            if ids[q, j] >= 0:
                c = labels[ids[q, j]]
                count[c] += 1
                score[c] += scores[q, j]
        best = max(range(10), key=lambda c: (count[c], score[c]))
        out.append(best)
        conf.append(count[best] / max(1, count.sum()))
    return out, conf


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    if name != "mnist":
        raise HTTPException(404, f"model {name} is not served here")
    body = await request.json()
    inp = body["inputs"][0]
    if inp.get("datatype") != "FP32":
        raise HTTPException(400, "inputs[0].datatype: expected FP32")
    x = np.asarray(inp["data"], dtype=np.float32).reshape(-1, 784)
    if x.shape[0] != inp["shape"][0]:
        raise HTTPException(400, "inputs[0].data does not fill the shape")
    pred, conf = classify(x)
    n = len(pred)
    return {"model_name": name, "model_version": "0", "id": body.get("id", ""),
            "outputs": [{"name": "label", "datatype": "INT64", "shape": [n], "data": pred},
                        {"name": "confidence", "datatype": "FP32", "shape": [n], "data": conf}]}


@app.get("/v2/health/ready")
async def ready():
    return {"ready": True}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
