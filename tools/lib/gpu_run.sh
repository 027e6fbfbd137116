#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# @file gpu_run.sh
# @brief The GPU check, run from its bundle (tools/gpu-check --bundle DIR copies it to DIR/run).
#
# Usage: DIR/run --out OUT [--cpu | --rehearse] [--build BUILD] [--quick]
#   (default)  on a GPU machine, from the bundle alone, in about 5 minutes: the CUDA kernels
#              and codelets against the CPU ones; heat2d and the conv layer with CUDA workers
#              on 1 rank x 4 parts and on 2 ranks (the bundle's mpirun), each against the CPU
#              result; the conv layer with 2 ranks in task mode against BSP, the GPU conv and
#              the halo exchange alone; the split conv's throughput; the overlap share of a
#              trace. Writes OUT/summary.txt and OUT/results.csv. No GPU: says so, exits 77.
#   --cpu      no GPU needed: heat2d and the conv layer with CUDA workers 0 (the bundle check:
#              tools/gpu-check compares these results with the normal build's)
#   --rehearse no GPU needed: every step, with CUDA workers 0 (the GPU-only programs may skip),
#              so that this script's own paths (trace, report, CSV) are tested before a GPU run
#   --build B  run build folder B's binaries (system mpirun) instead of the bundle's
#   --quick    smaller images and fewer iterations
# CUDA, cuBLAS, cuSPARSE and cuDNN come from the machine (/usr/local/cuda, ldconfig, or the
# nvidia-* / torch Python packages), everything else from the bundle (docs/GPU.md).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="" cpu=0 build="" quick=0 rehearse=0
usage() { sed -n '6,21s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
  case "$1" in
  --out) out=${2:?--out needs a folder}; shift ;;
  --cpu) cpu=1 ;;
  --rehearse) rehearse=1 ;;
  --build) build=${2:?--build needs a folder}; shift ;;
  --quick) quick=1 ;;
  -h | --help) usage; exit 0 ;;
  *) echo "run: error: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$out" ] || { echo "run: error: --out OUT is required" >&2; exit 2; }
mkdir -p "$out" && out=$(cd "$out" && pwd)
csv=$out/results.csv summary=$out/summary.txt
echo "check,value,unit,target,result" >"$csv"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
# record NAME VALUE UNIT TARGET RESULT
record() { echo "$1,$2,$3,$4,$5" >>"$csv"; say "$(printf '%-34s %-22s %-10s %-16s %s' "$@")"; }
failed=0

if [ -n "$build" ]; then
  build=$(cd "$build" && pwd)
  bin_heat=$build/apps/heat2d/heat2d bin_hb=$build/apps/halo_bench/halo_bench
  bin_kern=$build/tests/cuda/test_cuda_kernels bin_cl=$build/tests/codelets/test_codelets
  bin_bench=$build/tests/cuda/bench_cuda_conv
  fxt_tool=$(ls "$(dirname "$(ldd "$bin_hb" | awk '/libstarpu-1/ {print $3; exit}')")"/../bin/starpu_fxt_tool 2>/dev/null)
  mpirun=(mpirun)
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
else
  # shellcheck source=/dev/null
  source "$here/env.sh"
  bin_heat=$here/bin/heat2d bin_hb=$here/bin/halo_bench bin_kern=$here/bin/test_cuda_kernels
  bin_cl=$here/bin/test_codelets bin_bench=$here/bin/bench_cuda_conv
  fxt_tool=$here/bin/starpu_fxt_tool
  mpirun=("$here/bin/mpirun")
fi
mpirun+=(--bind-to none)
export STARPU_HOME=$out/starpu-home STARPU_SILENT=1 STARPU_FXT_TRACE=0

