"""Env and VectorEnv: the C environment (env/env.h) through env/env_flat.h,
with Gymnasium's API. Observations, actions, rewards, flags and masks live in
numpy arrays that C reads and writes in place."""

import ctypes

import numpy as np

from . import _lib
from .spaces import Box, MultiDiscrete

_SEED_LIMIT = 2 ** 63 - 1


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


class _Core:
    """One rls_flat handle and the numpy buffers bound to it."""

    def __init__(self, scenario, n_envs, autoreset):
        lib = _lib.load()
        if not isinstance(scenario, str) or not scenario:
            raise ValueError("rlsched: the scenario must be a non-empty string "
                             "('default', 'random:SEED' or a YAML file)")
        err = ctypes.create_string_buffer(1024)
        h = lib.rls_flat_new(scenario.encode(), int(n_envs), 1 if autoreset else 0, err, len(err))
        if not h:
            raise ValueError(f"rlsched: {err.value.decode(errors='replace')}")
        self.lib = lib
        self.handle = ctypes.c_void_p(h)
        self.n_envs = lib.rls_flat_n_envs(h)
        self.n_services = lib.rls_flat_n_services(h)
        self.n_features = lib.rls_flat_n_features(h)
        self.n_deltas = lib.rls_flat_n_deltas(h)
        self.mask_width = lib.rls_flat_mask_width(h)
        self.action_dims = lib.rls_flat_action_dims(h)
        self.horizon = lib.rls_flat_horizon(h)
        self.scenario_name = lib.rls_flat_scenario_name(h).decode()
        self.feature_names = lib.rls_flat_feature_names(h).decode().split(",")
        self.deltas = np.zeros(self.n_deltas, dtype=np.int32)
        lib.rls_flat_deltas(h, _ptr(self.deltas, ctypes.c_int32))
        shape = (self.n_services, self.n_features)
        self.obs_low = np.zeros(shape, dtype=np.float32)
        self.obs_high = np.zeros(shape, dtype=np.float32)
        lib.rls_flat_obs_bounds(h, _ptr(self.obs_low, ctypes.c_float),
                                _ptr(self.obs_high, ctypes.c_float))
        n, s = self.n_envs, self.n_services
        self.obs = np.zeros((n, s, self.n_features), dtype=np.float32)
        self.actions = np.zeros((n, s, self.action_dims), dtype=np.int32)
        self.rewards = np.zeros(n, dtype=np.float64)
        self.terminated = np.zeros(n, dtype=np.uint8)
        self.truncated = np.zeros(n, dtype=np.uint8)
        self.masks = np.zeros((n, s, self.mask_width), dtype=np.uint8)
        self._check(lib.rls_flat_bind(self.handle, _ptr(self.obs, ctypes.c_float),
                                      _ptr(self.actions, ctypes.c_int32),
                                      _ptr(self.rewards, ctypes.c_double),
                                      _ptr(self.terminated, ctypes.c_uint8),
                                      _ptr(self.truncated, ctypes.c_uint8),
                                      _ptr(self.masks, ctypes.c_uint8)))
        # the per-step call, with its argument converted once
        self.step = lambda fn=lib.rls_flat_step, h=self.handle: fn(h)

    def _check(self, rc):
        if rc != 0:
            msg = self.lib.rls_flat_errmsg(self.handle).decode(errors="replace")
            raise (ValueError if rc == -5 else RuntimeError)(f"rlsched: {msg}")

    def reset(self, i, seed):
        self._check(self.lib.rls_flat_reset(self.handle, int(i), int(seed)))

    def fill_masks(self):
        self._check(self.lib.rls_flat_masks(self.handle))

    def final_obs(self, i):
        out = np.empty((self.n_services, self.n_features), dtype=np.float32)
        if self.lib.rls_flat_final_obs(self.handle, int(i), _ptr(out, ctypes.c_float)):
            return out
        return None

    def run(self, n_steps):
        self._check(self.lib.rls_flat_run(self.handle, int(n_steps)))

    def close(self):
        if self.handle:
            self.lib.rls_flat_destroy(ctypes.byref(self.handle))
            self.handle = None


