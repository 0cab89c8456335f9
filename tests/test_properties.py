"""Property-based tests over every learner in the registry.

Whatever a user passes, a learner either fits to a finite learned state, or
refuses with a ``ValueError`` / ``TypeError`` whose message names what was
wrong. Never a raw exception from NumPy, torch or SciPy, and never a model
that silently learned NaN.

The tests read each learner's constructor and ``fit`` through
``inspect.signature``, so they need no edit when a learner or a setting is
added or renamed.
"""

from __future__ import annotations

import inspect
import math
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import envs  # noqa: F401  (registers the sandbox's env ids)
from sandbox.errors import DivergenceError
from sandbox.learner import load_learner_plugins

LEARNERS = load_learner_plugins()
ARRAY_LEARNERS = sorted(
    n for n, c in LEARNERS.items() if c.paradigm in ("supervised", "unsupervised")
)
ENV_LEARNERS = sorted(n for n, c in LEARNERS.items() if n not in ARRAY_LEARNERS)
ENVS = (
    ("FrozenLake-v1", {}),
    ("sandbox/Bandit-v0", {}),
    ("sandbox/ContextualBandit-v0", {}),
    ("sandbox/TicTacToe-v0", {"opponent": "self"}),
    ("CartPole-v1", {}),
    ("Pendulum-v1", {}),
)
KNOWN = {
    # (learner, setting, repr(value)): what goes wrong today. These are left out of the property tests and
    # checked by test_known_findings_still_fail, which fails once one is fixed: then delete its entry.
    **{
        (
            n,
            "hidden",
            "3",
        ): "raw TypeError \"'int' object is not iterable\": check_int_tuple accepts an int, "
        "the learner then calls tuple(hidden)"
        for n in ("MLPClassifier", "MLPRegressor", "DQN", "PolicyGradient")
    },
    **{
        (
            n,
            p,
            "1e+300",
        ): "raw torch RuntimeError 'value cannot be converted to type float without overflow'"
        for n, p in (
            ("LinearRegressor", "learning_rate"),
            ("LinearRegressor", "l2"),
            ("MLPClassifier", "l2"),
            ("MLPClassifier", "learning_rate"),
            ("MLPRegressor", "l2"),
            ("MLPRegressor", "learning_rate"),
            ("MiniBatchKMeans", "learning_rate"),
        )
    },
    **{
        (
            n,
            p,
            "1e+300",
        ): "DivergenceError that blames the learning rate instead of naming the setting"
        for n, p in (
            ("MLPClassifier", "l1"),
            ("MLPRegressor", "l1"),
            ("PolicyGradient", "value_learning_rate"),
            ("PolicyGradient", "entropy_coef"),
            ("PolicyGradient", "value_coef"),
        )
    },
}
KNOWN_ARRAY = {
    # learner: (what goes wrong, an input that shows it)
    n: (
        "X of 3-D images smaller than 2x2: a ValueError about 'conv.pool' that does not name X",
        np.zeros((2, 1, 1)),
    )
    for n in ("MLPClassifier", "MLPRegressor")
}


def known_array_finding(name: str, X) -> bool:
    return name in KNOWN_ARRAY and np.ndim(X) == 3 and min(np.shape(X)[-2:]) < 2


SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ------------------------------------------------------------------ what a learner takes


def params(cls) -> dict[str, object]:
    """Keyword-only constructor parameters and their defaults."""
    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind == p.KEYWORD_ONLY
    }


def fit_params(cls) -> list[str]:
    return [p for p in inspect.signature(cls.fit).parameters if p != "self"]


def fast(cls) -> dict[str, object]:
    """Settings that keep one fit short, chosen by what each default's name and type say it is."""
    small = {}
    for name, default in params(cls).items():
        if (
            isinstance(default, int)
            and not isinstance(default, bool)
            and default > 20
            and re.search(r"iter|epoch|n_init|steps|size|buffer|episodes|start", name)
        ):
            small[name] = 20 if "size" not in name and "buffer" not in name else 16
    return small


