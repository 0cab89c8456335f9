"""Any agent on any env: train, evaluate, and compare with the exact optimum when the env has a model.

    sandbox run learn-env                                           # Q-learning on sandbox/GridWorld-v0
    sandbox run learn-env --set env=sandbox/GridWorld-v0 --set env_kwargs="map='5x5', slip=0.1"
    sandbox run learn-env --set env=my_package.envs:MyEnv --set agent=SARSA --set agent_kwargs="alpha=0.5"

``env`` is a registered id or a ``package.module:ClassName`` entry point;
``agent`` is any reinforcement or planning learner in the registry (see
``sandbox check-env ENV`` for which ones can run on it). The agent learns
from ``episodes`` episodes (or ``steps`` env steps, when set), then its greedy
policy plays ``eval_episodes`` episodes. Where the env exposes a transition
table ``P``, value iteration solves it exactly and its greedy policy plays the
same episodes, as the reference.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox import plots
from sandbox.checks import check_choice, check_number
from sandbox.environments import env_name, make_env, require_env_support
from sandbox.experiment import Experiment, Run
from sandbox.learner import Learner, load_learner_plugins


@dataclass
class Config:
    seed: int = 0
    env: str = "sandbox/GridWorld-v0"  # a registered env id, or module:Class
    env_kwargs: str = "map='5x5', slip=0.2, step_cost=0.01"  # keyword arguments for the env
    agent: str = "QLearning"  # the learner's class name, as `sandbox check-env` lists them
    agent_kwargs: str = "alpha=0.5, epsilon=0.2"  # hyperparameters, e.g. "gamma=0.9, epsilon=0.1"
    episodes: int = 2000
    steps: int | None = None  # learn from this many env steps instead of episodes
    eval_episodes: int = 1000
    gamma: float = 0.99  # the reference value iteration's discount

    def validate(self) -> None:
        check_number("episodes", self.episodes, low=1, integer=True)
        if self.steps is not None:
            check_number("steps", self.steps, low=1, integer=True)
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        parse_kwargs("env_kwargs", self.env_kwargs)
        parse_kwargs("agent_kwargs", self.agent_kwargs)


def parse_kwargs(name: str, text: str) -> dict[str, Any]:
    """``"a=1, b='x'"`` -> ``{"a": 1, "b": "x"}`` (values are Python literals)."""
    if not text.strip():
        return {}
    try:
        call = ast.parse(f"f({text})", mode="eval").body
        if not isinstance(call, ast.Call) or call.args:
            raise SyntaxError("positional values")
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"--set {name}={text!r} must be keyword=literal pairs separated by commas, "
                         f"e.g. \"gamma=0.9, map='5x5'\" ({exc}).") from None


def agent_class(name: str) -> type[Learner]:
    learners = {n: c for n, c in load_learner_plugins().items() if c.paradigm in ("reinforcement", "planning")}
    return learners[check_choice("agent", name, sorted(learners))]


def train(cfg: Config, run: Run) -> dict:
    cls = agent_class(cfg.agent)
    env = make_env(cfg.env, **parse_kwargs("env_kwargs", cfg.env_kwargs))
    require_env_support(cls, env)
    params = parse_kwargs("agent_kwargs", cfg.agent_kwargs)
    if "seed" in cls._param_names():
        params.setdefault("seed", cfg.seed)
    agent = cls(**params)
    if cls.paradigm == "planning":
        agent.fit(env, progress=run.progress("train"))
    elif cfg.steps is not None:
        agent.fit(env, steps=cfg.steps, progress=run.progress("train"))
    else:
        agent.fit(env, episodes=cfg.episodes, progress=run.progress("train"))
    out = {"agent": cls.__name__, "env": env_name(env), **agent.evaluate(env, episodes=cfg.eval_episodes, seed=cfg.seed)}
    returns = np.asarray(getattr(agent, "history_", {}).get("return", []), dtype=float)
    for i, r in enumerate(returns):
        run.log("training", i + 1, episode_return=r)
    out["training_returns"] = returns.tolist()
    if hasattr(env.unwrapped, "P") and cls.paradigm != "planning":
        from agents.planning import ValueIteration

        plan = ValueIteration(gamma=cfg.gamma).fit(env)
        out["optimal"] = plan.evaluate(env, episodes=cfg.eval_episodes, seed=cfg.seed)
    return out


def run(cfg: Config, run: Run) -> dict:
    result = run.stage("train", lambda: train(cfg, run))
    rows = [[result["agent"], result["mean_return"], result["success_rate"], result["mean_length"]]]
    if "optimal" in result:
        o = result["optimal"]
        rows.append([f"value iteration (gamma {cfg.gamma:g}, exact)", o["mean_return"], o["success_rate"], o["mean_length"]])
    run.say(f"\n{result['env']}: greedy policies over {cfg.eval_episodes} episodes")
    run.table("evaluation", ["policy", "mean return", "success rate", "mean length"], rows)
    returns = np.asarray(result.pop("training_returns"))
    if len(returns):
        window = max(1, len(returns) // 50)
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        hlines = {"value iteration": result["optimal"]["mean_return"]} if "optimal" in result else None
        run.save_plot(plots.curves({result["agent"]: smooth}, xlabel="training episode", ylabel=f"return ({window}-episode mean)",
                                   title=f"{result['agent']} on {result['env']}", hlines=hlines), "learning_curve")
    summary = {k: result[k] for k in ("agent", "env", "mean_return", "success_rate", "mean_length")}
    if "optimal" in result:
        summary["optimal_mean_return"] = result["optimal"]["mean_return"]
        summary["optimal_success_rate"] = result["optimal"]["success_rate"]
    return summary


EXPERIMENT = Experiment(
    "learn-env",
    "any RL agent on any env (registered id or module:Class), against value iteration's optimum where the env has P",
    Config,
    run,
    tour={"eval_episodes": 200},
    tour_order=50,
    paradigm="reinforcement + planning",
    headline=("success_rate", "optimal_success_rate"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
