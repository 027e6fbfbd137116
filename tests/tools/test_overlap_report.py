#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""@file test_overlap_report.py
@brief Tests tools/overlap-report on a hand-made trace (data/synthetic) whose shares were
computed by hand, its interval helpers, and its error messages.

Usage: test_overlap_report.py <repo root>   (ctest passes it)

The synthetic trace (times in ms):
  rank 0 worker 0: conv_interior [0,10], pack_x [10,12], stencil [20,30]
  rank 0 worker 1: unpack_y [5,8], heat_boundary [14,18]
  rank 1 worker 0: compute [2,6], PACK_upper [6,9]   (exclusion is case-insensitive)
  links: 0->1 [4,16] 1000 B, 0->1 [6,9] 500 B, 1->0 [15,25] 2000 B, 1->0 [40,38] (skewed)
Expected, rank 0: transfers [4,25] = 21; compute [0,10]+[14,18]+[20,30] covers 6+4+5 = 15
  -> 15/21; window [0,30]; w0 busy [0,12]+[20,30] = 22 -> idle 8; w1 busy 3+4 = 7 -> idle 23.
Expected, rank 1: transfers 21; compute [2,6] covers [4,6] = 2 -> 2/21; window [2,25] = 23;
  w0 busy [2,9] = 7 -> idle 16.
Those hold with --align starpu (times as given). With --align links, rank 1's clock is moved by
  (min 0->1 - min 1->0) / 2 = (3 - (-2)) / 2 = 2.5 ms back: rank 1 tasks compute [-0.5,3.5],
  PACK_upper [3.5,6.5]; links 0->1 [4,13.5], [6,6.5]; 1->0 [12.5,25], [37.5,38] (no longer
  skewed). Rank 0: transfers [4,25]+[37.5,38] = 21.5, overlapped 15 -> 15/21.5, window [0,38],
  idle w0 38-22 = 16, w1 38-7 = 31. Rank 1: overlapped 0, window [-0.5,38] = 38.5, idle 31.5.

