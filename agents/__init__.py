"""Learners of every paradigm, all on the :class:`sandbox.learner.Learner` contract."""

from agents.linear import LinearRegressor
from agents.mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearRegressor", "MLPClassifier", "MLPRegressor"]
