# SPDX-License-Identifier: MIT
"""Helpers shared by tools/bench-conv, tools/bench-overlap and tools/scale: run one halo_bench
job, read its per-rank median time and validation verdict, summarise interleaved samples,
reshape the links of a tools/cluster."""
import os
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "tools", "cluster")

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


RATE_RE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kmgt]?)(bit|bps)$")


def parse_rate(text):
    """A tc rate ("1gbit", "200mbit", "100mbps": bytes) in bit/s; None for "none"."""
    if text == "none":
        return None
    m = RATE_RE.match(text)
    if not m:
        raise ValueError(f"rate must look like 1gbit, 200mbit or 100mbps (or none), got '{text}'")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2)]
    return float(m.group(1)) * scale * (8 if m.group(3) == "bps" else 1)


def shape(rate, mtu):
    """Inside a tools/cluster command: every link direction to `rate` bit/s (None: unshaped).
    The burst is small against the messages (about 1 ms of the rate, at least MTU + 1 KiB: tbf
    drops longer packets) so that an idle link does not let a whole message pass unshaped; the
    500 ms queue keeps TCP from drops. Returns the burst in bytes (0 when unshaped)."""
    if rate is None:
        subprocess.run([CLUSTER, "--reshape", "--rate", "none"], check=True)
        return 0
    burst = max(mtu + 1024, int(rate / 8 / 1000))
    subprocess.run([CLUSTER, "--reshape", "--rate", f"{int(rate)}bit", "--burst", str(burst),
                    "--latency", "500ms"], check=True)
    return burst
