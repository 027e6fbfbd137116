/* SPDX-License-Identifier: MIT */
/**
 * @file npy.c
 * @brief .npy header writer and parser and the position-keyed checkpoint checksum.
 *
 * The parser reads untrusted files (a checkpoint given to --restart), so it is a strict
 * recursive-descent reader of exactly what NumPy writes, bounded by the buffer length at every
 * step, with overflow checks on every integer and on the element count. It lives in plans/
 * because it needs neither MPI nor StarPU (the fuzz harness links starhalo_plans alone); the
 * single-process save/load of replicated arrays and the crash-safe rename are here too.
 */
#include <starhalo/starhalo_npy.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "\x93NUMPY"

starhalo_status_t starhalo_npy_header_format(starhalo_npy_header_t *h, char *buf, size_t cap,
                                             size_t *len)
{
    STARHALO_REQUIRE(h && buf && len, STARHALO_ERR_INVALID_ARG, "npy header: NULL argument");
    STARHALO_REQUIRE(starhalo_dtype_size(h->dtype) != 0, STARHALO_ERR_INVALID_ARG,
                     "npy header: unknown dtype %d", (int)h->dtype);
    STARHALO_REQUIRE(h->ndims >= 0 && h->ndims <= STARHALO_NPY_MAX_DIMS, STARHALO_ERR_INVALID_ARG,
                     "npy header: %d dims (expected 0..%d)", h->ndims, STARHALO_NPY_MAX_DIMS);
    char text[STARHALO_NPY_MAX_HEADER];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "{'descr': '<%s', 'fortran_order': False, "
                                "'shape': (",
                                h->dtype == STARHALO_FLOAT64 ? "f8" : "f4");
    /* NumPy's own spelling: "(a, b)", "(a,)" for one dimension, "()" for none. */
    for (int d = 0; d < h->ndims; d++) {
        STARHALO_REQUIRE(h->shape[d] >= 0, STARHALO_ERR_INVALID_ARG,
                         "npy header: negative extent %" PRId64, h->shape[d]);
        n += (size_t)snprintf(text + n, sizeof text - n, "%" PRId64 "%s", h->shape[d],
                              d + 1 < h->ndims ? ", "
                              : h->ndims == 1  ? ","
                                               : "");
    }
    n += (size_t)snprintf(text + n, sizeof text - n, "), }");
    if (h->has_meta)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              " # starhalo step=%" PRId64 " generation=%" PRId64
                              " checksum=0x%016" PRIx64,
                              h->step, h->generation, h->checksum);
    const size_t total = (10 + n + 1 + 63) / 64 * 64; /* data 64-byte aligned, as NumPy does */
    STARHALO_REQUIRE(total <= cap && total - 10 <= 0xffff, STARHALO_ERR_OUT_OF_RANGE,
                     "npy header: %zu bytes do not fit in %zu", total, cap);
    memcpy(buf, MAGIC "\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    memcpy(buf + 10, text, n);
    memset(buf + 10 + n, ' ', total - 10 - n - 1);
    buf[total - 1] = '\n';
    *len = total;
    h->data_offset = (int64_t)total;
    return STARHALO_OK;
}

/* A cursor over the header text; every read checks the end. */
typedef struct cur {
    const char *p, *end;
} cur_t;

static void skip_spaces(cur_t *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

static int accept(cur_t *c, const char *word)
{
    const size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

#define BAD(...) starhalo_error_set(STARHALO_ERR_CORRUPT, "npy header: " __VA_ARGS__)

/* A quoted Python string without escapes (all NumPy writes here), into @p out. */
static starhalo_status_t parse_string(cur_t *c, char *out, size_t cap)
{
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return BAD("expected a quoted string");
    const char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap)
            return BAD("unexpected string");
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return BAD("unterminated string");
    c->p++;
    out[n] = '\0';
    return STARHALO_OK;
}

/* A decimal integer (optional '-' when @p allow_neg) that fits in int64. */
static starhalo_status_t parse_int(cur_t *c, int allow_neg, int64_t *out)
{
    int neg = 0;
    if (allow_neg && c->p < c->end && *c->p == '-')
        neg = 1, c->p++;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return BAD("expected an integer");
    /* Python (and so NumPy) rejects leading zeros: "03" is not 3 here either. */
    if (*c->p == '0' && c->end - c->p > 1 && c->p[1] >= '0' && c->p[1] <= '9')
        return BAD("integer with a leading zero");
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        const unsigned digit = (unsigned)(*c->p++ - '0');
        if (v > (UINT64_C(0x7fffffffffffffff) - digit) / 10)
            return BAD("integer out of range");
        v = v * 10 + digit;
    }
    *out = neg ? -(int64_t)v : (int64_t)v;
    return STARHALO_OK;
}

