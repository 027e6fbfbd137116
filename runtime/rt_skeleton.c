/* SPDX-License-Identifier: MIT */
/**
 * @file rt_skeleton.c
 * @brief Temporary link stubs of the runtime API (replaced by rt_context.c, rt_field.c,
 * rt_exchange.c); every function returns STARHALO_ERR_UNSUPPORTED.
 */
#include <stddef.h>

#include <starhalo/starhalo_runtime.h>

void starhalo_context_conf_init(starhalo_context_conf_t *conf)
{
    if (!conf)
        return;
    conf->comm = MPI_COMM_WORLD;
    conf->ncpus = -1;
    conf->sched = NULL;
    conf->bind_workers = -1;
}

starhalo_status_t starhalo_context_create(const starhalo_context_conf_t *conf,
                                          starhalo_context_t **out)
{
    (void)conf;
    if (out)
        *out = NULL;
    return starhalo__error_set(STARHALO_ERR_UNSUPPORTED, "runtime not implemented yet");
}

void starhalo_context_destroy(starhalo_context_t *ctx)
{
    (void)ctx;
}

int starhalo_context_rank(const starhalo_context_t *ctx)
{
    (void)ctx;
    return -1;
}

int starhalo_context_size(const starhalo_context_t *ctx)
{
    (void)ctx;
    return 0;
}

MPI_Comm starhalo_context_comm(const starhalo_context_t *ctx)
{
    (void)ctx;
    return MPI_COMM_NULL;
}

int starhalo_context_ncpus(const starhalo_context_t *ctx)
{
    (void)ctx;
    return 0;
}

starhalo_status_t starhalo_context_wait_all(starhalo_context_t *ctx)
{
    (void)ctx;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_field_create(starhalo_context_t *ctx, const starhalo_decomp_t *decomp,
                                        const int *part_rank, starhalo_dtype_t dtype,
                                        starhalo_field_t **out)
{
    (void)ctx;
    (void)decomp;
    (void)part_rank;
    (void)dtype;
    if (out)
        *out = NULL;
    return STARHALO_ERR_UNSUPPORTED;
}

void starhalo_field_destroy(starhalo_field_t *field)
{
    (void)field;
}

const starhalo_decomp_t *starhalo_field_decomp(const starhalo_field_t *field)
{
    (void)field;
    return NULL;
}

starhalo_dtype_t starhalo_field_dtype(const starhalo_field_t *field)
{
    (void)field;
    return STARHALO_FLOAT32;
}

int starhalo_field_part_rank(const starhalo_field_t *field, int part)
{
    (void)field;
    (void)part;
    return -1;
}

int starhalo_field_local_parts(const starhalo_field_t *field, int *parts)
{
    (void)field;
    (void)parts;
    return 0;
}

const starhalo_part_plan_t *starhalo_field_part_plan(const starhalo_field_t *field, int part)
{
    (void)field;
    (void)part;
    return NULL;
}

starhalo_status_t starhalo_field_part_data(starhalo_field_t *field, int part, void **ptr)
{
    (void)field;
    (void)part;
    if (ptr)
        *ptr = NULL;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_field_acquire(starhalo_field_t *field, int part, int write)
{
    (void)field;
    (void)part;
    (void)write;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_field_release(starhalo_field_t *field, int part)
{
    (void)field;
    (void)part;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_create(starhalo_context_t *ctx, starhalo_field_t *const *fields,
                                           int nfields, starhalo_transport_t transport,
                                           starhalo_exchange_t **out)
{
    (void)ctx;
    (void)fields;
    (void)nfields;
    (void)transport;
    if (out)
        *out = NULL;
    return STARHALO_ERR_UNSUPPORTED;
}

void starhalo_exchange_destroy(starhalo_exchange_t *ex)
{
    (void)ex;
}

starhalo_status_t starhalo_exchange_begin(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_end(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_submit(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_begin_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    (void)ex;
    (void)op;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_end_reverse(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_submit_reverse(starhalo_exchange_t *ex, starhalo_reduce_op_t op)
{
    (void)ex;
    (void)op;
    return STARHALO_ERR_UNSUPPORTED;
}

starhalo_status_t starhalo_exchange_wait(starhalo_exchange_t *ex)
{
    (void)ex;
    return STARHALO_ERR_UNSUPPORTED;
}
