"""PolicyGradient: gradients against hand computation and autograd, learning, the spaces and envs users bring,
determinism, checkpoints, bad input."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.policy_gradient import Batch, PolicyGradient, gae
from sandbox.errors import NotFittedError
from tests.agents.rl_helpers import CountCloses, NaNEnv, SpaceEnv, random_cartpole_return

BOX4 = gym.spaces.Box(-5, 5, (4,), np.float32)


def prepared(agent, obs_space, action_space):
    """The agent's networks built as fit builds them, in float64, without training."""
    agent._dtype = np.float64
    agent._validate()
    agent._prepare(obs_space, action_space)
    return agent


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_two_step_gradient_equals_hand_computation(backend):
    # Linear softmax policy pi(a|s) = softmax(W s + b); REINFORCE without baseline or normalisation.
    agent = PolicyGradient(
        hidden=(),
        baseline="none",
        normalize=False,
        gamma=0.9,
        n_envs=1,
        n_steps=2,
        update_epochs=1,
        minibatches=1,
        backend=backend,
    )
    prepared(agent, gym.spaces.Box(-5, 5, (2,), np.float32), gym.spaces.Discrete(2))
    W = np.array([[0.5, -0.3], [0.2, 0.1]])
    b = np.array([0.1, -0.2])
    agent.policy_.params[0][...], agent.policy_.params[1][...] = (
        W,
        b,
    )  # the same code for both engines
    s = np.array([[1.0, 2.0], [-1.0, 0.5]])
    a, r = np.array([1, 0]), np.array([1.0, 2.0])
    agent._carry, agent._mean_return = [None], None
    roll = {
        "obs": s[:, None].astype(np.float32),
        "actions": a[:, None],
        "rewards": r[:, None],
        "terminated": np.array([[False], [True]]),
        "truncated": np.zeros((2, 1), bool),
        "final": {},
    }
    batch = agent._make_batch(roll)
    agent._loss_grads(batch)
    got_W, got_b = agent.policy_.grads

    G = np.array([1.0 + 0.9 * 2.0, 2.0])  # returns-to-go: 2.8 and 2.0
    gW, gb = np.zeros((2, 2)), np.zeros(2)
    for t in range(2):
        z = W @ s[t] + b
        pi = np.exp(z) / np.exp(z).sum()
        dlogpi = np.eye(2)[a[t]] - pi  # d log pi(a|s) / dz
        gW -= G[t] * np.outer(dlogpi, s[t]) / 2
        gb -= G[t] * dlogpi / 2
    np.testing.assert_allclose(batch.advantages, G, rtol=1e-6)
    np.testing.assert_allclose(got_W, gW, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_b, gb, rtol=1e-5, atol=1e-6)


def torch_log_prob_entropy(space, out, log_std, actions):
    """The reference: log pi(a|s) and entropy of each row by torch.distributions."""
    D = torch.distributions
    if isinstance(space, gym.spaces.Discrete):
        d = D.Categorical(logits=out)
        return d.log_prob(actions), d.entropy()
    if isinstance(space, gym.spaces.MultiDiscrete):
        parts = torch.split(out, [int(n) for n in space.nvec], dim=1)
        ds = [D.Categorical(logits=p) for p in parts]
        return (
            sum(d.log_prob(actions[:, k]) for k, d in enumerate(ds)),
            sum(d.entropy() for d in ds),
        )
    if isinstance(space, gym.spaces.MultiBinary):
        d = D.Bernoulli(logits=out)
        return d.log_prob(actions.double()).sum(1), d.entropy().sum(1)
    d = D.Normal(out, log_std.exp().expand_as(out))
    return d.log_prob(actions).sum(1), d.entropy().sum(1)


