"""The article's own Keras and PyTorch programs in `sandbox run linear-regression`."""

import os
import sys

import numpy as np
import pytest

from experiments import linear_regression as lr
from sandbox.data import article_line


def _closed_form(x, y):
    A = np.hstack([x, np.ones_like(x)])
    return np.linalg.lstsq(A, y[:, 0], rcond=None)[0]


def test_keras_program_as_written_reaches_the_least_squares_line():
    os.environ.setdefault(
        "KERAS_BACKEND", "torch"
    )  # as keras_program does, before the first import
    pytest.importorskip("keras", reason="needs the keras extra: pip install '.[keras]'")
    x, y = article_line(100, seed=0)
    r = lr.keras_program(x, y, learning_rate=0.1, epochs=300, seed=0)
    w_star, b_star = _closed_form(x, y)
    assert r["backend"] == "torch"
    assert len(r["loss"]) == 300 and r["loss"][-1] < r["loss"][0] / 10
    assert abs(r["w"] - w_star) < 0.02 and abs(r["b"] - b_star) < 0.02
    again = lr.keras_program(x, y, learning_rate=0.1, epochs=300, seed=0)
    assert (again["w"], again["b"]) == (r["w"], r["b"])  # same seed, same numbers


def test_without_keras_the_row_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)  # import keras now raises ImportError
    x, y = article_line(20, seed=0)
    r = lr.keras_program(x, y, learning_rate=0.1, epochs=3, seed=0)
    assert r == {"missing": "Keras not installed: pip install 'learning-sandbox[keras]'"}


def test_torch_program_as_written_converges_to_the_least_squares_line():
    x, y = article_line(100, seed=0)
    r = lr.torch_program(x, y, learning_rate=0.1, epochs=3000, seed=0)
    w_star, b_star = _closed_form(x, y)
    assert abs(r["w"] - w_star) < 1e-3 and abs(r["b"] - b_star) < 1e-3
