"""Classification from reward alone: LinUCB on datasets turned into contextual bandits.

    sandbox run contextual-bandit [--seed N] [--set datasets=iris,wine --set steps=5000]
    python experiments/contextual_bandit.py

Each dataset is split into train and test (stratified). On the train part,
:class:`envs.ContextualBandit` shows LinUCB one sample at a time; LinUCB picks
a label and is told only whether it was right (reward 1 or 0), never the
label itself. Its greedy choices on the untouched test part are then scored
as a classifier's accuracy, next to a logistic regression that was given every
label (scikit-learn, the supervised reference) and to chance (1 / classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from agents.bandit import LinUCB
from envs.contextual_bandit import BUNDLED, ContextualBandit, load_classification
from sandbox import plots
from sandbox.checks import check_choice, check_number
from sandbox.experiment import Experiment, Run, learner_kwargs


@dataclass
class Config:
    seed: int = 0
    datasets: tuple[str, ...] = ("iris", "wine", "breast_cancer", "digits")
    steps: int = 3000  # one sample, one guess, one reward per step
    c: float = 1.0  # LinUCB's exploration width
    test_size: float = 0.3

    def validate(self) -> None:
        if not self.datasets:
            raise ValueError(f"datasets is empty; choose some of {', '.join(BUNDLED)}.")
        for name in self.datasets:
            check_choice("datasets[i]", name, BUNDLED)
        check_number("steps", self.steps, low=1, integer=True)
        check_number("c", self.c, low=0.0)
        check_number("test_size", self.test_size, low=0.0, high=1.0, low_open=True, high_open=True)


def one_dataset(cfg: Config, name: str, progress: bool = False) -> dict:
    X, y = load_classification(name)
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=cfg.test_size, random_state=cfg.seed, stratify=y
    )
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0
    X_tr, X_te = (X_tr - mean) / std, (X_te - mean) / std  # scaled by the train part only
    env = ContextualBandit((X_tr, y_tr), standardize=False)
    agent = LinUCB(**learner_kwargs(cfg, "agent", c=cfg.c, seed=cfg.seed)).fit(
        env, steps=cfg.steps, progress=progress
    )
    bandit_acc = float(np.mean(env.classes[agent.act(X_te)] == y_te))
    supervised = LogisticRegression(max_iter=5000).fit(X_tr, y_tr)
    return {
        "classes": int(len(env.classes)),
        "train_samples": int(len(y_tr)),
        "bandit_test_accuracy": bandit_acc,
        "supervised_test_accuracy": float(supervised.score(X_te, y_te)),
        "chance": 1.0 / len(env.classes),
        "online_reward": agent.history_["reward"].tolist(),
    }


def run(cfg: Config, run: Run) -> dict:
    results = {
        name: run.stage(name, lambda name=name: one_dataset(cfg, name, run.progress(name)))
        for name in cfg.datasets
    }
    rows, curves = [], {}
    for name, r in results.items():
        online = np.asarray(r.pop("online_reward"))
        window = max(1, min(200, len(online) // 10))
        curves[name] = np.convolve(online, np.ones(window) / window, mode="valid")
        for t in range(window - 1, len(online), max(1, len(online) // 200)):
            run.log(name, t + 1, online_accuracy=curves[name][t - window + 1])
        rows.append(
            [
                name,
                r["classes"],
                r["train_samples"],
                round(r["bandit_test_accuracy"], 4),
                round(r["supervised_test_accuracy"], 4),
                round(r["chance"], 4),
            ]
        )
    run.say(
        f"\nLinUCB after {cfg.steps} rewards (never a label) vs a classifier given every label, on held-out data:"
    )
    run.table(
        "accuracy",
        [
            "dataset",
            "classes",
            "train samples",
            "LinUCB (reward only)",
            "logistic regression (labels)",
            "chance",
        ],
        rows,
    )
    run.save_plot(
        plots.curves(
            curves,
            xlabel="step (one sample, one guess)",
            ylabel="reward (moving average) = online accuracy",
            title="Learning to classify from reward alone (LinUCB)",
        ),
        "online_accuracy",
    )
    return {
        "results": results,
        **{f"{n}_bandit_accuracy": r["bandit_test_accuracy"] for n, r in results.items()},
    }


EXPERIMENT = Experiment(
    "contextual-bandit",
    "classification from reward alone: LinUCB on datasets as contextual bandits, vs logistic regression with labels",
    Config,
    run,
    tour={"datasets": ("iris",), "steps": 1000},
    tour_order=55,
    learners={"agent": "agents.bandit:LinUCB"},
    paradigm="reinforcement",
    headline=("iris_bandit_accuracy",),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
