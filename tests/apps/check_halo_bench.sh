#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs one halo_bench job (the command after --) and checks its output and exit status.
#   check_halo_bench.sh ok NP -- cmd...      exit 0; every rank r < NP printed "rank : r size:  NP",
#                                            "Rank:r Time taken (ms):T" and "Validation passed Rank:r"
#   check_halo_bench.sh bad REGEX -- cmd...  exit != 0 within 60 s; exactly one "halo_bench: error:"
#                                            line, matching REGEX; no abort trace
#   check_halo_bench.sh dump NP DIR CSV ARGS -- cmd...  as ok, then check_npy.py on DIR (ARGS is
#                                            "split nparts image halo batch channels periodic")
#   check_halo_bench.sh convdump NP DIR ARGS -- cmd...  as ok, then check_conv_npy.py on DIR (ARGS
#                                            is "image halo batch cin cout")
#   check_halo_bench.sh fail NP -- cmd...    exit != 0 (no hang, no abort trace) and every rank
#                                            printed "Validation failed Rank:r"
set -u
mode=$1; shift
case $mode in
ok) np=$1; shift ;;
bad) regex=$1; shift ;;
dump) np=$1; dir=$2; csv=$3; geom=$4; shift 4; rm -rf "$dir" "$csv" ;;
convdump) np=$1; dir=$2; geom=$3; shift 3; rm -rf "$dir" ;;
fail) np=$1; shift ;;
*) echo "unknown mode $mode"; exit 2 ;;
esac
[ "$1" = "--" ] && shift

start=$(date +%s)
out=$("$@" 2>&1)
rc=$?
elapsed=$(( $(date +%s) - start ))
printf '%s\n' "$out"
fail() { echo "CHECK FAILED: $*"; exit 1; }

abort_trace='MPI_ABORT was invoked|Process received signal|[Bb]acktrace|Segmentation fault|core dumped|Aborted'
if printf '%s\n' "$out" | grep -Eq "$abort_trace"; then
  fail "abort trace in the output"
fi

if [ "$mode" = bad ]; then
  [ "$rc" -ne 0 ] || fail "exit status 0 for bad input"
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "timed out (hang)"
  [ "$elapsed" -le 60 ] || fail "took ${elapsed}s"
  n=$(printf '%s\n' "$out" | grep -c '^halo_bench: error: ')
  [ "$n" -eq 1 ] || fail "expected exactly one 'halo_bench: error:' line, got $n"
  printf '%s\n' "$out" | grep '^halo_bench: error: ' | grep -Eq -- "$regex" ||
    fail "error line does not match /$regex/"
  ! printf '%s\n' "$out" | grep -q '^rank : ' || fail "benchmark started despite bad input"
  echo "CHECK OK (exit $rc, ${elapsed}s)"
  exit 0
fi

if [ "$mode" = fail ]; then
  [ "$rc" -ne 0 ] || fail "exit status 0 although validation must fail"
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "timed out (hang)"
  for ((r = 0; r < np; r++)); do
    printf '%s\n' "$out" | grep -q "^Validation failed Rank:$r" || fail "no 'Validation failed Rank:$r'"
  done
  echo "CHECK OK (validation failed as expected, exit $rc)"
  exit 0
fi

[ "$rc" -eq 0 ] || fail "exit status $rc"
for ((r = 0; r < np; r++)); do
  printf '%s\n' "$out" | grep -qx "rank : $r size:  $np" || fail "no 'rank : $r size:  $np' line"
  printf '%s\n' "$out" | grep -Eqx "Rank:$r Time taken \(ms\):[0-9]+\.[0-9]+" ||
    fail "no 'Rank:$r Time taken (ms):T' line"
  printf '%s\n' "$out" | grep -qx "Validation passed Rank:$r" || fail "no 'Validation passed Rank:$r'"
done
! printf '%s\n' "$out" | grep -q 'Validation failed' || fail "a rank failed validation"
if [ "$mode" = dump ]; then
  # shellcheck disable=SC2086
  python3 "$(dirname "$0")/check_npy.py" "$dir" $geom || fail "dumped tiles are wrong"
  [ "$(wc -l <"$csv")" -eq 2 ] || fail "--csv: expected a header and one line"
  head -1 "$csv" | grep -q '^transport,runtime_transport,slice_method,image_size' || fail "--csv: bad header"
fi
if [ "$mode" = convdump ]; then
  # shellcheck disable=SC2086
  python3 "$(dirname "$0")/check_conv_npy.py" "$dir" $geom || fail "dumped conv files are wrong"
fi
echo "CHECK OK"
