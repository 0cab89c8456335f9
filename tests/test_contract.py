"""The contract every learner in the registry keeps (docs/vocabulary.md), checked without naming any.

The learners are whatever ``sandbox.learner.LEARNERS`` holds after importing
``agents`` and the ``sandbox.agents`` entry points, so a learner added later is
checked without editing this file. Environment learners (reinforcement and
planning) run on tiny envs built here; supervised and unsupervised learners on
small arrays.
"""

from __future__ import annotations

import inspect

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import agents  # noqa: F401  (fills the registry)
from sandbox.cli import check_env
from sandbox.errors import NotFittedError
from sandbox.learner import Learner, load_learner_plugins
from sandbox.rollout import evaluate

REGISTRY = load_learner_plugins()
ENV_LEARNERS = sorted(n for n, c in REGISTRY.items() if c.paradigm in ("reinforcement", "planning"))
DATA_LEARNERS = sorted(
    n for n, c in REGISTRY.items() if c.paradigm in ("supervised", "unsupervised")
)

# ------------------------------------------------------------------ tiny envs

N = 5  # states 0..4 of the chain; 4 is the goal


class Chain(gym.Env):
    """A corridor of N cells: start at 0, the goal at N - 1 (+1, ends). Moving right costs nothing,
    moving left or bumping the wall -0.2, so even a myopic learner does best by going right.

    obs : "discrete" (the cell), "box" (the cell / (N - 1), shape (1,)) or "tuple" (cell, cell parity)
    act : "discrete" (0 left, 1 right), "box" (shape (1,): right if > 0) or "multidiscrete"
        ([2, 2]: right if the first is 1; the second is ignored)
    """

    def __init__(self, obs: str = "discrete", act: str = "discrete"):
        self.kind = (obs, act)
        self.observation_space = {
            "discrete": spaces.Discrete(N),
            "box": spaces.Box(0.0, 1.0, (1,), dtype=np.float32),
            "tuple": spaces.Tuple((spaces.Discrete(N), spaces.Discrete(2))),
        }[obs]
        self.action_space = {
            "discrete": spaces.Discrete(2),
            "box": spaces.Box(-1.0, 1.0, (1,), dtype=np.float32),
            "multidiscrete": spaces.MultiDiscrete([2, 2]),
        }[act]
        if (obs, act) == ("discrete", "discrete"):  # the model, for the planners
            self.P = {s: {a: [(1.0, *self._move(s, a))] for a in range(2)} for s in range(N)}
        self.s = 0

    @staticmethod
    def _move(s: int, right: int) -> tuple[int, float, bool]:
        s2 = min(s + 1, N - 1) if right else max(s - 1, 0)
        if s2 == N - 1:
            return s2, 1.0, True
        return s2, (0.0 if right else -0.2), False

    def _obs(self):
        obs = self.kind[0]
        if obs == "discrete":
            return self.s
        if obs == "box":
            return np.array([self.s / (N - 1)], dtype=np.float32)
        return (self.s, self.s % 2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = 0
        return self._obs(), {}

    def step(self, action):
        act = self.kind[1]
        right = (
            int(np.asarray(action).reshape(-1)[0] > 0)
            if act == "box"
            else int(np.asarray(action).reshape(-1)[0])
        )
        self.s, reward, terminated = self._move(self.s, right)
        return self._obs(), reward, terminated, False, {}


def chain(obs: str = "discrete", act: str = "discrete", limit: int | None = 30) -> gym.Env:
    env = Chain(obs, act)
    return gym.wrappers.TimeLimit(env, limit) if limit else env


MATRIX = {
    "discrete-discrete-limit": dict(obs="discrete", act="discrete", limit=30),
    "discrete-discrete-nolimit": dict(obs="discrete", act="discrete", limit=None),
    "box-discrete-limit": dict(obs="box", act="discrete", limit=30),
    "tuple-discrete-nolimit": dict(obs="tuple", act="discrete", limit=None),
    "discrete-box-limit": dict(obs="discrete", act="box", limit=30),
    "box-multidiscrete-limit": dict(obs="box", act="multidiscrete", limit=30),
}


def home_env(cls: type[Learner]) -> gym.Env:
    """A small env the learner runs on: the first of the chains, or one of the sandbox's own envs."""
    from envs.tictactoe import TicTacToe

    candidates = [
        lambda: chain(),
        lambda: chain("box"),
        lambda: chain(act="box"),
        lambda: gym.make("sandbox/Bandit-v0"),
        lambda: gym.make("sandbox/ContextualBandit-v0"),
        lambda: TicTacToe("self"),
    ]
    for make in candidates:
        env = make()
        if cls.env_support(env) is None:
            return env
    pytest.fail(
        f"{cls.__name__} runs on none of the contract's envs; add a small env it supports to home_env"
    )


def budget(cls: type[Learner], small: bool = True) -> dict[str, int]:
    if cls.paradigm == "planning":
        return {}
    unit = getattr(cls, "budget_unit", "steps")
    if unit == "episodes":
        return {"episodes": 40 if small else 300}
    return {"steps": 300 if small else 3000}


def make(cls: type[Learner], **params) -> Learner:
    if "seed" in cls._param_names():
        params.setdefault("seed", 0)
    return cls(**params)


def observations(env: gym.Env, n: int = 5) -> list:
    """A few observations of ``env``, from seeded resets and random steps."""
    out = []
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(n):
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    return out


def same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))


