/* SPDX-License-Identifier: MIT */
/**
 * @file test_cnn_netfile.c
 * @brief Tests spatial_cnn's net files (apps/spatial_cnn/netfile.c, linked alone: no starhalo,
 * StarPU or MPI): the shipped nets parse and infer (resnet8's shapes and parameter counts at
 * 32 x 32 and 64 x 64, two_layer.txt equals the built-in net), every parse and inference error
 * gives its exact one-line message with the right line number, comments / blank lines / tabs /
 * CRLF, file errors, and the documented generators (cnn_param_init against the splitmix64
 * formula written out again here, its range; cnn_data_label's range and formula; the data).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* cmocka needs these first. starhalo_test.h is not used: this test links no starhalo code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netfile.h"

#ifndef CNN_NETS_DIR
#error "CNN_NETS_DIR (apps/spatial_cnn/nets) must be defined by the build"
#endif

static cnn_netdesc_t net; /* 256 layers: kept off the stack */
static char err[512];

/* The splitmix64 of netfile.h, written again from the documented formula. */
static uint64_t ref_splitmix64(uint64_t z)
{
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static void parse_ok(const char *text)
{
    int rc = cnn_net_parse_string("x.txt", text, &net, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
}

static void infer_ok(int64_t c, int64_t h, int64_t w)
{
    int rc = cnn_net_infer(&net, "x.txt", c, h, w, err, sizeof err);
    if (rc)
        print_error("%s\n", err);
    assert_int_equal(rc, 0);
}

/* ---------------------------------------------------------------------------------------- */

static void shipped_two_layer(void **state)
{
    (void)state;
    const char *path = CNN_NETS_DIR "/two_layer.txt";
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), 0);
    assert_int_equal(cnn_net_infer(&net, path, 3, 23, 23, err, sizeof err), 0);
    static cnn_netdesc_t builtin;
    cnn_net_two_layer(8, 2, &builtin);
    assert_int_equal(cnn_net_infer(&builtin, "builtin", 3, 23, 23, err, sizeof err), 0);
    assert_int_equal(net.nlayers, 3);
    assert_int_equal(builtin.nlayers, 3);
    assert_int_equal(net.classify, 0);
    assert_int_equal(builtin.classify, 0);
    for (int i = 0; i < 3; i++) {
        cnn_layer_desc_t a = net.layers[i], b = builtin.layers[i];
        assert_int_not_equal(a.line, 0);
        assert_int_equal(b.line, 0);
        a.line = 0; /* the only difference */
        assert_memory_equal(&a, &b, sizeof a);
    }
    const cnn_layer_desc_t *y = &net.layers[2];
    assert_int_equal(y->out_c, 2);
    assert_int_equal(y->out_h, 23);
    assert_int_equal(y->out_w, 23);
    assert_int_equal(y->flat_out, 0);
    const char *names[CNN_MAX_PARAMS];
    int64_t counts[CNN_MAX_PARAMS];
    assert_int_equal(cnn_layer_params(&net.layers[0], names, counts), 1);
    assert_string_equal(names[0], "weight");
    assert_int_equal(counts[0], 8 * 3 * 9);
    assert_int_equal(cnn_layer_params(&net.layers[1], names, counts), 0);
    assert_int_equal(cnn_layer_params(&net.layers[2], names, counts), 1);
    assert_int_equal(counts[0], 2 * 8 * 9);
}

/* resnet8.txt, layer by layer: op, output channels, output extent for a 32 x 32 input. */
static const struct {
    cnn_op_t op;
    int c, s;
} resnet8[] = {
    {CNN_CONV, 16, 32},      {CNN_BN, 16, 32},   {CNN_RELU, 16, 32}, {CNN_MAXPOOL, 16, 16},
    {CNN_SAVE, 16, 16},      {CNN_CONV, 16, 16}, {CNN_BN, 16, 16},   {CNN_RELU, 16, 16},
    {CNN_CONV, 16, 16},      {CNN_BN, 16, 16},   {CNN_ADD, 16, 16},  {CNN_RELU, 16, 16},
    {CNN_CONV, 32, 8},       {CNN_BN, 32, 8},    {CNN_RELU, 32, 8},  {CNN_SAVE, 32, 8},
    {CNN_CONV, 32, 8},       {CNN_BN, 32, 8},    {CNN_RELU, 32, 8},  {CNN_CONV, 32, 8},
    {CNN_BN, 32, 8},         {CNN_ADD, 32, 8},   {CNN_RELU, 32, 8},  {CNN_CONV, 64, 4},
    {CNN_BN, 64, 4},         {CNN_RELU, 64, 4},  {CNN_GAP, 64, 1},   {CNN_FC, 10, 1},
    {CNN_SOFTMAX_CE, 10, 1},
};