static starhalo_status_t parse_shape(cur_t *c, starhalo_npy_header_t *h)
{
    if (!accept(c, "("))
        return BAD("shape is not a tuple");
    h->ndims = 0;
    uint64_t bytes = 8; /* the element count times the largest element fits in int64 */
    for (;;) {
        skip_spaces(c);
        if (accept(c, ")"))
            break;
        if (h->ndims == STARHALO_NPY_MAX_DIMS)
            return starhalo_error_set(STARHALO_ERR_UNSUPPORTED,
                                      "npy header: more than %d dimensions", STARHALO_NPY_MAX_DIMS);
        int64_t v = 0;
        STARHALO_CHECK(parse_int(c, 0, &v));
        if (v > 0 && bytes > UINT64_C(0x7fffffffffffffff) / (uint64_t)v)
            return BAD("shape has more elements than a file can hold");
        bytes *= (uint64_t)(v > 0 ? v : 1);
        h->shape[h->ndims++] = v;
        skip_spaces(c);
        if (accept(c, ","))
            continue;
        if (accept(c, ")"))
            break;
        return BAD("bad shape tuple");
    }
    return STARHALO_OK;
}

/* " # starhalo step=S generation=G checksum=0xHHHHHHHHHHHHHHHH" after the dict. */
static starhalo_status_t parse_meta(cur_t *c, starhalo_npy_header_t *h)
{
    if (!accept(c, "# starhalo step="))
        return BAD("unexpected text after the dict");
    STARHALO_CHECK(parse_int(c, 1, &h->step));
    if (!accept(c, " generation="))
        return BAD("damaged metadata (generation)");
    STARHALO_CHECK(parse_int(c, 1, &h->generation));
    if (!accept(c, " checksum=0x") || c->end - c->p < 16)
        return BAD("damaged metadata (checksum)");
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        const char ch = *c->p++;
        const int d = ch >= '0' && ch <= '9'   ? ch - '0'
                      : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                      : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                               : -1;
        if (d < 0)
            return BAD("damaged metadata (checksum digits)");
        v = v << 4 | (uint64_t)d;
    }
    h->checksum = v;
    h->has_meta = 1;
    return STARHALO_OK;
}

starhalo_status_t starhalo_npy_header_parse(const char *buf, size_t len, starhalo_npy_header_t *out)
{
    STARHALO_REQUIRE(buf && out, STARHALO_ERR_INVALID_ARG, "npy header: NULL argument");
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(buf, MAGIC, 6) != 0)
        return BAD("not an .npy file (no \\x93NUMPY magic)");
    const unsigned char *u = (const unsigned char *)buf;
    size_t pre = 10, hlen = 0;
    if (u[6] == 1 && u[7] == 0)
        hlen = (size_t)u[8] | (size_t)u[9] << 8;
    else if ((u[6] == 2 || u[6] == 3) && u[7] == 0 && len >= 12)
        pre = 12,
        hlen = (size_t)u[8] | (size_t)u[9] << 8 | (size_t)u[10] << 16 | (size_t)u[11] << 24;
    else
        return BAD("unsupported .npy version %u.%u", u[6], u[7]);
    if (hlen > STARHALO_NPY_MAX_HEADER)
        return BAD("%zu-byte header (at most %d)", hlen, STARHALO_NPY_MAX_HEADER);
    if (hlen > len - pre)
        return BAD("cut short (%zu of %zu header bytes)", len - pre, hlen);
    if (hlen == 0 || buf[pre + hlen - 1] != '\n')
        return BAD("header does not end with a newline");
    cur_t c = {buf + pre, buf + pre + hlen - 1};
    int seen[3] = {0, 0, 0}; /* descr, fortran_order, shape */
    skip_spaces(&c);
    if (!accept(&c, "{"))
        return BAD("header is not a dict");
    for (;;) {
        skip_spaces(&c);
        if (accept(&c, "}"))
            break;
        char key[32], val[32];
        STARHALO_CHECK(parse_string(&c, key, sizeof key));
        skip_spaces(&c);
        if (!accept(&c, ":"))
            return BAD("expected ':' after '%s'", key);
        skip_spaces(&c);
        int k = !strcmp(key, "descr")           ? 0
                : !strcmp(key, "fortran_order") ? 1
                : !strcmp(key, "shape")         ? 2
                                                : -1;
        if (k < 0 || seen[k]++)
            return BAD("unexpected or repeated key '%s'", key);
        if (k == 0) {
            STARHALO_CHECK(parse_string(&c, val, sizeof val));
            if (!strcmp(val, "<f4"))
                out->dtype = STARHALO_FLOAT32;
            else if (!strcmp(val, "<f8"))
                out->dtype = STARHALO_FLOAT64;
            else
                return starhalo_error_set(STARHALO_ERR_UNSUPPORTED,
                                          "npy header: dtype '%s' (expected '<f4' or '<f8')", val);
        } else if (k == 1) {
            if (accept(&c, "True"))
                return starhalo_error_set(STARHALO_ERR_UNSUPPORTED,
                                          "npy header: Fortran order is not supported");
            if (!accept(&c, "False"))
                return BAD("fortran_order is not False or True");
        } else {
            STARHALO_CHECK(parse_shape(&c, out));
        }
        skip_spaces(&c);
        if (accept(&c, "}"))
            break;
        if (!accept(&c, ","))
            return BAD("expected ',' or '}' in the dict");
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return BAD("missing key (need descr, fortran_order and shape)");
    skip_spaces(&c);
    if (c.p < c.end && *c.p == '#') {
        STARHALO_CHECK(parse_meta(&c, out));
        skip_spaces(&c);
    }
    if (c.p != c.end)
        return BAD("unexpected text after the dict");
    out->data_offset = (int64_t)(pre + hlen);
    return STARHALO_OK;
}

