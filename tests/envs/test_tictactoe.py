"""Tic-tac-toe: rules, perspectives, the minimax opponent, bad moves."""

import numpy as np
import pytest

from envs.tictactoe import TicTacToe, decode, encode, minimax_moves, winner


def test_observation_is_the_board_seen_by_the_mover():
    env = TicTacToe("self")
    obs, info = env.reset(seed=0)
    assert obs == 0 and info["action_mask"].tolist() == [1] * 9
    obs, r, term, _, info = env.step(4)  # X in the centre; O now sees it as "theirs" (2)
    assert decode(obs).tolist() == [0, 0, 0, 0, 2, 0, 0, 0, 0]
    assert (r, term, info["to_move"]) == (0.0, False, 2)
    obs, *_ = env.step(0)  # O in a corner; X sees its centre as 1, O's corner as 2
    assert decode(obs).tolist() == [2, 0, 0, 0, 1, 0, 0, 0, 0]
    board = np.array([1, 2, 0, 0, 1, 0, 0, 0, 0])
    assert decode(encode(board, 2)).tolist() == [2, 1, 0, 0, 2, 0, 0, 0, 0]


def test_self_play_rewards_the_player_who_completes_a_line():
    env = TicTacToe("self")
    env.reset(seed=0)
    for cell in (0, 3, 1, 4):
        env.step(cell)
    _, r, term, _, info = env.step(2)  # X: 0, 1, 2
    assert (r, term, info["winner"], info["outcome"]) == (1.0, True, 1, "win")
    with pytest.raises(RuntimeError, match="game is over"):
        env.step(5)


def test_minimax_never_loses_and_takes_a_win():
    board = np.array([1, 1, 0, 2, 2, 0, 0, 0, 0], dtype=np.int8)
    assert minimax_moves(board, 1) == [2]  # X completes the top row
    assert minimax_moves(board, 2) == [5]  # O, to move here, completes the middle row
    env = TicTacToe("minimax", agent_first=True)
    rng = np.random.default_rng(0)
    for game in range(60):
        _, info = env.reset(seed=game)
        done = False
        while not done:
            _, r, done, _, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        assert r <= 0  # a random player never beats minimax


def test_opponent_answers_inside_step_and_agent_second_starts_after_it():
    env = TicTacToe("random", agent_first=False)
    obs, info = env.reset(seed=0)
    assert (decode(obs) == 2).sum() == 1 and info["action_mask"].sum() == 8
    obs, *_ = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    assert (decode(obs) == 2).sum() == 2 and (decode(obs) == 1).sum() == 1


def test_illegal_move_loses():
    env = TicTacToe("random", agent_first=True)
    env.reset(seed=0)
    env.step(0)
    taken = int(np.flatnonzero(env.board == 2)[0])
    _, r, term, _, info = env.step(taken)
    assert (r, term, info["illegal_move"]) == (-1.0, True, True)


def test_winner_on_all_lines():
    for line in ([0, 1, 2], [0, 4, 8], [2, 4, 6], [1, 4, 7]):
        board = np.zeros(9, dtype=np.int8)
        board[line] = 2
        assert winner(board) == 2
    assert winner(np.array([1, 2, 1, 1, 2, 2, 2, 1, 1])) == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"opponent": "minmax"}, "Did you mean 'minimax'"),
        ({"agent_first": "yes"}, "agent_first"),
        ({"illegal_reward": 1.0}, "illegal_reward"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TicTacToe(**kwargs)


def test_bad_action():
    env = TicTacToe()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"choose an integer in \[0, 8\]"):
        env.step(9)
