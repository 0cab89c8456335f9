"""Supervised learning, side by side in one run on the same data and split.

    python benchmarks/supervised.py [--repeats 5] [--epochs 20]

1. Digits (scikit-learn's, ``train_test_split(test_size=0.25, stratify=y,
   random_state=0)``, standardised on the training part): the sandbox's
   ``MLPClassifier`` against scikit-learn's ``MLPClassifier`` (same hidden
   layer, Adam, learning rate, batch size and epochs) and ``SVC``: test
   accuracy, fit seconds, and each fit time as a ratio of the sandbox's
   (torch engine; the NumPy engine is listed too).
2. The loop: ``MLPClassifier.fit`` against a hand-written torch loop with the
   same network (built by ``sandbox.nn.build_network`` from the same spec and
   seed), data, batch size, epochs and Adam. The hand-written loop is what a
   tutorial writes: shuffle, slice, forward, cross-entropy, zero_grad,
   backward, step, and sum ``loss.item()`` for the epoch's loss. Goal:
   sandbox / hand-written <= 1.10.

Both are timed alternately (``--repeats`` times for the peers, three times
as often for the loop, whose ratio is the headline, and taking turns at
going first) after a warm-up (torch's first optimizer step imports a lot);
the best time of each is compared, since noise on a shared machine only
ever adds time.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.svm import SVC

from agents.mlp import MLPClassifier
from sandbox.data import Standardizer, load_real, split
from sandbox.experiment import format_table
from sandbox.nn import NetSpec, build_network

GOAL = 1.10


def digits() -> tuple[np.ndarray, ...]:
    X, y = load_real("digits")
    X_tr, X_te, y_tr, y_te = split(X, y, test=0.25, seed=0)
    s = Standardizer().fit(X_tr)
    return s.transform(X_tr), s.transform(X_te), y_tr, y_te


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def hand_written_loop(
    X: np.ndarray, y: np.ndarray, hidden: tuple[int, ...], epochs: int, batch_size: int, lr: float
) -> torch.nn.Module:
    net = build_network(NetSpec(X.shape[1], 10, hidden), seed=0)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    rng = np.random.default_rng(0)
    n = len(Xt)
    for _ in range(epochs):
        net.train()
        perm = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for start in range(0, n, batch_size):
            idx = perm[start : start + batch_size]
            loss = F.cross_entropy(net(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
    return net


def sandbox_classifier(args: argparse.Namespace, backend: str = "torch") -> MLPClassifier:
    """The sandbox classifier both sections time, with the benchmark's settings."""
    return MLPClassifier(
        hidden=tuple(args.hidden),
        learning_rate=args.lr,
        batch_size=args.batch_size,
        epochs=args.epochs,
        early_stopping=False,
        backend=backend,
        seed=0,
    )


def peers(data: tuple[np.ndarray, ...], args: argparse.Namespace) -> None:
    X_tr, X_te, y_tr, y_te = data
    hidden = tuple(args.hidden)
    fits = {
        "sandbox MLPClassifier": lambda: sandbox_classifier(args).fit(X_tr, y_tr),
        "sandbox MLPClassifier, numpy engine": lambda: sandbox_classifier(
            args, backend="numpy"
        ).fit(X_tr, y_tr),
        "scikit-learn MLPClassifier": lambda: SkMLP(
            hidden_layer_sizes=hidden,
            learning_rate_init=args.lr,
            batch_size=args.batch_size,
            max_iter=args.epochs,
            alpha=0.0,
            n_iter_no_change=args.epochs + 1,
            random_state=0,
        ).fit(X_tr, y_tr),
        "scikit-learn SVC": lambda: SVC().fit(X_tr, y_tr),
    }
    best: dict[str, float] = {}
    acc: dict[str, float] = {}
    for _ in range(args.repeats):
        for name, fit in fits.items():
            seconds, model = timed(fit)
            best[name] = min(best.get(name, np.inf), seconds)
            acc[name] = float(np.mean(model.predict(X_te) == y_te))
    ref = best["sandbox MLPClassifier"]
    rows = [[n, f"{acc[n]:.4f}", f"{best[n]:.3f}", f"{best[n] / ref:.2f}"] for n in fits]
    print(
        f"\n1. Digits, {len(y_tr)} train / {len(y_te)} test, hidden {hidden}, {args.epochs} epochs, batch {args.batch_size} "
        f"(best of {args.repeats}):"
    )
    print(format_table(["classifier", "test accuracy", "fit seconds", "time / sandbox"], rows))


def loop(data: tuple[np.ndarray, ...], args: argparse.Namespace) -> float:
    X_tr, _, y_tr, _ = data
    hidden = tuple(args.hidden)
    runs = {
        "sandbox fit (fit_loop + Optimizer)": lambda: sandbox_classifier(args).fit(X_tr, y_tr),
        "hand-written torch loop": lambda: hand_written_loop(
            X_tr, y_tr, hidden, args.epochs, args.batch_size, args.lr
        ),
    }
    for fit in runs.values():  # warm-up: imports and first-step costs
        fit()
    best: dict[str, float] = {}
    names = list(runs)
    repeats = (
        3 * args.repeats
    )  # the ratio is the headline: more tries, so each side meets a quiet moment
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:  # alternate who goes first
            best[name] = min(best.get(name, np.inf), timed(runs[name])[0])
    ratio = best[names[0]] / best[names[1]]
    steps = args.epochs * -(-len(X_tr) // args.batch_size)
    print(
        f"\n2. The training loop: same network, data, Adam, batch {args.batch_size}, {args.epochs} epochs ({steps} updates), "
        f"best of {repeats}:"
    )
    print(
        format_table(
            ["loop", "seconds", "us / update"],
            [[n, f"{best[n]:.3f}", f"{1e6 * best[n] / steps:.0f}"] for n in names],
        )
    )
    print(
        f"sandbox / hand-written = {ratio:.3f} (goal <= {GOAL:.2f}: {'met' if ratio <= GOAL else 'NOT met'})"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, nargs="+", default=[128])
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: steadier timings on a shared machine)",
    )
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    data = digits()
    peers(data, args)
    loop(data, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
