#!/usr/bin/env bash
# heat2d end to end (needs mpirun in PATH, the root/oversubscribe environment of the tests):
#   check_heat2d.sh modes HEAT2D NP DIR ARGS...  runs --mode raw, task and bsp with --dump and
#       --pgm; the three .npy files must be byte-identical and the checksum lines equal.
#   check_heat2d.sh bad HEAT2D NP REGEX ARGS...  must exit non-zero within 60 s with exactly one
#       "heat2d: error:" line matching REGEX and no abort trace.
set -u
what=$1 exe=$2 np=$3; shift 3
run() { timeout -k 5 ${T:-120} mpirun -np "$np" --oversubscribe --bind-to none "$exe" "$@" 2>&1; }
fail() { echo "CHECK FAILED: $*"; exit 1; }
case $what in
modes)
  dir=$1; shift; rm -rf "$dir"; mkdir -p "$dir"
  for m in raw task bsp; do
    out=$(run --mode "$m" --dump "$dir/$m" --pgm "$dir/$m.pgm" "$@") || { echo "$out"; fail "$m exited non-zero"; }
    echo "$out"
    echo "$out" | grep '^heat2d: residual' > "$dir/$m.sum" || fail "$m printed no residual line"
  done
  for m in task bsp; do
    cmp "$dir/raw/heat2d.npy" "$dir/$m/heat2d.npy" || fail "raw and $m fields differ"
    cmp "$dir/raw.sum" "$dir/$m.sum" || fail "raw and $m checksums differ"
    cmp "$dir/raw.pgm" "$dir/$m.pgm" || fail "raw and $m PGM differ"
  done
  head -c 2 "$dir/raw.pgm" | grep -q P5 || fail "PGM header"
  head -c 6 "$dir/raw/heat2d.npy" | grep -q NUMPY || fail "npy header"
  echo "raw, task and bsp agree bitwise" ;;
bad) exec "$(dirname "$0")/../support/check_bad_input.sh" heat2d "$exe" "$np" "$@" ;;
*) fail "unknown check $what" ;;
esac
