"""Named metrics, computed the same way for every learner."""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox.checks import as_float_array, check_same_length


def score_regression(pred: np.ndarray, y: Any) -> dict[str, float]:
    """Check ``y`` against a regressor's predictions ``pred`` (same length, finite), then :func:`regression_metrics`."""
    y = as_float_array("y", y, ndim=(1, 2))
    check_same_length("X", pred, "y", y)
    return regression_metrics(y, pred)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, MAE and R² (1 - SS_res/SS_tot, over all outputs together)."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    ss_res = float(np.sum(err**2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err))), "r2": r2}


def confusion_matrix(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None
) -> np.ndarray:
    """Counts of shape (n_classes, n_classes): row = true class index, column = predicted index."""
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.int64).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}; they must have the same length."
        )
    if min(y_true.min(initial=0), y_pred.min(initial=0)) < 0:
        raise ValueError("confusion_matrix needs class indices 0..k-1, not negative labels.")
    k = (
        int(n_classes)
        if n_classes is not None
        else int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    )
    return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)


def log_loss(y_true: np.ndarray, proba: np.ndarray, eps: float = 1e-15) -> float:
    """Mean negative log-probability of the true class; ``proba`` of shape (n, n_classes), clipped to [eps, 1]."""
    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.clip(proba[np.arange(len(y_true)), y_true], eps, 1.0)
    return float(-np.mean(np.log(p)))


def classification_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    proba: np.ndarray | None = None,
    n_classes: int | None = None,
) -> dict:
    """Accuracy, macro precision/recall/F1, per-class recall, the confusion matrix and (given ``proba``) log-loss.

    Labels are class indices 0..k-1. Precision of a class never predicted counts as 0,
    as scikit-learn's ``zero_division=0``.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    out = {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "recall_per_class": recall.tolist(),
        "confusion_matrix": cm.tolist(),
    }
    if proba is not None:
        out["log_loss"] = log_loss(y_true, proba)
    return out
