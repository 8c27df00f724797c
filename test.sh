#!/usr/bin/env bash
# The one test command (README, CI): installs what the tests need, builds, runs every test project, and ends
# with the line "N passed, N failed, N skipped" summed over all of them.
# Environment: BAYESPFL_TEST_FILTER passes a --filter expression to dotnet test (e.g. "FullyQualifiedName~Attention").
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)

need_apt=()
/usr/bin/python3 -c "import torch, sklearn, PIL, scipy" 2>/dev/null || need_apt+=(python3-torch python3-sklearn python3-pil python3-scipy)
[ -e /usr/include/boost/context/detail/fcontext.hpp ] || need_apt+=(libboost-context-dev)
command -v g++ >/dev/null || need_apt+=(g++)
# The native tests publish libbayespfl.so with NativeAOT, which links with gcc when clang is absent and strips
# with objcopy (zlib comes bundled with the ILCompiler), and compile the C example and header checks with cc/c++.
command -v cc >/dev/null || need_apt+=(gcc)
command -v objcopy >/dev/null || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null ||
    { echo "test.sh: apt-get install failed" >&2; exit 1; }
fi

# NVRTC for the kernel compile check (no GPU needed); the host layer finds it through this variable.
if nvrtc_dir=$(tools/fetch-nvrtc.sh "$root/.cache/nvrtc" 2>/tmp/bayespfl-nvrtc.log); then
  export BAYESPFL_NVRTC_DIR="$nvrtc_dir"
else
  echo "test.sh: could not fetch NVRTC (see /tmp/bayespfl-nvrtc.log); the NVRTC compile tests will fail" >&2
fi

results="$root/.cache/test-results"
rm -rf "$results"
mkdir -p "$results"
filter=()
[ -n "${BAYESPFL_TEST_FILTER:-}" ] && filter=(--filter "$BAYESPFL_TEST_FILTER")

dotnet build BayesPfl.Native.sln -c Release -nologo -v q 2>&1 | tail -n 30
build=${PIPESTATUS[0]}
if [ "$build" -ne 0 ]; then echo "test.sh: build failed"; echo "0 passed, 1 failed"; exit 1; fi

for proj in tests/*/*.Tests.csproj; do
  name=$(basename "$proj" .csproj)
  dotnet test "$proj" -c Release --no-build -nologo "${filter[@]}" \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" --results-directory "$results" 2>&1 |
    grep -vE '^\s*$' | grep -vE '^\s+Passed ' | tail -n 400
done

/usr/bin/python3 tools/trx-summary.py "$results"
