import gymnasium as gym
import numpy as np
from gymnasium.utils.env_checker import check_env

import envs.continuous  # noqa: F401
from envs.continuous import ENV_ID, PointReach


def test_passes_gymnasium_checks_and_is_registered_with_a_time_limit():
    check_env(PointReach(), skip_render_check=True)
    env = gym.make(ENV_ID)
    assert env.spec.max_episode_steps == 50


def test_moving_straight_at_the_target_reaches_it():
    env = PointReach()
    obs, _ = env.reset(seed=3)
    for _ in range(50):
        offset = obs[2:]
        obs, reward, terminated, _, info = env.step(offset / max(np.linalg.norm(offset), 1e-9))
        assert reward <= 0
        if terminated:
            break
    assert terminated and info["is_success"]
