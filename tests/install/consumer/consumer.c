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
    return 0;
}
