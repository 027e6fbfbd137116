/* SPDX-License-Identifier: MIT */
/**
 * @file hb_transport_starpu.c
 * @brief The transport under test: a starhalo context, one field over the decomposition and
 * one reusable exchange (starhalo_runtime.h only). One timed exchange = submit + wait, or
 * starhalo_exchange_run with --call run.
 */
#include "halo_bench.h"

#include <stdlib.h>
#include <string.h>

#include <starhalo/starhalo_runtime.h>

struct hb_transport {
    starhalo_context_t *ctx;
    starhalo_field_t *field;
    starhalo_exchange_t *ex;
    int call_run;
};

static void sp_destroy(hb_transport_t *t)
{
    if (!t)
        return;
    starhalo_exchange_destroy(t->ex);
    starhalo_field_destroy(t->field);
    starhalo_context_destroy(t->ctx);
    free(t);
}

static starhalo_transport_t runtime_transport(const hb_options_t *o)
{
    if (strcmp(o->runtime_transport, "starpu-mpi") == 0)
        return STARHALO_TRANSPORT_STARPU_MPI;
    if (strcmp(o->runtime_transport, "direct") == 0)
        return STARHALO_TRANSPORT_DIRECT_MPI;
    return STARHALO_TRANSPORT_DEFAULT;
}

static starhalo_status_t sp_create(const hb_options_t *o, const starhalo_decomp_t *decomp,
                                   MPI_Comm comm, hb_transport_t **out)
{
    *out = NULL;
    hb_transport_t *t = calloc(1, sizeof *t);
    STARHALO_REQUIRE(t, STARHALO_ERR_NO_MEMORY, "cannot allocate the StarPU transport");
    t->call_run = o->call_run;
    starhalo_context_conf_t conf;
    starhalo_context_conf_init(&conf);
    conf.comm = comm;
    starhalo_status_t st = starhalo_context_create(&conf, &t->ctx);
    /* NULL mapping = contiguous blocks of parts_per_rank parts, as the MPI transport. */
    if (st == STARHALO_OK)
        st = starhalo_field_create(t->ctx, decomp, NULL, o->dtype, &t->field);
    if (st == STARHALO_OK)
        st = starhalo_exchange_create(t->ctx, &t->field, 1, runtime_transport(o), &t->ex);
    if (st != STARHALO_OK) {
        sp_destroy(t);
        return st;
    }
    *out = t;
    return STARHALO_OK;
}

static starhalo_status_t sp_exchange(hb_transport_t *t)
{
    if (t->call_run)
        return starhalo_exchange_run(t->ex);
    STARHALO_CHECK(starhalo_exchange_submit(t->ex));
    return starhalo_exchange_wait(t->ex);
}

static starhalo_status_t sp_acquire(hb_transport_t *t, int part, int write, void **ptr)
{
    STARHALO_CHECK(starhalo_field_acquire(t->field, part, write));
    return starhalo_field_part_data(t->field, part, ptr);
}

static starhalo_status_t sp_release(hb_transport_t *t, int part)
{
    return starhalo_field_release(t->field, part);
}

const hb_transport_ops_t hb_transport_starpu_ops = {
    .create = sp_create,
    .exchange = sp_exchange,
    .acquire = sp_acquire,
    .release = sp_release,
    .destroy = sp_destroy,
};

starhalo_context_t *hb_transport_starpu_context(hb_transport_t *t)
{
    return t ? t->ctx : NULL;
}

starhalo_field_t *hb_transport_starpu_field(hb_transport_t *t)
{
    return t ? t->field : NULL;
}

starhalo_exchange_t *hb_transport_starpu_exchange(hb_transport_t *t)
{
    return t ? t->ex : NULL;
}
