/* SPDX-License-Identifier: MIT */
/**
 * @file lama_example.h
 * @brief The worked example of the index-plan tests (LAMA's 40 elements block-distributed on
 * 4 ranks): each rank's required indexes and the halo, counts and provides expected of it.
 *
 * Required lists hold neighbours' boundary elements, far elements, a duplicate and an owned
 * index (dropped), so sorting, deduplication and owned-index removal are all exercised.
 */
#ifndef LAMA_EXAMPLE_H
#define LAMA_EXAMPLE_H

#include <stdint.h>

#define LAMA_N 40
#define LAMA_P 4

static const int64_t lama_required[LAMA_P][6] = {
    {10, 39, 25, 10, 5, -1}, /* rank 0 owns 0..9: 10 twice, 5 is its own */
    {9, 20, 35, 0, -1, -1},  /* rank 1 owns 10..19 */
    {19, 30, 5, 5, -1, -1},  /* rank 2 owns 20..29: 5 twice */
    {29, 0, 15, -1, -1, -1}, /* rank 3 owns 30..39 */
};
static const int64_t lama_nrequired[LAMA_P] = {5, 4, 4, 3};

/* Halo: sorted by owner, ascending inside an owner. */
static const int64_t lama_halo[LAMA_P][4] = {
    {10, 25, 39, -1}, {0, 9, 20, 35}, {5, 19, 30, -1}, {0, 15, 29, -1}};
static const int64_t lama_halo_size[LAMA_P] = {3, 4, 3, 3};
static const int64_t lama_halo_counts[LAMA_P][LAMA_P] = {
    {0, 1, 1, 1}, {2, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}};
/* Provides: local indexes each owner gathers, grouped by requester. */
static const int64_t lama_prov_counts[LAMA_P][LAMA_P] = {
    {0, 2, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}};
static const int64_t lama_provides[LAMA_P][4] = {
    {0, 9, 5, 0}, {0, 9, 5, -1}, {5, 0, 9, -1}, {9, 5, 0, -1}};
static const int64_t lama_nprovides[LAMA_P] = {4, 3, 3, 3};

#endif
