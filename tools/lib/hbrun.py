# SPDX-License-Identifier: MIT
"""Helpers shared by tools/bench-conv and tools/bench-overlap: run one halo_bench job, read
its per-rank median time and validation verdict, summarise interleaved samples."""
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# tools/env.sh: Open MPI as root, oversubscription allowed, StarPU quiet.
BASE_ENV = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1",
    "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "STARPU_SILENT": "1",
}

MEDIAN_RE = re.compile(r"^Rank:(\d+) Median time \(ms\):([0-9.]+)$", re.M)


def base_env(build):
    env = dict(os.environ)
    env.update(BASE_ENV)
    env.setdefault("STARPU_HOME", os.path.join(build, "starpu-home"))
    return env


def halo_bench(build):
    exe = os.path.join(build, "apps", "halo_bench", "halo_bench")
    if not os.access(exe, os.X_OK):
        raise SystemExit(f"error: {exe} not found: build first (cmake --build {build})")
    return exe


def run(cmd, env, timeout, log=None):
    """Run one job; return (time_ms, output): the slowest rank's median per-iteration time,
    None when the job failed, timed out or printed no median."""
    try:
        # stdin: mpirun would forward it to rank 0 and eat the caller's input.
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=timeout)
        out, rc = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out, rc = out + "\n[timeout]", 124
    if log:
        log.write("$ " + " ".join(cmd) + "\n" + out + f"[exit {rc}]\n")
        log.flush()
    meds = [float(m.group(2)) for m in MEDIAN_RE.finditer(out)]
    if rc != 0 or not meds or "Validation failed" in out:
        return None, out
    return max(meds), out


def load():
    return os.getloadavg()[0]


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")
