# relabel_ref.py - an independent (numpy) implementation of the hindsight teacher
# (replay/transform.h), used by tests/cli_replay_transform.sh to check the C one.
# Usage: /usr/bin/python3 relabel_ref.py FILE.h5 U H_EXTRA DOWN_WIN [slo:MARGIN]
# (relabels FILE in place). With slo:MARGIN the teacher's replicas for a peak load come from
# the SLO (docs/POLICIES.md, the oracle's demanded replicas: the fewest replicas whose M/M/m
# response time meets slo_ms at slo_percentile) at the peak rate + MARGIN Poisson sigmas,
# computed here from the formulas (Erlang C, hypoexponential response time), not from C.
# Hindsight relabelling of an rlsched replay file in place (tmp + rename).
import sys, os, shutil, math, h5py, yaml, numpy as np
path, U, HX, DW = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
SLO_MARGIN = float(sys.argv[5][4:]) if len(sys.argv) > 5 and sys.argv[5].startswith("slo:") else None


def erlang_c(m, a):
    if a <= 0: return 0.0
    if a >= m: return 1.0
    b = 1.0                                   # Erlang B by its recurrence
    for i in range(1, m + 1):
        b = a * b / (i + a * b)
    return min(max(m * b / (m - a * (1 - b)), 0.0), 1.0)


def ccdf(lam, m, mu, t):                      # P(response > t), M/M/m, FCFS
    lam = min(lam, 0.98 * m * mu)
    c, th = erlang_c(m, lam / mu), m * mu - lam
    e = math.exp(-mu * t)
    h = (1 + mu * t) * e if abs(th - mu) <= 1e-9 * mu else (th * e - mu * math.exp(-th * t)) / (th - mu)
    return (1 - c) * e + c * h


def demand(s, rate):                          # fewest replicas meeting the SLO at `rate`
    cap = float(s["capacity_rps"])
    if rate <= 0: return 0
    k = max(int(math.floor(cap * float(s["service_time_ms"]) / 1000 + 0.5)), 1)
    mu, q, slo = cap / k, 1 - float(s.get("slo_percentile", 0.95)), float(s["slo_ms"]) / 1000
    r = int(math.floor(rate / cap)) + 1
    while True:
        m = r * k
        if rate < 0.98 * m * mu and ccdf(rate, m, mu, slo) <= q: return r
        if rate < 0.9 * m * mu and erlang_c(m, min(rate, 0.98 * m * mu) / mu) < 1e-4: return r
        r += 1
tmp = path + ".relabel.tmp"
shutil.copyfile(path, tmp)
changed = total = nonzero = 0
with h5py.File(tmp, "r+") as f:
    y = f["scenario_yaml"][()]
    sc = yaml.safe_load(y.decode() if isinstance(y, bytes) else y)
    step = float(sc.get("step_s", 15))
    M = np.array([max(s["max_replicas"], 1) for s in sc["services"]], float)
    mn = np.array([s.get("min_replicas", 0) for s in sc["services"]], float)
    cs = np.array([math.ceil(s.get("cold_start_s", 0) / step) for s in sc["services"]], int)
    deltas = np.array(f.attrs["deltas"], int); P = int(f.attrs["n_placements"])
    names = f.attrs["feature_names"]; names = (names.decode() if isinstance(names, bytes) else names).split(",")
    iload, ides = names.index("load"), names.index("desired")
    order = np.argsort(deltas)
    for e in range(int(f.attrs["total_episodes"])):
        g = f[f"episode_{e}"]
        obs = g["observations"][...]; act = g["actions"][...]
        mask = g["action_masks"][...] if "action_masks" in g else None
        T, S = act.shape
        load = obs[:, :, iload] * M               # arrivals in replica units, [T+1, S]
        des = np.rint(obs[:, :, ides] * M)        # current desired replicas
        new = act.copy()
        for i in range(S):
            H = cs[i] + HX
            fut = np.full(T, 0.0)
            if SLO_MARGIN is None:
                need = lambda x: np.ceil(x / U)
            else:
                sv = sc["services"][i]
                need = lambda x: np.array([demand(sv, v * sv["capacity_rps"] + SLO_MARGIN *
                                                  math.sqrt(v * sv["capacity_rps"] / step)) for v in x], float)
            for k in range(1, max(H, DW) + 1):    # max over obs[t+1 .. t+k] (clipped at the end)
                fut = np.maximum(fut, load[np.minimum(np.arange(T) + k, T), i])
                if k == H: up = np.maximum(need(fut), mn[i])
                if k == DW: dn = np.maximum(need(fut), mn[i])
            d0 = des[:T, i]
            gap = np.where(d0 < up, up - d0, np.where(d0 > dn, dn - d0, 0))
            for t in range(T):
                allowed = [j for j in range(len(deltas))
                           if mask is None or mask[t, i, j * P + (P - 1)]]
                g_ = gap[t]
                if g_ > 0:
                    up = [j for j in allowed if deltas[j] >= g_]
                    j = min(up, key=lambda j: deltas[j]) if up else max(allowed, key=lambda j: deltas[j])
                elif g_ < 0:
                    down = [j for j in allowed if g_ <= deltas[j] <= 0]
                    j = min(down, key=lambda j: deltas[j])
                else:
                    j = int(np.where(deltas == 0)[0][0])
                new[t, i] = j * P + (P - 1)       # bin-pack, as the oracle
                nonzero += deltas[j] != 0
        changed += int((new != act).sum()); total += new.size
        g["actions"][...] = new
    b = f.attrs["behavior_policy"]
    f.attrs["behavior_policy"] = np.bytes_((b.decode() if isinstance(b, bytes) else b)
                                           + (f" relabelled U={U} H=cold+{HX} down={DW}" if SLO_MARGIN is None else
                                              f" relabelled teacher=slo margin={SLO_MARGIN:g} H=cold+{HX} down={DW}"))
os.replace(tmp, path)
print(f"relabel: {changed}/{total} actions changed, {100*nonzero/total:.1f}% non-zero deltas")
