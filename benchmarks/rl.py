"""The sandbox's deep agents against Stable-Baselines3 on the suite's environments, side by side in one run.

    pip install -e ".[bench]"          # stable-baselines3: a benchmark-only extra
    python benchmarks/rl.py                                   # CartPole-v1, as before
    python benchmarks/rl.py --env Acrobot-v1 --pairs PPO --seeds 0,1 --json runs/bench/rl-acrobot
    python benchmarks/rl.py --env Pendulum-v1 --budget 5000 --seeds 0 --eval-episodes 10   # a quick look

Each env has the suite's budget and its pairs (an SB3 algorithm against the
sandbox learner of the same kind):

- CartPole-v1: PPO vs PolicyGradient (200,000 / 150,000 steps), DQN vs DQN (100,000);
  both sides stop when the mean return of the last 100 training episodes reaches 475;
- Acrobot-v1, 150,000 steps: PPO vs PolicyGradient, DQN vs DQN;
- MountainCar-v0, 200,000 steps: DQN vs DQN, PPO vs PolicyGradient;
- Pendulum-v1, 50,000 steps: SAC vs SAC, TD3 vs TD3, PPO vs PolicyGradient;
- LunarLander-v3, 1,000,000 steps: PPO vs PolicyGradient.

The SB3 side runs with RL Zoo's published hyperparameters for the env (the
table ``ZOO`` below, copied from rl-baselines3-zoo's hyperparams/*.yml), so the
peer is at its best; the budget is the suite's, not the Zoo's. The sandbox
side runs with its defaults plus its preset for the env
(``sandbox.presets.find``), named in the output. A sandbox learner that is not
importable (SAC and TD3 before they exist) is reported as "not available".

First each side of every pair trains once on a token budget (its first
update), untimed and thrown away, so that one-time costs (SB3's first
optimizer imports torch._dynamo; the sandbox loads numba kernels) are charged
to neither side. Then, for each seed, every pair trains both sides one after
the other in this process, with one torch thread and one BLAS thread, the side
that goes first alternating from seed to seed so that a change of load hits
both. Same budget,
same seed, and the same evaluation afterwards: ``sandbox.rollout.evaluate_policy``
on each side's deterministic policy (SB3's ``predict(deterministic=True)``
through its frozen VecNormalize statistics where the Zoo normalises;
the sandbox's ``act``), 100 episodes from the same reset seeds. Wall seconds
run from building a side's envs and model to the end of its training (to the
solve point on CartPole: a run that never gets there counts as infinitely
slow), evaluation left out; steps/s are its env steps over them.

Printed: a table of every run, and a table per env with each side's median
evaluation return, median wall and CPU seconds, steps/s, and the wall ratio
sandbox/SB3 (with the CPU-time ratio beside it, which other programs on the
machine disturb less), then the goals
of issue #14 where it states them: on every env the return target for the
sandbox side; on Acrobot-v1 PolicyGradient's wall at most 0.25x PPO's; on
CartPole-v1 today's (PolicyGradient's time to 475 at most 0.25x PPO's, in at
most 150,000 env steps, with a training throughput at least 0.5 of the raw
random-action rate of the same vector env); on LunarLander-v3 under 10 minutes.
The machine's load average is printed with every run: wall times on a shared
machine are inflated by whatever else runs, the ratios less so.

``--json DIR`` writes ``DIR/config.json`` and ``DIR/summary.json`` as a run
folder does (``docs/tables.py`` reads such folders).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

WINDOW = 100
EVAL_EPISODES = 100
EVAL_SEED = (
    1_000_000  # the evaluation of training seed s resets its episodes from EVAL_SEED + 1000 * s
)

# RL Zoo's published hyperparameters for each (SB3 algorithm, env), copied from
# https://github.com/DLR-RM/rl-baselines3-zoo hyperparams/ppo.yml, dqn.yml, sac.yml and td3.yml at
# commit 22e3ff2450fd92033f7f032915e1f64894a09584 (2026-04-23); n_timesteps and policy: 'MlpPolicy'
# left out (the budget is the suite's). "lin_X" is the Zoo's linear schedule from X to 0 over the
# budget; normalize: VecNormalize of observations and rewards with the algorithm's gamma, as
# rl_zoo3/exp_manager.py builds it; noise_type/noise_std: TD3's Gaussian action noise.
ZOO: dict[tuple[str, str], dict[str, Any]] = {
    ("PPO", "CartPole-v1"): {
        "n_envs": 8,
        "n_steps": 32,
        "batch_size": 256,
        "gae_lambda": 0.8,
        "gamma": 0.98,
        "n_epochs": 20,
        "ent_coef": 0.0,
        "learning_rate": "lin_0.001",
        "clip_range": "lin_0.2",
    },
    ("PPO", "Acrobot-v1"): {
        "normalize": True,
        "n_envs": 16,
        "n_steps": 256,
        "gae_lambda": 0.94,
        "gamma": 0.99,
        "n_epochs": 4,
        "ent_coef": 0.0,
    },
    ("PPO", "MountainCar-v0"): {
        "normalize": True,
        "n_envs": 16,
        "n_steps": 16,
        "gae_lambda": 0.98,
        "gamma": 0.99,
        "n_epochs": 4,
        "ent_coef": 0.0,
    },
    ("PPO", "Pendulum-v1"): {
        "n_envs": 4,
        "n_steps": 1024,
        "gae_lambda": 0.95,
        "gamma": 0.9,
        "n_epochs": 10,
        "ent_coef": 0.0,
        "learning_rate": 1e-3,
        "clip_range": 0.2,
        "use_sde": True,
        "sde_sample_freq": 4,
    },
    ("PPO", "LunarLander-v3"): {
        "n_envs": 16,
        "n_steps": 1024,
        "batch_size": 64,
        "gae_lambda": 0.98,
        "gamma": 0.999,
        "n_epochs": 4,
        "ent_coef": 0.01,
    },
    ("DQN", "CartPole-v1"): {
        "learning_rate": 2.3e-3,
        "batch_size": 64,
        "buffer_size": 100_000,
        "learning_starts": 1000,
        "gamma": 0.99,
        "target_update_interval": 10,
        "train_freq": 256,
        "gradient_steps": 128,
        "exploration_fraction": 0.16,
        "exploration_final_eps": 0.04,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("DQN", "Acrobot-v1"): {
        "learning_rate": 6.3e-4,
        "batch_size": 128,
        "buffer_size": 50_000,
        "learning_starts": 0,
        "gamma": 0.99,
        "target_update_interval": 250,
        "train_freq": 4,
        "gradient_steps": -1,
        "exploration_fraction": 0.12,
        "exploration_final_eps": 0.1,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("DQN", "MountainCar-v0"): {
        "learning_rate": 4e-3,
        "batch_size": 128,
        "buffer_size": 10_000,
        "learning_starts": 1000,
        "gamma": 0.98,
        "target_update_interval": 600,
        "train_freq": 16,
        "gradient_steps": 8,
        "exploration_fraction": 0.2,
        "exploration_final_eps": 0.07,
        "policy_kwargs": {"net_arch": [256, 256]},
    },
    ("SAC", "Pendulum-v1"): {"learning_rate": 1e-3},
    ("TD3", "Pendulum-v1"): {
        "gamma": 0.98,
        "buffer_size": 200_000,
        "learning_starts": 10_000,
        "noise_type": "normal",
        "noise_std": 0.1,
        "gradient_steps": 1,
        "train_freq": 1,
        "learning_rate": 1e-3,
        "policy_kwargs": {"net_arch": [400, 300]},
    },
}


@dataclass(frozen=True)
class Pair:
    """An SB3 algorithm and the sandbox learner it is measured against, with each side's budget."""

    sb3: str  # PPO, DQN, SAC, TD3
    sandbox: str  # the learner class in ``agents``
    sb3_budget: int
    sandbox_budget: int
    wall_ratio_goal: float | None = None  # the goal for median wall sandbox / SB3

    @property
    def name(self) -> str:
        return f"{self.sb3} vs {self.sandbox}"


