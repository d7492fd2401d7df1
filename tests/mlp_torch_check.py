#!/usr/bin/python3
"""mlp_torch_check.py - the PyTorch side of the golden test of the native
forward pass (tests/test_mlp.c): reads a checkpoint with h5py
(policies/CHECKPOINT.md), builds the same torch.nn.Sequential (Linear, ReLU,
..., Linear), applies (x - obs_mean) / obs_std, and writes the outputs.

usage: mlp_torch_check.py CHECKPOINT.h5 INPUTS.f32 BATCH OUTPUTS.f32
INPUTS is raw little-endian float32 [BATCH, sizes[0]]; OUTPUTS is written as
raw float32 [BATCH, sizes[-1]]. Exit 77 when torch or h5py is missing (the C
test then skips), 1 on a bad checkpoint.
"""
import sys

try:
    import h5py
    import numpy as np
    import torch
except ImportError as e:  # the C test skips
    print("mlp_torch_check: missing module: %s" % e, file=sys.stderr)
    sys.exit(77)


def as_str(v):
    return v.decode() if isinstance(v, (bytes, np.bytes_)) else str(v)


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    path, inputs, batch, outputs = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(1)
    with h5py.File(path, "r") as f:
        if as_str(f.attrs["format"]) != "rlsched-checkpoint":
            print("mlp_torch_check: %s: not a checkpoint" % path, file=sys.stderr)
            return 1
        n_layers = int(f.attrs["n_layers"])
        sizes = [int(s) for s in f.attrs["sizes"]]
        assert as_str(f.attrs["activation"]) == "relu"
        layers = []
        for l in range(n_layers):
            lin = torch.nn.Linear(sizes[l], sizes[l + 1])
            w = f["weights/layer_%d/weight" % l][...]
            b = f["weights/layer_%d/bias" % l][...]
            assert w.shape == (sizes[l + 1], sizes[l]) and w.dtype == np.float32
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(w))
                lin.bias.copy_(torch.from_numpy(b))
            layers.append(lin)
            if l + 1 < n_layers:
                layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        mean = torch.from_numpy(f["normalization/obs_mean"][...])
        std = torch.from_numpy(f["normalization/obs_std"][...])
    x = np.fromfile(inputs, dtype="<f4").reshape(batch, sizes[0])
    with torch.no_grad():
        y = net((torch.from_numpy(x) - mean) / std)
    y.numpy().astype("<f4").tofile(outputs)
    print("mlp_torch_check: %d rows, sizes %s" % (batch, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
