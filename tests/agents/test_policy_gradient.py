"""PolicyGradient: the gradient against a hand computation, learning, determinism, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.policy_gradient import Batch, PolicyGradient, gae
from sandbox.errors import DivergenceError, NotFittedError
from tests.agents.rl_helpers import (
    SpaceEnv,
    random_cartpole_return,
    reload_as_saved_before_backends,
)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_two_step_gradient_equals_hand_computation(backend):
    # Linear softmax policy pi(a|s) = softmax(W s + b); REINFORCE without baseline or normalisation.
    agent = PolicyGradient(hidden=(), baseline="none", normalize=False, gamma=0.9, n_envs=1, n_steps=2, backend=backend)
    agent._np_dtype = np.float64
    agent._setup(gym.spaces.Box(-5, 5, (2,), np.float32), gym.spaces.Discrete(2))
    W = np.array([[0.5, -0.3], [0.2, 0.1]])
    b = np.array([0.1, -0.2])
    if backend == "torch":
        lin = agent.policy_.dense_layers[0]
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W)), lin.bias.copy_(torch.tensor(b))
    else:
        agent.policy_.params[0][...], agent.policy_.params[1][...] = W, b
    s = np.array([[1.0, 2.0], [-1.0, 0.5]])
    a, r = np.array([1, 0]), np.array([1.0, 2.0])
    agent._carry = None
    roll = {"obs": s[:, None].astype(np.float32), "actions": a[:, None], "rewards": r[:, None],
            "terminated": np.array([[False], [True]]), "truncated": np.zeros((2, 1), bool), "final": {}}
    batch = agent._make_batch(roll)
    if backend == "torch":
        agent._losses(batch)["loss"].backward()
        advantages, got_W, got_b = batch.advantages.numpy(), lin.weight.grad.numpy(), lin.bias.grad.numpy()
    else:
        advantages = batch.advantages
        got_W, got_b = agent._numpy_loss_grads(batch)[1]

    G = np.array([1.0 + 0.9 * 2.0, 2.0])  # returns-to-go: 2.8 and 2.0
    gW, gb = np.zeros((2, 2)), np.zeros(2)
    for t in range(2):
        z = W @ s[t] + b
        pi = np.exp(z) / np.exp(z).sum()
        dlogpi = np.eye(2)[a[t]] - pi  # d log pi(a|s) / dz
        gW -= G[t] * np.outer(dlogpi, s[t]) / 2
        gb -= G[t] * dlogpi / 2
    np.testing.assert_allclose(advantages, G, rtol=1e-6)
    np.testing.assert_allclose(got_W, gW, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, gb, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("action_space", [gym.spaces.Discrete(3), gym.spaces.Box(-1, 1, (2,), np.float32)], ids=["categorical", "gaussian"])
@pytest.mark.parametrize("clip_range", [0.2, None])
@pytest.mark.parametrize("reused", [True, False], ids=["ratio", "plain"])
def test_numpy_backend_gradients_equal_torch_autograd(action_space, clip_range, reused):
    # The numpy backend's hand-written gradients of the whole loss (policy, entropy, value) against torch's
    # autograd, both in float64 from the same weights, for every branch: Categorical / Gaussian, PPO's
    # clipped ratio (some ratios outside the clip range) or not, a reused batch or one plain step.
    kw = {"seed": 1, "hidden": (8,), "entropy_coef": 0.05, "clip_range": clip_range}
    num, ref = PolicyGradient(backend="numpy", **kw), PolicyGradient(backend="torch", **kw)
    num._np_dtype = np.float64
    obs_space = gym.spaces.Box(-5, 5, (4,), np.float32)
    num._setup(obs_space, action_space)
    ref._setup(obs_space, action_space)
    ref.policy_.double(), ref.value_net_.double()
    with torch.no_grad():
        for net, tnet in ((num.policy_, ref.policy_), (num.value_net_, ref.value_net_)):
            for p, tp in zip(net.params, tnet.parameters()):
                tp.copy_(torch.from_numpy(p))
    if ref.log_std_ is not None:
        num.log_std_[...] = [0.3, -0.2]
        ref.log_std_ = torch.nn.Parameter(torch.tensor([0.3, -0.2], dtype=torch.float64))
    rng = np.random.default_rng(0)
    B = 64
    X = rng.normal(size=(B, 4))
    acts = rng.integers(0, 3, B) if isinstance(action_space, gym.spaces.Discrete) else rng.normal(size=(B, 2))
    adv, ret = rng.normal(size=B), rng.normal(size=B)
    old = None
    if reused:
        old = num._head.log_prob_np(num.policy_.forward(X), num.log_std_, acts) + rng.normal(0, 0.3, B)
    losses, grads = num._numpy_loss_grads(Batch(X, acts, adv, ret, old))
    t = lambda a: None if a is None else torch.from_numpy(a)  # noqa: E731
    want = ref._losses(Batch(t(X), t(acts), t(adv), t(ret), t(old)))
    want["loss"].backward()
    params = list(ref.policy_.parameters()) + ([ref.log_std_] if ref.log_std_ is not None else []) + list(ref.value_net_.parameters())
    assert len(grads) == len(params)
    for g, p in zip(grads, params):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-9, atol=1e-12)
    for k, v in losses.items():
        assert v == pytest.approx(float(want[k].detach()), rel=1e-9, abs=1e-12)


def test_gae_with_lambda_one_is_the_return_minus_value():
    rewards = np.array([[1.0], [1.0], [1.0]])
    values = np.array([[0.5], [0.2], [0.1]])
    next_values = np.array([[0.2], [0.1], [0.7]])  # the last is a bootstrap
    zeros = np.zeros((3, 1))
    adv = gae(rewards, values, next_values, zeros, zeros, gamma=0.5, lam=1.0)
    returns = np.array([1 + 0.5 + 0.25 + 0.125 * 0.7, 1 + 0.5 + 0.25 * 0.7, 1 + 0.5 * 0.7])
    np.testing.assert_allclose(adv[:, 0], returns - values[:, 0])


def test_beats_a_random_policy_on_cartpole():
    agent = PolicyGradient(seed=0).fit("CartPole-v1", steps=8_000)
    trained = agent.evaluate("CartPole-v1", episodes=10)["mean_return"]
    assert trained > 3 * random_cartpole_return()  # random: ~22


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_same_seed_same_returns_and_save_load_same_actions(tmp_path, backend):
    a = PolicyGradient(seed=3, n_envs=4, n_steps=8, backend=backend).fit("CartPole-v1", steps=800)
    b = PolicyGradient(seed=3, n_envs=4, n_steps=8, backend=backend).fit("CartPole-v1", steps=800)
    assert a.history_["episode_returns"] == b.history_["episode_returns"]
    assert a.history_["loss"] == b.history_["loss"]
    c = PolicyGradient(seed=4, n_envs=4, n_steps=8, backend=backend).fit("CartPole-v1", steps=800)
    assert c.history_["episode_returns"] != a.history_["episode_returns"]
    a.save(tmp_path / "pg.npz")
    loaded = PolicyGradient.load(tmp_path / "pg.npz")
    obs = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=True), a.act(obs, deterministic=True))
    assert loaded.history_["episode_returns"] == a.history_["episode_returns"]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_gaussian_policy_save_load_and_action_bounds(tmp_path, backend):
    import envs.continuous  # noqa: F401  (registers sandbox/PointReach-v0)

    agent = PolicyGradient(seed=0, n_envs=2, n_steps=8, backend=backend).fit("sandbox/PointReach-v0", steps=160)
    obs = np.random.default_rng(1).uniform(-1, 1, size=(20, 4)).astype(np.float32)
    acts = agent.act(obs)
    assert acts.shape == (20, 2) and np.all(np.abs(acts) <= 1.0)
    agent.save(tmp_path / "g.npz")
    loaded = PolicyGradient.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(loaded.act(obs, deterministic=True), agent.act(obs, deterministic=True))
    assert loaded.log_std.tolist() == agent.log_std.tolist()


@pytest.mark.parametrize(
    "space, name",
    [(gym.spaces.MultiDiscrete([3, 3]), "MultiDiscrete"), (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict"),
     (gym.spaces.Box(-1, 1, (2, 2)), "Box")],
)
def test_unsupported_action_space_is_named(space, name):
    with pytest.raises(ValueError, match=name):
        PolicyGradient(n_envs=1).fit(SpaceEnv(action_space=space), steps=10)


def test_unsupported_observation_space_is_named():
    with pytest.raises(ValueError, match="Dict"):
        PolicyGradient(n_envs=1).fit(SpaceEnv(observation_space=gym.spaces.Dict({"a": gym.spaces.Discrete(2)})), steps=10)


@pytest.mark.parametrize("steps", [0, -5, 2.5])
def test_steps_must_be_positive(steps):
    with pytest.raises(ValueError, match="steps"):
        PolicyGradient().fit("CartPole-v1", steps=steps)


def test_unknown_env_id_suggests_close_matches():
    with pytest.raises(ValueError, match="CartPole-v1"):
        PolicyGradient().fit("CartPole-v2", steps=10)


def test_bad_hyperparameter_is_named_at_fit():
    with pytest.raises(ValueError, match="backend.*numpy"):
        PolicyGradient(backend="jax").fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="baseline"):
        PolicyGradient(baseline="critic").fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="gae_lambda"):
        PolicyGradient(gae_lambda=1.5).fit("CartPole-v1", steps=10)


def test_non_finite_loss_stops_with_a_message():
    agent = PolicyGradient(n_envs=1, n_steps=4)
    with pytest.raises(DivergenceError, match="stopped after .* env steps.*loss became nan"):
        agent.fit(SpaceEnv(reward=float("nan")), steps=8)
    assert len(agent.history_["episode_returns"]) == 4  # what was learned before the stop is kept


def test_act_before_fit():
    with pytest.raises(NotFittedError):
        PolicyGradient().act(np.zeros(4))


@pytest.mark.parametrize("baseline, lam", [("none", None), ("mean", None), ("value", None)])
def test_reinforce_variants_run(baseline, lam):
    agent = PolicyGradient(baseline=baseline, gae_lambda=lam, n_envs=2, n_steps=64, seed=0).fit("CartPole-v1", steps=1024)
    assert len(agent.history_["loss"]) >= 1
    assert agent.training_["steps"] == 1024


def test_checkpoint_saved_before_backends_existed_loads_as_torch(tmp_path, monkeypatch):
    # Checkpoints written before the numpy backend have torch's array layout and no "backend" parameter.
    agent = PolicyGradient(seed=0, n_envs=2, n_steps=8, backend="torch").fit("CartPole-v1", steps=64)
    loaded = reload_as_saved_before_backends(agent, tmp_path / "old.npz", monkeypatch)
    assert loaded.backend == "torch"
    obs = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.act(obs, deterministic=True), agent.act(obs, deterministic=True))