@dataclass(frozen=True)
class EnvBench:
    """One env of the suite: its pairs, default seeds and the issue's goals for it."""

    env: str
    pairs: tuple[Pair, ...]
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    solve_at: float | None = None  # stop both sides when the 100-episode training mean reaches it
    return_goal: float | None = None  # the target for the sandbox's median eval return
    wall_goal_seconds: float | None = None  # the limit on the sandbox's median wall seconds
    extra_goals: dict[str, float] = field(default_factory=dict)


ENVS: dict[str, EnvBench] = {
    b.env: b
    for b in (
        EnvBench(
            "CartPole-v1",
            # PPO's schedules decay over 200,000 steps, PolicyGradient's over 150,000 (as before).
            (
                Pair("PPO", "PolicyGradient", 200_000, 150_000, wall_ratio_goal=0.25),
                Pair("DQN", "DQN", 100_000, 100_000),
            ),
            seeds=(0, 1, 2),
            solve_at=475.0,
            extra_goals={"solve_steps": 150_000, "throughput_fraction": 0.5},
        ),
        EnvBench(
            "Acrobot-v1",
            (
                Pair("PPO", "PolicyGradient", 150_000, 150_000, wall_ratio_goal=0.25),
                Pair("DQN", "DQN", 150_000, 150_000),
            ),
            return_goal=-85.0,
        ),
        EnvBench(
            "MountainCar-v0",
            (Pair("DQN", "DQN", 200_000, 200_000), Pair("PPO", "PolicyGradient", 200_000, 200_000)),
            return_goal=-110.0,
        ),
        EnvBench(
            "Pendulum-v1",
            (
                Pair("SAC", "SAC", 50_000, 50_000),
                Pair("TD3", "TD3", 50_000, 50_000),
                Pair("PPO", "PolicyGradient", 50_000, 50_000),
            ),
            return_goal=-200.0,
        ),
        EnvBench(
            "LunarLander-v3",
            (Pair("PPO", "PolicyGradient", 1_000_000, 1_000_000),),
            return_goal=200.0,
            wall_goal_seconds=600.0,
        ),
    )
}


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


