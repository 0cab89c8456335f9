"""How lean is the tabular training loop? Q-learning's env steps per second inside ``fit``,
as a share of the raw env step rate under a random policy, side by side in one run.

    python benchmarks/tabular.py [--steps 100000] [--repeats 5] [--envs FrozenLake8x8-v1,Taxi-v4]
    python benchmarks/tabular.py --blackjack [--train-episodes 300000] [--eval-episodes 100000]

For each env, three loops take turns ``repeats`` times, each on a fresh
``gym.make`` env (same wrappers, same time limit) for ``steps`` steps:

- raw (precomputed actions): ``env.step`` on random actions drawn beforehand in
  one NumPy call, resetting when an episode ends: the env's own cost, the strict peer;
- raw (``action_space.sample()``): the random-policy loop as usually written;
- Q-learning ``fit(env, steps=...)`` (constant epsilon 0.1, learning rate 0.1): the real training loop,
  with epsilon-greedy choice, the TD update and per-episode bookkeeping.

Times are CPU seconds of this process (``time.process_time``), so other programs
competing for the cores slow neither side; each rate is the median over repeats.
Goal: Q-learning >= 0.70 of the strict raw rate.

``--blackjack`` instead measures what Q-learning learns on ``Blackjack-v1``, whose
Tuple observations the tabular agents flatten through
:class:`sandbox.wrappers.FlattenDiscrete`: the greedy policy's mean return over
``--eval-episodes`` episodes beside the hand-coded basic strategy's
(:func:`basic_strategy`) on the same episode seeds.
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
    agent = QLearning(gamma=0.99, learning_rate=0.1, epsilon_start=0.1, epsilon_end=0.1, seed=seed)
    start = time.process_time()
    agent.fit(env, steps=steps)
    elapsed = time.process_time() - start
    assert agent.n_steps_ == steps
    return steps / elapsed


LOOPS = {
    "raw, precomputed actions": raw_precomputed,
    "raw, action_space.sample()": raw_sample,
    "Q-learning fit": q_learning,
}


def measure(env_id: str, steps: int, repeats: int) -> dict[str, float]:
    rates: dict[str, list[float]] = {name: [] for name in LOOPS}
    for r in range(repeats):  # interleaved, so a slow moment of the machine hits every loop alike
        for name, loop in LOOPS.items():
            rates[name].append(loop(env_id, steps, seed=r))
    return {name: statistics.median(v) for name, v in rates.items()}


def basic_strategy(obs: tuple[int, int, int]) -> int:
    """Blackjack's basic strategy without doubling or splitting: 1 (hit) or 0 (stick).

    obs : (player sum, dealer's showing card with 1 for an ace, usable ace 0/1), as Blackjack-v1 gives it
    """
    player, dealer, usable_ace = (int(v) for v in obs)
    if usable_ace:
        return int(player <= 17 or (player == 18 and dealer in (1, 9, 10)))
    if player <= 11:
        return 1
    if player == 12:
        return int(dealer not in (4, 5, 6))
    if player <= 16:
        return int(not 2 <= dealer <= 6)
    return 0


def blackjack(train_episodes: int, eval_episodes: int, seed: int = 0) -> dict[str, float]:
    """Q-learning's greedy mean return on Blackjack-v1 beside the basic strategy's, same evaluation seeds."""
    from sandbox.rollout import evaluate

    agent = QLearning(
        gamma=1.0,
        learning_rate=0.05,
        learning_rate_schedule="linear",
        learning_rate_end=0.001,
        epsilon_start=1.0,
        epsilon_end=0.1,
        exploration_fraction=0.5,
        seed=seed,
    )
    agent.fit("Blackjack-v1", episodes=train_episodes)
    q = agent.evaluate("Blackjack-v1", episodes=eval_episodes, seed=1_000_000)
    basic = evaluate(basic_strategy, "Blackjack-v1", episodes=eval_episodes, seed=1_000_000)
    return {
        "q_learning": q["mean_return"],
        "basic_strategy": basic["mean_return"],
        "q_learning_std": q["std_return"],
        "basic_std": basic["std_return"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--envs", default="FrozenLake8x8-v1,Taxi-v4")
    p.add_argument(
        "--blackjack",
        action="store_true",
        help="Q-learning on Blackjack-v1 against the basic strategy",
    )
    p.add_argument("--train-episodes", type=int, default=300_000)
    p.add_argument("--eval-episodes", type=int, default=100_000)
    args = p.parse_args(argv)
    if args.blackjack:
        if args.train_episodes < 1 or args.eval_episodes < 1:
            p.error("--train-episodes and --eval-episodes must be >= 1")
        r = blackjack(args.train_episodes, args.eval_episodes)
        se = max(r["q_learning_std"], r["basic_std"]) / args.eval_episodes**0.5
        print(
            f"Blackjack-v1, greedy mean return over {args.eval_episodes:,} episodes (1 s.e. about {se:.4f}):"
        )
        print(
            format_table(
                ["policy", "mean return"],
                [
                    [
                        f"Q-learning ({args.train_episodes:,} training episodes)",
                        round(r["q_learning"], 4),
                    ],
                    ["basic strategy (hand-coded)", round(r["basic_strategy"], 4)],
                ],
            )
        )
        return 0
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be >= 1")
    rows, ok = [], True
    for env_id in [e.strip() for e in args.envs.split(",") if e.strip()]:
        rates = measure(env_id, args.steps, args.repeats)
        strict = rates["Q-learning fit"] / rates["raw, precomputed actions"]
        usual = rates["Q-learning fit"] / rates["raw, action_space.sample()"]
        ok &= strict >= GOAL
        rows.append([env_id, *(round(rates[n]) for n in LOOPS), round(strict, 3), round(usual, 3)])
    print(
        f"env steps per CPU second, median of {args.repeats} interleaved repeats of {args.steps} steps each"
    )
    print(format_table(["env", *LOOPS, "fit / raw precomputed", "fit / raw sample()"], rows))
    print(
        f"goal: Q-learning fit >= {GOAL} x raw precomputed on every env: {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
