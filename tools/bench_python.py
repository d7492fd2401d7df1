#!/usr/bin/python3
"""bench_python.py - environment steps/s through the Python package
(python/rlsched/) against the same C environments stepped by C alone
(rls_flat_run, env/env_flat.h) in the same run: one env with one service,
and a vector env of 64 such envs. Prints one JSON object a line with the
keys of `rlsched bench` ({"name","value","unit","baseline_name",
"baseline_value","ratio"}), or a table without --json.

usage: bench_python.py [--json] [--quick] [--lib PATH/librlsched.so]
(`rlsched bench python [--json] [--quick]` runs it.)"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

SCENARIO = "random:1:services=1"   # one service (docs/SCENARIO.md)


def best_rate(fn, steps_per_call, min_time, repeats):
    """Best of `repeats` runs of fn() repeated for >= min_time s: steps/s."""
    best = 0.0
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += steps_per_call
            el = time.perf_counter() - t0
            if el >= min_time:
                break
        best = max(best, n / el)
    return best


def bench_single(rlsched, min_time, repeats):
    env = rlsched.make(SCENARIO)
    noop = env.action_space.sample() * 0
    noop[:, 0] = list(env.deltas).index(0)
    env.reset(seed=1)
    batch = 1000

    def py():
        step = env.step
        for _ in range(batch):
            _, _, te, tr, _ = step(noop)
            if te or tr:
                env.reset()

    env._act[...] = noop
    py_rate = best_rate(py, batch, min_time, repeats)
    env.reset(seed=1)
    env._act[...] = noop
    c_rate = best_rate(lambda: env._core.run(batch * 20), batch * 20, min_time, repeats)
    env.close()
    return py_rate, c_rate


def bench_vector(rlsched, n_envs, min_time, repeats):
    venv = rlsched.make_vec(SCENARIO, num_envs=n_envs)
    noop = venv.action_space.sample() * 0
    noop[:, :, 0] = list(venv.deltas).index(0)
    venv.reset(seed=1)
    batch = 100

    def py():
        step = venv.step
        for _ in range(batch):
            step(noop)

    py_rate = best_rate(py, batch * n_envs, min_time, repeats)
    venv.reset(seed=1)
    venv._core.actions[...] = noop
    c_rate = best_rate(lambda: venv._core.run(batch), batch * n_envs, min_time, repeats)
    venv.close()
    return py_rate, c_rate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--lib", help="librlsched.so (default: $RLSCHED_LIB or the build folders)")
    args = ap.parse_args()
    if args.lib:
        os.environ["RLSCHED_LIB"] = args.lib
    try:
        import numpy  # noqa: F401
        import rlsched
        rlsched._lib.load()
    except (ImportError, OSError) as e:
        print(f"bench_python: {e}", file=sys.stderr)
        return 1
    min_time, repeats = (0.3, 2) if args.quick else (1.0, 3)
    rows = []
    py1, c1 = bench_single(rlsched, min_time, repeats)
    rows.append(("python_env_steps_per_s_1", py1, "steps/s", "c_env_steps_per_s_1", c1))
    py64, c64 = bench_vector(rlsched, 64, min_time, repeats)
    rows.append(("python_vec_env_steps_per_s_64", py64, "env-steps/s", "c_vec_env_steps_per_s_64", c64))
    if args.json:
        import json
        for name, v, unit, bname, b in rows:
            print(json.dumps({"name": name, "value": round(v, 1), "unit": unit, "baseline_name": bname,
                              "baseline_value": round(b, 1), "ratio": round(v / b, 4)}))
    else:
        print(f"{'name':32} {'value':>12} {'unit':12} {'baseline_name':28} {'baseline':>12} {'ratio':>7}")
        for name, v, unit, bname, b in rows:
            print(f"{name:32} {v:12.0f} {unit:12} {bname:28} {b:12.0f} {v / b:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