# -------------------------------------------------------------- every learner


def test_the_registry_has_every_kind_of_learner():
    assert ENV_LEARNERS and DATA_LEARNERS


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_declares_env_support(name):
    assert REGISTRY[name].declares_env_support(), f"{name} does not declare env_support"


BANNED = {
    "alpha",
    "epsilon_final",
    "decay_fraction",
    "max_iterations",
    "tolerance",
    "iterations",
    "on_epoch",
    "step_size",
    "epsilon",
    "epsilon_schedule",
    "alpha_schedule",
    "alpha_end",
}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_vocabulary_names(name):
    cls = REGISTRY[name]
    params = set(cls._param_names())
    assert not params & BANNED, f"{name} takes {sorted(params & BANNED)}; see docs/vocabulary.md"
    fit = inspect.signature(cls.fit).parameters
    assert {"callback", "progress"} <= set(fit), f"{name}.fit lacks callback/progress"
    for p in ("callback", "progress", "steps", "episodes"):
        if p in fit:
            assert fit[p].kind == fit[p].KEYWORD_ONLY, f"{name}.fit's {p} must be keyword-only"
    if cls.paradigm == "reinforcement":
        assert {"steps", "episodes"} <= set(fit), f"{name}.fit must take steps= and episodes="
        assert fit["steps"].default is None and fit["episodes"].default is None
        act = inspect.signature(cls.act).parameters
        assert "explore" in act and act["explore"].default is False, (
            f"{name}.act must be greedy by default"
        )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_get_params_and_set_params_round_trip(name):
    cls = REGISTRY[name]
    learner = make(cls)
    params = learner.get_params()
    assert set(params) == set(cls._param_names())
    assert cls(**params).get_params() == params
    if not hasattr(learner, "set_params"):
        pytest.skip(
            "Learner has no set_params in this branch (it comes with scikit-learn's BaseEstimator)"
        )
    assert learner.set_params(**params) is learner and learner.get_params() == params


# ------------------------------------------------------ environment learners


@pytest.mark.parametrize("name", ENV_LEARNERS)
def test_env_learner_fit_act_seed_save_load(name, tmp_path):
    cls = REGISTRY[name]
    env = home_env(cls)
    obs = observations(home_env(cls))
    with pytest.raises(NotFittedError):
        make(cls).act(obs[0])
    agent = make(cls)
    assert agent.fit(env, **budget(cls)) is agent
    actions = [agent.act(o) for o in obs]
    assert all(
        env.action_space.contains(
            np.asarray(a, dtype=env.action_space.dtype).reshape(env.action_space.shape)
        )
        for a in actions
    )
    if cls.paradigm == "reinforcement":
        history = agent.history_
        assert len(history["episode_returns"]) == len(history["episode_lengths"])
    if "seed" in cls._param_names():
        again = make(cls).fit(home_env(cls), **budget(cls))
        assert same(actions, [again.act(o) for o in obs])
        if cls.paradigm == "reinforcement":
            np.testing.assert_array_equal(
                np.asarray(again.history_["episode_returns"]),
                np.asarray(agent.history_["episode_returns"]),
            )
    loaded = cls.load(agent.save(tmp_path / f"{name}.npz"))
    assert same(actions, [loaded.act(o) for o in obs])


