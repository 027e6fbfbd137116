/* SPDX-License-Identifier: MIT */
/**
 * @file netfile.c
 * @brief The `--net FILE` layer list: parser, shape inference and checks, parameter layout, and
 * the documented parameter and data generators (netfile.h, docs/SPATIAL_CNN.md "Net files").
 *
 * Plain C, no starhalo, StarPU or MPI: every rank parses the same file and gets the same net,
 * and the unit test (tests/cnn/test_cnn_netfile.c) links this file alone. Every problem gives
 * one line "net NAME:LINE: problem" (or "net NAME: layer L: problem" for built-in nets, which
 * have no lines), so the app can print it once and stop.
 */
#include "netfile.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Limits of the grammar (docs: "Net files"). */
enum {
    KERNEL_MAX = 7,
    CHANNELS_MAX = 65536,              /* COUT and NCLASSES */
    GROUPS_MAX = 4096,                 /* conv groups=G */
    MAX_TOKENS = CNN_LINE_MAX / 2 + 1, /* a 256-character line holds at most 128 */
    EXTENT_MAX = INT_MAX,              /* input C, H, W */
};

static const char *const op_names[] = {"conv", "maxpool", "avgpool", "bn", "relu",
                                       "save", "add",     "gap",     "fc", "softmax_ce"};

