"""Shared argument and data checks.

Every message names the parameter, the value it got, and what would be
accepted, so a user can fix a call without reading the source.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def close_matches(word: str, options: Iterable[str], n: int = 3) -> list[str]:
    return difflib.get_close_matches(str(word), list(options), n=n, cutoff=0.5)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` must be one of ``choices`` (strings); suggests close matches."""
    if isinstance(value, str) and value in choices:
        return value
    hint = close_matches(value, choices) if isinstance(value, str) else []
    did = f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""
    raise ValueError(
        f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, choices))}.{did}"
    )


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> Any:
    """``value`` must be a real number (an integer if ``integer``) inside the given bounds.

    ``low_open``/``high_open`` make that bound strict. Booleans are refused.
    """
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(
        value, bool | np.bool_
    )
    if not ok_type:
        raise ValueError(
            f"{name}={value!r} must be {kind}{_range_text(low, high, low_open, high_open)}."
        )
    if not integer and not math.isfinite(float(value)):
        raise ValueError(
            f"{name}={value!r} must be a finite number{_range_text(low, high, low_open, high_open)}."
        )
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(
            f"{name}={value!r} is out of range; it must be {kind}{_range_text(low, high, low_open, high_open)}."
        )
    return value


def _range_text(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" {'<' if high_open else '<='} {high}"
    return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def check_int_tuple(name: str, value: Any, *, low: int = 1) -> tuple[int, ...]:
    """A sequence of integers >= ``low`` (e.g. hidden layer sizes); an int counts as one."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),)
    try:
        items = tuple(value)
    except TypeError:
        raise ValueError(
            f"{name}={value!r} must be a sequence of integers >= {low}, e.g. (64, 64)."
        ) from None
    for v in items:
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low:
            raise ValueError(
                f"{name}={value!r} must be a sequence of integers >= {low}, e.g. (64, 64)."
            )
    return tuple(int(v) for v in items)


def as_float_array(
    name: str, X: Any, *, ndim: int | Sequence[int] | None = None, allow_empty: bool = False
) -> np.ndarray:
    """Convert ``X`` to a finite float array, with clear errors for every way it can be wrong."""
    if X is None:
        raise ValueError(f"{name} is None; expected an array of numbers.")
    if hasattr(X, "detach"):  # torch tensors
        X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be read as an array of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(
            f"{name} has dtype {arr.dtype}; expected numbers (int or float), not strings or objects."
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} has complex dtype {arr.dtype}; expected real numbers.")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"{name} has shape {arr.shape} ({arr.ndim}-D); expected a {want} array."
            )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); expected at least one sample.")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    # One sum first (as scikit-learn does): finite for finite data unless it overflows, and far cheaper than a
    # full boolean mask on millions of values; only a non-finite sum pays for the element-wise check.
    with np.errstate(
        over="ignore", invalid="ignore"
    ):  # an overflowing sum only sends us to the full check
        total = arr.sum()
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        kind = "NaN" if np.isnan(arr[tuple(bad)]) else "inf"
        raise ValueError(
            f"{name} contains {kind} (first at index {tuple(int(i) for i in bad)}); all values must be finite."
        )
    return arr


def check_same_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    if len(a) != len(b):
        raise ValueError(
            f"{name_a} has {len(a)} samples but {name_b} has {len(b)}; they must have the same length."
        )


def check_seed(seed: Any) -> int | None:
    """``seed`` must be None or an integer >= 0."""
    if seed is None:
        return None
    return int(check_number("seed", seed, low=0, integer=True))
