"""SAC: the squashed Gaussian's gradients, learning, both engines, determinism, checkpoints, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import envs  # noqa: F401  (registers sandbox/PointReach-v0)
from agents.sac import SAC, squashed_gaussian, squashed_gaussian_grad
from sandbox.errors import NotFittedError
from tests.agents.rl_helpers import SpaceEnv

SMALL = dict(hidden=(32, 32), batch_size=64, learning_starts=200)
POINT = "sandbox/PointReach-v0"


def test_squashed_gaussian_log_prob_and_gradients_match_torch():
    """log pi(a | s) is torch's Normal log-density with the tanh correction, and the hand-written
    gradient of a loss of (a, log pi) matches autograd in float64, including the clipped log-std."""
    rng = np.random.default_rng(0)
    out = rng.normal(size=(6, 4))
    out[0, 2] = -25.0  # a log-std below the clip: no gradient flows to it
    noise = rng.normal(size=(6, 2))
    w_a, w_lp = rng.normal(size=(6, 2)), rng.normal(size=6)
    a, log_prob, cache = squashed_gaussian(out, noise)
    d_out = squashed_gaussian_grad(cache, w_a, w_lp)

    t = torch.tensor(out, requires_grad=True)
    mean, log_std = t.chunk(2, dim=1)
    log_std = log_std.clamp(-20.0, 2.0)
    u = mean + log_std.exp() * torch.from_numpy(noise)
    ref_a = torch.tanh(u)
    normal = torch.distributions.Normal(mean, log_std.exp())
    ref_lp = (normal.log_prob(u) - torch.log1p(-ref_a.pow(2))).sum(1)
    ((ref_a * torch.from_numpy(w_a)).sum() + (ref_lp * torch.from_numpy(w_lp)).sum()).backward()
    np.testing.assert_allclose(a, ref_a.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(log_prob, ref_lp.detach().numpy(), rtol=1e-7)
    np.testing.assert_allclose(d_out, t.grad.numpy(), rtol=1e-6, atol=1e-9)
    assert d_out[0, 2] == 0.0


def test_learns_point_reach():
    """1,500 steps of SAC head for the target: far better than random actions (-52.9; heading
    straight for the target scores -6.5)."""
    agent = SAC(seed=0, **SMALL).fit(POINT, steps=1500)
    result = agent.evaluate(POINT, episodes=20, seed=0)
    assert result["mean_return"] > -30.0, result
    assert len(agent.history_["episode_returns"]) == len(agent.history_["episode_lengths"]) > 0


def test_engines_agree_from_the_same_start():
    """numpy and torch engines: the same networks, losses and gradients, so the same weights after a
    few updates (up to float32 rounding)."""
    kw = dict(hidden=(16,), batch_size=32, learning_starts=40, seed=3)
    a = SAC(backend="numpy", **kw).fit(POINT, steps=50)
    b = SAC(backend="torch", **kw).fit(POINT, steps=50)
    for name in ("actor", "q1", "q2"):
        pa, pb = a._parts[name].params, b._parts[name].params
        for x, y in zip(pa, pb, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-5, err_msg=name)


def test_same_seed_same_numbers_and_checkpoint(tmp_path):
    runs = [SAC(seed=5, **SMALL).fit(POINT, steps=400) for _ in range(2)]
    obs = np.array([[0.1, -0.2, 0.3, 0.4], [-0.5, 0.5, 0.2, -0.1]], np.float32)
    assert runs[0].history_["episode_returns"] == runs[1].history_["episode_returns"]
    np.testing.assert_array_equal(runs[0].act(obs), runs[1].act(obs))
    loaded = SAC.load(runs[0].save(tmp_path / "sac.npz"))
    np.testing.assert_array_equal(loaded.act(obs), runs[0].act(obs))
    np.testing.assert_array_equal(
        loaded.q_values(obs, [[0, 0], [1, 1]]), runs[0].q_values(obs, [[0, 0], [1, 1]])
    )
    # deterministic by default, in the bounds, and exploring when asked
    single = runs[0].act(obs[0])
    assert single.shape == (2,) and single.dtype == np.float32 and np.all(np.abs(single) <= 1)
    np.testing.assert_array_equal(single, runs[0].act(obs[0]))
    assert not np.array_equal(runs[0].act(obs, explore=True), runs[0].act(obs, explore=True))


def test_vector_envs_and_the_linear_schedule():
    agent = SAC(
        seed=0, n_envs=2, learning_rate_schedule="linear", **{**SMALL, "learning_starts": 100}
    ).fit(POINT, steps=300)
    # one round of updates per vector step (2 env steps) from env step 100 through 300
    assert agent.training_["steps"] == 300 and agent.training_["gradient_steps"] == 101
    assert agent.act(np.zeros((3, 4), np.float32)).shape == (3, 2)


def test_actions_scaled_to_the_bounds():
    env = SpaceEnv(
        action_space=gym.spaces.Box(np.array([0, -5], np.float32), np.array([2, 5], np.float32))
    )
    agent = SAC(seed=0, hidden=(8,), learning_starts=10, batch_size=8).fit(env, steps=30)
    acts = agent.act(
        np.random.default_rng(0).uniform(-1, 1, (50, 2)).astype(np.float32), explore=True
    )
    assert acts.shape == (50, 2)
    assert np.all(acts[:, 0] >= 0) and np.all(acts[:, 0] <= 2) and np.all(np.abs(acts[:, 1]) <= 5)


@pytest.mark.parametrize(
    "space",
    [gym.spaces.Discrete(3), gym.spaces.MultiDiscrete([2, 2]), gym.spaces.MultiBinary(2)],
    ids=lambda s: type(s).__name__,
)
def test_refuses_non_box_actions(space):
    env = SpaceEnv(action_space=space)
    reason = SAC.env_support(env)
    assert reason is not None and "Box" in reason and type(space).__name__ in reason
    with pytest.raises(ValueError, match="SAC cannot run on .*Box"):
        SAC().fit(env, steps=10)


def test_refuses_unbounded_box_and_discrete_gym_env():
    env = SpaceEnv(action_space=gym.spaces.Box(-np.inf, np.inf, (2,), np.float32))
    assert "finite" in SAC.env_support(env)
    with pytest.raises(ValueError, match="DQN or PolicyGradient"):
        SAC().fit("CartPole-v1", steps=10)


@pytest.mark.parametrize(
    "params, name",
    [
        (dict(entropy_coef="sometimes"), "entropy_coef"),
        (dict(entropy_coef=-0.1), "entropy_coef"),
        (dict(entropy_coef_init=0.0), "entropy_coef_init"),
        (dict(tau=0.0), "tau"),
        (dict(tau=1.5), "tau"),
        (dict(batch_size=0), "batch_size"),
        (dict(learning_starts=-1), "learning_starts"),
        (dict(gradient_steps=1.5), "gradient_steps"),
        (dict(gamma=1.2), "gamma"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(learning_rate_schedule="cosine"), "learning_rate_schedule"),
        (dict(backend="jax"), "backend"),
        (dict(hidden=(64, 0)), "hidden"),
        (dict(target_entropy="high"), "target_entropy"),
    ],
)
def test_bad_settings_name_the_parameter(params, name):
    with pytest.raises(ValueError, match=name):
        SAC(**params).fit(POINT, steps=10)


def test_not_fitted():
    with pytest.raises(NotFittedError):
        SAC().act(np.zeros(4, np.float32))


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_input_grad_matches_autograd_on_both_engines(activation):
    """The critics' dQ/d input (the actor's path to them): NumPy engine and torch engine agree with
    autograd, and leave the parameters' gradients alone."""
    from agents._engines import make_engine
    from sandbox.netspec import NetSpec

    spec = NetSpec(3, 2, (5, 4), activation)
    x = np.random.default_rng(0).normal(size=(6, 3))
    dout = np.random.default_rng(1).normal(size=(6, 2))
    ref_net = make_engine("torch", np.float64).net(spec, 7)
    t = torch.tensor(x, requires_grad=True)
    (ref_net.module(t) * torch.from_numpy(dout)).sum().backward()
    for backend in ("numpy", "torch"):
        net = make_engine(backend, np.float64).net(spec, 7)
        net.forward(x)
        np.testing.assert_allclose(
            net.input_grad(dout), t.grad.numpy(), rtol=1e-10, err_msg=backend
        )
        with pytest.raises(RuntimeError, match="forward"):
            make_engine(backend, np.float64).net(spec, 7).input_grad(dout)
