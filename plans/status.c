/* SPDX-License-Identifier: MIT */
/**
 * @file status.c
 * @brief Messages and names of starhalo_status_t, and the per-thread detailed message.
 *
 * It lives in plans/ because plans is the bottom layer: every other layer links it.
 */
#include <starhalo/starhalo_error.h>

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_message[512];

const char *starhalo_strerror(starhalo_status_t status)
{
    switch (status) {
    case STARHALO_OK:
        return "success";
#define XX(name, code, msg)                                                                        \
    case STARHALO_ERR_##name:                                                                      \
        return msg;
        STARHALO_ERRNO_MAP(XX)
#undef XX
    }
    return "unknown status";
}

const char *starhalo_err_name(starhalo_status_t status)
{
    switch (status) {
    case STARHALO_OK:
        return "STARHALO_OK";
#define XX(name, code, msg)                                                                        \
    case STARHALO_ERR_##name:                                                                      \
        return "STARHALO_ERR_" #name;
        STARHALO_ERRNO_MAP(XX)
#undef XX
    }
    return "STARHALO_ERR_UNKNOWN";
}

const char *starhalo_last_error_message(void)
{
    return last_message;
}

starhalo_status_t starhalo_error_set(starhalo_status_t status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    return status;
}

void starhalo_error_clear(void)
{
    last_message[0] = '\0';
}
