"""Sutton & Barto's 10-armed testbed (figure 2.2): greedy vs epsilon-greedy, and UCB.

    sandbox run bandit [--seed N] [--set runs=2000 --set steps=1000 --set drift=0.01 ...]
    python experiments/bandit.py

``runs`` independent bandit problems (arm means ~ N(0, 1), rewards ~
N(mean, 1)); every agent learns each problem from scratch for ``steps``
pulls, and the curves are averages over the runs: the average reward at
each step and the % of runs that chose the optimal arm. All agents face
the same problems and the same reward noise (one seed), so their
differences are the agents'. The runs are vectorised (arrays of shape
(runs, k)), so the book's 2000 x 1000 takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.bandit import UCB, EpsilonGreedy
from envs.bandit import Testbed
from sandbox import plots
from sandbox.checks import check_number
from sandbox.experiment import Experiment, Run


@dataclass
class Config:
    seed: int = 0
    k: int = 10  # arms of the bandit
    steps: int = 1000  # pulls per run
    runs: int = 2000
    epsilons: tuple[float, ...] = (
        0.0,
        0.01,
        0.1,
    )  # the epsilon-greedy players compared, comma-separated
    learning_rate: float | None = None  # None: sample averages; a constant tracks drifting arms
    ucb_c: float | None = 2.0  # None leaves UCB out
    drift: float = 0.0  # random-walk std of every arm mean per step (0: stationary)
    tail: int = 100  # the table's "last steps" window

    def validate(self) -> None:
        check_number("k", self.k, low=2, integer=True)
        check_number("steps", self.steps, low=1, integer=True)
        check_number("runs", self.runs, low=1, integer=True)
        if not self.epsilons:
            raise ValueError(
                "epsilons is empty; give at least one, e.g. --set epsilons=0,0.01,0.1."
            )
        for e in self.epsilons:
            check_number("epsilons[i]", e, low=0.0, high=1.0)
        check_number("drift", self.drift, low=0.0)
        check_number("tail", self.tail, low=1, high=self.steps, integer=True)


def agents(cfg: Config) -> dict[str, object]:
    out = {
        f"epsilon={e:g}": EpsilonGreedy(
            epsilon_start=e, epsilon_end=e, learning_rate=cfg.learning_rate, seed=cfg.seed
        )
        for e in cfg.epsilons
    }
    if cfg.ucb_c is not None:
        out[f"UCB c={cfg.ucb_c:g}"] = UCB(
            c=cfg.ucb_c, learning_rate=cfg.learning_rate, seed=cfg.seed
        )
    return out


def learn_all(cfg: Config, progress: bool = False) -> dict[str, dict[str, list[float]]]:
    curves = {}
    for name, agent in agents(cfg).items():
        testbed = Testbed(cfg.k, cfg.runs, drift=cfg.drift, rng=np.random.default_rng(cfg.seed))
        agent.fit(
            testbed, steps=cfg.steps, progress=progress
        )  # all runs at once: one bar per agent
        curves[name] = {
            "reward": agent.history_["reward"].tolist(),
            "optimal": agent.history_["optimal"].tolist(),
        }
    return curves


def run(cfg: Config, run: Run) -> dict:
    kind = f"drifting (std {cfg.drift:g} per step)" if cfg.drift else "stationary"
    run.say(f"{cfg.runs} runs of a {cfg.k}-armed {kind} testbed, {cfg.steps} steps each")
    curves = run.stage("learn", lambda: learn_all(cfg, run.progress("learn")))
    rows, results = [], {}
    for name, c in curves.items():
        reward, optimal = np.asarray(c["reward"]), 100 * np.asarray(c["optimal"])
        for t in range(cfg.steps):
            run.log(name, t + 1, average_reward=reward[t], optimal_pct=optimal[t])
        results[name] = {
            "mean_reward": float(reward.mean()),
            "tail_reward": float(reward[-cfg.tail :].mean()),
            "tail_optimal_pct": float(optimal[-cfg.tail :].mean()),
            "final_optimal_pct": float(optimal[-1]),
        }
        r = results[name]
        rows.append(
            [
                name,
                round(r["mean_reward"], 4),
                round(r["tail_reward"], 4),
                round(r["tail_optimal_pct"], 2),
            ]
        )
    run.say("")
    run.table(
        "bandit",
        [
            "agent",
            f"avg reward (steps 1-{cfg.steps})",
            f"avg reward (last {cfg.tail})",
            f"% optimal (last {cfg.tail})",
        ],
        rows,
    )
    run.save_plot(
        plots.curves(
            {n: c["reward"] for n, c in curves.items()},
            xlabel="steps",
            ylabel="average reward",
            title=f"{cfg.k}-armed testbed, {cfg.runs} runs",
        ),
        "average_reward",
    )
    run.save_plot(
        plots.curves(
            {n: 100 * np.asarray(c["optimal"]) for n, c in curves.items()},
            xlabel="steps",
            ylabel="% optimal action",
            title=f"{cfg.k}-armed testbed, {cfg.runs} runs",
        ),
        "optimal_action",
    )
    best = max(results, key=lambda n: results[n]["mean_reward"])
    return {
        "results": results,
        "best_agent": best,
        **{f"{n} % optimal": results[n]["tail_optimal_pct"] for n in results},
    }


EXPERIMENT = Experiment(
    "bandit",
    "Sutton & Barto's 10-armed testbed: greedy vs epsilon-greedy (and UCB), 2000 runs x 1000 steps",
    Config,
    run,
    tour={"runs": 200, "steps": 500},
    tour_order=40,
    paradigm="reinforcement",
    headline=("epsilon=0 % optimal", "epsilon=0.1 % optimal"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