class Env:
    """One environment, Gymnasium's Env API exactly.

    observation_space: Box float32 (n_services, n_features); action_space:
    MultiDiscrete (n_services, 2) with nvec (n_deltas, 2) per service (the
    delta index, then the placement 0 spread / 1 binpack). action_masks()
    gives MaskablePPO's flat boolean mask of sum(nvec) entries. Stepping past
    the end of an episode without reset raises RuntimeError; an action outside
    the action space raises ValueError.
    """

    metadata = {"render_modes": []}
    render_mode = None
    spec = None
    reward_range = (-float("inf"), float("inf"))

    def __init__(self, scenario="default", render_mode=None):
        if render_mode is not None:
            raise ValueError(f"rlsched: render_mode {render_mode!r} not supported (None only)")
        self._core = _Core(scenario, 1, autoreset=False)
        c = self._core
        self.scenario = scenario
        self.scenario_name = c.scenario_name
        self.feature_names = c.feature_names
        self.deltas = c.deltas
        self.horizon = c.horizon
        self.observation_space = Box(c.obs_low, c.obs_high, dtype=np.float32)
        nvec = np.tile(np.array([c.n_deltas, c.mask_width - c.n_deltas], dtype=np.int64),
                       (c.n_services, 1))
        self.action_space = MultiDiscrete(nvec)
        self._obs = c.obs[0]
        self._act = c.actions[0]
        self._mask = c.masks[0].reshape(-1).view(np.bool_)
        self._np_random = None
        self._np_random_seed = None
        self._step = c.step

    # -- Gymnasium's Env -------------------------------------------------
    @property
    def unwrapped(self):
        return self

    @property
    def np_random(self):
        if self._np_random is None:
            self._seed_rng(None)
        return self._np_random

    @np_random.setter
    def np_random(self, value):
        self._np_random = value

    @property
    def np_random_seed(self):
        return self._np_random_seed

    def _seed_rng(self, seed):
        ss = np.random.SeedSequence(seed)
        self._np_random = np.random.Generator(np.random.PCG64(ss))
        self._np_random_seed = seed if seed is not None else int(ss.entropy)

    def reset(self, seed=None, options=None):
        """Starts an episode: seed given, the C episode seed is `seed` (same
        seed, same episode) and np_random is reseeded; None, the next seed
        is drawn from np_random. options is accepted and unused. Returns
        (obs copy, {"seed": episode seed})."""
        if seed is not None:
            if int(seed) < 0:
                raise ValueError(f"rlsched: seed {seed} must be >= 0")
            self._seed_rng(int(seed))
            ep_seed = int(seed)
        else:
            ep_seed = int(self.np_random.integers(0, _SEED_LIMIT))
        self._core.reset(0, ep_seed)
        return self._obs.copy(), {"seed": ep_seed}

    def step(self, action):
        """One control step. Returns (obs copy, reward float, terminated bool,
        truncated bool, info dict)."""
        self._act[...] = action
        rc = self._step()
        if rc:
            self._core._check(rc)
        c = self._core
        return (self._obs.copy(), float(c.rewards[0]), bool(c.terminated[0]),
                bool(c.truncated[0]), {})

    def action_masks(self):
        """MaskablePPO's mask: bool [n_services * (n_deltas + 2)], per service
        the allowed delta indices then the placements."""
        self._core.fill_masks()
        return self._mask.copy()

    def render(self):
        return None

    def close(self):
        """Frees the C environment; calling it again is a no-op."""
        core = getattr(self, "_core", None)
        if core is not None:
            core.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        self.close()

    def __repr__(self):
        return f"<rlsched.Env scenario={self.scenario_name!r} services={self._core.n_services}>"


