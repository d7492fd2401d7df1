"""Replay files (replay/FORMAT.md) as episodes with Minari's field names, read
with h5py: observations [T+1, S, F], actions [T, S], rewards [T],
terminations [T], truncations [T], infos {name: [T]}."""

import json
from collections import namedtuple

import numpy as np

from .spaces import Box, MultiDiscrete

EpisodeData = namedtuple("EpisodeData", ["id", "seed", "total_steps", "observations", "actions",
                                         "rewards", "terminations", "truncations", "infos",
                                         "service_rewards", "action_masks"])


def _text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _box(spec):
    low = np.asarray(spec["low"], dtype=np.float32)
    high = np.asarray(spec["high"], dtype=np.float32)
    return Box(low, high, dtype=np.float32)


class Replay:
    """An open replay file: len(), iteration and [i] give EpisodeData.

    Actions are the file's flat per-service index a = delta_index *
    n_placements + placement; unflatten_actions turns them into the env's
    (delta_index, placement) pairs."""

    def __init__(self, path):
        import h5py  # imported here: the env itself needs no h5py
        self.path = path
        self._f = h5py.File(path, "r")
        a = self._f.attrs
        if _text(a.get("format", "")) != "rlsched-replay":
            self._f.close()
            raise ValueError(f"{path}: not an rlsched replay file (attribute 'format')")
        self.n_services = int(a["n_services"])
        self.n_features = int(a["n_features"])
        self.n_deltas = int(a["n_deltas"])
        self.n_placements = int(a["n_placements"])
        self.deltas = np.asarray(a["deltas"], dtype=np.int32)
        self.feature_names = _text(a["feature_names"]).split(",")
        self.scenario_name = _text(a["scenario_name"])
        self.total_episodes = int(a["total_episodes"])
        self.total_steps = int(a["total_steps"])
        self.observation_space = _box(json.loads(_text(a["observation_space"])))
        act = json.loads(_text(a["action_space"]))
        self.action_space = MultiDiscrete(np.asarray(act["nvec"], dtype=np.int64))

    def __len__(self):
        return self.total_episodes

    def __getitem__(self, i):
        if not 0 <= i < self.total_episodes:
            raise IndexError(f"{self.path}: episode {i} not in [0, {self.total_episodes})")
        g = self._f[f"episode_{i}"]
        infos = {k: g["infos"][k][()] for k in g["infos"]} if "infos" in g else {}
        return EpisodeData(
            id=int(g.attrs["id"]), seed=int(g.attrs["seed"]),
            total_steps=int(g.attrs["total_steps"]),
            observations=g["observations"][()], actions=g["actions"][()],
            rewards=g["rewards"][()], terminations=g["terminations"][()].astype(bool),
            truncations=g["truncations"][()].astype(bool), infos=infos,
            service_rewards=g["service_rewards"][()],
            action_masks=g["action_masks"][()].astype(bool) if "action_masks" in g else None)

    def __iter__(self):
        for i in range(self.total_episodes):
            yield self[i]

    def unflatten_actions(self, actions):
        """Flat actions [..., S] -> the env's [..., S, 2] (delta index, placement)."""
        a = np.asarray(actions)
        return np.stack([a // self.n_placements, a % self.n_placements], axis=-1).astype(np.int64)

    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def load_replay(path):
    """Opens a replay file (h5py). Returns a Replay; raises ValueError/OSError naming the file."""
    return Replay(path)
