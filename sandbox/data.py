"""Datasets and splits. Everything here is generated or ships inside a package: nothing downloads."""

from __future__ import annotations

import numpy as np

from sandbox.checks import check_number, check_seed


def article_line(
    n: int = 100, *, seed: int = 0, noise: float = 0.1, random_state: np.random.RandomState | None = None
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


def customer_table(n: int = 5000, *, seed: int = 0, outlier_fraction: float = 0.005) -> dict[str, object]:
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
    frequency = np.maximum(1.0, np.round(table[segment, 2] * np.exp(spread * rng.standard_normal(n))))
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
    return {"X": X, "columns": CUSTOMER_COLUMNS, "segment": segment, "segment_names": names, "is_outlier": is_outlier}
