import numpy as np
import pytest

from agents.mlp import MLPClassifier, MLPRegressor
from sandbox.data import load_real, playground, split
from sandbox.errors import DivergenceError, NotFittedError


@pytest.fixture(scope="module")
def xor():
    X, y = playground("xor", 300, noise=0.0, seed=0)
    return split(X / 5, y, test=0.3, seed=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_real("iris")
    X = (X - X.mean(0)) / X.std(0)
    return split(X, y, test=0.3, seed=0)


def small(**kw):
    base = dict(
        hidden=(16,), epochs=30, batch_size=16, learning_rate=0.02, early_stopping=False, seed=0
    )
    return base | kw


# ------------------------------------------------------------------ learning


def test_classifier_learns_xor_beyond_a_linear_model(xor):
    X_tr, X_te, y_tr, y_te = xor
    net = MLPClassifier(**small(hidden=(16, 16))).fit(X_tr, y_tr)
    linear = MLPClassifier(**small(hidden=())).fit(X_tr, y_tr)
    assert net.evaluate(X_te, y_te)["accuracy"] >= 0.9
    assert linear.evaluate(X_te, y_te)["accuracy"] <= 0.75  # xor is not linearly separable


def test_softmax_regression_on_iris_and_probabilities(iris):
    X_tr, X_te, y_tr, y_te = iris
    model = MLPClassifier(**small(hidden=(), epochs=60)).fit(X_tr, y_tr)
    proba = model.predict_proba(X_te)
    assert proba.shape == (len(X_te), 3)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    assert set(model.evaluate(X_te, y_te)) == {"accuracy", "log_loss"}
    assert model.evaluate(X_te, y_te)["accuracy"] >= 0.85
    assert np.array_equal(model.act(X_te), model.classes_[proba.argmax(1)])


def test_arbitrary_integer_labels_come_back_as_given(xor):
    X_tr, X_te, y_tr, _ = xor
    model = MLPClassifier(**small(epochs=3)).fit(X_tr, np.where(y_tr == 1, 7, -3))
    assert model.classes_.tolist() == [-3, 7]
    assert set(model.act(X_te)) <= {-3, 7}


def test_regressor_fits_a_curve_and_reports_history():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (300, 1))
    y = np.sin(2 * X[:, 0])
    model = MLPRegressor(
        hidden=(32, 32),
        epochs=60,
        learning_rate=0.01,
        validation_fraction=0.2,
        early_stopping=False,
        seed=0,
    ).fit(X, y)
    assert model.evaluate(X, y)["r2"] > 0.95
    assert model.act(X[:4]).shape == (4,)
    assert set(model.history_) == {"loss", "mae", "val_loss", "val_mae"}
    assert len(model.history_["loss"]) == model.n_epochs_ == 60
    assert model.history_["loss"][-1] < model.history_["loss"][0]


def test_regressor_multi_output_shape():
    X = np.random.default_rng(0).normal(size=(50, 3))
    model = MLPRegressor(hidden=(8,), epochs=2, seed=0).fit(X, np.column_stack([X[:, 0], X[:, 1]]))
    assert model.act(X).shape == (50, 2)


def test_same_seed_same_numbers_and_engines_agree(xor):
    X_tr, _, y_tr, _ = xor
    kw = small(epochs=5, hidden=(8,), validation_fraction=0.2)
    a = MLPClassifier(**kw).fit(X_tr, y_tr).history_
    b = MLPClassifier(**kw).fit(X_tr, y_tr).history_
    assert a == b
    other = MLPClassifier(**(kw | {"seed": 1})).fit(X_tr, y_tr).history_
    assert other["loss"] != a["loss"]
    scratch = MLPClassifier(**(kw | {"backend": "numpy"})).fit(X_tr, y_tr).history_
    np.testing.assert_allclose(
        scratch["loss"], a["loss"], rtol=1e-4
    )  # float64 NumPy vs float32 torch, same path


def test_conv_front_end_on_images():
    X, y = load_real("digits")
    images = X[:300].reshape(-1, 8, 8) / 16
    model = MLPClassifier(
        hidden=(), conv_channels=(4,), epochs=3, batch_size=32, learning_rate=0.01, seed=0
    )
    model.fit(images, y[:300])
    assert model.spec_.conv is not None and model.spec_.conv.image_shape == (8, 8)
    assert model.evaluate(images, y[:300])["accuracy"] > 0.5
    with pytest.raises(ValueError, match=r"shape \(8, 8\)"):
        model.act(X[:5])  # flat rows where images were fitted


