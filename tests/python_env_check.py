"""python_env_check.py - checks python/rlsched against the rules of
Gymnasium's env checker (gymnasium/utils/env_checker.py check_env and
passive_env_checker.py), re-stated here because gymnasium is not installable:
spaces, reset signature and return types, reset-seed determinism and
np_random state, options, the passive reset/step checks (obs type, dtype and
membership, 5-tuple, bool flags, finite float reward, info dict), step
determinism; then masks, errors, the vector env (same numbers as single
envs, arrays shared with C, autoreset), scenario names and files, and replay
files read as Minari-named episodes.
usage: python_env_check.py RLSCHED TMPDIR (run by tests/cli_python.sh)"""

import inspect
import os
import subprocess
import sys

import numpy as np

import rlsched

BIN, TMP = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}")


def data_equivalence(a, b):
    """gymnasium.utils.env_checker.data_equivalence."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(data_equivalence(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(data_equivalence(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.allclose(a, b, atol=1e-5)
    return a == b


def check_obs(obs, space, method):
    """passive_env_checker.check_obs for a Box."""
    check(isinstance(obs, np.ndarray), f"{method}: obs is a numpy array ({type(obs)})")
    check(getattr(obs, "dtype", None) == space.dtype, f"{method}: obs dtype {space.dtype}")
    check(obs in space, f"{method}: obs in observation_space")


def check_step_result(env, result, method="step"):
    """passive_env_checker.env_step_passive_checker."""
    check(isinstance(result, tuple) and len(result) == 5, f"{method}: a 5-tuple")
    obs, reward, terminated, truncated, info = result
    check(isinstance(terminated, (bool, np.bool_)), f"{method}: terminated is a bool")
    check(isinstance(truncated, (bool, np.bool_)), f"{method}: truncated is a bool")
    check_obs(obs, env.observation_space, method)
    check(np.issubdtype(type(reward), np.integer) or np.issubdtype(type(reward), np.floating),
          f"{method}: reward is a float ({type(reward)})")
    check(np.isfinite(reward), f"{method}: reward finite")
    check(isinstance(info, dict), f"{method}: info is a dict")


def masked_action(env, mask, rng):
    """A uniform action among the allowed ones (mask in MaskablePPO's layout)."""
    nvec = env.action_space.nvec
    m = mask.reshape(nvec.shape[0], -1)
    out = np.zeros(nvec.shape, dtype=np.int64)
    for s in range(nvec.shape[0]):
        off = 0
        for j, n in enumerate(nvec[s]):
            allowed = np.flatnonzero(m[s, off:off + n])
            out[s, j] = allowed[rng.integers(allowed.size)]
            off += n
    return out


def rollout(env, seed, n, action_seed):
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    traj = [obs]
    for _ in range(n):
        a = masked_action(env, env.action_masks(), rng)
        obs, r, te, tr, _ = env.step(a)
        traj += [a, obs, r, te, tr]
        if te or tr:
            break
    return traj


# ---------------------------------------------------------------- Env
env = rlsched.make("default")
obs_space, act_space = env.observation_space, env.action_space

# spaces (check_space / _check_box_observation_space / check_space_limit)
S, F = obs_space.shape
check(obs_space.dtype == np.float32, "observation_space dtype float32")
check(obs_space.low.shape == obs_space.shape and obs_space.high.shape == obs_space.shape,
      "Box low/high have the space's shape")
check(bool(np.all(obs_space.low <= obs_space.high)), "Box low <= high")
check(not np.any(obs_space.low == obs_space.high), "Box low != high")
check(F == len(env.feature_names) == 25, f"25 named features ({F})")
check(act_space.shape == (S, 2), f"action_space shape ({S}, 2): {act_space.shape}")
check(bool(np.all(act_space.nvec[:, 0] == len(env.deltas))) and bool(np.all(act_space.nvec[:, 1] == 2)),
      "action nvec (n_deltas, 2) per service")
obs_space.seed(0)
act_space.seed(0)
for _ in range(50):
    check(obs_space.sample() in obs_space, "observation_space.sample() in space")
    check(act_space.contains(act_space.sample()), "action_space.sample() in space")
check(not act_space.contains(np.zeros((S, 3), dtype=np.int64)), "contains: wrong shape refused")
check(not act_space.contains(act_space.nvec.copy()), "contains: nvec itself is out of range")
check(not act_space.contains(np.zeros((S, 2), dtype=np.float32)), "contains: floats refused")
check(not obs_space.contains(np.full((S, F), np.nan, dtype=np.float32)), "contains: NaN refused")
check(not obs_space.contains(np.zeros((S + 1, F), dtype=np.float32)), "contains: wrong shape refused")
a, b = act_space.sample(), act_space.sample()
act_space.seed(7)
x = act_space.sample()
act_space.seed(7)
check(np.array_equal(x, act_space.sample()), "space.seed(7): same samples")

# metadata and attributes
check(isinstance(env.metadata, dict) and env.metadata.get("render_modes") == [], "metadata render_modes")
check(env.render_mode is None and env.unwrapped is env, "render_mode None, unwrapped is env")
check(not callable(getattr(env, "seed", None)), "no deprecated seed()")

# reset signature (check_reset_seed / check_reset_options / passive)
sig = inspect.signature(env.reset)
check("seed" in sig.parameters and sig.parameters["seed"].default is None, "reset(seed=None)")
check("options" in sig.parameters and sig.parameters["options"].default is None, "reset(options=None)")
check("return_info" not in sig.parameters, "no return_info")

# check_reset_return_type
res = env.reset()
check(isinstance(res, tuple) and len(res) == 2, "reset() returns (obs, info)")
check_obs(res[0], obs_space, "reset")
check(isinstance(res[1], dict), "reset info is a dict")

# check_reset_seed
o1, _ = env.reset(seed=123)
check(env.unwrapped._np_random is not None, "np_random made by reset(seed)")
st = env.unwrapped._np_random.bit_generator.state
o2, _ = env.reset(seed=123)
check(data_equivalence(o1, o2), "reset(seed=123) twice: same obs")
check(env.unwrapped._np_random.bit_generator.state == st, "reset(seed=123) twice: same rng state")
o3, _ = env.reset(seed=456)
check(o3 in obs_space, "reset(seed=456) obs in space")
check(env.unwrapped._np_random.bit_generator.state != st, "reset(seed=456): other rng state")
env.reset(options={})

# passive step check with a sampled action, and step determinism
env.reset(seed=123)
act_space.seed(123)
r1 = env.step(act_space.sample())
check_step_result(env, r1)
env.reset(seed=123)
act_space.seed(123)
r2 = env.step(act_space.sample())
check(data_equivalence(r1, r2), "same seed and action: same step result")

# whole trajectories: same seed and actions, same trajectory; another seed differs
t1 = rollout(env, 11, 300, 5)
t2 = rollout(env, 11, 300, 5)
check(len(t1) == len(t2) and all(data_equivalence(x, y) for x, y in zip(t1, t2)),
      "same seed and actions: same 300-step trajectory")
t3 = rollout(env, 12, 300, 5)
check(not all(data_equivalence(x, y) for x, y in zip(t1, t3)), "another seed: another trajectory")
check(len(set(float(x) for x in t1[3::5])) > 1, "rewards vary along an episode")
check(all(o in obs_space for o in [t1[0]] + t1[2::5]), "every obs of a trajectory in observation_space")
# reset(seed=None) after a seeded reset continues the seeded generator
env.reset(seed=5)
n1 = env.reset()[0]
env.reset(seed=5)
check(data_equivalence(n1, env.reset()[0]), "reset() after reset(seed=5): reproducible")

# masks (MaskablePPO): flat bool of sum(nvec), delta 0 and placements always allowed
env.reset(seed=3)
m = env.action_masks()
W = int(act_space.nvec[0].sum())
check(isinstance(m, np.ndarray) and m.dtype == np.bool_ and m.shape == (S * W,),
      f"action_masks() bool [{S * W}]")
zero = list(env.deltas).index(0)
mm = m.reshape(S, W)
check(bool(mm[:, zero].all()) and bool(mm[:, -2:].all()), "delta 0 and placements always allowed")
rng = np.random.default_rng(0)
seen_masked = False
for t in range(200):
    m = env.action_masks()
    seen_masked |= not m.all()
    _, _, te, tr, _ = env.step(masked_action(env, m, rng))
    if te or tr:
        env.reset()
check(seen_masked, "some delta is masked out somewhere in 200 steps")
# masks say what the clamp does: from a state where delta d is masked because of
# the replica bounds, stepping d changes nothing more than stepping 0 would
env.reset(seed=3)
m = env.action_masks().reshape(S, W)
check(not m[:, :len(env.deltas)].all(), "at reset some delta is masked (at min replicas)")

# errors: out-of-range action, step after the episode ended
env.reset(seed=1)
bad_action = np.zeros((S, 2), dtype=np.int64)
bad_action[0, 0] = len(env.deltas)
try:
    env.step(bad_action)
    check(False, "out-of-range action raises")
except ValueError as e:
    check("service" in str(e), f"out-of-range action message names the service: {e}")
env.reset(seed=1)
noop = np.tile([zero, 0], (S, 1))
steps, done = 0, False
while not done:
    _, _, te, tr, _ = env.step(noop)
    steps += 1
    done = te or tr
check(te or steps == env.horizon, f"episode ends by termination or at the horizon ({steps}, {env.horizon})")
try:
    env.step(noop)
    check(False, "step after the end raises")
except RuntimeError as e:
    check("reset" in str(e), f"step after the end says reset: {e}")
env.close()
env.close()
try:
    env.step(noop)
    check(False, "step after close raises")
except RuntimeError:
    pass

# ---------------------------------------------------------------- scenarios
yaml_path = os.path.join(TMP, "default.yaml")
with open(yaml_path, "w") as f:
    subprocess.run([BIN, "scenario", "show", "default"], stdout=f, check=True)
e1, e2 = rlsched.make("default"), rlsched.make(yaml_path)
check(data_equivalence(rollout(e1, 9, 50, 1), rollout(e2, 9, 50, 1)),
      "make(default) and make(its YAML file): same trajectory")
e3 = rlsched.make("random:7")
check(e3.observation_space.shape[1] == F and e3.reset(seed=1)[0] in e3.observation_space,
      "make('random:7') works")
for bad in [os.path.join(TMP, "missing.yaml"), "random:x", ""]:
    try:
        rlsched.make(bad)
        check(False, f"make({bad!r}) raises")
    except ValueError as e:
        check(len(str(e)) > 10 and "\n" not in str(e), f"make({bad!r}): one-line message: {e}")
for e in (e1, e2, e3):
    e.close()

# ---------------------------------------------------------------- VectorEnv
N = 4
venv = rlsched.make_vec("default", num_envs=N)
singles = [rlsched.make("default") for _ in range(N)]
vo, vinfo = venv.reset(seed=20)
check(vo.shape == (N, S, F) and vo.dtype == np.float32 and isinstance(vinfo, dict), "vector reset shapes")
for i, e in enumerate(singles):
    check(data_equivalence(e.reset(seed=20 + i)[0], vo[i].copy()), f"vector env {i} = single env seed {20 + i}")
check(venv.observation_space.shape == (N, S, F) and venv.action_space.shape == (N, S, 2), "batched spaces")
check(venv.action_space.sample() in venv.action_space, "batched action sample in space")
rng = np.random.default_rng(1)
vm = venv.action_masks()
check(vm.shape == (N, S * W) and vm.dtype == np.bool_, "vector masks [N, S*W] bool")
for i, e in enumerate(singles):
    check(np.array_equal(vm[i], e.action_masks()), f"vector masks of env {i} = single env's")
same = True
first = None
for t in range(100):
    acts = np.stack([masked_action(singles[0], venv.action_masks()[i], rng) for i in range(N)])
    o, r, te, tr, info = venv.step(acts)
    if first is None:
        first = (o, r, te, tr)
        check(r.dtype == np.float64 and te.dtype == np.bool_ and tr.dtype == np.bool_, "vector dtypes")
    else:
        check(all(x is y for x, y in zip(first, (o, r, te, tr))), "vector step returns the same arrays (no copy)")
    for i, e in enumerate(singles):
        so, sr, ste, stt, _ = e.step(acts[i])
        same &= np.array_equal(so, o[i]) and sr == r[i] and ste == te[i] and stt == tr[i]
check(same, "vector env steps = single env steps, 100 steps x 4 envs")
check(np.shares_memory(o, venv._core.obs), "vector obs is the array C writes")
cv = rlsched.make_vec("default", num_envs=2, copy=True)
co, _ = cv.reset(seed=1)
co2 = cv.step(np.zeros((2, S, 2), dtype=np.int64))[0]
check(co is not co2 and not np.shares_memory(co, co2), "copy=True returns copies")
cv.close()
# autoreset at the horizon: same-step, final_obs kept, the next episode's seed
venv.reset(seed=40)
noops = np.tile(noop, (N, 1, 1))
ended = None
for t in range(int(singles[0].horizon) + 1):
    o, r, te, tr, info = venv.step(noops)
    if (te | tr).any():
        ended = info
        break
check(ended is not None and "final_obs" in ended and "_final_obs" in ended, "autoreset: infos final_obs")
if ended is not None:
    i = int(np.flatnonzero(ended["_final_obs"])[0])
    check(ended["final_obs"][i] in venv.single_observation_space, "final obs in space")
    check(data_equivalence(singles[0].reset(seed=40 + i + N)[0], o[i].copy()),
          "autoreset env i starts episode seed + i + num_envs")
    o, r, te, tr, info = venv.step(noops)
    check("final_obs" not in info or not info["_final_obs"][i], "the step after an autoreset is a normal one")
venv.close()
for e in singles:
    e.close()

# ---------------------------------------------------------------- replay files
h5 = os.path.join(TMP, "r.h5")
subprocess.run([BIN, "record", "--scenario", "default", "--policy", "hpa", "--episodes", "2",
                "--steps", "30", "--seed", "5", "--out", h5], check=True,
               stderr=subprocess.DEVNULL)
with rlsched.load_replay(h5) as rep:
    check(len(rep) == 2, "replay: 2 episodes")
    env = rlsched.make("default")
    for ep in rep:
        T = ep.total_steps
        check(T == 30, "replay: 30 steps")
        check(ep.observations.shape == (T + 1, S, F) and ep.actions.shape == (T, S)
              and ep.rewards.shape == (T,) and ep.terminations.shape == (T,)
              and ep.truncations.shape == (T,), "replay: Minari field shapes")
        check(ep.terminations.dtype == np.bool_, "replay: terminations bool")
        check(all(o in rep.observation_space for o in ep.observations), "replay: obs in its space")
        check(rep.observation_space == env.observation_space, "replay: same observation space as the env")
        ua = rep.unflatten_actions(ep.actions)
        check(all(a in env.action_space for a in ua), "replay: unflattened actions in the env's space")
        obs, _ = env.reset(seed=ep.seed)
        check(np.allclose(obs, ep.observations[0], atol=1e-5), "replay: obs[0] = env.reset(seed) obs")
    env.close()
try:
    rlsched.load_replay(yaml_path)
    check(False, "load_replay of a non-HDF5 file raises")
except (OSError, ValueError):
    pass

print(f"python_env_check: {len(failures)} failures")
sys.exit(1 if failures else 0)
