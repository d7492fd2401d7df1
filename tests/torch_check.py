#!/usr/bin/python3
"""torch_check.py - PyTorch reference values for tests/test_shim.c (the
golden test of trainer/torch_shim.cpp, as llm.c checks train_gpt2.c).

    torch_check.py golden            prints the reference values (key v1 v2 ...)
    torch_check.py script FILE.pt    loads a TorchScript export, prints its
                                     forward outputs and act() actions for the
                                     same fixed observations and masks

The weights, batch and masks come from closed-form formulas that
test_shim.c repeats in C, so nothing is copied from the program's output.
Exit 77 when torch is missing (the C test then skips).
"""
import math
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit(77)

torch.set_num_threads(1)
NF, NH, NA, B = 5, 8, 4, 6
MASKED = -1e9


def weights(phase, n_out_last=NA):
    sizes = [NF, NH, n_out_last]
    ws, bs = [], []
    for l in range(2):
        fan_in, fan_out = sizes[l], sizes[l + 1]
        w = [0.5 * math.sin(1.3 * i + 0.7 * l + phase) / math.sqrt(fan_in) for i in range(fan_out * fan_in)]
        b = [0.1 * math.cos(0.9 * j + l + phase) for j in range(fan_out)]
        ws.append(torch.tensor(w, dtype=torch.float32).reshape(fan_out, fan_in).requires_grad_())
        bs.append(torch.tensor(b, dtype=torch.float32).requires_grad_())
    return ws, bs


def forward(ws, bs, x):
    x = F.linear(x, ws[0], bs[0]).relu()
    return F.linear(x, ws[1], bs[1])


def batch():
    obs = torch.tensor([[math.sin(0.5 * i + 0.3 * f) for f in range(NF)] for i in range(B)], dtype=torch.float32)
    nobs = torch.tensor([[math.cos(0.4 * i + 0.2 * f) for f in range(NF)] for i in range(B)], dtype=torch.float32)
    act = torch.tensor([(3 * i + 1) % NA for i in range(B)], dtype=torch.int64)
    mask = torch.tensor([[((i + a) % 3 != 0) or a == (3 * i + 1) % NA for a in range(NA)] for i in range(B)])
    nmask = torch.tensor([[(i * 2 + a) % 4 != 1 for a in range(NA)] for i in range(B)])
    rew = torch.tensor([0.1 * i - 0.2 for i in range(B)], dtype=torch.float32)
    done = torch.tensor([1.0 if i % 4 == 3 else 0.0 for i in range(B)], dtype=torch.float32)
    return obs, nobs, act, mask, nmask, rew, done


def q_loss(ws, bs, wt, bt, alpha):
    obs, nobs, act, mask, nmask, rew, done = batch()
    q = forward(ws, bs, obs)
    q_sa = q.gather(1, act[:, None]).squeeze(1)
    with torch.no_grad():
        a_next = forward(ws, bs, nobs).masked_fill(~nmask, MASKED).argmax(1)
        v = forward(wt, bt, nobs).gather(1, a_next[:, None]).squeeze(1)
        y = rew + 0.99 * (1 - done) * v
    loss = F.smooth_l1_loss(q_sa, y)
    if alpha > 0:
        loss = loss + alpha * (q.masked_fill(~mask, MASKED).logsumexp(1) - q_sa).mean()
    return loss


def emit(key, t):
    vals = t.detach().reshape(-1).tolist() if torch.is_tensor(t) else [t]
    print(key, " ".join("%.9g" % v for v in vals))


def golden():
    obs, nobs, act, mask, nmask, rew, done = batch()
    ws, bs = weights(0.0)
    wt, bt = weights(1.0)
    emit("forward", forward(ws, bs, obs))
    emit("dqn_loss", q_loss(ws, bs, wt, bt, 0.0).item())
    loss = q_loss(ws, bs, wt, bt, 1.0)
    emit("cql_loss", loss.item())
    opt = torch.optim.Adam(ws + bs, lr=1e-2, eps=1e-8)
    opt.zero_grad()
    loss.backward()
    opt.step()
    emit("cql_step_w0", ws[0])
    emit("cql_step_b1", bs[1])
    # behaviour cloning: masked cross-entropy + 0.5 * mean(logits^2)
    ws, bs = weights(0.0)
    logits = forward(ws, bs, obs)
    lp = torch.log_softmax(logits.masked_fill(~mask, MASKED), 1)
    emit("bc_loss", (F.nll_loss(lp, act) + 0.5 * logits.pow(2).mean()).item())
    # discrete BCQ: two heads [Q | logits], flexible-set target, imitation loss
    ws, bs = weights(0.0, 2 * NA)
    wt, bt = weights(1.0, 2 * NA)
    out = forward(ws, bs, obs)
    q, logits = out[:, :NA], out[:, NA:]
    q_sa = q.gather(1, act[:, None]).squeeze(1)
    with torch.no_grad():
        nout = forward(ws, bs, nobs)
        nlp = torch.log_softmax(nout[:, NA:].masked_fill(~nmask, MASKED), 1)
        off = (~nmask) | (nlp - nlp.max(1, keepdim=True)[0] < math.log(0.3))
        a_next = nout[:, :NA].masked_fill(off, MASKED).argmax(1)
        y = rew + 0.99 * (1 - done) * forward(wt, bt, nobs)[:, :NA].gather(1, a_next[:, None]).squeeze(1)
    lp = torch.log_softmax(logits.masked_fill(~mask, MASKED), 1)
    emit("bcq_loss", (F.smooth_l1_loss(q_sa, y) + F.nll_loss(lp, act) + 0.5 * logits.pow(2).mean()).item())
    # discrete IQL: q, q_target, v (1 output), pi
    wq, bq = weights(0.0)
    wqt, bqt = weights(1.0)
    wv, bv = weights(2.0, 1)
    wp, bp = weights(3.0)
    with torch.no_grad():
        qt_sa = forward(wqt, bqt, obs).gather(1, act[:, None]).squeeze(1)
        y = rew + 0.99 * (1 - done) * forward(wv, bv, nobs).squeeze(1)
    v = forward(wv, bv, obs).squeeze(1)
    d = qt_sa - v
    v_loss = (torch.abs(0.7 - (d < 0).float()) * d.pow(2)).mean()
    q_loss_ = F.mse_loss(forward(wq, bq, obs).gather(1, act[:, None]).squeeze(1), y)
    w = torch.exp(3.0 * d.detach()).clamp(max=100.0)
    lp = torch.log_softmax(forward(wp, bp, obs).masked_fill(~mask, MASKED), 1)
    actor = -(w * lp.gather(1, act[:, None]).squeeze(1)).mean()
    emit("iql_loss", (q_loss_ + v_loss + actor).item())


def script(path):
    m = torch.jit.load(path)
    obs, _, _, mask, _, _, _ = batch()
    raw = obs * 2.0 + 0.5  # the export normalizes with mean 0.5, std 2
    emit("ts_forward", m.forward(raw))
    emit("ts_act", m.act(raw, mask).to(torch.float32))


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "golden":
        golden()
    elif len(sys.argv) >= 3 and sys.argv[1] == "script":
        script(sys.argv[2])
    else:
        print(__doc__)
        sys.exit(2)
