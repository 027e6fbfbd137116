/* SPDX-License-Identifier: MIT */
/**
 * @file hb_options.c
 * @brief halo_bench command line: MPI4DL's options and defaults, the added ones, and the
 * checks that every rank runs identically before any communication.
 */
#include "halo_bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    /* The message quotes arguments; a control character in one (a newline) would split the
     * one error line every rank's output is checked for (found by tests/fuzz). */
    for (char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

const char *hb_transport_name(hb_transport_kind_t t)
{
    return t == HB_TRANSPORT_MPI ? "mpi" : "starpu";
}

void hb_options_usage(void)
{
    printf(
        "usage: halo_bench [-h] [--fp16-allreduce] [--image-size IMAGE_SIZE] "
        "[--batch-size BATCH_SIZE] [--halo-len HALO_LEN] [--in-channels IN_CHANNELS]\n"
        "                  [--warmup WARMUP] [--iterations ITERATIONS] "
        "[--out-channels OUT_CHANNELS] [--num-spatial-parts NUM_SPATIAL_PARTS]\n"
        "                  [--slice-method {square,vertical,horizontal}] "
        "[--transport {starpu,mpi}] [--runtime-transport {auto,starpu-mpi,direct}]\n"
        "                  [--call {submit,run}]\n"
        "                  [--validate] [--parts-per-rank K] "
        "[--csv FILE] [--dump DIR] [--periodic] "
        "[--dtype {float32,float64}]\n"
        "                  [--with-compute] [--mode {task,bsp}] [--skip-exchange] [--bands B]\n"
        "\n"
        "Halo exchange benchmark (MPI4DL benchmark_sp_halo_exchange.py options and output)\n"
        "\n"
        "optional arguments:\n"
        "  -h, --help            show this help message and exit\n"
        "  --fp16-allreduce      use fp16 compression during allreduce (default: False);\n"
        "                        accepted for compatibility, has no effect (no allreduce)\n"
        "  --image-size IMAGE_SIZE\n"
        "                        Full image size (default: 8)\n"
        "  --batch-size BATCH_SIZE\n"
        "                        input batch size (default: 1)\n"
        "  --halo-len HALO_LEN   halo length (default: 1)\n"
        "  --in-channels IN_CHANNELS\n"
        "                        Number of channels in the input (default: 1)\n"
        "  --warmup WARMUP       warmups (default: 10)\n"
        "  --iterations ITERATIONS\n"
        "                        Iterations (default: 100)\n"
        "  --out-channels OUT_CHANNELS\n"
        "                        number of output channels (default: 256); accepted, no\n"
        "                        effect (only MPI4DL's exchange+conv variant uses it)\n"
        "  --num-spatial-parts NUM_SPATIAL_PARTS\n"
        "                        Number of partitions in spatial parallelism (default: 4);\n"
        "                        must equal ranks x parts-per-rank\n"
        "  --slice-method SLICE_METHOD\n"
        "                        Slice method (square, vertical, and horizontal) in Spatial\n"
        "                        parallelism (default: square)\n"
        "\n"
        "added by starhalo:\n"
        "  --transport {starpu,mpi}\n"
        "                        starpu: starhalo_exchange (StarPU-MPI tasks); mpi: hand-written\n"
        "                        Irecv/Isend/Waitall reference, one message per neighbour\n"
        "                        (default: starpu)\n"
        "  --call {submit,run}   with --transport starpu, one timed exchange is: run =\n"
        "                        starhalo_exchange_run (blocking: the calling thread\n"
        "                        exchanges itself when the tiles are idle, else tasks);\n"
        "                        submit = starhalo_exchange_submit + starhalo_exchange_wait\n"
        "                        (tasks) (default: run, the faster one: docs/PERFORMANCE.md)\n"
        "  --validate            after the timed loop refill the tiles, exchange once more and\n"
        "                        check every cell (owned and ghost) against the global-index\n"
        "                        oracle; without it only the ghost cells after the timed loop\n"
        "                        are checked. A failure exits non-zero.\n"
        "  --parts-per-rank K    parts per rank (default: 1); parts on one rank exchange locally\n"
        "  --csv FILE            append one line per run (config, per-rank mean/median, max)\n"
        "  --dump DIR            write each part's ghosted tile after the last exchange as\n"
        "                        DIR/part_<index>.npy (NumPy v1.0, shape (N, C, gh, gw))\n"
        "  --periodic            wrap both spatial dimensions (default: zero-padded borders)\n"
        "  --dtype {float32,float64}\n"
        "                        element type (default: float32)\n"
        "  --with-compute        MPI4DL's benchmark_sp_halo_exchange_with_compute: each timed\n"
        "                        iteration is the exchange plus a conv layer (kernel 2*halo+1,\n"
        "                        in-channels -> out-channels, stride 1, padding halo, float32,\n"
        "                        seeded input and weights). --validate then compares the output\n"
        "                        gathered on rank 0 with a single-rank conv of the whole image\n"
        "                        (relative error <= 1e-5); --dump writes DIR/input.npy,\n"
        "                        DIR/weights.npy and DIR/output.npy from rank 0\n"
        "  --mode {task,bsp}     with --with-compute and --transport starpu: task = interior conv\n"
        "                        tasks run while the halos travel, boundary after the unpack;\n"
        "                        bsp = exchange, wait, conv (default: task; mpi: always bsp)\n"
        "  --skip-exchange       with --with-compute: time the conv alone (no exchange)\n"
        "  --bands B             with --transport starpu: output-channel groups per part\n"
        "                        (default 0 = number of CPU workers)\n"
        "\n"
        "Output per rank: 'rank : R size:  P', 'Rank:R Time taken (ms):T' (mean time of one\n"
        "complete exchange over the iterations after the warm-ups), 'Rank:R Median time (ms):T',\n"
        "'Validation passed Rank:R' (or 'Validation failed Rank:R ...', exit status 1).\n");
}

/* Strict integer: the whole string, no overflow. */
static int parse_i64(const char *opt, const char *s, int64_t min, int64_t *out, char *err,
                     size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno == ERANGE)
        return fail(err, errlen, "%s: '%s' is not an integer", opt, s);
    if (v < min)
        return fail(err, errlen, "%s must be %s, got %lld", opt,
                    min == 0 ? "zero or positive" : "positive", v);
    /* int32 is plenty for every option; keeps products below int64 overflow. */
    if (v > INT32_MAX)
        return fail(err, errlen, "%s: %lld is too large", opt, v);
    *out = v;
    return 0;
}

