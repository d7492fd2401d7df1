#!/usr/bin/python3
"""sim_ref.py - a vectorized numpy implementation of the rlsched step model.

The baseline of `rlsched bench sim` (at 100 services for the simulator's
figure, at 1 service for the environment's), measured in the same run: the
same per-service step as env/sim.c
(s_serve plus the replica / cold-start bookkeeping of rls_sim_step) for the
same benchmark scenario that tools/cmd_bench.c builds, vectorized over
services with numpy. It prints one JSON object with its service-steps per
second. README.md (beside this file) lists exactly what both sides compute.

Run it only with /usr/bin/python3 (Debian's python3-numpy). Single-threaded:
the benchmark sets OPENBLAS_NUM_THREADS=1 etc.; numpy's elementwise kernels
used here are single-threaded anyway.

    /usr/bin/python3 tools/bench/sim_ref.py --services 100 --min-time 1 --repeat 3
    /usr/bin/python3 tools/bench/sim_ref.py --services 30 --steps 64 --no-noise --dump

--dump (for `rlsched bench sim --verify`) runs exactly --steps steps once and
adds the step totals and every service's final state to the JSON object.
"""
import argparse
import json
import math
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

try:
    import numpy as np
except ImportError:  # the C side reports a null baseline
    sys.stderr.write("sim_ref.py: numpy is not installed (apt-get install python3-numpy)\n")
    sys.exit(3)

RHO_MAX = 0.98          # queueing.c S_RHO_MAX
PATTERN = (0, 1, 0, -1)  # desired = base + PATTERN[((t + i) // 4) % 4] (cmd_bench.c s_desired)


# ------------------------------------------------------------------ scenario
# Must match s_bench_scenario / s_base / s_desired in tools/cmd_bench.c.
def scenario(n):
    i = np.arange(n, dtype=np.int64)
    sv = {}
    sv["capacity_rps"] = np.full(n, 50.0)
    sv["service_time_ms"] = np.array([20.0, 50.0, 100.0])[i % 3]
    sv["peak_rps"] = 60.0 + ((i * 37) % 101).astype(np.float64)   # RLS_LOAD_CONST rate
    sv["cold_start_s"] = np.full(n, 30.0)
    sv["min_replicas"] = np.full(n, 1, dtype=np.int64)
    sv["max_replicas"] = np.full(n, 8, dtype=np.int64)
    sv["slo_s"] = np.full(n, 250.0) / 1000.0
    sv["queue_limit"] = np.full(n, 1000.0)
    sv["base"] = np.ceil(sv["peak_rps"] / sv["capacity_rps"]).astype(np.int64)
    # rls_queueing_servers_per_replica: k = floor(cap * st / 1000 + 0.5), >= 1
    k = np.floor(sv["capacity_rps"] * sv["service_time_ms"] / 1000.0 + 0.5)
    sv["k"] = np.maximum(k, 1.0).astype(np.int64)
    sv["mu"] = sv["capacity_rps"] / sv["k"]
    return sv


