/* SPDX-License-Identifier: MIT */
/**
 * @file rt_context.c
 * @brief The StarPU-MPI context: MPI init if needed, placement defaults from hwloc and the
 * node-local rank count, starpu_mpi_init_conf, and orderly shutdown.
 *
 * Environment variables the user sets (STARPU_NCPU, STARPU_SCHED, STARPU_WORKERS_NOBIND,
 * STARPU_MPI_NOBIND, STARPU_MPI_THREAD_CPUID) always win over the computed defaults
 * (docs/LAUNCH.md).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hwloc.h>

#include "mpi_status.h"
#include "runtime_internal.h"

void starhalo_context_conf_init(starhalo_context_conf_t *conf)
{
    if (!conf)
        return;
    conf->comm = MPI_COMM_WORLD;
    conf->ncpus = -1;
    conf->sched = NULL;
    conf->bind_workers = -1;
}

static int count_cores(void)
{
    hwloc_topology_t topo;
    int n = 0;
    if (hwloc_topology_init(&topo) == 0) {
        if (hwloc_topology_load(topo) == 0)
            n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
        hwloc_topology_destroy(topo);
    }
    return n > 0 ? n : 1;
}

/* MPI_Init_thread unless the caller did; StarPU-MPI needs MPI_THREAD_SERIALIZED. */
static starhalo_status_t init_mpi(int *we_init, int *level)
{
    int inited = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&inited);
    *we_init = 0;
    if (!inited) {
        /* MULTIPLE lets the direct transport call MPI from worker threads; SERIALIZED is
         * all StarPU-MPI itself needs. */
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_MULTIPLE, &provided) != MPI_SUCCESS)
            return starhalo_error_set(STARHALO_ERR_MPI, "MPI_Init_thread failed");
        *we_init = 1;
    } else {
        MPI_Query_thread(&provided);
    }
    *level = provided;
    if (provided < MPI_THREAD_SERIALIZED)
        return starhalo_error_set(STARHALO_ERR_MPI,
                                  "MPI provides thread level %d; StarPU-MPI needs "
                                  "MPI_THREAD_SERIALIZED (%d)",
                                  provided, MPI_THREAD_SERIALIZED);
    return STARHALO_OK;
}

static void set_default_env(const char *name, const char *value)
{
    setenv(name, value, 0); /* 0: the user's own setting wins */
}

static void fill_starpu_conf(starhalo_context_t *ctx, const starhalo_context_conf_t *cc,
                             struct starpu_conf *sc)
{
    const starhalo__placement_t *p = &ctx->placement;
    if (!getenv("STARPU_NCPU") || cc->ncpus > 0)
        sc->ncpus = p->ncpus;
    if (cc->sched)
        sc->sched_policy_name = cc->sched;
    else if (!getenv("STARPU_SCHED"))
        sc->sched_policy_name = "prio"; /* central priority queue: see docs/LAUNCH.md */
    if (p->bind_workers && !getenv("STARPU_WORKERS_NOBIND")) {
        const int ncores = count_cores();
        sc->use_explicit_workers_bindid = 1;
        for (int i = 0; i < STARPU_NMAXWORKERS; i++)
            sc->workers_bindid[i] = (unsigned)((p->first_core + i) % ncores);
    } else if (!p->bind_workers) {
        set_default_env("STARPU_WORKERS_NOBIND", "1");
    }
    if (p->mpi_nobind) {
        set_default_env("STARPU_MPI_NOBIND", "1");
    } else {
        char cpu[16];
        snprintf(cpu, sizeof cpu, "%d", p->first_core + p->ncpus);
        set_default_env("STARPU_MPI_THREAD_CPUID", cpu);
    }
}

/* The TCP BTL's eager limit through the MPI tool interface (0 if this MPI has none): whole
 * messages up to it go eagerly, larger ones by rendezvous, whose handshake travels in-band. */
