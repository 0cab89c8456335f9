"""Named metrics, computed the same way for every learner."""

from __future__ import annotations

import numpy as np


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, MAE and R² (1 - SS_res/SS_tot, over all outputs together)."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(y_true.shape)
    err = y_pred - y_true
    ss_tot = float(np.sum((y_true - y_true.mean(axis=0)) ** 2))
    ss_res = float(np.sum(err**2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err))), "r2": r2}
