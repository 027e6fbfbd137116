/* SPDX-License-Identifier: MIT */
/**
 * @file test_placement.c
 * @brief The launch placement rules (rt_topology.c, a pure function): workers per rank,
 * binding and progress-thread placement for 1, 2 and 4 ranks on 2 cores, and on bigger nodes;
 * explicit requests win over the defaults.
 */
#include "starhalo_test.h"

#include "runtime_internal.h"

static void test_two_cores(void **state)
{
    (void)state;
    /* One rank alone: no MPI traffic, both cores run workers. */
    starhalo__placement_t p = starhalo__placement_compute(2, 1, 0, 1, -1, -1);
    assert_int_equal(p.ncpus, 2);
    assert_int_equal(p.bind_workers, 1);
    /* Two ranks on two cores: one unbound worker each, unbound progress thread. */
    for (int r = 0; r < 2; r++) {
        p = starhalo__placement_compute(2, 2, r, 2, -1, -1);
        assert_int_equal(p.ncpus, 1);
        assert_int_equal(p.bind_workers, 0);
        assert_int_equal(p.mpi_nobind, 1);
    }
    /* Four ranks (oversubscribed): still one worker each. */
    p = starhalo__placement_compute(2, 4, 3, 4, -1, -1);
    assert_int_equal(p.ncpus, 1);
    assert_int_equal(p.mpi_nobind, 1);
}

static void test_big_node(void **state)
{
    (void)state;
    /* 16 cores, 2 ranks: 7 bound workers each plus a reserved progress core in its slice. */
    starhalo__placement_t p = starhalo__placement_compute(16, 2, 1, 4, -1, -1);
    assert_int_equal(p.ncpus, 7);
    assert_int_equal(p.bind_workers, 1);
    assert_int_equal(p.first_core, 8);
    assert_int_equal(p.mpi_nobind, 0);
}

static void test_requests_win(void **state)
{
    (void)state;
    starhalo__placement_t p = starhalo__placement_compute(2, 2, 0, 2, 2, 1);
    assert_int_equal(p.ncpus, 2);
    assert_int_equal(p.bind_workers, 1);
    p = starhalo__placement_compute(2, 1, 0, 1, -1, 0);
    assert_int_equal(p.bind_workers, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_cores),
        cmocka_unit_test(test_big_node),
        cmocka_unit_test(test_requests_win),
    };
    return cmocka_run_group_tests_name("runtime placement", tests, NULL, NULL);
}
