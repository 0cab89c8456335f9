"""DQN: targets, learning, determinism, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.dqn import (
    DQN,
    NStepAccumulator,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    q_loss_grad,
    td_targets,
    td_targets_np,
)
from sandbox.errors import DivergenceError
from tests.agents.rl_helpers import PickOneEnv, SpaceEnv, reload_as_saved_before_backends

SMALL = dict(hidden=(32,), n_envs=2, learning_starts=100, train_freq=32, gradient_steps=8, batch_size=32)


def test_td_targets_double_and_plain():
    r = torch.tensor([1.0, 1.0])
    online = torch.tensor([[0.0, 5.0], [3.0, 0.0]])
    target = torch.tensor([[2.0, 1.0], [4.0, 7.0]])
    term = torch.tensor([0.0, 1.0])
    # plain: max of the target net; double: the target net's value of the online argmax
    np.testing.assert_allclose(td_targets(r, online, target, term, 0.5, double=False).numpy(), [1 + 0.5 * 2.0, 1.0])
    np.testing.assert_allclose(td_targets(r, online, target, term, 0.5, double=True).numpy(), [1 + 0.5 * 1.0, 1.0])


def test_numpy_td_targets_and_loss_gradients_match_torch():
    rng = np.random.default_rng(0)
    r, term = rng.normal(size=8), (rng.random(8) < 0.3).astype(float)
    online, target = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    for double in (True, False):
        ref = td_targets(*(torch.from_numpy(v) for v in (r, online, target, term)), 0.9, double=double).numpy()
        np.testing.assert_allclose(td_targets_np(r, online, target, term, 0.9, double=double), ref, rtol=1e-12)
    q, y = torch.tensor(rng.normal(scale=2.0, size=16), requires_grad=True), torch.tensor(rng.normal(size=16))
    for name, fn in (("huber", torch.nn.functional.smooth_l1_loss), ("mse", torch.nn.functional.mse_loss)):
        q.grad = None
        loss = fn(q, y)
        loss.backward()
        value, grad = q_loss_grad(q.detach().numpy(), y.numpy(), name)
        assert value == pytest.approx(float(loss.detach()), rel=1e-12)
        np.testing.assert_allclose(grad, q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("double, loss", [(True, "huber"), (False, "mse")])
def test_numpy_backend_gradient_equals_torch_autograd(double, loss):
    # One TD step by hand (numpy backend) against autograd (torch backend), from the same weights, in float64.
    kw = dict(hidden=(8, 8), double=double, loss=loss, gamma=0.9)
    num, ref = DQN(backend="numpy", **kw), DQN(backend="torch", **kw)
    num._np_dtype = np.float64
    space = gym.spaces.Box(-1, 1, (3,), np.float32)
    for agent in (num, ref):
        agent._setup(space, gym.spaces.Discrete(2))
    ref.q_net_ = ref.q_net_.double()
    for p, t in zip(num.q_net_.params, ref.q_net_.parameters()):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-6)  # the same starting weights
        p[...] = t.detach().numpy()
    target = num._build()
    for p in target.params:
        p += 0.1
    target_t = ref._build().double()
    with torch.no_grad():
        for t, p in zip(target_t.parameters(), target.params):
            t.copy_(torch.from_numpy(p))
    rng = np.random.default_rng(1)
    batch = (rng.normal(size=(16, 3)), rng.integers(0, 2, 16), rng.normal(size=16), rng.normal(size=(16, 3)),
             (rng.random(16) < 0.25).astype(float), np.full(16, 0.9))
    value, grads, _ = num.q_loss_grads(target, batch)
    s, a, r, s2, term, _ = (torch.from_numpy(v) for v in batch)
    with torch.no_grad():
        y = td_targets(r, ref.q_net_(s2), target_t(s2), term, 0.9, double)
    q = ref.q_net_(s).gather(1, a[:, None])[:, 0]
    loss_t = (torch.nn.functional.smooth_l1_loss if loss == "huber" else torch.nn.functional.mse_loss)(q, y)
    loss_t.backward()
    assert value == pytest.approx(float(loss_t.detach()), rel=1e-10)
    for g, t in zip(grads, ref.q_net_.parameters()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_replay_buffer_wraps_around():
    buf = ReplayBuffer(3, 1)
    for k in range(5):
        buf.add(np.array([[k]], np.float32), np.array([k]), np.array([k]), np.array([[k]], np.float32), np.array([0.0]))
    assert buf.size == 3 and sorted(buf.actions.tolist()) == [2, 3, 4]


def test_n_step_transitions_sum_discounted_rewards_and_stop_at_episode_ends():
    acc = NStepAccumulator(3, 0.5, n_envs=2)
    x = lambda t: np.array([[t, 0.0], [t, 1.0]], np.float32)  # noqa: E731  env i's observation at time t
    no = np.array([False, False])
    out = [acc.push(x(0), np.array([0, 1]), np.array([1.0, 10.0]), x(1), no, no),
           acc.push(x(1), np.array([1, 1]), np.array([2.0, 20.0]), x(2), no, no)]
    assert out == [None, None]
    # t = 2: env 0 terminates, env 1 runs on; env 1's first 3-step transition is complete
    obs, a, ret, nxt, term, disc = acc.push(x(2), np.array([0, 0]), np.array([4.0, 40.0]), x(3),
                                            np.array([True, False]), np.array([True, False]))
    np.testing.assert_allclose(ret, [1 + 0.5 * 2 + 0.25 * 4, 2 + 0.5 * 4, 4, 10 + 0.5 * 20 + 0.25 * 40])
    np.testing.assert_allclose(obs[:, 0], [0, 1, 2, 0])
    np.testing.assert_array_equal(a, [0, 1, 0, 1])
    np.testing.assert_array_equal(term, [1, 1, 1, 0])
    np.testing.assert_allclose(disc, [0.125, 0.25, 0.5, 0.125])
    np.testing.assert_allclose(nxt[:, 0], [3, 3, 3, 3])
    # a truncated episode bootstraps (terminated 0) from its final observation with the shorter discount
    obs, a, ret, nxt, term, disc = acc.push(x(3), np.array([1, 1]), np.array([0.0, 80.0]), x(4),
                                            np.array([False, False]), np.array([False, True]))
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
    assert np.all(a.act(obs, deterministic=True) == 1)
    with pytest.raises(ValueError, match="n_step"):
        DQN(n_step=0).fit("CartPole-v1", steps=10)


def _filled(n: int, capacity: int, alpha: float = 1.0) -> PrioritizedReplayBuffer:
    buf = PrioritizedReplayBuffer(capacity, 1, alpha=alpha)
    k = np.arange(n)
    buf.add(k[:, None].astype(np.float32), k, np.zeros(n), k[:, None].astype(np.float32), np.zeros(n))
    return buf


def test_prioritized_replay_draws_in_proportion_to_priority():
    buf = _filled(5, capacity=6)  # 6 slots: the tree has 8 leaves, 3 of them empty
    # all new transitions share the top priority: equal chances, importance weights 1
    rng = np.random.default_rng(0)
    buf.sample(1000, rng, beta=1.0)
    np.testing.assert_array_equal(buf.last_weights, 1.0)
    assert set(np.bincount(buf.last_indices, minlength=5)) == {200}  # stratified: exactly 1000/5 each
    buf.update_priorities(np.arange(5), np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    counts = np.bincount(buf.sample(20_000, rng, beta=1.0)[1], minlength=6)
    np.testing.assert_allclose(counts[:5] / 20_000, np.array([1, 2, 3, 4, 1e-6]) / 10.000001, atol=2e-4)
    assert counts[5] == 0  # an empty slot is never drawn
    # weights (N P(i))^-beta over the batch's largest: 1/p relative to the rarest drawn
    buf.sample(100, rng, beta=1.0)
    p = np.array([1, 2, 3, 4])[buf.last_indices]
    np.testing.assert_allclose(buf.last_weights, (1 / p) / (1 / p).max(), rtol=1e-6)
    # a new transition gets the largest priority seen so far (4), alpha applied
    buf.add(np.ones((1, 1), np.float32), np.array([5]), np.zeros(1), np.ones((1, 1), np.float32), np.zeros(1))
    assert buf.tree[buf.leaves + 5] == pytest.approx(4.0) and buf.tree[1] == pytest.approx(14.0)


def test_prioritized_replay_alpha_flattens_and_the_ring_overwrites_priorities():
    buf = _filled(3, capacity=3, alpha=0.5)
    buf.update_priorities(np.arange(3), np.array([4.0, 9.0, 16.0]))
    np.testing.assert_allclose(buf.tree[buf.leaves:buf.leaves + 3], [2.0, 3.0, 4.0], rtol=1e-6)
    buf.add(np.zeros((1, 1), np.float32), np.array([7]), np.zeros(1), np.zeros((1, 1), np.float32), np.zeros(1))
    assert buf.actions[0] == 7 and buf.tree[buf.leaves] == pytest.approx(4.0)  # slot 0 now the new transition, max priority


def test_prioritized_agent_learns_and_is_reproducible_on_both_backends():
    kw = dict(QUICK, eval_every=None, prioritized=True)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    for backend in ("numpy", "torch"):
        a = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        b = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        assert a.history_["loss"] == b.history_["loss"]
        assert np.all(a.act(obs, deterministic=True) == 1), backend
    with pytest.raises(ValueError, match="priority_alpha"):
        DQN(prioritized=True, priority_alpha=1.5).fit("CartPole-v1", steps=10)


def test_epsilon_schedule():
    agent = DQN(epsilon_start=1.0, epsilon_final=0.1, exploration_fraction=0.5)
    assert agent.epsilon(0, 100) == 1.0
    assert agent.epsilon(25, 100) == pytest.approx(0.55)
    assert agent.epsilon(80, 100) == pytest.approx(0.1)


def test_learns_the_q_values_of_a_one_step_choice():
    # Episodes of one step: Q(s, 1) = 1 and Q(s, 0) = 0 whatever s, so the greedy action is 1.
    agent = DQN(seed=0, hidden=(16,), n_envs=1, learning_starts=100, train_freq=16, gradient_steps=8,
                batch_size=32, learning_rate=3e-3, final_lr_fraction=1.0).fit(PickOneEnv(), steps=1500)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    q = agent.q_values(obs)
    np.testing.assert_allclose(q[:, 1], 1.0, atol=0.1)
    np.testing.assert_allclose(q[:, 0], 0.0, atol=0.1)
    assert np.all(agent.act(obs, deterministic=True) == 1)


@pytest.mark.parametrize("tau, backend", [(1.0, "numpy"), (0.05, "numpy"), (1.0, "torch")])
def test_same_seed_same_returns_and_save_load(tmp_path, tau, backend):
    a = DQN(seed=1, tau=tau, backend=backend, **SMALL).fit("CartPole-v1", steps=600)
    b = DQN(seed=1, tau=tau, backend=backend, **SMALL).fit("CartPole-v1", steps=600)
    assert a.history_["episode_returns"] == b.history_["episode_returns"] and a.history_["loss"] == b.history_["loss"]
    a.save(tmp_path / "dqn.npz")
    loaded = DQN.load(tmp_path / "dqn.npz")
    obs = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=True), a.act(obs, deterministic=True))
    np.testing.assert_array_equal(loaded.q_values(obs), a.q_values(obs))


@pytest.mark.parametrize(
    "space, name",
    [(gym.spaces.MultiDiscrete([3, 3]), "MultiDiscrete"), (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict"),
     (gym.spaces.Box(-1, 1, (2,)), "Box")],
)
def test_unsupported_action_space_is_named(space, name):
    with pytest.raises(ValueError, match=name):
        DQN(n_envs=1).fit(SpaceEnv(action_space=space), steps=10)


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        DQN().fit("CartPole-v1", steps=0)
    with pytest.raises(ValueError, match="CartPole-v1"):
        DQN().fit("CartPole-v2", steps=10)
    with pytest.raises(ValueError, match="loss"):
        DQN(loss="l1").fit("CartPole-v1", steps=10)


def test_non_finite_loss_stops_with_a_message():
    agent = DQN(n_envs=1, learning_starts=4, train_freq=4, gradient_steps=1, batch_size=4)
    with pytest.raises(DivergenceError, match="DQN stopped after 4 env steps.*loss became nan"):
        agent.fit(SpaceEnv(reward=float("nan")), steps=20)


PICK_ONE = "tests.agents.rl_helpers:PickOneEnv"
QUICK = dict(hidden=(16,), n_envs=1, learning_starts=100, train_freq=16, gradient_steps=8, batch_size=32,
             learning_rate=3e-3, eval_every=100, eval_episodes=5)


def test_greedy_evaluation_solves_and_stops_early():
    agent = DQN(seed=0, solve_on="greedy_eval", **QUICK).fit(PICK_ONE, steps=3000, target_return=1.0)
    tr = agent.training_
    # stopped at the first evaluation whose five greedy episodes all picked action 1
    assert tr["solved_at_steps"] == agent.history_["eval_steps"][-1] == tr["steps"] < 3000
    assert agent.history_["eval_mean_return"][-1] == 1.0 and max(agent.history_["eval_mean_return"][:-1], default=0) < 1.0
    assert "greedy evaluation" in tr["solve_criterion"] and tr["solved_seconds"] > 0
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    assert np.all(agent.act(obs, deterministic=True) == 1)


def test_training_criterion_stops_on_the_training_window():
    agent = DQN(seed=0, solve_on="training", **QUICK).fit(PICK_ONE, steps=600, target_return=1.0, window=10)
    tr, h = agent.training_, agent.history_
    i = tr["solved_at_episode"]  # the first episode ending a window of 10 training returns that all paid 1
    assert tr["solved_at_steps"] == h["episode_end_steps"][i - 1] == tr["steps"]
    assert h["episode_returns"][i - 10:i] == [1.0] * 10 and 0.0 in h["episode_returns"][:i - 1]
    assert "training episodes" in tr["solve_criterion"]


def test_unsolved_run_keeps_the_best_evaluated_weights_and_same_seed_same_numbers():
    kw = dict(SMALL, eval_every=200, eval_episodes=3, final_lr_fraction=0.1)
    a = DQN(seed=2, **kw).fit("CartPole-v1", steps=1000, target_return=1e6)
    b = DQN(seed=2, **kw).fit("CartPole-v1", steps=1000, target_return=1e6)
    assert a.history_["eval_mean_return"] == b.history_["eval_mean_return"] and a.history_["loss"] == b.history_["loss"]
    means = a.history_["eval_mean_return"]
    k = int(np.argmax(means))
    assert a.training_["solved_at_steps"] is None and a.training_["best_eval_mean_return"] == means[k]
    again = a.evaluate("CartPole-v1", episodes=3, seed=2 + 1_000_000 + 1000 * k)
    assert again["mean_return"] == means[k]


def test_bad_solve_settings():
    with pytest.raises(ValueError, match="solve_on"):
        DQN(solve_on="eval").fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="eval_every"):
        DQN(solve_on="greedy_eval", eval_every=None).fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="final_lr_fraction"):
        DQN(final_lr_fraction=2.0).fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="Env instance"):
        DQN(n_envs=1, solve_on="greedy_eval", eval_every=100).fit(PickOneEnv(), steps=10, target_return=1.0)


def test_a_run_solved_on_training_keeps_its_own_weights_despite_keep_best():
    # Greedy evaluations run alongside the training criterion; once the training window solves, the
    # weights at that moment are the answer, not those of the best earlier evaluation.
    kw = dict(QUICK, solve_on="training")
    kept = DQN(seed=0, keep_best=True, **kw).fit(PICK_ONE, steps=1500, target_return=1.0, window=30)
    plain = DQN(seed=0, keep_best=False, **kw).fit(PICK_ONE, steps=1500, target_return=1.0, window=30)
    assert kept.training_["solved_at_steps"] is not None and kept.history_["eval_steps"]
    obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
    np.testing.assert_array_equal(kept.q_values(obs), plain.q_values(obs))


def test_checkpoint_saved_before_the_numpy_backend_loads_on_torch(tmp_path, monkeypatch):
    # Older checkpoints hold torch's state_dict names ("q.0.weight") and no "backend" parameter: they load on torch.
    old = DQN(seed=0, backend="torch", **SMALL).fit("CartPole-v1", steps=300)
    loaded = reload_as_saved_before_backends(old, tmp_path / "old.npz", monkeypatch)
    assert loaded.backend == "torch"
    obs = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.q_values(obs), old.q_values(obs))


def test_backends_learn_alike_and_unknown_backend_is_named():
    # Same seed, same starting weights: both backends learn the one-step choice, with plain one-step
    # targets and uniform replay too (the defaults use 3-step targets and prioritized replay).
    for backend in ("numpy", "torch"):
        kw = dict(QUICK, eval_every=None, n_step=1, prioritized=False)
        agent = DQN(seed=0, backend=backend, **kw).fit(PICK_ONE, steps=1200)
        obs = np.random.default_rng(0).uniform(-1, 1, size=(20, 2)).astype(np.float32)
        assert np.all(agent.act(obs, deterministic=True) == 1), backend
    with pytest.raises(ValueError, match="backend.*numpy"):
        DQN(backend="jax").fit("CartPole-v1", steps=10)
