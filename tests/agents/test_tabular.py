"""QLearning, SARSA, ExpectedSARSA: what they learn, determinism, checkpoints, and every bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agents import SARSA, ExpectedSARSA, QLearning
from agents.tabular import MAX_TABLE_ENTRIES, epsilon_greedy
from sandbox.environments import make_env
from sandbox.errors import NotFittedError
from sandbox.schedules import exploration, schedule_value
from sandbox.wrappers import Discretize
from tests.agents.tiny_mdp import GAMMA, Q_STAR, TinyMDP

AGENTS = [QLearning, SARSA, ExpectedSARSA]


def non_slippery():
    return make_env("FrozenLake-v1", is_slippery=False)


def test_q_learning_finds_the_shortest_path_on_non_slippery_4x4():
    agent = QLearning(gamma=0.9, learning_rate=0.5, epsilon_start=0.5, epsilon_end=0.5, seed=0).fit(
        non_slippery(), episodes=400
    )
    result = agent.evaluate(non_slippery(), episodes=5)
    assert result["success_rate"] == 1.0
    assert result["mean_length"] == 6  # S to G on the 4x4 map takes 6 moves at the least
    assert result["mean_return"] == 1.0


def test_q_learning_converges_to_the_hand_computed_q_table():
    agent = QLearning(
        gamma=GAMMA,
        learning_rate=0.5,
        learning_rate_schedule="linear",
        learning_rate_end=0.01,
        epsilon_start=1.0,
        epsilon_end=1.0,
        seed=0,
    )
    agent.fit(TinyMDP(), steps=20_000)
    np.testing.assert_allclose(agent.q_table_, Q_STAR, atol=0.1)  # values 8-10: within about 1%
    assert agent.act(0) == 1 and agent.act(1) == 0


@pytest.mark.parametrize("cls", AGENTS)
def test_same_seed_gives_an_identical_q_table(cls):
    kwargs = dict(
        learning_rate=0.2,
        learning_rate_schedule="cosine",
        epsilon_start=0.5,
        epsilon_end=0.05,
        seed=7,
    )
    a = cls(**kwargs).fit("FrozenLake-v1", episodes=300)
    b = cls(**kwargs).fit("FrozenLake-v1", episodes=300)
    c = cls(**{**kwargs, "seed": 8}).fit("FrozenLake-v1", episodes=300)
    np.testing.assert_array_equal(a.q_table_, b.q_table_)
    assert a.history_ == b.history_
    assert not np.array_equal(a.q_table_, c.q_table_)


def test_sarsa_learns_the_safe_path_and_q_learning_the_edge_on_the_cliff():
    common = dict(gamma=1.0, learning_rate=0.5, epsilon_start=0.1, epsilon_end=0.1, seed=0)
    greedy = {}
    for cls in (QLearning, SARSA):
        agent = cls(**common).fit("CliffWalking-v1", episodes=500)
        greedy[cls.__name__] = agent.evaluate("CliffWalking-v1", episodes=1, max_steps=100)[
            "mean_return"
        ]
    assert greedy["QLearning"] == -13  # the optimal path along the cliff edge
    assert -100 < greedy["SARSA"] < -13  # a longer path, away from the edge


def test_expected_sarsa_learns_the_tiny_mdp():
    agent = ExpectedSARSA(
        gamma=GAMMA, learning_rate=0.3, epsilon_start=0.3, epsilon_end=0.3, seed=1
    ).fit(TinyMDP(), steps=5000)
    assert list(agent.policy_) == [1, 0]


def test_steps_budget_is_exact_and_history_per_episode():
    agent = QLearning(epsilon_start=1.0, epsilon_end=0.0, exploration_fraction=0.5, seed=0).fit(
        "FrozenLake-v1", steps=777
    )
    assert agent.n_steps_ == 777 == sum(agent.history_["episode_lengths"])
    assert len(agent.history_["episode_returns"]) == agent.n_episodes_
    eps = agent.history_["epsilon"]
    assert (
        eps[0] == 1.0 and all(x >= y for x, y in zip(eps, eps[1:])) and eps[-1] == 0.0
    )  # held after half


def test_schedules():
    assert schedule_value("constant", 0.5, 0.1, 0.7) == 0.5
    assert schedule_value("linear", 1.0, 0.0, 0.25) == pytest.approx(0.75)
    assert schedule_value("cosine", 1.0, 0.0, 0.5) == pytest.approx(0.5)
    assert schedule_value("linear", 1.0, 0.0, 3.0) == 0.0  # held at the end value
    assert exploration(1.0, 0.1, 0.5, 0.25) == pytest.approx(
        0.55
    )  # halfway through the exploration part
    assert exploration(1.0, 0.1, 0.5, 0.8) == pytest.approx(0.1)  # held after it
    assert exploration(1.0, 0.1, 0.0, 0.0) == pytest.approx(0.1)  # no decay at all


def test_epsilon_greedy_breaks_ties_at_random_and_explores_uniformly():
    row = [1.0, 3.0, 3.0, 0.0]
    assert {epsilon_greedy(row, 0.0, u, 4) for u in np.linspace(0, 0.999, 50)} == {1, 2}
    assert {epsilon_greedy(row, 1.0, u, 4) for u in np.linspace(0, 0.999, 50)} == {0, 1, 2, 3}


def test_optimistic_initial_values_make_a_greedy_agent_explore():
    agent = QLearning(
        epsilon_start=0.0, epsilon_end=0.0, initial_q=1.0, gamma=0.95, learning_rate=0.5, seed=0
    ).fit(non_slippery(), episodes=300)
    assert agent.evaluate(non_slippery(), episodes=1)["success_rate"] == 1.0


def test_act_greedy_explore_and_batches():
    agent = QLearning(epsilon_start=1.0, epsilon_end=1.0, seed=0).fit("FrozenLake-v1", episodes=50)
    assert agent.q_table_[3, agent.act(3)] == agent.q_table_[3].max()
    states = np.array([[0, 1], [2, 3]])
    np.testing.assert_array_equal(agent.act(states), agent.policy_[states])
    explored = {agent.act(0, explore=True) for _ in range(60)}
    assert explored == {0, 1, 2, 3}  # epsilon ended at 1.0: uniformly random
    assert agent.act(states, explore=True).shape == (2, 2)


def test_save_and_load_round_trip(tmp_path):
    agent = SARSA(learning_rate=0.3, epsilon_start=0.2, seed=3).fit("FrozenLake-v1", episodes=100)
    agent.save(tmp_path / "sarsa.npz")
    back = SARSA.load(tmp_path / "sarsa.npz")
    np.testing.assert_array_equal(back.q_table_, agent.q_table_)
    assert back.history_ == agent.history_ and back.get_params() == agent.get_params()
    assert back.n_steps_ == agent.n_steps_ and back.act(5) == agent.act(5)


# ------------------------------------------------------------------ bad input


def test_box_observations_point_to_discretize():
    with pytest.raises(ValueError, match=r"CartPole-v1 has observation_space=Box.*Discretize"):
        QLearning().fit("CartPole-v1", episodes=1)


def test_box_actions_point_to_discretize():
    env = Discretize("MountainCarContinuous-v0", bins=4)
    with pytest.raises(ValueError, match=r"action_space=Box.*Discretize\(env, action_bins"):
        SARSA().fit(env, episodes=1)


@pytest.mark.parametrize(
    ("param", "value", "allowed"),
    [
        ("gamma", -0.1, r"\[0.0, 1.0\]"),
        ("gamma", 1.5, r"\[0.0, 1.0\]"),
        ("epsilon_start", 1.01, r"\[0.0, 1.0\]"),
        ("epsilon_start", -0.5, r"\[0.0, 1.0\]"),
        ("epsilon_end", 2.0, r"\[0.0, 1.0\]"),
        ("learning_rate", 0.0, r"\(0.0, 1.0\]"),
        ("learning_rate_end", 1.5, r"\(0.0, 1.0\]"),
        ("learning_rate_schedule", "linaer", "Did you mean 'linear'"),
        ("learning_rate_schedule", "exponential", "choose one of"),
        ("exploration_fraction", 1.5, r"\[0.0, 1.0\]"),
        ("initial_q", float("nan"), "finite"),
        ("seed", -1, ">= 0"),
    ],
)
def test_bad_hyperparameters_are_named(param, value, allowed):
    agent = QLearning(**{param: value})
    with pytest.raises(ValueError, match=rf"{param}=.*{allowed}"):
        agent.fit("FrozenLake-v1", episodes=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"episodes": 0}, r"episodes=0 .*>= 1"),
        ({"steps": -5}, r"steps=-5 .*>= 1"),
        ({"episodes": 2.5}, "episodes=2.5 must be an integer"),
        ({"episodes": 10, "steps": 10}, "not both"),
    ],
)
def test_bad_budgets(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QLearning().fit("FrozenLake-v1", **kwargs)


def test_unknown_env_id_suggests_the_right_one():
    with pytest.raises(ValueError, match="Did you mean 'FrozenLake-v1'"):
        QLearning().fit("FrozenLake-v2", episodes=1)


def test_act_before_fit_and_out_of_range_states():
    with pytest.raises(NotFittedError, match="call fit"):
        QLearning().act(0)
    agent = QLearning(seed=0).fit("FrozenLake-v1", episodes=5)
    for bad in (16, -1, 2.0, "3", np.array([0, 16]), True):
        with pytest.raises(ValueError, match=r"integer .* in \[0, 15\]"):
            agent.act(bad)


def test_evaluate_on_another_env_is_refused():
    agent = QLearning(seed=0).fit("FrozenLake-v1", episodes=5)
    with pytest.raises(ValueError, match="fitted on 16 states"):
        agent.evaluate("FrozenLake8x8-v1", episodes=1)


def test_callback_reports_every_percent_and_can_stop_training():
    seen = []
    agent = QLearning(seed=0).fit("FrozenLake-v1", episodes=200, callback=seen.append)
    assert [i["done"] for i in seen] == list(range(2, 201, 2)) and seen[0]["unit"] == "episodes"
    assert seen[-1]["total"] == 200 and 0 <= seen[-1]["mean_return"] <= 1
    np.testing.assert_array_equal(
        seen[-1]["policy"], np.argmax(agent.q_table_, axis=1)
    )  # the final table's argmax
    stopped = QLearning(seed=0).fit(
        "FrozenLake-v1", episodes=200, callback=lambda info: info["done"] < 50
    )
    assert stopped.n_episodes_ == 50  # False at 50 stops there, keeping what was learned


def test_default_budget_and_progress_bar(capsys):
    agent = QLearning(seed=0).fit(non_slippery(), progress=True)
    assert agent.n_episodes_ == 10_000
    assert "QLearning" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"callback": 3}, "callback=3 is not callable"),
        ({"progress": "yes"}, "progress='yes' must be True or False"),
    ],
)
def test_bad_callbacks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QLearning().fit("FrozenLake-v1", episodes=1, **kwargs)


def test_a_time_limit_truncates_without_ending_the_value():
    from gymnasium.wrappers import TimeLimit

    # One step per episode: staying in state 0 earns 0.5 and the limit cuts the episode there.
    # State 0 is not terminal, so Q(0, stay) must bootstrap past 0.5 towards 0.5 / (1 - gamma).
    agent = QLearning(gamma=0.5, learning_rate=0.5, epsilon_start=0.0, epsilon_end=0.0, seed=0).fit(
        TimeLimit(TinyMDP(), 1), episodes=200
    )
    assert agent.q_table_[0, 0] == pytest.approx(1.0, abs=1e-6)  # 0.5 / (1 - 0.5): never the end


# ------------------------------------------------------- spaces users bring


def test_tuple_observations_are_flattened_by_themselves_and_act_takes_the_tuple(tmp_path):
    agent = QLearning(seed=0).fit("Blackjack-v1", episodes=300)
    assert agent.q_table_.shape == (32 * 11 * 2, 2)
    assert agent.act((20, 5, 0)) == agent.act(
        20 * 22 + 5 * 2 + 0
    )  # the tuple and its flat index agree
    assert "max_steps" in agent.evaluate("Blackjack-v1", episodes=5)
    agent.save(tmp_path / "bj.npz")
    assert QLearning.load(tmp_path / "bj.npz").act((20, 5, 0)) == agent.act((20, 5, 0))
    with pytest.raises(ValueError, match="outside its part's range"):
        agent.act((40, 5, 0))


def test_a_tuple_with_a_box_part_is_refused_naming_both_wrappers():
    env = gym.make("Blackjack-v1")
    env.observation_space = gym.spaces.Tuple((gym.spaces.Discrete(3), gym.spaces.Box(0, 1, (2,))))
    reason = QLearning.env_support(env)
    assert "FlattenDiscrete" in reason and "Discretize" in reason
    with pytest.raises(ValueError, match="QLearning cannot run on Blackjack-v1"):
        QLearning().fit(env, episodes=1)


def test_a_table_too_large_to_allocate_is_refused_with_its_size():
    env = Discretize(
        gym.wrappers.FlattenObservation(gym.make("Blackjack-v1")), bins=2, low=0, high=1
    )
    with pytest.raises(
        ValueError, match=rf"35,184,372,088,832 states x 2 actions.*limit of {MAX_TABLE_ENTRIES:,}"
    ):
        QLearning().fit(env, episodes=1)
    assert "limit" in SARSA.env_support(env)


class NaNReward(gym.Wrapper):
    """FrozenLake whose 7th step pays NaN."""

    def __init__(self, value):
        super().__init__(non_slippery())
        self.value, self.steps = value, 0

    def step(self, action):
        obs, r, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        return obs, (self.value if self.steps == 7 else r), terminated, truncated, info


@pytest.mark.parametrize("cls", AGENTS)
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_reward_stops_fit_naming_the_step(cls, value):
    agent = cls(seed=0)
    with pytest.raises(ValueError, match="non-finite reward .* at env step 7"):
        agent.fit(NaNReward(value), episodes=50)
    assert not agent.is_fitted  # no table full of NaN left behind


def test_act_refuses_a_nan_observation():
    agent = QLearning(seed=0).fit("FrozenLake-v1", episodes=5)
    with pytest.raises(ValueError, match="not finite"):
        agent.act(float("nan"))


def test_sarsa_with_defaults_reaches_the_cliff_goal_on_every_seed():
    """#14: with its defaults SARSA's greedy policy reaches the goal instead of walking into a wall forever."""
    for seed in (3, 7):
        result = (
            SARSA(seed=seed)
            .fit("CliffWalking-v1", episodes=500)
            .evaluate("CliffWalking-v1", episodes=1)
        )
        assert result["capped_episodes"] == 0 and -17 <= result["mean_return"] <= -13, (
            seed,
            result,
        )


