"""The article's worked example: y = 2x + 1 + noise, fitted several ways side by side.

    sandbox run linear-regression [--seed N] [--set learning_rate=0.05 ...]
    python experiments/linear_regression.py

(i) the article's by-hand NumPy loop, (ii) LinearRegressor on the NumPy
engine, (iii) on torch, (iv) the closed form (exact least squares), and
(v) torch with shuffled mini-batches of 32, which is what the article's Keras
``model.fit(x, y, epochs=300)`` does by default. First the article's 300
iterations, then enough iterations to converge, where every full-batch
gradient-descent fit must agree with the closed form to ``tolerance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents import LinearRegressor
from sandbox import plots
from sandbox.checks import check_number
from sandbox.data import article_line
from sandbox.errors import DivergenceError
from sandbox.experiment import Experiment, Run


@dataclass
class Config:
    seed: int = 0
    n: int = 100
    noise: float = 0.1
    learning_rate: float = 0.1
    iterations: int = 300  # as in the article
    converge_iterations: int = 3000  # iterations of the second, converged round
    keras_batch_size: int = 32  # Keras' default batch size in model.fit
    tolerance: float = 1e-3  # largest gap to the closed form that counts as agreeing

    def validate(self) -> None:
        check_number("n", self.n, low=2, integer=True)
        check_number("noise", self.noise, low=0.0)
        check_number("learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_number("iterations", self.iterations, low=1, integer=True)
        check_number("converge_iterations", self.converge_iterations, low=1, integer=True)
        check_number("keras_batch_size", self.keras_batch_size, low=1, integer=True)
        check_number("tolerance", self.tolerance, low=0.0, low_open=True)


def by_hand(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, b: np.ndarray, lr: float, iterations: int
) -> dict:
    """The article's loop, line for line (gradients of the MSE written out), plus a divergence check."""
    losses = []
    for i in range(iterations):
        predictions = w * x + b
        with np.errstate(over="ignore", invalid="ignore"):
            losses.append(float(np.mean((y - predictions) ** 2)))
        if not math.isfinite(losses[-1]):
            raise DivergenceError(
                f"the by-hand loop's loss became {losses[-1]} at iteration {i + 1} "
                f"(learning rate {lr:g}); try a smaller learning rate."
            )
        w_grad = -2 * np.mean((y - predictions) * x)
        b_grad = -2 * np.mean(y - predictions)
        w = w - lr * w_grad
        b = b - lr * b_grad
    return {"w": float(w[0]), "b": float(b[0]), "loss": losses}


def fit_all(
    cfg: Config, iterations: int, with_keras: bool, progress: bool = False
) -> dict[str, dict]:
    rs = np.random.RandomState(cfg.seed)
    x, y = article_line(cfg.n, noise=cfg.noise, random_state=rs)
    w0, b0 = rs.randn(1), rs.randn(1)  # the article draws its start after the data
    out = {"by-hand numpy": by_hand(x, y, w0, b0, cfg.learning_rate, iterations)}
    common = dict(learning_rate=cfg.learning_rate, max_iter=iterations, seed=cfg.seed)
    models = {
        "LinearRegressor numpy": LinearRegressor(backend="numpy", **common),
        "LinearRegressor torch": LinearRegressor(backend="torch", **common),
        "closed form": LinearRegressor(solver="closed-form", seed=cfg.seed),
    }
    if with_keras:
        steps_per_epoch = math.ceil(cfg.n / cfg.keras_batch_size)
        models["keras-style minibatch"] = LinearRegressor(
            backend="torch",
            learning_rate=cfg.learning_rate,
            max_iter=iterations * steps_per_epoch,
            batch_size=cfg.keras_batch_size,
            seed=cfg.seed,
        )
    for name, model in models.items():
        model.fit(x, y[:, 0], progress=progress)
        out[name] = {
            "w": float(model.coef_[0]),
            "b": float(model.intercept_),
            "loss": list(model.history_["loss"]),
        }
    for r in out.values():
        r["mse"] = float(np.mean((r["w"] * x[:, 0] + r["b"] - y[:, 0]) ** 2))
    return out


KERAS_INSTALL = "pip install 'learning-sandbox[keras]'"


def keras_program(
    x: np.ndarray, y: np.ndarray, learning_rate: float, epochs: int, seed: int
) -> dict:
    """The article's Keras program as it wrote it (``Sequential``, ``Dense``, ``SGD``, ``fit``), on Keras 3
    with the torch backend; only ``verbose=0`` is added, so 300 epochs print no progress lines here.

    Returns {"w", "b", "loss" (one per epoch)}, or {"missing": how to install it} without the extra.
    """
    import os
    import warnings

    os.environ.setdefault("KERAS_BACKEND", "torch")
    try:
        import keras
    except ImportError:
        return {"missing": f"Keras not installed: {KERAS_INSTALL}"}
    from keras.layers import Dense
    from keras.models import Sequential
    from keras.optimizers import SGD

    keras.utils.set_random_seed(seed)  # the starting weights and fit's shuffling
    model = Sequential()
    with (
        warnings.catch_warnings()
    ):  # Keras 3 prefers an Input layer to the article's input_dim; same model
        warnings.filterwarnings("ignore", message="Do not pass an `input_shape`/`input_dim`")
        model.add(Dense(1, input_dim=1, activation="linear"))
    model.compile(optimizer=SGD(learning_rate=learning_rate), loss="mse")
    history = model.fit(x, y, epochs=epochs, verbose=0)
    weights, bias = model.layers[0].get_weights()
    return {
        "w": float(weights[0][0]),
        "b": float(bias[0]),
        "loss": [float(v) for v in history.history["loss"]],
        "backend": keras.backend.backend(),
    }