static int64_t tcp_eager_limit(void)
{
#ifdef STARHALO_SIMGRID
    return 0; /* SMPI has no tool interface; the direct transport's chunks are not simulated */
#else
    int provided, idx, count, nlen = 0, dlen = 0, verb, bind, scope;
    int64_t limit = 0;
    int level = MPI_THREAD_SINGLE;
    /* Ask for the level MPI runs at: Open MPI 4.1 makes MPI_Query_thread report the level
     * requested here afterwards (seen: MULTIPLE became SINGLE). */
    MPI_Query_thread(&level);
    if (MPI_T_init_thread(level, &provided) != MPI_SUCCESS)
        return 0;
    MPI_Datatype dt;
    MPI_T_enum et;
    MPI_T_cvar_handle h;
    if (MPI_T_cvar_get_index("btl_tcp_eager_limit", &idx) == MPI_SUCCESS &&
        MPI_T_cvar_get_info(idx, NULL, &nlen, &verb, &dt, &et, NULL, &dlen, &bind, &scope) ==
            MPI_SUCCESS &&
        MPI_T_cvar_handle_alloc(idx, NULL, &h, &count) == MPI_SUCCESS) {
        unsigned char buf[16] = {0};
        int size = 0;
        MPI_Type_size(dt, &size);
        if (count == 1 && (size == 4 || size == 8) && MPI_T_cvar_read(h, buf) == MPI_SUCCESS) {
            uint64_t v = 0;
            if (size == 4) {
                uint32_t v32;
                memcpy(&v32, buf, 4);
                v = v32;
            } else {
                memcpy(&v, buf, 8);
            }
            limit = v < INT32_MAX ? (int64_t)v : 0;
        }
        MPI_T_cvar_handle_free(&h);
    }
    MPI_T_finalize();
    return limit;
#endif
}

/* Which ranks share this node, and the chunk size of messages to the others. */
static starhalo_status_t setup_chunks(starhalo_context_t *ctx, MPI_Comm node)
{
    ctx->on_node = calloc((size_t)ctx->size, 1);
    int *all = malloc((size_t)ctx->size * sizeof(int)),
        *mine = malloc((size_t)ctx->size * sizeof(int));
    if (!ctx->on_node || !all || !mine) {
        free(all);
        free(mine);
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "context_create: no memory");
    }
#ifdef STARHALO_SIMGRID
    (void)node;
    for (int r = 0; r < ctx->size; r++)
        ctx->on_node[r] = r == ctx->rank;
#else
    MPI_Group g_all, g_node;
    MPI_Comm_group(ctx->comm, &g_all);
    MPI_Comm_group(node, &g_node);
    for (int r = 0; r < ctx->size; r++)
        all[r] = r;
    MPI_Group_translate_ranks(g_all, ctx->size, all, g_node, mine);
    for (int r = 0; r < ctx->size; r++)
        ctx->on_node[r] = mine[r] != MPI_UNDEFINED;
    MPI_Group_free(&g_all);
    MPI_Group_free(&g_node);
#endif
    free(all);
    free(mine);
    /* A chunk leaves room for the PML's match header inside the eager limit. */
    const int64_t eager = tcp_eager_limit();
    const int64_t auto_chunk = eager > 1024 ? (eager - 64) & ~(int64_t)63 : 0;
    ctx->chunk_all = getenv("STARHALO_CHUNK_BYTES") != NULL;
    ctx->chunk_bytes = starhalo__env_int64("STARHALO_CHUNK_BYTES", auto_chunk, INT32_MAX);
    return STARHALO_OK;
}

int64_t starhalo__env_int64(const char *name, int64_t dflt, int64_t max)
{
    const char *env = getenv(name);
    char *end = NULL;
    const long long v = env ? strtoll(env, &end, 10) : -1;
    return env && end != env && *end == '\0' && v >= 0 && v <= max ? (int64_t)v : dflt;
}

/* Called by every idle CPU worker between polls. Debian's StarPU workers spin without giving
 * up the core; while the main thread runs an exchange itself (starhalo_exchange_run), Open MPI
 * yields the core in MPI_Waitall on an oversubscribed node and the spinning worker would keep
 * it for a whole time slice (4 ms measured). So idle workers yield while an inline exchange is
 * in progress, and spin as before otherwise. With more ranks than cores on the node even the
 * yields cost (each is a switch between the rank's worker and the threads that exchange:
 * 4 ranks on 2 cores, 2.0x raw MPI per exchange with yields, 1.29x with 1 ms naps, 1.45x
 * with 0.3 ms; docs/PERFORMANCE.md): there idle workers nap instead, so a task that becomes
 * ready during an inline run waits at most one nap. Worker-side parking that the main thread
 * ends (a condition variable, starpu_pause) measured no better or far worse. */
