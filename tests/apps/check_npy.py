#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks halo_bench --dump tiles independently of the C code (no numpy needed).

Reads every DIR/part_<i>.npy (NumPy v1.0, <f4 or <f8, shape (N, C, gh, gw)), rebuilds the
part grid from the tile shapes alone, and compares each tile with the slice of the
zero-padded (or periodically wrapped) global image it must equal after an exchange, as
MPI4DL's benchmark does with np.pad. The global image is the oracle of hb_validate.c,
re-implemented here: value = ((linear + gen * 0x5bd1e995) * 0x9E3779B1 mod 2^23) + 1.

usage: check_npy.py DIR SPLIT NPARTS IMAGE HALO BATCH CHANNELS PERIODIC [GEN]
"""
import ast
import math
import struct
import sys


def read_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x93NUMPY\x01\x00", f"{path}: not an .npy v1.0 file"
    hlen = struct.unpack("<H", data[8:10])[0]
    assert (10 + hlen) % 64 == 0, f"{path}: data not 64-byte aligned"
    header = ast.literal_eval(data[10:10 + hlen].decode("latin1"))
    assert header["fortran_order"] is False
    fmt = {"<f4": "f", "<f8": "d"}[header["descr"]]
    shape = header["shape"]
    count = shape[0] * shape[1] * shape[2] * shape[3]
    body = data[10 + hlen:]
    assert len(body) == count * struct.calcsize(fmt), f"{path}: wrong data size"
    return shape, struct.unpack("<%d%s" % (count, fmt), body)


def main():
    d, split, nparts, n, h, batch, chans, periodic = sys.argv[1:9]
    gen = int(sys.argv[9]) if len(sys.argv) > 9 else 0
    nparts, n, h, batch, chans, periodic = map(int, (nparts, n, h, batch, chans, periodic))
    if split == "vertical":
        px, py = nparts, 1
    elif split == "horizontal":
        px, py = 1, nparts
    else:
        px = py = math.isqrt(nparts)
    tiles = [read_npy(f"{d}/part_{i}.npy") for i in range(nparts)]
    widths = [tiles[i][0][3] - 2 * h for i in range(px)]
    heights = [tiles[j * px][0][2] - 2 * h for j in range(py)]
    assert sum(widths) == n and sum(heights) == n, "tile shapes do not tile the image"
    x0 = [sum(widths[:i]) for i in range(px)]
    y0 = [sum(heights[:j]) for j in range(py)]

    def value(p, y, x):
        if periodic:
            y, x = y % n, x % n
        elif not (0 <= y < n and 0 <= x < n):
            return 0.0
        lin = (p * n + y) * n + x
        return float((((lin + gen * 0x5BD1E995) * 0x9E3779B1) & 0x7FFFFF) + 1)

    bad = 0
    for i, (shape, vals) in enumerate(tiles):
        ix, iy = i % px, i // px
        assert shape == (batch, chans, heights[iy] + 2 * h, widths[ix] + 2 * h), f"part {i} shape {shape}"
        gh, gw = shape[2], shape[3]
        k = 0
        for p in range(batch * chans):
            for ly in range(gh):
                for lx in range(gw):
                    want = value(p, y0[iy] - h + ly, x0[ix] - h + lx)
                    if vals[k] != want:
                        if bad < 5:
                            print(f"part {i} plane {p} local ({ly},{lx}): {vals[k]} != {want}")
                        bad += 1
                    k += 1
    print(f"check_npy: {nparts} tiles, {bad} wrong cells")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
