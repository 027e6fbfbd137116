#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks halo_bench --with-compute --dump files independently of the C code (no numpy).

DIR/input.npy (N, Cin, n, n), DIR/weights.npy (Cout, Cin, k, k) and DIR/output.npy
(N, Cout, n, n): the shapes must match the options; input and weights must equal the seeded
values re-implemented here (splitmix64 of the global index, as hb_compute.c documents); the
output must equal a naive zero-padded cross-correlation (stride 1, padding halo) computed here
in double, with max |out - ref| / max |ref| <= 1e-5.

usage: check_conv_npy.py DIR IMAGE HALO BATCH CIN COUT
"""
import math
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_npy import read_npy  # noqa: E402

M64 = (1 << 64) - 1
SEED_INPUT = 0x696E707574
SEED_WEIGHTS = 0x7765696768


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def unit_value(seed, index):
    bits = mix64(seed ^ mix64(index)) >> 40
    return f32(bits / float(1 << 23) - 1.0)


def main():
    d = sys.argv[1]
    n, h, batch, cin, cout = map(int, sys.argv[2:7])
    k = 2 * h + 1
    ishape, img = read_npy(f"{d}/input.npy")
    wshape, w = read_npy(f"{d}/weights.npy")
    oshape, out = read_npy(f"{d}/output.npy")
    assert ishape == (batch, cin, n, n), f"input shape {ishape}"
    assert wshape == (cout, cin, k, k), f"weights shape {wshape}"
    assert oshape == (batch, cout, n, n), f"output shape {oshape}"

    for i, v in enumerate(img):
        assert v == unit_value(SEED_INPUT, i), f"input value {i}: {v}"
    scale = f32(1.0 / math.sqrt(cin * k * k))
    for i, v in enumerate(w):
        assert v == f32(unit_value(SEED_WEIGHTS, i) * scale), f"weight {i}: {v}"

    def at(b, c, y, x):
        if 0 <= y < n and 0 <= x < n:
            return img[((b * cin + c) * n + y) * n + x]
        return 0.0

    diff = scale_ref = 0.0
    for b in range(batch):
        for co in range(cout):
            for y in range(n):
                for x in range(n):
                    s = 0.0
                    for ci in range(cin):
                        for ky in range(k):
                            for kx in range(k):
                                s += at(b, ci, y - h + ky, x - h + kx) * \
                                    w[((co * cin + ci) * k + ky) * k + kx]
                    got = out[((b * cout + co) * n + y) * n + x]
                    diff = max(diff, abs(got - s))
                    scale_ref = max(scale_ref, abs(s))
    rel = diff / scale_ref if scale_ref else diff
    print(f"check_conv_npy: {batch}x{cout}x{n}x{n} outputs, relative error {rel:.3e}")
    return 0 if rel <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
