"""Compiled (numba) kernels of PolicyGradient's Categorical policy: sampling, and the loss with its gradient.

Each works row by row on arrays of shape (n, n_actions) of logits; they are
called by :mod:`agents._policy_heads` on every vector step and every minibatch.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _row_exp(logits, i, e):  # pragma: no cover - compiled
    """``e[j] = exp(logits[i, j] - max_j logits[i, j])``; returns (that max, sum of e): softmax without overflow."""
    k = logits.shape[1]
    top = logits[i, 0]
    for j in range(1, k):
        top = max(top, logits[i, j])
    total = 0.0
    for j in range(k):
        e[j] = math.exp(logits[i, j] - top)
        total += e[j]
    return top, total


@numba.njit(cache=True, nogil=True)
def sample_softmax(logits, u):  # pragma: no cover - compiled
    """One draw per row from softmax(logits) by inverting its CDF at ``u`` (uniform in [0, 1)).

    Compiled because acting calls it on every vector step with a small (n_envs, n_actions) array.
    """
    n, k = logits.shape
    out = np.empty(n, dtype=np.int64)
    cdf = np.empty(k)
    for i in range(n):
        total = _row_exp(logits, i, cdf)[1]
        for j in range(1, k):
            cdf[j] += cdf[j - 1]
        target = u[i] * total
        pick = 0
        while pick < k - 1 and cdf[pick] < target:
            pick += 1
        out[i] = pick
    return out


@numba.njit(cache=True, nogil=True)
def categorical_loss_grads(
    logits, actions, adv, old, use_old, clip, entropy_coef
):  # pragma: no cover - compiled
    """Policy loss, mean entropy and d loss / d logits of a Categorical policy, row by row.

    The loss is ``-mean_t w_t - entropy_coef * mean_t H_t`` with ``w_t = log pi(a_t) A_t``
    (``use_old`` False) or PPO's ``min(rho_t A_t, clip(rho_t, 1 -+ clip) A_t)``,
    ``rho_t = exp(log pi(a_t) - old_t)`` (``clip`` 0: no clipping). By the chain rule,
    with p = softmax(z): d log pi(a)/dz = onehot(a) - p, d H/dz = -p (log p + H),
    and d w/d log pi(a) = A (plain) or rho A where the unclipped term is the
    smaller one, 0 where the clipped one is (torch's ``min`` splits a tie between
    the two, and the halves add up to rho A).
    """
    B, k = logits.shape
    dout = np.empty_like(logits)
    logp = np.empty(k)
    p = np.empty(k)
    loss = 0.0
    entropy = 0.0
    for i in range(B):
        top, total = _row_exp(logits, i, p)
        log_total = math.log(total)
        H = 0.0
        for j in range(k):
            logp[j] = logits[i, j] - top - log_total
            p[j] = math.exp(logp[j])
            H -= p[j] * logp[j]
        a = actions[i]
        A = adv[i]
        if use_old:
            ratio = math.exp(logp[a] - old[i])
            w = ratio * A
            g = ratio * A
            if clip > 0.0:
                clipped = min(max(ratio, 1.0 - clip), 1.0 + clip) * A
                if clipped < w:
                    w = clipped
                    g = 0.0
        else:
            w = logp[a] * A
            g = A
        g = -g / B  # d loss / d log pi(a_i)
        loss -= w
        entropy += H
        for j in range(k):
            dout[i, j] = -g * p[j] + (entropy_coef / B) * p[j] * (logp[j] + H)
        dout[i, a] += g
    return loss / B, entropy / B, dout
