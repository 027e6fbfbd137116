#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check apps/stencil5 (and StarPU's original stencil5) against an independent model.

Usage:
  check_stencil5.py --np N [--size S] [--iter K] [--tiles T] [--seed R] [--original EXE]
                    --port EXE -- LAUNCHER...
  check_stencil5.py --bad REGEX --port EXE [--args "ARGS"] -- LAUNCHER...

The model shares no code with either program: it regenerates the initial matrix from
drand48 with the seed (STARPU_RAND_SEED), runs 2 x K in-place sweeps of the 5-point average in
(x, y) order in float32 arithmetic (what StarPU-MPI's sequential consistency gives the
original's one-task-per-cell graph), and predicts each rank's -display output: the initial
matrix first, then its own cells (the original's distribution, of cells or of tiles) final and
the others initial. Both programs must print exactly that; with --original, both run.
--bad: the port must exit non-zero with exactly one 'stencil5: error:' line matching REGEX.
"""
import argparse
import math
import os
import re
import shlex
import struct
import subprocess
import sys


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


class Drand48:
    """POSIX drand48: X' = (a X + c) mod 2^48, srand48 sets X = seed << 16 | 0x330E."""

    def __init__(self, seed):
        self.x = ((seed & 0xFFFFFFFF) << 16) | 0x330E

    def next(self):
        self.x = (0x5DEECE66D * self.x + 0xB) & ((1 << 48) - 1)
        return self.x / float(1 << 48)


def my_distrib(x, y, n):
    s = math.sqrt(n)
    return int(x / s + (y / s) * s) % n


def tile_index(c, size, tiles):
    """Tile holding cell c: even split, the remainder spread over the first tiles."""
    base, extra = divmod(size, tiles)
    lo = 0
    for t in range(tiles):
        hi = lo + base + (1 if t < extra else 0)
        if c < hi:
            return t
        lo = hi
    raise ValueError(c)


def model(size, niter, seed):
    rng = Drand48(seed)
    m = [[f32(rng.next()) for _ in range(size)] for _ in range(size)]
    mean = f32(0.0)
    for row in m:
        for v in row:
            mean = f32(mean + v)
    mean = f32(mean / (size * size))
    init = [row[:] for row in m]
    for _ in range(2 * niter):
        for x in range(1, size - 1):
            for y in range(1, size - 1):
                s = f32(m[x][y] + m[x - 1][y])
                s = f32(s + m[x + 1][y])
                s = f32(s + m[x][y - 1])
                s = f32(s + m[x][y + 1])
                m[x][y] = f32(s / 5)
    return init, m, mean


def rows(r, mat):
    return [("[%d] " % r + "".join("%2.2f " % v for v in row)).rstrip() for row in mat]


def expected(nranks, size, niter, tiles, seed):
    init, final, mean = model(size, niter, seed)
    out = {}
    for r in range(nranks):
        mine = [
            [
                final[x][y]
                if my_distrib(tile_index(x, size, tiles), tile_index(y, size, tiles), nranks) == r
                else init[x][y]
                for y in range(size)
            ]
            for x in range(size)
        ]
        out[r] = (
            ["[%d][starpu_mpi][main] mean=%2.2f" % (r, mean)]
            + rows(r, init)
            + ["[%d] mean=%2.2f" % (r, mean)]
            + rows(r, mine)
        )
    return out


TAG = re.compile(r"^\[\d+,(\d+)\]<(stdout|stderr)>:\s?(.*)$")


def run(launcher, exe, args, seed):
    env = dict(os.environ, STARPU_RAND_SEED=str(seed))
    env.pop("STARPU_SSILENT", None)
    # --tag-output: Open MPI forwards whole lines, tagged with the rank.
    cmd = launcher + ["--tag-output", exe] + args
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = {}
    errs = {}
    for stream, text in (("stdout", p.stdout), ("stderr", p.stderr)):
        for line in text.splitlines():
            t = TAG.match(line)
            if not t:
                continue
            dst = lines if t.group(2) == "stdout" else errs
            dst.setdefault(int(t.group(1)), []).append(t.group(3).rstrip())
    return p, lines, errs


def check_run(name, launcher, exe, args, want, seed):
    p, lines, errs = run(launcher, exe, args, seed)
    bad = 0
    if p.returncode != 0:
        print("%s: exit status %d\n%s" % (name, p.returncode, p.stderr[-2000:]))
        return 1
    for r, w in want.items():
        got = [ln for ln in lines.get(r, []) if ln.startswith("[%d]" % r)]
        if got != w:
            bad += 1
            print("%s: rank %d output differs from the model" % (name, r))
            for i in range(max(len(got), len(w))):
                g = got[i] if i < len(got) else "<none>"
                e = w[i] if i < len(w) else "<none>"
                if g != e:
                    print("  line %d: got %r\n           want %r" % (i, g, e))
        waits = sum(1 for ln in errs.get(r, []) if ln == "Waiting ...")
        if waits != 2:
            bad += 1
            print("%s: rank %d printed 'Waiting ...' %d times, want 2" % (name, r, waits))
    if not bad:
        print("%s: %d ranks match the model (%s)" % (name, len(want), " ".join(args)))
    return bad


def check_bad(launcher, exe, args, regex):
    p = subprocess.run(launcher + [exe] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    errs = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.startswith("stencil5: error:")]
    if p.returncode == 0:
        print("bad input %r: exit status 0" % args)
        return 1
    if re.search(r"MPI_ABORT was invoked|Process received signal|[Bb]acktrace|Segmentation "
                 r"fault|core dumped", p.stdout + p.stderr):
        print("bad input %r: abort trace\n%s" % (args, (p.stdout + p.stderr)[-2000:]))
        return 1
    if len(errs) != 1 or not re.search(regex, errs[0]):
        print("bad input %r: want one error line matching %r, got %r" % (args, regex, errs))
        return 1
    print("bad input %r: %s" % (args, errs[0]))
    return 0


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("check_stencil5: error: no launcher after --")
    cut = argv.index("--")
    ap = argparse.ArgumentParser()
    ap.add_argument("--np", type=int, default=1)
    ap.add_argument("--size", type=int)
    ap.add_argument("--iter", type=int)
    ap.add_argument("--tiles", type=int)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--port", required=True)
    ap.add_argument("--original")
    ap.add_argument("--defaults", default="4 5", help="the original's size and iterations")
    ap.add_argument("--bad")
    ap.add_argument("--args", default="")
    o = ap.parse_args(argv[:cut])
    launcher = argv[cut + 1:]
    if o.bad:
        sys.exit(check_bad(launcher, o.port, shlex.split(o.args), o.bad))
    dsize, diter = (int(v) for v in o.defaults.split())
    size = o.size or dsize
    niter = diter if o.iter is None else o.iter
    tiles = o.tiles or size
    args = ["-display"]
    if o.iter is not None:
        args += ["-iter", str(o.iter)]
    if o.size:
        args += ["-size", str(o.size)]
    if o.tiles:
        args += ["-tiles", str(o.tiles)]
    bad = check_run("stencil5", launcher, o.port, args, expected(o.np, size, niter, tiles, o.seed),
                    o.seed)
    if o.original:
        if o.size or o.tiles:
            sys.exit("check_stencil5: error: the original has no -size / -tiles")
        bad += check_run("original", launcher, o.original, args,
                         expected(o.np, size, niter, size, o.seed), o.seed)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
