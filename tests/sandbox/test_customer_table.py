"""The generated customer table: shapes, the documented segments, planted oddities, same seed same table."""

from __future__ import annotations

import numpy as np
import pytest

from sandbox.data import CUSTOMER_COLUMNS, CUSTOMER_SEGMENTS, customer_table


def test_customer_table_follows_its_documentation():
    t = customer_table(20_000, seed=3, outlier_fraction=0.01)
    X, seg = t["X"], t["segment"]
    assert X.shape == (20_000, 4) and t["columns"] == CUSTOMER_COLUMNS
    assert t["is_outlier"].sum() == 200 and np.all(seg[t["is_outlier"]] == -1)
    for j, name in enumerate(t["segment_names"]):
        share, recency, frequency, basket = CUSTOMER_SEGMENTS[name]
        rows = X[seg == j]
        assert len(rows) / len(X) == pytest.approx(share * 0.99, abs=0.02)
        med = np.median(rows, axis=0)
        assert med[0] == pytest.approx(recency, rel=0.1)
        assert med[3] == pytest.approx(basket, rel=0.1)
        assert med[1] == pytest.approx(frequency, rel=0.35, abs=1.0)
    assert np.all(X[:, 1] >= 1) and np.allclose(X[:, 2], X[:, 1] * X[:, 3])


def test_customer_table_is_reproducible_and_checks_its_arguments():
    a, b = customer_table(500, seed=1), customer_table(500, seed=1)
    assert np.array_equal(a["X"], b["X"]) and np.array_equal(a["segment"], b["segment"])
    assert not np.array_equal(a["X"], customer_table(500, seed=2)["X"])
    with pytest.raises(ValueError, match="n=5 is out of range"):
        customer_table(5)
    with pytest.raises(ValueError, match="outlier_fraction=0.9"):
        customer_table(100, outlier_fraction=0.9)
