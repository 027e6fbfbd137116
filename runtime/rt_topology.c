/* SPDX-License-Identifier: MIT */
/**
 * @file rt_topology.c
 * @brief Launch placement: how many CPU workers a rank starts, whether they are bound, and
 * where the StarPU-MPI progress thread goes, from the core count and the ranks per node.
 *
 * Pure function so that it can be tested without hwloc or MPI. The rules come from the
 * measurements in docs/LAUNCH.md: spinning StarPU workers plus a polling MPI thread must not
 * outnumber the cores, or every message costs tens of microseconds to milliseconds.
 */
#include "runtime_internal.h"

starhalo__placement_t starhalo__placement_compute(int ncores, int nlocal, int local_rank,
                                                  int nranks, int conf_ncpus, int conf_bind)
{
    starhalo__placement_t p = {1, 0, 0, 1};
    if (ncores < 1)
        ncores = 1;
    if (nlocal < 1)
        nlocal = 1;
    if (local_rank < 0 || local_rank >= nlocal)
        local_rank = 0;
    const int per_rank = ncores / nlocal; /* 0 when oversubscribed */
    if (nranks <= 1) {
        /* No MPI traffic: the progress thread sleeps, every core runs a worker. */
        p.ncpus = ncores;
        p.bind_workers = 1;
        p.first_core = 0;
        p.mpi_nobind = 1;
    } else if (per_rank >= 3) {
        /* Enough cores: reserve the slice's last core for the progress thread. */
        p.ncpus = per_rank - 1;
        p.bind_workers = 1;
        p.first_core = local_rank * per_rank;
        p.mpi_nobind = 0;
    } else {
        /* 1-2 cores per rank (or fewer): one worker, nothing bound, so the worker, the
         * progress thread and the main thread migrate to whichever core is idle. */
        p.ncpus = 1;
        p.bind_workers = 0;
        p.first_core = per_rank >= 1 ? local_rank * per_rank : 0;
        p.mpi_nobind = 1;
    }
    if (conf_ncpus > 0)
        p.ncpus = conf_ncpus;
    if (conf_bind == 0 || conf_bind == 1)
        p.bind_workers = conf_bind;
    return p;
}
