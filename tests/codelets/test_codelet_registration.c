/* SPDX-License-Identifier: MIT */
/* Tests which implementations the codelets of codelets/starpu register: a CPU one always, a
 * CUDA one on every compute and pack/unpack codelet exactly when starhalo's CUDA kernels are
 * built against a StarPU with CUDA (and none otherwise), none ever on starhalo_cl_call (the
 * direct transport's MPI calls run on CPUs) or starhalo_cl_sqdiff (the residual, on the host), and
 * a history perf model on every compute codelet (the CNN layer codelets: CPU only for now), and on
 * pack/unpack when they can run on a GPU (dmda then chooses). The CMake probe (HAVE_STARPU_CUDA)
 * must agree with the StarPU headers (STARPU_USE_CUDA). Reads the codelet structs; StarPU is not
 * started. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "codelets_cnn.h"

#if STARHALO_USE_CUDA && defined(STARPU_USE_CUDA)
#define WANT_CUDA 1
#else
#define WANT_CUDA 0
#endif

static struct starpu_codelet *const compute[] = {
    &starhalo_cl_stencil5,        &starhalo_cl_stencil9,
    &starhalo_cl_band_stencil,    &starhalo_cl_conv2d,
    &starhalo_cl_pool2d,          &starhalo_cl_relu,
    &starhalo_cl_conv2d_bwd_data, &starhalo_cl_conv2d_bwd_weights,
};
static struct starpu_codelet *const xfer[] = {&starhalo_cl_pack, &starhalo_cl_unpack};
/* The CNN layer codelets (kern_cnn_layers.c) have CPU kernels only for now. */
static struct starpu_codelet *const cpu_only[] = {
    &starhalo_cl_pool2d_bwd, &starhalo_cl_bn_sums,        &starhalo_cl_bn_sums_bwd,
    &starhalo_cl_bn_bwd,     &starhalo_cl_channel_affine, &starhalo_cl_channel_affine_inplace,
    &starhalo_cl_add,        &starhalo_cl_add_inplace,    &starhalo_cl_plane_sums,
    &starhalo_cl_plane_fill,
};

static void check_cuda(struct starpu_codelet *cl, int want_model, int want_cuda)
{
    print_message("%-28s cpu %d cuda %d model %s\n", cl->name, cl->cpu_funcs[0] != NULL,
                  cl->cuda_funcs[0] != NULL, cl->model ? cl->model->symbol : "-");
    assert_non_null(cl->cpu_funcs[0]);
    assert_int_equal(cl->cuda_funcs[0] != NULL, want_cuda);
    /* Asynchronous: the kernels are queued on the worker's stream, StarPU waits for them. */
    assert_int_equal(cl->cuda_funcs[0] ? cl->cuda_flags[0] == STARPU_CUDA_ASYNC : 1, 1);
    if (want_model) {
        assert_non_null(cl->model);
        assert_int_equal(cl->model->type, STARPU_HISTORY_BASED);
        assert_string_equal(cl->model->symbol, cl->name);
    }
}

static void check(struct starpu_codelet *cl, int want_model)
{
    check_cuda(cl, want_model, WANT_CUDA);
}

static void implementations_match_the_build(void **state)
{
    (void)state;
    assert_non_null(starhalo_cl_call.cpu_funcs[0]);
    assert_null(starhalo_cl_call.cuda_funcs[0]);
    assert_non_null(starhalo_cl_sqdiff.cpu_funcs[0]);
    assert_null(starhalo_cl_sqdiff.cuda_funcs[0]);
#if defined(HAVE_STARPU_CUDA) != defined(STARPU_USE_CUDA)
    fail_msg("CMake's HAVE_STARPU_CUDA and starpu_config.h's STARPU_USE_CUDA disagree");
#endif
    for (size_t i = 0; i < sizeof compute / sizeof compute[0]; i++)
        check(compute[i], 1);
    for (size_t i = 0; i < sizeof xfer / sizeof xfer[0]; i++)
        check(xfer[i], WANT_CUDA);
    for (size_t i = 0; i < sizeof cpu_only / sizeof cpu_only[0]; i++)
        check_cuda(cpu_only[i], 1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(implementations_match_the_build)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
