/* SPDX-License-Identifier: MIT */
/* Tests the status enum: every code has a distinct message and name, and the per-thread
 * detailed message is set by starhalo_error_set and cleared by starhalo_error_clear. */
#include "starhalo_test.h"

#include <string.h>

static void every_code_has_a_message_and_a_name(void **state)
{
    (void)state;
    const starhalo_status_t codes[] = {
#define XX(name, code, msg) STARHALO_ERR_##name,
        STARHALO_ERRNO_MAP(XX)
#undef XX
    };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(starhalo_strerror(codes[i]), "unknown status");
        assert_true(strncmp(starhalo_err_name(codes[i]), "STARHALO_ERR_", 13) == 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(starhalo_strerror(codes[i]), starhalo_strerror(codes[j]));
        }
    }
    assert_string_equal(starhalo_err_name(STARHALO_OK), "STARHALO_OK");
    assert_string_equal(starhalo_strerror((starhalo_status_t)-999), "unknown status");
}

static void detailed_message_is_per_call(void **state)
{
    (void)state;
    starhalo_error_clear();
    assert_string_equal(starhalo_last_error_message(), "");
    starhalo_status_t st =
        starhalo_error_set(STARHALO_ERR_HALO_TOO_WIDE, "halo %d > part %d", 3, 2);
    assert_int_equal(st, STARHALO_ERR_HALO_TOO_WIDE);
    assert_string_equal(starhalo_last_error_message(), "halo 3 > part 2");
    starhalo_error_clear();
    assert_string_equal(starhalo_last_error_message(), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_message_and_a_name),
        cmocka_unit_test(detailed_message_is_per_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
