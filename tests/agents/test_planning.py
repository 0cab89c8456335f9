"""ValueIteration, PolicyIteration and the exact references: hand-computed values and known optima."""

from __future__ import annotations

import numpy as np
import pytest

from agents import PolicyIteration, ValueIteration
from agents.planning import finite_horizon, policy_value, transition_model
from sandbox.environments import make_env
from sandbox.wrappers import Discretize
from tests.agents.tiny_mdp import GAMMA, Q_STAR, V0, V1, TinyMDP


@pytest.mark.parametrize("cls", [ValueIteration, PolicyIteration])
def test_planners_equal_the_hand_computed_tiny_mdp(cls):
    plan = cls(gamma=GAMMA).fit(TinyMDP())
    np.testing.assert_allclose(plan.values_, [V0, V1], atol=1e-8)
    np.testing.assert_allclose(plan.q_table_, Q_STAR, atol=1e-8)
    assert list(plan.policy_) == [1, 0] and plan.converged_


def test_value_and_policy_iteration_agree_on_taxi():
    vi = ValueIteration(gamma=0.99).fit("Taxi-v4")
    pi = PolicyIteration(gamma=0.99).fit("Taxi-v4")
    np.testing.assert_allclose(vi.values_, pi.values_, atol=1e-6)
    assert pi.converged_ and pi.n_iter_ < 30 and pi.history_["changed"][-1] == 0


def test_exact_frozen_lake_references():
    model = transition_model("FrozenLake-v1")
    values, policy = finite_horizon(model, 100)
    assert values[100][0] == pytest.approx(
        0.7442, abs=5e-5
    )  # time-dependent optimum within 100 steps
    assert policy.shape == (100, 16)
    stationary = ValueIteration(gamma=0.99).fit("FrozenLake-v1").policy_
    assert policy_value(model, stationary, horizon=100)[0] == pytest.approx(0.7402, abs=5e-5)


def test_the_exact_value_matches_simulated_episodes():
    plan = ValueIteration(gamma=0.99).fit("FrozenLake-v1")
    exact = policy_value(transition_model("FrozenLake-v1"), plan.policy_, horizon=100)[0]
    result = plan.evaluate("FrozenLake-v1", episodes=1000, seed=0)
    se = np.sqrt(exact * (1 - exact) / 1000)
    assert abs(result["success_rate"] - exact) < 4 * se


def test_save_load_round_trip(tmp_path):
    plan = ValueIteration(gamma=0.95).fit("FrozenLake-v1")
    back = ValueIteration.load(plan.save(tmp_path / "vi.npz"))
    np.testing.assert_array_equal(back.q_table_, plan.q_table_)
    assert back.history_ == plan.history_ and back.n_iter_ == plan.n_iter_


def test_no_transition_table_is_refused():
    with pytest.raises(ValueError, match="TinyMDP has none.*QLearning"):
        ValueIteration().fit(TinyMDP(with_table=False))
    with pytest.raises(ValueError, match="MountainCar-v0 has none"):
        PolicyIteration().fit(Discretize("MountainCar-v0", bins=5))


def test_box_spaces_and_broken_tables_are_refused():
    with pytest.raises(
        ValueError, match="transition table env.unwrapped.P .* CartPole-v1 has none"
    ):
        ValueIteration().fit("CartPole-v1")
    with pytest.raises(ValueError, match="Blackjack-v1 has none"):  # no model, whatever its spaces
        PolicyIteration().fit("Blackjack-v1")
    with pytest.raises(ValueError, match=r"P\[0\]\[1\] has probabilities summing to 0.9"):
        ValueIteration().fit(TinyMDP(bad_probs=True))


@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (ValueIteration, {"gamma": 1.2}, r"gamma=1.2 .*\[0.0, 1.0\]"),
        (ValueIteration, {"gamma": -1}, r"gamma=-1 .*\[0.0, 1.0\]"),
        (ValueIteration, {"tol": 0}, "tol=0 .*> 0"),
        (ValueIteration, {"max_iter": 0}, "max_iter=0 .*>= 1"),
        (PolicyIteration, {"gamma": 1.0}, r"gamma=1.0 .*\[0.0, 1.0\)"),
    ],
)
def test_bad_hyperparameters(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls(**kwargs).fit(TinyMDP())


def test_stopping_early_warns():
    with pytest.warns(RuntimeWarning, match="max_iter=3"):
        plan = ValueIteration(gamma=0.99, max_iter=3).fit("FrozenLake-v1")
    assert not plan.converged_ and plan.n_iter_ == 3


def test_explore_is_for_learners():
    with pytest.raises(ValueError, match="planner"):
        ValueIteration().fit(TinyMDP()).act(0, explore=True)


def test_callback_sees_every_sweep_and_can_stop():
    seen = []
    plan = ValueIteration(gamma=0.9).fit("FrozenLake-v1", callback=seen.append)
    assert [i["done"] for i in seen] == list(
        range(1, plan.n_iter_)
    )  # the converged sweep ends without a report
    assert seen[0]["unit"] == "iterations" and seen[-1]["delta"] == plan.history_["delta"][-2]
    with pytest.warns(RuntimeWarning, match="without converging"):
        stopped = ValueIteration(gamma=0.9).fit(
            "FrozenLake-v1", callback=lambda info: info["done"] < 4
        )
    assert stopped.n_iter_ == 4


def test_a_non_finite_reward_in_the_model_is_refused():
    env = make_env("FrozenLake-v1")
    env.unwrapped.P[14][2] = [(1.0, 15, float("nan"), True)]
    with pytest.raises(ValueError, match=r"P\[14\]\[2\] holds a non-finite probability or reward"):
        ValueIteration().fit(env)
