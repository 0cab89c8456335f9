"""Tic-tac-toe by self-play: a Q-table that plays itself learns never to lose.

    sandbox run tictactoe [--seed N] [--set episodes=50000 ...]
    python experiments/tictactoe.py

The article's game-AI example at sandbox size. :class:`agents.SelfPlayQLearning`
plays ``episodes`` games against itself (epsilon-greedy, both sides from one
table), then plays greedily against the built-in opponents of
``sandbox/TicTacToe-v0``: a perfect minimax player (who moves first is a coin
flip per game) and a random player, with the agent moving first and second.
The targets: 0 losses against minimax, >= 90 % wins against random when
moving first. A uniformly random player is shown for scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.selfplay import SelfPlayQLearning
from envs.tictactoe import TicTacToe
from sandbox import plots
from sandbox.checks import check_number
from sandbox.experiment import Experiment, Run, learner_kwargs


@dataclass
class Config:
    seed: int = 0
    episodes: int = 20_000
    gamma: float = 0.9
    learning_rate: float = 1.0
    epsilon_start: float = (
        0.5  # exploration of the first game, decayed linearly to epsilon_end by the last
    )
    epsilon_end: float = 0.05
    eval_games: int = 1000
    window: int = 1000  # self-play games per point of the outcome plot

    def validate(self) -> None:
        check_number("episodes", self.episodes, low=1, integer=True)
        check_number("eval_games", self.eval_games, low=1, integer=True)
        check_number("window", self.window, low=1, integer=True)


CHECKPOINT = "agent.npz"

OPPONENTS = {
    "minimax (coin flip who starts)": dict(opponent="minimax", agent_first=None),
    "random, agent moves first": dict(opponent="random", agent_first=True),
    "random, agent moves second": dict(opponent="random", agent_first=False),
}


def random_player(env: TicTacToe, games: int, seed: int) -> dict[str, float]:
    """Outcomes of a player choosing uniformly among legal cells, for scale."""
    rng = np.random.default_rng(seed)
    finals = np.zeros(games)
    for i in range(games):
        _, info = env.reset(seed=seed + i)
        done = False
        while not done:
            _, r, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        finals[i] = r
    return {
        "wins": int((finals > 0).sum()),
        "draws": int((finals == 0).sum()),
        "losses": int((finals < 0).sum()),
    }


def learn(cfg: Config, run: Run) -> dict:
    agent = SelfPlayQLearning(
        **learner_kwargs(
            cfg,
            "agent",
            gamma=cfg.gamma,
            learning_rate=cfg.learning_rate,
            epsilon_start=cfg.epsilon_start,
            epsilon_end=cfg.epsilon_end,
            exploration_fraction=1.0,
            seed=cfg.seed,
        )
    )
    agent.fit(TicTacToe("self"), episodes=cfg.episodes, progress=run.progress("learn"))
    agent.save(run.path(CHECKPOINT))
    first = agent.history_["episode_returns"]
    for end in range(cfg.window, len(first) + 1, cfg.window):
        chunk = first[end - cfg.window : end]
        run.log(
            "self-play",
            end,
            x_wins=np.mean(chunk > 0),
            draws=np.mean(chunk == 0),
            o_wins=np.mean(chunk < 0),
        )
    # The checkpoint's name inside the run directory, not a path from wherever the run started,
    # so that --resume finds it from any working directory.
    return {"checkpoint": CHECKPOINT, "states_seen": int(agent.visits_.any(axis=1).sum())}


def play_all(cfg: Config, agent: SelfPlayQLearning) -> dict[str, dict]:
    out = {}
    for name, kwargs in OPPONENTS.items():
        out[f"self-play Q vs {name}"] = agent.evaluate(
            TicTacToe(**kwargs), episodes=cfg.eval_games, seed=cfg.seed
        )
        out[f"random player vs {name}"] = random_player(
            TicTacToe(**kwargs), cfg.eval_games, cfg.seed
        )
    return out


def run(cfg: Config, run: Run) -> dict:
    run.say(
        f"self-play: {cfg.episodes} games, epsilon {cfg.epsilon_start} -> {cfg.epsilon_end}, gamma {cfg.gamma}, "
        f"learning rate {cfg.learning_rate}"
    )
    learned = run.stage("learn", lambda: learn(cfg, run))
    agent = SelfPlayQLearning.load(run.path(learned["checkpoint"]))
    run.say(
        f"positions learned (a move tried there, symmetric copies included): {learned['states_seen']}"
    )
    results = run.stage("play", lambda: play_all(cfg, agent))
    rows = [[name, r["wins"], r["draws"], r["losses"]] for name, r in results.items()]
    run.say(f"\n{cfg.eval_games} greedy games against each opponent:")
    run.table("games", ["player vs opponent", "wins", "draws", "losses"], rows)
    minimax = results["self-play Q vs minimax (coin flip who starts)"]
    first = results["self-play Q vs random, agent moves first"]
    first_rate = first["wins"] / cfg.eval_games
    ok = minimax["losses"] == 0 and first_rate >= 0.9
    run.say(
        f"\ntargets (0 losses vs minimax, >= 90% wins vs random moving first): {'met' if ok else 'NOT met'}"
    )
    first_rewards = agent.history_["episode_returns"]
    n = len(first_rewards) // cfg.window
    if n:
        chunks = first_rewards[: n * cfg.window].reshape(n, cfg.window)
        series = {
            "X (first) wins": (chunks > 0).mean(1),
            "draws": (chunks == 0).mean(1),
            "O wins": (chunks < 0).mean(1),
        }
        run.save_plot(
            plots.curves(
                series,
                xlabel=f"self-play games (x{cfg.window})",
                ylabel="fraction of games",
                title=f"Self-play outcomes while learning (epsilon {cfg.epsilon_start} -> {cfg.epsilon_end})",
            ),
            "self_play",
        )
    return {
        "minimax_losses": minimax["losses"],
        "minimax_draws": minimax["draws"],
        "random_first_win_rate": first_rate,
        "random_second_win_rate": results["self-play Q vs random, agent moves second"]["wins"]
        / cfg.eval_games,
        "targets_met": ok,
        "games": results,
    }


EXPERIMENT = Experiment(
    "tictactoe",
    "tic-tac-toe by self-play Q-learning: 0 losses to a perfect minimax player, wins against random",
    Config,
    run,
    tour={"episodes": 5000, "eval_games": 200},
    tour_order=60,
    learners={"agent": "agents.selfplay:SelfPlayQLearning"},
    paradigm="reinforcement",
    headline=("minimax_losses", "random_first_win_rate"),
)

if __name__ == "__main__":
    from sandbox.cli import script_main

    raise SystemExit(script_main(EXPERIMENT))
