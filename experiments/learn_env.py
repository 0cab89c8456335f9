"""Any environment learner on any env: train, evaluate, and compare with the exact optimum when the env has a model.

    sandbox run learn-env                                           # Q-learning on sandbox/GridWorld-v0
    sandbox run learn-env --set env=sandbox/GridWorld-v0 --set env_kwargs="map='5x5', slip=0.1"
    sandbox run learn-env --set env=my_package.envs:MyEnv --set agent=SARSA --set agent_kwargs="learning_rate=0.5"
    sandbox run learn-env --set env=CartPole-v1 --set agent=DQN --set budget=50000
    sandbox run learn-env --set env=sandbox/TicTacToe-v0 --set agent=SelfPlayQLearning

``env`` is a registered id or a ``package.module:ClassName`` entry point;
``env_kwargs`` its constructor's keyword arguments (none by default, except
for the default GridWorld, which gets a 5x5 map). ``agent`` is any learner in
the registry; one that cannot run on the env (see ``sandbox check-env ENV``)
is refused with its ``env_support`` reason. The agent learns for ``budget``
units of what it counts by default (its ``budget_unit``: episodes for the
tabular and self-play agents, env steps for the others; planners take no
budget; None: the agent's own default budget), then its greedy policy plays
``eval_episodes`` episodes. A self-play learner trains on the env's self-play
mode (``opponent='self'``) and plays against the env as given. Where the env
exposes a transition table ``P``, value iteration solves it exactly and its
greedy policy plays the same episodes, as the reference.

Where the agent has a preset for the env (``sandbox/presets/<Agent>.toml``; see
:mod:`sandbox.presets`), its settings are applied and named in the output
(``preset=none`` leaves them out); ``agent_kwargs`` override any of them.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from sandbox import plots, presets
from sandbox.checks import check_choice, check_number, close_matches
from sandbox.environments import env_name, make_env, require_env_support
from sandbox.experiment import Experiment, Run
from sandbox.learner import Learner, load_learner_plugins

DEFAULT_ENV = "sandbox/GridWorld-v0"
DEFAULT_ENV_KWARGS = "map='5x5', slip=0.2, step_cost=0.01"


@dataclass
class Config:
    seed: int = 0
    env: str = DEFAULT_ENV  # a registered env id, or module:Class
    env_kwargs: str | None = None  # the env's keyword arguments; None: the default env's, else none
    agent: str = "QLearning"  # the learner's class name, as `sandbox check-env` lists them
    agent_kwargs: str = (
        ""  # hyperparameters, e.g. "gamma=0.9, learning_rate=0.5"; they override the preset's
    )
    preset: str = "auto"  # auto: the agent's preset for this env, if one ships (sandbox/presets/); none; or a name like DQN/MountainCar-v0
    budget: int | None = (
        None  # episodes or env steps, in the agent's budget_unit; None: its default
    )
    eval_episodes: int = 1000
    gamma: float = 0.99  # the reference value iteration's discount

    def validate(self) -> None:
        if self.budget is not None:
            check_number("budget", self.budget, low=1, integer=True)
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        env_kwargs(self)
        parse_kwargs("agent_kwargs", self.agent_kwargs)
        if self.preset not in ("auto", "none"):
            presets.get(self.preset)


def env_kwargs(cfg: Config) -> dict[str, Any]:
    """The env's keyword arguments: as set, or the default GridWorld's map when unset on the default env."""
    if cfg.env_kwargs is None:
        return parse_kwargs("env_kwargs", DEFAULT_ENV_KWARGS) if cfg.env == DEFAULT_ENV else {}
    return parse_kwargs("env_kwargs", cfg.env_kwargs)


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
        raise ValueError(
            f"--set {name}={text!r} must be keyword=literal pairs separated by commas, "
            f"e.g. \"gamma=0.9, map='5x5'\" ({exc})."
        ) from None


def agent_class(name: str) -> type[Learner]:
    learners = load_learner_plugins()
    return learners[check_choice("agent", name, sorted(learners))]


def training_kwargs(cls: type[Learner], cfg: Config) -> dict[str, Any]:
    """The env keyword arguments ``cls`` trains with: the env's own, plus ``opponent='self'`` for a learner
    that only runs on the env's self-play mode (where the env has one)."""
    kwargs = env_kwargs(cfg)
    if cls.env_support(make_env(cfg.env, **kwargs)) is None or "opponent" in kwargs:
        return kwargs
    try:
        self_play = make_env(cfg.env, **kwargs, opponent="self")
    except (TypeError, ValueError):
        return kwargs  # no self-play mode: fit refuses with the learner's own reason
    return (
        {**kwargs, "opponent": "self"}
        if getattr(self_play.unwrapped, "self_play", False)
        else kwargs
    )


