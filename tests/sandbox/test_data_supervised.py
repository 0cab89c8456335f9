import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.metrics import log_loss as sk_log_loss

from sandbox.data import (
    PLAYGROUND_SETS,
    Standardizer,
    house_prices,
    load_real,
    playground,
    shift_images,
    split,
)
from sandbox.metrics import classification_metrics, confusion_matrix


@pytest.mark.parametrize("name", PLAYGROUND_SETS)
def test_playground_sets_are_balanced_seeded_and_in_the_plane(name):
    X, y = playground(name, 200, noise=0.2, seed=3)
    assert X.shape == (200, 2) and y.shape == (200,) and set(y) == {0, 1}
    assert 0.3 < y.mean() < 0.7
    assert np.abs(X).max() < 8
    X2, y2 = playground(name, 200, noise=0.2, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_playground_labels_follow_their_rule_and_bad_input():
    X, y = playground("xor", 500, seed=0)
    assert np.array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(int))
    X, y = playground("circle", 500, seed=0)
    assert np.array_equal(y, (np.hypot(*X.T) < 2.5).astype(int))
    with pytest.raises(ValueError, match="Did you mean 'spiral'"):
        playground("spirals")
    with pytest.raises(ValueError, match="noise=2"):
        playground("xor", noise=2)


def test_house_prices_follow_the_documented_formula():
    X, y = house_prices(300, noise=0.0, seed=1)
    area, rooms, dist, age = X.T
    expect = (
        50 + area * (1 + 3 * np.exp(-dist / 8)) + 15 * rooms - 0.8 * age + 0.01 * (age - 30) ** 2
    )
    np.testing.assert_allclose(y, expect)
    assert house_prices(5000, noise=60.0, seed=2)[1].min() >= 20  # the floor
    assert rooms.min() >= 1 and rooms.max() <= 8 and (40 <= area).all() and (area <= 200).all()
    _, noisy = house_prices(300, noise=20.0, seed=1)
    assert 10 < np.std(noisy - expect) < 30


def test_split_is_stratified_seeded_and_matches_scikit_learn():
    from sklearn.model_selection import train_test_split

    X, y = load_real("digits")
    X_tr, X_te, y_tr, y_te = split(X, y, test=0.25, seed=0)
    ref = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    assert np.array_equal(X_te, ref[1]) and len(y_te) == 450
    parts = split(X, y, test=0.2, validation=0.2, seed=5)
    assert [len(p) for p in parts[3:]] == [1077, 360, 360]
    for part in parts[3:]:
        assert (
            np.abs(np.bincount(part, minlength=10) / len(part) - np.bincount(y) / len(y)).max()
            < 0.01
        )


def test_split_errors():
    X, y = np.zeros((10, 2)), np.array([0] * 9 + [1])
    with pytest.raises(ValueError, match="class 1 has 1"):
        split(X, y, test=0.3)
    with pytest.raises(ValueError, match="must leave some training data"):
        split(X, y, test=0.5, validation=0.5)
    with pytest.raises(ValueError, match="stratify=False"):
        split(X, np.linspace(0, 1, 10), test=0.3)


def test_standardizer_uses_the_training_part_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    s = Standardizer().fit(train)
    np.testing.assert_allclose(
        s.transform(np.array([[4.0, 5.0]])), [[3.0, 0.0]]
    )  # constant column -> 0, not NaN
    np.testing.assert_allclose(s.inverse_transform(s.transform(train)), train)
    with pytest.raises(ValueError, match="fitted on"):
        s.transform(np.zeros((1, 3)))


def test_shift_images_moves_each_copy_one_pixel():
    img = np.zeros((1, 4, 4))
    img[0, 1, 2] = 1.0
    out, labels = shift_images(img, np.array([7]))
    assert out.shape == (5, 4, 4) and labels.tolist() == [7] * 5
    assert [tuple(np.argwhere(o)[0]) for o in out] == [(1, 2), (2, 2), (0, 2), (1, 3), (1, 1)]
    edge = np.zeros((1, 3, 3))
    edge[0, 0, 0] = 1.0
    assert (
        shift_images(edge, np.array([0]))[0][2].sum() == 0
    )  # moved off the image, not wrapped round


def test_classification_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    proba = rng.dirichlet(np.ones(4), 200)
    pred = proba.argmax(1)
    m = classification_metrics(y, pred, proba=proba, n_classes=4)
    assert m["accuracy"] == pytest.approx(np.mean(y == pred))
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["log_loss"] == pytest.approx(sk_log_loss(y, proba))
    cm = confusion_matrix(y, pred, 4)
    assert cm.sum() == 200 and np.trace(cm) == np.sum(y == pred) and cm[y[0], pred[0]] >= 1