def torch_policy_loss(logp, adv, old, clip):
    if old is None:
        return -(logp * adv).mean()
    ratio = torch.exp(logp - old)
    surrogate = ratio * adv
    if clip is not None:
        surrogate = torch.min(surrogate, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -surrogate.mean()


SPACES = {
    "categorical": gym.spaces.Discrete(3),
    "gaussian": gym.spaces.Box(-1, 1, (2,), np.float32),
    "multi_discrete": gym.spaces.MultiDiscrete([3, 2]),
    "multi_binary": gym.spaces.MultiBinary(3),
}


@pytest.mark.parametrize("kind", list(SPACES))
@pytest.mark.parametrize("clip_range", [0.2, None])
@pytest.mark.parametrize("reused", [True, False], ids=["ratio", "plain"])
def test_hand_written_gradients_equal_torch_autograd(kind, clip_range, reused):
    # The whole loss (policy, entropy, value) and its gradients by hand, against torch.distributions and autograd
    # in float64 from the same weights, for every head and branch: PPO's clipped ratio (some ratios outside the
    # clip range) or not, a reused batch or one plain step.
    space = SPACES[kind]
    agent = prepared(
        PolicyGradient(seed=1, hidden=(8,), entropy_coef=0.05, clip_range=clip_range), BOX4, space
    )
    if agent.log_std_ is not None:
        agent.log_std[...] = [0.3, -0.2]
    rng = np.random.default_rng(0)
    B = 64
    X = rng.normal(size=(B, 4))
    acts = agent._head.sample(agent.policy_(X), agent.log_std, rng, explore=True)
    adv, ret = rng.normal(size=B), rng.normal(size=B)
    old = None
    if reused:
        old = agent._head.log_prob(agent.policy_(X), agent.log_std, acts) + rng.normal(0, 0.3, B)
    losses = agent._loss_grads(Batch(X, acts, adv, ret, old))
    grads = (
        agent.policy_.grads
        + (agent.log_std_.grads if agent.log_std_ is not None else [])
        + agent.value_net_.grads
    )

    params = {
        name: [torch.tensor(p, requires_grad=True) for p in part.params]
        for name, part in agent._parts.items()
    }

    def mlp(ps, x):
        h = torch.relu(x @ ps[0].T + ps[1])
        return h @ ps[2].T + ps[3]

    t = torch.from_numpy
    out = mlp(params["policy"], t(X))
    log_std = params["log_std"][0] if "log_std" in params else None
    logp, entropy = torch_log_prob_entropy(space, out, log_std, t(np.asarray(acts)))
    policy_loss = torch_policy_loss(logp, t(adv), None if old is None else t(old), clip_range)
    value_loss = 0.5 * ((mlp(params["value"], t(X))[:, 0] - t(ret)) ** 2).mean()
    total = policy_loss - 0.05 * entropy.mean() + 0.5 * value_loss
    total.backward()
    want = [p.grad.numpy() for name in ("policy", "log_std", "value") for p in params.get(name, [])]
    assert len(grads) == len(want)
    for g, w in zip(grads, want):
        np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12)
    expected = {
        "loss": total,
        "policy_loss": policy_loss,
        "value_loss": value_loss,
        "entropy": entropy.mean(),
    }
    for k, v in expected.items():
        assert losses[k] == pytest.approx(float(v.detach()), rel=1e-9, abs=1e-12)


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


def test_both_engines_train_alike():
    # Same seed, same starting weights, float64 on both engines: the same rollouts and losses up to rounding.
    runs = []
    for backend in ("numpy", "torch"):
        agent = PolicyGradient(seed=0, n_envs=2, n_steps=16, backend=backend)
        agent._dtype = np.float64
        runs.append(agent.fit("CartPole-v1", steps=256))
    a, b = runs
    assert a.history_["episode_returns"] == b.history_["episode_returns"]
    np.testing.assert_allclose(a.history_["loss"], b.history_["loss"], rtol=1e-6)


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
    np.testing.assert_array_equal(loaded.act(obs), a.act(obs))
    assert loaded.history_["episode_returns"] == a.history_["episode_returns"]


