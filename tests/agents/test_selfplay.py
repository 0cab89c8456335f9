"""Self-play Q-learning on tic-tac-toe (the full 0-loss claim is the tictactoe experiment's)."""

import numpy as np
import pytest

from agents import SelfPlayQLearning
from envs.tictactoe import TicTacToe, encode


@pytest.fixture(scope="module")
def agent():
    return SelfPlayQLearning(epsilon_start=0.5, exploration_fraction=1.0, seed=0).fit(
        TicTacToe("self"), episodes=4000
    )


def test_never_loses_to_minimax_and_beats_random_moving_first(agent):
    # The experiment's claim (1000 games each, 20,000 self-play games) at test size.
    assert agent.evaluate(TicTacToe("minimax"), episodes=200)["losses"] == 0
    result = agent.evaluate(TicTacToe("random", agent_first=True), episodes=300)
    assert result["win_rate"] >= 0.9 and result["episodes"] == 300


def test_symmetric_positions_share_their_values(agent):
    from envs.tictactoe import symmetry_maps

    states, actions = symmetry_maps()
    q = agent.q_table_
    for obs in np.flatnonzero(agent.visits_.any(axis=1))[:300]:
        for k in range(8):
            np.testing.assert_array_equal(q[states[k, obs], actions[k]], q[obs])


def test_takes_an_immediate_win_and_blocks_one(agent):
    # X: 0, 1; O: 3, 4; X to move: the win at 2 (found in self-play often enough to be certain).
    board = np.array([1, 1, 0, 2, 2, 0, 0, 0, 0])
    assert agent.act(encode(board, 1), action_mask=(board == 0).astype(np.int8)) == 2
    # X to move facing O's two in the middle row (and no win of its own): block at 5.
    board = np.array([1, 0, 0, 2, 2, 0, 0, 0, 1])
    assert agent.act(encode(board, 1), action_mask=(board == 0).astype(np.int8)) == 5


def test_same_seed_same_table_and_save_load(tmp_path, agent):
    a, b = (
        SelfPlayQLearning(seed=5, use_symmetries=False).fit(TicTacToe("self"), episodes=300)
        for _ in range(2)
    )
    np.testing.assert_array_equal(a.q_table_, b.q_table_)
    np.testing.assert_array_equal(a.history_["episode_returns"], b.history_["episode_returns"])
    loaded = SelfPlayQLearning.load(agent.save(tmp_path / "ttt.npz"))
    np.testing.assert_array_equal(loaded.q_table_, agent.q_table_)


def test_needs_a_self_play_env():
    with pytest.raises(ValueError, match="self-play mode"):
        SelfPlayQLearning().fit("sandbox/TicTacToe-v0", episodes=1)
    with pytest.raises(ValueError, match=r"observation space is Box"):
        SelfPlayQLearning().fit("sandbox/ContextualBandit-v0", episodes=1)


def test_evaluate_needs_an_opponent(agent):
    with pytest.raises(ValueError, match="opponent='random' or 'minimax'"):
        agent.evaluate(TicTacToe("self"), episodes=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gamma": 2}, "gamma"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"epsilon_start": -0.1}, "epsilon_start"),
        ({"exploration_fraction": 2}, "exploration_fraction"),
        ({"use_symmetries": 1}, "use_symmetries"),
    ],
)
def test_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SelfPlayQLearning(**kwargs).fit(TicTacToe("self"), episodes=1)


def test_budget_in_moves_history_and_a_nan_reward():
    agent = SelfPlayQLearning(seed=0).fit(TicTacToe("self"), steps=100)
    lengths = agent.history_["episode_lengths"]
    assert lengths.sum() >= 100 > lengths[:-1].sum()  # the game that spends the budget is finished
    assert set(np.unique(agent.history_["episode_returns"])) <= {-1.0, 0.0, 1.0}

    class NaNGame(TicTacToe):
        def step(self, action):
            obs, r, terminated, truncated, info = super().step(action)
            return obs, float("nan"), terminated, truncated, info

    with pytest.raises(ValueError, match="non-finite reward .* at env step 1"):
        SelfPlayQLearning().fit(NaNGame("self"), episodes=3)
    with pytest.raises(ValueError, match="not a state"):
        agent.act(float("nan"))