class VectorEnv:
    """num_envs environments stepped in one C call, Gymnasium's VectorEnv API
    with same-step autoreset (metadata["autoreset_mode"] = "SameStep"): an env
    whose episode ends is reset inside that step, its obs row is the new
    episode's first and infos["final_obs"][i] (with infos["_final_obs"][i]
    True) the finished one's last. Seeds: reset(seed=s) gives env i seed s + i
    and its k-th autoreset s + i + k * num_envs.

    The returned obs, rewards, terminations and truncations are the arrays C
    writes in place (no copy per step): the next step overwrites them; pass
    copy=True to get copies instead.
    """

    metadata = {"render_modes": [], "autoreset_mode": "SameStep"}
    render_mode = None
    spec = None

    def __init__(self, scenario="default", num_envs=1, copy=False):
        self._core = _Core(scenario, num_envs, autoreset=True)
        c = self._core
        self.num_envs = c.n_envs
        self.copy = bool(copy)
        self.scenario_name = c.scenario_name
        self.feature_names = c.feature_names
        self.deltas = c.deltas
        self.single_observation_space = Box(c.obs_low, c.obs_high, dtype=np.float32)
        nvec = np.tile(np.array([c.n_deltas, c.mask_width - c.n_deltas], dtype=np.int64),
                       (c.n_services, 1))
        self.single_action_space = MultiDiscrete(nvec)
        n = self.num_envs
        self.observation_space = Box(np.broadcast_to(c.obs_low, (n,) + c.obs_low.shape),
                                     np.broadcast_to(c.obs_high, (n,) + c.obs_high.shape),
                                     dtype=np.float32)
        self.action_space = MultiDiscrete(np.broadcast_to(nvec, (n,) + nvec.shape))
        self._term = c.terminated.view(np.bool_)
        self._trunc = c.truncated.view(np.bool_)
        self._masks = c.masks.reshape(n, -1).view(np.bool_)
        self._np_random = None
        self._step = c.step
        self._started = False

    @property
    def unwrapped(self):
        return self

    @property
    def np_random(self):
        if self._np_random is None:
            self._np_random = np.random.default_rng()
        return self._np_random

    def _out(self, a):
        return a.copy() if self.copy else a

    def reset(self, seed=None, options=None):
        """Resets every env (env i with seed + i; None: a base seed drawn from
        np_random). Returns (obs [num_envs, n_services, n_features], infos)."""
        if seed is not None:
            if int(seed) < 0:
                raise ValueError(f"rlsched: seed {seed} must be >= 0")
            self._np_random = np.random.default_rng(int(seed))
            base = int(seed)
        else:
            base = int(self.np_random.integers(0, _SEED_LIMIT - self.num_envs))
        self._core.reset(-1, base)
        self._started = True
        return self._out(self._core.obs), {}

    def step(self, actions):
        """Steps every env with actions [num_envs, n_services, 2]. Returns
        (obs, rewards float64 [n], terminations bool [n], truncations bool
        [n], infos)."""
        c = self._core
        c.actions[...] = actions
        rc = self._step()
        if rc:
            c._check(rc)
        infos = {}
        if self._term.any() or self._trunc.any():
            done = self._term | self._trunc
            final = np.empty(self.num_envs, dtype=object)
            for i in np.flatnonzero(done):
                final[i] = c.final_obs(i)
            infos["final_obs"] = final
            infos["_final_obs"] = done
        return (self._out(c.obs), self._out(c.rewards), self._out(self._term),
                self._out(self._trunc), infos)

    def action_masks(self):
        """The masks of every env, bool [num_envs, n_services * (n_deltas + 2)]
        (the array C fills; the next call overwrites it)."""
        self._core.fill_masks()
        return self._masks

    def close(self):
        """Frees the C environments; calling it again is a no-op."""
        core = getattr(self, "_core", None)
        if core is not None:
            core.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        self.close()