def test_act_is_greedy_by_default_and_samples_when_asked():
    agent = PolicyGradient(seed=0, n_envs=2, n_steps=8).fit("CartPole-v1", steps=64)
    obs = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs), agent.policy_(obs).argmax(axis=1))
    assert not np.array_equal(
        agent.act(obs, explore=True), agent.act(obs)
    )  # a near-uniform policy samples both
    assert isinstance(agent.act(obs[0]), int)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_gaussian_policy_save_load_and_action_bounds(tmp_path, backend):
    import envs.continuous  # noqa: F401  (registers sandbox/PointReach-v0)

    agent = PolicyGradient(seed=0, n_envs=2, n_steps=8, backend=backend).fit(
        "sandbox/PointReach-v0", steps=160
    )
    obs = np.random.default_rng(1).uniform(-1, 1, size=(20, 4)).astype(np.float32)
    acts = agent.act(obs, explore=True)
    assert acts.shape == (20, 2) and np.all(np.abs(acts) <= 1.0)
    agent.save(tmp_path / "g.npz")
    loaded = PolicyGradient.load(tmp_path / "g.npz")
    np.testing.assert_array_equal(loaded.act(obs), agent.act(obs))
    assert loaded.log_std.tolist() == agent.log_std.tolist()


class TwoChoicesEnv(SpaceEnv):
    """One step per episode; pays 1 for each component of the action equal to ``want``."""

    def __init__(self, action_space, want, observation_space=None):
        super().__init__(action_space=action_space, observation_space=observation_space)
        self.want = np.asarray(want)

    def step(self, action):
        return (
            self.observation_space.sample(),
            float((np.asarray(action) == self.want).sum()),
            True,
            False,
            {},
        )


@pytest.mark.parametrize(
    "space, want",
    [(gym.spaces.MultiDiscrete([3, 4]), [2, 1]), (gym.spaces.MultiBinary(3), [1, 0, 1])],
    ids=["multi_discrete", "multi_binary"],
)
def test_factorised_policies_learn_each_component(tmp_path, space, want):
    kw = dict(
        seed=0,
        hidden=(16,),
        n_envs=4,
        n_steps=16,
        learning_rate=1e-2,
        learning_rate_schedule="constant",
    )
    agent = PolicyGradient(**kw).fit(lambda: TwoChoicesEnv(space, want), steps=6_000)
    obs = np.random.default_rng(0).uniform(-1, 1, size=(30, 2)).astype(np.float32)
    acts = agent.act(obs)
    assert acts.shape == (30, len(want)) and space.contains(acts[0])
    np.testing.assert_array_equal(acts, np.tile(want, (30, 1)))
    agent.save(tmp_path / "f.npz")
    np.testing.assert_array_equal(PolicyGradient.load(tmp_path / "f.npz").act(obs), acts)


def test_dict_observations_are_flattened_and_learned_from(tmp_path):
    # The reward asks for the action equal to the Discrete part of the observation: only readable once flattened.
    obs_space = gym.spaces.Dict(
        {"goal": gym.spaces.Discrete(3), "noise": gym.spaces.Box(-1, 1, (2,), np.float32)}
    )

    class Match(SpaceEnv):
        def reset(self, *, seed=None, options=None):
            self.obs = super().reset(seed=seed)[0]
            return self.obs, {}

        def step(self, action):
            r = float(int(action) == int(self.obs["goal"]))
            self.obs = self.observation_space.sample()
            return self.obs, r, True, False, {}

    agent = PolicyGradient(
        seed=0,
        hidden=(16,),
        n_envs=4,
        n_steps=16,
        learning_rate=1e-2,
        learning_rate_schedule="constant",
    ).fit(
        lambda: Match(action_space=gym.spaces.Discrete(3), observation_space=obs_space), steps=6_000
    )
    for g in range(3):
        assert agent.act({"goal": g, "noise": np.zeros(2, np.float32)}) == g
    agent.save(tmp_path / "d.npz")
    assert (
        PolicyGradient.load(tmp_path / "d.npz").act({"goal": 2, "noise": np.zeros(2, np.float32)})
        == 2
    )


