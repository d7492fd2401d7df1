"""replay_h5py_check.py - opens an rlsched replay file with h5py (the Python
offline-RL world's reader) and checks its layout against replay/FORMAT.md and
values given on the command line.

usage: /usr/bin/python3 replay_h5py_check.py FILE KEY=VALUE...
  episodes=N  S=N  F=N  A=N  T=t0,t1,...  masks=0|1
  episode_1/observations/2/1/3=VALUE   (any dataset path, then indices)
Exit 0 when every check passes, 1 on a failed check (printed), 77 when h5py
is missing (the calling test skips).
"""
import json
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    print("h5py or numpy missing")
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def as_str(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    path = sys.argv[1]
    kv = dict(a.split("=", 1) for a in sys.argv[2:])
    with h5py.File(path, "r") as f:
        if as_str(f.attrs["format"]) != "rlsched-replay":
            fail("format attr is %r" % f.attrs["format"])
        if int(f.attrs["format_version"]) != 1:
            fail("format_version %r" % f.attrs["format_version"])
        n_ep = int(f.attrs["total_episodes"])
        S, F, A = int(f.attrs["n_services"]), int(f.attrs["n_features"]), int(f.attrs["n_actions"])
        if "episodes" in kv and n_ep != int(kv["episodes"]):
            fail("total_episodes %d, expected %s" % (n_ep, kv["episodes"]))
        for key, have in (("S", S), ("F", F), ("A", A)):
            if key in kv and have != int(kv[key]):
                fail("%s is %d, expected %s" % (key, have, kv[key]))
        obs_space = json.loads(as_str(f.attrs["observation_space"]))
        act_space = json.loads(as_str(f.attrs["action_space"]))
        if obs_space["type"] != "Box" or obs_space["shape"] != [S, F]:
            fail("observation_space %r" % obs_space)
        if act_space["type"] != "MultiDiscrete" or act_space["nvec"] != [A] * S:
            fail("action_space %r" % act_space)
        names = as_str(f.attrs["feature_names"]).split(",")
        if len(names) != F:
            fail("%d feature names for F=%d" % (len(names), F))
        for name in ("obs_mean", "obs_std"):
            if f[name].shape != (F,) or f[name].dtype != np.float32:
                fail("%s shape %r dtype %r" % (name, f[name].shape, f[name].dtype))
        if not np.all(f["obs_std"][()] > 0):
            fail("obs_std has a value <= 0")
        lengths = [int(t) for t in kv["T"].split(",")] if "T" in kv else None
        total = 0
        for i in range(n_ep):
            g = f["episode_%d" % i]
            T = int(g.attrs["total_steps"])
            total += T
            if lengths is not None and T != lengths[i]:
                fail("episode_%d total_steps %d, expected %d" % (i, T, lengths[i]))
            want = {
                "observations": ((T + 1, S, F), np.float32),
                "actions": ((T, S), np.int32),
                "rewards": ((T,), np.float32),
                "service_rewards": ((T, S), np.float32),
                "terminations": ((T,), np.uint8),
                "truncations": ((T,), np.uint8),
            }
            if kv.get("masks", "1") == "1":
                want["action_masks"] = ((T + 1, S, A), np.uint8)
            for name, (shape, dtype) in want.items():
                d = g[name]
                if d.shape != shape or d.dtype != dtype:
                    fail("episode_%d/%s shape %r dtype %r, expected %r %r" % (i, name, d.shape, d.dtype, shape, dtype))
                if d.compression != "gzip" or not d.shuffle or d.chunks is None:
                    fail("episode_%d/%s is not chunked+shuffled+gzip" % (i, name))
            if not np.all(np.isfinite(g["observations"][()])):
                fail("episode_%d/observations not finite" % i)
            acts = g["actions"][()]
            if acts.min() < 0 or acts.max() >= A:
                fail("episode_%d/actions out of range" % i)
            if kv.get("masks", "1") == "1":
                m = g["action_masks"][()]
                if set(np.unique(m)) - {0, 1}:
                    fail("episode_%d/action_masks not 0/1" % i)
        if int(f.attrs["total_steps"]) != total:
            fail("total_steps %d, episodes sum to %d" % (int(f.attrs["total_steps"]), total))
        for key, value in kv.items():
            if "/" not in key:
                continue
            parts = key.split("/")
            idx = tuple(int(p) for p in parts[2:])
            ds = "/".join(parts[:2])
            have = float(f[ds][idx])
            want = float(value)
            if abs(have - want) > 1e-6 * max(1.0, abs(want)):
                fail("%s%r is %r, expected %r" % (ds, idx, have, want))
    print("ok: %s (%d episodes, %d steps)" % (path, n_ep, total))


if __name__ == "__main__":
    main()