def train(cfg: Config, run: Run) -> dict:
    cls = agent_class(cfg.agent)
    env = make_env(cfg.env, **env_kwargs(cfg))
    kwargs = (
        training_kwargs(cls, cfg)
        if cls.paradigm in ("reinforcement", "planning")
        else env_kwargs(cfg)
    )
    require_env_support(cls, make_env(cfg.env, **kwargs))
    # An id or a factory, not an instance: agents that run several env copies make their own. A bare
    # id goes as the id, as a user would write it, so that make_vec_env can pick its batched
    # vector env (sandbox.vector.BATCHED).
    train_env = functools.partial(make_env, cfg.env, **kwargs) if kwargs else cfg.env
    preset = presets.resolve(cfg.preset, cls.__name__, cfg.env)
    given = parse_kwargs("agent_kwargs", cfg.agent_kwargs)
    known = cls._param_names()
    for key in [*(preset.params if preset else ()), *given]:
        if key not in known:
            hint = close_matches(key, known)
            did = f" Did you mean {' or '.join(map(repr, hint))}?" if hint else ""
            where = f"preset {preset.name} ({preset.file})" if key not in given else "agent_kwargs"
            raise ValueError(
                f"{where}: {cls.__name__} takes no parameter {key!r}.{did} "
                f"Its parameters: {', '.join(known)}."
            )
    params = {**(preset.params if preset else {}), **given}
    if preset is not None:
        overridden = sorted(set(preset.params) & set(given))
        run.say(
            preset.describe()
            + (f"; overridden by agent_kwargs: {', '.join(overridden)}" if overridden else "")
        )
    if "seed" in known:
        params.setdefault("seed", cfg.seed)
    agent = cls(**params)
    unit = getattr(cls, "budget_unit", "steps")
    if cls.paradigm == "planning" or cfg.budget is None:
        agent.fit(train_env, progress=run.progress("train"))
    else:
        agent.fit(train_env, progress=run.progress("train"), **{unit: cfg.budget})
    result = agent.evaluate(env, episodes=cfg.eval_episodes, seed=cfg.seed)
    out = {
        "agent": cls.__name__,
        "env": env_name(env),
        "preset": preset.name if preset else None,
        "budget": None if cls.paradigm == "planning" else cfg.budget,
        "budget_unit": None if cls.paradigm == "planning" else unit,
        **{k: result.get(k) for k in ("mean_return", "success_rate", "mean_length")},
    }
    returns = np.asarray(getattr(agent, "history_", {}).get("episode_returns", []), dtype=float)
    for i, r in enumerate(returns):
        run.log("training", i + 1, episode_return=r)
    out["training_returns"] = returns.tolist()
    if hasattr(env.unwrapped, "P"):
        learners = {"agent": agent}
        from agents.planning import ValueIteration, exact_returns

        if cls.paradigm != "planning":  # a planner is its own exact reference
            learners["optimal"] = ValueIteration(gamma=cfg.gamma).fit(env)
            out["optimal"] = learners["optimal"].evaluate(
                env, episodes=cfg.eval_episodes, seed=cfg.seed
            )
        exact = exact_returns(env, learners)
        if exact is not None:
            out["exact_mean_return"] = exact["agent"]
            if "optimal" in exact:
                out["optimal"]["exact_mean_return"] = exact["optimal"]
    return out


def run(cfg: Config, run: Run) -> dict:
    result = run.stage("train", lambda: train(cfg, run))
    shown = [
        "-" if result[k] is None else result[k]
        for k in ("mean_return", "success_rate", "mean_length")
    ]
    rows = [[result["agent"], *shown]]
    if "optimal" in result:
        o = result["optimal"]
        rows.append(
            [
                f"value iteration (gamma {cfg.gamma:g}, exact)",
                o["mean_return"],
                o["success_rate"],
                o["mean_length"],
            ]
        )
    run.say(f"\n{result['env']}: greedy policies over {cfg.eval_episodes} episodes")
    run.table("evaluation", ["policy", "mean return", "success rate", "mean length"], rows)
    returns = np.asarray(result.pop("training_returns"))
    if len(returns):
        window = max(1, len(returns) // 50)
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        hlines = (
            {"value iteration": result["optimal"]["mean_return"]} if "optimal" in result else None
        )
        run.save_plot(
            plots.curves(
                {result["agent"]: smooth},
                xlabel="training episode",
                ylabel=f"return ({window}-episode mean)",
                title=f"{result['agent']} on {result['env']}",
                hlines=hlines,
            ),
            "learning_curve",
        )
    summary = {
        k: result[k]
        for k in (
            "agent",
            "env",
            "preset",
            "budget",
            "budget_unit",
            "mean_return",
            "success_rate",
            "mean_length",
        )
    }
    if "optimal" in result:
        summary["optimal_mean_return"] = result["optimal"]["mean_return"]
        summary["optimal_success_rate"] = result["optimal"]["success_rate"]
    if "exact_mean_return" in result:
        summary["exact_mean_return"] = result["exact_mean_return"]
        said = f"{result['agent']} {summary['exact_mean_return']:.4f}"
        if "optimal" in result:
            summary["optimal_exact_mean_return"] = result["optimal"]["exact_mean_return"]
            said += f", value iteration {summary['optimal_exact_mean_return']:.4f}"
        run.say(f"exact expected return within the time limit (from P): {said}")
    return summary


EXPERIMENT = Experiment(
    "learn-env",
    "any environment learner on any env (registered id or module:Class), against value iteration's optimum where the env has P",
    Config,
    run,
    tour={"eval_episodes": 200},
    tour_order=50,
    paradigm="reinforcement + planning",
    headline=("mean_return", "success_rate", "optimal_mean_return", "optimal_success_rate"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
