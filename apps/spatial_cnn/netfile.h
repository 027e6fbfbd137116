/* SPDX-License-Identifier: MIT */
/**
 * @file netfile.h
 * @brief spatial_cnn's network description: the layer list of a `--net FILE` (grammar in
 * docs/SPATIAL_CNN.md), its shape inference, the parameter layout, and the documented data
 * and parameter generators. Independent of starhalo (no StarPU, no MPI): the distributed net
 * (net.c) and the single-rank reference (ref.c) are both built from it.
 */
#ifndef SPATIAL_CNN_NETFILE_H
#define SPATIAL_CNN_NETFILE_H

#include <stddef.h>
#include <stdint.h>

/* CNN_NAME_MAX counts the NUL (names have at most 31 characters); CNN_LINE_MAX is the longest
 * line of a net file, newline excluded. */
enum { CNN_NAME_MAX = 32, CNN_MAX_LAYERS = 256, CNN_MAX_PARAMS = 2, CNN_LINE_MAX = 256 };

typedef enum cnn_op {
    CNN_CONV,       /**< conv COUT K STRIDE PAD [groups=G] [dilation=D] [bias] */
    CNN_MAXPOOL,    /**< maxpool K STRIDE PAD (padding cells never win) */
    CNN_AVGPOOL,    /**< avgpool K STRIDE PAD (divides by K*K: padding counts as zeros) */
    CNN_BN,         /**< bn: batch normalisation over batch and the whole image, eps 1e-5 */
    CNN_RELU,       /**< relu */
    CNN_SAVE,       /**< save NAME: remember the current activation */
    CNN_ADD,        /**< add NAME: current activation += the one saved as NAME */
    CNN_GAP,        /**< gap: global average pool -> N x C (replicated on every rank) */
    CNN_FC,         /**< fc NCLASSES: fully connected head, weight NCLASSES x C, bias */
    CNN_SOFTMAX_CE, /**< softmax_ce: mean over the batch of softmax cross-entropy; last line */
} cnn_op_t;

/** One layer of the list, with its inferred input and output shapes. */
typedef struct cnn_layer_desc {
    cnn_op_t op;
    int line; /**< line number in the file (1-based), 0 for built-in nets */
    int cout, kernel, stride, pad, dilation, groups, bias; /**< conv; pools use kernel..pad */
    int nclasses;                                          /**< fc */
    char name[CNN_NAME_MAX];                               /**< save / add */
    int save_index; /**< add: index of the matching save layer */
    /* Shapes (filled by cnn_net_infer): spatial layers have C x H x W, after gap C x 1 x 1
     * ("flat"), after fc NCLASSES x 1 x 1. */
    int64_t in_c, in_h, in_w, out_c, out_h, out_w;
    int flat_in, flat_out; /**< the input / output is N x C (after gap), not an image */
} cnn_layer_desc_t;

/** A parsed network. */
typedef struct cnn_netdesc {
    int nlayers;
    cnn_layer_desc_t layers[CNN_MAX_LAYERS];
    int classify; /**< ends with fc + softmax_ce: labels; else MSE 0.5*sum((y-t)^2) */
} cnn_netdesc_t;

/**
 * Parse a net file. Grammar: one layer per line; '#' starts a comment; blank lines are
 * skipped; tokens are separated by blanks (space, tab; a CR is a blank too); integers are
 * decimal, unsigned, at most INT_MAX. Limits: conv COUT 1..65536, K 1..7, STRIDE 1 or 2,
 * PAD 0..D*(K-1), groups 1..4096, dilation >= 1; pools K 1..7, STRIDE 1 or 2, PAD 0..K/2; fc
 * NCLASSES 1..65536; names 1..31 of [A-Za-z0-9_.-], each saved once, an add after its save;
 * at most CNN_MAX_LAYERS layers and CNN_LINE_MAX characters a line. Returns 0 (net->classify
 * set, shapes not yet: see cnn_net_infer), or -1 with one line in @p err naming the file, the
 * line number and the problem ("net FILE:LINE: ..."; "net FILE: cannot open: <strerror>",
 * "net FILE: no layers"); then net->nlayers is 0. @p err may be NULL.
 */
