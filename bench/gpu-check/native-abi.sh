#!/usr/bin/env bash
# run.sh's native-abi step: the bayespfl_detect C example (src/Native's C ABI, libbayespfl.so) on CUDA. The model is
# the tiny demo's (`bayespfl demo --size tiny`, about 5 s on the CPU: a random CLIP, an untrained head and synthetic
# images); three test images run twice, so the output shows the first call (NVRTC compiles the kernels) apart from
# the warm ms/image. With CLIP and HEAD (`native-abi.sh BUNDLE CLIP HEAD`, e.g. the real-size random model that
# `bayespfl bench --real-size --keep DIR` leaves) the example runs that model on the same images, in fp32 and then bf16.
# Exit status: the example's (4 = BPFL_ERR_DEVICE without a GPU, with the reason on stderr).
set -uo pipefail
bundle=$1
clip=${2:-}
head=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! "$bundle/cli/bayespfl" demo --size tiny --out "$work/demo" --device cpu > "$work/demo.log" 2>&1; then
    cat "$work/demo.log"
    echo "native-abi: bayespfl demo --size tiny failed" >&2
    exit 70
fi
mapfile -t images < <(find "$work/demo/data" -path '*/test/*' -name '*.png' | sort | head -n 3)
if [ -z "$clip" ]; then
    exec "$bundle/capi/bayespfl_detect" --clip "$work/demo/clip-random.safetensors" --head "$work/demo/init.head.safetensors" \
        --class object --device cuda "${images[@]}" "${images[@]}"
fi
for precision in fp32 bf16; do
    echo "--- $precision"
    "$bundle/capi/bayespfl_detect" --clip "$clip" --head "$head" --class object --device cuda --precision "$precision" \
        "${images[@]}" "${images[@]}" || exit $?
done
