"""Learners of every paradigm, all on the :class:`sandbox.learner.Learner` contract."""

from agents.bandit import UCB, EpsilonGreedy, GradientBandit, LinUCB
from agents.decomposition import PCA
from agents.dqn import DQN
from agents.kmeans import KMeans, MiniBatchKMeans
from agents.linear import LinearRegressor
from agents.mlp import MLPClassifier, MLPRegressor
from agents.planning import PolicyIteration, ValueIteration
from agents.policy_gradient import PolicyGradient
from agents.sac import SAC
from agents.selfplay import SelfPlayQLearning
from agents.tabular import SARSA, ExpectedSARSA, QLearning

__all__ = [
    "LinearRegressor",
    "MLPClassifier",
    "MLPRegressor",
    "KMeans",
    "MiniBatchKMeans",
    "PCA",
    "QLearning",
    "SARSA",
    "ExpectedSARSA",
    "ValueIteration",
    "PolicyIteration",
    "PolicyGradient",
    "DQN",
    "SAC",
    "EpsilonGreedy",
    "UCB",
    "GradientBandit",
    "LinUCB",
    "SelfPlayQLearning",
]