def test_greedy_ties_are_broken_at_random_but_reproducibly():
    from agents.tabular import greedy_policy

    q = np.zeros((200, 4))
    q[:, 3] = -1.0  # actions 0, 1, 2 tie everywhere
    picks = greedy_policy(q, np.random.default_rng(0))
    assert set(picks) == {0, 1, 2}
    np.testing.assert_array_equal(picks, greedy_policy(q, np.random.default_rng(0)))


def test_training_on_an_env_without_a_time_limit_truncates_its_episodes_and_ends():
    """CliffWalking has no time limit; this learner's greedy path once bumped a wall forever during fit."""
    from sandbox.rollout import DEFAULT_MAX_STEPS

    agent = ExpectedSARSA(learning_rate=0.5, seed=0).fit("CliffWalking-v1", episodes=200)
    assert max(agent.history_["episode_lengths"]) <= DEFAULT_MAX_STEPS
    assert agent.evaluate("CliffWalking-v1", episodes=1)["mean_return"] == -17.0  # the safe path


def test_defaults_learn_a_generated_map_that_epsilon_greedy_from_zero_misses():
    """#14: optimistic initial values (the default initial_q=1.0) find the goal of a generated
    slippery map systematically; the former defaults (initial_q=0, epsilon over half the budget)
    reached a fraction of value iteration's success with the same budget."""
    from agents import ValueIteration
    from agents.planning import policy_value, transition_model

    env = make_env("sandbox/RandomFrozenLake-v0", size=5, map_seed=1)
    model = transition_model(env)

    def success(policy):  # exact, from the map's P, within its 125-step limit
        return float(policy_value(model, policy, horizon=125)[0])

    best = success(ValueIteration(gamma=0.99).fit(env).policy_)
    assert best > 0.95
    assert success(QLearning(seed=0).fit(env, episodes=1000).policy_) >= 0.9 * best
    former = QLearning(initial_q=0.0, exploration_fraction=0.5, seed=0).fit(env, episodes=1000)
    assert success(former.policy_) < 0.5 * best
