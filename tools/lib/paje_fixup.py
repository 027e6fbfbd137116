#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""@file paje_fixup.py
@brief Declares the thread containers that starpu_fxt_tool 1.3.10 uses without creating them.

When the StarPU-MPI progress thread pushes a task ("Sc" state), starpu_fxt_tool writes its user
thread states to "<rank>_t<tid>", but that thread was registered as the MPI thread, so no
PajeCreateContainer is written for it: ViTE reports "Unknown container" errors and pj_dump
stops. This adds one container of type UT per such thread right after its rank's program
container "<rank>_p" is created. Usage: paje_fixup.py paje.trace (rewritten in place); prints
the number of containers added. Python 3 standard library only.
"""
import os
import re
import sys


def fixup(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.readlines()
    created, used = set(), {}
    for line in lines:
        fields = line.split()
        if not fields or line.startswith("%"):
            continue
        if fields[0] == "7" and len(fields) > 2:
            created.add(fields[2])
        elif fields[0] in ("10", "11", "12") and len(fields) > 2:
            m = re.match(r"(\d+)_t(\d+)$", fields[2])
            if m:
                used.setdefault(fields[2], (m.group(1), m.group(2)))
    missing = {alias: rt for alias, rt in used.items() if alias not in created}
    if not missing:
        return 0
    out = []
    for line in lines:
        out.append(line)
        fields = line.split()
        if len(fields) > 2 and fields[0] == "7" and re.match(r"\d+_p$", fields[2]):
            rank = fields[2][:-2]
            for alias, (r, tid) in sorted(missing.items()):
                if r == rank:
                    out.append("7\t%s\t%s\tUT\t%s_p\t%s_Thread%s\n" % (fields[1], alias, r, r, tid))
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(out)
    os.replace(tmp, path)
    return len(missing)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("paje_fixup.py: error: usage: paje_fixup.py paje.trace", file=sys.stderr)
        sys.exit(2)
    print(fixup(sys.argv[1]))