def test_early_stopping_stops_and_restores_the_best_weights(iris):
    X_tr, X_te, y_tr, y_te = iris
    model = MLPClassifier(
        hidden=(64,), epochs=300, learning_rate=0.05, early_stopping=True, patience=3, seed=0
    )
    model.fit(X_tr, y_tr, validation_data=(X_te, y_te))
    assert model.stopped_epoch_ is not None and model.n_epochs_ < 300
    assert (
        model.stopped_epoch_ - model.best_epoch_ == 4
    )  # patience 3: the 4th epoch without improvement stops
    best = model.history_["val_loss"][model.best_epoch_ - 1]
    assert model.evaluate(X_te, y_te)["log_loss"] == pytest.approx(best, rel=1e-4)


def test_callback_sees_each_epoch_and_a_usable_model_and_can_stop(xor):
    X_tr, X_te, y_tr, _ = xor
    seen = []
    model = MLPClassifier(**small())

    def callback(info):
        seen.append((info, model.predict_proba(X_te[:2]).shape))
        return info["done"] < 3

    model.fit(X_tr, y_tr, callback=callback)
    assert [info["done"] for info, _ in seen] == [1, 2, 3] and model.n_epochs_ == 3
    first, shape = seen[0]
    assert shape == (2, 2) and set(first) == {"unit", "done", "total", "loss", "accuracy"}
    assert (
        first["unit"] == "epochs"
        and first["total"] == 30
        and first["loss"] == model.history_["loss"][0]
    )


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_save_load_round_trip(tmp_path, xor, backend):
    X_tr, X_te, y_tr, _ = xor
    model = MLPClassifier(**small(epochs=3, backend=backend, dropout=0.2)).fit(X_tr, y_tr)
    path = model.save(tmp_path / "m.npz")
    back = MLPClassifier.load(path)
    np.testing.assert_allclose(back.predict_proba(X_te), model.predict_proba(X_te), rtol=1e-6)
    assert back.history_ == model.history_ and back.classes_.tolist() == model.classes_.tolist()


def test_regressor_round_trip_with_images(tmp_path):
    X = np.random.default_rng(0).normal(size=(40, 6, 6))
    model = MLPRegressor(hidden=(4,), conv_channels=(2,), epochs=2, seed=0).fit(
        X, X.mean(axis=(1, 2))
    )
    back = MLPRegressor.load(model.save(tmp_path / "r.npz"))
    np.testing.assert_allclose(back.act(X), model.act(X), rtol=1e-6)


# ----------------------------------------------------------------- divergence


def test_divergence_names_the_epoch_and_keeps_finite_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)) * 100
    y = X @ np.array([3.0, -2.0, 1.0]) * 100
    model = MLPRegressor(hidden=(16,), optimizer="sgd", learning_rate=1.0, epochs=20, seed=0)
    with pytest.raises(
        DivergenceError, match=r"diverged in epoch \d+.*smaller learning_rate"
    ) as info:
        model.fit(X, y)
    assert info.value.epoch >= 1
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.net_.parameters())
    assert model.act(X[:3]).shape == (3,)  # still usable
    assert len(model.history_["loss"]) == info.value.epoch - 1


def test_divergence_in_the_numpy_engine_too():
    X = np.linspace(-50, 50, 100)[:, None]
    model = MLPRegressor(
        hidden=(8,), optimizer="sgd", learning_rate=10.0, epochs=5, backend="numpy", seed=0
    )
    with pytest.raises(DivergenceError, match=r"diverged in epoch \d"):
        model.fit(X, X[:, 0] ** 3)
    assert all(np.isfinite(p).all() for p in model.net_.params)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "y, message",
    [
        (np.full(10, 0.5), "Unknown label type: continuous"),
        (np.zeros(10, int), "one class"),
        (np.zeros((10, 2), int), "y should be a 1d array"),
        (np.arange(9) % 2, "same length"),
        (None, "requires y to be passed"),
    ],
)
def test_classifier_rejects_bad_labels(y, message):
    with pytest.raises(ValueError, match=message):
        MLPClassifier(epochs=1).fit(np.zeros((10, 2)), y)


def test_nan_in_X_and_feature_mismatch_at_act(xor):
    X_tr, _, y_tr, _ = xor
    bad = X_tr.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier(epochs=1).fit(bad, y_tr)
    model = MLPClassifier(epochs=1).fit(X_tr, y_tr)
    with pytest.raises(
        ValueError, match="X has 3 features, but MLPClassifier is expecting 2 features"
    ):
        model.act(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"dropout": 1.0}, r"dropout=1.0 is out of range.*\[0.0, 1.0\)"),
        ({"dropout": -0.1}, "dropout=-0.1 is out of range"),
        ({"patience": -1}, "patience=-1 is out of range"),
        ({"hidden": (0,)}, "hidden"),
        ({"optimizer": "adamw"}, "Did you mean 'adam'"),
        ({"learning_rate": 0}, "learning_rate=0 is out of range"),
        ({"batch_size": 0}, "batch_size=0"),
        (
            {"early_stopping": True, "validation_fraction": 0.0},
            "early_stopping=True needs validation data",
        ),
    ],
)
def test_bad_hyperparameters_are_refused_in_fit(params, message):
    model = MLPClassifier(epochs=1, **params)  # the constructor only stores
    with pytest.raises(ValueError, match=message):
        model.fit(np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)


