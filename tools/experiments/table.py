#!/usr/bin/python3
"""Score card of the learned policies on one split (learn.sh stage `table`).

    table.py WORKDIR val|test

Reads WORKDIR/base_SPLIT/*.json (the baselines, hpa-tuned tuned on training data) and
WORKDIR/SPLIT_eval/*.json (the learned policies: every policy whose name holds '.h5'),
prints one markdown table per learned policy and the issue's figures for each.
A trace counts as saturated when every policy, the oracle included, costs within 1% of the
others (the load exceeds the cluster: all nodes on whatever the policy)."""
import glob, json, os, sys

W, split = sys.argv[1], sys.argv[2]
RULES = ["hpa", "hpa-tuned", "hpa-tuned@binpack", "kpa", "kpa@binpack", "predictive",
         "predictive@binpack"]
rows = {}
for fn in sorted(glob.glob(os.path.join(W, f"base_{split}", "*.json"))):
    t = os.path.basename(fn)[:-5]
    rows[t] = {p["name"]: p for p in json.load(open(fn))["policies"]}
learned = []
for fn in sorted(glob.glob(os.path.join(W, f"{split}_eval", "*.json"))):
    t = os.path.basename(fn)[:-5]
    for p in json.load(open(fn))["policies"]:
        rows.setdefault(t, {})[p["name"]] = p
        if ".h5" in p["name"] and p["name"] not in learned:
            learned.append(p["name"])

def cell(p):
    return f"{p['cost']:.2f} / {p['slo_violation_pct']:.2f} / {p['scale_actions']}"

print(f"# {split}: cost $ / SLO violations % / scale actions (hpa-tuned tuned on training data)\n")
cols = ["hpa-tuned", "hpa-tuned@binpack", "predictive@binpack", "kpa@binpack", "oracle"] + learned
print("| trace | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
for t, P in sorted(rows.items()):
    print(f"| {t} | " + " | ".join(cell(P[c]) if c in P else "-" for c in cols) + " |")
print()
for L in learned:
    n = win = win_bp = undominated = over = churn_ok = 0
    ratios = []
    lost = []
    for t, P in sorted(rows.items()):
        if L not in P or "oracle" not in P or "hpa-tuned" not in P:
            continue
        costs = [p["cost"] for p in P.values()]
        sat = max(costs) <= 1.01 * min(costs)
        l, h, o = P[L], P["hpa-tuned"], P["oracle"]
        ratios.append(l["cost"] / o["cost"])
        if l["scale_actions"] <= 2 * max(h["scale_actions"], 1):
            churn_ok += 1
        if h["slo_violation_pct"] <= 5 and l["slo_violation_pct"] > 5:
            over += 1
            lost.append(f"{t}: over the 5% budget ({l['slo_violation_pct']:.2f}%) where hpa-tuned is within ({h['slo_violation_pct']:.2f}%)")
        if sat:
            continue
        n += 1
        w = l["cost"] < h["cost"] and l["slo_violation_pct"] <= h["slo_violation_pct"]
        win += w
        b = P.get("hpa-tuned@binpack")
        win_bp += b is not None and l["cost"] < b["cost"] and l["slo_violation_pct"] < b["slo_violation_pct"]
        dom = [r for r in RULES if r in P and P[r]["cost"] < l["cost"] and P[r]["slo_violation_pct"] < l["slo_violation_pct"]]
        undominated += not dom
        if not w:
            lost.append(f"{t}: vs hpa-tuned cost {l['cost']:.2f} vs {h['cost']:.2f}, violations {l['slo_violation_pct']:.2f}% vs {h['slo_violation_pct']:.2f}%")
        if dom:
            lost.append(f"{t}: dominated by {', '.join(dom)}")
    N = len(ratios)
    print(f"## {L}\n")
    print(f"- beats hpa-tuned (cheaper, violations no higher): {win}/{n} unsaturated traces")
    print(f"- cheaper and fewer violations than hpa-tuned@binpack: {win_bp}/{n}")
    print(f"- no rule-based baseline both cheaper and lower in violations: {undominated}/{n}")
    print(f"- over the 5% budget where hpa-tuned is within: {over}/{N}")
    print(f"- scale actions <= 2x hpa-tuned's: {churn_ok}/{N}")
    print(f"- mean cost x per-step oracle: {sum(ratios) / max(N, 1):.3f}")
    for s in lost:
        print(f"  - loses: {s}")
    print()