typedef enum opt_kind { OPT_FLAG, OPT_INT, OPT_INT0, OPT_STR } opt_kind_t;

typedef struct opt_def {
    const char *name;
    opt_kind_t kind;
    size_t offset; /* into hb_options_t; flags are int, ints int64_t, strings const char * */
} opt_def_t;

#define OFF(f) offsetof(hb_options_t, f)
static const opt_def_t opt_defs[] = {
    {"--fp16-allreduce", OPT_FLAG, OFF(fp16_allreduce)},
    {"--image-size", OPT_INT, OFF(image_size)},
    {"--batch-size", OPT_INT, OFF(batch)},
    {"--halo-len", OPT_INT, OFF(halo)},
    {"--in-channels", OPT_INT, OFF(in_channels)},
    {"--out-channels", OPT_INT, OFF(out_channels)},
    {"--warmup", OPT_INT0, OFF(warmup)},
    {"--iterations", OPT_INT, OFF(iterations)},
    {"--num-spatial-parts", OPT_INT, OFF(nparts)},
    {"--parts-per-rank", OPT_INT, OFF(parts_per_rank)},
    {"--validate", OPT_FLAG, OFF(validate)},
    {"--periodic", OPT_FLAG, OFF(periodic)},
    {"--csv", OPT_STR, OFF(csv)},
    {"--dump", OPT_STR, OFF(dump)},
    {"--with-compute", OPT_FLAG, OFF(with_compute)},
    {"--skip-exchange", OPT_FLAG, OFF(skip_exchange)},
    {"--bands", OPT_INT0, OFF(bands)},
    /* parsed into enums below */
    {"--slice-method", OPT_STR, 0},
    {"--transport", OPT_STR, 0},
    {"--runtime-transport", OPT_STR, 0},
    {"--call", OPT_STR, 0},
    {"--dtype", OPT_STR, 0},
    {"--mode", OPT_STR, 0},
};
#undef OFF

