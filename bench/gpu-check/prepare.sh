#!/usr/bin/env bash
# Builds what the GPU check (run.sh) needs on a machine that has dotnet, because the GPU machine has none:
# self-contained linux-x64 publishes of the `bayespfl` command and of the test executable (xunit.v3 runs
# in-process, so the test project is its own runner), plus the kernel emulator library the test classes
# load, packed into bench/gpu-check/bundle.tar.xz. Carry that one file to the GPU machine (limit 64 MiB).
# No trimming: the Cli's ImageSharp dependency fails the trim analysis (warnings are errors) and xunit
# discovers tests by reflection.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle="$here/bundle"
archive="$here/bundle.tar.xz"
limit=$((64 * 1024 * 1024))

rm -rf "$bundle" "$archive"
publish() { dotnet publish "$root/$1" -c Release -r linux-x64 --self-contained -o "$bundle/$2" -nologo -v q; }
publish src/Cli cli
publish tests/BayesPfl.Tests tests

# The emulator library is found next to BayesPfl.KernelEmu.dll; its one non-libc dependency, Boost.Context,
# is not on a stock GPU host, so it travels too (run.sh puts native/ on LD_LIBRARY_PATH).
cp "$root/tests/KernelEmu/build/libkernelemu.so" "$bundle/tests/"
mkdir -p "$bundle/native"
boost=$(ldd "$root/tests/KernelEmu/build/libkernelemu.so" | awk '/libboost_context/ {print $3}')
[ -n "$boost" ] && cp -L "$boost" "$bundle/native/"

# The C ABI (src/Native): libbayespfl.so and the bayespfl_detect example, linked to it through $ORIGIN
# (native-abi.sh runs them; its tiny model is written there, 14 MB of random floats that xz cannot shrink).
capi="$bundle/capi"
dotnet publish "$root/src/Native" -c Release -o "$capi" -nologo -v q
rm -f "$capi"/*.dbg "$capi"/*.pdb
cc -std=c99 -O2 -Wall -Wextra -Werror -I "$root/src/Native/include" "$root/examples/c/bayespfl_detect.c" \
    -L "$capi" -lbayespfl -Wl,-rpath,'$ORIGIN' -o "$capi/bayespfl_detect"

git -C "$root" rev-parse HEAD > "$bundle/COMMIT"
git -C "$root" status --porcelain --untracked-files=no | grep -q . && echo dirty >> "$bundle/COMMIT"

# Both publishes carry the same .NET runtime: hard-link the identical files so tar stores them once.
(cd "$bundle/cli" && find . -type f) | while read -r f; do
    cmp -s "$bundle/cli/$f" "$bundle/tests/$f" 2>/dev/null && ln -f "$bundle/tests/$f" "$bundle/cli/$f"
done

# xz: present on every stock Debian/Ubuntu host (zstd is not).
tar -C "$here" -cf - bundle | xz -T0 -9 > "$archive"
size=$(stat -c %s "$archive")
echo "bundle: $(du -sh "$bundle" | cut -f1) unpacked, $archive $((size / 1024 / 1024)) MiB ($size bytes)"
if [ "$size" -ge "$limit" ]; then echo "error: $archive is over the 64 MiB carry limit" >&2; exit 1; fi
