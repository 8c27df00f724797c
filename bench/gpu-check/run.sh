#!/usr/bin/env bash
# The GPU check, run on the GPU machine from the repository root: `bash bench/gpu-check/run.sh`.
# Needs bench/gpu-check/bundle.tar.xz from prepare.sh (carried; the machine has no dotnet). Each step runs
# under its own timeout and logs to $OUT as it goes; the whole stays under 6 minutes (DEADLINE seconds), and
# $OUT/gpu-check.json sums it up at the end. Exits 0 when every GPU test ran and passed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$here/out}
mkdir -p "$OUT"
DEADLINE=${DEADLINE:-330}
start=$(date +%s)
steps="$OUT/steps.tsv"
: > "$steps"

# step NAME SECONDS CMD...: runs CMD under timeout, output to the console and $OUT/NAME.log.
step() {
    local name=$1 limit=$2; shift 2
    local t0=$(date +%s%N) rc
    echo "=== $name (timeout ${limit}s): $*"
    timeout --kill-after=5 "$limit" "$@" 2>&1 | tee "$OUT/$name.log"
    rc=${PIPESTATUS[0]}
    local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '%s\t%s\t%s\n' "$name" "$rc" "$ms" >> "$steps"
    echo "=== $name: exit $rc in ${ms} ms"
}
left() { echo $(( DEADLINE - ($(date +%s) - start) )); }

bundle="$here/bundle"
if [ -f "$here/bundle.tar.xz" ]; then
    # Unpacked in place: the tests find the repository (tests/reference, the solution) above their binary.
    step unpack 60 bash -c "rm -rf '$bundle' && tar -C '$here' -xJf '$here/bundle.tar.xz' && cat '$bundle/COMMIT'"
fi
export LD_LIBRARY_PATH="$bundle/native${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

step nvidia-smi 20 bash -c 'nvidia-smi && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$1"' nvidia-smi "$OUT/gpu.csv"
# The oracle tests run $BAYESPFL_PYTHON (default /usr/bin/python3, tests/BayesPfl.Tests/Infra/Oracle.cs): point it
# at the first interpreter that imports torch, and say which torch each candidate sees.
for cand in /usr/bin/python3 "$(command -v python3)"; do
  if [ -n "$cand" ] && "$cand" -c "import torch" 2>/dev/null; then export BAYESPFL_PYTHON="$cand"; break; fi
done
step python 30 bash -c 'for p in /usr/bin/python3 "$(command -v python3)"; do echo "$p:"; "$p" -c "import sys, torch; print(sys.version.split()[0], \"torch\", torch.__version__, \"cuda\", torch.cuda.is_available())"; done'
step device 45 "$bundle/cli/bayespfl" device

# The tests that need a real device (they skip with "no CUDA device" elsewhere): every method whose class or
# name says Gpu, Cuda or Device, and the oracle theories that take a "gpu" backend row. FakeDriver and CudaWithoutADevice run the
# Cli through dotnet, which this machine lacks.
filter=(-method '*Gpu*' -method '*Cuda*' -method '*Device*'
    -method 'BayesPfl.Tests.Head.HeadOracleTests.*' -method 'BayesPfl.Tests.Head.FullSizeHeadTests.*'
    -method 'BayesPfl.Tests.Head.OracleBackwardTests.*' -method 'BayesPfl.Tests.Model.EmbeddingBackwardOracleTests.*'
    -method 'BayesPfl.Tests.Training.HeadLossTrainingTests.*' -method 'BayesPfl.Tests.Training.TrainStepOracleTests.*'
    -method- '*FakeDriver*' -method- '*CudaWithoutADevice*')
rm -f "$OUT/tests.xml"
# Correctness first: the tests get all but ~3 minutes, which the C ABI run and the two benches below share.
budget() { local t=$(( $(left) - $1 )); echo $(( t > 30 ? t : 30 )); }
step tests "$(budget 165)" "$bundle/tests/BayesPfl.Tests" -noColor -noLogo -reporter verbose \
    "${filter[@]}" -xml "$OUT/tests.xml"
# The C ABI: libbayespfl.so (NativeAOT) through the C example on CUDA (native-abi.sh).
step native-abi 60 bash "$here/native-abi.sh" "$bundle"
# Issue 6's bf16 mode: random ViT-L/14-336 at 518 px, fp32 then bf16 on the same inputs: ms/image by phase,
# the bf16/fp32 time ratio and the largest anomaly-map and p_img differences.
# It keeps its random model (1.6 GB, outside $OUT so that it does not travel back) for native-abi-real below.
real_model="$here/real-model"
step precision-bench "$(budget 60)" "$bundle/cli/bayespfl" bench --real-size --images 4 --device cuda --keep "$real_model"
# Issue 5's speed target: a stage-1 step at the real size (ViT-L/14 at 518, batch 32) against its own forward.
step train-bench "$(budget 10)" "$bundle/cli/bayespfl" bench --training --real-size --batch 32 --images 3 --device cuda

# With time left: the C ABI's latency at the real size (fp32, bf16) on the model the precision bench kept.
if [ -f "$real_model/clip.safetensors" ] && [ "$(left)" -ge 40 ]; then
    step native-abi-real "$(( $(left) - 5 ))" bash "$here/native-abi.sh" "$bundle" "$real_model/clip.safetensors" "$real_model/head.safetensors"
fi
rm -rf "$real_model"

python3 "$here/summary.py" "$OUT" "$(( $(date +%s) - start ))"
