"""The sandbox's own exceptions. Each subclasses the builtin a user would expect.

:class:`NotFittedError` also subclasses scikit-learn's ``NotFittedError`` (so
``check_is_fitted`` users and scikit-learn's own code catch it). It is built on
first use: importing scikit-learn costs a second, and the CLI and the NumPy
engine import this module without needing it.
"""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss; the message names where and what to try."""


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, tampered with, or of another class."""


def __getattr__(name: str) -> type:
    if name != "NotFittedError":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(SklearnNotFittedError):
        """``act``/``evaluate``/``save`` was called on a learner before ``fit``.

        A ``ValueError`` and an ``AttributeError``, as scikit-learn's is.
        """

    NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"
    globals()["NotFittedError"] = NotFittedError
    return NotFittedError
