"""Learners of every paradigm, all on the :class:`sandbox.learner.Learner` contract."""

from agents.linear import LinearRegressor

__all__ = ["LinearRegressor"]