@pytest.mark.parametrize(
    "name", [n for n in ENV_LEARNERS if REGISTRY[n].paradigm == "reinforcement"]
)
def test_env_learner_budgets(name):
    cls = REGISTRY[name]
    with pytest.raises(ValueError, match="not both"):
        make(cls).fit(home_env(cls), steps=10, episodes=10)
    with pytest.raises(ValueError, match="steps=0"):
        make(cls).fit(home_env(cls), steps=0)
    seen = []
    make(cls).fit(home_env(cls), **budget(cls), callback=seen.append)
    assert seen and {"unit", "done", "total"} <= set(seen[-1])
    stopped = []
    make(cls).fit(home_env(cls), **budget(cls), callback=lambda info: stopped.append(info) or False)
    assert (
        stopped[-1]["done"] < stopped[0]["total"]
    )  # False at the first report stops before the budget is spent


def _random_return(env: gym.Env) -> float:
    env.action_space.seed(123)
    return evaluate(lambda obs: env.action_space.sample(), env, episodes=30, seed=0, max_steps=200)[
        "mean_return"
    ]


@pytest.mark.parametrize("case", sorted(MATRIX))
@pytest.mark.parametrize("name", ENV_LEARNERS)
def test_env_learner_learns_or_refuses_and_check_env_agrees(name, case, capsys):
    """On each env of the matrix: either fit refuses with the learner's env_support reason (the
    sentence check-env shows), or the learned greedy policy beats a random one."""
    cls = REGISTRY[name]
    env = chain(**MATRIX[case])
    reason = cls.env_support(env)
    if reason is not None:
        with pytest.raises(ValueError) as info:
            make(cls).fit(env, **budget(cls))
        assert reason.rstrip(".") in str(info.value)
    else:
        agent = make(cls).fit(env, **budget(cls, small=False))
        learned = agent.evaluate(chain(**MATRIX[case]), episodes=30, seed=0, max_steps=200)[
            "mean_return"
        ]
        assert learned > _random_return(chain(**MATRIX[case])) + 0.1, (
            f"{name} learned nothing on {case}"
        )
    # check-env builds the env from its entry point and prints the same verdict
    spec = MATRIX[case]
    if spec["limit"] is None:
        capsys.readouterr()
        check_env("tests.test_contract:Chain", {"obs": spec["obs"], "act": spec["act"]})
        row = next(
            line for line in capsys.readouterr().out.splitlines() if line.startswith(name + " ")
        )
        assert (" yes " in row) == (reason is None), row


# ------------------------------------------------------------ data learners


def _data(cls: type[Learner]) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    if cls.paradigm == "unsupervised":
        return X, None
    if "Classifier" in cls.__name__:
        return X, (X[:, 0] > 0).astype(int)
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1


def _fit_data(cls: type[Learner], X, y) -> Learner:
    learner = make(cls)
    params = set(cls._param_names())
    small = {
        k: v
        for k, v in {
            "epochs": 3,
            "max_iter": 20,
            "n_clusters": 2,
            "k": 2,
            "n_components": 2,
        }.items()
        if k in params
    }
    learner.set_params(**small) if hasattr(learner, "set_params") else learner.__dict__.update(
        small
    )
    return learner.fit(X) if y is None else learner.fit(X, y)


@pytest.mark.parametrize("name", DATA_LEARNERS)
def test_data_learner_fit_act_seed_save_load(name, tmp_path):
    cls = REGISTRY[name]
    X, y = _data(cls)
    with pytest.raises(NotFittedError):
        make(cls).act(X)
    learner = _fit_data(cls, X, y)
    assert learner.is_fitted
    out = np.asarray(learner.act(X))
    assert np.all(np.isfinite(out.astype(float)))
    np.testing.assert_array_equal(np.asarray(_fit_data(cls, X, y).act(X)), out)
    loaded = cls.load(learner.save(tmp_path / f"{name}.npz"))
    np.testing.assert_array_equal(np.asarray(loaded.act(X)), out)
    assert "learner" in cls.env_support(chain())  # check-env says why it cannot run on an env
