"""The k-means kernels behind :mod:`agents.kmeans`: Lloyd's iterations, nearest centres, seeding.

How the full Lloyd iteration is made fast:

* One compiled kernel (numba, :func:`_assign_block`) does a whole pass over a
  chunk of rows: a BLAS product ``x @ C.T`` on a block of 1,024 rows that stays
  in the CPU cache, then, in the same sweep over the block, each row's nearest
  centre by ``||c||² - 2 x·c`` (the row's own ``||x||²`` does not change which
  centre is nearest) and its addition to that centre's sum and count. The data
  is read once per pass, and memory stays bounded for millions of rows.
* Each worker thread takes a contiguous run of chunks in one compiled call
  (the kernel lets go of the GIL; with a Python call per chunk the two
  threads queued for the GIL between chunks, and the fastest 2-thread pass
  on 200,000 x 64 measured 12-16 ms against 10.7 ms now). Each chunk
  keeps its own float64 sums, added in chunk order, so the result does not
  depend on the number of threads; the chunk count is a multiple of 12 so
  1, 2, 3, 4 or 6 threads get equal shares.
* The kernels are compiled on first use and cached on disk (``__pycache__``),
  so later processes load them in milliseconds.

Labelling (``act``, ``evaluate``, the final labels) uses a second kernel,
:func:`_nearest_block`, which also gives the exact ``||x - c||²`` to the
nearest centre; ``transform`` (all k distances) stays in NumPy.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
import torch
from threadpoolctl import ThreadpoolController

_BLOCK_ELEMENTS = 262144
_GEMM_ROWS = (
    1024  # rows per GEMM inside the compiled Lloyd kernel: a (1024, k) block stays in cache
)


def chunk_rows(k: int) -> int:
    """Rows per chunk: a (k, rows) block of about 256 Ki values (bigger blocks measured faster: fewer calls)."""
    return int(min(65536, max(256, _BLOCK_ELEMENTS // max(k, 1))))


def chunk_size(n: int, k: int) -> int:
    """Rows per chunk for n rows: at most :func:`chunk_rows`, and when there are many chunks, a number
    of them divisible by 12, so 1, 2, 3, 4 or 6 threads get equal shares (chunks are the unit of
    work, and their boundaries must not depend on the thread count: the sums are added chunk by chunk)."""
    most = chunk_rows(k)
    count = -(-n // most)
    if count > 12:
        count = -(-count // 12) * 12
    return max(1, -(-n // count))


def worker_count() -> int:
    """Threads for the chunked passes: torch's intra-op setting (``torch.set_num_threads``)."""
    return max(1, min(torch.get_num_threads(), os.cpu_count() or 1))


_CONTROLLER: ThreadpoolController | None = None
_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool(workers: int) -> ThreadPoolExecutor:
    """A pool kept for the life of the process: starting threads on every pass costs time."""
    global _POOL
    if _POOL is None or _POOL[0] < workers:
        _POOL = (workers, ThreadPoolExecutor(workers, thread_name_prefix="kmeans"))
    return _POOL[1]