static void shipped_resnet8(void **state)
{
    (void)state;
    const char *path = CNN_NETS_DIR "/resnet8.txt";
    const int n = (int)(sizeof resnet8 / sizeof resnet8[0]);
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), 0);
    assert_int_equal(net.nlayers, n);
    assert_int_equal(net.classify, 1);
    assert_int_equal(cnn_net_infer(&net, path, 3, 32, 32, err, sizeof err), 0);
    int weighted = 0;
    int64_t weights = 0, total = 0;
    for (int i = 0; i < n; i++) {
        const cnn_layer_desc_t *L = &net.layers[i];
        assert_int_equal(L->op, resnet8[i].op);
        assert_int_equal(L->out_c, resnet8[i].c);
        assert_int_equal(L->out_h, resnet8[i].s);
        assert_int_equal(L->out_w, resnet8[i].s);
        assert_int_equal(L->flat_out, i >= n - 3);
        assert_int_equal(L->flat_in, i >= n - 2);
        if (i > 0) {
            assert_int_equal(L->in_c, net.layers[i - 1].out_c);
            assert_int_equal(L->in_h, net.layers[i - 1].out_h);
        }
        if (L->op == CNN_CONV) {
            assert_int_equal(L->bias, 0);
            assert_int_equal(L->kernel, 3);
        }
        if (L->op == CNN_CONV || L->op == CNN_FC)
            weighted++;
        const char *names[CNN_MAX_PARAMS];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(L, names, counts);
        for (int p = 0; p < np; p++) {
            total += counts[p];
            if (p == 0 && L->op != CNN_BN)
                weights += counts[p];
        }
    }
    assert_int_equal(weighted, 8);
    /* The residual adds find their saves. */
    assert_int_equal(net.layers[10].save_index, 4);
    assert_int_equal(net.layers[21].save_index, 15);
    /* Stride-2 layers: the maxpool and the two downsampling convs. */
    assert_int_equal(net.layers[3].stride, 2);
    assert_int_equal(net.layers[12].stride, 2);
    assert_int_equal(net.layers[23].stride, 2);
    /* conv weights 432 + 2*2304 + 4608 + 2*9216 + 18432, fc 640; bn 2*208, fc bias 10. */
    assert_int_equal(weights, 47152);
    assert_int_equal(total, 47152 + 416 + 10);
    const char *names[CNN_MAX_PARAMS];
    int64_t counts[CNN_MAX_PARAMS];
    assert_int_equal(cnn_layer_params(&net.layers[27], names, counts), 2);
    assert_string_equal(names[0], "weight");
    assert_string_equal(names[1], "bias");
    assert_int_equal(counts[0], 640);
    assert_int_equal(counts[1], 10);
    assert_int_equal(cnn_layer_params(&net.layers[1], names, counts), 2);
    assert_string_equal(names[0], "gamma");
    assert_string_equal(names[1], "beta");
    assert_int_equal(counts[0], 16);

    /* 64 x 64: every extent doubles, the head does not change. */
    assert_int_equal(cnn_net_infer(&net, path, 3, 64, 64, err, sizeof err), 0);
    for (int i = 0; i < n - 3; i++)
        assert_int_equal(net.layers[i].out_h, 2 * resnet8[i].s);
    assert_int_equal(net.layers[n - 1].out_c, 10);
    /* An odd, non-square 23 x 30: (23 + 2 - 2 - 1)/2 + 1 = 12 -> 6 -> 3; 30 -> 15 -> 8 -> 4. */
    assert_int_equal(cnn_net_infer(&net, path, 1, 23, 30, err, sizeof err), 0);
    assert_int_equal(net.layers[3].out_h, 12);
    assert_int_equal(net.layers[12].out_h, 6);
    assert_int_equal(net.layers[23].out_h, 3);
    assert_int_equal(net.layers[3].out_w, 15);
    assert_int_equal(net.layers[12].out_w, 8);
    assert_int_equal(net.layers[23].out_w, 4);
    assert_int_equal(net.layers[0].in_c, 1);
}

/* ---------------------------------------------------------------------------------------- */
/* Bad nets: the exact message. line 0: no line ("net x.txt: ..."). infer: parse succeeds and
 * cnn_net_infer for a 3 x 8 x 8 input fails. */

