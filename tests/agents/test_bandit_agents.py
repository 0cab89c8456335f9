"""Bandit agents: the book's ordering of epsilon-greedy, seeds, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest

from agents import UCB, EpsilonGreedy, GradientBandit
from envs.bandit import Testbed
from sandbox.errors import NotFittedError


def _fit(agent, runs=300, steps=400, seed=0):
    return agent.fit(Testbed(10, runs, rng=np.random.default_rng(seed)), steps=steps)


def test_some_exploration_beats_greedy_on_the_testbed():
    greedy = _fit(EpsilonGreedy(epsilon_start=0.0, epsilon_end=0.0))
    eps = _fit(EpsilonGreedy(epsilon_start=0.1, epsilon_end=0.1))
    tail = slice(-100, None)
    assert eps.history_["optimal"][tail].mean() > greedy.history_["optimal"][tail].mean() + 0.2
    assert eps.history_["reward"][tail].mean() > greedy.history_["reward"][tail].mean()


def test_ucb_and_gradient_bandit_learn_well_above_chance():
    for agent in (UCB(c=2.0), GradientBandit(learning_rate=0.1)):
        assert _fit(agent).history_["optimal"][-100:].mean() > 0.6  # chance is 0.1


def test_constant_step_size_tracks_drifting_arms_better_than_sample_averages():
    def tail(learning_rate):
        bed = Testbed(10, 300, drift=0.05, rng=np.random.default_rng(1))
        agent = EpsilonGreedy(epsilon_start=0.1, epsilon_end=0.1, learning_rate=learning_rate).fit(
            bed, steps=2000
        )
        return agent.history_["reward"][-500:].mean()

    assert tail(0.1) > tail(None)


def test_fits_a_gymnasium_env_by_id_and_evaluates():
    agent = EpsilonGreedy(seed=0).fit("sandbox/Bandit-v0", steps=500)
    assert agent.q_.shape == (1, 10) and agent.history_["reward"].shape == (500,)
    assert isinstance(agent.act(), int)
    env = gym.make("sandbox/Bandit-v0")
    result = agent.evaluate(env, episodes=2)
    assert result["episodes"] == 2 and result["mean_length"] == 1000


def test_same_seed_same_numbers_and_save_load(tmp_path):
    a = _fit(EpsilonGreedy(seed=4), runs=20, steps=50)
    b = _fit(EpsilonGreedy(seed=4), runs=20, steps=50)
    np.testing.assert_array_equal(a.q_, b.q_)
    path = a.save(tmp_path / "eg.npz")
    c = EpsilonGreedy.load(path)
    np.testing.assert_array_equal(c.q_, a.q_)
    np.testing.assert_array_equal(c.act(), a.act())
    g = GradientBandit(seed=1).fit("sandbox/Bandit-v0", steps=30)
    assert GradientBandit.load(g.save(tmp_path / "g.npz")).act() == g.act()


@pytest.mark.parametrize(
    ("agent", "message"),
    [
        (EpsilonGreedy(epsilon_start=1.5), "epsilon_start"),
        (EpsilonGreedy(learning_rate=0.0), "learning_rate"),
        (EpsilonGreedy(exploration_fraction=2), "exploration_fraction"),
        (UCB(c=-1.0), "c="),
        (GradientBandit(learning_rate=0), "learning_rate"),
        (GradientBandit(baseline="yes"), "baseline"),
        (EpsilonGreedy(seed=-1), "seed"),
    ],
)
def test_bad_hyperparameters(agent, message):
    with pytest.raises(ValueError, match=message):
        _fit(agent, runs=2, steps=2)


def test_bad_env_spaces_are_refused_with_the_reason():
    with pytest.raises(
        ValueError, match=r"EpsilonGreedy cannot run on sandbox/GridWorld-v0: .*Discrete\(1\)"
    ):
        EpsilonGreedy().fit("sandbox/GridWorld-v0", steps=5)
    with pytest.raises(
        ValueError, match=r"observation space is Box\(4,\); this agent needs Discrete"
    ):
        EpsilonGreedy().fit("sandbox/ContextualBandit-v0", steps=5)


def test_act_before_fit_and_steps():
    with pytest.raises(NotFittedError):
        EpsilonGreedy().act()
    with pytest.raises(ValueError, match="steps"):
        EpsilonGreedy().fit("sandbox/Bandit-v0", steps=0)


def test_linucb_learns_to_classify_from_reward_alone():
    from sklearn.datasets import load_iris

    from agents import LinUCB
    from envs import ContextualBandit

    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    train, test = order[:100], order[100:]
    env = ContextualBandit((X[train], y[train]))
    agent = LinUCB(seed=0).fit(env, steps=600)
    X_test = (X[test] - X[train].mean(0)) / X[train].std(0)
    assert (agent.act(X_test) == y[test]).mean() >= 0.85  # chance is 1/3
    assert agent.history_["reward"][-200:].mean() > agent.history_["reward"][:50].mean()


def test_linucb_checks_spaces_inputs_and_round_trips(tmp_path):
    from agents import LinUCB

    with pytest.raises(
        ValueError,
        match=r"LinUCB cannot run on sandbox/GridWorld-v0: its observation space is Discrete",
    ):
        LinUCB().fit("sandbox/GridWorld-v0", steps=5)
    with pytest.raises(ValueError, match="ridge"):
        LinUCB(ridge=0).fit("sandbox/ContextualBandit-v0", steps=5)
    agent = LinUCB(seed=0).fit("sandbox/ContextualBandit-v0", steps=50)
    with pytest.raises(ValueError, match=r"obs has shape \(3,\); this LinUCB was fitted on 4"):
        agent.act(np.zeros(3))
    loaded = LinUCB.load(agent.save(tmp_path / "lin.npz"))
    batch = np.random.default_rng(0).normal(size=(20, 4))
    np.testing.assert_array_equal(loaded.act(batch), agent.act(batch))
    assert agent.evaluate("sandbox/ContextualBandit-v0", episodes=50)["episodes"] == 50


def test_budgets_history_and_exploring_act():
    agent = EpsilonGreedy(seed=0).fit(
        "sandbox/Bandit-v0", episodes=2
    )  # the env ends after 1000 pulls
    assert (
        list(agent.history_["episode_lengths"]) == [1000, 1000]
        and len(agent.history_["reward"]) == 2000
    )
    np.testing.assert_allclose(
        agent.history_["episode_returns"].sum(), agent.history_["reward"].sum()
    )
    assert EpsilonGreedy(seed=0).fit("sandbox/Bandit-v0").history_["reward"].shape == (
        1000,
    )  # the default budget
    with pytest.raises(ValueError, match="not both"):
        EpsilonGreedy().fit("sandbox/Bandit-v0", steps=5, episodes=1)
    with pytest.raises(ValueError, match="a Testbed has no episodes"):
        EpsilonGreedy().fit(Testbed(10, 3), episodes=1)
    explorer = EpsilonGreedy(epsilon_start=1.0, epsilon_end=1.0, seed=0).fit(
        "sandbox/Bandit-v0", steps=20
    )
    assert len({explorer.act(explore=True) for _ in range(60)}) > 3  # epsilon 1: any arm
    assert len({explorer.act() for _ in range(10)}) == 1  # greedy: the same arm every time


def test_epsilon_decays_over_the_exploration_fraction():
    decayed = _fit(
        EpsilonGreedy(epsilon_start=1.0, epsilon_end=0.0, exploration_fraction=0.5),
        runs=200,
        steps=400,
    )
    # after half the budget epsilon is 0: the greedy arm of a well-explored table, mostly the best one
    assert decayed.history_["optimal"][-100:].mean() > 0.8


def test_callback_and_stopping():
    seen = []
    agent = UCB(seed=0).fit("sandbox/Bandit-v0", steps=300, callback=seen.append)
    assert [i["done"] for i in seen] == list(range(3, 301, 3)) and "mean_reward" in seen[-1]
    short = UCB(seed=0).fit("sandbox/Bandit-v0", steps=300, callback=lambda info: info["done"] < 30)
    assert len(short.history_["reward"]) == 30 and len(agent.history_["reward"]) == 300


class NaNBandit(gym.Wrapper):
    def __init__(self):
        super().__init__(gym.make("sandbox/Bandit-v0"))
        self.pulls = 0

    def step(self, action):
        obs, r, terminated, truncated, info = self.env.step(action)
        self.pulls += 1
        return obs, (float("nan") if self.pulls == 5 else r), terminated, truncated, info


@pytest.mark.parametrize("cls", [EpsilonGreedy, UCB, GradientBandit])
def test_a_nan_reward_stops_fit_naming_the_step(cls):
    agent = cls()
    with pytest.raises(ValueError, match="non-finite reward .* at env step 5"):
        agent.fit(NaNBandit(), steps=10)
    assert not agent.is_fitted


def test_linucb_refuses_nan_contexts_and_rewards():
    from agents import LinUCB

    agent = LinUCB(seed=0).fit("sandbox/ContextualBandit-v0", steps=20)
    with pytest.raises(ValueError, match="NaN or infinite"):
        agent.act(np.array([np.nan, 0, 0, 0]))

    class NaNContext(gym.ObservationWrapper):
        def observation(self, obs):
            return np.full_like(obs, np.nan)

    with pytest.raises(ValueError, match="non-finite observation"):
        LinUCB().fit(NaNContext(gym.make("sandbox/ContextualBandit-v0")), steps=5)


def test_default_exploration_earns_more_than_the_books_constant_epsilon():
    default = _fit(EpsilonGreedy(), runs=300, steps=1000)
    constant = _fit(EpsilonGreedy(epsilon_start=0.1, epsilon_end=0.1), runs=300, steps=1000)
    assert default.history_["reward"].mean() > constant.history_["reward"].mean() + 0.05