static unsigned idle_hook(void *arg)
{
    const starhalo_context_t *ctx = arg;
    if (__atomic_load_n(&ctx->inline_runs, __ATOMIC_RELAXED) > 0) {
#ifndef STARHALO_SIMGRID /* a simulated worker must not sleep in real time */
        if (ctx->inline_nap_us > 0) {
            const struct timespec nap = {ctx->inline_nap_us / 1000000,
                                         (ctx->inline_nap_us % 1000000) * 1000};
            nanosleep(&nap, NULL);
            return 1;
        }
#endif
        sched_yield();
    } else if (ctx->idle_yield || __atomic_load_n(&ctx->host_waits, __ATOMIC_RELAXED) > 0) {
        /* Yields, not naps: the task the host submits after its collective must start at
         * once (a batch norm's normalisation after its statistics). */
        sched_yield();
    }
    return 1;
}

starhalo_status_t starhalo_context_create(const starhalo_context_conf_t *conf,
                                          starhalo_context_t **out)
{
    STARHALO_REQUIRE(out, STARHALO_ERR_INVALID_ARG, "context_create: out is NULL");
    *out = NULL;
    starhalo_context_conf_t cc;
    starhalo_context_conf_init(&cc);
    if (conf)
        cc = *conf;
    STARHALO_REQUIRE(cc.comm != MPI_COMM_NULL, STARHALO_ERR_INVALID_ARG,
                     "context_create: comm is MPI_COMM_NULL");
    STARHALO_REQUIRE(cc.ncpus == -1 || (cc.ncpus > 0 && cc.ncpus <= STARPU_MAXCPUS),
                     STARHALO_ERR_INVALID_ARG, "ncpus %d: use -1 (default) or 1..%d", cc.ncpus,
                     STARPU_MAXCPUS);
    starhalo_context_t *ctx = calloc(1, sizeof(*ctx));
    STARHALO_REQUIRE(ctx, STARHALO_ERR_NO_MEMORY, "context_create: no memory");
    starhalo_status_t rc = init_mpi(&ctx->we_init_mpi, &ctx->thread_level);
    if (rc != STARHALO_OK) {
        free(ctx);
        return rc;
    }
    ctx->comm = cc.comm;
    /* The private communicator returns errors instead of aborting: the direct transport maps
     * them to statuses (docs/RUNTIME.md, "MPI errors"). */
    rc = starhalo__mpi_comm_dup_returning(ctx->comm, &ctx->dcomm);
    if (rc != STARHALO_OK) {
        if (ctx->we_init_mpi)
            MPI_Finalize();
        free(ctx);
        return rc;
    }
    MPI_Comm_rank(ctx->comm, &ctx->rank);
    MPI_Comm_size(ctx->comm, &ctx->size);
#ifdef STARHALO_SIMGRID
    /* Simulated: one rank per simulated host (docs/SIMULATION.md); SMPI gives the main()
     * actor no shared-memory communicator. */
    ctx->local_rank = 0;
    ctx->nlocal = 1;
    rc = setup_chunks(ctx, MPI_COMM_NULL);
#else
    MPI_Comm node;
    MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &ctx->local_rank);
    MPI_Comm_size(node, &ctx->nlocal);
    rc = setup_chunks(ctx, node);
    MPI_Comm_free(&node);
#endif
    if (rc != STARHALO_OK)
        goto fail;
    ctx->ncores = count_cores();
    ctx->placement = starhalo__placement_compute(ctx->ncores, ctx->nlocal, ctx->local_rank,
                                                 ctx->size, cc.ncpus, cc.bind_workers);

    struct starpu_conf sc;
    starpu_conf_init(&sc);
    fill_starpu_conf(ctx, &cc, &sc);
    rc = starhalo__starpu_status(starpu_mpi_init_conf(NULL, NULL, 0, ctx->comm, &sc),
                                 "starpu_mpi_init_conf");
    if (rc != STARHALO_OK)
        goto fail;
    starpu_void_data_register(&ctx->token);
    ctx->ncpus = (int)starpu_cpu_worker_get_count();
    starhalo__progress_init(&ctx->progress);
    ctx->idle_yield = starhalo__env_int64("STARHALO_IDLE_YIELD", 0, 1) == 1;
    ctx->inline_nap_us =
        starhalo__env_int64("STARHALO_INLINE_NAP_US", ctx->nlocal > ctx->ncores ? 1000 : 0, 100000);
    ctx->idle_hook = starpu_idle_hook_register(idle_hook, ctx);

    int *mpi_ub = NULL, flag = 0;
    MPI_Comm_get_attr(ctx->comm, MPI_TAG_UB, &mpi_ub, &flag);
    ctx->tag_ub = flag && mpi_ub ? *mpi_ub : 32767;
    int64_t *sp_ub = NULL;
    flag = 0;
    if (starpu_mpi_comm_get_attr(ctx->comm, STARPU_MPI_TAG_UB, &sp_ub, &flag) == 0 && flag &&
        sp_ub && *sp_ub < ctx->tag_ub)
        ctx->tag_ub = *sp_ub;
    ctx->free_tags = malloc(sizeof(*ctx->free_tags));
    if (!ctx->free_tags) {
        starhalo__progress_fini(&ctx->progress);
        starpu_data_unregister(ctx->token);
        if (ctx->idle_hook >= 0)
            starpu_idle_hook_deregister(ctx->idle_hook);
        starpu_mpi_shutdown();
        rc = starhalo_error_set(STARHALO_ERR_NO_MEMORY, "context_create: no memory");
        goto fail;
    }
    ctx->free_tags[0].lo = STARHALO__TAG_FIRST;
    ctx->free_tags[0].hi = ctx->tag_ub + 1;
    ctx->nfree_tags = ctx->tag_ub >= STARHALO__TAG_FIRST ? 1 : 0;
    *out = ctx;
    return STARHALO_OK;