def torch_program(
    x: np.ndarray, y: np.ndarray, learning_rate: float, epochs: int, seed: int
) -> dict:
    """The article's PyTorch program as it wrote it (an ``nn.Module`` around ``nn.Linear(1, 1)``,
    ``nn.MSELoss``, ``optim.SGD``, one full-batch step per epoch), on the same data as the other rows
    (the article draws its own with ``torch.rand``) and without its per-epoch print."""
    import torch
    import torch.nn as nn
    import torch.optim as optim

    torch.manual_seed(seed)
    x_t, y_t = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)

    class LinearRegressionModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(1, 1)

        def forward(self, x):
            return self.linear(x)

    model = LinearRegressionModel()
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=learning_rate)
    losses = []
    for _ in range(epochs):
        model.train()
        optimizer.zero_grad()
        outputs = model(x_t)
        loss = criterion(outputs, y_t)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {
        "w": model.linear.weight.data.item(),
        "b": model.linear.bias.data.item(),
        "loss": losses,
    }


def article_programs(cfg: Config) -> dict[str, dict]:
    """The article's own Keras and PyTorch programs, as rows beside the others."""
    x, y = article_line(cfg.n, seed=cfg.seed, noise=cfg.noise)
    out = {
        "Keras (the article's code)": keras_program(
            x, y, cfg.learning_rate, cfg.iterations, cfg.seed
        ),
        "PyTorch (the article's code)": torch_program(
            x, y, cfg.learning_rate, cfg.iterations, cfg.seed
        ),
    }
    for r in out.values():
        if "w" in r:
            r["mse"] = float(np.mean((r["w"] * x[:, 0] + r["b"] - y[:, 0]) ** 2))
    return out


def _per_epoch(losses: list[float], epochs: int) -> list[float]:
    """Mean batch loss of each epoch, so mini-batch and full-batch curves share one axis."""
    return [float(np.mean(chunk)) for chunk in np.array_split(np.asarray(losses), epochs)]


def table(run: Run, name: str, title: str, results: dict[str, dict]) -> None:
    ref = results["closed form"]
    rows = [
        [m, r["w"], r["b"], r["mse"], abs(r["w"] - ref["w"]), abs(r["b"] - ref["b"])]
        if "w" in r
        else [m, r["missing"], "", "", "", ""]
        for m, r in results.items()
    ]
    run.say(f"\n{title}")
    run.table(name, ["method", "w", "b", "mse", "|w - w*|", "|b - b*|"], rows)


def run(cfg: Config, run: Run) -> dict:
    article = run.stage(
        "article",
        lambda: fit_all(cfg, cfg.iterations, with_keras=True, progress=run.progress("article")),
    )
    article = {**article, **run.stage("article_programs", lambda: article_programs(cfg))}
    converged = run.stage(
        "converged",
        lambda: fit_all(
            cfg, cfg.converge_iterations, with_keras=False, progress=run.progress("converged")
        ),
    )
    for phase, results in (("article", article), ("converged", converged)):
        for method, r in results.items():
            for step, loss in enumerate(r.get("loss", []), 1):
                run.log(f"{phase}/{method}", step, loss=loss)
    table(
        run,
        "article_table",
        f"After the article's {cfg.iterations} iterations (learning rate {cfg.learning_rate}):",
        article,
    )
    table(run, "converged_table", f"After {cfg.converge_iterations} iterations:", converged)

    ref = converged["closed form"]
    gd = {m: r for m, r in converged.items() if m != "closed form"}
    gap = max(max(abs(r["w"] - ref["w"]), abs(r["b"] - ref["b"])) for r in gd.values())
    ok = gap <= cfg.tolerance
    run.say(
        f"\nlargest gap to the closed form after convergence: {gap:.2e} ({'within' if ok else 'OUTSIDE'} {cfg.tolerance:g})"
    )

    x, y = article_line(cfg.n, seed=cfg.seed, noise=cfg.noise)
    lines = {m: (r["w"], r["b"]) for m, r in article.items() if "w" in r}
    run.save_plot(
        plots.fitted_lines(
            x,
            y,
            lines,
            truth=(2, 1),
            title=f"y = 2x + 1 + noise: fits after {cfg.iterations} iterations",
        ),
        "fits",
    )
    curves = {m: _per_epoch(r["loss"], cfg.iterations) for m, r in article.items() if r.get("loss")}
    run.save_plot(
        plots.curves(
            curves,
            xlabel="epoch (one pass over the data)",
            ylabel="training MSE",
            logy=True,
            hlines={"closed-form MSE": ref["mse"]},
            title="Loss while learning",
        ),
        "loss",
    )
    return {
        "closed_form_w": ref["w"],
        "closed_form_b": ref["b"],
        "article": {
            m: {k: r[k] for k in ("w", "b", "mse", "missing") if k in r} for m, r in article.items()
        },
        "converged": {m: {"w": r["w"], "b": r["b"], "mse": r["mse"]} for m, r in converged.items()},
        "max_gap_to_closed_form": gap,
        "converged_within_tolerance": ok,
    }


EXPERIMENT = Experiment(
    "linear-regression",
    "the article's y = 2x + 1 + noise: by hand, NumPy engine, torch, closed form, side by side",
    Config,
    run,
    tour={},
    tour_order=10,
    paradigm="supervised",
    headline=("closed_form_w", "closed_form_b", "max_gap_to_closed_form"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