def env_for(cls):
    """The first of ENVS the learner says it supports: its id, or an instance where it needs arguments."""
    for env_id, kwargs in ENVS:
        env = gym.make(env_id, **kwargs)
        reason = cls.env_support(env) if cls.declares_env_support() else None
        if reason is None:
            return env if kwargs else env_id
        env.close()
    raise AssertionError(f"{cls.__name__} supports none of {[e for e, _ in ENVS]}")


def fit_env(model, env) -> None:
    names = fit_params(type(model))
    budget = {"steps": 64} if "steps" in names else ({"episodes": 3} if "episodes" in names else {})
    model.fit(env, **budget)


# ------------------------------------------------------------------ the property


def learned_values(model):
    """Every number in the learned state (attributes ending in ``_``), as float arrays."""

    def walk(value):
        if isinstance(value, torch.nn.Module):
            for p in value.parameters():
                yield p.detach().cpu().numpy()
        elif isinstance(value, torch.Tensor):
            yield value.detach().cpu().numpy()
        elif isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            yield value
        elif isinstance(value, float):
            yield np.array([value])
        elif isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                yield from walk(v)

    for key, value in vars(model).items():
        if key.endswith("_") and not key.startswith("_") and key != "history_":
            for arr in walk(value):
                yield key, arr


def names_one(message: str, names: list[str]) -> bool:
    """Whether ``message`` names one of ``names`` as a word (``learning_rate`` or ``learning rate``)."""
    return any(
        re.search(rf"(?<![A-Za-z_]){re.escape(n).replace('_', '[_ ]')}(?![A-Za-z_])", message)
        for n in names
    )