static const struct bad {
    const char *text;
    int line, infer;
    const char *msg;
} bad[] = {
    {"relu\nconv2 8 3 1 1\n", 2, 0, "unknown layer 'conv2'"},
    {"Conv 8 3 1 1\n", 1, 0, "unknown layer 'Conv'"},
    {"conv 8 3 1\n", 1, 0, "conv needs COUT K STRIDE PAD [groups=G] [dilation=D] [bias]"},
    {"conv\n", 1, 0, "conv needs COUT K STRIDE PAD [groups=G] [dilation=D] [bias]"},
    {"conv 8 0 1 0\n", 1, 0, "kernel 0 must be 1..7"},
    {"conv 8 9 1 0\n", 1, 0, "kernel 9 must be 1..7"},
    {"conv 8 3 3 1\n", 1, 0, "stride 3 must be 1 or 2"},
    {"conv 8 3 0 1\n", 1, 0, "stride 0 must be 1 or 2"},
    {"conv 8 3 1 5\n", 1, 0, "padding 5 must be 0..2 (kernel 3: < kernel)"},
    {"conv 8 1 1 1\n", 1, 0, "padding 1 must be 0..0 (kernel 1: < kernel)"},
    {"conv 8 3 1 5 dilation=2\n", 1, 0,
     "padding 5 must be 0..4 (kernel 3, dilation 2: at most dilation*(kernel-1))"},
    {"conv 8 3 1 1 grups=2\n", 1, 0, "unknown option 'grups=2'"},
    {"conv 8 3 1 1 1\n", 1, 0, "unknown option '1'"},
    {"conv 8 3 1 1 Bias\n", 1, 0, "unknown option 'Bias'"},
    {"conv 8 3 1 1 groups=0\n", 1, 0, "groups=0 must be 1..4096"},
    {"conv 8 3 1 1 groups=4097\n", 1, 0, "groups=4097 must be 1..4096"},
    {"conv 8 3 1 1 dilation=0\n", 1, 0, "dilation must be >= 1"},
    {"conv 8 3 1 1 bias bias\n", 1, 0, "duplicate option 'bias'"},
    {"conv 8 3 1 1 dilation=1 bias dilation=1\n", 1, 0, "duplicate option 'dilation'"},
    {"conv 8 3 1 1 groups=1 groups=1\n", 1, 0, "duplicate option 'groups'"},
    {"conv 8 3 1 1 dilation=x\n", 1, 0, "dilation 'x' is not an unsigned decimal integer"},
    {"conv 8 3 1 1 dilation=\n", 1, 0, "dilation '' is not an unsigned decimal integer"},
    {"conv 8 3 1 1 groups=-1\n", 1, 0, "groups '-1' is not an unsigned decimal integer"},
    {"conv 8 3x 1 1\n", 1, 0, "K '3x' is not an unsigned decimal integer"},
    {"conv -8 3 1 1\n", 1, 0, "COUT '-8' is not an unsigned decimal integer"},
    {"conv +8 3 1 1\n", 1, 0, "COUT '+8' is not an unsigned decimal integer"},
    {"conv 8 3 1 0x1\n", 1, 0, "PAD '0x1' is not an unsigned decimal integer"},
    {"conv 8 3 1.0 1\n", 1, 0, "STRIDE '1.0' is not an unsigned decimal integer"},
    {"conv 99999999999 3 1 1\n", 1, 0, "COUT '99999999999' is too large"},
    {"conv 8 3 1 2147483648\n", 1, 0, "PAD '2147483648' is too large"},
    {"conv 8 3 1 1 dilation=2147483648\n", 1, 0, "dilation '2147483648' is too large"},
    {"conv 0 3 1 1\n", 1, 0, "COUT 0 must be 1..65536"},
    {"conv 65537 3 1 1\n", 1, 0, "COUT 65537 must be 1..65536"},
    {"maxpool 3 2\n", 1, 0, "maxpool needs K STRIDE PAD"},
    {"avgpool 3 2 1 1\n", 1, 0, "avgpool needs K STRIDE PAD"},
    {"maxpool 3 2 2\n", 1, 0, "padding 2 must be 0..1 (kernel 3: at most kernel/2)"},
    {"avgpool 2 2 2\n", 1, 0, "padding 2 must be 0..1 (kernel 2: at most kernel/2)"},
    {"maxpool 8 1 0\n", 1, 0, "kernel 8 must be 1..7"},
    {"avgpool 2 3 0\n", 1, 0, "stride 3 must be 1 or 2"},
    {"maxpool 3 2 -1\n", 1, 0, "PAD '-1' is not an unsigned decimal integer"},
    {"relu 1\n", 1, 0, "relu takes no arguments"},
    {"bn x\n", 1, 0, "bn takes no arguments"},
    {"conv 4 3 1 1\ngap 2\n", 2, 0, "gap takes no arguments"},
    {"softmax_ce loss\n", 1, 0, "softmax_ce takes no arguments"},
    {"fc\n", 1, 0, "fc needs NCLASSES"},
    {"fc 10 bias\n", 1, 0, "fc needs NCLASSES"},
    {"fc 0\n", 1, 0, "NCLASSES 0 must be 1..65536"},
    {"fc 10x\n", 1, 0, "NCLASSES '10x' is not an unsigned decimal integer"},
    {"save\n", 1, 0, "save needs one NAME"},
    {"save a b\n", 1, 0, "save needs one NAME"},
    {"relu\nadd\n", 2, 0, "add needs one NAME"},
    {"save abcdefghijklmnopqrstuvwxyz012345\n", 1, 0, "name too long (at most 31 characters)"},
    {"save a/b\n", 1, 0, "invalid name 'a/b' (letters, digits, '_', '-' and '.' only)"},
    {"save a=b\n", 1, 0, "invalid name 'a=b' (letters, digits, '_', '-' and '.' only)"},
    {"save a\nrelu\nsave a\n", 3, 0, "duplicate save name 'a'"},
    {"save a\nadd b\n", 2, 0, "add 'b' has no earlier save"},
    {"add a\nsave a\n", 1, 0, "add 'a' has no earlier save"},
    {"relu\n\x01\n", 2, 0, "invalid character 0x01 (outside a comment)"},
    {"relu \xc3\xa9\n", 1, 0, "invalid character 0xc3 (outside a comment)"},
    {"relu\fx\n", 1, 0, "invalid character 0x0c (outside a comment)"},
    {"", 0, 0, "no layers"},
    {"# only a comment\n\n   \n\t\n", 0, 0, "no layers"},
    /* Inference. */
    {"conv 4 7 1 0\nconv 4 3 1 0\n", 2, 1,
     "conv input 2 x 2 is too small: kernel 3 with padding 0 needs at least 3 x 3"},
    {"conv 4 3 1 0 dilation=4\n", 1, 1,
     "conv input 8 x 8 is too small: kernel 3 (dilation 4) with padding 0 needs at least 9 x 9"},
    {"conv 4 5 2 1 dilation=3\n", 1, 1,
     "conv input 8 x 8 is too small: kernel 5 (dilation 3) with padding 1 needs at least 11 x "
     "11"},
    {"maxpool 2 2 0\nmaxpool 2 2 0\nmaxpool 2 2 0\nmaxpool 2 2 0\n", 4, 1,
     "maxpool input 1 x 1 is too small: kernel 2 with padding 0 needs at least 2 x 2"},
    {"avgpool 7 1 0\navgpool 3 1 1\navgpool 3 2 0\n", 3, 1,
     "avgpool input 2 x 2 is too small: kernel 3 with padding 0 needs at least 3 x 3"},
    {"save a\nconv 4 3 1 1\nadd a\n", 3, 1,
     "add 'a': shape 4 x 8 x 8 differs from the saved 3 x 8 x 8"},
    {"save a\nconv 3 3 2 1\nadd a\n", 3, 1,
     "add 'a': shape 3 x 4 x 4 differs from the saved 3 x 8 x 8"},
    {"conv 4 3 1 1\ngap\nrelu\nfc 10\nsoftmax_ce\n", 3, 1,
     "relu after gap: only fc and softmax_ce may follow gap"},
    {"gap\nsave a\nfc 3\nsoftmax_ce\n", 2, 1,
     "save after gap: only fc and softmax_ce may follow gap"},
    {"save a\ngap\nadd a\nfc 3\nsoftmax_ce\n", 3, 1,
     "add after gap: only fc and softmax_ce may follow gap"},
    {"gap\ngap\nfc 3\nsoftmax_ce\n", 2, 1, "gap after gap: only fc and softmax_ce may follow gap"},
    {"gap\nconv 4 1 1 0\nfc 3\nsoftmax_ce\n", 2, 1,
     "conv after gap: only fc and softmax_ce may follow gap"},
    {"conv 4 3 1 1\nfc 10\nsoftmax_ce\n", 2, 1, "fc needs a flat input (put gap before it)"},
    {"conv 4 3 1 1\ngap\n", 2, 1,
     "gap in a net that does not end with softmax_ce (an MSE net ends with an image)"},
    {"conv 4 3 1 1\nfc 10\n", 2, 1,
     "fc in a net that does not end with softmax_ce (an MSE net ends with an image)"},
    {"gap\nfc 10\nsoftmax_ce\nsoftmax_ce\n", 3, 1, "softmax_ce must be the last layer"},
    {"gap\nfc 10\nsoftmax_ce\nrelu\n", 3, 1, "softmax_ce must be the last layer"},
    {"conv 4 3 1 1\nsoftmax_ce\n", 2, 1, "softmax_ce must directly follow fc"},
    {"softmax_ce\n", 1, 1, "softmax_ce must directly follow fc"},
    {"conv 8 3 1 1 groups=2\n", 1, 1, "groups=2 must divide CIN (3) and COUT (8)"},
    {"conv 4 3 1 1 groups=3\n", 1, 1, "groups=3 must divide CIN (3) and COUT (4)"},
    {"conv 6 3 1 1 groups=3\nconv 4 1 1 0 groups=4\n", 2, 1,
     "groups=4 must divide CIN (6) and COUT (4)"},
};

