"""DQN: targets, learning, determinism, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents._deep import ScaledEncoder
from agents._replay import NStepAccumulator, PrioritizedReplayBuffer, ReplayBuffer
from agents.dqn import DQN, q_loss_grad, td_targets
from sandbox.errors import DivergenceError
from sandbox.seeding import derive_seed
from sandbox.vector import ObsEncoder
from tests.agents.rl_helpers import CountCloses, NaNEnv, PickOneEnv, SpaceEnv


def torch_td_targets(rewards, next_q_online, next_q_target, terminated, gamma, double):
    """The reference: Double DQN / DQN targets in torch."""
    if double:
        nxt = next_q_target.gather(1, next_q_online.argmax(dim=1, keepdim=True))[:, 0]
    else:
        nxt = next_q_target.max(dim=1).values
    return rewards + gamma * (1.0 - terminated) * nxt


SMALL = dict(
    hidden=(32,), n_envs=2, learning_starts=100, train_freq=32, gradient_steps=8, batch_size=32
)


def test_td_targets_double_and_plain():
    r = np.array([1.0, 1.0])
    online = np.array([[0.0, 5.0], [3.0, 0.0]])
    target = np.array([[2.0, 1.0], [4.0, 7.0]])
    term = np.array([0.0, 1.0])
    # plain: max of the target net; double: the target net's value of the online argmax
    np.testing.assert_allclose(
        td_targets(r, online, target, term, 0.5, double=False), [1 + 0.5 * 2.0, 1.0]
    )
    np.testing.assert_allclose(
        td_targets(r, online, target, term, 0.5, double=True), [1 + 0.5 * 1.0, 1.0]
    )


def test_td_targets_and_loss_gradients_match_torch():
    rng = np.random.default_rng(0)
    r, term = rng.normal(size=8), (rng.random(8) < 0.3).astype(float)
    online, target = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    for double in (True, False):
        ref = torch_td_targets(
            *(torch.from_numpy(v) for v in (r, online, target, term)), 0.9, double=double
        ).numpy()
        np.testing.assert_allclose(
            td_targets(r, online, target, term, 0.9, double=double), ref, rtol=1e-12
        )
    q, y = (
        torch.tensor(rng.normal(scale=2.0, size=16), requires_grad=True),
        torch.tensor(rng.normal(size=16)),
    )
    for name, fn in (
        ("huber", torch.nn.functional.smooth_l1_loss),
        ("mse", torch.nn.functional.mse_loss),
    ):
        q.grad = None
        loss = fn(q, y)
        loss.backward()
        value, grad = q_loss_grad(q.detach().numpy(), y.numpy(), name)
        assert value == pytest.approx(float(loss.detach()), rel=1e-12)
        np.testing.assert_allclose(grad, q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("double, loss", [(True, "huber"), (False, "mse")])
def test_td_step_gradient_equals_torch_autograd(backend, double, loss):
    # One TD step (the loss's gradient by hand, backpropagated by the engine) against autograd through the
    # whole loss, from the same weights, in float64.
    agent = DQN(backend=backend, hidden=(8, 8), double=double, loss=loss, gamma=0.9)
    agent._dtype = np.float64
    agent._validate()
    agent._prepare(gym.spaces.Box(-1, 1, (3,), np.float32), gym.spaces.Discrete(2))
    target = agent._net()
    for p in target.params:
        p += 0.1
    rng = np.random.default_rng(1)
    batch = (
        rng.normal(size=(16, 3)),
        rng.integers(0, 2, 16),
        rng.normal(size=16),
        rng.normal(size=(16, 3)),
        (rng.random(16) < 0.25).astype(float),
        np.full(16, 0.9),
    )
    value, _ = agent.q_loss_grads(target, batch)

    def mlp(ps, x):
        h = torch.relu(x @ ps[0].T + ps[1])
        h = torch.relu(h @ ps[2].T + ps[3])
        return h @ ps[4].T + ps[5]

    online = [torch.tensor(p, requires_grad=True) for p in agent.q_net_.params]
    frozen = [torch.tensor(p) for p in target.params]
    s, a, r, s2, term, _ = (torch.from_numpy(v) for v in batch)
    with torch.no_grad():
        y = torch_td_targets(r, mlp(online, s2), mlp(frozen, s2), term, 0.9, double)
    q = mlp(online, s).gather(1, a[:, None])[:, 0]
    loss_t = (
        torch.nn.functional.smooth_l1_loss if loss == "huber" else torch.nn.functional.mse_loss
    )(q, y)
    loss_t.backward()
    assert value == pytest.approx(float(loss_t.detach()), rel=1e-10)
    for g, t in zip(agent.q_net_.grads, online):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_both_engines_train_alike():
    runs = []
    for backend in ("numpy", "torch"):
        agent = DQN(seed=0, backend=backend, **SMALL)
        agent._dtype = np.float64
        runs.append(agent.fit("CartPole-v1", steps=400))
    a, b = runs
    assert a.history_["episode_returns"] == b.history_["episode_returns"]
    np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)


def test_replay_buffer_wraps_around():
    buf = ReplayBuffer(3, 1)
    for k in range(5):
        buf.add(
            np.array([[k]], np.float32),
            np.array([k]),
            np.array([k]),
            np.array([[k]], np.float32),
            np.array([0.0]),
        )
    assert buf.size == 3 and sorted(buf.actions.tolist()) == [2, 3, 4]


def test_n_step_transitions_sum_discounted_rewards_and_stop_at_episode_ends():
    acc = NStepAccumulator(3, 0.5, n_envs=2)
    x = lambda t: np.array([[t, 0.0], [t, 1.0]], np.float32)  # noqa: E731  env i's observation at time t
    no = np.array([False, False])
    out = [
        acc.push(x(0), np.array([0, 1]), np.array([1.0, 10.0]), x(1), no, no),
        acc.push(x(1), np.array([1, 1]), np.array([2.0, 20.0]), x(2), no, no),
    ]
    assert out == [None, None]
    # t = 2: env 0 terminates, env 1 runs on; env 1's first 3-step transition is complete
    obs, a, ret, nxt, term, disc = acc.push(
        x(2),
        np.array([0, 0]),
        np.array([4.0, 40.0]),
        x(3),
        np.array([True, False]),
        np.array([True, False]),
    )
    np.testing.assert_allclose(
        ret, [1 + 0.5 * 2 + 0.25 * 4, 2 + 0.5 * 4, 4, 10 + 0.5 * 20 + 0.25 * 40]
    )
    np.testing.assert_allclose(obs[:, 0], [0, 1, 2, 0])
    np.testing.assert_array_equal(a, [0, 1, 0, 1])
    np.testing.assert_array_equal(term, [1, 1, 1, 0])
    np.testing.assert_allclose(disc, [0.125, 0.25, 0.5, 0.125])
    np.testing.assert_allclose(nxt[:, 0], [3, 3, 3, 3])
    # a truncated episode bootstraps (terminated 0) from its final observation with the shorter discount
    obs, a, ret, nxt, term, disc = acc.push(
        x(3),
        np.array([1, 1]),
        np.array([0.0, 80.0]),
        x(4),
        np.array([False, False]),
        np.array([False, True]),
    )
    np.testing.assert_allclose(ret, [20 + 0.5 * 40 + 0.25 * 80, 40 + 0.5 * 80, 80])
    np.testing.assert_array_equal(term, [0, 0, 0])
    np.testing.assert_allclose(disc, [0.125, 0.25, 0.5])
    assert acc.pending[1] == [] and len(acc.pending[0]) == 1


def test_n_step_agent_learns_and_is_reproducible():
    kw = dict(QUICK, eval_every=None, n_step=3)
    a = DQN(seed=0, **kw).fit(PICK_ONE, steps=1200)
    b = DQN(seed=0, **kw).fit(PICK_ONE, steps=1200)
    assert a.history_["loss"] == b.history_["loss"]
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    assert np.all(a.act(obs) == 1)
    with pytest.raises(ValueError, match="n_step"):
        DQN(n_step=0).fit("CartPole-v1", steps=10)


def _filled(n: int, capacity: int, alpha: float = 1.0) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(capacity, 1, alpha=alpha)
    k = np.arange(n)
    buf.add(
        k[:, None].astype(np.float32), k, np.zeros(n), k[:, None].astype(np.float32), np.zeros(n)
    )
    return buf


def test_prioritized_replay_draws_in_proportion_to_priority():
    buf = _filled(5, capacity=6)  # 6 slots: the tree has 8 leaves, 3 of them empty
    # all new transitions share the top priority: equal chances, importance weights 1
    rng = np.random.default_rng(0)
    buf.sample(1000, rng, beta=1.0)
    np.testing.assert_array_equal(buf.last_weights, 1.0)
    assert set(np.bincount(buf.last_indices, minlength=5)) == {
        200
    }  # stratified: exactly 1000/5 each
    buf.update_priorities(np.arange(5), np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    counts = np.bincount(buf.sample(20_000, rng, beta=1.0)[1], minlength=6)
    np.testing.assert_allclose(
        counts[:5] / 20_000, np.array([1, 2, 3, 4, 1e-6]) / 10.000001, atol=2e-4
    )
    assert counts[5] == 0  # an empty slot is never drawn
    # weights (N P(i))^-beta over the batch's largest: 1/p relative to the rarest drawn
    buf.sample(100, rng, beta=1.0)
    p = np.array([1, 2, 3, 4])[buf.last_indices]
    np.testing.assert_allclose(buf.last_weights, (1 / p) / (1 / p).max(), rtol=1e-6)
    # a new transition gets the largest priority seen so far (4), alpha applied
    buf.add(
        np.ones((1, 1), np.float32),
        np.array([5]),
        np.zeros(1),
        np.ones((1, 1), np.float32),
        np.zeros(1),
    )
    assert buf.tree[buf.leaves + 5] == pytest.approx(4.0) and buf.tree[1] == pytest.approx(14.0)


def test_prioritized_replay_alpha_flattens_and_the_ring_overwrites_priorities():
    buf = _filled(3, capacity=3, alpha=0.5)
    buf.update_priorities(np.arange(3), np.array([4.0, 9.0, 16.0]))
    np.testing.assert_allclose(buf.tree[buf.leaves : buf.leaves + 3], [2.0, 3.0, 4.0], rtol=1e-6)
    buf.add(
        np.zeros((1, 1), np.float32),
        np.array([7]),
        np.zeros(1),
        np.zeros((1, 1), np.float32),
        np.zeros(1),
    )
    assert buf.actions[0] == 7 and buf.tree[buf.leaves] == pytest.approx(
        4.0
    )  # slot 0 now the new transition, max priority


def test_prioritized_agent_learns_and_is_reproducible_on_both_backends():
    kw = dict(QUICK, eval_every=None, prioritized=True)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    for backend in ("numpy", "torch"):
        a = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        b = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        assert a.history_["loss"] == b.history_["loss"]
        assert np.all(a.act(obs) == 1), backend
    with pytest.raises(ValueError, match="priority_alpha"):
        DQN(prioritized=True, priority_alpha=1.5).fit("CartPole-v1", steps=10)


def test_epsilon_schedule():
    agent = DQN(epsilon_start=1.0, epsilon_end=0.1, exploration_fraction=0.5)
    assert agent.epsilon(0.0) == 1.0
    assert agent.epsilon(0.25) == pytest.approx(0.55)
    assert agent.epsilon(0.8) == pytest.approx(0.1)


def test_learns_the_q_values_of_a_one_step_choice():
    # Episodes of one step: Q(s, 1) = 1 and Q(s, 0) = 0 whatever s, so the greedy action is 1.
    agent = DQN(
        seed=0,
        hidden=(16,),
        n_envs=1,
        learning_starts=100,
        train_freq=16,
        gradient_steps=8,
        batch_size=32,
        learning_rate=3e-3,
        learning_rate_schedule="constant",
    ).fit(PickOneEnv(), steps=1500)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    q = agent.q_values(obs)
    np.testing.assert_allclose(q[:, 1], 1.0, atol=0.1)
    np.testing.assert_allclose(q[:, 0], 0.0, atol=0.1)
    assert np.all(agent.act(obs) == 1)


@pytest.mark.parametrize("tau, backend", [(1.0, "numpy"), (0.05, "numpy"), (1.0, "torch")])
def test_same_seed_same_returns_and_save_load(tmp_path, tau, backend):
    a = DQN(seed=1, tau=tau, backend=backend, **SMALL).fit("CartPole-v1", steps=600)
    b = DQN(seed=1, tau=tau, backend=backend, **SMALL).fit("CartPole-v1", steps=600)
    assert (
        a.history_["episode_returns"] == b.history_["episode_returns"]
        and a.history_["loss"] == b.history_["loss"]
    )
    a.save(tmp_path / "dqn.npz")
    loaded = DQN.load(tmp_path / "dqn.npz")
    obs = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs), a.act(obs))
    np.testing.assert_array_equal(loaded.q_values(obs), a.q_values(obs))


@pytest.mark.parametrize(
    "space, name",
    [
        (gym.spaces.MultiDiscrete([3, 3]), "MultiDiscrete"),
        (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict"),
        (gym.spaces.Box(-1, 1, (2,)), "Box"),
    ],
)
def test_unsupported_action_space_is_named_and_env_support_agrees(space, name):
    env = SpaceEnv(action_space=space)
    assert name in DQN.env_support(env)
    with pytest.raises(ValueError, match=f"{name}.*Discrete actions"):
        DQN(n_envs=1).fit(env, steps=10)


@pytest.mark.parametrize(
    "env",
    [
        gym.make("CartPole-v1"),
        gym.make("Blackjack-v1"),
        SpaceEnv(observation_space=gym.spaces.MultiBinary(3)),
        gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"),
    ],
    ids=["cartpole", "blackjack-tuple-obs", "multibinary-obs", "make_vec"],
)
def test_env_support_says_yes_where_fit_runs(env):
    assert DQN.env_support(env) is None
    agent = DQN(n_envs=1, learning_starts=8, train_freq=8, gradient_steps=2, batch_size=4).fit(
        env, steps=32
    )
    assert agent.training_["steps"] == 32


def test_a_users_vector_env_gives_the_same_run_in_any_autoreset_mode_and_stays_open():
    runs = []
    for mode in (gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.SAME_STEP):
        vec = gym.make_vec(
            "CartPole-v1", 2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
        )
        agent = DQN(seed=0, **SMALL).fit(vec, steps=600)
        assert not vec.closed
        vec.close()
        runs.append((agent.history_["episode_returns"], agent.history_["loss"]))
    assert runs[0] == runs[1] and len(runs[0][0]) > 10


def test_a_users_env_instance_is_never_closed():
    env = CountCloses(gym.make("CartPole-v1"))
    agent = DQN(learning_starts=8, train_freq=8, gradient_steps=2, batch_size=4).fit(
        env, steps=32
    )  # runs alone
    assert env.closes == 0 and agent.training_["steps"] == 32


def test_nan_reward_or_observation_stops_fit_naming_the_step_and_act_refuses_nan():
    with pytest.raises(ValueError, match="non-finite reward .* at env step 5"):
        DQN(n_envs=1).fit(NaNEnv(bad_reward_at=5), steps=20)
    with pytest.raises(ValueError, match="non-finite observation .* at env step 7"):
        DQN(n_envs=1).fit(NaNEnv(bad_obs_at=7), steps=20)
    agent = DQN(n_envs=1, learning_starts=8, train_freq=8, gradient_steps=2, batch_size=4).fit(
        "CartPole-v1", steps=16
    )
    with pytest.raises(ValueError, match="NaN"):
        agent.act(np.array([np.nan, 0.0, 0.0, 0.0], np.float32))


def test_act_is_greedy_by_default_and_explores_when_asked():
    agent = DQN(seed=0, epsilon_end=1.0, **SMALL).fit("CartPole-v1", steps=200)
    obs = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), agent.q_values(obs).argmax(axis=1))
    assert not np.array_equal(
        agent.act(obs, explore=True), agent.act(obs)
    )  # epsilon 1: uniform actions
    assert isinstance(agent.act(obs[0]), int)


def test_episodes_budget_and_callback_stop():
    agent = DQN(**SMALL).fit("CartPole-v1", episodes=6)
    assert len(agent.history_["episode_returns"]) >= 6
    seen = []
    agent = DQN(**SMALL).fit(
        "CartPole-v1", steps=4_000, callback=lambda info: seen.append(info) or info["done"] < 300
    )
    assert seen[0]["unit"] == "steps" and seen[0]["total"] == 4_000
    assert 300 <= agent.training_["steps"] <= 340  # reports come every 1 % of the budget (40 steps)


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        DQN().fit("CartPole-v1", steps=0)
    with pytest.raises(ValueError, match="CartPole-v1"):
        DQN().fit("CartPole-v2", steps=10)
    with pytest.raises(ValueError, match="loss"):
        DQN(loss="l1").fit("CartPole-v1", steps=10)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow this test provokes
def test_divergence_stops_with_a_message_naming_the_env_step():
    agent = DQN(
        n_envs=1, learning_starts=4, train_freq=4, gradient_steps=1, batch_size=4, loss="mse"
    )
    with pytest.raises(DivergenceError, match="DQN stopped after 4 env steps.*loss became inf"):
        agent.fit(
            SpaceEnv(reward=1e300), steps=20
        )  # finite rewards whose squared TD error overflows


PICK_ONE = "tests.agents.rl_helpers:PickOneEnv"
QUICK = dict(
    hidden=(16,),
    n_envs=1,
    learning_starts=100,
    train_freq=16,
    gradient_steps=8,
    batch_size=32,
    learning_rate=3e-3,
    eval_every=100,
    eval_episodes=5,
)


def test_greedy_evaluation_solves_and_stops_early():
    agent = DQN(seed=0, solve_on="greedy_eval", **QUICK).fit(
        PICK_ONE, steps=3000, target_return=1.0
    )
    tr = agent.training_
    # stopped at the first evaluation whose five greedy episodes all picked action 1
    assert tr["solved_at_steps"] == agent.history_["eval_steps"][-1] == tr["steps"] < 3000
    assert (
        agent.history_["eval_mean_return"][-1] == 1.0
        and max(agent.history_["eval_mean_return"][:-1], default=0) < 1.0
    )
    assert "greedy evaluation" in tr["solve_criterion"] and tr["solved_seconds"] > 0
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    assert np.all(agent.act(obs) == 1)


def test_training_criterion_stops_on_the_training_window():
    agent = DQN(seed=0, solve_on="training", **QUICK).fit(
        PICK_ONE, steps=600, target_return=1.0, window=10
    )
    tr, h = agent.training_, agent.history_
    i = tr[
        "solved_at_episode"
    ]  # the first episode ending a window of 10 training returns that all paid 1
    assert tr["solved_at_steps"] == h["episode_end_steps"][i - 1] == tr["steps"]
    assert h["episode_returns"][i - 10 : i] == [1.0] * 10 and 0.0 in h["episode_returns"][: i - 1]
    assert "training episodes" in tr["solve_criterion"]


def test_unsolved_run_keeps_the_best_evaluated_weights_and_same_seed_same_numbers():
    kw = dict(SMALL, eval_every=200, eval_episodes=3, learning_rate_end=1e-4)
    a = DQN(seed=2, **kw).fit("CartPole-v1", steps=1000, target_return=1e6)
    b = DQN(seed=2, **kw).fit("CartPole-v1", steps=1000, target_return=1e6)
    assert (
        a.history_["eval_mean_return"] == b.history_["eval_mean_return"]
        and a.history_["loss"] == b.history_["loss"]
    )
    means = a.history_["eval_mean_return"]
    k = int(np.argmax(means))
    assert (
        a.training_["solved_at_steps"] is None and a.training_["best_eval_mean_return"] == means[k]
    )
    again = a.evaluate("CartPole-v1", episodes=3, seed=derive_seed(2, "eval", k))
    assert again["mean_return"] == means[k]


def test_bad_solve_settings():
    with pytest.raises(ValueError, match="solve_on"):
        DQN(solve_on="eval").fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="eval_every"):
        DQN(solve_on="greedy_eval", eval_every=None).fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="learning_rate_end"):
        DQN(learning_rate_end=2.0).fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="not an Env or vector env instance"):
        DQN(n_envs=1, solve_on="greedy_eval", eval_every=100).fit(
            PickOneEnv(), steps=10, target_return=1.0
        )


def test_a_run_solved_on_training_keeps_its_own_weights_despite_keep_best():
    # Greedy evaluations run alongside the training criterion; once the training window solves, the
    # weights at that moment are the answer, not those of the best earlier evaluation.
    kw = dict(QUICK, solve_on="training")
    kept = DQN(seed=0, keep_best=True, **kw).fit(PICK_ONE, steps=1500, target_return=1.0, window=30)
    plain = DQN(seed=0, keep_best=False, **kw).fit(
        PICK_ONE, steps=1500, target_return=1.0, window=30
    )
    assert kept.training_["solved_at_steps"] is not None and kept.history_["eval_steps"]
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    np.testing.assert_array_equal(kept.q_values(obs), plain.q_values(obs))


def test_backends_learn_alike_and_unknown_backend_is_named():
    # Same seed, same starting weights: both backends learn the one-step choice, with plain one-step
    # targets and uniform replay too (the defaults use 3-step targets and prioritized replay).
    for backend in ("numpy", "torch"):
        kw = dict(QUICK, eval_every=None, n_step=1, prioritized=False)
        agent = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
        assert np.all(agent.act(obs) == 1), backend
    with pytest.raises(ValueError, match="backend.*numpy"):
        DQN(backend="jax").fit("CartPole-v1", steps=10)


def test_scale_obs_maps_finite_bounds_to_unit_range_and_survives_save_load(tmp_path):
    car = gym.make("MountainCar-v0").observation_space
    enc = ScaledEncoder.from_space(ObsEncoder(car), car)
    x, _ = enc(np.stack([car.low, car.high, (car.low + car.high) / 2]))
    np.testing.assert_allclose(x, [[-1, -1], [1, 1], [0, 0]], atol=1e-6)
    pole = gym.make(
        "CartPole-v1"
    ).observation_space  # velocities bounded by float32's max: as they are
    obs = np.array([2.4, 3.0, 0.2095, -5.0], np.float32)
    x, _ = ScaledEncoder.from_space(ObsEncoder(pole), pole)(obs)
    np.testing.assert_allclose(x[0], [0.5, 3.0, 0.5, -5.0], rtol=1e-3)
    a = DQN(seed=1, scale_obs=True, **SMALL).fit("MountainCar-v0", steps=600)
    b = DQN(seed=1, scale_obs=True, **SMALL).fit("MountainCar-v0", steps=600)
    assert a.history_["loss"] == b.history_["loss"]
    raw = np.random.default_rng(0).uniform(car.low, car.high, size=(40, 2)).astype(np.float32)
    np.testing.assert_array_equal(
        a.q_values(raw), a.q_net_(enc(raw)[0])
    )  # the net sees scaled rows
    a.save(tmp_path / "dqn.npz")
    loaded = DQN.load(tmp_path / "dqn.npz")
    np.testing.assert_array_equal(loaded.q_values(raw), a.q_values(raw))
    with pytest.raises(ValueError, match="scale_obs"):
        DQN(scale_obs="yes").fit("MountainCar-v0", steps=10)