def _one_blas_thread() -> Any:
    """Limit BLAS to one thread inside the block.

    Our own threads do the parallel work; BLAS threads on top only fight them. On a
    busy machine OpenBLAS's threads on these small products measured ~100x slower.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def map_chunk_runs(work: Callable[[int, int], Any], n_chunks: int) -> None:
    """``work(first, last)`` for contiguous runs of chunk indices, one run per worker thread."""
    workers = min(worker_count(), n_chunks)
    with _one_blas_thread():
        if workers == 1:
            work(0, n_chunks)
            return
        runs = [(int(g[0]), int(g[-1]) + 1) for g in np.array_split(np.arange(n_chunks), workers)]
        list(_pool(workers).map(lambda r: work(*r), runs))


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on this thread alone inside the block (restored after).

    Mini-batch steps are small tensors: handing them to a second thread costs far more
    than it saves, and on a busy machine it measured about 6x slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _nearest_of(Dv, csq, i):  # pragma: no cover - compiled
    """(index, value) of the smallest ``csq[j] - 2 Dv[i, j]``; the first on a tie, as argmin."""
    best = 0
    low = csq[0] - 2 * Dv[i, 0]
    for j in range(1, len(csq)):
        v = csq[j] - 2 * Dv[i, j]
        if v < low:
            low = v
            best = j
    return best, low


@numba.njit(nogil=True, cache=True, boundscheck=False)
def _assign_block(
    X, CT, csq, labels, sums, counts
):  # pragma: no cover - compiled; covered through lloyd_pass
    """Nearest centre of each row of the block X (labels, in place), added to ``sums``/``counts``.

    ``CT`` is the centres transposed (n_features, k), ``csq`` their squared norms;
    the distance left to compare is ``||c||² - 2 x·c``. Returns the block's sum of
    those minima. A row equally near two centres takes the first, as argmin does.
    Rows are added to sums in X's dtype within each GEMM block, then to the float64
    ``sums``; the minimum is searched for four rows at a time, whose comparisons
    do not wait on each other.
    """
    m, d = X.shape
    k = CT.shape[1]
    D = np.empty((min(m, _GEMM_ROWS), k), dtype=X.dtype)
    block_sums = np.empty((k, d), dtype=X.dtype)
    total = 0.0
    for s in range(0, m, _GEMM_ROWS):
        e = min(m, s + _GEMM_ROWS)
        Dv = D[: e - s]
        np.dot(X[s:e], CT, Dv)  # BLAS GEMM on a block that stays in cache
        block_sums[:] = 0
        r = e - s
        i = 0
        while i + 4 <= r:
            b0 = b1 = b2 = b3 = 0
            c0 = csq[0]
            l0, l1, l2, l3 = (
                c0 - 2 * Dv[i, 0],
                c0 - 2 * Dv[i + 1, 0],
                c0 - 2 * Dv[i + 2, 0],
                c0 - 2 * Dv[i + 3, 0],
            )
            for j in range(1, k):
                cj = csq[j]
                v0, v1, v2, v3 = (
                    cj - 2 * Dv[i, j],
                    cj - 2 * Dv[i + 1, j],
                    cj - 2 * Dv[i + 2, j],
                    cj - 2 * Dv[i + 3, j],
                )
                if v0 < l0:
                    l0, b0 = v0, j
                if v1 < l1:
                    l1, b1 = v1, j
                if v2 < l2:
                    l2, b2 = v2, j
                if v3 < l3:
                    l3, b3 = v3, j
            labels[s + i], labels[s + i + 1], labels[s + i + 2], labels[s + i + 3] = b0, b1, b2, b3
            total += l0 + l1 + l2 + l3
            i += 4
        while i < r:
            labels[s + i], low = _nearest_of(Dv, csq, i)
            total += low
            i += 1
        for i in range(r):
            best = labels[s + i]
            counts[best] += 1.0
            for f in range(d):
                block_sums[best, f] += X[s + i, f]
        for j in range(k):
            for f in range(d):
                sums[j, f] += block_sums[j, f]
    return total


@numba.njit(nogil=True, cache=True, boundscheck=False, fastmath={"reassoc"})
def _nearest_block(
    X, C, CT, csq, labels, sq
):  # pragma: no cover - compiled; covered through nearest
    """Nearest centre of each row of X (into ``labels``) and the exact ``||x - c||²`` to it (into ``sq``).

    The squared distance is summed in float64 from the differences (no cancellation);
    ``reassoc`` lets that sum be split over vector lanes instead of one long chain.
    """
    m, d = X.shape
    D = np.empty((min(m, _GEMM_ROWS), CT.shape[1]), dtype=X.dtype)
    for s in range(0, m, _GEMM_ROWS):
        e = min(m, s + _GEMM_ROWS)
        Dv = D[: e - s]
        np.dot(X[s:e], CT, Dv)
        for i in range(e - s):
            best = _nearest_of(Dv, csq, i)[0]
            labels[s + i] = best
            total = 0.0
            for f in range(d):
                diff = np.float64(X[s + i, f]) - np.float64(C[best, f])
                total += diff * diff
            sq[s + i] = total


@numba.njit(nogil=True, cache=True)
def _assign_chunks(
    X, CT, csq, labels, step, first, last, sums, counts, partial
):  # pragma: no cover - compiled
    """:func:`_assign_block` on chunks ``first..last-1`` of ``step`` rows, each into its own row of sums/counts/partial."""
    n = X.shape[0]
    for c in range(first, last):
        a, b = c * step, min(n, (c + 1) * step)
        partial[c] = _assign_block(X[a:b], CT, csq, labels[a:b], sums[c], counts[c])


def _kernel_centers(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the kernels take: the centres transposed (n_features, k), contiguous, and their squared norms."""
    return np.ascontiguousarray(centers.T), np.einsum("ij,ij->i", centers, centers).astype(
        centers.dtype
    )


