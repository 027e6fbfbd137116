/* An application outside the tree: uses the installed headers and libraries only. */
#include <starhalo/starhalo.h>

#include <stdio.h>

int main(void)
{
    starhalo_decomp_desc_t desc = {0};
    desc.ndims = 2;
    desc.extent[0] = desc.extent[1] = 16;
    desc.split = STARHALO_SPLIT_SQUARE;
    desc.nparts = 4;
    desc.halo[0] = desc.halo[1] = desc.halo[2] = desc.halo[3] = 1;
    starhalo_decomp_t *decomp = NULL;
    starhalo_status_t st = starhalo_decomp_create(&desc, &decomp);
    if (st != STARHALO_OK) {
        fprintf(stderr, "consumer: error: %s\n", starhalo_strerror(st));
        return 1;
    }
    printf("consumer: %d parts; %s\n", starhalo_decomp_num_parts(decomp),
           starhalo_strerror(STARHALO_ERR_HALO_TOO_WIDE));
    starhalo_decomp_destroy(decomp);

    /* The public CPU kernels are in the installed library, also those no codelet calls:
     * a MAX reduction, and a 5-point stencil on a 3 x 3 tile (centre = the mean of 1..4). */
    const float add[2] = {5, -1};
    float acc[2] = {2, 3};
    starhalo_kern_reduce_cpu(STARHALO_FLOAT32, add, acc, 2, STARHALO_REDUCE_MAX);
    const starhalo_box_t box = {{0, 0, 0}, {3, 3, 1}}, centre = {{1, 1, 0}, {2, 2, 1}};
    const starhalo_kern_tile_t tile = starhalo_kern_tile_make(&box, 1, 1);
    const float in[9] = {0, 1, 0, 2, 9, 3, 0, 4, 0};
    float out[9] = {0};
    st = starhalo_kern_stencil5_cpu(STARHALO_FLOAT32, &tile, in, out, &centre);
    if (st != STARHALO_OK || acc[0] != 5 || acc[1] != 3 || out[4] != 2.5f ||
        starhalo_kern_tile_elems(&tile) != 9) {
        fprintf(stderr, "consumer: error: kernels: %s, max (%g, %g), centre %g\n",
                starhalo_strerror(st), acc[0], acc[1], out[4]);
        return 1;
    }
    /* An application reports through the library's error channel. */
    st = starhalo_error_set(STARHALO_ERR_INVALID_ARG, "consumer option %d", 7);
    printf("consumer: kernels ok; %s: %s\n", starhalo_err_name(st), starhalo_last_error_message());
    return 0;
}