static void bad_nets(void **state)
{
    (void)state;
    char want[512];
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const struct bad *b = &bad[k];
        if (b->line > 0)
            snprintf(want, sizeof want, "net x.txt:%d: %s", b->line, b->msg);
        else
            snprintf(want, sizeof want, "net x.txt: %s", b->msg);
        strcpy(err, "untouched");
        int rc = cnn_net_parse_string("x.txt", b->text, &net, err, sizeof err);
        if (b->infer) {
            if (rc)
                print_error("case %zu: parse failed: %s\n", k, err);
            assert_int_equal(rc, 0);
            rc = cnn_net_infer(&net, "x.txt", 3, 8, 8, err, sizeof err);
        } else if (rc) {
            assert_int_equal(net.nlayers, 0); /* a failed parse leaves no layers */
        }
        if (rc != -1 || strcmp(err, want) != 0)
            print_error("case %zu: got rc %d '%s'\n          want '%s'\n", k, rc, err, want);
        assert_int_equal(rc, -1);
        assert_string_equal(err, want);
    }
    /* A NULL (or zero-length) error buffer is allowed. */
    assert_int_equal(cnn_net_parse_string("x.txt", "conv2\n", &net, NULL, 0), -1);
    err[0] = 'z';
    assert_int_equal(cnn_net_parse_string("x.txt", "conv2\n", &net, err, 0), -1);
    assert_int_equal(err[0], 'z');
    /* A short buffer gets a truncated, terminated message. */
    char small[12];
    assert_int_equal(cnn_net_parse_string("x.txt", "conv2\n", &net, small, sizeof small), -1);
    assert_string_equal(small, "net x.txt:1");
}