def lloyd_pass(
    X: np.ndarray, centers: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """One assignment pass of Lloyd's algorithm.

    Parameters
    ----------
    X : C-contiguous array of shape (n_samples, n_features), float32 or float64
    centers : array of shape (k, n_features), same dtype
    labels : int32 array of shape (n_samples,); set in place to each row's nearest centre

    Returns
    -------
    sums : array of shape (k, n_features), float64 — each centre's sum of its rows
    counts : array of shape (k,), float64 — each centre's number of rows
    partial : float — sum over rows of ``min_j (||c_j||² - 2 x·c_j)``; add ``sum ||x||²`` for the inertia

    The work is one compiled kernel per chunk of rows (GEMM of a cache-sized block,
    then argmin and the centre sums in the same sweep: the data is read once per
    pass). Each chunk keeps its own float64 sums, added in chunk order, so the result
    does not depend on the number of threads.
    """
    k, d = centers.shape
    CT, csq = _kernel_centers(centers)
    step = chunk_size(len(X), k)
    n_chunks = -(-len(X) // step)
    sums, counts, partial = np.zeros((n_chunks, k, d)), np.zeros((n_chunks, k)), np.zeros(n_chunks)
    # one compiled call per worker thread for its whole run of chunks: with a Python call per chunk the threads queued for the GIL
    map_chunk_runs(
        lambda first, last: _assign_chunks(
            X, CT, csq, labels, step, first, last, sums, counts, partial
        ),
        n_chunks,
    )
    return sums.sum(axis=0), counts.sum(axis=0), math.fsum(partial)


def nearest(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's nearest centre and the exact squared distance to it.

    Returns
    -------
    labels : array of shape (n_samples,), int64
    sq_dist : array of shape (n_samples,), float64, computed as ``||x - c||²`` (no cancellation)
    """
    CT, csq = _kernel_centers(centers)
    labels = np.empty(len(X), dtype=np.int32)
    sq = np.empty(len(X))
    step = chunk_size(len(X), len(centers))
    C = np.ascontiguousarray(centers)
    map_chunk_runs(
        lambda first, last: _nearest_block(
            X[first * step : last * step],
            C,
            CT,
            csq,
            labels[first * step : last * step],
            sq[first * step : last * step],
        ),
        -(-len(X) // step),
    )
    return labels.astype(np.int64), sq


def sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared distances of shape (n_samples, k), by ``||x||² - 2x·c + ||c||²`` clipped at 0."""
    xsq = np.einsum("ij,ij->i", X, X)[:, None]
    with _one_blas_thread():
        XC = X @ centers.T
    D = xsq - 2.0 * XC + np.einsum("ij,ij->i", centers, centers)[None, :]
    return np.maximum(D, 0.0, out=D)


def kmeans_plusplus(
    X: np.ndarray, k: int, rng: np.random.Generator, n_trials: int | None = None
) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii 2007, the variant scikit-learn uses).

    Each new centre is the best of ``n_trials`` (default ``2 + ln k``) candidates drawn with
    probability proportional to the squared distance to the nearest centre so far.

    Returns
    -------
    centers : array of shape (k, n_features), rows of X

    Raises
    ------
    ValueError : when X has fewer than ``k`` distinct rows
    """
    n = len(X)
    trials = n_trials or 2 + int(math.log(k))
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    centers[0] = X[rng.integers(n)]
    closest = sq_distances(X, centers[:1])[:, 0].astype(np.float64)
    for c in range(1, k):
        potential = closest.sum()
        if potential <= 0.0:
            raise ValueError(_too_few_distinct(c, k))
        cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * potential)
        cand = np.minimum(cand, n - 1)
        d = np.minimum(closest[:, None], sq_distances(X, X[cand]))  # (n, trials)
        best = int(np.argmin(d.sum(axis=0)))
        centers[c] = X[cand[best]]
        closest = d[:, best].copy()
    return centers


def _too_few_distinct(found: int | None, k: int) -> str:
    if found is None:
        return f"X has fewer distinct rows than k={k}; k-means needs at least k distinct points. Use a smaller k."
    return f"X has only {found} distinct rows but k={k}; k-means needs at least k distinct points. Use k <= {found}."


def random_init(X: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct rows of X drawn uniformly; raises if X has fewer than ``k`` distinct rows."""
    centers = X[rng.choice(len(X), size=k, replace=False)]
    if len(np.unique(centers, axis=0)) == k:
        return centers.copy()
    distinct = np.unique(X, axis=0)  # rare path: duplicates were drawn
    if len(distinct) < k:
        raise ValueError(_too_few_distinct(len(distinct), k))
    return distinct[rng.choice(len(distinct), size=k, replace=False)].astype(X.dtype)


# ---------------------------------------------------------------------------- Lloyd's iterations


def mean_variance(X: np.ndarray, xsq: float) -> float:
    """Mean over features of the variance, from ``xsq = sum ||x||²`` and one pass for the column means.

    (``np.var(X, axis=0, dtype=float64)`` makes a float64 copy of X: half a second on a million rows.)
    """
    mean = X.sum(axis=0, dtype=np.float64) / len(X)
    return max(0.0, (xsq / len(X) - float(mean @ mean)) / X.shape[1])


def lloyd(
    X: np.ndarray,
    centers: np.ndarray,
    max_iter: int,
    tol: float,
    xsq: float,
    on_iteration: Callable[[float], bool] | None = None,
) -> dict[str, Any]:
    """Lloyd iterations from ``centers`` until the centres move at most ``tol`` (summed squares).

    ``xsq`` is ``sum ||x||²`` over X. ``on_iteration(inertia)`` is called after each
    iteration with the inertia before it; returning True stops there. Returns the final centres, the labels and exact
    inertia for them, the iterations run and the inertia before each iteration.
    """
    k = len(centers)
    labels = np.empty(len(X), dtype=np.int32)
    history = []
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is read after the loop
        sums, counts, partial = lloyd_pass(X, centers, labels)
        history.append(xsq + partial)
        if np.any(counts == 0):
            _reseed_empty(X, centers, sums, counts, labels)
        new = (sums / np.maximum(counts, 1)[:, None]).astype(centers.dtype)
        new[counts == 0] = centers[counts == 0]
        shift = float(np.sum((new.astype(np.float64) - centers) ** 2))
        centers = new
        stop = on_iteration is not None and on_iteration(history[-1])
        if shift <= tol or stop:
            break
    if len(np.unique(centers, axis=0)) < k:  # only degenerate data lets two centres coincide
        raise ValueError(_too_few_distinct(None, k))
    final, sq = nearest(X, centers)
    return {
        "centers": centers,
        "labels": final,
        "inertia": float(sq.sum()),
        "n_iter": n_iter,
        "history": history,
    }


def _reseed_empty(
    X: np.ndarray, centers: np.ndarray, sums: np.ndarray, counts: np.ndarray, labels: np.ndarray
) -> None:
    """Move each empty cluster onto one of the rows farthest from their centres (all in place).

    A row is only taken from a cluster that keeps at least one other row.
    """
    empty = list(np.flatnonzero(counts == 0))
    sq = nearest(X, centers)[1]
    for row in np.argsort(-sq, kind="stable")[: len(empty) + len(centers)]:
        if not empty:
            return
        if sq[row] <= 0.0:
            break
        old = labels[row]
        if counts[old] <= 1:
            continue
        j = empty.pop(0)
        sums[old] -= X[row]
        counts[old] -= 1
        sums[j] = X[row]
        counts[j] = 1
        labels[row] = j
    if empty:
        raise ValueError(_too_few_distinct(None, len(centers)))
