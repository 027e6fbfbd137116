#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tools/lib/simplatform.py (tools/simulate's platform files and CSV): fat-tree shapes, the
XML SimGrid reads (well formed, the right hosts), hostfiles, the CSV round trip. No SimGrid."""
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(sys.argv[1], "tools", "lib"))
import simplatform  # noqa: E402


def cluster_attrs(xml):
    root = ET.fromstring(xml.split("\n", 2)[2])  # past the XML and DOCTYPE lines
    assert root.tag == "platform" and root.get("version") == "4.1", root.attrib
    (c,) = root.iter("cluster")
    return c.attrib


def main():
    for n, d in ((16, 4), (64, 8), (256, 16), (1024, 32)):
        assert simplatform.fat_tree_params(n) == (d, n // d), n
        a = cluster_attrs(simplatform.cluster(n))
        assert a["radical"] == f"0-{n - 1}" and a["topology"] == "FAT_TREE", a
        assert a["topo_parameters"] == f"2;{d},{n // d};1,{d};1,1", a
        assert a["bw"] == "100Gbps" and a["lat"] == "0.5us", a
    a = cluster_attrs(simplatform.cluster(2, bw="1000Mbps", lat="10us", star=True))
    assert "topology" not in a and a["bw"] == "1000Mbps" and a["bb_bw"] == "2000Mbps", a
    a = cluster_attrs(simplatform.cluster(4, star=True))
    assert "topology" not in a and a["radical"] == "0-3", a
    for bad in (lambda: simplatform.cluster(0), lambda: simplatform.square_side(15),
                lambda: simplatform.fat_tree_params(20)):
        try:
            bad()
        except ValueError:
            pass
        else:
            raise AssertionError("no ValueError")
    assert simplatform.hostfile(3) == "node0\nnode1\nnode2\n"
    assert simplatform.square_side(1024) == 32
    rows = [{"app": "heat2d", "mode": "task", "ranks": 16, "ms_per_iter": "0.2", "x": 1},
            {"app": "halo_bench", "mode": "bsp", "ranks": 64}]
    with tempfile.TemporaryDirectory(prefix="sim-test-") as d:
        p = os.path.join(d, "s.csv")
        simplatform.write_csv(p, rows)
        back = simplatform.read_csv(p)
        assert list(back[0]) == simplatform.CSV_FIELDS, list(back[0])
        assert back[0]["ranks"] == "16" and back[1]["ms_per_iter"] == "" and len(back) == 2
    print("simplatform: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
