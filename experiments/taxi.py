"""Q-learning on Taxi-v4 against value iteration's optimal policy.

    sandbox run taxi [--seed N] [--set episodes=20000 ...]
    python experiments/taxi.py

Taxi is deterministic except for where the episode starts, so each greedy
policy's mean return is also computed exactly: the undiscounted return within
the 200-step limit from every start state, weighted by the start distribution.
Both policies are also run for ``eval_episodes`` simulated episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents import QLearning, ValueIteration
from agents.planning import Model, policy_value, start_distribution, transition_model
from sandbox import plots
from sandbox.checks import check_number
from sandbox.environments import make_env
from sandbox.experiment import Experiment, Run, learner_kwargs

ENV_ID, LIMIT = "Taxi-v4", 200


@dataclass
class Config:
    seed: int = 0
    episodes: int = 10_000
    gamma: float = 0.99
    learning_rate: float = 0.5
    learning_rate_end: float = 0.05  # linear decay over the run
    epsilon_end: float = 0.01  # epsilon decays linearly from 1 over the first half
    eval_episodes: int = 10_000
    curve_points: int = 50

    def validate(self) -> None:
        for key in ("episodes", "eval_episodes", "curve_points"):
            check_number(key, getattr(self, key), low=1, integer=True)
        check_number("gamma", self.gamma, low=0.0, high=1.0)
        check_number("learning_rate", self.learning_rate, low=0.0, high=1.0, low_open=True)
        check_number("learning_rate_end", self.learning_rate_end, low=0.0, high=1.0, low_open=True)
        check_number("epsilon_end", self.epsilon_end, low=0.0, high=1.0)


def exact_mean_return(model: Model, start: np.ndarray, policy: np.ndarray) -> float:
    """Expected undiscounted return within the time limit, over the start distribution."""
    return float(start @ policy_value(model, policy, horizon=LIMIT))


def solve(cfg: Config) -> dict:
    env = make_env(ENV_ID)
    model, start = transition_model(env), start_distribution(env)
    plan = ValueIteration(gamma=cfg.gamma).fit(env)
    result = plan.evaluate(ENV_ID, episodes=cfg.eval_episodes, seed=cfg.seed)
    return {
        "exact": exact_mean_return(model, start, plan.policy_),
        "simulated": result["mean_return"],
        "sweeps": plan.n_iter_,
    }


def learn(cfg: Config, progress: bool = False) -> dict:
    env = make_env(ENV_ID)
    model, start = transition_model(env), start_distribution(env)
    curve: list[tuple[int, float]] = []
    agent = QLearning(
        **learner_kwargs(
            cfg,
            "agent",
            gamma=cfg.gamma,
            learning_rate=cfg.learning_rate,
            learning_rate_schedule="linear",
            learning_rate_end=cfg.learning_rate_end,
            epsilon_start=1.0,
            epsilon_end=cfg.epsilon_end,
            exploration_fraction=0.5,
            seed=cfg.seed,
        )
    )
    every = max(1, cfg.episodes // cfg.curve_points)

    def score(
        info: dict,
    ) -> None:  # the greedy policy's exact mean return, about every `every` episodes
        if info["done"] >= (len(curve) + 1) * every:
            curve.append((info["done"], exact_mean_return(model, start, info["policy"])))

    agent.fit(env, episodes=cfg.episodes, callback=score, progress=progress)
    result = agent.evaluate(ENV_ID, episodes=cfg.eval_episodes, seed=cfg.seed)
    return {
        "exact": exact_mean_return(model, start, agent.policy_),
        "simulated": result["mean_return"],
        "std": result["std_return"],
        "success": result["success_rate"],
        "steps": agent.n_steps_,
        "curve": curve,
        "training_returns": agent.history_["episode_returns"],
    }


def run(cfg: Config, run: Run) -> dict:
    opt = run.stage("value_iteration", lambda: solve(cfg))
    q = run.stage("q_learning", lambda: learn(cfg, run.progress("q_learning")))
    for done, value in q["curve"]:
        run.log("q_learning/greedy_exact", done, mean_return=value)
    run.say(f"\n{ENV_ID}: mean return of the greedy policy ({LIMIT}-step limit)")
    run.table(
        "returns",
        ["policy", "exact", f"simulated ({cfg.eval_episodes} episodes)", "how"],
        [
            [
                "value iteration",
                opt["exact"],
                opt["simulated"],
                f"gamma={cfg.gamma}, {opt['sweeps']} sweeps",
            ],
            [
                "Q-learning",
                q["exact"],
                q["simulated"],
                f"{cfg.episodes} episodes, {q['steps']} steps",
            ],
        ],
    )
    ok = q["simulated"] >= 7.8
    run.say(f"target: Q-learning >= 7.8: {'met' if ok else 'NOT met'}")
    x, y = zip(*q["curve"])
    returns = np.asarray(q["training_returns"])
    window = max(1, len(returns) // 100)
    smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
    run.save_plot(
        plots.xy_curves(
            {
                "greedy policy (exact)": (x, y),
                f"training episodes (epsilon-greedy, mean of {window})": (
                    np.arange(window, len(returns) + 1),
                    smooth,
                ),
            },
            hlines={"value iteration (exact)": opt["exact"]},
            xlabel="training episode",
            ylabel="return per episode",
            title="Q-learning on Taxi-v4",
            ylim=(-200, 15),
        ),
        "learning_curve",
    )
    return {
        "q_learning_mean_return": q["simulated"],
        "q_learning_exact_mean_return": q["exact"],
        "optimal_mean_return": opt["simulated"],
        "optimal_exact_mean_return": opt["exact"],
        "eval_episodes": cfg.eval_episodes,
        "training_steps": q["steps"],
        "target_met": ok,
    }


EXPERIMENT = Experiment(
    "taxi",
    "Q-learning on Taxi-v4 against value iteration's optimum, exact and simulated",
    Config,
    run,
    headline=("q_learning_mean_return", "optimal_mean_return"),
    paradigm="reinforcement + planning",
    learners={"agent": "agents.tabular:QLearning"},
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