static int set_enum(hb_options_t *o, const char *name, const char *val, char *err, size_t errlen)
{
    if (strcmp(name, "--slice-method") == 0) {
        /* MPI4DL knows square, vertical and horizontal; "grid" needs a per-dim count. */
        if (strcmp(val, "square") && strcmp(val, "vertical") && strcmp(val, "horizontal"))
            return fail(err, errlen,
                        "unknown slice method '%s' (expected vertical, horizontal or square)", val);
        if (starhalo_split_parse(val, &o->split) != STARHALO_OK)
            return fail(err, errlen, "unknown slice method '%s'", val);
    } else if (strcmp(name, "--runtime-transport") == 0) {
        if (strcmp(val, "auto") && strcmp(val, "starpu-mpi") && strcmp(val, "direct"))
            return fail(err, errlen,
                        "unknown runtime transport '%s' (expected auto, starpu-mpi or direct)",
                        val);
        o->runtime_transport = val;
    } else if (strcmp(name, "--call") == 0) {
        if (strcmp(val, "submit") && strcmp(val, "run"))
            return fail(err, errlen, "unknown call '%s' (expected submit or run)", val);
        o->call_run = strcmp(val, "run") == 0;
    } else if (strcmp(name, "--transport") == 0) {
        if (strcmp(val, "starpu") == 0)
            o->transport = HB_TRANSPORT_STARPU;
        else if (strcmp(val, "mpi") == 0)
            o->transport = HB_TRANSPORT_MPI;
        else
            return fail(err, errlen, "unknown transport '%s' (expected starpu or mpi)", val);
    } else if (strcmp(name, "--mode") == 0) {
        if (strcmp(val, "task") && strcmp(val, "bsp"))
            return fail(err, errlen, "unknown mode '%s' (expected task or bsp)", val);
        o->mode_task = strcmp(val, "task") == 0;
        o->mode_given = 1;
    } else {
        if (strcmp(val, "float32") == 0)
            o->dtype = STARHALO_FLOAT32;
        else if (strcmp(val, "float64") == 0)
            o->dtype = STARHALO_FLOAT64;
        else
            return fail(err, errlen, "unknown dtype '%s' (expected float32 or float64)", val);
    }
    return 0;
}

/* Combinations around --with-compute, checked after every option is known. */
static int check_compute(hb_options_t *o, char *err, size_t errlen)
{
    if (!o->with_compute) {
        if (o->mode_given || o->skip_exchange || o->bands)
            return fail(err, errlen, "--%s needs --with-compute",
                        o->mode_given      ? "mode"
                        : o->skip_exchange ? "skip-exchange"
                                           : "bands");
        return 0;
    }
    if (o->dtype != STARHALO_FLOAT32)
        return fail(err, errlen, "--with-compute needs --dtype float32 (the conv is float32)");
    if (o->periodic)
        return fail(err, errlen, "--with-compute needs zero-padded borders, not --periodic");
    if (o->transport == HB_TRANSPORT_MPI) {
        if (o->mode_given && o->mode_task)
            return fail(err, errlen,
                        "--mode task needs --transport starpu (the mpi baseline is bsp)");
        if (o->bands)
            return fail(err, errlen, "--bands needs --transport starpu");
        o->mode_task = 0;
    } else if (o->skip_exchange) {
        return fail(err, errlen, "--skip-exchange needs --transport mpi");
    }
    return 0;
}