fail:
    MPI_Comm_free(&ctx->dcomm);
    free(ctx->on_node);
    if (ctx->we_init_mpi)
        MPI_Finalize();
    free(ctx);
    return rc;
}

void starhalo_context_destroy(starhalo_context_t *ctx)
{
    if (!ctx)
        return;
    if (starhalo_context_wait_all(ctx) != STARHALO_OK)
        starpu_task_wait_for_all(); /* best effort: destroy cannot report */
    starpu_data_unregister(ctx->token);
    starhalo__progress_fini(&ctx->progress); /* before MPI goes: it calls MPI_Testsome */
    if (ctx->idle_hook >= 0)
        starpu_idle_hook_deregister(ctx->idle_hook);
    starpu_mpi_shutdown();
    MPI_Comm_free(&ctx->dcomm);
    if (ctx->we_init_mpi)
        MPI_Finalize();
    free(ctx->free_tags);
    free(ctx->on_node);
    free(ctx);
}

int starhalo_context_rank(const starhalo_context_t *ctx)
{
    return ctx ? ctx->rank : -1;
}

int starhalo_context_size(const starhalo_context_t *ctx)
{
    return ctx ? ctx->size : 0;
}

MPI_Comm starhalo_context_comm(const starhalo_context_t *ctx)
{
    return ctx ? ctx->comm : MPI_COMM_NULL;
}

int starhalo_context_ncpus(const starhalo_context_t *ctx)
{
    return ctx ? ctx->ncpus : 0;
}

starhalo_status_t starhalo_context_wait_all(starhalo_context_t *ctx)
{
    STARHALO_REQUIRE(ctx, STARHALO_ERR_INVALID_ARG, "context_wait_all: ctx is NULL");
    if (starpu_task_wait_for_all() != 0)
        return starhalo_error_set(STARHALO_ERR_STARPU, "starpu_task_wait_for_all failed");
    /* Detached sends and receives are not tasks: wait for each live exchange's counter. */
    for (rt_pending_t *p = ctx->in_flight; p; p = p->next)
        starhalo__pending_wait(p);
    return STARHALO_OK;
}

void starhalo__context_track(starhalo_context_t *ctx, rt_pending_t *p)
{
    p->next = ctx->in_flight;
    ctx->in_flight = p;
}

void starhalo__context_untrack(starhalo_context_t *ctx, rt_pending_t *p)
{
    for (rt_pending_t **q = &ctx->in_flight; *q; q = &(*q)->next)
        if (*q == p) {
            *q = p->next;
            return;
        }
}

void starhalo__context_inline_enter(starhalo_context_t *ctx)
{
    __atomic_add_fetch(&ctx->inline_runs, 1, __ATOMIC_RELAXED);
}

void starhalo__context_inline_leave(starhalo_context_t *ctx)
{
    __atomic_sub_fetch(&ctx->inline_runs, 1, __ATOMIC_RELAXED);
}

void starhalo_context_host_wait_begin(starhalo_context_t *ctx)
{
    if (ctx)
        __atomic_add_fetch(&ctx->host_waits, 1, __ATOMIC_RELAXED);
}

void starhalo_context_host_wait_end(starhalo_context_t *ctx)
{
    if (ctx)
        __atomic_sub_fetch(&ctx->host_waits, 1, __ATOMIC_RELAXED);
}