def test_a_users_vector_env_in_any_autoreset_mode_gives_the_same_run_and_stays_open():
    # gym.make_vec resets an env in the step after its episode ended (NEXT_STEP); PolicyGradient sees the same
    # episodes as with a SAME_STEP env, and the caller's vector env is left open.
    runs = []
    for mode in (
        gym.vector.AutoresetMode.NEXT_STEP,
        gym.vector.AutoresetMode.SAME_STEP,
        gym.vector.AutoresetMode.DISABLED,
    ):
        vec = gym.make_vec(
            "CartPole-v1", 3, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode}
        )
        agent = PolicyGradient(seed=0, n_steps=16).fit(vec, steps=960)
        assert not vec.closed
        vec.close()
        runs.append(agent.history_["episode_returns"])
    assert runs[0] == runs[1] == runs[2] and len(runs[0]) > 20


def test_async_vector_env_is_accepted():
    vec = gym.vector.AsyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2)
    try:
        agent = PolicyGradient(seed=0, n_steps=16).fit(vec, steps=320)
        assert agent.training_["steps"] == 320 and agent.history_["episode_returns"]
    finally:
        vec.close()


def test_a_users_env_instance_runs_alone_and_is_never_closed():
    env = CountCloses(gym.make("CartPole-v1"))
    agent = PolicyGradient(n_steps=8).fit(
        env, steps=32
    )  # n_envs=16 copies of an instance cannot be made
    assert env.closes == 0 and agent.history_["update_steps"] == [8, 16, 24, 32]


@pytest.mark.parametrize(
    "space, name",
    [
        (gym.spaces.Dict({"a": gym.spaces.Discrete(2)}), "Dict"),
        (gym.spaces.Box(-1, 1, (2, 2)), "Box"),
    ],
)
def test_unsupported_action_space_is_named_and_env_support_agrees(space, name):
    env = SpaceEnv(action_space=space)
    assert name in PolicyGradient.env_support(env)
    with pytest.raises(ValueError, match=f"{name}.*MultiDiscrete"):
        PolicyGradient(n_envs=1).fit(env, steps=10)


def test_unsupported_observation_space_is_named_and_env_support_agrees():
    env = SpaceEnv(observation_space=gym.spaces.Text(5))
    assert "Text" in PolicyGradient.env_support(env)
    with pytest.raises(ValueError, match="Text"):
        PolicyGradient(n_envs=1).fit(env, steps=10)


@pytest.mark.parametrize(
    "env",
    [
        gym.make("CartPole-v1"),
        gym.make("Blackjack-v1"),
        gym.make("Pendulum-v1"),
        SpaceEnv(action_space=gym.spaces.MultiBinary(2)),
        gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"),
    ],
    ids=["cartpole", "blackjack-tuple-obs", "pendulum", "multibinary", "make_vec"],
)
def test_env_support_says_yes_where_fit_runs(env):
    assert PolicyGradient.env_support(env) is None
    agent = PolicyGradient(n_envs=1, n_steps=4).fit(env, steps=16)
    assert agent.training_["steps"] == 16


def test_nan_reward_or_observation_stops_fit_naming_the_step():
    with pytest.raises(ValueError, match="non-finite reward .* at env step 3"):
        PolicyGradient(n_envs=1, n_steps=4).fit(NaNEnv(bad_reward_at=3), steps=8)
    with pytest.raises(ValueError, match="non-finite observation .* at env step 2"):
        PolicyGradient(n_envs=1, n_steps=4).fit(NaNEnv(bad_obs_at=2), steps=8)
    with pytest.raises(
        ValueError, match="non-finite observation .* at env step 10"
    ):  # an episode's last one
        PolicyGradient(n_envs=1, n_steps=4).fit(NaNEnv(bad_obs_at=10), steps=16)


def test_act_refuses_a_nan_observation():
    agent = PolicyGradient(n_envs=1, n_steps=4).fit("CartPole-v1", steps=8)
    with pytest.raises(ValueError, match="NaN"):
        agent.act(np.array([0.0, np.nan, 0.0, 0.0], np.float32))