int cnn_net_parse_file(const char *path, cnn_netdesc_t *net, char *err, size_t errlen);
/** Same from a NUL-terminated string (@p name used in messages in place of FILE). */
int cnn_net_parse_string(const char *name, const char *text, cnn_netdesc_t *net, char *err,
                         size_t errlen);
/** The built-in two-layer net of --channels C0,C1,C2: conv C1 3 1 1, relu, conv C2 3 1 1
 * (no bias), MSE loss against the target (classify 0); line 0 on every layer, so messages read
 * "net NAME: layer L: ..." (L 1-based). Same as apps/spatial_cnn/nets/two_layer.txt. */
void cnn_net_two_layer(int64_t c1, int64_t c2, cnn_netdesc_t *net);

/**
 * Infer every layer's shapes for an input of @p c x @p h x @p w and check the net: a layer
 * that produces an empty image, add with a shape that differs from its save's, a duplicate
 * or unknown save name, an image layer after gap, fc not after gap (or fc), softmax_ce not
 * last or not after fc, gap/fc in an MSE net... Also re-checks every layer's values, so a net
 * built in code gets the parser's rules. Sets classify (the last layer is softmax_ce) and
 * save_index (add). Output extent of conv/pool: (n + 2p - d(k-1) - 1)/s + 1 (d = 1 for pools),
 * which must be >= 1. Input extents 1..INT_MAX. Returns 0, or -1 with "net NAME:LINE: ..."
 * ("net NAME: layer L: ..." for line 0).
 */
int cnn_net_infer(cnn_netdesc_t *net, const char *name, int64_t c, int64_t h, int64_t w, char *err,
                  size_t errlen);

/**
 * Parameters of layer @p l: conv: [0] "weight" COUT x CIN/G x K x K, [1] "bias" COUT (with
 * bias); bn: [0] "gamma" C, [1] "beta" C; fc: [0] "weight" NCLASSES x C, [1] "bias" NCLASSES;
 * other layers none. Returns the count; fills names and element counts.
 */
int cnn_layer_params(const cnn_layer_desc_t *l, const char *names[CNN_MAX_PARAMS],
                     int64_t counts[CNN_MAX_PARAMS]);

/**
 * Initial value of element @p i (row-major in the layout of cnn_layer_params) of parameter @p p
 * of layer @p l (0-based index in net->layers) of an inferred net; the same on every rank and
 * in every code path:
 * - conv weight (fan_in = CIN/G*K*K) and fc weight (fan_in = C):
 *   key = (l << 48) | (p << 40) | i   (uint64; i < 2^40),
 *   h = splitmix64(key), with splitmix64(z): z += 0x9E3779B97F4A7C15;
 *       z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *       return z ^ (z >> 31)   (all mod 2^64),
 *   u = (h >> 11) * 2^-53 (double, in [0, 1)), b = 1.0 / sqrt((double)fan_in),
 *   value = (float)((2u - 1) * b): the double is in [-b, b), the float its round-to-nearest;
 * - conv/fc bias and bn beta: 0; bn gamma: 1.
 * Out-of-range l, p or i give 0.
 */
float cnn_param_init(const cnn_netdesc_t *net, int l, int p, int64_t i);

/** Synthetic data (all in double, then rounded to float): input
 * sin(0.11*x*(c+1) + 0.07*y + 0.5*n), MSE target 0.5*cos(0.05*(x+2y)*(c+1) - 0.3*n), and the
 * class label of image n: splitmix64((uint64_t)n) mod nclasses (splitmix64 as for
 * cnn_param_init; 0 when nclasses < 1). */
float cnn_data_input(int64_t n, int64_t c, int64_t y, int64_t x);
float cnn_data_target(int64_t n, int64_t c, int64_t y, int64_t x);
int cnn_data_label(int64_t n, int nclasses);

#endif
