"""Learners of every paradigm, all on the :class:`sandbox.learner.Learner` contract."""

from agents.decomposition import PCA
from agents.kmeans import KMeans, MiniBatchKMeans
from agents.linear import LinearRegressor

__all__ = ["KMeans", "LinearRegressor", "MiniBatchKMeans", "PCA"]