def check_outcome(fit, names: list[str], *, divergence_ok: bool = False) -> None:
    """``fit()`` either leaves finite learned state or raises a clear error naming one of ``names``.

    divergence_ok : data alone can make gradient descent diverge at a sound setting; then the
        learner's DivergenceError, which says what to try, is the clear error.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = fit()
        except DivergenceError as exc:
            assert divergence_ok or names_one(str(exc), names), (
                f"DivergenceError does not name any of {names}: {exc}"
            )
            return
        except (ValueError, TypeError) as exc:
            assert names_one(str(exc), names), (
                f"{type(exc).__name__} does not name any of {names}: {exc}"
            )
            return
    for key, arr in learned_values(model):
        assert np.all(np.isfinite(arr)), (
            f"{type(model).__name__}.{key} holds non-finite values after fit"
        )


# ------------------------------------------------------------------ arrays


def _floats(width: int) -> st.SearchStrategy:
    return st.one_of(
        st.floats(width=width),
        st.sampled_from([1e300, -1e300, 1e-300, 5e-324, 0.0])
        if width == 64
        else st.floats(width=width),
    )


@st.composite
def weird_arrays(draw):
    dtype = draw(st.sampled_from(["float64", "float32", "float16", "int64", "bool"]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
    if dtype.startswith("float"):
        elements = _floats(int(dtype[5:]))
    else:
        elements = None
    arr = draw(hnp.arrays(np.dtype(dtype), shape, elements=elements))
    kind = draw(st.sampled_from(["array", "list", "object", "sparse", "mixed"]))
    if kind == "list":
        return arr.tolist()
    if kind == "object":
        return arr.astype(object)
    if kind == "sparse" and arr.ndim == 2:
        return scipy.sparse.csr_matrix(np.nan_to_num(arr.astype(np.float64)))
    if kind == "mixed" and arr.ndim == 2 and arr.size:
        rows = arr.tolist()
        rows[0][0] = "a string"
        return rows
    return arr


def _n_rows(X) -> int:
    try:
        return max(1, int(np.shape(X)[0])) if np.ndim(X) else 3
    except Exception:
        return 3


@pytest.mark.parametrize("name", ARRAY_LEARNERS)
@SETTINGS
@given(X=weird_arrays())
def test_array_learners_on_any_array(name, X):
    cls = LEARNERS[name]
    assume(not known_array_finding(name, X))
    y = np.arange(_n_rows(X)) % 2
    args = (X, y) if "y" in fit_params(cls) else (X,)
    check_outcome(lambda: cls(**fast(cls)).fit(*args), ["X", "y", *params(cls)], divergence_ok=True)


# ------------------------------------------------------------------ settings


def bad_values(default) -> list:
    """Values at and beyond the bounds of a setting whose default is ``default``, and of the wrong type."""
    wrong_type = ["bogus", None, [1, 2]]
    if isinstance(default, bool):
        return ["yes", 2, None]
    if isinstance(default, int):
        return [0, -1, -7, 1, 2, 1.5, math.nan, *wrong_type]
    if isinstance(default, float):
        return [
            0.0,
            -1.0,
            -1e-12,
            1.0,
            1.5,
            1e300,
            -1e300,
            math.nan,
            math.inf,
            -math.inf,
            *wrong_type,
        ]
    if isinstance(default, tuple):
        return [(), (0,), (-1,), (2.5,), ("a",), 3, *wrong_type[:2]]
    if isinstance(default, str):
        return ["bogus", "", 3, None]
    return ["bogus", -1, math.nan, math.inf, 0]


def setting_cases(names: list[str]) -> list[tuple[str, str, object]]:
    cases = []
    for name in names:
        for param, default in params(LEARNERS[name]).items():
            if param in ("seed", "callback", "progress"):
                continue
            cases += [
                (name, param, v) for v in bad_values(default) if (name, param, repr(v)) not in KNOWN
            ]
    return cases


def _array_data(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 3))
    y = (X[:, 0] > 0).astype(int)
    return (X, y) if "y" in fit_params(cls) else (X,)


@pytest.mark.parametrize("name", ARRAY_LEARNERS)
@SETTINGS
@given(data=st.data())
def test_array_learner_settings_at_and_beyond_their_bounds(name, data):
    param, value = data.draw(st.sampled_from([c[1:] for c in setting_cases([name])]))
    check_outcome(_fit_case(name, param, value), [param])


@pytest.mark.parametrize("name", ENV_LEARNERS)
@SETTINGS
@given(data=st.data())
def test_env_learner_settings_at_and_beyond_their_bounds(name, data):
    param, value = data.draw(st.sampled_from([c[1:] for c in setting_cases([name])]))
    check_outcome(_fit_case(name, param, value), [param])


@pytest.mark.parametrize("name", ENV_LEARNERS)
def test_env_learners_fit_with_their_defaults(name):
    """The baseline the settings test varies from: a short fit with the defaults is clean."""
    cls = LEARNERS[name]
    env = env_for(cls)
    model = cls(**fast(cls))
    fit_env(model, env)
    for key, arr in learned_values(model):
        assert np.all(np.isfinite(arr)), key


def _fit_case(name: str, param: str, value):
    cls = LEARNERS[name]
    if name in ARRAY_LEARNERS:
        return lambda: cls(**{**fast(cls), param: value}).fit(*_array_data(cls))
    env = env_for(cls)

    def fit():
        model = cls(**{**fast(cls), param: value})
        fit_env(model, env)
        return model

    return fit


@pytest.mark.xfail(
    strict=True, reason="a known finding; when this passes, it is fixed: delete it from KNOWN"
)
@pytest.mark.parametrize("key", sorted(KNOWN), ids=lambda k: f"{k[0]}-{k[1]}={k[2]}")
def test_known_findings_still_fail(key):
    name, param, value = key
    check_outcome(
        _fit_case(name, param, eval(value)), [param]
    )  # value is a repr of an int or float


@pytest.mark.xfail(
    strict=True, reason="a known finding; when this passes, it is fixed: delete it from KNOWN_ARRAY"
)
@pytest.mark.parametrize("name", sorted(KNOWN_ARRAY))
def test_known_array_findings_still_fail(name):
    cls = LEARNERS[name]
    X = KNOWN_ARRAY[name][1]
    check_outcome(lambda: cls(**fast(cls)).fit(X, np.arange(len(X)) % 2), ["X", "y", *params(cls)])
