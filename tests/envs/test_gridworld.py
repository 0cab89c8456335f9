"""GridWorld: its transition table, sampled steps, planners' exact optimum, rendering, bad maps."""

import numpy as np
import pytest

from agents import ValueIteration
from envs.gridworld import DOWN, LEFT, RIGHT, UP, GridWorld


def test_p_agrees_with_sampled_steps():
    env = GridWorld("5x5", slip=0.3, step_cost=0.05, rewards={"H": -1.0})
    env.reset(seed=0)
    n = 3000
    for s, a in [(0, RIGHT), (6, DOWN), (19, DOWN), (18, RIGHT)]:
        expected = {s2: (p, r, d) for p, s2, r, d in env.P[s][a]}
        counts: dict[int, int] = {}
        for _ in range(n):
            env.s = s
            s2, r, term, trunc, info = env.step(a)
            counts[s2] = counts.get(s2, 0) + 1
            p, r_p, d_p = expected[s2]  # every sampled outcome is in P, with P's reward and ending
            assert (r, term, trunc, info["prob"]) == (
                pytest.approx(r_p),
                d_p,
                False,
                pytest.approx(p),
            )
        for s2, (p, _, _) in expected.items():
            sigma = np.sqrt(p * (1 - p) / n)
            assert abs(counts.get(s2, 0) / n - p) <= 4 * sigma + 1e-12


def test_p_is_a_distribution_in_toy_text_format():
    env = GridWorld("cliff", slip=0.1, step_cost=1.0)
    for s in range(env.observation_space.n):
        for a in range(4):
            outcomes = env.P[s][a]
            assert sum(p for p, *_ in outcomes) == pytest.approx(1.0)
            for p, s2, r, d in outcomes:
                assert 0 < p <= 1 and 0 <= s2 < env.observation_space.n
                assert isinstance(r, float) and isinstance(d, bool)


def test_walls_and_edges_keep_the_agent_in_place():
    env = GridWorld("3x3")
    env.reset(seed=0)
    assert env.step(UP)[0] == 0 and env.step(LEFT)[0] == 0
    env.s = 1
    assert env.step(DOWN)[0] == 1  # (1, 1) is a wall


def test_cliff_sends_back_to_start_without_ending():
    env = GridWorld("cliff", rewards={"C": -100.0, "G": 0.0}, step_cost=1.0)
    env.reset(seed=0)
    s, r, term, _, _ = env.step(RIGHT)
    assert (s, r, term) == (env.start, -101.0, False)


def test_value_iteration_equals_the_hand_computed_optimum_on_a_deterministic_map():
    # S . .      reward 1 on reaching G, gamma 0.9: a cell d moves from G is worth 0.9 ** (d - 1)
    # . # .      (the reward comes on the d-th move). From S, d = 4.
    # . . G
    plan = ValueIteration(gamma=0.9).fit(GridWorld("3x3"))
    distance = {0: 4, 1: 3, 2: 2, 3: 3, 5: 1, 6: 2, 7: 1}
    for s, d in distance.items():
        assert plan.values_[s] == pytest.approx(0.9 ** (d - 1))
    assert plan.act(0) in (RIGHT, DOWN)


def test_value_iteration_equals_the_hand_computed_optimum_with_slip():
    # Holes above and below a corridor: each move right succeeds with 1 - slip, a slip falls in.
    # Six moves reach G, so the best success probability (gamma 1) is (1 - slip) ** 6.
    env = GridWorld("bridge", slip=0.1)
    plan = ValueIteration(gamma=1.0).fit(env)
    assert plan.values_[env.start] == pytest.approx(0.9**6)
    assert [plan.act(env.start + i) for i in range(6)] == [RIGHT] * 6


def test_value_iteration_on_the_cliff_walks_along_the_edge():
    # Sutton & Barto's cliff walking: -1 a step, the optimal path is 13 steps along the cliff.
    env = GridWorld("cliff", rewards={"C": -100.0, "G": 0.0}, step_cost=1.0)
    plan = ValueIteration(gamma=1.0).fit(env)
    assert plan.values_[env.start] == pytest.approx(-13.0)


def test_render_ansi_and_rgb():
    env = GridWorld("3x3", render_mode="ansi")
    env.reset(seed=0)
    assert env.render().splitlines()[0] == "@.."
    env.step(RIGHT)
    assert env.render().splitlines()[1] == "S@."
    rgb = GridWorld("3x3", render_mode="rgb_array")
    rgb.reset(seed=0)
    img = rgb.render()
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    assert (img[16, 16] == (230, 140, 20)).all()  # the agent's disc, in the start cell
    assert not (img[16, 48] == (230, 140, 20)).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"map": ["S.", "..G"]}, "different lengths"),
        ({"map": ["S.X", "..G"]}, "unknown cells"),
        ({"map": ["S.S", "..G"]}, "exactly one start"),
        ({"map": "9x9"}, "not a named map"),
        ({"slip": 1.5}, "slip"),
        ({"step_cost": -1}, "step_cost"),
        ({"rewards": {"Z": 1.0}}, "not cell types"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GridWorld(**kwargs)


def test_bad_action_is_named():
    env = GridWorld()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="0 left, 1 down, 2 right, 3 up"):
        env.step(7)
