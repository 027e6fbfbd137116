/* SPDX-License-Identifier: MIT */
/**
 * @file part_plan.c
 * @brief Per-part plan: owned and ghosted boxes and the neighbour list with send/recv boxes,
 * periodic shifts and direction-slot tags. O(3^ndims) work, independent of the domain size.
 */
#include "plans_internal.h"

#include <stdlib.h>

/* Ghost width a part receives on the side of dim d that direction component s (-1/+1) points
 * to; the halo widths are global per side, so this is also what a neighbour receives. */
static int side_halo(const int halo[], int d, int s)
{
    return s < 0 ? halo[2 * d] : halo[2 * d + 1];
}

/*
 * A neighbour entry exists when a message goes either way: every non-zero component of dir
 * has a non-zero halo on that side (we receive) or every one has a non-zero halo on the
 * opposite side (we send). This keeps the relation symmetric with asymmetric halos: A lists B
 * in dir exactly when B lists A in -dir; one of the two boxes may then be empty.
 */
static int direction_needed(const int halo[], const int dir[STARHALO_MAX_DIMS])
{
    int recv = 1, send = 1;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        if (!dir[d])
            continue;
        recv = recv && side_halo(halo, d, dir[d]) > 0;
        send = send && side_halo(halo, d, -dir[d]) > 0;
    }
    return recv || send;
}

/* Fill the recv and send boxes of direction dir (see the header for the rules). */
static void direction_boxes(const starhalo_part_plan_t *p, const int dir[STARHALO_MAX_DIMS],
                            starhalo_neighbor_t *nb)
{
    nb->recv = nb->send = p->owned;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        const int64_t lo = p->owned.lo[d], hi = p->owned.hi[d];
        if (dir[d] < 0) {
            nb->recv.lo[d] = lo - p->halo[2 * d];
            nb->recv.hi[d] = lo;
            nb->send.hi[d] = lo + p->halo[2 * d + 1]; /* the neighbour's plus-side ghosts */
        } else if (dir[d] > 0) {
            nb->recv.lo[d] = hi;
            nb->recv.hi[d] = hi + p->halo[2 * d + 1];
            nb->send.lo[d] = hi - p->halo[2 * d]; /* the neighbour's minus-side ghosts */
        }
    }
}

/* Neighbour coordinate and wrap shift along each dim; 0 when there is no such neighbour. */
static int neighbor_coord(const starhalo_decomp_t *dc, const int coord[STARHALO_MAX_DIMS],
                          const int dir[STARHALO_MAX_DIMS], int ncoord[STARHALO_MAX_DIMS],
                          int64_t shift[STARHALO_MAX_DIMS])
{
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        const int c = coord[d] + dir[d], p = dc->grid[d];
        shift[d] = 0;
        ncoord[d] = c;
        if (c >= 0 && c < p)
            continue;
        if (!dc->desc.periodic[d])
            return 0;
        /* Wrapping to the far end: our ghosts lie outside [0, extent). */
        ncoord[d] = c < 0 ? p - 1 : 0;
        shift[d] = c < 0 ? -dc->desc.extent[d] : dc->desc.extent[d];
    }
    return 1;
}

starhalo_status_t starhalo_part_plan_create(const starhalo_decomp_t *decomp, int part,
                                            starhalo_part_plan_t **out)
{
    STARHALO_REQUIRE(decomp && out, STARHALO_ERR_INVALID_ARG, "part_plan_create: NULL argument");
    *out = NULL;
    const starhalo_decomp_desc_t *ds = &decomp->desc;
    STARHALO_REQUIRE(part >= 0 && part < ds->nparts, STARHALO_ERR_OUT_OF_RANGE,
                     "part %d is outside [0, %d)", part, ds->nparts);
    starhalo_part_plan_t *p = calloc(1, sizeof *p);
    if (!p)
        return starhalo_error_set(STARHALO_ERR_NO_MEMORY, "part_plan_create: out of memory");
    p->part = part;
    p->ndims = ds->ndims;
    p->planes = ds->batch * ds->channels;
    starhalo_decomp_part_coord(decomp, part, p->coord);
    p->owned = starhalo_decomp_owned_box(decomp, part);
    p->ghosted = p->owned;
    for (int d = 0; d < STARHALO_MAX_DIMS; d++) {
        p->halo[2 * d] = ds->halo[2 * d];
        p->halo[2 * d + 1] = ds->halo[2 * d + 1];
        p->ghosted.lo[d] -= p->halo[2 * d];
        p->ghosted.hi[d] += p->halo[2 * d + 1];
        p->has_side[2 * d] = ds->periodic[d] || p->coord[d] > 0;
        p->has_side[2 * d + 1] = ds->periodic[d] || p->coord[d] < decomp->grid[d] - 1;
    }

    /* Directions in slot order (dim 0 fastest), so tags and neighbour order are stable. */
    const int zr = ds->ndims == 3 ? 1 : 0;
    int dir[STARHALO_MAX_DIMS];
    for (dir[2] = -zr; dir[2] <= zr; dir[2]++) {
        for (dir[1] = -1; dir[1] <= 1; dir[1]++) {
            for (dir[0] = -1; dir[0] <= 1; dir[0]++) {
                const int nz = (dir[0] != 0) + (dir[1] != 0) + (dir[2] != 0);
                if (nz == 0 || (ds->shape == STARHALO_STENCIL_STAR && nz > 1))
                    continue;
                if (!direction_needed(p->halo, dir))
                    continue;
                int ncoord[STARHALO_MAX_DIMS];
                starhalo_neighbor_t *nb = &p->neighbors[p->nneighbors];
                if (!neighbor_coord(decomp, p->coord, dir, ncoord, nb->shift))
                    continue;
                nb->part = starhalo_decomp_part_index(decomp, ncoord);
                const int opposite[STARHALO_MAX_DIMS] = {-dir[0], -dir[1], -dir[2]};
                for (int d = 0; d < STARHALO_MAX_DIMS; d++)
                    nb->dir[d] = dir[d];
                direction_boxes(p, dir, nb);
                nb->send_tag = starhalo__dir_slot(dir);
                nb->recv_tag = starhalo__dir_slot(opposite);
                p->nneighbors++;
            }
        }
    }
    *out = p;
    return STARHALO_OK;
}

void starhalo_part_plan_destroy(starhalo_part_plan_t *plan)
{
    free(plan);
}

int starhalo_part_plan_part(const starhalo_part_plan_t *plan)
{
    return plan ? plan->part : -1;
}

starhalo_box_t starhalo_part_plan_owned(const starhalo_part_plan_t *plan)
{
    return plan ? plan->owned : starhalo__box_empty();
}

starhalo_box_t starhalo_part_plan_ghosted(const starhalo_part_plan_t *plan)
{
    return plan ? plan->ghosted : starhalo__box_empty();
}

int starhalo_part_plan_num_neighbors(const starhalo_part_plan_t *plan)
{
    return plan ? plan->nneighbors : 0;
}

const starhalo_neighbor_t *starhalo_part_plan_neighbor(const starhalo_part_plan_t *plan, int i)
{
    if (!plan || i < 0 || i >= plan->nneighbors)
        return NULL;
    return &plan->neighbors[i];
}
