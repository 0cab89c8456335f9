"""PolicyGradient vs Stable-Baselines3 PPO on CartPole-v1, side by side in one run.

    pip install -e ".[bench]"          # stable-baselines3: a benchmark-only extra
    python benchmarks/rl.py [--seeds 0,1,2] [--budget 200000] [--out bench-rl.json]

For each seed, one after the other in this process with one torch thread:

- SB3 PPO with the RL Zoo settings for CartPole-v1 (8 envs, n_steps 32, batch
  256, gae_lambda 0.8, gamma 0.98, 20 epochs, ent_coef 0, learning rate and
  clip range decayed linearly from 1e-3 and 0.2 over the budget);
- ``PolicyGradient`` with its defaults.

Each is timed from building its envs and model to the end of the episode at
which the mean return of the last 100 training episodes first reaches 475
(both stop there). Reported: median wall seconds and env steps to that
point, their ratio (goals: wall <= 0.25x PPO's; steps <= 150,000), and the
training throughput inside ``fit`` (env steps per second) as a fraction of the
raw rate of the same vector env stepped with random actions (goal >= 0.5).
A run that never reaches 475 counts as infinitely slow.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

ENV = "CartPole-v1"
TARGET, WINDOW = 475.0, 100
GOALS = {"wall_ratio": 0.25, "steps": 150_000, "throughput_fraction": 0.5}


def run_ppo(seed: int, budget: int) -> dict:
    """SB3 PPO with the RL Zoo's CartPole-v1 settings, stopped when the 100-episode mean reaches 475."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env as sb3_vec_env

    class StopWhenSolved(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: deque = deque(maxlen=WINDOW)
            self.solved_at: int | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
                    if len(self.returns) == WINDOW and np.mean(self.returns) >= TARGET:
                        self.solved_at = self.num_timesteps
                        return False
            return True

    def linear(start: float):
        return lambda progress_remaining: progress_remaining * start

    start = time.perf_counter()
    env = sb3_vec_env(ENV, n_envs=8, seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=linear(1e-3),
        clip_range=linear(0.2),
        seed=seed,
        device="cpu",
        verbose=0,
    )
    cb = StopWhenSolved()
    model.learn(total_timesteps=budget, callback=cb)
    seconds = time.perf_counter() - start
    env.close()
    return {
        "solved_at_steps": cb.solved_at,
        "seconds": seconds if cb.solved_at else math.inf,
        "steps": model.num_timesteps,
    }


def run_pg(seed: int, budget: int) -> dict:
    from agents.policy_gradient import PolicyGradient

    start = time.perf_counter()
    agent = PolicyGradient(seed=seed).fit(ENV, steps=budget, target_return=TARGET, window=WINDOW)
    seconds = time.perf_counter() - start
    tr = agent.training_
    solved = tr["solved_at_steps"] is not None
    return {
        "solved_at_steps": tr["solved_at_steps"],
        "seconds": seconds if solved else math.inf,
        "steps": tr["steps"],
        "fit_steps_per_second": tr["steps_per_second"],
        "n_envs": agent.n_envs,
    }


def raw_rate(n_envs: int, steps: int, seed: int) -> float:
    """Env steps per second of the same vector env under uniformly random actions."""
    from sandbox.vector import make_vec_env

    vec = make_vec_env(ENV, n_envs)
    vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(steps // n_envs):
        vec.step(rng.integers(0, 2, n_envs))
    rate = (steps // n_envs) * n_envs / (time.perf_counter() - start)
    vec.close()
    return rate


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (at least 3)")
    p.add_argument(
        "--budget",
        type=int,
        default=200_000,
        help="PPO's step budget (its schedules decay over it)",
    )
    p.add_argument(
        "--pg-budget",
        type=int,
        default=150_000,
        help="PolicyGradient's step budget (its schedule decays over it)",
    )
    p.add_argument(
        "--raw-steps", type=int, default=50_000, help="env steps for each raw-rate measurement"
    )
    p.add_argument("--out", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if len(seeds) < 3:
        p.error(f"--seeds {args.seeds!r}: give at least 3 seeds, e.g. 0,1,2.")
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        p.error(
            'stable-baselines3 is not installed; install the benchmark extra: pip install -e ".[bench]"'
        )
    torch.set_num_threads(1)
    rows = []
    for seed in seeds:
        ppo = run_ppo(seed, args.budget)
        pg = run_pg(seed, args.pg_budget)
        raw = raw_rate(pg["n_envs"], args.raw_steps, seed)
        row = {
            "seed": seed,
            "ppo": ppo,
            "pg": pg,
            "raw_steps_per_second": raw,
            "throughput_fraction": pg["fit_steps_per_second"] / raw,
        }
        rows.append(row)
        print(
            f"seed {seed}: PPO solved at {ppo['solved_at_steps']} steps in {ppo['seconds']:.1f} s; "
            f"PolicyGradient at {pg['solved_at_steps']} steps in {pg['seconds']:.1f} s "
            f"({pg['fit_steps_per_second']:.0f} steps/s in fit vs {raw:.0f} raw: {row['throughput_fraction']:.2f})",
            flush=True,
        )
    summary = summarize(rows)
    print_table(rows, summary)
    if args.out:
        from sandbox.files import atomic_write_json, to_jsonable

        atomic_write_json(
            Path(args.out),
            to_jsonable({"rows": rows, "summary": summary, "goals": GOALS, "argv": sys.argv}),
        )
    return 0


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def summarize(rows: list[dict]) -> dict:
    ppo_wall = _median([r["ppo"]["seconds"] for r in rows])
    pg_wall = _median([r["pg"]["seconds"] for r in rows])
    pg_steps = _median([r["pg"]["solved_at_steps"] or math.inf for r in rows])
    ppo_steps = _median([r["ppo"]["solved_at_steps"] or math.inf for r in rows])
    frac = _median([r["throughput_fraction"] for r in rows])
    ratio = pg_wall / ppo_wall if math.isfinite(ppo_wall) else math.nan
    return {
        "ppo_median_seconds": ppo_wall,
        "pg_median_seconds": pg_wall,
        "wall_ratio": ratio,
        "ppo_median_steps": ppo_steps,
        "pg_median_steps": pg_steps,
        "throughput_fraction": frac,
        "wall_ratio_goal_met": ratio <= GOALS["wall_ratio"],
        "steps_goal_met": pg_steps <= GOALS["steps"],
        "throughput_goal_met": frac >= GOALS["throughput_fraction"],
    }


def print_table(rows: list[dict], s: dict) -> None:
    from sandbox.experiment import format_table

    table = [
        [
            r["seed"],
            r["ppo"]["solved_at_steps"],
            round(r["ppo"]["seconds"], 1),
            r["pg"]["solved_at_steps"],
            round(r["pg"]["seconds"], 1),
            round(r["pg"]["seconds"] / r["ppo"]["seconds"], 3),
            round(r["throughput_fraction"], 3),
        ]
        for r in rows
    ]
    print()
    print(
        format_table(
            ["seed", "PPO steps", "PPO s", "PG steps", "PG s", "PG/PPO wall", "PG fit / raw rate"],
            table,
        )
    )
    ok = {True: "met", False: "NOT met"}
    print(
        f"\nmedian wall seconds to a 100-episode mean of {TARGET:g}: PolicyGradient {s['pg_median_seconds']:.1f}, "
        f"PPO {s['ppo_median_seconds']:.1f}; ratio {s['wall_ratio']:.3f} (goal <= {GOALS['wall_ratio']}: {ok[s['wall_ratio_goal_met']]})"
    )
    print(
        f"median env steps: PolicyGradient {s['pg_median_steps']:,.0f}, PPO {s['ppo_median_steps']:,.0f} "
        f"(goal <= {GOALS['steps']:,}: {ok[s['steps_goal_met']]})"
    )
    print(
        f"training throughput / raw random-action rate of the same vector env: {s['throughput_fraction']:.3f} "
        f"(goal >= {GOALS['throughput_fraction']}: {ok[s['throughput_goal_met']]})"
    )


if __name__ == "__main__":
    raise SystemExit(main())
