"""Datasets and splits. Everything here is generated or ships inside a package: nothing downloads."""

from __future__ import annotations

import numpy as np

from sandbox.checks import check_choice, check_number, check_seed


def article_line(
    n: int = 100,
    *,
    seed: int = 0,
    noise: float = 0.1,
    random_state: np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The article's data: x ~ U(0, 1), y = 2x + 1 + noise * N(0, 1).

    Drawn exactly as the article does (``np.random.seed(seed)``, ``rand`` then
    ``randn``) but from a private ``RandomState``, so seed 0 reproduces the
    article's own numbers without touching NumPy's global state.

    Returns
    -------
    x : array of shape (n, 1)
    y : array of shape (n, 1)
    """
    check_number("n", n, low=1, integer=True)
    check_number("noise", noise, low=0.0)
    rs = random_state if random_state is not None else np.random.RandomState(check_seed(seed))
    x = rs.rand(n, 1)
    y = 2 * x + 1 + noise * rs.randn(n, 1)
    return x, y


# ------------------------------------------------------- TensorFlow Playground

PLAYGROUND_SETS = ("circle", "xor", "gauss", "spiral")


def playground(
    name: str, n: int = 400, *, noise: float = 0.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The four 2-D sets of TensorFlow Playground, drawn as its ``dataset.ts`` draws them.

    Points live in [-6, 6]²; label 1 is the Playground's orange class.

    - ``circle``: label 1 inside radius 2.5, label 0 on the ring from 3.5 to 5
    - ``xor``: uniform in [-5, 5]², kept 0.3 off the axes; label 1 where x*y > 0
    - ``gauss``: two Gaussian blobs at (2, 2) (label 1) and (-2, -2); noise widens them
    - ``spiral``: two interleaved spirals of 1.75 turns

    Parameters
    ----------
    n : number of points, split evenly between the classes
    noise : in [0, 1], the Playground's "noise" slider divided by 100 (0.5 is its maximum)
    seed : the one source of randomness

    Returns
    -------
    X : array of shape (n, 2) ; y : int array of shape (n,) with labels 0 and 1
    """
    check_choice("name", name, PLAYGROUND_SETS)
    check_number("n", n, low=2, integer=True)
    check_number("noise", noise, low=0.0, high=1.0)
    rng = np.random.default_rng(check_seed(seed))
    X, y = _PLAYGROUND[name](int(n), float(noise), rng)
    return X.astype(np.float64), y.astype(np.int64)


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    half = n // 2
    r = np.concatenate(
        [rng.uniform(0, radius * 0.5, half), rng.uniform(radius * 0.7, radius, n - half)]
    )
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    X += rng.uniform(-radius, radius, (n, 2)) * noise
    y = (np.hypot(X[:, 0], X[:, 1]) < radius * 0.5).astype(
        int
    )  # labelled after the noise, as the Playground does
    return X, y


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-5, 5, (n, 2))
    X += np.where(X > 0, 0.3, -0.3)  # padding off the axes
    X += rng.uniform(-5, 5, (n, 2)) * noise
    return X, (X[:, 0] * X[:, 1] > 0).astype(int)


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    std = np.sqrt(
        0.5 + 3.5 * min(noise / 0.5, 1.0)
    )  # the Playground's variance: 0.5 at no noise, 4 at its maximum
    half = n // 2
    X = np.concatenate([rng.normal(2, std, (half, 2)), rng.normal(-2, std, (n - half, 2))])
    y = np.concatenate([np.ones(half, int), np.zeros(n - half, int)])
    return X, y


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = n // 2
    parts, labels = [], []
    for label, shift, m in ((1, 0.0, half), (0, np.pi, n - half)):
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * np.pi + shift
        pts = np.column_stack([r * np.sin(t), r * np.cos(t)]) + rng.uniform(-1, 1, (m, 2)) * noise
        parts.append(pts)
        labels.append(np.full(m, label))
    return np.concatenate(parts), np.concatenate(labels)


_PLAYGROUND = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral}


# ----------------------------------------------------------------- house prices

HOUSE_FEATURES = ("area_m2", "rooms", "distance_km", "age_years")