int hb_options_parse(int argc, char **argv, hb_options_t *o, char *err, size_t errlen)
{
    *o = (hb_options_t){.image_size = 8,
                        .call_run = 1,
                        .batch = 1,
                        .halo = 1,
                        .in_channels = 1,
                        .out_channels = 256,
                        .warmup = 10,
                        .iterations = 100,
                        .nparts = 4,
                        .split = STARHALO_SPLIT_SQUARE,
                        .transport = HB_TRANSPORT_STARPU,
                        .runtime_transport = "auto",
                        .parts_per_rank = 1,
                        .dtype = STARHALO_FLOAT32,
                        .mode_task = 1};
    err[0] = '\0';
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            o->help = 1;
            continue;
        }
        /* --name=value or --name value, as argparse accepts. */
        const char *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : strlen(arg);
        const opt_def_t *def = NULL;
        for (size_t k = 0; k < sizeof(opt_defs) / sizeof(opt_defs[0]); k++)
            if (strlen(opt_defs[k].name) == nlen && strncmp(opt_defs[k].name, arg, nlen) == 0)
                def = &opt_defs[k];
        if (!def)
            return fail(err, errlen, "unrecognized argument '%s' (see --help)", arg);
        char *base = (char *)o;
        if (def->kind == OPT_FLAG) {
            if (eq)
                return fail(err, errlen, "%s takes no value", def->name);
            *(int *)(base + def->offset) = 1;
            continue;
        }
        const char *val = eq ? eq + 1 : NULL;
        if (!val) {
            if (i + 1 >= argc)
                return fail(err, errlen, "%s expects a value", def->name);
            val = argv[++i];
        }
        if (def->kind == OPT_INT || def->kind == OPT_INT0) {
            if (parse_i64(def->name, val, def->kind == OPT_INT ? 1 : 0,
                          (int64_t *)(base + def->offset), err, errlen))
                return -1;
        } else if (def->offset) {
            if (val[0] == '\0')
                return fail(err, errlen, "%s expects a non-empty value", def->name);
            *(const char **)(base + def->offset) = val;
        } else if (set_enum(o, def->name, val, err, errlen)) {
            return -1;
        }
    }
    return check_compute(o, err, errlen);
}

int hb_decomp_build(const hb_options_t *o, int nranks, starhalo_decomp_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (o->nparts != (int64_t)nranks * o->parts_per_rank)
        return fail(err, errlen,
                    "--num-spatial-parts %lld must equal ranks x parts-per-rank = %d x %lld = %lld",
                    (long long)o->nparts, nranks, (long long)o->parts_per_rank,
                    (long long)nranks * o->parts_per_rank);
    /* Say what is wrong in the benchmark's own terms before the library's generic checks. */
    int64_t per_dim[2] = {1, 1}; /* parts along W, H */
    if (o->split == STARHALO_SPLIT_VERTICAL) {
        per_dim[0] = o->nparts;
    } else if (o->split == STARHALO_SPLIT_HORIZONTAL) {
        per_dim[1] = o->nparts;
    } else {
        int64_t r = 0;
        while ((r + 1) * (r + 1) <= o->nparts)
            r++;
        if (r * r != o->nparts)
            return fail(err, errlen,
                        "--slice-method square needs a perfect-square part count, got "
                        "--num-spatial-parts %lld",
                        (long long)o->nparts);
        per_dim[0] = per_dim[1] = r;
    }
    for (int dim = 0; dim < 2; dim++) {
        const char *what = dim == 0 ? "width" : "height";
        if (per_dim[dim] > o->image_size)
            return fail(err, errlen, "%lld parts along the image %s but only %lld cells",
                        (long long)per_dim[dim], what, (long long)o->image_size);
        const int64_t smallest = o->image_size / per_dim[dim];
        if (o->halo > smallest)
            return fail(err, errlen,
                        "--halo-len %lld is wider than a part (%lld cells along the image %s "
                        "with %lld parts)",
                        (long long)o->halo, (long long)smallest, what, (long long)per_dim[dim]);
    }
    starhalo_decomp_desc_t d = {0};
    d.ndims = 2;
    d.extent[0] = d.extent[1] = o->image_size;
    d.batch = o->batch;
    d.channels = o->in_channels;
    d.split = o->split;
    d.nparts = (int)o->nparts;
    for (int s = 0; s < 4; s++)
        d.halo[s] = (int)o->halo;
    /* MPI4DL sends to all 8 neighbours for square: corners travel as diagonal messages. */
    d.shape = STARHALO_STENCIL_BOX;
    d.periodic[0] = d.periodic[1] = o->periodic;
    starhalo_status_t st = starhalo_decomp_create(&d, out);
    if (st != STARHALO_OK) {
        const char *msg = starhalo_last_error_message();
        return fail(err, errlen, "%s", msg && msg[0] ? msg : starhalo_strerror(st));
    }
    return 0;
}
