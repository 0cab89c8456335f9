"""KMeans against scikit-learn's KMeans, side by side in one run.

    python benchmarks/kmeans.py                 # the two cases of the issue, 3 repeats each
    python benchmarks/kmeans.py --repeats 5 --threads 2
    python benchmarks/kmeans.py --quick         # a smaller smoke run

Both get the same float32 standard-normal data, the same initial centres (k rows
drawn at random), ``n_init=1``, ``tol=0`` and the same number of Lloyd
iterations, and the same number of threads: scikit-learn through threadpoolctl
(OpenMP and BLAS), ours through ``torch.set_num_threads``. Runs alternate
(sklearn, ours, ours, sklearn, ...) so a noisy neighbour hits both alike.

Time per iteration is a whole ``fit`` (checks and final labelling included)
divided by the iterations it ran. Reported: the median and the best of the
repeats, their ratios ours / scikit-learn, and the median of the ratios of the
back-to-back pairs (goal <= 1.0; the goal line reads the last); the inertia ratio
ours / scikit-learn (goal <= 1.001).

OpenBLAS settings such as OPENBLAS_CORETYPE slow NumPy's BLAS on some machines;
the kernel in use is printed so a run can be judged. Unset them in the command
that runs this script only, never in tests or CI.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.cluster import KMeans as SKKMeans
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from agents.kmeans import KMeans  # noqa: E402

CASES = [  # name, n_samples, n_features, k
    ("1,000,000 x 16, k=16", 1_000_000, 16, 16),
    ("200,000 x 64, k=32", 200_000, 64, 32),
]


def blas_kernels() -> str:
    libs = [
        f"{i['internal_api']} {i.get('version')} {i.get('architecture', '')}".strip()
        for i in threadpool_info()
        if i["user_api"] == "blas"
    ]
    env = {
        k: os.environ[k]
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS")
        if k in os.environ
    }
    return f"BLAS: {'; '.join(libs)}; env: {env or 'no OpenBLAS/OMP overrides'}"


def time_sklearn(
    X: np.ndarray, C0: np.ndarray, iters: int, threads: int
) -> tuple[float, float, int]:
    with threadpool_limits(limits=threads):
        start = time.perf_counter()
        model = SKKMeans(
            len(C0), init=C0, n_init=1, max_iter=iters, tol=0.0, algorithm="lloyd"
        ).fit(X)
        elapsed = time.perf_counter() - start
    return elapsed / model.n_iter_, float(model.inertia_), int(model.n_iter_)


def time_ours(X: np.ndarray, C0: np.ndarray, iters: int, threads: int) -> tuple[float, float, int]:
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        model = KMeans(k=len(C0), init=C0, n_init=1, max_iter=iters, tol=0.0).fit(X)
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    return elapsed / model.n_iter_, float(model.inertia_), int(model.n_iter_)


def run_case(
    name: str, n: int, d: int, k: int, iters: int, threads: int, repeats: int, seed: int
) -> dict:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    C0 = X[rng.choice(n, size=k, replace=False)].copy()
    time_sklearn(X[:20_000], C0, 2, threads)  # warm both up (imports, thread pools)
    time_ours(X[:20_000], C0, 2, threads)
    times = {"sklearn": [], "ours": []}
    result = {}
    for r in range(repeats):
        order = ("sklearn", "ours") if r % 2 == 0 else ("ours", "sklearn")
        for who in order:
            per_iter, inertia, n_iter = (time_sklearn if who == "sklearn" else time_ours)(
                X, C0, iters, threads
            )
            times[who].append(per_iter)
            result[who] = (inertia, n_iter)
    med = {w: statistics.median(t) for w, t in times.items()}
    best = {w: min(t) for w, t in times.items()}
    return {
        "case": name,
        "sklearn_ms_median": 1e3 * med["sklearn"],
        "ours_ms_median": 1e3 * med["ours"],
        "sklearn_ms_best": 1e3 * best["sklearn"],
        "ours_ms_best": 1e3 * best["ours"],
        "time_ratio_median": med["ours"] / med["sklearn"],
        "time_ratio_best": best["ours"] / best["sklearn"],
        # each repeat's two runs are back to back, so their ratio shares the machine's load at that moment
        "time_ratio_paired": statistics.median(
            o / s for o, s in zip(times["ours"], times["sklearn"])
        ),
        "inertia_ratio": result["ours"][0] / result["sklearn"][0],
        "iters": f"{result['sklearn'][1]}/{result['ours'][1]}",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--iters", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--quick", action="store_true", help="a tenth of the rows, 10 iterations, 1 repeat"
    )
    args = p.parse_args(argv)
    cases = CASES
    if args.quick:
        args.iters, args.repeats = 10, 1
        cases = [(f"{n // 10:,} x {d}, k={k}", n // 10, d, k) for _, n, d, k in CASES]
    print(blas_kernels())
    print(
        f"threads each: {args.threads}; Lloyd iterations: {args.iters}; repeats: {args.repeats}; cpu count {os.cpu_count()}"
    )
    rows = []
    for name, n, d, k in cases:
        rows.append(run_case(name, n, d, k, args.iters, args.threads, args.repeats, args.seed))
        r = rows[-1]
        print(
            f"{r['case']:>22}: ms/iter sklearn {r['sklearn_ms_median']:7.1f} (best {r['sklearn_ms_best']:6.1f})  "
            f"ours {r['ours_ms_median']:7.1f} (best {r['ours_ms_best']:6.1f})  "
            f"time ratio {r['time_ratio_median']:.3f}x of medians, {r['time_ratio_best']:.3f}x of bests, "
            f"{r['time_ratio_paired']:.3f}x median of paired runs (goal <= 1.0)  "
            f"inertia ratio {r['inertia_ratio']:.6f} (goal <= 1.001)  iterations sklearn/ours {r['iters']}",
            flush=True,
        )
    ok = all(r["time_ratio_paired"] <= 1.0 and r["inertia_ratio"] <= 1.001 for r in rows)
    print("all goals met" if ok else "NOT all goals met (see the ratios above)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
