#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a spatial_cnn --dump against PyTorch, independently of the C code.

Parses the net file itself (the grammar of docs/SPATIAL_CNN.md: one layer per line, '#'
comments), builds the same net with torch.nn.functional in float32, loads the dumped initial
parameters, trains --steps steps of torch.optim.SGD(lr, momentum) on the whole image and
compares each step's loss with loss.npy (relative error <= 1e-4) and every final parameter
with p<layer>_<name>_final.npy (max|torch - dump| / max|dump| <= 1e-4; a conv bias right
before bn, whose exact gradient is 0, by max|torch - dump| <= 1e-6).

Dump (DUMPDIR): input.npy (N x C x S x S float32), labels.npy (class indexes, float64 or int64, N) or target.npy
(float32, the last layer's output shape), p<layer>_<name>_init.npy / _final.npy (float32;
<layer> is the 0-based index among the layer lines), loss.npy (float64, one per step).

usage: check_torch.py NETFILE DUMPDIR --lr X --momentum M --steps K [--bn-eps E] [--float64]

--float64 runs torch in double instead: float32 torch is the less accurate side (the dump's
codes accumulate in double), and on a fast-moving trajectory (resnet8, lr 0.05-0.1, 4-8 steps)
its rounding alone moves the final parameters by ~1e-2 relative (torch float32 vs float64),
while the reference agrees with float64 torch to ~1e-6. Use small steps / lr with float32.
Exit: 0 passed, 1 failed, 77 when torch cannot be imported (skip), 2 bad usage or input.
"""
import argparse
import ast
import struct
import sys

LOSS_TOL = 1e-4
PARAM_TOL = 1e-4
# A conv bias directly followed by bn has a zero gradient in exact arithmetic (bn subtracts the
# channel mean), so it stays at rounding noise (~1e-10) in both codes and a relative error
# means nothing: it is compared in absolute terms instead.
ZERO_GRAD_ABS_TOL = 1e-6


def read_npy(path):
    """NumPy v1.0/v2.0 file -> (shape, dtype string, raw little-endian bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not an .npy file")
    major = data[6]
    if major == 1:
        hlen, off = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, off = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[off:off + hlen].decode("latin1"))
    if header["fortran_order"]:
        raise ValueError(f"{path}: fortran order")
    shape = tuple(header["shape"])
    size = {"<f4": 4, "<f8": 8, "<i8": 8}.get(header["descr"])
    if size is None:
        raise ValueError(f"{path}: unsupported dtype {header['descr']}")
    count = 1
    for s in shape:
        count *= s
    body = data[off + hlen:]
    if len(body) != count * size:
        raise ValueError(f"{path}: {len(body)} data bytes, shape {shape} needs {count * size}")
    return shape, header["descr"], body


def load(torch, path):
    shape, descr, body = read_npy(path)
    dtype = {"<f4": torch.float32, "<f8": torch.float64, "<i8": torch.int64}[descr]
    t = torch.frombuffer(bytearray(body), dtype=dtype) if body else torch.zeros(0, dtype=dtype)
    return t.reshape(shape).clone()


def parse_net(path):
    """The net file -> list of layer dicts (same grammar as netfile.c, parsed here)."""
    layers = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            tok = line.split("#", 1)[0].split()
            if not tok:
                continue
            op, args = tok[0], tok[1:]
            where = f"{path}:{lineno}"
            if op == "conv":
                if len(args) < 4:
                    raise ValueError(f"{where}: conv COUT K STRIDE PAD [groups=G] [dilation=D] "
                                     "[bias]")
                L = dict(op=op, cout=int(args[0]), k=int(args[1]), stride=int(args[2]),
                         pad=int(args[3]), groups=1, dilation=1, bias=False)
                for a in args[4:]:
                    if a == "bias":
                        L["bias"] = True
                    elif a.startswith("groups="):
                        L["groups"] = int(a[7:])
                    elif a.startswith("dilation="):
                        L["dilation"] = int(a[9:])
                    else:
                        raise ValueError(f"{where}: unknown conv option '{a}'")
            elif op in ("maxpool", "avgpool"):
                if len(args) != 3:
                    raise ValueError(f"{where}: {op} K STRIDE PAD")
                L = dict(op=op, k=int(args[0]), stride=int(args[1]), pad=int(args[2]))
            elif op in ("bn", "relu", "gap", "softmax_ce"):
                if args:
                    raise ValueError(f"{where}: {op} takes no argument")
                L = dict(op=op)
            elif op in ("save", "add"):
                if len(args) != 1:
                    raise ValueError(f"{where}: {op} NAME")
                L = dict(op=op, name=args[0])
            elif op == "fc":
                if len(args) != 1:
                    raise ValueError(f"{where}: fc NCLASSES")
                L = dict(op=op, nclasses=int(args[0]))
            else:
                raise ValueError(f"{where}: unknown layer '{op}'")
            layers.append(L)
    return layers


PARAM_NAMES = {"conv": ("weight", "bias"), "bn": ("gamma", "beta"), "fc": ("weight", "bias")}


def param_names(L):
    if L["op"] == "conv":
        return ("weight", "bias") if L["bias"] else ("weight",)
    return PARAM_NAMES.get(L["op"], ())


