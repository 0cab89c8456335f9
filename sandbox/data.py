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