/* The limits: 256 layers and 256-character lines are fine, one more is not. */
static void limits(void **state)
{
    (void)state;
    static char text[CNN_MAX_LAYERS * 8 + 16];
    text[0] = '\0';
    for (int i = 0; i < CNN_MAX_LAYERS; i++)
        strcat(text, i % 2 ? "relu\n" : "bn\n");
    parse_ok(text);
    assert_int_equal(net.nlayers, CNN_MAX_LAYERS);
    strcat(text, "\n# one more\nrelu\n");
    assert_int_equal(cnn_net_parse_string("x.txt", text, &net, err, sizeof err), -1);
    assert_string_equal(err, "net x.txt:259: more than 256 layers");

    char line[CNN_LINE_MAX + 32];
    memset(line, 0, sizeof line);
    strcpy(line, "relu\nrelu #");
    const size_t start = 5; /* the second line */
    while (strlen(line) - start < CNN_LINE_MAX)
        strcat(line, "x");
    strcat(line, "\nbn\n");
    parse_ok(line); /* exactly CNN_LINE_MAX characters */
    assert_int_equal(net.nlayers, 3);
    char *nl = strchr(line + start, '\n');
    memmove(nl + 1, nl, strlen(nl) + 1);
    *nl = 'x'; /* one more */
    assert_int_equal(cnn_net_parse_string("x.txt", line, &net, err, sizeof err), -1);
    assert_string_equal(err, "net x.txt:2: line too long (at most 256 characters)");

    /* The extreme values that are accepted. */
    parse_ok("conv 65536 7 2 6\nconv 1 1 1 0 bias groups=1 dilation=1\nconv 4 3 1 4 "
             "dilation=2\nmaxpool 7 2 3\navgpool 1 1 0\nfc 65536\nfc 1\nconv 00008 03 01 01\n");
    assert_int_equal(net.layers[0].cout, 65536);
    assert_int_equal(net.layers[1].bias, 1);
    assert_int_equal(net.layers[2].pad, 4);
    assert_int_equal(net.layers[2].dilation, 2);
    assert_int_equal(net.layers[7].cout, 8);
    assert_int_equal(net.layers[7].kernel, 3);

    /* Grouped and depthwise convs: weights COUT x CIN/G x K x K. */
    parse_ok("conv 8 3 1 1 groups=2\nconv 8 3 2 1 groups=8 bias\n");
    assert_int_equal(net.layers[0].groups, 2);
    assert_int_equal(net.layers[1].groups, 8);
    infer_ok(4, 8, 8);
    int64_t counts[CNN_MAX_PARAMS];
    assert_int_equal(cnn_layer_params(&net.layers[0], NULL, counts), 1);
    assert_int_equal(counts[0], 8 * 2 * 3 * 3);
    assert_int_equal(cnn_layer_params(&net.layers[1], NULL, counts), 2);
    assert_int_equal(counts[0], 8 * 1 * 3 * 3);
    assert_int_equal(counts[1], 8);
    parse_ok("conv 4096 1 1 0 groups=4096\n");
    infer_ok(4096, 2, 2);
    assert_int_equal(cnn_layer_params(&net.layers[0], NULL, counts), 1);
    assert_int_equal(counts[0], 4096);
}

