/* SPDX-License-Identifier: MIT */
/**
 * @file starhalo_mem_test.h
 * @brief The memory a process holds, for leak checks of tests and the soak benchmark: its
 * RSS; under AddressSanitizer its live heap instead. ASan's quarantine keeps freed blocks
 * resident (RSS grows ~16 MiB per 1000 exchanges until the 256 MiB quarantine is full) while a
 * leak grows the live heap just as it grows the RSS of a normal build.
 */
#ifndef STARHALO_MEM_TEST_H
#define STARHALO_MEM_TEST_H

#include <stdio.h>

#if defined(__SANITIZE_ADDRESS__)
#define STARHALO_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STARHALO_TEST_ASAN 1
#endif
#endif

#ifdef STARHALO_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#define STARHALO_TEST_MEM_WHAT "live heap"
static inline long starhalo_test_mem_kib(void)
{
    return (long)(__sanitizer_get_current_allocated_bytes() / 1024);
}
#else
#define STARHALO_TEST_MEM_WHAT "RSS"
static inline long starhalo_test_mem_kib(void)
{
    long size = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4; /* 4 KiB pages */
}
#endif

#endif
