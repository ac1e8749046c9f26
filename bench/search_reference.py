#!/usr/bin/python3
"""Reference side of bench/search_bench.ts: the same search measured with Debian's python3-faiss.

Reads the float32 files the TypeScript bench wrote (base and queries), builds the same IndexFlatL2
and IVF-Flat (same nlist, trained on the same sample: the first --train-rows base rows), and prints one JSON object on
stdout: build times, and for flat and each nprobe the queries per second and recall@k against this
side's own flat result (plus the flat labels, so the bench can check both libraries agree).

Usage: search_reference.py --base F --queries F --train-rows N --dim D --nlist L --nprobes 1,2,4 --k 5
       [--min-seconds 0.5] [--batch 0]
"""

import argparse
import json
import sys
import time

import faiss
import numpy as np


def load(path: str, dim: int) -> np.ndarray:
    data = np.fromfile(path, dtype="<f4")
    if data.size % dim != 0:
        sys.exit(f"search_reference: {path} holds {data.size} floats, not a multiple of {dim}")
    return data.reshape(-1, dim)


def timed_search(index, queries: np.ndarray, k: int, min_seconds: float, batch: int):
    """Searches all queries in batches until min_seconds have passed; returns (qps, labels)."""
    index.search(queries[:1], k)  # warm up
    reps, elapsed = 0, 0.0
    labels = np.empty((len(queries), k), dtype=np.int64)
    while reps == 0 or (elapsed < min_seconds and reps < 50):
        start = time.perf_counter()
        for off in range(0, len(queries), batch):
            _, labels[off : off + batch] = index.search(queries[off : off + batch], k)
        elapsed += time.perf_counter() - start
        reps += 1
    return len(queries) * reps / elapsed, labels


def recall(got: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(g.tolist()) & set(t.tolist())) for g, t in zip(got, truth))
    return hits / truth.size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--train-rows", type=int, required=True)
    ap.add_argument("--dim", type=int, required=True)
    ap.add_argument("--nlist", type=int, required=True)
    ap.add_argument("--nprobes", required=True)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--min-seconds", type=float, default=0.5)
    ap.add_argument("--batch", type=int, default=0, help="queries per search call (0: all)")
    args = ap.parse_args()

    queries = load(args.queries, args.dim)
    batch = args.batch if args.batch > 0 else len(queries)
    base = load(args.base, args.dim)
    train = base[: args.train_rows]

    start = time.perf_counter()
    flat = faiss.IndexFlatL2(args.dim)
    flat.add(base)
    flat_build = time.perf_counter() - start
    flat_qps, truth = timed_search(flat, queries, args.k, args.min_seconds, batch)
    del flat

    start = time.perf_counter()
    ivf = faiss.index_factory(args.dim, f"IVF{args.nlist},Flat", faiss.METRIC_L2)
    ivf.train(train)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    ivf.add(base)
    add_s = time.perf_counter() - start
    del base, train

    rows = []
    for nprobe in [int(x) for x in args.nprobes.split(",")]:
        ivf.nprobe = nprobe
        qps, labels = timed_search(ivf, queries, args.k, args.min_seconds, batch)
        rows.append({"nprobe": nprobe, "qps": qps, "recall": recall(labels, truth)})

    json.dump(
        {
            "faiss": faiss.__version__,
            "threads": faiss.omp_get_max_threads(),
            "flat": {"qps": flat_qps, "buildSeconds": flat_build, "labels": truth.tolist()},
            "ivf": {"trainSeconds": train_s, "addSeconds": add_s, "rows": rows},
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
