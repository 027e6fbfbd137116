#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of tests/fuzz (corpus/<harness>/seed-*), in fuzz_input.h's encoding.

Run it from anywhere after changing a harness's input layout: python3 tests/fuzz/make_seeds.py.
Inputs of fixed bugs (corpus/<harness>/bug-*) are kept as the fuzzer wrote them.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def num(v):
    """One number: a byte when 0..55 or -1..-16, else 0xf8 and 8 little-endian bytes."""
    if 0 <= v < 56:
        return bytes([v])
    if -16 <= v < 0:
        return bytes([0xDF - v])
    return b"\xf8" + struct.pack("<q", v)


def nums(*vs):
    return b"".join(num(v) for v in vs)


VERTICAL, HORIZONTAL, SQUARE, GRID = range(4)
STAR, BOX = range(2)


def decomp(ndims, extent, split, nparts, halo, shape=BOX, periodic=(0, 0, 0), ppd=(0, 0, 0),
           sizes=(None, None, None), batch=1, channels=1, reach=(1, 1, 1, 1, 0, 0),
           layer=(3, 1, 1, 1), layer_n=37, layer_parts=3):
    b = nums(ndims, *extent, batch, channels, split, nparts, *ppd, *halo, shape, *periodic)
    for s in sizes:
        b += bytes([1]) + nums(*s) if s else bytes([0])
    return b + nums(*reach) + nums(*layer, layer_n) + bytes([layer_parts - 1])


DECOMP = {
    "square4_h1_box": decomp(2, (37, 37, 0), SQUARE, 4, (1, 1, 1, 1, 0, 0)),
    "vertical3_uneven": decomp(2, (37, 12, 0), VERTICAL, 3, (2, 1, 1, 1, 0, 0),
                               sizes=((10, 20, 7), None, None), reach=(2, 1, 0, 0, 0, 0)),
    "grid222_periodic_star": decomp(3, (9, 8, 7), GRID, 0, (1, 2, 0, 1, 2, 0), shape=STAR,
                                    periodic=(1, 1, 1), ppd=(2, 2, 2), reach=(1, 1, 0, 1, 1, 0)),
    "horizontal1_periodic": decomp(2, (9, 9, 0), HORIZONTAL, 1, (2, 2, 2, 2, 0, 0),
                                   periodic=(1, 1, 0), reach=(2, 2, 2, 2, 0, 0)),
    "horizontal2_periodic_twice": decomp(2, (5, 6, 0), HORIZONTAL, 2, (1, 1, 3, 3, 0, 0),
                                         periodic=(0, 1, 0), reach=(0, 0, 3, 3, 0, 0)),
    "huge_extent": decomp(2, (1 << 40, 3, 0), VERTICAL, 2, (1, 1, 1, 1, 0, 0), batch=1 << 20,
                          channels=3),
    "halo_too_wide": decomp(2, (8, 8, 0), VERTICAL, 4, (3, 3, 0, 0, 0, 0)),
    "conv_dilated_strided": decomp(2, (29, 29, 0), SQUARE, 9, (2, 2, 2, 2, 0, 0),
                                   layer=(3, 2, 2, 2), layer_n=29, layer_parts=3),
    "bad_ndims_split": decomp(4, (8, 8, 8), 7, -3, (-1, 0, 0, 0, 0, 0), shape=9),
}

BLOCK, CYCLIC, BLOCK_CYCLIC, GENERAL = range(4)


def index(kind, n, nranks, block, owners, required, planes=2, tamper=0):
    b = bytes([kind]) + nums(n, nranks, block) + nums(*owners)
    for req in required:
        b += nums(len(req), *req)
    return b + nums(planes) + bytes([tamper])


