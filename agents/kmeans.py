"""k-means clustering: Lloyd's algorithm (``KMeans``) and mini-batch k-means on the shared optimizer.

Both find ``k`` centres that minimise the *inertia*, the sum over rows of the
squared distance to the nearest centre.

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
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba
import numpy as np
import torch
from threadpoolctl import ThreadpoolController

from sandbox.checks import as_float_array, check_choice, check_number, check_seed
from sandbox.learner import Learner
from sandbox.optim import OPTIMIZERS, OptimConfig, Optimizer

INITS = ("k-means++", "random")
_BLOCK_ELEMENTS = 262144
_GEMM_ROWS = 1024  # rows per GEMM inside the compiled Lloyd kernel: a (1024, k) block stays in cache

# ---------------------------------------------------------------------------- kernels


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
def _assign_block(X, CT, csq, labels, sums, counts):  # pragma: no cover - compiled; covered through lloyd_pass
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
            l0, l1, l2, l3 = c0 - 2 * Dv[i, 0], c0 - 2 * Dv[i + 1, 0], c0 - 2 * Dv[i + 2, 0], c0 - 2 * Dv[i + 3, 0]
            for j in range(1, k):
                cj = csq[j]
                v0, v1, v2, v3 = cj - 2 * Dv[i, j], cj - 2 * Dv[i + 1, j], cj - 2 * Dv[i + 2, j], cj - 2 * Dv[i + 3, j]
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
def _nearest_block(X, C, CT, csq, labels, sq):  # pragma: no cover - compiled; covered through nearest
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
def _assign_chunks(X, CT, csq, labels, step, first, last, sums, counts, partial):  # pragma: no cover - compiled
    """:func:`_assign_block` on chunks ``first..last-1`` of ``step`` rows, each into its own row of sums/counts/partial."""
    n = X.shape[0]
    for c in range(first, last):
        a, b = c * step, min(n, (c + 1) * step)
        partial[c] = _assign_block(X[a:b], CT, csq, labels[a:b], sums[c], counts[c])


def _kernel_centers(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the kernels take: the centres transposed (n_features, k), contiguous, and their squared norms."""
    return np.ascontiguousarray(centers.T), np.einsum("ij,ij->i", centers, centers).astype(centers.dtype)