def forward(torch, F, layers, params, x, labels, target, eps):
    saved = {}
    h = x
    for i, L in enumerate(layers):
        op = L["op"]
        if op == "conv":
            h = F.conv2d(h, params[i, "weight"], params.get((i, "bias")), stride=L["stride"],
                         padding=L["pad"], dilation=L["dilation"], groups=L["groups"])
        elif op == "maxpool":
            h = F.max_pool2d(h, L["k"], L["stride"], L["pad"])
        elif op == "avgpool":
            h = F.avg_pool2d(h, L["k"], L["stride"], L["pad"], count_include_pad=True)
        elif op == "bn":
            h = F.batch_norm(h, None, None, params[i, "gamma"], params[i, "beta"],
                             training=True, eps=eps)
        elif op == "relu":
            h = F.relu(h)
        elif op == "save":
            saved[L["name"]] = h
        elif op == "add":
            h = h + saved[L["name"]]
        elif op == "gap":
            h = h.mean(dim=(2, 3))
        elif op == "fc":
            h = F.linear(h, params[i, "weight"], params[i, "bias"])
        elif op == "softmax_ce":
            return F.cross_entropy(h, labels, reduction="mean")
    return 0.5 * ((h - target) ** 2).sum()


def load_dump(torch, layers, d, float64):
    """The dump's input, labels or target, initial and final parameters, and losses."""
    dt = torch.float64 if float64 else torch.float32
    x = load(torch, f"{d}/input.npy").to(dt)
    classify = bool(layers) and layers[-1]["op"] == "softmax_ce"
    labels = load(torch, f"{d}/labels.npy").long() if classify else None
    target = None if classify else load(torch, f"{d}/target.npy").to(dt)
    params, finals = {}, {}
    for i, L in enumerate(layers):
        for name in param_names(L):
            p = load(torch, f"{d}/p{i}_{name}_init.npy").to(dt)
            params[i, name] = p.requires_grad_(True)
            finals[i, name] = load(torch, f"{d}/p{i}_{name}_final.npy").to(dt)
    return x, labels, target, params, finals, load(torch, f"{d}/loss.npy")


def rel_err(a, b):
    den = b.abs().max().item() if b.numel() else 0.0
    num = (a - b).abs().max().item() if b.numel() else 0.0
    return num / den if den > 0 else num


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("netfile")
    ap.add_argument("dumpdir")
    ap.add_argument("--lr", type=float, required=True)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--steps", type=int, required=True)
    ap.add_argument("--bn-eps", type=float, default=1e-5)
    ap.add_argument("--float64", action="store_true", help="run torch in float64")
    a = ap.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # torch missing or broken: skip (ctest SKIP_RETURN_CODE 77)
        print(f"torch check: skipped (cannot import torch: {e})")
        return 77
    torch.set_num_threads(1)
    torch.manual_seed(0)

    try:
        layers = parse_net(a.netfile)
    except (OSError, ValueError) as e:
        print(f"torch check: bad net file: {e}")
        return 2
    try:
        x, labels, target, params, finals, dump_loss = load_dump(torch, layers, a.dumpdir,
                                                                 a.float64)
    except (OSError, ValueError, KeyError) as e:
        print(f"torch check: bad dump: {e}")
        return 2
    if dump_loss.numel() < a.steps:
        print(f"torch check: loss.npy has {dump_loss.numel()} values, --steps {a.steps}")
        return 2

    opt = torch.optim.SGD(list(params.values()), lr=a.lr, momentum=a.momentum)
    ok = True
    worst = 0.0
    for k in range(a.steps):
        opt.zero_grad()
        try:
            loss = forward(torch, F, layers, params, x, labels, target, a.bn_eps)
        except RuntimeError as e:  # e.g. a dumped parameter of the wrong shape
            print(f"step {k}: torch forward failed: {e}\ntorch check: FAILED")
            return 1
        loss.backward()
        opt.step()
        tl, dl = loss.item(), dump_loss[k].item()
        e = abs(tl - dl) / max(abs(dl), 1e-300)
        worst = max(worst, e / LOSS_TOL)
        bad = e > LOSS_TOL or e != e
        ok = ok and not bad
        print(f"step {k}: loss torch {tl:.9g} dump {dl:.9g} rel err {e:.2e}"
              f"{' FAILED' if bad else ''}")
    with torch.no_grad():
        for (i, name), p in params.items():
            f = finals[i, name]
            if tuple(p.shape) != tuple(f.shape):
                print(f"p{i}_{name}: shape torch {tuple(p.shape)} dump {tuple(f.shape)} "
                      "FAILED")
                ok = False
                continue
            if name == "bias" and i + 1 < len(layers) and layers[i + 1]["op"] == "bn":
                e, tol = (p - f).abs().max().item(), ZERO_GRAD_ABS_TOL
                what = "abs err (bias before bn)"
            else:
                e, tol, what = rel_err(p, f), PARAM_TOL, "rel err"
            bad = e > tol or e != e
            ok = ok and not bad
            worst = max(worst, e / tol)
            print(f"p{i}_{name} {tuple(f.shape)}: final {what} {e:.2e}{' FAILED' if bad else ''}")
    print(f"torch check: {'passed' if ok else 'FAILED'} ({'float64' if a.float64 else 'float32'} "
          f"torch, {a.steps} steps; worst err / tolerance {worst:.2e}, tolerances loss "
          f"{LOSS_TOL:g}, parameters {PARAM_TOL:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
