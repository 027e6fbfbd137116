#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""@file test_gantt.py
@brief Tests tools/lib/gantt.py (tools/trace --png) on the hand-made trace data/direct: its
rows and spans, the lane stacking, and that the PNG it writes is whole.

Usage: /usr/bin/python3 test_gantt.py <repo root>   (ctest passes it; needs matplotlib,
which tools/install-deps installs as python3-matplotlib)
"""
import importlib.machinery
import importlib.util
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

ROOT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
GANTT = os.path.join(ROOT, "tools", "lib", "gantt.py")
DIRECT = os.path.join(ROOT, "tests", "tools", "data", "direct")


def load():
    loader = importlib.machinery.SourceFileLoader("gantt", GANTT)
    spec = importlib.util.spec_from_loader("gantt", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def png_chunks(data):
    """[(kind, body)] of a PNG, checking the signature and every CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, out = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, kind
        out.append((kind, body))
        pos += 12 + length
    return out


class Gantt(unittest.TestCase):
    def setUp(self):
        self.g = load()

    def test_rows_and_spans(self):
        rows = self.g.rows_of(*self.g.load(DIRECT, "links", "pack|unpack"))
        self.assertEqual([r[0] for r in rows],
                         ["0_CPU0", "0_CPU1", "0 transfers", "1_CPU0", "1 transfers"])
        self.assertEqual(sorted(rows[0][2]), [(0.0, 10.0, "conv_interior"),
                                              (10.0, 11.0, "starhalo_pack"),
                                              (20.0, 24.0, "conv_boundary")])
        # rank 0: 4 paired direct transfers and the link it receives; rank 1: 2 and the link
        self.assertEqual(sorted(rows[2][2]), [(2.0, 8.0, "direct send"), (3.0, 14.0, "direct recv"),
                                              (17.0, 19.0, "direct send"),
                                              (21.0, 26.0, "direct send"),
                                              (22.0, 23.0, "starpu-mpi")])
        self.assertEqual(len(rows[4][2]), 3)

    def test_lanes(self):
        placed, n = self.g.lanes([(0, 5, "a"), (1, 2, "b"), (2, 3, "c"), (5, 6, "d")])
        self.assertEqual(n, 2)
        self.assertEqual(placed, [(0, 0, 5, "a"), (1, 1, 2, "b"), (1, 2, 3, "c"), (0, 5, 6, "d")])
        self.assertEqual(self.g.lanes([]), ([], 1))

    def test_png(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "g.png")
            p = subprocess.run([sys.executable, GANTT, "-o", out, DIRECT], capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("gantt: wrote %s (5 rows)" % out, p.stdout)
            with open(out, "rb") as f:
                chunks = png_chunks(f.read())
        kinds = [k for k, _ in chunks]
        self.assertEqual((kinds[0], kinds[-1]), (b"IHDR", b"IEND"))
        self.assertIn(b"IDAT", kinds)
        w, h = struct.unpack(">II", chunks[0][1][:8])
        self.assertGreater(w, 400)
        self.assertGreater(h, 150)

    def test_missing_tasks_rec(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([sys.executable, GANTT, d], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"^gantt: error: .*tasks\.rec not found")


if __name__ == "__main__":
    unittest.main(verbosity=2)