def lloyd_pass(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
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
    map_chunk_runs(lambda first, last: _assign_chunks(X, CT, csq, labels, step, first, last, sums, counts, partial), n_chunks)
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
    map_chunk_runs(lambda first, last: _nearest_block(X[first * step : last * step], C, CT, csq, labels[first * step : last * step],
                                                      sq[first * step : last * step]), -(-len(X) // step))
    return labels.astype(np.int64), sq


def sq_distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Squared distances of shape (n_samples, k), by ``||x||² - 2x·c + ||c||²`` clipped at 0."""
    xsq = np.einsum("ij,ij->i", X, X)[:, None]
    with _one_blas_thread():
        XC = X @ centers.T
    D = xsq - 2.0 * XC + np.einsum("ij,ij->i", centers, centers)[None, :]
    return np.maximum(D, 0.0, out=D)


def kmeans_plusplus(X: np.ndarray, k: int, rng: np.random.Generator, n_trials: int | None = None) -> np.ndarray:
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


# ---------------------------------------------------------------------------- checks


def check_kmeans_X(X: Any, k: int, name: str = "X") -> np.ndarray:
    """A finite 2-D float32/float64 array with at least ``k`` rows, with clear errors."""
    arr = np.asarray(X) if not hasattr(X, "detach") else X
    if getattr(arr, "ndim", 2) == 1:
        raise ValueError(
            f"{name} has shape {tuple(arr.shape)} (1-D); k-means needs a 2-D array of shape (n_samples, n_features). "
            f"For a single feature pass {name}.reshape(-1, 1)."
        )
    X = as_float_array(name, X, ndim=2)
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64 if X.dtype.itemsize > 4 else np.float32)
    if k > len(X):
        raise ValueError(f"k={k} is larger than the number of samples in {name} ({len(X)}); use k <= {len(X)}.")
    return np.ascontiguousarray(X)


def check_init(init: Any, k: int, n_features: int, dtype: Any) -> str | np.ndarray:
    """``init`` must be "k-means++", "random" or a finite array of shape (k, n_features)."""
    if isinstance(init, str):
        return check_choice("init", init, INITS)
    arr = as_float_array("init", init, ndim=2)
    if arr.shape != (k, n_features):
        raise ValueError(
            f"init has shape {arr.shape}; an init array must have shape (k, n_features) = ({k}, {n_features})."
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def _seed_centers(X: np.ndarray, k: int, init: str | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if isinstance(init, np.ndarray):
        return init.copy()
    return kmeans_plusplus(X, k, rng) if init == "k-means++" else random_init(X, k, rng)


# ---------------------------------------------------------------------------- KMeans


class KMeans(Learner):
    """k-means clustering by Lloyd's algorithm, vectorised over chunks of rows.

    Parameters
    ----------
    k : number of clusters, 1 <= k <= n_samples
    init : "k-means++" (greedy k-means++), "random" (k distinct rows), or an array
        of shape (k, n_features) of starting centres
    n_init : restarts from different seeds, keeping the lowest inertia (an init array runs once)
    max_iter : Lloyd iterations per restart, >= 1
    tol : stop when the summed squared movement of the centres is at most
        ``tol * mean feature variance`` (scikit-learn's rule); 0 runs until nothing moves
    seed : the one source of randomness; the same seed gives the same labels

    Attributes
    ----------
    centers_ : array of shape (k, n_features)
    labels_ : array of shape (n_samples,), the nearest centre of each training row
    inertia_ : float, sum of squared distances of the training rows to their centres
    n_iter_ : Lloyd iterations of the kept restart
    history_ : {"inertia": [inertia before each iteration of the kept restart]}

    Notes
    -----
    A cluster that ends an iteration empty is re-seeded at the row farthest from
    its centre (as scikit-learn does), so no centre is ever NaN. X with fewer than
    ``k`` distinct rows is refused with a ValueError (found while seeding, or when
    two centres end up identical). The number of worker threads follows
    ``torch.set_num_threads``; the result does not depend on it.
    """

    paradigm = "unsupervised"

    def __init__(
        self,
        *,
        k: int = 8,
        init: str | np.ndarray = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        seed: int | None = 0,
    ):
        self.k = k
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.seed = seed

    def _validate(self) -> None:
        check_number("k", self.k, low=1, integer=True)
        check_number("n_init", self.n_init, low=1, integer=True)
        check_number("max_iter", self.max_iter, low=1, integer=True)
        check_number("tol", self.tol, low=0.0)
        check_seed(self.seed)

    def fit(self, X: Any) -> KMeans:
        """Cluster X of shape (n_samples, n_features); returns self."""
        self._validate()
        X = check_kmeans_X(X, self.k)
        init = check_init(self.init, self.k, X.shape[1], X.dtype)
        runs = self.n_init
        if isinstance(init, np.ndarray) and runs > 1:
            warnings.warn("KMeans: an init array gives one start; n_init is ignored.", UserWarning, stacklevel=2)
            runs = 1
        rng = np.random.default_rng(self.seed)
        xsq = float(np.einsum("ij,ij->", X, X, dtype=np.float64))
        tol = self.tol * _mean_variance(X, xsq) if self.tol > 0 else 0.0
        best = None
        for _ in range(runs):
            centers = _seed_centers(X, self.k, init, rng)
            result = lloyd(X, centers, self.max_iter, tol, xsq)
            if best is None or result["inertia"] < best["inertia"]:
                best = result
        self._check_X(X[:1], fitting=True)  # records the feature count, once fitting has succeeded
        self.centers_ = best["centers"]
        self.labels_ = best["labels"]
        self.inertia_ = best["inertia"]
        self.n_iter_ = best["n_iter"]
        self.history_ = {"inertia": best["history"]}
        return self

    # -------------------------------------------------------------- using it

    def _data(self, X: Any) -> np.ndarray:
        self._check_fitted("act")
        X = check_kmeans_X(X, 1)
        self._check_X(X[:1], fitting=False)
        return X.astype(self.centers_.dtype, copy=False)

    def act(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of each row: array of shape (n_samples,)."""
        X = self._data(X)
        return nearest(X, self.centers_)[0]

    predict = act

    def transform(self, X: Any) -> np.ndarray:
        """Euclidean distance of each row to each centre: array of shape (n_samples, k)."""
        X = self._data(X)
        return np.sqrt(sq_distances(X, self.centers_))

    def evaluate(self, X: Any) -> dict[str, float]:
        """{"inertia": sum of squared distances to the nearest centre, "mean_sq_distance": per row}."""
        X = self._data(X)
        d = nearest(X, self.centers_)[1]
        return {"inertia": float(d.sum()), "mean_sq_distance": float(d.mean())}

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"inertia": self.inertia_, "n_iter": self.n_iter_, "input_shape": list(self._input_shape)}
        arrays = {"centers": self.centers_, "labels": self.labels_, "history": np.asarray(self.history_["inertia"])}
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        if arrays["centers"].shape[1:] != self._input_shape:
            raise ValueError(f"centers has shape {arrays['centers'].shape}, expected (k, {self.n_features_in_})")
        self.centers_ = arrays["centers"]
        self.labels_ = arrays["labels"]
        self.inertia_ = float(state["inertia"])
        self.n_iter_ = int(state["n_iter"])
        self.history_ = {"inertia": arrays["history"].tolist()}


def _mean_variance(X: np.ndarray, xsq: float) -> float:
    """Mean over features of the variance, from ``xsq = sum ||x||²`` and one pass for the column means.

    (``np.var(X, axis=0, dtype=float64)`` makes a float64 copy of X: half a second on a million rows.)
    """
    mean = X.sum(axis=0, dtype=np.float64) / len(X)
    return max(0.0, (xsq / len(X) - float(mean @ mean)) / X.shape[1])


def lloyd(X: np.ndarray, centers: np.ndarray, max_iter: int, tol: float, xsq: float) -> dict[str, Any]:
    """Lloyd iterations from ``centers`` until the centres move at most ``tol`` (summed squares).

    ``xsq`` is ``sum ||x||²`` over X. Returns the final centres, the labels and exact
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
        if shift <= tol:
            break
    if len(np.unique(centers, axis=0)) < k:  # only degenerate data lets two centres coincide
        raise ValueError(_too_few_distinct(None, k))
    final, sq = nearest(X, centers)
    return {"centers": centers, "labels": final, "inertia": float(sq.sum()), "n_iter": n_iter, "history": history}


def _reseed_empty(X: np.ndarray, centers: np.ndarray, sums: np.ndarray, counts: np.ndarray, labels: np.ndarray) -> None:
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


# ---------------------------------------------------------------------------- mini-batch


class MiniBatchKMeans(Learner):
    """Mini-batch k-means (Sculley 2010) with the centres stepped by the shared optimizer.

    The centres are a torch parameter. For each batch, rows are assigned to their
    nearest centre and the loss ``sum_i ||x_i - c_a(i)||² / (2 N_a(i))`` is handed
    to :class:`sandbox.optim.Optimizer`, where ``N_j`` counts every row centre ``j``
    has won so far. That weight is a per-centre step size: with "sgd" and
    ``learning_rate=1`` a step moves each centre to
    ``c + (n_j / N_j)(mean_j - c)``, Sculley's running-mean update, and a centre
    settles as it gathers rows. Other optimizers of ``sandbox.optim`` may be chosen.

    Parameters
    ----------
    k : number of clusters, >= 1
    batch_size : rows per step, >= 1
    max_epochs : passes over an array given to ``fit``, >= 1
    init : "k-means++", "random", or an array of shape (k, n_features)
    init_size : rows used to seed the centres (default ``max(3 * batch_size, 3 * k)``)
    optimizer : one of ``sandbox.optim.OPTIMIZERS``; learning_rate : its step size, > 0
    tol : stop after an epoch whose summed squared centre movement is at most
        ``tol * mean feature variance``; 0 runs every epoch
    seed : initial centres and batch order

    Attributes
    ----------
    centers_ : array of shape (k, n_features), float32
    counts_ : array of shape (k,), rows won by each centre so far
    n_steps_ : optimizer steps taken
    history_ : {"batch_inertia": mean squared distance of each batch's rows before its step}
    labels_, inertia_ : after ``fit`` on an array, for that array; None after a stream of batches
    """

    paradigm = "unsupervised"

    def __init__(
        self,
        *,
        k: int = 8,
        batch_size: int = 1024,
        max_epochs: int = 10,
        init: str | np.ndarray = "k-means++",
        init_size: int | None = None,
        optimizer: str = "sgd",
        learning_rate: float = 1.0,
        tol: float = 0.0,
        seed: int | None = 0,
    ):
        self.k = k
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.init = init
        self.init_size = init_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.tol = tol
        self.seed = seed

    def _validate(self) -> None:
        check_number("k", self.k, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("max_epochs", self.max_epochs, low=1, integer=True)
        if self.init_size is not None:
            check_number("init_size", self.init_size, low=1, integer=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("tol", self.tol, low=0.0)
        check_seed(self.seed)

    # ------------------------------------------------------------- fitting

    def fit(self, X: Any) -> MiniBatchKMeans:
        """Fit on an array of shape (n_samples, n_features), or on an iterator of such batches.

        An array is visited ``max_epochs`` times in shuffled batches of ``batch_size``.
        An iterator (e.g. a generator reading a file in pieces) is consumed once, each
        of its batches cut into steps of at most ``batch_size`` rows; nothing but one
        batch is held in memory. Returns self.
        """
        self._validate()
        for attr in ("centers_", "counts_", "n_steps_", "history_", "labels_", "inertia_", "n_features_in_"):
            self.__dict__.pop(attr, None)
        if isinstance(X, Iterator):
            return self._fit_stream(X)
        X = check_kmeans_X(X, self.k)
        rng = np.random.default_rng(self.seed)
        self._start(X[rng.permutation(len(X))[: self._init_rows()]], rng)
        tol = self.tol * float(np.mean(np.var(X, axis=0, dtype=np.float64)))
        for _ in range(self.max_epochs):
            before = self.centers_.astype(np.float64)
            order = rng.permutation(len(X))
            for s in range(0, len(X), self.batch_size):
                self._step(X[order[s : s + self.batch_size]])
            if tol > 0 and float(np.sum((self.centers_ - before) ** 2)) <= tol:
                break
        labels, sq = nearest(X.astype(np.float32, copy=False), self.centers_)
        self.labels_, self.inertia_ = labels, float(sq.sum())
        return self

    def _init_rows(self) -> int:
        return self.init_size or max(3 * self.batch_size, 3 * self.k)

    def _fit_stream(self, batches: Iterator[Any]) -> MiniBatchKMeans:
        pending: list[np.ndarray] = []
        rng = np.random.default_rng(self.seed)
        for i, batch in enumerate(batches):
            B = check_kmeans_X(batch, 1, name=f"batch {i}")
            if not hasattr(self, "centers_"):
                pending.append(B)
                if sum(len(p) for p in pending) < max(self.k, self._init_rows()):
                    continue
                B = np.concatenate(pending)
                pending = []
                self._start(B, rng)
            for s in range(0, len(B), self.batch_size):
                self.partial_fit(B[s : s + self.batch_size])
        if pending:  # a short stream: seed from all of it
            B = check_kmeans_X(np.concatenate(pending), self.k, name="the batches together")
            self._start(B, rng)
            for s in range(0, len(B), self.batch_size):
                self.partial_fit(B[s : s + self.batch_size])
        if not hasattr(self, "centers_"):
            raise ValueError("the iterator of batches was empty; give it at least one batch of shape (n, n_features).")
        self.labels_, self.inertia_ = None, None
        return self

    def partial_fit(self, X: Any) -> MiniBatchKMeans:
        """One optimizer step on the batch X of shape (n_samples, n_features).

        The first call validates the settings and seeds the centres from this batch
        (so it needs at least ``k`` rows); later calls continue from there. Returns self.
        """
        if not hasattr(self, "centers_"):
            self._validate()
            X = check_kmeans_X(X, self.k)
            self._start(X, np.random.default_rng(self.seed))
        else:
            X = check_kmeans_X(X, 1)
            self._check_X(X[:1], fitting=False)
        self._step(X)
        return self

    def _start(self, X: np.ndarray, rng: np.random.Generator) -> None:
        """Seed the centres from X (rows of the data) and build the optimizer."""
        if len(X) < self.k:
            raise ValueError(f"k={self.k} needs at least {self.k} rows to seed the centres; got {len(X)}.")
        init = check_init(self.init, self.k, X.shape[1], np.float32)
        centers = _seed_centers(X.astype(np.float32, copy=False), self.k, init, rng)
        self._check_X(X[:1], fitting=True)
        self._param = torch.nn.Parameter(torch.from_numpy(np.array(centers, dtype=np.float32)))
        config = OptimConfig(name=self.optimizer, lr=self.learning_rate)
        self._opt = Optimizer([self._param], config)
        self.counts_ = np.zeros(self.k, dtype=np.float64)
        self.n_steps_ = 0
        self.history_ = {"batch_inertia": []}
        self._sync()

    def _step(self, X: np.ndarray) -> None:
        xb = np.ascontiguousarray(X, dtype=np.float32)
        labels = nearest(xb, self.centers_)[0]
        self.counts_ += np.bincount(labels, minlength=self.k)
        step_size = torch.from_numpy(1.0 / np.maximum(self.counts_, 1.0)).float()
        labels_t = torch.from_numpy(labels)
        with one_torch_thread():
            sq = ((torch.from_numpy(xb) - self._param[labels_t]) ** 2).sum(dim=1)
            self._opt.step(0.5 * (step_size[labels_t] * sq).sum())
        self.history_["batch_inertia"].append(float(sq.detach().mean()))
        self.n_steps_ += 1
        self._sync()

    def _sync(self) -> None:
        self.centers_ = self._param.detach().numpy().copy()

    # -------------------------------------------------------------- using it

    act = KMeans.act
    predict = KMeans.act
    transform = KMeans.transform
    evaluate = KMeans.evaluate
    _data = KMeans._data

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"n_steps": self.n_steps_, "inertia": self.inertia_, "input_shape": list(self._input_shape)}
        arrays = {"centers": self.centers_, "counts": self.counts_, "history": np.asarray(self.history_["batch_inertia"])}
        if self.labels_ is not None:
            arrays["labels"] = self.labels_
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._input_shape = tuple(int(s) for s in state["input_shape"])
        self.n_features_in_ = int(np.prod(self._input_shape))
        centers = np.asarray(arrays["centers"], dtype=np.float32)
        if centers.shape != (self.k, self.n_features_in_):
            raise ValueError(f"centers has shape {centers.shape}, expected ({self.k}, {self.n_features_in_})")
        # Rebuild the parameter and optimizer so partial_fit continues after load (sgd has no state).
        self._param = torch.nn.Parameter(torch.from_numpy(centers.copy()))
        self._opt = Optimizer([self._param], OptimConfig(name=self.optimizer, lr=self.learning_rate))
        self.counts_ = np.asarray(arrays["counts"], dtype=np.float64)
        self.n_steps_ = int(state["n_steps"])
        self.history_ = {"batch_inertia": arrays["history"].tolist()}
        self.labels_ = arrays.get("labels")
        self.inertia_ = None if state["inertia"] is None else float(state["inertia"])
        self._sync()


def iter_batches(X: np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Consecutive row slices of X (a stand-in for reading a large file piece by piece)."""
    for s in range(0, len(X), batch_size):
        yield X[s : s + batch_size]
