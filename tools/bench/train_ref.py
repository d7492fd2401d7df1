#!/usr/bin/python3
"""train_ref.py - the PyTorch reference of `rlsched bench train`: the same
discrete-CQL update as trainer/torch_shim.cpp (rls_torch_q_forward with
cql_alpha 1) written the way a Python user writes it (as d3rlpy's
DiscreteCQLImpl does): MLP F -> 256 -> 256 -> 18 (F from the file) with ReLU, Adam
(lr 6.25e-5, eps 1e-8), a target network synced every 8000 steps, Huber TD
loss with the double-DQN target under the action mask, plus
alpha * (logsumexp over allowed actions of Q(s, .) - Q(s, a)).

The replay file is loaded into numpy arrays with h5py (the whole file in
RAM) and minibatches are drawn uniformly with numpy, normalized with the
file's obs_mean / obs_std.

    train_ref.py --data FILE.h5 --batch 32 --steps 2000
prints one JSON object: {"updates_per_s": ..., "batch": ..., "steps": ...}.
Run on one thread (the caller sets OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1;
torch.set_num_threads(1) here).
"""
import argparse
import json
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MASKED = -1e9


def load(path):
    with h5py.File(path, "r") as f:
        mean = f["obs_mean"][()].astype(np.float32)
        std = f["obs_std"][()].astype(np.float32)
        obs, nobs, act, rew, done, mask, nmask = [], [], [], [], [], [], []
        for name in f:
            if not name.startswith("episode_"):
                continue
            g = f[name]
            o = g["observations"][()]          # (T+1, S, F)
            a = g["actions"][()]               # (T, S)
            T, S = a.shape
            A = int(f.attrs.get("n_actions", 18)) if "n_actions" in f.attrs else 18
            m = g["action_masks"][()] if "action_masks" in g else np.ones((T + 1, S, A), np.uint8)
            obs.append(o[:-1].reshape(T * S, -1))
            nobs.append(o[1:].reshape(T * S, -1))
            act.append(a.reshape(-1))
            rew.append(g["service_rewards"][()].reshape(-1))
            done.append(np.repeat(g["terminations"][()], S))
            mask.append(m[:-1].reshape(T * S, -1))
            nmask.append(m[1:].reshape(T * S, -1))
    cat = np.concatenate
    return (cat(obs), cat(nobs), cat(act).astype(np.int64), cat(rew).astype(np.float32),
            cat(done).astype(np.float32), cat(mask).astype(bool), cat(nmask).astype(bool), mean, std)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    obs, nobs, act, rew, done, mask, nmask, mean, std = load(args.data)
    n, nf = obs.shape
    na = mask.shape[1]
    std = np.where(std > 1e-6, std, 1.0).astype(np.float32)

    q = nn.Sequential(nn.Linear(nf, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, na))
    q_target = nn.Sequential(nn.Linear(nf, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, na))
    q_target.load_state_dict(q.state_dict())
    opt = torch.optim.Adam(q.parameters(), lr=6.25e-5, eps=1e-8)
    gamma, alpha, target_update = 0.99, 1.0, 8000

    def update(step):
        idx = rng.integers(0, n, size=args.batch)
        o = torch.from_numpy((obs[idx] - mean) / std)
        no = torch.from_numpy((nobs[idx] - mean) / std)
        a = torch.from_numpy(act[idx])
        r = torch.from_numpy(rew[idx])
        d = torch.from_numpy(done[idx])
        off = torch.from_numpy(~mask[idx])
        noff = torch.from_numpy(~nmask[idx])
        qs = q(o)
        q_sa = qs.gather(1, a[:, None]).squeeze(1)
        with torch.no_grad():
            a_next = q(no).masked_fill(noff, MASKED).argmax(1)
            y = r + gamma * (1 - d) * q_target(no).gather(1, a_next[:, None]).squeeze(1)
        loss = F.smooth_l1_loss(q_sa, y)
        loss = loss + alpha * (qs.masked_fill(off, MASKED).logsumexp(1) - q_sa).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % target_update == 0:
            q_target.load_state_dict(q.state_dict())
        return loss.item()

    for s in range(1, 21):  # warm-up
        update(s)
    t0 = time.perf_counter()
    for s in range(1, args.steps + 1):
        update(s)
    dt = time.perf_counter() - t0
    print(json.dumps({"updates_per_s": args.steps / dt, "batch": args.batch, "steps": args.steps}, allow_nan=False))


if __name__ == "__main__":
    main()