/* Comments, blank lines, tabs, CRLF, options in any order, no final newline. */
static void layout(void **state)
{
    (void)state;
    parse_ok("# header\n"
             "\n"
             "   \t  \n"
             "\tconv\t4  3 1\t1   bias # a comment with conv 2 3 and 'quotes' \xc3\xa9\n"
             "relu#no blank before the comment\r\n"
             "  save  a1_b-c.d  \r\n"
             "conv 4 3 1 2 dilation=2 bias groups=1\n"
             "#\n"
             "add a1_b-c.d\n"
             "avgpool 3 1 1");
    assert_int_equal(net.nlayers, 6);
    const int lines[] = {4, 5, 6, 7, 9, 10};
    for (int i = 0; i < 6; i++)
        assert_int_equal(net.layers[i].line, lines[i]);
    const cnn_layer_desc_t *c = &net.layers[0];
    assert_int_equal(c->op, CNN_CONV);
    assert_int_equal(c->cout, 4);
    assert_int_equal(c->kernel, 3);
    assert_int_equal(c->stride, 1);
    assert_int_equal(c->pad, 1);
    assert_int_equal(c->bias, 1);
    assert_int_equal(c->groups, 1);
    assert_int_equal(c->dilation, 1);
    assert_int_equal(net.layers[1].op, CNN_RELU);
    assert_string_equal(net.layers[2].name, "a1_b-c.d");
    assert_int_equal(net.layers[3].dilation, 2);
    assert_int_equal(net.layers[3].bias, 1);
    assert_int_equal(net.layers[4].op, CNN_ADD);
    assert_int_equal(net.layers[4].save_index, 2);
    assert_int_equal(net.layers[5].op, CNN_AVGPOOL);
    assert_int_equal(net.classify, 0);
    infer_ok(2, 9, 7);
    assert_int_equal(net.layers[5].out_c, 4);
    assert_int_equal(net.layers[5].out_h, 9);
    assert_int_equal(net.layers[5].out_w, 7);
    const char *names[CNN_MAX_PARAMS];
    int64_t counts[CNN_MAX_PARAMS];
    assert_int_equal(cnn_layer_params(&net.layers[0], names, counts), 2);
    assert_string_equal(names[1], "bias");
    assert_int_equal(counts[0], 4 * 2 * 9);
    assert_int_equal(counts[1], 4);
    /* A save may be added more than once; a classifier without gap's spatial layers. */
    parse_ok("save a\nadd a\nadd a\ngap\nfc 5\nfc 3\nsoftmax_ce\n");
    infer_ok(6, 1, 1);
    assert_int_equal(net.classify, 1);
    assert_int_equal(net.layers[6].out_c, 3);
    assert_int_equal(net.layers[6].flat_out, 1);
    assert_int_equal(net.layers[4].in_c, 6);
    assert_int_equal(cnn_layer_params(&net.layers[5], names, counts), 2);
    assert_int_equal(counts[0], 15);
}

/* Files: a missing one, an empty one, a NUL byte, a long line, no final newline; messages
 * name the path. */
static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void files(void **state)
{
    (void)state;
    assert_int_equal(cnn_net_parse_file("/nonexistent/x.txt", &net, err, sizeof err), -1);
    assert_string_equal(err, "net /nonexistent/x.txt: cannot open: No such file or directory");
    assert_int_equal(cnn_net_parse_file("/", &net, err, sizeof err), -1);
    assert_string_equal(err, "net /: cannot read: Is a directory");

    char path[] = "/tmp/test_cnn_netfile_XXXXXX";
    const int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char want[256];
    write_file(path, "", 0);
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), -1);
    snprintf(want, sizeof want, "net %s: no layers", path);
    assert_string_equal(err, want);

    write_file(path, "relu\nbn\0\n", 9);
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), -1);
    snprintf(want, sizeof want, "net %s:2: invalid character 0x00", path);
    assert_string_equal(err, want);

    static char big[4 * CNN_LINE_MAX];
    memset(big, '#', sizeof big);
    memcpy(big, "relu\n", 5);
    write_file(path, big, sizeof big);
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), -1);
    snprintf(want, sizeof want, "net %s:2: line too long (at most 256 characters)", path);
    assert_string_equal(err, want);

    /* Exactly CNN_LINE_MAX characters are fine, in the middle and as the last line. */
    memset(big, 0, sizeof big);
    strcpy(big, "bn\nrelu #");
    while (strlen(big) < 3 + CNN_LINE_MAX)
        strcat(big, "y");
    strcat(big, "\nrelu #");
    while (strlen(big) < 2 * (3 + CNN_LINE_MAX) - 2)
        strcat(big, "z");
    write_file(path, big, strlen(big));
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), 0);
    assert_int_equal(net.nlayers, 3);
    strcat(big, "z");
    write_file(path, big, strlen(big));
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), -1);
    snprintf(want, sizeof want, "net %s:3: line too long (at most 256 characters)", path);
    assert_string_equal(err, want);

    const char *ok = "conv 4 3 1 1\r\n\nrelu\n# end\nconv 2 3 1 1";
    write_file(path, ok, strlen(ok));
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), 0);
    assert_int_equal(net.nlayers, 3);
    assert_int_equal(net.layers[2].line, 5);
    assert_int_equal(net.layers[2].cout, 2);
    assert_int_equal(cnn_net_infer(&net, path, 3, 5, 5, err, sizeof err), 0);

    const char *bad_opt = "relu\n\nconv 4 3 1 1 grups=2\n";
    write_file(path, bad_opt, strlen(bad_opt));
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), -1);
    snprintf(want, sizeof want, "net %s:3: unknown option 'grups=2'", path);
    assert_string_equal(err, want);
    unlink(path);
}