def test_episodes_budget_and_exactly_one_budget():
    agent = PolicyGradient(n_envs=2, n_steps=8).fit("CartPole-v1", episodes=5)
    assert len(agent.history_["episode_returns"]) >= 5
    assert agent.training_["steps"] % 16 == 0  # whole rollouts
    with pytest.raises(ValueError, match="not both"):
        PolicyGradient().fit("CartPole-v1", steps=100, episodes=5)


def test_callback_sees_progress_and_can_stop_training():
    seen = []

    def callback(info):
        seen.append(info)
        return info["done"] < 200

    agent = PolicyGradient(n_envs=2, n_steps=8).fit("CartPole-v1", steps=2_000, callback=callback)
    assert seen[0]["unit"] == "steps" and seen[0]["total"] == 2_000 and "mean_return" in seen[0]
    assert 200 <= agent.training_["steps"] < 2_000  # stopped at the end of the rollout that asked


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
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        PolicyGradient(learning_rate_schedule="cosine").fit("CartPole-v1", steps=10)
    with pytest.raises(ValueError, match="learning_rate_end"):
        PolicyGradient(learning_rate_end=1.0).fit("CartPole-v1", steps=10)


def test_learning_rate_schedule_reaches_learning_rate_end():
    agent = PolicyGradient(
        n_envs=2,
        n_steps=8,
        update_epochs=1,
        minibatches=1,
        learning_rate=1e-2,
        learning_rate_end=1e-3,
    )
    agent.fit("CartPole-v1", steps=160)  # 10 updates of one gradient step each
    assert agent._lr_factor(agent._schedule_at(agent._grad_steps)) == pytest.approx(0.1)
    assert agent._lr_factor(agent._schedule_at(5)) == pytest.approx(1 - 0.9 * 0.5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the overflow this test provokes
def test_divergence_stops_with_a_message_naming_the_env_step():
    from sandbox.errors import DivergenceError

    agent = PolicyGradient(
        n_envs=1, n_steps=4, baseline="none", normalize=False, update_epochs=1, minibatches=1
    )
    with pytest.raises(DivergenceError, match="stopped after 4 env steps.*loss became"):
        agent.fit(SpaceEnv(reward=1e300), steps=8)  # finite rewards, but the loss overflows
    assert len(agent.history_["episode_returns"]) == 4  # what was learned before the stop is kept


def test_act_before_fit():
    with pytest.raises(NotFittedError):
        PolicyGradient().act(np.zeros(4))


@pytest.mark.parametrize("baseline, lam", [("none", None), ("mean", None), ("value", None)])
def test_reinforce_variants_run(baseline, lam):
    agent = PolicyGradient(baseline=baseline, gae_lambda=lam, n_envs=2, n_steps=64, seed=0).fit(
        "CartPole-v1", steps=1024
    )
    assert len(agent.history_["loss"]) >= 1 and all(
        math.isfinite(v) for v in agent.history_["loss"]
    )
    assert agent.training_["steps"] == 1024


def test_scale_obs_feeds_the_networks_rescaled_features_and_survives_save_load(tmp_path):
    space = gym.make("MountainCar-v0").observation_space
    kw = dict(seed=3, scale_obs=True, n_envs=2, n_steps=16)
    a = PolicyGradient(**kw).fit("MountainCar-v0", steps=256)
    b = PolicyGradient(**kw).fit("MountainCar-v0", steps=256)
    assert a.history_["loss"] == b.history_["loss"]
    raw = np.random.default_rng(0).uniform(space.low, space.high, size=(30, 2)).astype(np.float32)
    scaled = 2 * (raw - space.low) / (space.high - space.low) - 1
    np.testing.assert_allclose(a._encoder(raw)[0], scaled, atol=1e-6)
    a.save(tmp_path / "pg.npz")
    loaded = PolicyGradient.load(tmp_path / "pg.npz")
    np.testing.assert_array_equal(loaded.act(raw), a.act(raw))
    np.testing.assert_allclose(loaded._encoder(raw)[0], scaled, atol=1e-6)
    with pytest.raises(ValueError, match="scale_obs"):
        PolicyGradient(scale_obs=1).fit("MountainCar-v0", steps=10)
