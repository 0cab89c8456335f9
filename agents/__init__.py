"""Learners of every paradigm, all on the :class:`sandbox.learner.Learner` contract."""

from agents.linear import LinearRegressor

__all__ = ["LinearRegressor"]

from agents.dqn import DQN  # noqa: E402
from agents.policy_gradient import PolicyGradient  # noqa: E402

__all__ += ["DQN", "PolicyGradient"]