def house_prices(
    n: int = 1000, *, noise: float = 20.0, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The article's house-price example as a generator: four features -> price.

    Features (columns, in ``HOUSE_FEATURES`` order)::

        area_m2     ~ U(40, 200)
        rooms       = clip(round(area / 30 + N(0, 0.7)), 1, 8)
        distance_km ~ U(1, 30)        distance to the city centre
        age_years   ~ U(0, 60)

    Price in thousands::

        price = 50 + area * (1 + 3 exp(-distance / 8)) + 15 * rooms - 0.8 * age + 0.01 * (age - 30)²
                + noise * N(0, 1), floored at 20

    The price of a square metre falls off with distance, so the effect of
    area depends on distance: a straight line cannot follow that, a small
    network can. Very old houses win a little back (the squared age term).

    Returns
    -------
    X : array of shape (n, 4) ; y : array of shape (n,), price in thousands
    """
    check_number("n", n, low=1, integer=True)
    check_number("noise", noise, low=0.0)
    rng = np.random.default_rng(check_seed(seed))
    area = rng.uniform(40, 200, n)
    rooms = np.clip(np.round(area / 30 + rng.normal(0, 0.7, n)), 1, 8)
    distance = rng.uniform(1, 30, n)
    age = rng.uniform(0, 60, n)
    price = (
        50
        + area * (1 + 3 * np.exp(-distance / 8))
        + 15 * rooms
        - 0.8 * age
        + 0.01 * (age - 30) ** 2
    )
    price = np.maximum(price + noise * rng.normal(0, 1, n), 20.0)  # no house is free
    return np.column_stack([area, rooms, distance, age]), price


# ------------------------------------------------------ scikit-learn's real sets

REAL_SETS = ("digits", "iris", "wine", "breast_cancer", "diabetes")


def load_real(name: str) -> tuple[np.ndarray, np.ndarray]:
    """One of scikit-learn's bundled datasets (they ship inside the package; nothing downloads).

    - ``digits``: 1797 8x8 images of handwritten digits, pixels 0..16, 10 classes
    - ``iris`` (150 x 4, 3 classes), ``wine`` (178 x 13, 3 classes),
      ``breast_cancer`` (569 x 30, 2 classes)
    - ``diabetes``: 442 x 10, a regression target (disease progression)

    Returns
    -------
    X : array of shape (n_samples, n_features) ; y : int labels, or float targets for diabetes
    """
    from sklearn import datasets

    check_choice("name", name, REAL_SETS)
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return np.asarray(X, dtype=np.float64), np.asarray(y)


# ----------------------------------------------------------------------- splits


def split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    test: float = 0.25,
    validation: float = 0.0,
    stratify: bool = True,
    seed: int | None = 0,
) -> tuple[np.ndarray, ...]:
    """Seeded train/(validation/)test split, stratified by label.

    Uses scikit-learn's ``train_test_split(..., stratify=y, random_state=seed)``
    for the test part, so ``split(X, y, test=0.25, seed=0)`` is exactly the
    split scikit-learn users know. ``validation`` is a fraction of the whole
    set, taken from what remains after the test part.

    Returns
    -------
    X_train, X_test, y_train, y_test ; or, with ``validation > 0``,
    X_train, X_val, X_test, y_train, y_val, y_test
    """
    from sklearn.model_selection import train_test_split

    check_number("test", test, low=0.0, high=1.0, low_open=True, high_open=True)
    check_number("validation", validation, low=0.0, high=1.0, high_open=True)
    if test + validation >= 1.0:
        raise ValueError(
            f"test={test} + validation={validation} must leave some training data (sum < 1)."
        )
    seed = check_seed(seed)
    X, y = np.asarray(X), np.asarray(y)
    strat = _stratify_labels(y, test, "test") if stratify else None
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=test, stratify=strat, random_state=seed
    )
    if validation == 0:
        return X_rest, X_test, y_rest, y_test
    frac = validation / (1.0 - test)
    strat = _stratify_labels(y_rest, frac, "validation") if stratify else None
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=frac, stratify=strat, random_state=seed
    )
    return X_train, X_val, X_test, y_train, y_val, y_test


def _stratify_labels(y: np.ndarray, fraction: float, what: str) -> np.ndarray:
    """``y`` as stratification labels, or a clear error when some class is too small to split."""
    if y.ndim != 1 or not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)):
        raise ValueError(
            "stratify=True needs y to be 1-D integer labels; pass stratify=False for regression targets."
        )
    classes, counts = np.unique(y, return_counts=True)
    n = len(y)
    n_part = int(np.ceil(fraction * n))
    if counts.min() < 2 or n_part < len(classes) or n - n_part < len(classes):
        small = classes[np.argmin(counts)]
        raise ValueError(
            f"cannot stratify a {what} part of {fraction:.3g} over {len(classes)} classes of {n} samples "
            f"(class {small} has {counts.min()}); each class needs 2+ samples and each part one per class. "
            "Use more data, a larger fraction, or stratify=False."
        )
    return y


# ------------------------------------------------------------------ scaling


class Standardizer:
    """Centre and scale each feature with the mean and standard deviation of the data it was fitted on.

    Fit it on the training part only and apply the same numbers to validation
    and test data; fitting on everything leaks the test set into training.
    Constant features keep a scale of 1 (they become 0, not NaN).

    Attributes
    ----------
    mean_, scale_ : arrays of shape (n_features,) (or the trailing shape of X)
    """

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mean_"):
            raise RuntimeError("Standardizer is not fitted yet; call fit(X_train) first.")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.mean_.shape:
            raise ValueError(
                f"X has per-sample shape {X.shape[1:]}, but the Standardizer was fitted on {self.mean_.shape}."
            )
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(Z, dtype=np.float64) * self.scale_ + self.mean_


# -------------------------------------------------------------- augmentation


def shift_images(
    images: np.ndarray, labels: np.ndarray, *, shift: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The images, plus copies moved ``shift`` pixels up, down, left and right (zeros fill in).

    A light augmentation for small image sets like digits: a digit drawn one
    pixel to the side is the same digit.

    Parameters
    ----------
    images : array of shape (n, height, width) ; labels : array of shape (n,)

    Returns
    -------
    images : array of shape (5n, height, width) ; labels : array of shape (5n,), originals first
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images has shape {images.shape}; expected (n, height, width).")
    check_number("shift", shift, low=1, high=min(images.shape[1:]) - 1, integer=True)
    out = [images]
    for axis in (1, 2):
        for s in (shift, -shift):
            moved = np.roll(images, s, axis=axis)
            edge = [slice(None)] * 3
            edge[axis] = slice(0, s) if s > 0 else slice(s, None)
            moved[tuple(edge)] = 0
            out.append(moved)
    return np.concatenate(out), np.tile(np.asarray(labels), len(out))


# ----------------------------------------------------------------- customers

CUSTOMER_COLUMNS = ("recency_days", "frequency", "monetary", "basket_size")
"""Columns of :func:`customer_table`: days since the last purchase, purchases in the
last year, money spent in the last year, mean money per purchase."""

CUSTOMER_SEGMENTS = {
    # name: (share of customers, median recency_days, median frequency, median basket_size)
    "champions": (0.15, 6.0, 30.0, 70.0),
    "loyal regulars": (0.30, 20.0, 12.0, 45.0),
    "big-basket occasionals": (0.15, 45.0, 3.0, 300.0),
    "newcomers": (0.15, 5.0, 1.5, 35.0),
    "lapsed": (0.25, 200.0, 3.0, 40.0),
}
"""The segments :func:`customer_table` draws from, with their medians."""


def customer_table(
    n: int = 5000, *, seed: int = 0, outlier_fraction: float = 0.005
) -> dict[str, object]:
    """A generated table of shop customers with known segments and a few planted oddities.

    Each customer belongs to one of :data:`CUSTOMER_SEGMENTS` (drawn by the segment's
    share). Recency, frequency and basket size are log-normal around the segment's
    medians (spread factor about 1.35); frequency is a whole number >= 1; monetary
    is frequency x basket size. A further ``outlier_fraction`` of the rows are
    planted anomalies: customers who buy very often with huge baskets, or whose one
    purchase was enormous; they keep segment -1.

    Returns
    -------
    dict with
        X : array of shape (n, 4), the columns of :data:`CUSTOMER_COLUMNS`
        columns : tuple of the 4 column names
        segment : int array of shape (n,), index into ``segment_names``, -1 for planted anomalies
        segment_names : tuple of str
        is_outlier : bool array of shape (n,)
    """
    check_number("n", n, low=10, integer=True)
    check_number("outlier_fraction", outlier_fraction, low=0.0, high=0.5)
    rng = np.random.default_rng(check_seed(seed))
    names = tuple(CUSTOMER_SEGMENTS)
    table = np.array([CUSTOMER_SEGMENTS[s] for s in names])
    shares = table[:, 0] / table[:, 0].sum()
    segment = rng.choice(len(names), size=n, p=shares)
    spread = np.log(1.35)
    recency = table[segment, 1] * np.exp(spread * rng.standard_normal(n))
    frequency = np.maximum(
        1.0, np.round(table[segment, 2] * np.exp(spread * rng.standard_normal(n)))
    )
    basket = table[segment, 3] * np.exp(spread * rng.standard_normal(n))
    n_out = int(round(outlier_fraction * n))
    odd = rng.choice(n, size=n_out, replace=False)
    half = n_out // 2
    recency[odd] = rng.uniform(1, 30, n_out)
    frequency[odd[:half]] = rng.uniform(150, 300, half).round()  # buys daily, huge baskets
    basket[odd[:half]] = rng.uniform(400, 900, half)
    frequency[odd[half:]] = 1.0  # one enormous purchase
    basket[odd[half:]] = rng.uniform(5000, 20000, n_out - half)
    segment[odd] = -1
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[odd] = True
    X = np.column_stack([recency, frequency, frequency * basket, basket])
    return {
        "X": X,
        "columns": CUSTOMER_COLUMNS,
        "segment": segment,
        "segment_names": names,
        "is_outlier": is_outlier,
    }
