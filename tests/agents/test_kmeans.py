"""KMeans and MiniBatchKMeans: bad input, recovered blobs, monotone inertia, determinism, agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans as SKKMeans
from sklearn.datasets import make_blobs

from agents import _kmeans_kernels as kmeans_module
from agents._kmeans_kernels import chunk_rows, chunk_size
from agents.kmeans import KMeans, MiniBatchKMeans, iter_batches
from sandbox.errors import NotFittedError

TRUE_CENTERS = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return make_blobs(2000, centers=TRUE_CENTERS, cluster_std=1.0, random_state=0)


def _match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """For each true centre, the distance to the nearest found centre."""
    return np.min(np.linalg.norm(truth[:, None] - found[None], axis=2), axis=1)


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "k, match", [(0, r"k=0 is out of range"), (-3, r"k=-3"), (2.5, r"k=2.5 must be an integer")]
)
def test_k_below_one_or_not_integer_is_refused(blobs, k, match):
    with pytest.raises(ValueError, match=match):
        KMeans(k=k).fit(blobs[0])


def test_k_above_n_samples_is_refused():
    with pytest.raises(
        ValueError, match=r"k=6 is larger than the number of samples in X \(n_samples=5\)"
    ):
        KMeans(k=6).fit(np.random.default_rng(0).normal(size=(5, 2)))


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_values_are_refused(blobs, bad, word):
    X = blobs[0].copy()
    X[7, 1] = bad
    with pytest.raises(ValueError, match=rf"Input X contains {word}"):
        KMeans(k=3).fit(X)


def test_one_dimensional_X_gets_a_reshape_hint():
    with pytest.raises(ValueError, match=r"got 1D array instead(.|\n)*reshape\(-1, 1\)"):
        KMeans(k=2).fit(np.arange(10.0))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_fewer_distinct_points_than_k_is_refused(init):
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 20, axis=0)
    with pytest.raises(ValueError, match=r"only 3 distinct rows but k=4"):
        KMeans(k=4, init=init).fit(X)


def test_fewer_distinct_points_than_k_with_an_init_array_is_refused():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    with pytest.raises(ValueError, match=r"fewer distinct rows than k=3"):
        KMeans(k=3, init=np.array([[0.0, 0.0], [0.1, 0.0], [0.2, 0.0]])).fit(X)


@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (4,)])
def test_init_array_of_the_wrong_shape_is_refused(blobs, shape):
    with pytest.raises(
        ValueError, match=r"init has shape .*\(k, n_features\) = \(4, 3\)|init has shape \(4,\)"
    ):
        KMeans(k=4, init=np.zeros(shape)).fit(blobs[0])


def test_unknown_init_name_suggests_the_right_one(blobs):
    with pytest.raises(
        ValueError, match=r"init='kmeans\+\+' is not allowed.*Did you mean 'k-means\+\+'"
    ):
        KMeans(k=4, init="kmeans++").fit(blobs[0])


def test_init_array_with_n_init_warns_and_runs_once(blobs):
    with pytest.warns(UserWarning, match="n_init is ignored"):
        KMeans(k=4, init=TRUE_CENTERS, n_init=3).fit(blobs[0])


def test_act_before_fit_and_wrong_width_are_refused(blobs):
    with pytest.raises(NotFittedError):
        KMeans(k=2).act(blobs[0])
    model = KMeans(k=2).fit(blobs[0])
    with pytest.raises(ValueError, match=r"X has 2 features, but KMeans is expecting 3 features"):
        model.act(blobs[0][:, :2])


# ------------------------------------------------------------------- behaviour


def test_well_separated_blobs_are_recovered(blobs):
    X, y = blobs
    model = KMeans(k=4, seed=0).fit(X)
    assert _match(model.centers_, TRUE_CENTERS).max() < 0.15
    # every true blob is exactly one cluster
    for j in range(4):
        assert len(np.unique(model.labels_[y == j])) == 1
    assert np.array_equal(model.act(X), model.labels_)
    assert model.transform(X).shape == (len(X), 4)
    assert np.array_equal(np.argmin(model.transform(X), axis=1), model.labels_)


def test_inertia_never_rises_over_lloyd_iterations():
    X, _ = make_blobs(3000, n_features=5, centers=12, cluster_std=3.0, random_state=3)
    model = KMeans(k=12, init="random", max_iter=200, tol=0.0, seed=1).fit(X)
    h = np.asarray(model.history_["inertia"])
    assert len(h) > 5  # it really iterated
    assert np.all(np.diff(h) <= 1e-9 * h[0])
    assert model.inertia_ <= h[-1] * (1 + 1e-9)


def test_same_seed_same_labels_and_thread_count_does_not_matter(monkeypatch):
    monkeypatch.setattr(
        kmeans_module, "_BLOCK_ELEMENTS", 8 * 1000
    )  # small chunks, so both threads get work
    X, _ = make_blobs(20_000, n_features=4, centers=8, cluster_std=2.5, random_state=1)
    assert len(X) >= 20 * chunk_rows(8)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = KMeans(k=8, n_init=2, seed=5).fit(X)
        torch.set_num_threads(1)
        b = KMeans(k=8, n_init=2, seed=5).fit(X)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(a.labels_, b.labels_)
    assert np.array_equal(a.centers_, b.centers_)
    assert a.inertia_ == b.inertia_


def test_matches_scikit_learn_from_the_same_start(monkeypatch):
    monkeypatch.setattr(kmeans_module, "_BLOCK_ELEMENTS", 10 * 3000)  # several chunks
    X, _ = make_blobs(20_000, n_features=6, centers=10, cluster_std=3.0, random_state=2)
    X = X.astype(np.float32)
    C0 = X[np.random.default_rng(0).choice(len(X), 10, replace=False)]
    ours = KMeans(k=10, init=C0, max_iter=50, tol=0.0).fit(X)
    ref = SKKMeans(10, init=C0, n_init=1, max_iter=50, tol=0.0, algorithm="lloyd").fit(X)
    assert ours.centers_.dtype == np.float32
    assert ours.inertia_ / ref.inertia_ < 1 + 1e-4
    assert np.mean(ours.labels_ == ref.labels_) > 0.999


def test_empty_cluster_is_reseeded_not_nan(blobs):
    X = blobs[0]
    init = np.vstack([TRUE_CENTERS[:3], [[1e4, 1e4, 1e4]]])  # the last centre wins no row
    model = KMeans(k=4, init=init, max_iter=50).fit(X)
    assert np.all(np.isfinite(model.centers_))
    assert np.bincount(model.labels_, minlength=4).min() > 0
    assert _match(model.centers_, TRUE_CENTERS).max() < 0.15


def test_duplicate_starting_centres_are_split(blobs):
    init = np.vstack(
        [TRUE_CENTERS[:3], TRUE_CENTERS[:1]]
    )  # two identical centres tie for every row
    model = KMeans(k=4, init=init, max_iter=50).fit(blobs[0])
    assert np.all(np.isfinite(model.centers_))
    assert np.bincount(model.labels_, minlength=4).min() > 0


def test_n_init_keeps_the_best_start():
    X, _ = make_blobs(1500, n_features=2, centers=9, cluster_std=1.5, random_state=4)
    one = KMeans(k=9, init="random", n_init=1, seed=0).fit(X)
    many = KMeans(k=9, init="random", n_init=6, seed=0).fit(X)
    # the first of the six starts is the single run's start, so keeping the best can only help
    assert many.inertia_ <= one.inertia_
    assert many.inertia_ < one.inertia_ or np.allclose(many.centers_, one.centers_)


def test_save_and_load_round_trip(tmp_path, blobs):
    model = KMeans(k=4, seed=0).fit(blobs[0])
    path = model.save(tmp_path / "km.npz")
    back = KMeans.load(path)
    assert np.array_equal(back.centers_, model.centers_)
    assert np.array_equal(back.act(blobs[0]), model.labels_)
    assert back.inertia_ == model.inertia_


# ------------------------------------------------------------------ mini-batch


def test_minibatch_inertia_is_close_to_full_kmeans():
    X, _ = make_blobs(6000, n_features=4, centers=6, cluster_std=1.5, random_state=7)
    full = KMeans(k=6, n_init=3, seed=0).fit(X)
    mini = MiniBatchKMeans(k=6, batch_size=256, epochs=5, seed=0).fit(X)
    assert mini.inertia_ <= 1.02 * full.inertia_
    assert mini.n_steps_ == 5 * int(np.ceil(6000 / 256))
    assert np.all(np.isfinite(mini.centers_))


def test_minibatch_sgd_step_is_the_running_mean_update():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]], dtype=np.float32)
    init = np.array([[1.0, 1.0], [11.0, 11.0]], dtype=np.float32)
    model = MiniBatchKMeans(k=2, init=init).partial_fit(
        X
    )  # first step: N_j = n_j, so c = batch mean
    assert np.allclose(model.centers_, [[1.0, 0.0], [11.0, 10.0]])
    model.partial_fit(np.array([[4.0, 0.0]], dtype=np.float32))  # N_0 = 3: c += (x - c) / 3
    assert np.allclose(model.centers_[0], [1.0 + (4.0 - 1.0) / 3, 0.0])
    assert model.counts_.tolist() == [3.0, 2.0]


def test_partial_fit_and_fit_from_an_iterator_of_batches():
    X, _ = make_blobs(4000, n_features=3, centers=TRUE_CENTERS, cluster_std=1.0, random_state=8)
    X = X.astype(np.float32)
    streamed = MiniBatchKMeans(k=4, batch_size=200, seed=0).fit(iter_batches(X, 500))
    assert streamed.labels_ is None and streamed.inertia_ is None
    assert _match(streamed.centers_, TRUE_CENTERS).max() < 0.3
    stepped = MiniBatchKMeans(k=4, seed=0)
    for batch in iter_batches(X, 400):
        stepped.partial_fit(batch)
    assert stepped.n_steps_ == 10
    full = KMeans(k=4, seed=0).fit(X)
    for model in (streamed, stepped):
        assert model.evaluate(X)["inertia"] <= 1.02 * full.inertia_


def test_minibatch_bad_input():
    with pytest.raises(
        ValueError, match=r"k=5 is larger than the number of samples in X \(n_samples=3\)"
    ):
        MiniBatchKMeans(k=5).partial_fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"batch_size=0 is out of range"):
        MiniBatchKMeans(k=2, batch_size=0).fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError, match=r"optimizer='adma'.*Did you mean 'adam'"):
        MiniBatchKMeans(k=2, optimizer="adma").fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError, match=r"iterator of batches was empty"):
        MiniBatchKMeans(k=2).fit(iter([]))
    model = MiniBatchKMeans(k=2).partial_fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(ValueError, match=r"is expecting 2 features"):
        model.partial_fit(np.zeros((5, 3)))


def test_minibatch_save_load_then_continue(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 2)).astype(np.float32)
    a = MiniBatchKMeans(k=3, batch_size=100, epochs=2, seed=0).fit(X)
    b = MiniBatchKMeans.load(a.save(tmp_path / "mb.npz"))
    assert np.array_equal(a.centers_, b.centers_) and np.array_equal(a.counts_, b.counts_)
    a.partial_fit(X[:100])
    b.partial_fit(X[:100])
    assert np.allclose(a.centers_, b.centers_)


def test_a_failed_fit_leaves_the_model_unfitted():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 10, axis=0)
    model = KMeans(k=3)
    with pytest.raises(ValueError, match="distinct"):
        model.fit(X)
    with pytest.raises(NotFittedError):
        model.act(X)


@pytest.mark.parametrize(
    "n, k", [(200_000, 32), (1_000_000, 16), (20_000, 8), (123_457, 3), (1, 1)]
)
def test_chunks_cover_every_row_and_share_evenly(n, k):
    step = chunk_size(n, k)
    count = -(-n // step)
    assert 1 <= step <= chunk_rows(k)
    assert (count - 1) * step < n <= count * step  # every row in exactly one chunk, no empty chunk
    assert count <= 12 or count % 12 == 0  # many chunks: 1, 2, 3, 4 or 6 threads get equal shares


def test_callbacks_report_inertia_per_iteration_and_per_epoch(blobs):
    seen = []
    model = KMeans(k=3, tol=0.0).fit(blobs[0], callback=seen.append)
    assert [info["inertia"] for info in seen] == model.history_["inertia"]
    assert seen[0]["unit"] == "iterations" and seen[-1]["done"] == model.n_iter_
    epochs = []
    mini = MiniBatchKMeans(k=3, batch_size=100, epochs=4).fit(blobs[0], callback=epochs.append)
    assert [info["done"] for info in epochs] == [1, 2, 3, 4] and mini.n_iter_ == 4
    assert all(info["unit"] == "epochs" and info["inertia"] > 0 for info in epochs)
