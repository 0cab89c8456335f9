"""How lean is the tabular training loop? Q-learning's env steps per second inside ``fit``,
as a share of the raw env step rate under a random policy, side by side in one run.

    python benchmarks/tabular.py [--steps 100000] [--repeats 5] [--envs FrozenLake8x8-v1,Taxi-v4]

For each env, three loops take turns ``repeats`` times, each on a fresh
``gym.make`` env (same wrappers, same time limit) for ``steps`` steps:

- raw (precomputed actions): ``env.step`` on random actions drawn beforehand in
  one NumPy call, resetting when an episode ends: the env's own cost, the strict peer;
- raw (``action_space.sample()``): the random-policy loop as usually written;
- Q-learning ``fit(env, steps=...)`` (epsilon 0.1, alpha 0.1): the real training loop,
  with epsilon-greedy choice, the TD update and per-episode bookkeeping.

Times are CPU seconds of this process (``time.process_time``), so other programs
competing for the cores slow neither side; each rate is the median over repeats.
Goal: Q-learning >= 0.70 of the strict raw rate.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

from agents import QLearning
from sandbox.experiment import format_table

GOAL = 0.70


def raw_precomputed(env_id: str, steps: int, seed: int) -> float:
    env = gym.make(env_id)
    actions = np.random.default_rng(seed).integers(env.action_space.n, size=steps).tolist()
    env.reset(seed=seed)
    step, reset = env.step, env.reset
    start = time.process_time()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            reset()
    return steps / (time.process_time() - start)


def raw_sample(env_id: str, steps: int, seed: int) -> float:
    env = gym.make(env_id)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    step, reset, sample = env.step, env.reset, env.action_space.sample
    start = time.process_time()
    for _ in range(steps):
        _, _, terminated, truncated, _ = step(sample())
        if terminated or truncated:
            reset()
    return steps / (time.process_time() - start)


def q_learning(env_id: str, steps: int, seed: int) -> float:
    env = gym.make(env_id)
    agent = QLearning(gamma=0.99, alpha=0.1, epsilon=0.1, seed=seed)
    start = time.process_time()
    agent.fit(env, steps=steps)
    elapsed = time.process_time() - start
    assert agent.n_steps_ == steps
    return steps / elapsed


LOOPS = {"raw, precomputed actions": raw_precomputed, "raw, action_space.sample()": raw_sample, "Q-learning fit": q_learning}


def measure(env_id: str, steps: int, repeats: int) -> dict[str, float]:
    rates: dict[str, list[float]] = {name: [] for name in LOOPS}
    for r in range(repeats):  # interleaved, so a slow moment of the machine hits every loop alike
        for name, loop in LOOPS.items():
            rates[name].append(loop(env_id, steps, seed=r))
    return {name: statistics.median(v) for name, v in rates.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--envs", default="FrozenLake8x8-v1,Taxi-v4")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be >= 1")
    rows, ok = [], True
    for env_id in [e.strip() for e in args.envs.split(",") if e.strip()]:
        rates = measure(env_id, args.steps, args.repeats)
        strict = rates["Q-learning fit"] / rates["raw, precomputed actions"]
        usual = rates["Q-learning fit"] / rates["raw, action_space.sample()"]
        ok &= strict >= GOAL
        rows.append([env_id, *(round(rates[n]) for n in LOOPS), round(strict, 3), round(usual, 3)])
    print(f"env steps per CPU second, median of {args.repeats} interleaved repeats of {args.steps} steps each")
    print(format_table(["env", *LOOPS, "fit / raw precomputed", "fit / raw sample()"], rows))
    print(f"goal: Q-learning fit >= {GOAL} x raw precomputed on every env: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
