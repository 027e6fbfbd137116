/* SPDX-License-Identifier: MIT */
/**
 * @file bad_input_table.h
 * @brief Tables of bad inputs to public entry points, each with the result it must give; the
 * same table is the test and the rows of docs/BAD_INPUT.md.
 *
 * A test lists its cases in an X-macro of two kinds:
 *   S(id, STARHALO_ERR_x, expr)   expr is a status-returning call that must return that status
 *   V(id, "text", fmt, expr)       expr is a query whose value, printed with fmt, must be "text"
 * and expands it with BAD_INPUT_FUNCTIONS / BAD_INPUT_ROWS. bad_input_main() runs every case
 * (exit 1 on any wrong result, naming it) and with --markdown prints the table rows
 * (tests/support/check_doc_table.sh compares them with the doc).
 */
#ifndef STARHALO_BAD_INPUT_TABLE_H
#define STARHALO_BAD_INPUT_TABLE_H

#include <stdio.h>
#include <string.h>

#include <starhalo/starhalo_error.h>

typedef struct bad_case {
    const char *call; /* the expression, as written in the test */
    const char *want; /* a status name, or "returns <text>" */
    const char *(*run)(char *buf, size_t len);
} bad_case_t;

#define BAD_S_FN(id, want, expr)                                                                   \
    static const char *bad_##id(char *b, size_t n)                                                 \
    {                                                                                              \
        (void)b;                                                                                   \
        (void)n;                                                                                   \
        return starhalo_err_name(expr);                                                            \
    }
#define BAD_V_FN(id, want, fmt, expr)                                                              \
    static const char *bad_##id(char *b, size_t n)                                                 \
    {                                                                                              \
        snprintf(b, n, "returns " fmt, expr);                                                      \
        return b;                                                                                  \
    }
#define BAD_S_ROW(id, want, expr)      {#expr, #want, bad_##id},
#define BAD_V_ROW(id, want, fmt, expr) {#expr, "returns " want, bad_##id},
#define BAD_INPUT_FUNCTIONS(LIST)      LIST(BAD_S_FN, BAD_V_FN)
#define BAD_INPUT_ROWS(LIST)           LIST(BAD_S_ROW, BAD_V_ROW)

/* Run (or print, with --markdown) @p n cases; the return value is main's. */
static inline int bad_input_main(int argc, char **argv, const bad_case_t *cases, size_t n)
{
    const int markdown = argc > 1 && strcmp(argv[1], "--markdown") == 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[128];
        const char *got = cases[i].run(buf, sizeof buf);
        if (strcmp(got, cases[i].want) != 0) {
            fprintf(stderr, "bad input: %s gave %s, expected %s\n", cases[i].call, got,
                    cases[i].want);
            bad++;
        }
        if (markdown)
            printf("| `%s` | %s |\n", cases[i].call, got);
    }
    if (!markdown)
        printf("bad input: %zu cases, %d wrong\n", n, bad);
    return bad ? 1 : 0;
}

#endif