class StepModel:
    """The service side of rls_sim_step, vectorized over n services."""

    def __init__(self, n, step_s=15.0, noise=True, seed=1):
        self.n = n
        self.dt = step_s
        self.noise = noise
        self.rng = np.random.default_rng(seed)
        self.sv = sv = scenario(n)
        self.idx = np.arange(n, dtype=np.int64)
        # the load: a series shared by all services (RLS_LOAD_CONST: one sample of 1.0),
        # a per-service scale and offset, indexed every step as rls_sim_rate_at does
        self.series = np.ones(1)
        self.scale = sv["peak_rps"].copy()
        self.offset = np.zeros(n, dtype=np.int64)
        self.start_steps = 0
        # cold start: a replica placed at step t is ready (and serves) at step t + j,
        # j = passes of sim.c's "timer <= 1e-9 ? ready : timer -= dt" until ready
        j = np.ceil(np.maximum(sv["cold_start_s"] - 1e-9, 0.0) / self.dt).astype(np.int64)
        self.cold_steps = j
        self.n_buckets = int(j.max()) + 1
        self.reset()

    def reset(self):
        n = self.n
        self.t = 0
        self.ready = self.sv["base"].copy()             # initial_replicas = base, ready at reset
        self.starting = np.zeros((n, self.n_buckets), dtype=np.int64)  # [n, steps to ready]
        self.prev_desired = self.sv["base"].copy()
        self.backlog = np.zeros(n)
        self.totals = dict.fromkeys(
            ("arrivals", "served", "dropped", "over_slo", "replica_seconds", "churn"), 0.0)

    def desired(self, t):
        return self.sv["base"] + np.asarray(PATTERN)[((t + self.idx) // 4) % 4]

    # ---------------------------------------------------------- replicas
    def act(self, desired):
        sv = self.sv
        d = np.clip(desired, sv["min_replicas"], sv["max_replicas"])
        change = d - self.prev_desired
        self.totals["churn"] += float(np.sum(np.abs(change) / sv["max_replicas"]))
        self.prev_desired = d
        n_reps = self.ready + self.starting.sum(axis=1)
        grow = np.maximum(d - n_reps, 0)
        self.starting[self.idx, self.cold_steps] += grow
        # shrink: the starting replica with the most cold start left first, then ready ones
        cut = np.maximum(n_reps - d, 0)
        for b in range(self.n_buckets - 1, -1, -1):
            take = np.minimum(cut, self.starting[:, b])
            self.starting[:, b] -= take
            cut -= take
        self.ready -= cut
        # cold-start progress (sim.c step 4)
        self.ready += self.starting[:, 0]
        self.starting[:, :-1] = self.starting[:, 1:]
        self.starting[:, -1] = 0

    # ---------------------------------------------------------- serving
    def poisson(self, mean):
        """Poisson(mean) like sim.c's s_poisson: two uniforms per service; the
        normal approximation (continuous, clipped at 0) above a mean of 30, an
        exact draw below. The normal deviate comes from Box-Muller here and
        from Acklam's quantile in C: same distribution, other numbers."""
        u1 = 1.0 - self.rng.random(self.n)      # (0, 1]
        u2 = self.rng.random(self.n)
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)
        x = np.maximum(mean + np.sqrt(np.maximum(mean, 0.0)) * z, 0.0)
        small = (mean <= 30.0)
        if small.any():
            x[small] = self.rng.poisson(np.maximum(mean[small], 0.0))
        return np.where(mean > 0.0, x, 0.0)

    @staticmethod
    def erlang_c(m, a):
        """queueing.c rls_queueing_erlang_c, vectorized over services (the
        Erlang B recurrence runs to the largest m, masked per service)."""
        b = np.ones_like(a)
        mf = m.astype(np.float64)
        top = int(m.max()) if m.size else 0
        for i in range(1, top + 1):
            ab = a * b
            b = np.where(i <= m, ab / (i + ab), b)
        with np.errstate(divide="ignore", invalid="ignore"):
            c = mf * b / (mf - a * (1.0 - b))
        c = np.clip(c, 0.0, 1.0)
        c = np.where((m <= 0) | (a >= mf), 1.0, c)
        return np.where(a > 0.0, c, 0.0)

    @staticmethod
    def ccdf_mmm(p_wait, theta, mu, u):
        """queueing.c s_ccdf_mmm: P(W + S > u) of the undelayed M/M/m part."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            e_mu = np.exp(-mu * u)
            same = np.abs(theta - mu) <= 1e-9 * mu
            h = np.where(same, (1.0 + mu * u) * e_mu,
                         (theta * e_mu - mu * np.exp(-theta * u)) / np.where(same, 1.0, theta - mu))
            p = np.where(p_wait <= 0.0, e_mu, (1.0 - p_wait) * e_mu + p_wait * h)
        return np.where(u <= 0.0, 1.0, p)

    @staticmethod
    def ccdf_delayed(a, w, mu, t):
        """queueing.c s_ccdf_delayed: P(U + S > t), U uniform on [a, a + w]."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            wz = np.where(w > 0.0, w, 1.0)
            point = np.exp(-mu * (t - a))
            inside = ((1.0 - np.exp(-mu * (t - a))) / mu + (a + w - t)) / wz
            after = (np.exp(-mu * (t - a - w)) - np.exp(-mu * (t - a))) / (mu * wz)
            p = np.where(w <= 1e-6, point, np.where(t < a + w, inside, after))
        return np.where(t <= a, 1.0, p)

    def ccdf(self, d, t_s):
        """queueing.c rls_queueing_ccdf: P(T > t_s) of the step's distribution."""
        p_wait, theta, mu = d["p_wait"], d["theta"], d["mu"]
        p_shift, shift, span = d["p_shift"], d["shift_s"], d["shift_span_s"]
        delayed = self.ccdf_delayed(shift, span, mu, t_s)
        plain = self.ccdf_mmm(p_wait, theta, mu, t_s)
        shifted = self.ccdf_mmm(p_wait, theta, mu, t_s - shift)
        p = np.where(p_shift >= 1.0, np.where(span > 0.0, delayed, shifted),
                     np.where(p_shift <= 0.0, plain,
                              p_shift * delayed + (1.0 - p_shift) * plain))
        return np.clip(p, 0.0, 1.0)

    def dist_step(self, lam_in, m, mu, b0, b1, drain, dt):
        """queueing.c rls_queueing_dist_step: M/M/m (rls_queueing_dist with no
        shift) plus the backlog delay of the step."""
        mu = np.where(mu > 0.0, mu, 1e-9)
        capq = m * mu
        lam = np.minimum(np.maximum(lam_in, 0.0), RHO_MAX * capq)
        p_wait = np.where(m > 0, self.erlang_c(m, lam / mu), 1.0)
        theta = np.where(m > 0, capq - lam, 1e-9)
        zero = np.zeros_like(b0)
        with np.errstate(divide="ignore", invalid="ignore"):
            dz = np.where(drain > 0.0, drain, 1.0)
            lo, hi = b0 / dz, b1 / dz
            span_b1 = np.where(np.abs(hi - lo) > 1e-7, np.abs(hi - lo), 1e-7)
            clear = np.where(drain > lam_in, b0 / np.where(drain > lam_in, drain - lam_in, 1.0), dt)
        some = (b0 > 0.0) | (b1 > 0.0)
        none_ready = some & ~(drain > 0.0)
        carried = some & (drain > 0.0) & (b1 > 0.0)
        cleared = some & (drain > 0.0) & ~(b1 > 0.0)
        p_shift = np.where(none_ready | carried, 1.0,
                           np.where(cleared, np.where(clear >= dt, 1.0, clear / dt), 0.0))
        shift = np.where(none_ready, dt, np.where(carried, np.minimum(lo, hi), zero))
        span = np.where(carried, span_b1, np.where(cleared, lo, zero))
        return {"p_wait": p_wait, "theta": theta, "mu": mu, "p_shift": p_shift,
                "shift_s": shift, "shift_span_s": span}

    def serve(self):
        sv, dt = self.sv, self.dt
        rate = self.series[(self.start_steps + self.offset + self.t) % self.series.size] * self.scale
        mean = rate * dt
        noisy = self.poisson(mean)
        arrivals = noisy if self.noise else mean
        ready = self.ready.astype(np.float64)
        cap = ready * sv["capacity_rps"] * dt
        b0 = self.backlog
        total = b0 + arrivals
        served = np.minimum(total, cap)
        rest = total - served
        dropped = np.where(rest > sv["queue_limit"], rest - sv["queue_limit"], 0.0)
        b1 = rest - dropped
        with np.errstate(divide="ignore", invalid="ignore"):
            util = np.where(cap > 0.0, served / cap, np.where(arrivals > 0.0, 1.0, 0.0))
        drain = ready * sv["capacity_rps"]
        d = self.dist_step(arrivals / dt, self.ready * sv["k"], sv["mu"], b0, b1, drain, dt)
        frac = np.where((served > 0.0) | (arrivals > 0.0), self.ccdf(d, sv["slo_s"]), 0.0)
        self.backlog = b1
        self.state = {
            "rate_rps": rate, "arrival_rps": arrivals / dt, "served_rps": served / dt,
            "dropped_rps": dropped / dt, "backlog": b1, "utilization": util,
            "frac_over_slo": frac, "p_wait": d["p_wait"], "theta": d["theta"],
            "p_shift": d["p_shift"], "shift_s": d["shift_s"], "shift_span_s": d["shift_span_s"],
        }
        tot = self.totals
        tot["arrivals"] += float(arrivals.sum())
        tot["served"] += float(served.sum())
        tot["dropped"] += float(dropped.sum())
        tot["over_slo"] += float((served * frac).sum())
        starting = self.starting.sum(axis=1)
        tot["replica_seconds"] += float(((self.ready + starting) * dt).sum())

    def step(self, desired):
        self.act(desired)
        self.serve()
        self.t += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--steps", type=int, default=0,
                    help="steps per measurement (0: as many as --min-time needs)")
    ap.add_argument("--min-time", type=float, default=1.0, help="seconds per measurement")
    ap.add_argument("--repeat", type=int, default=3, help="measurements; the best one is reported")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-noise", action="store_true", help="arrivals = rate * step_s")
    ap.add_argument("--dump", action="store_true",
                    help="run --steps steps once; add totals and final service states")
    a = ap.parse_args()
    if a.services < 1 or a.steps < 0 or a.repeat < 1 or (a.dump and a.steps < 1):
        sys.stderr.write("sim_ref.py: need --services >= 1, --repeat >= 1 (and --steps >= 1 with --dump)\n")
        return 2
    model = StepModel(a.services, noise=not a.no_noise, seed=a.seed)
    out = {"services": a.services, "numpy": np.__version__,
           "python": sys.version.split()[0]}
    if a.dump:
        model.reset()
        for t in range(a.steps):
            model.step(model.desired(t))
        out["steps"] = a.steps
        out["totals"] = model.totals
        final = {key: [float(x) for x in val] for key, val in model.state.items()}
        final["ready"] = [int(x) for x in model.ready]
        final["starting"] = [int(x) for x in model.starting.sum(axis=1)]
        out["final"] = final
        print(json.dumps(out, allow_nan=False))
        return 0
    # warm up (first-call overheads), then best of --repeat timed runs
    model.reset()
    for t in range(3):
        model.step(model.desired(t))
    best_rate, best_steps, best_s = 0.0, 0, 0.0
    for _ in range(a.repeat):
        model.reset()
        steps = 0
        t0 = time.perf_counter()
        while True:
            model.step(model.desired(model.t))
            steps += 1
            el = time.perf_counter() - t0
            if (a.steps and steps >= a.steps) or (not a.steps and el >= a.min_time):
                break
        rate = a.services * steps / el
        if rate > best_rate:
            best_rate, best_steps, best_s = rate, steps, el
    out.update({"steps": best_steps, "seconds": best_s, "service_steps_per_s": best_rate})
    print(json.dumps(out, allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
