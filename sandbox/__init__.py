"""The learning sandbox: shared core for every paradigm.

Networks (:mod:`sandbox.nn`), optimizers (:mod:`sandbox.optim`), the NumPy
from-scratch engine (:mod:`sandbox.scratch`), the Learner contract
(:mod:`sandbox.learner`), data, runs, plots and the ``sandbox`` command.
No learner lives here: learners are in the ``agents`` package.
"""

__version__ = "0.1.0"
