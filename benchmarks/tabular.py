"""How lean is the tabular training loop? Q-learning's env steps per second inside ``fit``,
as a share of the raw env step rate under a random policy, side by side in one run.

    python benchmarks/tabular.py [--steps 100000] [--repeats 5] [--envs FrozenLake8x8-v1,Taxi-v4]
    python benchmarks/tabular.py --blackjack [--train-episodes 300000] [--eval-episodes 100000]
    python benchmarks/tabular.py --random-maps [--map-seeds 0-9] [--train-episodes 20000] [--eval-episodes 1000]

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
(:func:`sandbox.suite.basic_strategy`) on the same episode seeds.

``--random-maps`` measures Q-learning on slippery 8x8 FrozenLake maps made by
``generate_random_map`` (``sandbox/RandomFrozenLake-v0``, one map per seed in
``--map-seeds``), with the agent's defaults and its preset for that env if one
ships: its greedy success rate over ``--eval-episodes`` episodes beside value
iteration's (gamma 0.99, as ``sandbox run learn-env``'s reference) on the same
episode seeds, both also computed exactly from the map's transition table under
the 200-step limit, and the ratio the suite's target reads (>= 0.90).
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the sandbox/ ids for gym.make, e.g. sandbox/RandomFrozenLake-v0)
from agents import QLearning
from sandbox.experiment import format_table
from sandbox.suite import basic_strategy

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


RANDOM_MAP_ENV, RANDOM_MAP_TARGET = "sandbox/RandomFrozenLake-v0", 0.90
RANDOM_MAP_EPISODES = 20_000
"""--random-maps' training budget per map (episodes)."""


def map_seeds(text: str) -> list[int]:
    """``"0-9"`` or ``"0,3,5"`` (or both, ``"0-2,7"``) -> the list of map seeds."""
    seeds: list[int] = []
    try:
        for part in (t.strip() for t in text.split(",") if t.strip()):
            low, _, high = part.partition("-")
            seeds += list(range(int(low), int(high) + 1)) if high else [int(low)]
    except ValueError:
        raise ValueError(f"--map-seeds {text!r}: expected seeds like 0-9 or 0,3,5") from None
    if not seeds or min(seeds) < 0:
        raise ValueError(f"--map-seeds {text!r}: expected seeds >= 0, like 0-9 or 0,3,5")
    return seeds


def random_map(map_seed: int, train_episodes: int, eval_episodes: int, seed: int = 0) -> dict:
    """QLearning (defaults and preset) against value iteration on one generated 8x8 map."""
    from agents import ValueIteration
    from agents.planning import exact_returns
    from sandbox import presets
    from sandbox.environments import make_env

    env = make_env(RANDOM_MAP_ENV, size=8, map_seed=map_seed)
    preset = presets.find("QLearning", RANDOM_MAP_ENV)
    agent = QLearning(**{**(preset.params if preset else {}), "seed": seed})
    start = time.process_time()
    agent.fit(env, episodes=train_episodes)
    cpu = time.process_time() - start
    plan = ValueIteration(gamma=0.99).fit(env)
    out = {"map_seed": map_seed, "episodes": train_episodes, "steps": agent.n_steps_, "cpu": cpu}
    exact = exact_returns(env, {"vi": plan, "q": agent})
    for name, policy in (("vi", plan), ("q", agent)):
        out[name] = policy.evaluate(env, episodes=eval_episodes, seed=seed)["success_rate"]
        out[f"{name}_exact"] = exact[name]
    out["preset"] = preset.name if preset else None
    return out


def random_maps(seeds: list[int], train_episodes: int, eval_episodes: int) -> int:
    rows, ratios = [], []
    for map_seed in seeds:
        r = random_map(map_seed, train_episodes, eval_episodes)
        ratio = r["q"] / r["vi"] if r["vi"] > 0 else float("nan")
        ratios.append(ratio)
        rows.append(
            [
                map_seed,
                round(r["vi"], 3),
                round(r["q"], 3),
                round(ratio, 3),
                round(r["vi_exact"], 4),
                round(r["q_exact"], 4),
                round(r["q_exact"] / r["vi_exact"], 3) if r["vi_exact"] > 0 else "-",
                r["episodes"],
                r["steps"],
                round(r["cpu"], 1),
            ]
        )
    print(
        f"{RANDOM_MAP_ENV} (size 8, slippery, 200-step limit): greedy success rate over {eval_episodes} "
        f"episodes (same episode seeds for both), value iteration at gamma 0.99 against QLearning "
        f"({r['preset'] or 'defaults, no preset'}, seed 0); 'exact': computed from the map's P"
    )
    print(
        format_table(
            [
                "map seed",
                "value iteration",
                "QLearning",
                "ratio",
                "VI exact",
                "QL exact",
                "ratio exact",
                "episodes",
                "env steps",
                "CPU seconds",
            ],
            rows,
        )
    )
    ok = all(x >= RANDOM_MAP_TARGET for x in ratios)
    print(f"target: ratio >= {RANDOM_MAP_TARGET} on every map: {'met' if ok else 'NOT met'}")
    return 0


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
    p.add_argument(
        "--random-maps",
        action="store_true",
        help="QLearning against value iteration on generated slippery 8x8 FrozenLake maps",
    )
    p.add_argument(
        "--map-seeds", default="0-9", help="the maps of --random-maps, e.g. 0-9 or 0,3,5"
    )
    p.add_argument("--train-episodes", type=int, default=None)
    p.add_argument("--eval-episodes", type=int, default=None)
    args = p.parse_args(argv)
    if args.blackjack and args.random_maps:
        p.error("choose one of --blackjack and --random-maps")
    if args.random_maps:
        try:
            seeds = map_seeds(args.map_seeds)
        except ValueError as exc:
            p.error(str(exc))
        train = RANDOM_MAP_EPISODES if args.train_episodes is None else args.train_episodes
        evals = 1000 if args.eval_episodes is None else args.eval_episodes
        if train < 1 or evals < 1:
            p.error("--train-episodes and --eval-episodes must be >= 1")
        return random_maps(seeds, train, evals)
    if args.train_episodes is None:
        args.train_episodes = 300_000
    if args.eval_episodes is None:
        args.eval_episodes = 100_000
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
