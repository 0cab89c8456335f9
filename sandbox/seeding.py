"""Seeds for each use of a learner's one ``seed``.

A learner has one ``seed``; its environments, network initialisation, replay
sampling and exploration each need a stream of their own that does not overlap
the others. ``derive_seed(seed, "env")`` gives that stream's seed: the same for
the same ``seed`` and names, different for different names, and independent in
the sense of NumPy's ``SeedSequence`` (a hash, not ``seed + 1000``).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key(part: str | int) -> int:
    if isinstance(part, (int, np.integer)) and not isinstance(part, bool):
        if part < 0:
            raise ValueError(f"seed key {part} must be >= 0.")
        return int(part)
    return int.from_bytes(hashlib.sha256(str(part).encode()).digest()[:4], "little")


def derive_seed(seed: int | None, *keys: str | int) -> int | None:
    """The seed of the stream named ``keys`` under ``seed`` (None stays None: fresh entropy).

    seed : the learner's or experiment's seed, an integer >= 0, or None
    keys : names (and counters) of the use, e.g. ``("env", 3)`` for the fourth env copy
    Returns an integer in [0, 2**31), accepted by NumPy, torch, Python's random and Gymnasium.
    """
    if seed is None:
        return None
    state = np.random.SeedSequence(
        int(seed), spawn_key=tuple(_key(k) for k in keys)
    ).generate_state(1, np.uint32)
    return int(state[0] >> 1)


def derive_rng(seed: int | None, *keys: str | int) -> np.random.Generator:
    """A NumPy Generator on the stream named ``keys`` under ``seed``."""
    return np.random.default_rng(derive_seed(seed, *keys))
