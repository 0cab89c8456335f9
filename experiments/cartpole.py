"""CartPole-v1 solved by a neural agent: how many env steps and seconds until it balances.

    sandbox run cartpole [--seed N]                 # PolicyGradient (actor-critic)
    sandbox run cartpole --set agent=dqn            # DQN
    sandbox run cartpole --set agent=dqn --set n_step=1 --set prioritized=false   # one-step, uniform replay
    sandbox sweep cartpole --grid agent=dqn --grid n_step=1,3 --grid prioritized=false,true --seeds 0,1,2,3,4,5
    python experiments/cartpole.py

Training stops when the mean return of the last 100 training episodes
(the agent's own actions, exploration included) reaches 475, the threshold
Gymnasium uses for "solved"; PolicyGradient and DQN are judged by this same
rule (``solve_criterion`` in ``summary.json``). Then 100 fresh episodes are
played with the deterministic policy (most likely action / greedy Q), which
must average 475 too. DQN's defaults decay its learning rate to zero over
the step budget so that its policy settles (see agents/dqn.py); its budget
here is 100,000 env steps, PolicyGradient's 150,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from agents.dqn import DQN
from agents.policy_gradient import PolicyGradient
from sandbox import plots
from sandbox.checks import check_choice, check_number
from sandbox.experiment import Experiment, Run, learner_kwargs
from sandbox.scratch import BACKENDS
from sandbox.seeding import derive_seed

AGENTS = ("pg", "dqn")
ENV = "CartPole-v1"


@dataclass
class Config:
    seed: int = 0
    agent: str = "pg"  # "pg" (PolicyGradient) or "dqn" (DQN)
    steps: int = 0  # env-step budget; 0: the agent's own (pg 150,000, dqn 100,000)
    target_return: float = 475.0  # the mean return that counts as solved (Gymnasium's 475)
    window: int = 100
    eval_episodes: int = 100
    threads: int = 1  # torch threads; one is fastest for these small networks
    backend: str = "numpy"  # the agent's engine, "numpy" or "torch"; compare their env steps/s
    n_step: int = 3  # only with agent=dqn: DQN's n-step returns (1: one-step Q-learning targets)
    prioritized: bool = True  # only with agent=dqn: DQN's prioritized replay (false: uniform)

    def validate(self) -> None:
        check_choice("agent", self.agent, AGENTS)
        check_number("steps", self.steps, low=0, integer=True)
        check_number("target_return", self.target_return)
        check_number("window", self.window, low=1, integer=True)
        check_number("eval_episodes", self.eval_episodes, low=1, integer=True)
        check_number("threads", self.threads, low=1, integer=True)
        check_choice("backend", self.backend, BACKENDS)
        check_number("n_step", self.n_step, low=1, integer=True)
        if self.agent != "dqn" and (self.n_step != 3 or not self.prioritized):
            raise ValueError("n_step and prioritized are DQN's settings; use them with agent=dqn.")


BUDGET = {"pg": 150_000, "dqn": 100_000}
NAMES = {"pg": "PolicyGradient", "dqn": "DQN"}


def make_agent(
    name: str, seed: int, backend: str = "numpy", **settings: Any
) -> PolicyGradient | DQN:
    """The agent with its defaults, which are tuned to solve CartPole-v1 (``settings``: those to change)."""
    return (PolicyGradient if name == "pg" else DQN)(seed=seed, backend=backend, **settings)


def train(cfg: Config, run: Run) -> dict:
    dqn = {"n_step": cfg.n_step, "prioritized": cfg.prioritized} if cfg.agent == "dqn" else {}
    agent = make_agent(cfg.agent, cfg.seed, cfg.backend, **learner_kwargs(cfg, "agent", **dqn))
    steps = cfg.steps or BUDGET[cfg.agent]
    run.say(
        f"training {agent!r} on {ENV} for up to {steps:,} env steps (stop at a {cfg.window}-episode mean of {cfg.target_return:g})"
    )
    n = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        agent.fit(
            ENV,
            steps=steps,
            target_return=cfg.target_return,
            window=cfg.window,
            progress=run.progress("train"),
        )
    finally:
        torch.set_num_threads(n)
    agent.save(run.path("agent.npz"))
    ev = agent.evaluate(ENV, episodes=cfg.eval_episodes, seed=derive_seed(cfg.seed, "evaluation"))
    h = agent.history_
    criterion = agent.training_.get("solve_criterion") or (
        f"mean return of the last {cfg.window} training episodes (sampled actions) >= {cfg.target_return:g}"
    )
    return {
        "training": {**agent.training_, "solve_criterion": criterion},
        "eval": ev,
        "steps": h["episode_end_steps"],
        "returns": h["episode_returns"],
        "eval_steps": h.get("eval_steps", []),
        "eval_means": h.get("eval_mean_return", []),
    }


def run(cfg: Config, run: Run) -> dict:
    r = run.stage("train", lambda: train(cfg, run))
    tr, ev = r["training"], r["eval"]
    for step, ret in zip(r["steps"], r["returns"]):
        run.log(f"{cfg.agent}/train", step, episode_return=ret)
    for step, mean in zip(
        r.get("eval_steps", []), r.get("eval_means", [])
    ):  # DQN's greedy evaluations
        run.log(f"{cfg.agent}/greedy_eval", step, mean_return=mean)
    solved = tr["solved_at_steps"] is not None
    run.say(f"solve criterion: {tr['solve_criterion']}")
    run.say(
        f"\n{cfg.agent}: {'solved' if solved else 'NOT solved'}"
        + (
            f" at {tr['solved_at_steps']:,} env steps, {tr['solved_seconds']:.1f} s (episode {tr['solved_at_episode']})"
            if solved
            else f" within {tr['steps']:,} env steps ({tr['seconds']:.1f} s)"
        )
        + f"; {tr['steps_per_second']:,.0f} env steps/s inside fit"
    )
    run.say(
        f"deterministic evaluation over {ev['episodes']} episodes: mean {ev['mean_return']:.1f} +- {ev['std_return']:.1f}"
    )
    run.save_plot(
        plots.learning_curve(
            {NAMES[cfg.agent]: (r["steps"], r["returns"])},
            window=cfg.window,
            target=cfg.target_return,
            title=f"{ENV}: return per training episode while {NAMES[cfg.agent]} learns (seed {cfg.seed})",
        ),
        "learning_curve",
    )
    return {
        "agent": cfg.agent,
        "solved": solved,
        "solve_criterion": tr["solve_criterion"],
        "solved_at_steps": tr["solved_at_steps"],
        "solved_seconds": tr["solved_seconds"],
        "solved_at_episode": tr["solved_at_episode"],
        "train_steps": tr["steps"],
        "train_seconds": tr["seconds"],
        "steps_per_second": tr["steps_per_second"],
        "eval_mean_return": ev["mean_return"],
        "eval_std_return": ev["std_return"],
        "eval_passed": ev["mean_return"] >= cfg.target_return,
    }


EXPERIMENT = Experiment(
    "cartpole",
    "CartPole-v1 by PolicyGradient (or DQN with --set agent=dqn): env steps and seconds to a 100-episode mean of 475",
    Config,
    run,
    tour={"steps": 6_000, "eval_episodes": 5},
    tour_order=65,
    learners={"agent": {"pg": "agents.policy_gradient:PolicyGradient", "dqn": "agents.dqn:DQN"}},
    paradigm="reinforcement",
    headline=("eval_mean_return", "steps_per_second"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