# The machine's CUDA libraries, where the binaries did not find them by themselves.
if [ $cpu = 0 ] && [ $rehearse = 0 ] && [ -z "$build" ]; then
  dirs=()
  for lib in libcudart.so.13 libcublas.so.13 libcusparse.so.12 libcudnn.so.9 libnvJitLink.so.13; do
    ldconfig -p 2>/dev/null | grep -q "$lib " && continue
    found=""
    for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib* \
      $(python3 -c 'import glob, site, sys
for p in site.getsitepackages() + [site.getusersitepackages()]:
    print(" ".join(glob.glob(p + "/nvidia/*/lib") + glob.glob(p + "/torch/lib")))' 2>/dev/null); do
      [ -e "$d/$lib" ] && { found=$d; break; }
    done
    [ -n "$found" ] && dirs+=("$found")
  done
  if [ ${#dirs[@]} -gt 0 ]; then
    LD_LIBRARY_PATH=$(printf '%s\n' "${dirs[@]}" | awk '!seen[$0]++' | paste -sd:)
    export LD_LIBRARY_PATH
    say "run: CUDA libraries from $LD_LIBRARY_PATH"
  fi
fi
missing=$(ldd "$bin_kern" 2>/dev/null | awk '/not found/ {print $1}' | paste -sd' ')
if [ -n "$missing" ]; then
  say "run: this machine lacks $missing: no usable CUDA here"
  exit 77
fi
command -v nvidia-smi >/dev/null && nvidia-smi -L >"$out/gpu.txt" 2>&1

size=2048 iters=30 warm=5 img=1024 ch=64
[ $quick = 1 ] && size=512 iters=10 warm=2 img=256 ch=16
lim() { timeout -k 5 "$@"; }

# 1. Kernels and codelets against the CPU ones.
if [ $cpu = 0 ]; then
  lim 120 "$bin_kern" >"$out/kernels.log" 2>&1
  rc=$?
  if [ $rc = 77 ] && [ $rehearse = 0 ]; then
    say "run: no CUDA device on this machine (test_cuda_kernels skipped): nothing to check"
    exit 77
  fi
  # outcome RC: pass, skipped (77, rehearsal only) or FAIL
  outcome() { [ "$1" = 0 ] && echo pass || { [ "$1" = 77 ] && echo skipped || echo FAIL; }; }
  record cuda_kernels_vs_cpu "rc=$rc" - "rc=0" "$(outcome $rc)"
  [ $rc = 0 ] || [ $rc = 77 ] || failed=1
  lim 300 "$bin_cl" --cuda >"$out/codelets.log" 2>&1
  rc=$?
  record cuda_codelets_vs_cpu "rc=$rc" - "rc=0" "$(outcome $rc)"
  [ $rc = 0 ] || [ $rc = 77 ] || failed=1
fi

# GPU runs: one CUDA worker per rank, dmda (perf models), the StarPU-MPI transport so that pack
# and unpack run on the GPU holding the tiles (the default with CUDA workers; explicit, so that
# the rehearsal on CPU workers runs the same transport; docs/GPU.md).
# dmda runs every uncalibrated task shape on each worker type until it has
# STARPU_CALIBRATE_MINIMUM samples (10 by default): 10 CPU runs of a 2048 x 1024 x 64-channel
# interior conv would take minutes, 2 take seconds.
gpu_env=(env STARPU_NCUDA=$((1 - rehearse)) STARPU_SCHED=dmda STARHALO_TRANSPORT=starpu
  STARPU_CALIBRATE_MINIMUM=2)
cpu_env=(env STARPU_NCUDA=0)
# run_app LOG ENV... -- CMD...: run, keep the log, return the status
run_app() {
  local log=$1
  shift
  lim 300 "$@" >"$log" 2>&1
}
checksum() { awk '/^heat2d: residual/ {print $5}' "$1"; }
median_ms() { awk -F: '/Median time/ {v = $NF + 0; if (v > m) m = v} END {printf "%.4f", m}' "$1"; }

# 2. heat2d: the CPU result (1 rank x 4 parts, no CUDA worker) is the reference, bitwise.
heat=(--size "$size" --iterations "$iters" --warmup "$warm")
run_app "$out/heat2d_cpu.log" "${cpu_env[@]}" "$bin_heat" "${heat[@]}" --parts 4 --parts-per-rank 4
ref=$(checksum "$out/heat2d_cpu.log")
record heat2d_reference_cpu_1r4p_checksum "${ref:-none}" - - "$([ -n "$ref" ] && echo ok || echo FAIL)"
[ -n "$ref" ] || failed=1
envs=("${gpu_env[@]}")
[ $cpu = 1 ] && envs=("${cpu_env[@]}")
tag=gpu
[ $cpu = 1 ] && tag=cpu
run_app "$out/heat2d_${tag}_1r4p.log" "${envs[@]}" "$bin_heat" "${heat[@]}" --parts 4 --parts-per-rank 4
run_app "$out/heat2d_${tag}_2r.log" "${envs[@]}" "${mpirun[@]}" -np 2 "$bin_heat" "${heat[@]}" --parts 2
for l in 1r4p 2r; do
  c=$(checksum "$out/heat2d_${tag}_$l.log")
  ok=FAIL
  [ -n "$c" ] && [ "$c" = "$ref" ] && ok=pass
  record "heat2d_${tag}_${l}_checksum" "${c:-none}" - "= cpu (bitwise)" "$ok"
  [ $ok = pass ] || failed=1
done

# 3. The conv layer (exchange + conv per iteration), validated in the app against a CPU conv
#    of the whole image (relative error <= 1e-5); its output dumped for tools/gpu-check.
conv=(--with-compute --validate --image-size "$img" --in-channels "$ch" --out-channels "$ch"
  --halo-len 1 --slice-method vertical --iterations "$iters" --warmup "$warm")
run_app "$out/conv_${tag}_1r4p.log" "${envs[@]}" "$bin_hb" "${conv[@]}" --num-spatial-parts 4 \
  --parts-per-rank 4 --dump "$out/conv_${tag}_1r4p"
run_app "$out/conv_${tag}_2r.log" "${envs[@]}" "${mpirun[@]}" -np 2 "$bin_hb" "${conv[@]}" \
  --num-spatial-parts 2 --dump "$out/conv_${tag}_2r"
for l in 1r4p 2r; do
  n=$(grep -c '^Validation passed' "$out/conv_${tag}_$l.log")
  want=$([ $l = 2r ] && echo 2 || echo 1)
  ok=FAIL
  [ "$n" = "$want" ] && ok=pass
  record "conv_${tag}_${l}_validated_ranks" "$n" ranks "$want (rel <= 1e-5)" "$ok"
  [ $ok = pass ] || failed=1
done
if [ $cpu = 1 ]; then
  say "run: CPU-only run done ($([ $failed = 0 ] && echo passed || echo FAILED)); $csv"
  exit $failed
fi

# 4. Overlap on 2 ranks: task mode against BSP, and T_task / max(T_gpu_conv, T_exchange). The
#    ranks share the machine's GPU, so the GPU conv alone is both parts on 1 rank (their halos
#    stay on the GPU: no MPI), and the exchange alone is halo_bench without compute.
big=(--image-size $((2 * img)) --in-channels "$ch" --out-channels "$ch" --halo-len 1
  --slice-method vertical --num-spatial-parts 2 --iterations "$iters" --warmup "$warm")
hb2() { run_app "$out/$1.log" "${gpu_env[@]}" "${mpirun[@]}" -np 2 "$bin_hb" "${big[@]}" "${@:2}"; }
hb2 overlap_calibrate --with-compute --mode task # perf models for dmda
hb2 overlap_task --with-compute --mode task
hb2 overlap_bsp --with-compute --mode bsp
run_app "$out/overlap_compute.log" "${gpu_env[@]}" "$bin_hb" "${big[@]}" --with-compute \
  --mode task --parts-per-rank 2
hb2 overlap_exchange
t_task=$(median_ms "$out/overlap_task.log") t_bsp=$(median_ms "$out/overlap_bsp.log")
t_comp=$(median_ms "$out/overlap_compute.log") t_comm=$(median_ms "$out/overlap_exchange.log")
ratio=$(awk -v t="$t_task" -v a="$t_comp" -v b="$t_comm" 'BEGIN {m = a > b ? a : b; if (m > 0) printf "%.3f", t / m; else print "nan"}')
record overlap_task_ms "$t_task" ms - info
record overlap_bsp_ms "$t_bsp" ms - info
record overlap_gpu_conv_alone_ms "$t_comp" ms - info
record overlap_exchange_alone_ms "$t_comm" ms - info
ok=$(awk -v r="$ratio" 'BEGIN {print (r + 0 > 0 && r + 0 <= 1.15) ? "pass" : "FAIL"}')
record overlap_task_over_max "$ratio" ratio "<= 1.15" "$ok"

# 5. GPU conv throughput of one part split as the graph does, against one cuDNN call.
lim 120 "$bin_bench" --width $((2 * img)) --height "$img" --channels "$ch" >"$out/bench_conv.log" 2>&1
rc=$?
share=$(awk '{for (i = 1; i < NF; i++) if ($i == "split_throughput_share") print $(i + 1)}' "$out/bench_conv.log")
ok=$(awk -v r="${share:-0}" 'BEGIN {print (r + 0 >= 0.5) ? "pass" : "FAIL"}')
[ $rc = 77 ] && ok=skipped
record conv_split_throughput_share "${share:-none}" ratio ">= 0.5" "$ok"

# 6. The share of transfer time that GPU compute covered, from an FxT trace of task mode.
tdir=$out/trace
mkdir -p "$tdir"
# Trailing slash: StarPU 1.3 concatenates the prefix and "prof_file_<user>_<rank>".
run_app "$out/trace_run.log" "${gpu_env[@]}" STARPU_FXT_TRACE=1 STARPU_FXT_PREFIX="$tdir/" \
  "${mpirun[@]}" -np 2 "$bin_hb" "${big[@]}" --with-compute --mode task --iterations 10
mapfile -t files < <(cd "$tdir" && ls prof_file_* 2>/dev/null | awk -F_ '{print $NF "\t" $0}' | sort -n | cut -f2)
share=none
if [ ${#files[@]} -gt 0 ] && [ -x "$fxt_tool" ]; then
  inputs=()
  for f in "${files[@]}"; do inputs+=(-i "$f"); done
  (cd "$tdir" && lim 300 "$fxt_tool" "${inputs[@]}" >fxt_tool.log 2>&1)
  tools=$here/tools
  [ -n "$build" ] && tools=$here/../../tools
  python3 "$tools/overlap-report" --json "$tdir" >"$tdir/overlap.json" 2>"$tdir/overlap.err" &&
    share=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["ranks"]
v = [x["overlap_share"] for x in r if x.get("overlap_share") is not None]
print("%.3f" % min(v) if v else "none")' "$tdir/overlap.json")
fi
record trace_overlap_share_min_rank "$share" share - info

say "run: $([ $failed = 0 ] && echo "all correctness checks passed" || echo "a correctness check FAILED"); $csv"
exit $failed
