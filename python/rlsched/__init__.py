"""rlsched: the C cluster-autoscaling environment from Python (ctypes +
numpy), with Gymnasium's API.

    import rlsched
    env = rlsched.make("default")          # or "random:7", or a scenario YAML path
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    venv = rlsched.make_vec("default", num_envs=64)   # stepped in one C call

librlsched.so is found at $RLSCHED_LIB or in the repository's build folders.
"""

from .env import Env, VectorEnv
from .replay import EpisodeData, Replay, load_replay
from .spaces import Box, MultiDiscrete
from ._lib import library_path

__version__ = "0.1.0"
__all__ = ["make", "make_vec", "Env", "VectorEnv", "Box", "MultiDiscrete", "load_replay",
           "Replay", "EpisodeData", "library_path"]


def make(name="default", render_mode=None):
    """One environment on scenario `name`: "default", "random:SEED",
    "NAME:load-seed=N" or a scenario YAML file (docs/SCENARIO.md)."""
    return Env(name, render_mode=render_mode)


def make_vec(name="default", num_envs=1, copy=False):
    """num_envs environments on scenario `name`, stepped together in C with
    same-step autoreset (VectorEnv)."""
    return VectorEnv(name, num_envs=num_envs, copy=copy)
