/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo.h
 * @brief Umbrella header: everything an application of starhalo uses.
 *
 * StarPU-free users (geometry only) can include starhalo_plan.h and starhalo_index.h alone;
 * they need neither MPI nor StarPU headers.
 */
#ifndef STARHALO_H
#define STARHALO_H

#include <starhalo/starhalo_error.h>
#include <starhalo/starhalo_types.h>
#include <starhalo/starhalo_plan.h>
#include <starhalo/starhalo_tile.h>
#include <starhalo/starhalo_index.h>
#include <starhalo/starhalo_runtime.h>
#include <starhalo/starhalo_mpi_exchange.h>
#include <starhalo/starhalo_index_starpu.h>
#include <starhalo/starhalo_kernels.h>
#include <starhalo/starhalo_compute.h>
#include <starhalo/starhalo_cnn.h>
#include <starhalo/starhalo_starpu.h>
#include <starhalo/starhalo_npy.h>
#include <starhalo/starhalo_checkpoint.h>

#endif