INDEX = {
    "block40_p4": index(BLOCK, 40, 4, 1, (), ((10, 11, 39, 0, 10), (0, 1, 2, 30), (), (5, 29))),
    "cyclic30_p3": index(CYCLIC, 30, 3, 1, (), ((1, 2, 4, 5), (0, 3, 29), (7, 8, 9, 10))),
    "block_cyclic50_p4_b3": index(BLOCK_CYCLIC, 50, 4, 3, (),
                                  ((3, 4, 5, 49), (0, 12, 13), (1, 2), (48, 47, 0))),
    "general12_p3": index(GENERAL, 12, 3, 1, (2, 0, 1, 1, 0, 2, 2, 2, 1, 0, 0, 1),
                          ((0, 1, 2, 3), (4, 5, 6), (11, 10, 9, 0))),
    "tampered_request": index(BLOCK, 20, 2, 1, (), ((15, 16), (1, 2)), tamper=0b11),
    "tampered_count": index(CYCLIC, 20, 2, 1, (), ((15, 16), (1, 2)), tamper=0b01),
    "out_of_range": index(BLOCK, 10, 2, 1, (), ((3, 10), (1,))),
    "bad_sizes": index(BLOCK_CYCLIC, -5, 0, 0, (), ()),
    "one_rank_owns_all": index(GENERAL, 6, 3, 1, (1, 1, 1, 1, 1, 1), ((0, 5), (2,), (3, 4))),
}


def hb(nranks, *args):
    return bytes([nranks - 1]) + b"\0".join(a.encode() for a in args)


HALO_BENCH = {
    "seed_vertical_4": hb(4, "--image-size", "1024", "--batch-size", "1", "--halo-len", "3",
                          "--num-spatial-parts", "4", "--slice-method", "vertical"),
    "square_ppr2_periodic_f64": hb(2, "--image-size=37", "--num-spatial-parts", "4",
                                   "--parts-per-rank", "2", "--slice-method", "square",
                                   "--periodic", "--dtype", "float64", "--validate"),
    "compute_bsp_bands": hb(2, "--with-compute", "--mode", "bsp", "--bands", "3",
                            "--num-spatial-parts", "2", "--image-size", "23"),
    "mpi_skip_exchange": hb(2, "--with-compute", "--transport", "mpi", "--skip-exchange",
                            "--num-spatial-parts", "2", "--slice-method", "horizontal"),
    "bad_halo": hb(2, "--image-size", "8", "--halo-len", "5", "--num-spatial-parts", "2",
                   "--slice-method", "vertical"),
    "bad_values": hb(2, "--iterations", "0", "--batch-size", "two", "--csv="),
    "help_and_flags": hb(1, "-h", "--fp16-allreduce", "--call", "run", "--runtime-transport",
                         "direct", "--csv", "x.csv", "--dump", "d"),
    "too_large": hb(1, "--image-size", "99999999999", "--num-spatial-parts", "2147483647"),
}


def npy(header_dict, version=(1, 0), comment="", data=b"", pad_to=64):
    """A .npy file start: magic, version, header length, dict [+ comment], padding, data."""
    body = header_dict + comment
    lenbytes = 2 if version[0] == 1 else 4
    pre = 6 + 2 + lenbytes
    total = (pre + len(body) + 1 + pad_to - 1) // pad_to * pad_to
    body = body + " " * (total - pre - len(body) - 1) + "\n"
    n = struct.pack("<H" if lenbytes == 2 else "<I", len(body))
    return b"\x93NUMPY" + bytes(version) + n + body.encode() + data


F4_23 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
META = " # starhalo step=12 generation=3 checksum=0x0123456789abcdef"
NPY = {
    "f4_2x3": npy(F4_23, data=struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    "f8_5_meta": npy("{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", comment=META,
                     data=struct.pack("<5d", 1, -2, 3.5, 0, 9)),
    "scalar": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data=b"\0\0\x80?"),
    "v2_keys_reordered": npy("{'shape': (1, 2, 3, 4), 'fortran_order': False, 'descr': '<f8'}",
                             version=(2, 0)),
    "v3_8dims": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 2), }",
                    version=(3, 0)),
    "fortran": npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"),
    "int32": npy("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }"),
    "big_endian": npy("{'descr': '>f8', 'fortran_order': False, 'shape': (4,), }"),
    "huge_extent": npy("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2), }"),
    "bad_meta": npy(F4_23, comment=" # starhalo step=x generation=3 checksum=0x12"),
    "truncated": npy(F4_23)[:40],
    "not_npy": b"\x89PNG\r\n\x1a\n" + bytes(56),
}


def write(harness, seeds):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    for name, data in seeds.items():
        with open(os.path.join(d, "seed-" + name), "wb") as f:
            f.write(data)


write("decomp", DECOMP)
write("index_plan", INDEX)
write("halo_bench_options", HALO_BENCH)
write("npy_header", NPY)