The direct trace (data/direct: starhalo_xfer events, runtime/rt_trace.h; times in ms):
  rank 0 worker 0: conv_interior [0,10], starhalo_pack [10,11], conv_boundary [20,24]
  rank 0 worker 1: starhalo_unpack [15,16];   rank 1 worker 0: conv [1,5], starhalo_pack [5,6]
  rank 0 events: send peer 1 id 1 [2,8] 1000 B; recv id 2 [3,14] 3000 B; send id 9 twice
    (the id of a persistent request: FIFO pairing) [17,19] and [21,26] 500 B; a "done" of id
    99 without its post; also "fxt flush" and a malformed "starhalo_xfer bogus ..." (ignored).
  rank 1 events (written before rank 0's would be fine too): recv peer 0 id 1 [1.5,9] 1000 B,
    send id 2 [2,4] 3000 B, a post of id 3 at 30 never done.
  one StarPU-MPI link 1->0 [22,23] 200 B (one direction only: no clock shift either way).
Expected, rank 0: direct union [2,14]+[17,19]+[21,26] = 19; compute [0,10]+[20,24] covers
  8 + 0 + 3 = 11 -> 11/19; the link [22,23] lies inside [21,26]: all transfers 19 and 11, and
  the link alone 1 of 1. Counts: direct 3 sent 1 received (2000 B / 3000 B), link 1 received
  (200 B), 1 unpaired event; window [0,26]; w0 busy 15 (compute 14) idle 11, w1 idle 25.
Expected, rank 1: direct [1.5,9] = 7.5, covered by conv [1.5,5] = 3.5; with the link
  [22,23] 8.5 and 3.5; direct 1 sent (3000 B) 1 received (1000 B), link 1 sent (200 B), 1
  unpaired; window [1,23] = 22, w0 busy 5 idle 17.
"""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = sys.argv.pop(1) if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
TOOL = os.path.join(ROOT, "tools", "overlap-report")
DATA = os.path.join(ROOT, "tests", "tools", "data", "synthetic")
DIRECT = os.path.join(ROOT, "tests", "tools", "data", "direct")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("overlap_report", TOOL)
    spec = importlib.util.spec_from_loader("overlap_report", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run(*args):
    return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True)


class Intervals(unittest.TestCase):
    def setUp(self):
        self.m = load_tool()

    def test_union_merges_overlapping_and_touching_drops_empty(self):
        u = self.m.union([(5, 7), (0, 2), (1, 3), (3, 4), (9, 9), (8, 6)])
        self.assertEqual(u, [(0, 4), (5, 7)])
        self.assertEqual(self.m.measure(u), 6)

    def test_intersection_measure(self):
        a = [(0, 10), (20, 30)]
        b = [(5, 25), (29, 40)]
        self.assertAlmostEqual(self.m.intersection_measure(a, b), 5 + 5 + 1)
        self.assertEqual(self.m.intersection_measure(a, []), 0)

    def test_paje_fields_keeps_quoted_strings(self):
        self.assertEqual(self.m.paje_fields('1  MPIP\t0 "MPI Program"'),
                         ["1", "MPIP", "0", "MPI Program"])


class Synthetic(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p = run("--json", "--align", "starpu", DATA)
        if p.returncode != 0:
            raise AssertionError("overlap-report failed: " + p.stderr)
        cls.ranks = {r["rank"]: r for r in json.loads(p.stdout)["ranks"]}

    def test_ranks(self):
        self.assertEqual(sorted(self.ranks), [0, 1])

    def test_rank0_transfers_and_overlap(self):
        r = self.ranks[0]
        self.assertEqual((r["transfers"], r["sent"], r["received"]), (3, 2, 1))
        self.assertEqual(r["bytes_sent"], 1500)
        self.assertEqual(r["skewed_links"], 1)
        self.assertAlmostEqual(r["transfer_ms"], 21.0)
        self.assertAlmostEqual(r["overlapped_ms"], 15.0)
        self.assertAlmostEqual(r["overlap_share"], 15.0 / 21.0)
        self.assertEqual(r["compute_tasks"], 3)

    def test_rank0_workers(self):
        r = self.ranks[0]
        self.assertAlmostEqual(r["window_ms"], 30.0)
        w = {x["worker"]: x for x in r["workers"]}
        self.assertEqual(w[0]["name"], "0_CPU0")
        self.assertEqual(w[0]["tasks"], 3)
        self.assertAlmostEqual(w[0]["busy_ms"], 22.0)
        self.assertAlmostEqual(w[0]["compute_ms"], 20.0)
        self.assertAlmostEqual(w[0]["idle_ms"], 8.0)
        self.assertAlmostEqual(w[0]["idle_share"], 8.0 / 30.0)
        self.assertAlmostEqual(w[1]["busy_ms"], 7.0)
        self.assertAlmostEqual(w[1]["idle_share"], 23.0 / 30.0)

    def test_rank1(self):
        r = self.ranks[1]
        self.assertEqual((r["transfers"], r["sent"], r["received"]), (3, 1, 2))
        self.assertAlmostEqual(r["transfer_ms"], 21.0)
        self.assertAlmostEqual(r["overlap_share"], 2.0 / 21.0)
        self.assertAlmostEqual(r["window_ms"], 23.0)
        self.assertAlmostEqual(r["workers"][0]["idle_ms"], 16.0)
        self.assertAlmostEqual(r["workers"][0]["idle_share"], 16.0 / 23.0)

    def test_exclude_nothing_counts_pack_as_compute(self):
        p = run("--json", "--align", "starpu", "--exclude", "", DATA)
        r = {x["rank"]: x for x in json.loads(p.stdout)["ranks"]}
        # Rank 1 now also has PACK_upper [6,9]: [4,9] overlapped = 5 of 21.
        self.assertAlmostEqual(r[1]["overlap_share"], 5.0 / 21.0)
        # Rank 0 adds pack_x [10,12] and unpack_y [5,8]: [4,12]+[14,18]+[20,25] = 17.
        self.assertAlmostEqual(r[0]["overlapped_ms"], 17.0)

    def test_text_output(self):
        p = run("--align", "starpu", DATA)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("with compute running 15.000 = 71.4 % of it", p.stdout)
        self.assertIn("worker 1 (0_CPU1): 2 tasks, busy 7.000 (compute 4.000), idle 23.000 = "
                      "76.7 % of the window", p.stdout)


class SyntheticAlignedByLinks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        p = run("--json", DATA)  # --align links is the default
        if p.returncode != 0:
            raise AssertionError("overlap-report failed: " + p.stderr)
        cls.out = json.loads(p.stdout)
        cls.ranks = {r["rank"]: r for r in cls.out["ranks"]}

    def test_shift(self):
        self.assertEqual(self.out["align"], "links")
        self.assertAlmostEqual(self.out["shift_ms"]["0"], 0.0)
        self.assertAlmostEqual(self.out["shift_ms"]["1"], -2.5)

    def test_rank0(self):
        r = self.ranks[0]
        self.assertEqual((r["transfers"], r["skewed_links"]), (4, 0))
        self.assertAlmostEqual(r["transfer_ms"], 21.5)
        self.assertAlmostEqual(r["overlap_share"], 15.0 / 21.5)
        self.assertAlmostEqual(r["window_ms"], 38.0)
        self.assertEqual([round(w["idle_ms"], 9) for w in r["workers"]], [16.0, 31.0])

    def test_rank1(self):
        r = self.ranks[1]
        self.assertAlmostEqual(r["overlapped_ms"], 0.0)
        self.assertAlmostEqual(r["window_ms"], 38.5)
        self.assertAlmostEqual(r["workers"][0]["idle_ms"], 31.5)

    def test_estimate_offsets_chain_and_one_way_pairs(self):
        m = load_tool()
        links = [{"src": 0, "dst": 1, "start": 0.0, "end": 5.0},
                 {"src": 1, "dst": 0, "start": 0.0, "end": 1.0},
                 {"src": 1, "dst": 2, "start": 0.0, "end": 2.0},
                 {"src": 2, "dst": 1, "start": 0.0, "end": 4.0},
                 {"src": 0, "dst": 3, "start": 0.0, "end": 9.0}]
        # 1 vs 0: (5 - 1) / 2 = 2; 2 vs 1: (2 - 4) / 2 = -1 -> 1; 3 has no link back: absent.
        self.assertEqual(m.estimate_offsets(links), {0: 0.0, 1: 2.0, 2: 1.0})


class Direct(unittest.TestCase):
    """starhalo_xfer events (data/direct): pairing, counts, shares, text, alignment."""

    @classmethod
    def setUpClass(cls):
        p = run("--json", DIRECT)
        if p.returncode != 0:
            raise AssertionError("overlap-report failed: " + p.stderr)
        cls.out = json.loads(p.stdout)
        cls.ranks = {r["rank"]: r for r in cls.out["ranks"]}

    def test_rank0_direct(self):
        d = self.ranks[0]["by_source"]["direct"]
        self.assertEqual((d["transfers"], d["sent"], d["received"]), (4, 3, 1))
        self.assertEqual((d["bytes_sent"], d["bytes_received"]), (2000, 3000))
        self.assertEqual(d["unpaired_events"], 1)
        self.assertAlmostEqual(d["transfer_ms"], 19.0)
        self.assertAlmostEqual(d["overlapped_ms"], 11.0)
        self.assertAlmostEqual(d["overlap_share"], 11.0 / 19.0)

    def test_rank0_starpu_mpi_and_totals(self):
        r = self.ranks[0]
        m = r["by_source"]["starpu-mpi"]
        self.assertEqual((m["transfers"], m["sent"], m["received"]), (1, 0, 1))
        self.assertEqual((m["bytes_sent"], m["bytes_received"]), (0, 200))
        self.assertAlmostEqual(m["overlap_share"], 1.0)
        self.assertEqual((r["transfers"], r["sent"], r["received"]), (5, 3, 2))
        self.assertEqual((r["bytes_sent"], r["bytes_received"]), (2000, 3200))
        self.assertAlmostEqual(r["transfer_ms"], 19.0)
        self.assertAlmostEqual(r["overlapped_ms"], 11.0)
        self.assertAlmostEqual(r["overlap_share"], 11.0 / 19.0)
        self.assertEqual(r["compute_tasks"], 2)
        self.assertAlmostEqual(r["window_ms"], 26.0)
        self.assertEqual([round(w["idle_ms"], 9) for w in r["workers"]], [11.0, 25.0])
        self.assertAlmostEqual(r["workers"][0]["compute_ms"], 14.0)

    def test_rank1(self):
        r = self.ranks[1]
        d, m = r["by_source"]["direct"], r["by_source"]["starpu-mpi"]
        self.assertEqual((d["sent"], d["received"], d["bytes_sent"], d["bytes_received"]),
                         (1, 1, 3000, 1000))
        self.assertEqual(d["unpaired_events"], 1)
        self.assertAlmostEqual(d["transfer_ms"], 7.5)
        self.assertAlmostEqual(d["overlap_share"], 3.5 / 7.5)
        self.assertEqual((m["sent"], m["bytes_sent"]), (1, 200))
        self.assertAlmostEqual(m["overlap_share"], 0.0)
        self.assertEqual((r["transfers"], r["sent"], r["received"]), (3, 2, 1))
        self.assertEqual(r["bytes_sent"], 3200)
        self.assertAlmostEqual(r["transfer_ms"], 8.5)
        self.assertAlmostEqual(r["overlap_share"], 3.5 / 8.5)
        self.assertAlmostEqual(r["window_ms"], 22.0)
        self.assertAlmostEqual(r["workers"][0]["idle_ms"], 17.0)

    def test_alignments_agree_without_links_both_ways(self):
        self.assertEqual(self.out["shift_ms"], {"0": 0.0})
        p = run("--json", "--align", "starpu", DIRECT)
        other = {r["rank"]: r for r in json.loads(p.stdout)["ranks"]}
        self.assertEqual(other, self.ranks)

    def test_text_output(self):
        p = run(DIRECT)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("rank 0: window 26.000, 5 MPI transfers (3 sent, 2 received, 2000 B sent)",
                      p.stdout)
        self.assertIn("  direct: 4 transfers (3 sent, 1 received), time 19.000, with compute "
                      "11.000 = 57.9 % of it", p.stdout)
        self.assertIn("  starpu-mpi: 1 transfers (0 sent, 1 received), time 1.000, with compute "
                      "1.000 = 100.0 % of it", p.stdout)
        self.assertEqual(p.stdout.count("1 starhalo_xfer event(s) without their post or done"), 2)

    def test_parse_xfer(self):
        m = load_tool()
        self.assertEqual(m.parse_xfer("starhalo_xfer post send peer=3 bytes=131072 id=17"),
                         (False, True, 3, 131072, 17))
        self.assertEqual(m.parse_xfer("starhalo_xfer done recv peer=0 bytes=0 id=0"),
                         (True, False, 0, 0, 0))
        for bad in ("fxt flush", "starhalo_xfer bogus send peer=1 bytes=1 id=1",
                    "starhalo_xfer post send peer=1 bytes=1", "xstarhalo_xfer post send peer=1 "
                    "bytes=1 id=1"):
            self.assertIsNone(m.parse_xfer(bad), bad)

    def test_pair_direct_fifo_per_key(self):
        m = load_tool()
        # (rank, time, done, is_send, peer, bytes, id), deliberately not in time order
        ev = [(0, 5.0, True, True, 1, 8, 4), (0, 1.0, False, True, 1, 8, 4),
              (0, 2.0, False, True, 1, 8, 4), (0, 3.0, False, False, 1, 8, 4),
              (0, 4.0, True, False, 1, 8, 4), (0, 6.0, True, True, 1, 8, 4),
              (1, 1.0, True, True, 0, 8, 4), (1, 0.5, False, True, 2, 8, 4)]
        xs, unpaired = m.pair_direct(ev)
        got = [(x["rank"], x["send"], x["start"], x["end"]) for x in xs]
        # sends of id 4: [1,5] then [2,6]; the recv of the same id pairs apart: [3,4];
        # rank 1: a done before any post of its key, and a post never done (other peer).
        self.assertEqual(got, [(0, True, 1.0, 5.0), (0, True, 2.0, 6.0), (0, False, 3.0, 4.0)])
        self.assertEqual(unpaired, {1: 2})

    def test_apply_offsets_shifts_direct_by_its_rank(self):
        m = load_tool()
        _, _, d = m.apply_offsets([], [], {1: 2.0}, [
            {"rank": 1, "start": 5.0, "end": 7.0}, {"rank": 0, "start": 5.0, "end": 7.0}])
        self.assertEqual([(x["start"], x["end"]) for x in d], [(3.0, 5.0), (5.0, 7.0)])

    def test_single_file_trace_events_are_rank_0(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "tasks.rec"), "w") as f:
                f.write("Name: a\nWorkerId: 0\nStartTime: 1.0\nEndTime: 3.0\nMPIRank: -1\n")
            with open(os.path.join(d, "paje.trace"), "w") as f:
                f.write("%EventDef\tPajeNewEvent\t9\n%\tTime\tdate\n%\tType\tstring\n"
                        "%\tContainer\tstring\n%\tValue\tstring\n%EndEventDef\n"
                        '9\t2.0\tprog_event\tp\t"starhalo_xfer post send peer=0 bytes=8 id=1"\n'
                        '9\t4.0\tprog_event\tp\t"starhalo_xfer done send peer=0 bytes=8 id=1"\n')
            p = run("--json", d)
        r = json.loads(p.stdout)["ranks"]
        self.assertEqual([x["rank"] for x in r], [0])
        self.assertEqual(r[0]["by_source"]["direct"]["sent"], 1)
        self.assertAlmostEqual(r[0]["overlap_share"], 0.5)  # [2,4] against a [1,3]


class PajeFixup(unittest.TestCase):
    """tools/lib/paje_fixup.py: containers used by states but never created get declared."""

    def test_declares_missing_thread_container_once(self):
        loader = importlib.machinery.SourceFileLoader(
            "paje_fixup", os.path.join(ROOT, "tools", "lib", "paje_fixup.py"))
        spec = importlib.util.spec_from_loader("paje_fixup", loader)
        fix = importlib.util.module_from_spec(spec)
        loader.exec_module(fix)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "paje.trace")
            with open(path, "w") as f:
                f.write("%EventDef PajeSetState 10\n%EndEventDef\n"
                        "7\t0.0\t0_p\tP\tMPIroot\t0_program\n"
                        "7\t1.0\t0_t7\tUT\t0_p\t0_UserThread7\n"
                        "7\t0.0\t1_p\tP\tMPIroot\t1_program\n"
                        "11\t2.0\t0_t7\tUS\tSc\n"
                        "11\t3.0\t1_t9\tUS\tSc\n12\t4.0\t1_t9\tUS\n")
            self.assertEqual(fix.fixup(path), 1)
            with open(path) as f:
                lines = f.read().splitlines()
            self.assertEqual(lines[5], "7\t0.0\t1_t9\tUT\t1_p\t1_Thread9")
            self.assertEqual(lines[4], "7\t0.0\t1_p\tP\tMPIroot\t1_program")
            self.assertEqual(fix.fixup(path), 0)


class Errors(unittest.TestCase):
    def test_missing_tasks_rec(self):
        with tempfile.TemporaryDirectory() as d:
            p = run(d)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.assertRegex(p.stderr, r"^overlap-report: error: .*tasks\.rec not found")

    def test_bad_regex(self):
        p = run("--exclude", "(", DATA)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, r"^overlap-report: error: --exclude '\(' is not a valid regex")

    def test_single_file_trace_is_rank_0(self):
        # starpu_fxt_tool on one file writes MPIRank -1 and containers without a rank prefix.
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "tasks.rec"), "w") as f:
                f.write("Name: a\nWorkerId: 0\nStartTime: 1.0\nEndTime: 3.0\nMPIRank: -1\n\n"
                        "Name: b\nWorkerId: 0\nStartTime: 4.0\nEndTime: 5.0\nMPIRank: -1\n")
            with open(os.path.join(d, "paje.trace"), "w") as f:
                f.write("%EventDef\tPajeCreateContainer\t7\n%\tTime\tdate\n%\tAlias\tstring\n"
                        "%\tType\tstring\n%\tContainer\tstring\n%\tName\tstring\n"
                        "%EndEventDef\n7\t0.5\tw0\tW\tt1\tCPU0\n")
            p = run("--json", d)
        r = json.loads(p.stdout)["ranks"]
        self.assertEqual([x["rank"] for x in r], [0])
        w = r[0]["workers"][0]
        self.assertEqual(w["name"], "CPU0")
        self.assertAlmostEqual(w["idle_ms"], 1.0)  # window [1,5], busy 3
        self.assertAlmostEqual(w["idle_share"], 0.25)

    def test_tasks_without_paje_has_no_transfers(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(DATA, "tasks.rec")) as src, \
                    open(os.path.join(d, "tasks.rec"), "w") as dst:
                dst.write(src.read())
            p = run("--json", d)
        r = {x["rank"]: x for x in json.loads(p.stdout)["ranks"]}
        self.assertEqual(r[0]["transfers"], 0)
        self.assertIsNone(r[0]["overlap_share"])
        self.assertAlmostEqual(r[0]["workers"][0]["idle_ms"], 8.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
