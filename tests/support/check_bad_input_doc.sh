#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# docs/BAD_INPUT.md names every bad-input test of the suite and no test that does not exist:
#   check_bad_input_doc.sh DOC BUILD_DIR
# A bad-input test is one whose name contains "_bad_" or ends in "_bad_input" (the table tests
# themselves, bad_input_* and test_bad_input, are named in the doc's first table); the doc
# names a test as `name` at the start of a table row.
set -u
doc=$1 build=$2
tests=$(ctest --test-dir "$build" -N | sed -n 's/^ *Test *#[0-9]*: *//p' | sort -u)
bad=$(echo "$tests" | grep -E '_bad_|_bad_input$' | grep -vE '^(bad_input_|test_bad_input$)')
listed=$(grep -o '^| `[a-z0-9_]*`' "$doc" | sed 's/^| `//; s/`$//' | sort -u)
rc=0
for t in $bad; do
  echo "$listed" | grep -qx "$t" || { echo "check_bad_input_doc: test $t is not in $doc"; rc=1; }
done
for t in $listed; do
  echo "$tests" | grep -qx "$t" || { echo "check_bad_input_doc: $doc lists $t, not a test"; rc=1; }
done
[ $rc -eq 0 ] && echo "check_bad_input_doc: $(echo "$bad" | wc -l) bad-input tests, all in $doc"
exit $rc