/* Built-in nets have no lines: "net NAME: layer L: ..."; bad input extents. */
static void builtin(void **state)
{
    (void)state;
    cnn_net_two_layer(4, 3, &net);
    assert_int_equal(net.nlayers, 3);
    assert_int_equal(net.classify, 0);
    assert_int_equal(net.layers[0].op, CNN_CONV);
    assert_int_equal(net.layers[0].cout, 4);
    assert_int_equal(net.layers[0].pad, 1);
    assert_int_equal(net.layers[0].bias, 0);
    assert_int_equal(net.layers[1].op, CNN_RELU);
    assert_int_equal(net.layers[2].cout, 3);
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 1, 1, err, sizeof err), 0);
    assert_int_equal(net.layers[2].out_c, 3);
    assert_int_equal(net.layers[2].in_c, 4);
    assert_int_equal(net.layers[0].in_c, 2);

    assert_int_equal(cnn_net_infer(&net, "builtin", 0, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: input 0 x 8 x 8: each extent must be 1..2147483647");
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, (int64_t)1 << 31, err, sizeof err), -1);
    assert_string_equal(err,
                        "net builtin: input 2 x 8 x 2147483648: each extent must be 1..2147483647");

    /* Values a parse would refuse are refused by the inference too. */
    net.layers[0].kernel = 9;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 1: kernel 9 must be 1..7");
    cnn_net_two_layer(4, 3, &net);
    net.layers[2].groups = 0;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 3: groups=0 must be 1..4096");
    net.layers[2].groups = 2;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 3: groups=2 must divide CIN (4) and COUT (3)");
    net.layers[2].groups = 4;
    net.layers[2].cout = 8;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), 0);
    cnn_net_two_layer(4, 3, &net);
    net.layers[1].op = CNN_ADD;
    strcpy(net.layers[1].name, "q");
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 2: add 'q' has no earlier save");
    net.layers[1].op = CNN_SAVE;
    memset(net.layers[1].name, 'n', sizeof net.layers[1].name);
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 2: name too long (at most 31 characters)");
    cnn_net_two_layer(4, 3, &net);
    net.layers[2].kernel = 7;
    net.layers[2].pad = 0;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 6, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: layer 3: conv input 6 x 8 is too small: kernel 7 "
                             "with padding 0 needs at least 7 x 7");
    net.nlayers = 0;
    assert_int_equal(cnn_net_infer(&net, "builtin", 2, 8, 8, err, sizeof err), -1);
    assert_string_equal(err, "net builtin: no layers");
}

/* ---------------------------------------------------------------------------------------- */
/* Generators. */

static float ref_param(int l, int p, int64_t i, int64_t fan_in)
{
    const uint64_t key = ((uint64_t)l << 48) | ((uint64_t)p << 40) | (uint64_t)i;
    const double u = (double)(ref_splitmix64(key) >> 11) * ldexp(1.0, -53);
    return (float)((2.0 * u - 1.0) * (1.0 / sqrt((double)fan_in)));
}

