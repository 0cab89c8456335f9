"""The sandbox's own exceptions. Each subclasses the builtin a user would expect."""


class NotFittedError(RuntimeError):
    """``act``/``evaluate``/``save`` was called on a learner before ``fit``."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the message names where and what to try."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, tampered with, or of another class."""