# ----------------------------------------------------------------------- the SB3 side


def zoo_description(algo: str, env: str) -> str:
    return ", ".join(f"{k}={v}" for k, v in ZOO[algo, env].items())


def build_sb3(algo: str, env_id: str, seed: int) -> tuple[Any, Any]:
    """(model, VecNormalize or None): SB3 ``algo`` with RL Zoo's settings for ``env_id``, built as rl_zoo3 does."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise
    from stable_baselines3.common.vec_env import VecNormalize

    hp = dict(ZOO[algo, env_id])
    normalize = hp.pop("normalize", False)
    env = make_vec_env(env_id, n_envs=hp.pop("n_envs", 1), seed=seed)
    vecnorm = None
    if normalize:
        vecnorm = env = VecNormalize(env, gamma=hp.get("gamma", 0.99))
    for key, value in list(hp.items()):
        if isinstance(value, str) and value.startswith("lin_"):
            start = float(value.removeprefix("lin_"))
            hp[key] = lambda progress_remaining, start=start: progress_remaining * start
    if hp.pop("noise_type", None) == "normal":
        n = env.action_space.shape[0]
        hp["action_noise"] = NormalActionNoise(np.zeros(n), hp.pop("noise_std") * np.ones(n))
    model = getattr(sb3, algo)("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **hp)
    return model, vecnorm


def run_sb3(
    algo: str, env_id: str, seed: int, budget: int, solve_at: float | None, episodes: int
) -> dict:
    """Train SB3 ``algo`` (RL Zoo's settings) for ``budget`` steps, or to ``solve_at``; then evaluate it."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopWhenSolved(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: deque = deque(maxlen=WINDOW)
            self.solved_at: int | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
                    if len(self.returns) == WINDOW and np.mean(self.returns) >= solve_at:
                        self.solved_at = self.num_timesteps
                        return False
            return True

    load, cpu, start = load_average(), time.process_time(), time.perf_counter()
    model, vecnorm = build_sb3(algo, env_id, seed)
    cb = StopWhenSolved() if solve_at is not None else None
    model.learn(total_timesteps=budget, callback=cb)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if vecnorm is not None:
        vecnorm.training = False  # evaluation reads the statistics, never moves them

    def policy(obs: np.ndarray) -> np.ndarray:
        if vecnorm is not None:
            obs = vecnorm.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    out = _result(model.num_timesteps, seconds, cpu, load, cb.solved_at if cb else None, solve_at)
    out["eval"] = _evaluate(policy, env_id, seed, episodes)
    model.get_env().close()
    return out


# ------------------------------------------------------------------- the sandbox side


def sandbox_class(name: str) -> type | None:
    """The learner class ``agents.NAME``, or None where this branch has none."""
    import agents

    try:
        return getattr(agents, name)
    except AttributeError:
        return None


def sandbox_setup(name: str, env_id: str) -> tuple[dict[str, Any], str]:
    """(the preset's params, a line naming it) for learner ``name`` on ``env_id``."""
    from sandbox import presets

    preset = presets.find(name, env_id)
    if preset is None:
        return {}, f"{name}: its defaults (no preset {name}/{env_id})"
    return dict(preset.params), f"{name}: defaults + {preset.describe()}"


def run_sandbox(
    name: str, env_id: str, seed: int, budget: int, solve_at: float | None, episodes: int
) -> dict:
    """Train ``agents.NAME`` (defaults + its preset) for ``budget`` steps, or to ``solve_at``; then evaluate it."""
    cls = sandbox_class(name)
    params, _ = sandbox_setup(name, env_id)
    kwargs: dict[str, Any] = {"steps": budget}
    if solve_at is not None:
        kwargs.update(target_return=solve_at, window=WINDOW)
    load, cpu, start = load_average(), time.process_time(), time.perf_counter()
    agent = cls(**{**params, "seed": seed}).fit(env_id, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    tr = agent.training_
    out = _result(tr["steps"], seconds, cpu, load, tr.get("solved_at_steps"), solve_at)
    out["fit_steps_per_second"] = tr["steps_per_second"]
    out["n_envs"] = getattr(agent, "n_envs", 1)
    out["eval"] = _evaluate(lambda obs: agent.act(obs), env_id, seed, episodes)
    return out


# --------------------------------------------------------------------------- shared


def _result(
    steps: int, seconds: float, cpu: float, load: float, solved_at: int | None, solve_at: Any
) -> dict:
    out = {
        "steps": int(steps),
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu, 3),
        "steps_per_second": round(steps / max(seconds, 1e-9), 1),
        "load_average_start": load,
        "load_average_end": load_average(),
    }
    if solve_at is not None:
        out["solved_at_steps"] = solved_at
        out["seconds_to_solve"] = round(seconds, 3) if solved_at is not None else math.inf
    return out


def _evaluate(policy: Any, env_id: str, seed: int, episodes: int) -> dict:
    """The one evaluation both sides get: deterministic, the same episodes (reset seeds) for both."""
    from sandbox.rollout import evaluate_policy

    start = time.perf_counter()
    result = evaluate_policy(policy, env_id, episodes=episodes, seed=EVAL_SEED + 1000 * seed)
    return {
        **{k: result[k] for k in ("mean_return", "std_return", "mean_length", "episodes")},
        "seconds": round(time.perf_counter() - start, 3),
    }


def raw_rate(env_id: str, n_envs: int, steps: int, seed: int) -> float:
    """Env steps per second of the same vector env (Discrete actions) under uniformly random actions."""
    from sandbox.vector import make_vec_env

    vec = make_vec_env(env_id, n_envs)
    vec.reset(seed=seed)
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(steps // n_envs):
        vec.step(rng.integers(0, vec.single_action_space.n, n_envs))
    rate = (steps // n_envs) * n_envs / (time.perf_counter() - start)
    vec.close()
    return rate


def warm_up(env_id: str, pairs: list[Pair]) -> None:
    """Both sides of every pair train once on a token budget (their first update), untimed and thrown
    away, so that one-time costs (imports such as torch._dynamo, which SB3's first optimizer pulls
    in, numba's compiled kernels) are paid before any clock starts and charged to neither side."""
    for pair in pairs:
        model, _ = build_sb3(pair.sb3, env_id, seed=0)
        model.learn(total_timesteps=1)
        model.get_env().close()
        params, _ = sandbox_setup(pair.sandbox, env_id)
        sandbox_class(pair.sandbox)(**{**params, "seed": 0}).fit(env_id, steps=1)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


# ------------------------------------------------------------------------------ main


def parse_args(
    argv: list[str] | None,
) -> tuple[argparse.Namespace, EnvBench, list[Pair], list[int]]:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", default="CartPole-v1", choices=sorted(ENVS), help="the suite's env")
    p.add_argument(
        "--pairs",
        default=None,
        help="comma-separated SB3 algorithms of the env's pairs to run (e.g. PPO); default: all",
    )
    p.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds; default 0,1,2 on CartPole-v1, 0,1,2,3,4 elsewhere",
    )
    p.add_argument(
        "--budget",
        type=int,
        default=None,
        help="env steps for every side (schedules decay over it); default: the suite's for the env",
    )
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=EVAL_EPISODES,
        help=f"deterministic evaluation episodes per run (default {EVAL_EPISODES})",
    )
    p.add_argument(
        "--raw-steps",
        type=int,
        default=50_000,
        help="CartPole-v1: env steps of each raw random-action rate measurement",
    )
    p.add_argument(
        "--json",
        "--out",
        dest="json",
        default=None,
        metavar="DIR",
        help="write config.json and summary.json into this folder, as a run folder",
    )
    args = p.parse_args(argv)
    bench = ENVS[args.env]
    known = {pair.sb3: pair for pair in bench.pairs}
    pairs = list(bench.pairs)
    if args.pairs is not None:
        chosen = [s.strip().upper() for s in args.pairs.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in known]
        if unknown or not chosen:
            p.error(
                f"--pairs {args.pairs!r}: {args.env}'s pairs are "
                f"{', '.join(pair.name for pair in bench.pairs)}; name them by the SB3 algorithm "
                f"({', '.join(known)})."
            )
        pairs = [known[s] for s in dict.fromkeys(chosen)]
    try:
        seeds = (
            list(bench.seeds)
            if args.seeds is None
            else [int(s) for s in args.seeds.split(",") if s.strip()]
        )
    except ValueError:
        seeds = []
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        p.error(f"--seeds {args.seeds!r}: give distinct non-negative integers, e.g. 0,1,2.")
    for name in ("budget", "eval_episodes", "raw_steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(
                f"--{name.replace('_', '-')} {value}: give a positive number of steps/episodes."
            )
    if args.budget is not None:
        pairs = [replace(x, sb3_budget=args.budget, sandbox_budget=args.budget) for x in pairs]
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        p.error(
            'stable-baselines3 is not installed; install the benchmark extra: pip install -e ".[bench]"'
        )
    return args, bench, pairs, seeds


def main(argv: list[str] | None = None) -> int:
    args, bench, pairs, seeds = parse_args(argv)
    from threadpoolctl import threadpool_limits

    from sandbox.threads import torch_threads

    started, load_start = time.perf_counter(), load_average()
    available = {pair.sb3: sandbox_class(pair.sandbox) is not None for pair in pairs}
    print(
        f"== {bench.env}: seeds {', '.join(map(str, seeds))}; deterministic evaluation over "
        f"{args.eval_episodes} episodes; one torch thread; load average {load_start}",
        flush=True,
    )
    settings = {}
    for pair in pairs:
        if not available[pair.sb3]:
            print(
                f"{pair.name}: not available (agents.{pair.sandbox} is not importable)", flush=True
            )
            continue
        _, ours = sandbox_setup(pair.sandbox, bench.env)
        theirs = (
            f"SB3 {pair.sb3}: RL Zoo's {bench.env} settings: {zoo_description(pair.sb3, bench.env)}"
        )
        budgets = (
            f"{pair.sb3_budget:,} env steps"
            if pair.sb3_budget == pair.sandbox_budget
            else f"SB3 {pair.sb3_budget:,}, sandbox {pair.sandbox_budget:,} env steps"
        )
        print(f"{pair.name} ({budgets}):\n  {theirs}\n  {ours}", flush=True)
        settings[pair.name] = {"sb3": theirs, "sandbox": ours}
    runs: list[dict] = []
    with threadpool_limits(1), torch_threads(1):
        ready = [pair for pair in pairs if available[pair.sb3]]
        if ready:
            print("warming up: each side's first update, untimed", flush=True)
            warm_up(bench.env, ready)
        for i, seed in enumerate(seeds):
            for pair in ready:
                runs.append(run_pair(bench, pair, seed, sb3_first=i % 2 == 0, args=args))
    summary = summarize(bench, pairs, available, runs)
    print_tables(bench, pairs, available, runs, summary)
    print(f"\nload average {load_start} at the start, {load_average()} at the end")
    if args.json:
        write_run_folder(
            Path(args.json),
            args,
            bench,
            pairs,
            seeds,
            settings,
            runs,
            summary,
            seconds=time.perf_counter() - started,
            load=(load_start, load_average()),
        )
    return 0


def run_pair(bench: EnvBench, pair: Pair, seed: int, *, sb3_first: bool, args: Any) -> dict:
    """One seed of one pair: both sides, in the given order, then their evaluations."""
    sides = {
        "sb3": lambda: run_sb3(
            pair.sb3, bench.env, seed, pair.sb3_budget, bench.solve_at, args.eval_episodes
        ),
        "sandbox": lambda: run_sandbox(
            pair.sandbox, bench.env, seed, pair.sandbox_budget, bench.solve_at, args.eval_episodes
        ),
    }
    order = ["sb3", "sandbox"] if sb3_first else ["sandbox", "sb3"]
    row: dict[str, Any] = {"pair": pair.name, "seed": seed, "first": order[0]}
    for side in order:
        row[side] = sides[side]()
    if bench.solve_at is not None and pair.sandbox == "PolicyGradient":
        raw = raw_rate(bench.env, row["sandbox"]["n_envs"], args.raw_steps, seed)
        row["raw_steps_per_second"] = round(raw, 1)
        row["throughput_fraction"] = row["sandbox"]["fit_steps_per_second"] / raw
    wall = "seconds_to_solve" if bench.solve_at is not None else "seconds"
    row["wall_ratio"] = row["sandbox"][wall] / row["sb3"][wall]
    s, o = row["sb3"], row["sandbox"]

    def solved(r: dict) -> str:
        if bench.solve_at is None:
            return ""
        at = r["solved_at_steps"]
        return f", solved at {at:,}" if at is not None else ", never solved"

    print(
        f"seed {seed} {pair.name}: SB3 {pair.sb3} {s['eval']['mean_return']:.1f} in "
        f"{s['seconds']:.1f} s ({s['steps']:,} steps{solved(s)}); {pair.sandbox} "
        f"{o['eval']['mean_return']:.1f} in {o['seconds']:.1f} s ({o['steps']:,} steps{solved(o)}); "
        f"load average {load_average()}",
        flush=True,
    )
    return row


def summarize(bench: EnvBench, pairs: list[Pair], available: dict, runs: list[dict]) -> dict:
    """Medians over seeds per pair and side, the wall ratio of the medians, and the goals met."""
    out: dict[str, Any] = {}
    wall = "seconds_to_solve" if bench.solve_at is not None else "seconds"
    for pair in pairs:
        if not available[pair.sb3]:
            out[pair.name] = {"available": False}
            continue
        rows = [r for r in runs if r["pair"] == pair.name]
        entry: dict[str, Any] = {"available": True, "seeds": [r["seed"] for r in rows]}
        for side in ("sb3", "sandbox"):
            entry[side] = {
                "median_return": _median([r[side]["eval"]["mean_return"] for r in rows]),
                "median_seconds": _median([r[side][wall] for r in rows]),
                "median_cpu_seconds": _median([r[side]["cpu_seconds"] for r in rows]),
                "median_steps_per_second": _median([r[side]["steps_per_second"] for r in rows]),
            }
            if bench.solve_at is not None:
                entry[side]["median_solved_at_steps"] = _median(
                    [r[side]["solved_at_steps"] or math.inf for r in rows]
                )
        sb3_wall = entry["sb3"]["median_seconds"]
        entry["wall_ratio"] = (
            entry["sandbox"]["median_seconds"] / sb3_wall if math.isfinite(sb3_wall) else math.nan
        )
        entry["cpu_ratio"] = (
            entry["sandbox"]["median_cpu_seconds"] / entry["sb3"]["median_cpu_seconds"]
        )
        goals: dict[str, Any] = {}
        ours = entry["sandbox"]
        if bench.return_goal is not None:
            goals["return"] = _goal(ours["median_return"] >= bench.return_goal, bench.return_goal)
        if pair.wall_ratio_goal is not None:
            goals["wall_ratio"] = _goal(
                entry["wall_ratio"] <= pair.wall_ratio_goal, pair.wall_ratio_goal
            )
        if bench.wall_goal_seconds is not None:
            goals["seconds"] = _goal(
                ours["median_seconds"] <= bench.wall_goal_seconds, bench.wall_goal_seconds
            )
        if bench.solve_at is not None and pair.sandbox == "PolicyGradient":
            limit = bench.extra_goals["solve_steps"]
            goals["solve_steps"] = _goal(ours["median_solved_at_steps"] <= limit, limit)
            frac = _median([r["throughput_fraction"] for r in rows])
            entry["throughput_fraction"] = frac
            limit = bench.extra_goals["throughput_fraction"]
            goals["throughput_fraction"] = _goal(frac >= limit, limit)
        entry["goals"] = goals
        out[pair.name] = entry
    return out


def _goal(met: bool, goal: float) -> dict[str, Any]:
    return {"goal": goal, "met": bool(met)}


GOAL_WORDS = {
    "return": "median evaluation return >= {goal:g}",
    "wall_ratio": "median wall <= {goal:g}x SB3's",
    "seconds": "median wall <= {goal:g} s",
    "solve_steps": "median env steps to 475 <= {goal:,.0f}",
    "throughput_fraction": "training throughput >= {goal:g} of the raw random-action rate",
}


def print_tables(
    bench: EnvBench, pairs: list[Pair], available: dict, runs: list[dict], summary: dict
) -> None:
    from sandbox.experiment import format_table

    solve = bench.solve_at is not None
    per_seed = []
    for r in runs:
        for side, label in (
            ("sb3", "SB3 " + r["pair"].split(" vs ")[0]),
            ("sandbox", r["pair"].split(" vs ")[1]),
        ):
            x = r[side]
            per_seed.append(
                [r["pair"], r["seed"], label, round(x["eval"]["mean_return"], 1)]
                + ([x["solved_at_steps"] or "never"] if solve else [])
                + [
                    round(x["seconds"], 1),
                    round(x["cpu_seconds"], 1),
                    round(x["steps_per_second"]),
                    f"{x['load_average_start']}-{x['load_average_end']}",
                ]
            )
    print()
    print(
        format_table(
            ["pair", "seed", "side", "eval return"]
            + (["solved at"] if solve else [])
            + ["wall s", "CPU s", "steps/s", "load avg start-end"],
            per_seed,
        )
    )
    wall = "median s to 475" if solve else "median wall s"
    table = []
    for pair in pairs:
        entry = summary[pair.name]
        if not entry["available"]:
            table.append([pair.name, "not available", *[""] * 6])
            continue
        for side, label in (("sb3", f"SB3 {pair.sb3} (RL Zoo)"), ("sandbox", pair.sandbox)):
            e = entry[side]
            table.append(
                [
                    pair.name,
                    label,
                    round(e["median_return"], 1),
                    round(e["median_seconds"], 1),
                    round(e["median_cpu_seconds"], 1),
                    round(e["median_steps_per_second"]),
                    round(entry["wall_ratio"], 3) if side == "sandbox" else "",
                    round(entry["cpu_ratio"], 3) if side == "sandbox" else "",
                ]
            )
    print(
        f"\n{bench.env}: medians over seeds {', '.join(str(s) for s in sorted({r['seed'] for r in runs}))}"
    )
    print(
        format_table(
            [
                "pair",
                "side",
                "median eval return",
                wall,
                "median CPU s",
                "steps/s",
                "wall sandbox/SB3",
                "CPU sandbox/SB3",
            ],
            table,
        )
    )
    ok = {True: "met", False: "NOT met"}
    for pair in pairs:
        entry = summary[pair.name]
        for key, g in entry.get("goals", {}).items():
            print(
                f"goal, {pair.sandbox} ({pair.name}): {GOAL_WORDS[key].format(goal=g['goal'])}: {ok[g['met']]}"
            )
        if "throughput_fraction" in entry:
            print(f"  (training throughput / raw rate: {entry['throughput_fraction']:.3f})")


def write_run_folder(
    out: Path,
    args: Any,
    bench: EnvBench,
    pairs: list[Pair],
    seeds: list[int],
    settings: dict,
    runs: list[dict],
    summary: dict,
    *,
    seconds: float,
    load: tuple[float, float],
) -> None:
    """``out/config.json`` and ``out/summary.json``, as ``sandbox run`` writes a run folder."""
    import stable_baselines3

    from sandbox.experiment import versions
    from sandbox.files import atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    config = {
        "experiment": "bench-rl",
        "seed": seeds[0],
        "settings": {
            "env": bench.env,
            "seeds": seeds,
            "pairs": [p.name for p in pairs],
            "budgets": {p.name: {"sb3": p.sb3_budget, "sandbox": p.sandbox_budget} for p in pairs},
            "eval_episodes": args.eval_episodes,
            "eval_seed": f"{EVAL_SEED} + 1000 * seed",
            "solve_at": bench.solve_at,
            "sides": settings,
        },
        "versions": {**versions(), "stable-baselines3": stable_baselines3.__version__},
        "argv": sys.argv,
    }
    atomic_write_json(out / "config.json", config)
    atomic_write_json(
        out / "summary.json",
        {
            "experiment": "bench-rl",
            "seed": seeds[0],
            "env": bench.env,
            "seeds": seeds,
            "pairs": summary,
            "runs": runs,
            "load_average_start": load[0],
            "load_average_end": load[1],
            "cpu_count": os.cpu_count(),
            "seconds": round(seconds, 3),
        },
    )
    print(f"results: {out / 'summary.json'}")


if __name__ == "__main__":
    raise SystemExit(main())
