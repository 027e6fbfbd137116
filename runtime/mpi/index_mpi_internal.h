/* SPDX-License-Identifier: MIT */
/**
 * @file index_mpi_internal.h
 * @brief Compatibility name for rt_index_exchange.c, which includes it for
 * starhalo__mpi_agree: the MPI layer's shared declarations are in mpi_status.h (statuses,
 * agreement) and mpi_requests.h (request sets, the message-tag scheme). Include those instead;
 * this header goes once no file includes it.
 */
#ifndef STARHALO_INDEX_MPI_INTERNAL_H
#define STARHALO_INDEX_MPI_INTERNAL_H

#include "mpi_status.h"

#endif