static inline uint64_t mix(uint64_t bits, uint64_t index)
{
    uint64_t x = bits + index * UINT64_C(0x9E3779B97F4A7C15);
    x ^= x >> 29;
    x *= UINT64_C(0xBF58476D1CE4E5B9);
    return x ^ x >> 32;
}

uint64_t starhalo_npy_checksum_add(uint64_t sum, starhalo_dtype_t dtype, const void *data,
                                   int64_t count, int64_t first_index)
{
    if (!data || starhalo_dtype_size(dtype) == 0) /* nothing to add (docs/BAD_INPUT.md) */
        return sum;
    const uint64_t i0 = (uint64_t)first_index;
    const unsigned char *b = data;
    /* memcpy: the bits of a float without breaking aliasing rules (compiles to a load). */
    if (dtype == STARHALO_FLOAT32) {
        for (int64_t i = 0; i < count; i++) {
            uint32_t w;
            memcpy(&w, b + 4 * i, 4);
            sum += mix(w, i0 + (uint64_t)i);
        }
    } else {
        for (int64_t i = 0; i < count; i++) {
            uint64_t w;
            memcpy(&w, b + 8 * i, 8);
            sum += mix(w, i0 + (uint64_t)i);
        }
    }
    return sum;
}

static uint64_t fnv_word(uint64_t h, uint64_t w)
{
    for (int b = 0; b < 8; b++) {
        h ^= (w >> (8 * b)) & 0xff;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

uint64_t starhalo_npy_checksum_finish(uint64_t sum, const starhalo_npy_header_t *h)
{
    if (!h)
        return 0;
    uint64_t f = fnv_word(UINT64_C(14695981039346656037), sum);
    f = fnv_word(f, (uint64_t)h->dtype);
    f = fnv_word(f, (uint64_t)h->ndims);
    for (int d = 0; d < h->ndims && d < STARHALO_NPY_MAX_DIMS; d++)
        f = fnv_word(f, (uint64_t)h->shape[d]);
    f = fnv_word(f, (uint64_t)h->step);
    return fnv_word(f, (uint64_t)h->generation);
}

static void shape_text(const starhalo_npy_header_t *h, char *s, size_t n)
{
    s[0] = '\0';
    for (int k = 0; k < h->ndims; k++)
        snprintf(s + strlen(s), n - strlen(s), "%s%" PRId64, k ? ", " : "", h->shape[k]);
}

static const char *dtype_name(starhalo_dtype_t t)
{
    return t == STARHALO_FLOAT64 ? "float64" : "float32";
}

static int64_t element_count(const starhalo_npy_header_t *h)
{
    int64_t n = 1;
    for (int k = 0; k < h->ndims; k++)
        n *= h->shape[k];
    return n;
}

starhalo_status_t starhalo_npy_header_check(const char *buf, size_t len, int64_t file_size,
                                            const starhalo_npy_header_t *want, const char *path,
                                            starhalo_npy_header_t *h)
{
    STARHALO_REQUIRE(want && path && h, STARHALO_ERR_INVALID_ARG, "npy check: NULL argument");
    starhalo_status_t rc = starhalo_npy_header_parse(buf, len, h);
    if (rc != STARHALO_OK) {
        char why[400]; /* a copy: the message buffer is also the output */
        snprintf(why, sizeof why, "%s", starhalo_last_error_message());
        return starhalo_error_set(rc, "'%s': %s", path, why);
    }
    STARHALO_REQUIRE(h->has_meta, STARHALO_ERR_CORRUPT,
                     "'%s': no starhalo metadata (step, checksum) in the .npy header", path);
    STARHALO_REQUIRE(h->dtype == want->dtype, STARHALO_ERR_FILE_MISMATCH,
                     "'%s' holds %s, expected %s", path, dtype_name(h->dtype),
                     dtype_name(want->dtype));
    int same = h->ndims == want->ndims;
    for (int k = 0; same && k < h->ndims; k++)
        same = h->shape[k] == want->shape[k];
    if (!same) {
        char a[200], b[200];
        shape_text(h, a, sizeof a);
        shape_text(want, b, sizeof b);
        return starhalo_error_set(STARHALO_ERR_FILE_MISMATCH, "'%s' has shape (%s), expected (%s)",
                                  path, a, b);
    }
    /* The parser bounded the element count, so this cannot overflow. */
    const int64_t size = h->data_offset + element_count(h) * (int64_t)starhalo_dtype_size(h->dtype);
    STARHALO_REQUIRE(file_size == size, STARHALO_ERR_CORRUPT,
                     "'%s' is %s: %" PRId64 " bytes, the header promises %" PRId64, path,
                     file_size < size ? "truncated" : "longer than its header says", file_size,
                     size);
    return STARHALO_OK;
}

starhalo_status_t starhalo__npy_publish(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return starhalo_error_set(STARHALO_ERR_IO, "renaming '%s' to '%s': %s", tmp, path,
                                  strerror(errno));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    const int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) { /* best effort: some file systems refuse fsync on a directory */
        (void)fsync(fd);
        close(fd);
    }
    return STARHALO_OK;
}

starhalo_status_t starhalo_npy_save(const char *path, starhalo_npy_header_t *h, const void *data)
{
    STARHALO_REQUIRE(path && h && data, STARHALO_ERR_INVALID_ARG, "npy save: NULL argument");
    const int64_t count = element_count(h);
    h->has_meta = 1;
    h->checksum =
        starhalo_npy_checksum_finish(starhalo_npy_checksum_add(0, h->dtype, data, count, 0), h);
    char header[STARHALO_NPY_MAX_HEADER], tmp[4200];
    size_t len = 0;
    STARHALO_CHECK(starhalo_npy_header_format(h, header, sizeof header, &len));
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    STARHALO_REQUIRE(f, STARHALO_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    const size_t bytes = (size_t)count * starhalo_dtype_size(h->dtype);
    int ok = fwrite(header, 1, len, f) == len && fwrite(data, 1, bytes, f) == bytes &&
             fflush(f) == 0 && fsync(fileno(f)) == 0;
    const int err = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return starhalo_error_set(STARHALO_ERR_IO, "writing '%s': %s", tmp, strerror(err));
    }
    return starhalo__npy_publish(tmp, path);
}

starhalo_status_t starhalo_npy_load(const char *path, const starhalo_npy_header_t *want,
                                    starhalo_npy_header_t *out, void *data)
{
    STARHALO_REQUIRE(path && want && out && data, STARHALO_ERR_INVALID_ARG,
                     "npy load: NULL argument");
    FILE *f = fopen(path, "rb");
    STARHALO_REQUIRE(f, STARHALO_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    char buf[STARHALO_NPY_MAX_HEADER + 16];
    starhalo_status_t rc = STARHALO_OK;
    long size = -1;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        rc = starhalo_error_set(STARHALO_ERR_IO, "cannot size '%s': %s", path, strerror(errno));
    const size_t n = rc == STARHALO_OK ? fread(buf, 1, sizeof buf, f) : 0;
    if (rc == STARHALO_OK)
        rc = starhalo_npy_header_check(buf, n, (int64_t)size, want, path, out);
    const int64_t count = element_count(want);
    const size_t bytes = (size_t)count * starhalo_dtype_size(want->dtype);
    if (rc == STARHALO_OK &&
        (fseek(f, (long)out->data_offset, SEEK_SET) != 0 || fread(data, 1, bytes, f) != bytes))
        rc = starhalo_error_set(STARHALO_ERR_IO, "reading '%s' failed", path);
    fclose(f);
    if (rc != STARHALO_OK)
        return rc;
    const uint64_t got = starhalo_npy_checksum_finish(
        starhalo_npy_checksum_add(0, want->dtype, data, count, 0), out);
    STARHALO_REQUIRE(got == out->checksum, STARHALO_ERR_CORRUPT,
                     "'%s': checksum mismatch (header 0x%016" PRIx64 ", data 0x%016" PRIx64 ")",
                     path, out->checksum, got);
    return STARHALO_OK;
}