static const char *op_name(cnn_op_t op)
{
    return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

/* Writes "net NAME:LINE: ", "net NAME: layer L: " (line 0, layer >= 1) or "net NAME: " (both
 * 0) and the formatted problem into err. Returns -1 so callers can `return fail(...)`. */
static int fail(char *err, size_t errlen, const char *name, int line, int layer, const char *fmt,
                ...)
{
    if (!err || errlen == 0)
        return -1;
    if (!name)
        name = "?";
    int n;
    if (line > 0)
        n = snprintf(err, errlen, "net %s:%d: ", name, line);
    else if (layer > 0)
        n = snprintf(err, errlen, "net %s: layer %d: ", name, layer);
    else
        n = snprintf(err, errlen, "net %s: ", name);
    if (n >= 0 && (size_t)n < errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* splitmix64 (Steele, Lea, Flood 2014; the finaliser of Java's SplittableRandom): one step from
 * state z. The constants are the ones documented in netfile.h. */
static uint64_t splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------------------------------- */
/* Layer checks, shared by the parser and cnn_net_infer (a net built in code gets the same).   */

static int name_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

/* Formats a problem (no prefix) into msg; returns -1. */
static int problem(char *msg, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Kernel, stride and padding of a conv or pool. */
static int window_check(const cnn_layer_desc_t *L, char *msg, size_t n)
{
    if (L->kernel < 1 || L->kernel > KERNEL_MAX)
        return problem(msg, n, "kernel %d must be 1..%d", L->kernel, KERNEL_MAX);
    if (L->stride != 1 && L->stride != 2)
        return problem(msg, n, "stride %d must be 1 or 2", L->stride);
    if (L->op != CNN_CONV) {
        if (L->pad < 0 || L->pad > L->kernel / 2)
            return problem(msg, n, "padding %d must be 0..%d (kernel %d: at most kernel/2)", L->pad,
                           L->kernel / 2, L->kernel);
        return 0;
    }
    if (L->groups < 1 || L->groups > GROUPS_MAX)
        return problem(msg, n, "groups=%d must be 1..%d", L->groups, GROUPS_MAX);
    if (L->dilation < 1)
        return problem(msg, n, "dilation must be >= 1");
    const int64_t span = (int64_t)L->dilation * (L->kernel - 1);
    if (L->pad >= 0 && L->pad <= span)
        return 0;
    if (L->dilation == 1)
        return problem(msg, n, "padding %d must be 0..%lld (kernel %d: < kernel)", L->pad,
                       (long long)span, L->kernel);
    return problem(msg, n,
                   "padding %d must be 0..%lld (kernel %d, dilation %d: at most "
                   "dilation*(kernel-1))",
                   L->pad, (long long)span, L->kernel, L->dilation);
}

/* The value rules of one layer; 0, or -1 with the problem (no prefix) in msg. */
static int layer_check(const cnn_layer_desc_t *L, char *msg, size_t n)
{
    switch (L->op) {
    case CNN_CONV:
        if (L->cout < 1 || L->cout > CHANNELS_MAX)
            return problem(msg, n, "COUT %d must be 1..%d", L->cout, CHANNELS_MAX);
        return window_check(L, msg, n);
    case CNN_MAXPOOL:
    case CNN_AVGPOOL:
        return window_check(L, msg, n);
    case CNN_FC:
        if (L->nclasses < 1 || L->nclasses > CHANNELS_MAX)
            return problem(msg, n, "NCLASSES %d must be 1..%d", L->nclasses, CHANNELS_MAX);
        return 0;
    case CNN_SAVE:
    case CNN_ADD:
        if (!memchr(L->name, '\0', sizeof L->name))
            return problem(msg, n, "name too long (at most %d characters)", CNN_NAME_MAX - 1);
        if (!L->name[0] || !name_ok(L->name))
            return problem(msg, n, "invalid name '%s' (letters, digits, '_', '-' and '.' only)",
                           L->name);
        return 0;
    case CNN_BN:
    case CNN_RELU:
    case CNN_GAP:
    case CNN_SOFTMAX_CE:
        return 0;
    }
    return problem(msg, n, "unknown layer kind %d", (int)L->op);
}

/* ---------------------------------------------------------------------------------------- */
/* Parser.                                                                                    */

typedef struct parser {
    const char *name;
    cnn_netdesc_t *net;
    char *err;
    size_t errlen;
} parser_t;

/* A decimal integer without sign: 0, 1 junk (sign, "3x", empty), 2 above INT_MAX. */
static int parse_uint(const char *s, int *out)
{
    if (!*s)
        return 1;
    for (const char *q = s; *q; q++)
        if (*q < '0' || *q > '9')
            return 1;
    long long v = 0;
    for (; *s; s++) {
        v = v * 10 + (*s - '0');
        if (v > INT_MAX)
            return 2;
    }
    *out = (int)v;
    return 0;
}

/* Parses the token @p tok (the value of @p what) into *out; or the error. */
static int get_uint(parser_t *p, int line, const char *what, const char *tok, int *out)
{
    switch (parse_uint(tok, out)) {
    case 0:
        return 0;
    case 1:
        return fail(p->err, p->errlen, p->name, line, 0,
                    "%s '%s' is not an unsigned decimal integer", what, tok);
    default:
        return fail(p->err, p->errlen, p->name, line, 0, "%s '%s' is too large", what, tok);
    }
}

static int find_save(const cnn_netdesc_t *net, int before, const char *name)
{
    for (int j = 0; j < before; j++)
        if (net->layers[j].op == CNN_SAVE && strcmp(net->layers[j].name, name) == 0)
            return j;
    return -1;
}

/* Conv: COUT K STRIDE PAD, then options in any order, each at most once. */
static int parse_conv(parser_t *p, int line, char **tok, int ntok, cnn_layer_desc_t *L)
{
    if (ntok < 5)
        return fail(p->err, p->errlen, p->name, line, 0,
                    "conv needs COUT K STRIDE PAD [groups=G] [dilation=D] [bias]");
    if (get_uint(p, line, "COUT", tok[1], &L->cout) || get_uint(p, line, "K", tok[2], &L->kernel) ||
        get_uint(p, line, "STRIDE", tok[3], &L->stride) ||
        get_uint(p, line, "PAD", tok[4], &L->pad))
        return -1;
    int have_groups = 0, have_dilation = 0;
    for (int t = 5; t < ntok; t++) {
        const char *o = tok[t];
        int *dst = NULL, *seen = NULL;
        const char *what = NULL;
        if (strcmp(o, "bias") == 0) {
            if (L->bias)
                return fail(p->err, p->errlen, p->name, line, 0, "duplicate option 'bias'");
            L->bias = 1;
            continue;
        }
        if (strncmp(o, "groups=", 7) == 0)
            dst = &L->groups, seen = &have_groups, what = "groups";
        else if (strncmp(o, "dilation=", 9) == 0)
            dst = &L->dilation, seen = &have_dilation, what = "dilation";
        else
            return fail(p->err, p->errlen, p->name, line, 0, "unknown option '%s'", o);
        if (*seen)
            return fail(p->err, p->errlen, p->name, line, 0, "duplicate option '%s'", what);
        *seen = 1;
        if (get_uint(p, line, what, o + strlen(what) + 1, dst))
            return -1;
    }
    return 0;
}

/* One line (NUL-terminated, newline removed, writable). */
static int parse_line(parser_t *p, int line, char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    char *tok[MAX_TOKENS];
    int ntok = 0;
    for (char *q = s; *q;) {
        const unsigned char c = (unsigned char)*q;
        if (c == ' ' || c == '\t' || c == '\r') {
            *q++ = '\0';
            continue;
        }
        if (c < 0x21 || c > 0x7e)
            return fail(p->err, p->errlen, p->name, line, 0,
                        "invalid character 0x%02x (outside a comment)", c);
        if (q == s || q[-1] == '\0') {
            if (ntok == MAX_TOKENS) /* cannot happen within CNN_LINE_MAX; kept as a guard */
                return fail(p->err, p->errlen, p->name, line, 0, "too many words");
            tok[ntok++] = q;
        }
        q++;
    }
    if (ntok == 0)
        return 0;

    cnn_netdesc_t *net = p->net;
    if (net->nlayers == CNN_MAX_LAYERS)
        return fail(p->err, p->errlen, p->name, line, 0, "more than %d layers", CNN_MAX_LAYERS);
    cnn_layer_desc_t *L = &net->layers[net->nlayers];
    memset(L, 0, sizeof *L);
    L->line = line;
    L->dilation = 1;
    L->groups = 1;
    L->save_index = -1;

    int op = -1;
    for (int k = 0; k < (int)(sizeof op_names / sizeof op_names[0]); k++)
        if (strcmp(tok[0], op_names[k]) == 0)
            op = k;
    if (op < 0)
        return fail(p->err, p->errlen, p->name, line, 0, "unknown layer '%s'", tok[0]);
    L->op = (cnn_op_t)op;

    switch (L->op) {
    case CNN_CONV:
        if (parse_conv(p, line, tok, ntok, L))
            return -1;
        break;
    case CNN_MAXPOOL:
    case CNN_AVGPOOL:
        if (ntok != 4)
            return fail(p->err, p->errlen, p->name, line, 0, "%s needs K STRIDE PAD", tok[0]);
        if (get_uint(p, line, "K", tok[1], &L->kernel) ||
            get_uint(p, line, "STRIDE", tok[2], &L->stride) ||
            get_uint(p, line, "PAD", tok[3], &L->pad))
            return -1;
        break;
    case CNN_FC:
        if (ntok != 2)
            return fail(p->err, p->errlen, p->name, line, 0, "fc needs NCLASSES");
        if (get_uint(p, line, "NCLASSES", tok[1], &L->nclasses))
            return -1;
        break;
    case CNN_SAVE:
    case CNN_ADD:
        if (ntok != 2)
            return fail(p->err, p->errlen, p->name, line, 0, "%s needs one NAME", tok[0]);
        if (strlen(tok[1]) >= CNN_NAME_MAX)
            return fail(p->err, p->errlen, p->name, line, 0,
                        "name too long (at most %d characters)", CNN_NAME_MAX - 1);
        memcpy(L->name, tok[1], strlen(tok[1]) + 1);
        break;
    default:
        if (ntok != 1)
            return fail(p->err, p->errlen, p->name, line, 0, "%s takes no arguments", tok[0]);
        break;
    }
    char msg[160];
    if (layer_check(L, msg, sizeof msg))
        return fail(p->err, p->errlen, p->name, line, 0, "%s", msg);
    /* Names are resolved here too, so that a parse reports them on their own line. */
    if (L->op == CNN_SAVE && find_save(net, net->nlayers, L->name) >= 0)
        return fail(p->err, p->errlen, p->name, line, 0, "duplicate save name '%s'", L->name);
    if (L->op == CNN_ADD) {
        L->save_index = find_save(net, net->nlayers, L->name);
        if (L->save_index < 0)
            return fail(p->err, p->errlen, p->name, line, 0, "add '%s' has no earlier save",
                        L->name);
    }
    net->nlayers++;
    return 0;
}

static void parse_begin(parser_t *p, const char *name, cnn_netdesc_t *net, char *err, size_t errlen)
{
    p->name = name ? name : "?";
    p->net = net;
    p->err = err;
    p->errlen = errlen;
    memset(net, 0, sizeof *net);
    if (err && errlen)
        err[0] = '\0';
}

static int parse_end(parser_t *p, int rc)
{
    cnn_netdesc_t *net = p->net;
    if (rc == 0 && net->nlayers == 0)
        rc = fail(p->err, p->errlen, p->name, 0, 0, "no layers");
    if (rc) {
        net->nlayers = 0;
        return -1;
    }
    net->classify = net->layers[net->nlayers - 1].op == CNN_SOFTMAX_CE;
    return 0;
}

static int too_long(parser_t *p, int line)
{
    return fail(p->err, p->errlen, p->name, line, 0, "line too long (at most %d characters)",
                CNN_LINE_MAX);
}

int cnn_net_parse_string(const char *name, const char *text, cnn_netdesc_t *net, char *err,
                         size_t errlen)
{
    parser_t p;
    parse_begin(&p, name, net, err, errlen);
    if (!text)
        text = "";
    char buf[CNN_LINE_MAX + 1];
    int rc = 0;
    for (int line = 1; rc == 0 && *text; line++) {
        const char *nl = strchr(text, '\n');
        const size_t len = nl ? (size_t)(nl - text) : strlen(text);
        if (len > CNN_LINE_MAX) {
            rc = too_long(&p, line);
            break;
        }
        memcpy(buf, text, len);
        buf[len] = '\0';
        rc = parse_line(&p, line, buf);
        text += len + (nl ? 1 : 0);
    }
    return parse_end(&p, rc);
}

int cnn_net_parse_file(const char *path, cnn_netdesc_t *net, char *err, size_t errlen)
{
    parser_t p;
    parse_begin(&p, path, net, err, errlen);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return fail(err, errlen, p.name, 0, 0, "cannot open: %s", strerror(path ? errno : EINVAL));
    /* Line by line into a fixed buffer: the file's size does not matter. */
    char buf[CNN_LINE_MAX + 1];
    size_t len = 0;
    int rc = 0, line = 1, c;
    while (rc == 0 && (c = getc(f)) != EOF) {
        if (c == '\n') {
            buf[len] = '\0';
            rc = parse_line(&p, line++, buf);
            len = 0;
        } else if (c == '\0') {
            rc = fail(err, errlen, p.name, line, 0, "invalid character 0x00");
        } else if (len == CNN_LINE_MAX) {
            rc = too_long(&p, line);
        } else {
            buf[len++] = (char)c;
        }
    }
    if (rc == 0 && ferror(f))
        rc = fail(err, errlen, p.name, 0, 0, "cannot read: %s", strerror(errno));
    if (rc == 0 && len > 0) { /* a last line without a newline */
        buf[len] = '\0';
        rc = parse_line(&p, line, buf);
    }
    fclose(f);
    return parse_end(&p, rc);
}

void cnn_net_two_layer(int64_t c1, int64_t c2, cnn_netdesc_t *net)
{
    memset(net, 0, sizeof *net);
    const int64_t cout[2] = {c1, c2};
    for (int k = 0; k < 3; k++) {
        cnn_layer_desc_t *L = &net->layers[k];
        L->op = k == 1 ? CNN_RELU : CNN_CONV;
        L->dilation = 1;
        L->groups = 1;
        L->save_index = -1;
        if (k != 1) {
            L->cout = (int)cout[k / 2];
            L->kernel = 3;
            L->stride = 1;
            L->pad = 1;
        }
    }
    net->nlayers = 3;
    net->classify = 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Shape inference.                                                                           */

/* Output extent of a window layer, 0 when the window does not fit (also for a negative
 * numerator, which C's division would round towards zero). */
static int64_t out_extent(int64_t n, const cnn_layer_desc_t *L, int dilation)
{
    const int64_t num = n + 2 * (int64_t)L->pad - (int64_t)dilation * (L->kernel - 1) - 1;
    return num < 0 ? 0 : num / L->stride + 1;
}

int cnn_net_infer(cnn_netdesc_t *net, const char *name, int64_t c, int64_t h, int64_t w, char *err,
                  size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (net->nlayers < 1)
        return fail(err, errlen, name, 0, 0, "no layers");
    if (net->nlayers > CNN_MAX_LAYERS)
        return fail(err, errlen, name, 0, 0, "more than %d layers", CNN_MAX_LAYERS);
    if (c < 1 || h < 1 || w < 1 || c > EXTENT_MAX || h > EXTENT_MAX || w > EXTENT_MAX)
        return fail(err, errlen, name, 0, 0, "input %lld x %lld x %lld: each extent must be 1..%d",
                    (long long)c, (long long)h, (long long)w, EXTENT_MAX);
    const int n = net->nlayers;
    net->classify = net->layers[n - 1].op == CNN_SOFTMAX_CE;
    /* A softmax_ce anywhere makes gap and fc legal: one that is not last is reported on its
     * own line rather than as "gap in an MSE net". */
    int mse = 1;
    for (int i = 0; i < n; i++)
        if (net->layers[i].op == CNN_SOFTMAX_CE)
            mse = 0;
    int flat = 0;
    for (int i = 0; i < n; i++) {
        cnn_layer_desc_t *L = &net->layers[i];
        const int line = L->line, layer = i + 1;
        const char *opn = op_name(L->op);
        char msg[160];
        if (layer_check(L, msg, sizeof msg))
            return fail(err, errlen, name, line, layer, "%s", msg);
        L->in_c = c;
        L->in_h = h;
        L->in_w = w;
        L->flat_in = flat;
        if (L->op != CNN_ADD)
            L->save_index = -1;
        if (flat && L->op != CNN_FC && L->op != CNN_SOFTMAX_CE)
            return fail(err, errlen, name, line, layer,
                        "%s after gap: only fc and softmax_ce may follow gap", opn);
        switch (L->op) {
        case CNN_CONV:
        case CNN_MAXPOOL:
        case CNN_AVGPOOL: {
            const int d = L->op == CNN_CONV ? L->dilation : 1;
            const int64_t oh = out_extent(h, L, d), ow = out_extent(w, L, d);
            if (oh < 1 || ow < 1) {
                const int64_t need = (int64_t)d * (L->kernel - 1) + 1 - 2 * (int64_t)L->pad;
                char dil[32] = "";
                if (d > 1)
                    snprintf(dil, sizeof dil, " (dilation %d)", d);
                return fail(err, errlen, name, line, layer,
                            "%s input %lld x %lld is too small: kernel %d%s with padding %d "
                            "needs at least %lld x %lld",
                            opn, (long long)h, (long long)w, L->kernel, dil, L->pad,
                            (long long)need, (long long)need);
            }
            if (L->op == CNN_CONV && (c % L->groups != 0 || L->cout % L->groups != 0))
                return fail(err, errlen, name, line, layer,
                            "groups=%d must divide CIN (%lld) and COUT (%d)", L->groups,
                            (long long)c, L->cout);
            if (L->op == CNN_CONV)
                c = L->cout;
            h = oh;
            w = ow;
            break;
        }
        case CNN_BN:
        case CNN_RELU:
            break;
        case CNN_SAVE:
            if (find_save(net, i, L->name) >= 0)
                return fail(err, errlen, name, line, layer, "duplicate save name '%s'", L->name);
            break;
        case CNN_ADD: {
            const int j = find_save(net, i, L->name);
            if (j < 0)
                return fail(err, errlen, name, line, layer, "add '%s' has no earlier save",
                            L->name);
            const cnn_layer_desc_t *S = &net->layers[j];
            if (S->out_c != c || S->out_h != h || S->out_w != w)
                return fail(err, errlen, name, line, layer,
                            "add '%s': shape %lld x %lld x %lld differs from the saved %lld x "
                            "%lld x %lld",
                            L->name, (long long)c, (long long)h, (long long)w, (long long)S->out_c,
                            (long long)S->out_h, (long long)S->out_w);
            L->save_index = j;
            break;
        }
        case CNN_GAP:
            if (mse)
                return fail(err, errlen, name, line, layer,
                            "gap in a net that does not end with softmax_ce (an MSE net ends "
                            "with an image)");
            h = w = 1;
            flat = 1;
            break;
        case CNN_FC:
            if (mse)
                return fail(err, errlen, name, line, layer,
                            "fc in a net that does not end with softmax_ce (an MSE net ends "
                            "with an image)");
            if (!flat)
                return fail(err, errlen, name, line, layer,
                            "fc needs a flat input (put gap before it)");
            c = L->nclasses;
            break;
        case CNN_SOFTMAX_CE:
            if (i != n - 1)
                return fail(err, errlen, name, line, layer, "softmax_ce must be the last layer");
            if (i == 0 || net->layers[i - 1].op != CNN_FC)
                return fail(err, errlen, name, line, layer, "softmax_ce must directly follow fc");
            break;
        }
        L->out_c = c;
        L->out_h = h;
        L->out_w = w;
        L->flat_out = flat;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Parameters and generators.                                                                 */

int cnn_layer_params(const cnn_layer_desc_t *l, const char *names[CNN_MAX_PARAMS],
                     int64_t counts[CNN_MAX_PARAMS])
{
    const char *nm[CNN_MAX_PARAMS] = {NULL, NULL};
    int64_t ct[CNN_MAX_PARAMS] = {0, 0};
    int np = 0;
    switch (l->op) {
    case CNN_CONV:
        nm[0] = "weight";
        ct[0] =
            (int64_t)l->cout * (l->in_c / (l->groups > 0 ? l->groups : 1)) * l->kernel * l->kernel;
        np = 1;
        if (l->bias) {
            nm[1] = "bias";
            ct[1] = l->cout;
            np = 2;
        }
        break;
    case CNN_BN:
        nm[0] = "gamma";
        nm[1] = "beta";
        ct[0] = ct[1] = l->in_c;
        np = 2;
        break;
    case CNN_FC:
        nm[0] = "weight";
        nm[1] = "bias";
        ct[0] = (int64_t)l->nclasses * l->in_c;
        ct[1] = l->nclasses;
        np = 2;
        break;
    default:
        break;
    }
    for (int k = 0; k < CNN_MAX_PARAMS; k++) {
        if (names)
            names[k] = nm[k];
        if (counts)
            counts[k] = ct[k];
    }
    return np;
}

float cnn_param_init(const cnn_netdesc_t *net, int l, int p, int64_t i)
{
    if (!net || l < 0 || l >= net->nlayers || p < 0 || p >= CNN_MAX_PARAMS || i < 0 ||
        i >= ((int64_t)1 << 40))
        return 0.0f;
    const cnn_layer_desc_t *L = &net->layers[l];
    int64_t counts[CNN_MAX_PARAMS];
    if (p >= cnn_layer_params(L, NULL, counts) || i >= counts[p])
        return 0.0f;
    int64_t fan_in;
    if (L->op == CNN_CONV && p == 0)
        fan_in = (L->in_c / L->groups) * L->kernel * L->kernel;
    else if (L->op == CNN_FC && p == 0)
        fan_in = L->in_c;
    else
        return L->op == CNN_BN && p == 0 ? 1.0f : 0.0f; /* gamma 1; biases and beta 0 */
    if (fan_in < 1)
        return 0.0f;
    const uint64_t key = ((uint64_t)l << 48) | ((uint64_t)p << 40) | (uint64_t)i;
    const double u = (double)(splitmix64(key) >> 11) / 9007199254740992.0; /* [0, 1), 2^-53 */
    const double b = 1.0 / sqrt((double)fan_in);
    return (float)((2.0 * u - 1.0) * b);
}

float cnn_data_input(int64_t n, int64_t c, int64_t y, int64_t x)
{
    return (float)sin(0.11 * (double)x * (double)(c + 1) + 0.07 * (double)y + 0.5 * (double)n);
}

float cnn_data_target(int64_t n, int64_t c, int64_t y, int64_t x)
{
    return (float)(0.5 * cos(0.05 * (double)(x + 2 * y) * (double)(c + 1) - 0.3 * (double)n));
}

int cnn_data_label(int64_t n, int nclasses)
{
    if (nclasses < 1)
        return 0;
    return (int)(splitmix64((uint64_t)n) % (uint64_t)nclasses);
}
