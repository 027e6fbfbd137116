#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad-input check of an MPI app (needs mpirun in PATH and the tests' root/oversubscribe
# environment):
#   check_bad_input.sh APP EXE NP REGEX ARGS...  "mpirun -np NP EXE ARGS..." must exit non-zero
#       within 60 s with exactly one "APP: error:" line matching REGEX and no abort trace.
set -u
app=$1 exe=$2 np=$3 regex=$4; shift 4
fail() { echo "CHECK FAILED: $*"; exit 1; }
start=$(date +%s)
out=$(timeout -k 5 60 mpirun -np "$np" --oversubscribe --bind-to none "$exe" "$@" 2>&1); rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "exit status 0"
[ $(( $(date +%s) - start )) -le 60 ] || fail "took more than 60 s"
echo "$out" | grep -Eq 'MPI_ABORT was invoked|Process received signal|[Bb]acktrace|Segmentation fault|core dumped' && fail "abort trace"
n=$(echo "$out" | grep -c "^$app: error:")
[ "$n" -eq 1 ] || fail "$n error lines (expected 1)"
echo "$out" | grep "^$app: error:" | grep -Eq -- "$regex" || fail "error line does not match '$regex'"
exit 0