def test_numpy_backend_refuses_images_and_act_before_fit():
    with pytest.raises(ValueError, match="backend='numpy'"):
        MLPClassifier(backend="numpy", epochs=1).fit(np.zeros((10, 4, 4)), np.arange(10) % 2)
    with pytest.raises(NotFittedError, match="call fit"):
        MLPRegressor().act(np.zeros((2, 2)))


def test_regressor_rejects_wrong_target_shape():
    with pytest.raises(ValueError, match="Found array with dim 3"):
        MLPRegressor(epochs=1).fit(np.zeros((10, 2)), np.zeros((10, 1, 1)))


def test_a_validation_split_too_small_for_every_class_says_so():
    X, y = np.zeros((20, 2)), np.array([0] * 19 + [1])
    with pytest.raises(
        ValueError, match=r"validation_fraction=0.1: cannot stratify.*validation_data"
    ):
        MLPClassifier(epochs=1, validation_fraction=0.1).fit(X, y)
    with pytest.warns(
        UserWarning, match="early stopping is off for this fit: it trains all 3 epochs"
    ):
        model = MLPClassifier(epochs=3).fit(
            X, y
        )  # the default split: warned, then trained without it
    assert model.n_epochs_ == 3 and "val_loss" not in model.history_


def test_a_refused_refit_leaves_the_earlier_fit_intact(xor):
    X_tr, X_te, y_tr, _ = xor
    model = MLPClassifier(**small(epochs=2)).fit(X_tr, y_tr)
    before = model.predict_proba(X_te)
    with pytest.raises(ValueError, match="one class"):
        model.fit(np.zeros((10, 5)), np.zeros(10, int))
    np.testing.assert_array_equal(model.predict_proba(X_te), before)
    assert model.n_features_in_ == 2


def test_channel_first_images_use_their_channels():
    X = np.random.default_rng(0).normal(size=(30, 2, 5, 5))
    model = MLPClassifier(hidden=(), conv_channels=(3,), epochs=1, seed=0).fit(X, np.arange(30) % 3)
    assert model.spec_.conv.in_channels == 2 and model.predict_proba(X).shape == (30, 3)


# ------------------------------------------------------- labels and targets as scikit-learn takes them


def test_string_labels_come_back_as_given_and_a_column_y_is_warned_then_used(xor):
    from sklearn.exceptions import DataConversionWarning

    X_tr, X_te, y_tr, _ = xor
    names = np.where(y_tr == 1, "cat", "dog")
    model = MLPClassifier(**small(epochs=3)).fit(X_tr, names)
    assert model.classes_.tolist() == ["cat", "dog"] and set(model.predict(X_te)) <= {"cat", "dog"}
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = MLPClassifier(**small(epochs=3)).fit(X_tr, names[:, None])
    np.testing.assert_array_equal(column.predict(X_te), model.predict(X_te))
    back_acc = model.evaluate(X_tr, names)["accuracy"]
    assert 0.0 <= back_acc <= 1.0


def test_classifier_act_before_fit_is_not_fitted_and_sklearn_knows_it():
    import sklearn.exceptions

    with pytest.raises(sklearn.exceptions.NotFittedError, match="call fit"):
        MLPClassifier().act(np.zeros((2, 2)))


def test_regressor_learns_a_large_target_through_its_standardisation():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 5_000.0 + 2_000.0 * X[:, 0] - 1_000.0 * X[:, 1]  # raw units far from 1
    model = MLPRegressor(hidden=(), epochs=100, early_stopping=False, seed=0).fit(X, y)
    assert model.evaluate(X, y)["r2"] > 0.99
    assert (
        abs(model.predict(X).mean() - y.mean()) < 0.01 * y.std()
    )  # the standardisation is undone in predict


def test_sparse_and_object_inputs():
    from scipy.sparse import csr_matrix

    X, y = np.random.default_rng(0).normal(size=(40, 2)), np.arange(40) % 2
    with pytest.raises(ValueError, match="sparse"):
        MLPClassifier(epochs=1).fit(csr_matrix(X), y)
    a = MLPClassifier(**small(epochs=2)).fit(X.astype(object), y)
    b = MLPClassifier(**small(epochs=2)).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
