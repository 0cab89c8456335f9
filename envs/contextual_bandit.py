"""Any classification dataset as a contextual bandit: learn to classify from reward alone.

An episode is one sample: ``reset`` draws a row of ``X`` (the observation),
the action is a label, the reward is 1 when it is the sample's label and 0
otherwise, and the episode ends. The agent is never told the right label
(``info["label"]`` is there for evaluation only), so whatever it learns, it
learns from the reward, as in reinforcement learning.

``dataset`` is ``(X, y)`` arrays, or the name of one of scikit-learn's bundled
classification sets (``"iris"``, ``"wine"``, ``"breast_cancer"``,
``"digits"``), read from disk with nothing downloaded. Features are
standardised unless ``standardize=False``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from sandbox.checks import as_float_array, check_same_length

BUNDLED = ("iris", "wine", "breast_cancer", "digits")


def load_classification(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of one of scikit-learn's bundled classification sets."""
    import sklearn.datasets as ds

    if name not in BUNDLED:
        from sandbox.checks import check_choice

        check_choice("dataset", name, BUNDLED)
    X, y = getattr(ds, f"load_{name}")(return_X_y=True)
    return X, y


class ContextualBandit(gym.Env):
    """A classification dataset as a one-step bandit with context.

    Parameters
    ----------
    dataset : ``(X, y)`` with X of shape (n_samples, n_features) and y of shape
        (n_samples,) holding the class of each row (any labels), or a bundled set's name
    standardize : scale each feature to mean 0, std 1 (constant features are left at 0)

    Attributes
    ----------
    classes : array of shape (n_classes,); action i means "the label is classes[i]"
    X, y : the (standardised) features, and each row's class index
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        dataset: str | tuple[Any, Any] = "iris",
        *,
        standardize: bool = True,
        render_mode: str | None = None,
    ):
        if isinstance(dataset, str):
            X, y = load_classification(dataset)
        elif isinstance(dataset, tuple | list) and len(dataset) == 2:
            X, y = dataset
        else:
            raise ValueError(f"dataset={dataset!r} must be (X, y) or one of {', '.join(BUNDLED)}.")
        X = as_float_array("X", X, ndim=2)
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                f"y has shape {y.shape}; expected one label per row, shape (n_samples,)."
            )
        check_same_length("X", X, "y", y)
        self.classes, self.y = np.unique(y, return_inverse=True)
        if len(self.classes) < 2:
            raise ValueError(
                f"y has {len(self.classes)} class; a bandit needs at least 2 labels to choose from."
            )
        if standardize:
            std = X.std(axis=0)
            X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)
        self.X = X.astype(np.float32)
        if render_mode not in (None, "ansi"):
            raise ValueError(
                f"render_mode={render_mode!r} is not supported; choose None or 'ansi'."
            )
        self.render_mode = render_mode
        self.observation_space = spaces.Box(
            self.X.min(axis=0), self.X.max(axis=0), dtype=np.float32
        )
        self.action_space = spaces.Discrete(len(self.classes))
        self.index: int | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.index = int(self.np_random.integers(len(self.X)))
        return self.X[self.index].copy(), {"index": self.index}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.index is None:
            raise RuntimeError("call reset() before step().")
        if not self.action_space.contains(action):
            raise ValueError(
                f"action={action!r} is not a label index; choose an integer in [0, {len(self.classes) - 1}]."
            )
        label = int(self.y[self.index])
        correct = int(action) == label
        return (
            self.X[self.index].copy(),
            float(correct),
            True,
            False,
            {"label": label, "is_success": correct},
        )

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.index is None:
            return None
        return f"sample {self.index}: label {self.classes[self.y[self.index]]!r}\n"
