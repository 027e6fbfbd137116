#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a starhalo checkpoint with NumPy alone (an implementation independent of the C code).

numpy.load must open it; its array must equal REFERENCE (an .npy of the gathered field, e.g.
heat2d --dump) bitwise; the header's metadata comment must name STEP; and the checksum,
recomputed here from the array and the header, must match the one in the header.

usage: check_checkpoint.py CHECKPOINT REFERENCE STEP
"""
import re
import sys

import numpy as np

M = (1 << 64) - 1


def checksum(a, step, generation):
    bits = a.reshape(-1)
    bits = bits.view(np.uint32 if a.dtype == np.float32 else np.uint64).astype(np.uint64)
    idx = np.arange(bits.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = bits + idx * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(29)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
    s = int(x.sum(dtype=np.uint64)) & M
    h = 14695981039346656037
    words = [s, 0 if a.dtype == np.float32 else 1, a.ndim, *a.shape, step, generation]
    for w in words:
        w &= M
        for b in range(8):
            h ^= (w >> (8 * b)) & 0xFF
            h = (h * 1099511628211) & M
    return h


def main():
    path, ref, want_step = sys.argv[1], sys.argv[2], int(sys.argv[3])
    a = np.load(path)
    r = np.load(ref)
    with open(path, "rb") as f:
        head = f.read(256).decode("latin1")
    m = re.search(r"# starhalo step=(-?\d+) generation=(-?\d+) checksum=0x([0-9a-f]{16})", head)
    assert m, "no starhalo metadata comment in the header"
    step, gen, stored = int(m.group(1)), int(m.group(2)), int(m.group(3), 16)
    assert step == want_step, f"step {step}, expected {want_step}"
    assert a.shape == (1, 1) + r.shape, f"checkpoint shape {a.shape}, reference {r.shape}"
    assert a.dtype == r.dtype, f"dtype {a.dtype} vs {r.dtype}"
    assert a.tobytes() == r.tobytes(), "checkpoint array differs from the gathered field"
    got = checksum(a, step, gen)
    assert got == stored, f"checksum 0x{got:016x}, header says 0x{stored:016x}"
    print(f"check_checkpoint: {path} {a.shape} {a.dtype} step {step}: equals the gathered field, "
          f"checksum 0x{stored:016x} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
