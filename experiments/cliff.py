"""Sutton & Barto's cliff walking (Example 6.6, Figure 6.4): Q-learning against SARSA.

    sandbox run cliff [--seed N] [--set runs=100 ...]
    python experiments/cliff.py

CliffWalking-v1, 4 x 12: every step costs -1, stepping into the cliff -100 and
back to the start. Both agents explore with a constant epsilon = 0.1, start
from Q = 0 and learn with a constant learning rate 0.5 for 500 episodes,
averaged over ``runs`` independent runs (seeds derived from the run's seed).
Q-learning learns the values of the greedy policy, the short path along the
edge (return -13), but while exploring it keeps falling in, so its online
return is worse. SARSA learns the values of the policy it
follows, exploration included, and prefers the safe path further away.
Expected SARSA, which bootstraps from the epsilon-greedy expectation, is shown
beside them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from agents import SARSA, ExpectedSARSA, QLearning
from sandbox import plots
from sandbox.checks import check_number
from sandbox.environments import make_env
from sandbox.experiment import Experiment, Run
from sandbox.progress import Reporter
from sandbox.seeding import derive_seed

ENV_ID, SHAPE, START = "CliffWalking-v1", (4, 12), 36
AGENTS = {"Q-learning": QLearning, "SARSA": SARSA, "Expected SARSA": ExpectedSARSA}


@dataclass
class Config:
    seed: int = 0
    runs: int = 50
    episodes: int = 500
    epsilon: float = 0.1  # constant, as in the book
    learning_rate: float = 0.5
    gamma: float = 1.0  # undiscounted, as in the book
    with_expected_sarsa: bool = True  # also run Expected SARSA
    smooth: int = 10  # episodes per point of the plotted curve

    def validate(self) -> None:
        for key in ("runs", "episodes", "smooth"):
            check_number(key, getattr(self, key), low=1, integer=True)
        check_number("epsilon", self.epsilon, low=0.0, high=1.0)
        check_number("learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        check_number("gamma", self.gamma, low=0.0, high=1.0)


def greedy_path(agent: QLearning, max_steps: int = 100) -> tuple[list[int], float]:
    """States visited by the greedy policy from the start, and its return (capped at ``max_steps``)."""
    env = make_env(ENV_ID)
    s, _ = env.reset(seed=0)
    path, total = [int(s)], 0.0
    for _ in range(max_steps):
        s, reward, terminated, truncated, _ = env.step(agent.act(s))
        path.append(int(s))
        total += float(reward)
        if terminated or truncated:
            break
    return path, total


def train(cfg: Config, name: str, progress: bool = False) -> dict:
    returns, greedy, paths = [], [], []
    with Reporter(
        None, progress, desc=name, unit="runs", total=cfg.runs
    ) as report:  # one bar for all the runs
        for i in range(cfg.runs):
            agent = AGENTS[name](
                gamma=cfg.gamma,
                learning_rate=cfg.learning_rate,
                learning_rate_schedule="constant",  # the book's setting, whatever the defaults
                epsilon_start=cfg.epsilon,
                epsilon_end=cfg.epsilon,
                initial_q=0.0,  # the book's too
                seed=derive_seed(cfg.seed, "run", i),
            )
            agent.fit(ENV_ID, episodes=cfg.episodes)
            returns.append(agent.history_["episode_returns"])
            path, total = greedy_path(agent)
            greedy.append(total)
            paths.append(path)
            report(done=i + 1)
    common, count = Counter(tuple(p) for p in paths).most_common(1)[0]
    return {
        "online": np.mean(returns, axis=0).tolist(),
        "greedy": greedy,
        "path": list(common),
        "path_runs": count,
    }


def run(cfg: Config, run: Run) -> dict:
    names = [n for n in AGENTS if cfg.with_expected_sarsa or n != "Expected SARSA"]
    results = {
        n: run.stage(
            n.lower().replace(" ", "_"),
            lambda n=n: train(cfg, n, run.progress(n.lower().replace(" ", "_"))),
        )
        for n in names
    }
    rows, curves, paths = [], {}, {}
    for name, r in results.items():
        online = np.asarray(r["online"])
        for episode, value in enumerate(online, 1):
            run.log(name, episode, online_return=value)
        greedy = Counter(r["greedy"]).most_common(1)[0][0]
        rows.append(
            [
                name,
                float(online.mean()),
                float(online[-100:].mean()),
                greedy,
                f"{sum(g == greedy for g in r['greedy'])}/{cfg.runs}",
                len(r["path"]) - 1,
            ]
        )
        k = cfg.smooth
        points = online[: len(online) // k * k].reshape(-1, k).mean(axis=1)
        curves[name] = (np.arange(1, len(points) + 1) * k, points)
        paths[f"{name} (return {greedy:g})"] = [divmod(s, SHAPE[1]) for s in r["path"]]
    run.say(
        f"\n{ENV_ID}, epsilon={cfg.epsilon}, learning rate {cfg.learning_rate}, {cfg.episodes} episodes, {cfg.runs} runs"
    )
    run.table(
        "cliff",
        [
            "agent",
            "online return (all episodes)",
            "online return (last 100)",
            "greedy return (most runs)",
            "runs with it",
            "greedy path length",
        ],
        rows,
    )
    run.save_plot(
        plots.xy_curves(
            curves,
            xlabel="episode",
            ylabel=f"sum of rewards during episode (mean of {cfg.runs} runs)",
            title="Cliff walking: online performance (Sutton & Barto, Figure 6.4)",
            ylim=(-100, 0),
        ),
        "online_return",
    )
    cliff = [(3, c) for c in range(1, 11)]
    run.save_plot(
        plots.grid_paths(
            SHAPE,
            paths,
            marked={"cliff": cliff, "start": [(3, 0)], "goal": [(3, 11)]},
            title="Greedy paths after learning (the most common over runs)",
        ),
        "paths",
    )
    summary = {}
    for name, row in zip(results, rows):
        key = name.lower().replace(" ", "_").replace("-", "_")
        summary[f"{key}_online_return"] = row[1]
        summary[f"{key}_online_return_last_100"] = row[2]
        summary[f"{key}_greedy_return"] = row[3]
    summary["sarsa_above_q_learning"] = (
        summary["sarsa_online_return"] > summary["q_learning_online_return"]
    )
    run.say(f"SARSA's online return above Q-learning's: {summary['sarsa_above_q_learning']}")
    return summary


EXPERIMENT = Experiment(
    "cliff",
    "Sutton & Barto's cliff walking: Q-learning's edge path against SARSA's safe path",
    Config,
    run,
    headline=("q_learning_greedy_return", "sarsa_greedy_return"),
    paradigm="reinforcement",
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
