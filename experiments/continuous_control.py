"""Continuous actions: a Gaussian policy on PointReach (solved) and on Pendulum-v1 (a fixed budget).

    sandbox run continuous-control [--seed N] [--set reach_steps=60000 --set pendulum_steps=100000]
    python experiments/continuous_control.py

PolicyGradient with a Gaussian policy (the network gives the mean, a learned
log-std the spread). ``sandbox/PointReach-v0`` (``envs/continuous.py``):
steer a point to a target; "solved" here means the deterministic policy
(the mean action) reaches the target in at least ``success_goal`` of 100
evaluation episodes. Pendulum-v1 (swing up and hold) gets a fixed budget of
env steps and is reported as it is: the mean return of 100 evaluation
evaluation episodes after training next to a random policy's, and the mean
of the first training episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from agents.policy_gradient import PolicyGradient
from sandbox import plots, presets
from sandbox.checks import check_number
from sandbox.environments import make_env
from sandbox.experiment import Experiment, Run
from sandbox.rollout import evaluate
from sandbox.seeding import derive_seed

REACH = "sandbox/PointReach-v0"
PENDULUM = "Pendulum-v1"


@dataclass
class Config:
    seed: int = 0
    reach_steps: int = 60_000  # env-step budget on PointReach
    pendulum_steps: int = 100_000  # 0 skips Pendulum
    eval_episodes: int = 100
    success_goal: float = 0.95  # PointReach success rate that counts as solved

    def validate(self) -> None:
        check_number("reach_steps", self.reach_steps, low=1, integer=True)
        check_number("pendulum_steps", self.pendulum_steps, low=0, integer=True)
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        check_number("success_goal", self.success_goal, low=0.0, high=1.0)


def reach_agent(seed: int) -> PolicyGradient:
    return PolicyGradient(
        hidden=(64,),
        activation="tanh",
        n_envs=16,
        n_steps=32,
        update_epochs=4,
        minibatches=1,
        gamma=0.95,
        learning_rate=1e-3,
        seed=seed,
    )


def pendulum_agent(seed: int) -> PolicyGradient:
    # RL Zoo's PPO settings for Pendulum (short horizon, long rollouts, 10 epochs): the preset
    # learn-env and the suite apply too, so the three run the same agent.
    return PolicyGradient(**presets.get("PolicyGradient/Pendulum-v1").params, seed=seed)


def random_policy(env_id: str, seed: int):
    space = make_env(env_id).action_space
    space.seed(seed)
    return lambda obs: space.sample()


def train_and_evaluate(
    cfg: Config, env_id: str, agent: PolicyGradient, steps: int, progress: bool = False
) -> dict:
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seed = derive_seed(cfg.seed, "evaluation")
        rand = evaluate(
            random_policy(env_id, cfg.seed), env_id, episodes=cfg.eval_episodes, seed=seed
        )
        agent.fit(env_id, steps=steps, progress=progress)
        after = agent.evaluate(env_id, episodes=cfg.eval_episodes, seed=seed)
    finally:
        torch.set_num_threads(n)
    h = agent.history_
    first = h["episode_returns"][: cfg.eval_episodes]
    return {
        "random": rand,
        "trained": after,
        "first_train_mean": float(np.mean(first)) if first else None,
        "training": agent.training_,
        "log_std": agent.log_std.tolist(),
        "steps": h["episode_end_steps"],
        "returns": h["episode_returns"],
    }


def report(run: Run, name: str, r: dict) -> list:
    for step, ret in zip(r["steps"], r["returns"]):
        run.log(f"{name}/train", step, episode_return=ret)
    rows = []
    for who in ("random", "trained"):
        e = r[who]
        rows.append(
            [
                f"{name}: {who}",
                e["mean_return"],
                e["std_return"],
                e["success_rate"],
                e["mean_length"],
            ]
        )
    return rows


def run(cfg: Config, run: Run) -> dict:
    import envs.continuous  # noqa: F401  registers sandbox/PointReach-v0; imported here so `sandbox list` never depends on it

    reach = run.stage(
        "reach",
        lambda: train_and_evaluate(
            cfg, REACH, reach_agent(cfg.seed), cfg.reach_steps, run.progress("reach")
        ),
    )
    rows = report(run, "PointReach", reach)
    summary = {
        "reach_success_rate": reach["trained"]["success_rate"],
        "reach_mean_return": reach["trained"]["mean_return"],
        "reach_random_mean_return": reach["random"]["mean_return"],
        "reach_solved": reach["trained"]["success_rate"] >= cfg.success_goal,
        "reach_train_steps": reach["training"]["steps"],
        "reach_train_seconds": reach["training"]["seconds"],
    }
    curves = {"PointReach": (reach["steps"], reach["returns"])}
    if cfg.pendulum_steps:
        pend = run.stage(
            "pendulum",
            lambda: train_and_evaluate(
                cfg,
                PENDULUM,
                pendulum_agent(cfg.seed),
                cfg.pendulum_steps,
                run.progress("pendulum"),
            ),
        )
        rows += report(run, "Pendulum-v1", pend)
        summary.update(
            {
                "pendulum_mean_return": pend["trained"]["mean_return"],
                "pendulum_first_episodes_mean_return": pend["first_train_mean"],
                "pendulum_random_mean_return": pend["random"]["mean_return"],
                "pendulum_train_steps": pend["training"]["steps"],
                "pendulum_train_seconds": pend["training"]["seconds"],
            }
        )
        run.save_plot(
            plots.learning_curve(
                {"Pendulum-v1": (pend["steps"], pend["returns"])},
                window=20,
                title=f"Pendulum-v1: Gaussian PolicyGradient, {cfg.pendulum_steps:,} steps",
            ),
            "pendulum_curve",
        )
    run.say(f"\nDeterministic evaluation over {cfg.eval_episodes} episodes:")
    run.table("evaluation", ["policy", "mean return", "std", "success rate", "mean length"], rows)
    ok = "solved" if summary["reach_solved"] else "NOT solved"
    run.say(
        f"PointReach {ok}: success rate {summary['reach_success_rate']:.2f} (goal {cfg.success_goal:g}); "
        f"final log-std {np.round(reach['log_std'], 2).tolist()}"
    )
    run.save_plot(
        plots.learning_curve(curves, window=100, title="PointReach: Gaussian PolicyGradient"),
        "reach_curve",
    )
    return summary


EXPERIMENT = Experiment(
    "continuous-control",
    "Gaussian PolicyGradient: PointReach solved, Pendulum-v1 on a fixed budget",
    Config,
    run,
    tour={"reach_steps": 8_000, "pendulum_steps": 0, "eval_episodes": 10},
    tour_order=70,
    paradigm="reinforcement",
    headline=("reach_success_rate", "reach_mean_return", "reach_random_mean_return"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