static void param_init(void **state)
{
    (void)state;
    /* The documented splitmix64: its well-known first output from state 0. */
    assert_true(ref_splitmix64(0) == 0xE220A8397B1DCDAFULL);

    const char *path = CNN_NETS_DIR "/resnet8.txt";
    assert_int_equal(cnn_net_parse_file(path, &net, err, sizeof err), 0);
    assert_int_equal(cnn_net_infer(&net, path, 3, 32, 32, err, sizeof err), 0);
    for (int l = 0; l < net.nlayers; l++) {
        const cnn_layer_desc_t *L = &net.layers[l];
        int64_t counts[CNN_MAX_PARAMS];
        const int np = cnn_layer_params(L, NULL, counts);
        for (int p = 0; p < np; p++) {
            const int weight = p == 0 && (L->op == CNN_CONV || L->op == CNN_FC);
            const int64_t fan =
                L->op == CNN_CONV ? L->in_c * L->kernel * L->kernel : L->in_c; /* fc: C */
            const double b = 1.0 / sqrt((double)fan);
            double sum = 0, lo = 1, hi = -1;
            for (int64_t i = 0; i < counts[p]; i++) {
                const float v = cnn_param_init(&net, l, p, i);
                assert_true(v == cnn_param_init(&net, l, p, i)); /* deterministic */
                if (!weight) {
                    const float want = L->op == CNN_BN && p == 0 ? 1.0f : 0.0f;
                    assert_true(v == want);
                    continue;
                }
                /* Bitwise the documented formula. */
                assert_true(v == ref_param(l, p, i, fan));
                assert_true(fabs((double)v) <= (double)(float)b);
                sum += v;
                lo = fmin(lo, v / b);
                hi = fmax(hi, v / b);
            }
            if (weight) {
                /* Uniform on [-b, b): the extremes are reached, the mean is near 0. */
                const double m = sum / (double)counts[p] / b;
                assert_true(lo < -0.95 && hi > 0.95);
                assert_true(fabs(m) < 4.0 / sqrt((double)counts[p]));
            }
        }
    }
    /* Out of range: 0. */
    assert_true(cnn_param_init(&net, -1, 0, 0) == 0.0f);
    assert_true(cnn_param_init(&net, net.nlayers, 0, 0) == 0.0f);
    assert_true(cnn_param_init(&net, 0, 1, 0) == 0.0f); /* conv without bias */
    assert_true(cnn_param_init(&net, 0, 0, 432) == 0.0f);
    assert_true(cnn_param_init(&net, 0, 0, -1) == 0.0f);
    assert_true(cnn_param_init(&net, 2, 0, 0) == 0.0f); /* relu */

    /* Only (l, p, i) and the shapes count: the same layer at the same index in another net
     * (other layers after it, another input size) gives the same values; other l, p differ. */
    const float w0 = cnn_param_init(&net, 5, 0, 17);
    static cnn_netdesc_t other;
    parse_ok("conv 16 3 1 1\nbn\nrelu\nmaxpool 3 2 1\nsave q\nconv 16 3 1 1\n");
    other = net;
    assert_int_equal(cnn_net_infer(&other, "other", 3, 100, 50, err, sizeof err), 0);
    assert_true(cnn_param_init(&other, 5, 0, 17) == w0);
    assert_true(cnn_param_init(&other, 0, 0, 17) != w0);
    assert_true(cnn_param_init(&other, 5, 0, 18) != w0);
    /* A bias: 0, a conv with bias elsewhere too. */
    parse_ok("conv 3 3 1 1 bias\n");
    infer_ok(2, 4, 4);
    assert_true(cnn_param_init(&net, 0, 1, 2) == 0.0f);
    assert_true(cnn_param_init(&net, 0, 0, 0) == ref_param(0, 0, 0, 18));
}

static void data(void **state)
{
    (void)state;
    int hist[10] = {0};
    const int n = 10000;
    for (int64_t i = 0; i < n; i++) {
        const int y = cnn_data_label(i, 10);
        assert_true(y >= 0 && y < 10);
        assert_int_equal(y, (int)(ref_splitmix64((uint64_t)i) % 10));
        assert_int_equal(y, cnn_data_label(i, 10));
        hist[y]++;
    }
    for (int k = 0; k < 10; k++)
        assert_true(hist[k] > n / 10 - 200 && hist[k] < n / 10 + 200);
    for (int64_t i = 0; i < 100; i++) {
        assert_int_equal(cnn_data_label(i, 1), 0);
        assert_int_equal(cnn_data_label(i, 0), 0);
        const int y = cnn_data_label(i, 65536);
        assert_true(y >= 0 && y < 65536);
    }
    assert_int_equal(cnn_data_label(-1, 7), (int)(ref_splitmix64(UINT64_MAX) % 7));
    /* The old app's generators, formula for formula. */
    for (int64_t nn = 0; nn < 3; nn++)
        for (int64_t c = 0; c < 3; c++)
            for (int64_t y = 0; y < 5; y++)
                for (int64_t x = 0; x < 7; x++) {
                    assert_true(cnn_data_input(nn, c, y, x) ==
                                (float)sin(0.11 * (double)x * (double)(c + 1) + 0.07 * (double)y +
                                           0.5 * (double)nn));
                    assert_true(cnn_data_target(nn, c, y, x) ==
                                (float)(0.5 * cos(0.05 * (double)(x + 2 * y) * (double)(c + 1) -
                                                  0.3 * (double)nn)));
                }
    assert_true(cnn_data_input(0, 0, 0, 0) == 0.0f);
    assert_true(cnn_data_target(0, 0, 0, 0) == 0.5f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shipped_two_layer),
        cmocka_unit_test(shipped_resnet8),
        cmocka_unit_test(bad_nets),
        cmocka_unit_test(limits),
        cmocka_unit_test(layout),
        cmocka_unit_test(files),
        cmocka_unit_test(builtin),
        cmocka_unit_test(param_init),
        cmocka_unit_test(data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
