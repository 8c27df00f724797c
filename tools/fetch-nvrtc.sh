#!/usr/bin/env bash
# Fetches NVRTC (CUDA 11.8, Debian bookworm non-free: libnvrtc11.2 + libnvrtc-builtins11.8) into a cache
# folder WITHOUT touching the system's apt sources: a private apt state is used for the download and the
# packages are unpacked with dpkg-deb -x. NVRTC needs no GPU, so CI can compile every kernel to PTX.
# NVIDIA binaries are never committed; the folder is in .gitignore.
# Usage: tools/fetch-nvrtc.sh [DEST]   (default .cache/nvrtc). Prints the library folder.
set -euo pipefail
dest=${1:-"$(cd "$(dirname "$0")/.." && pwd)/.cache/nvrtc"}
lib="$dest/root/usr/lib/x86_64-linux-gnu"
if [ -e "$lib/libnvrtc.so.11.2" ] && [ -e "$lib/libnvrtc-builtins.so.11.8" ]; then echo "$lib"; exit 0; fi
state="$dest/apt"
mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$dest/debs" "$dest/root"
echo "deb http://deb.debian.org/debian bookworm main contrib non-free" > "$state/sources.list"
opts=(-o Dir::Etc::SourceList="$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::State="$state" -o Dir::State::status=/var/lib/dpkg/status -o Dir::Cache="$state/cache"
      -o APT::Sandbox::User=root -q)
apt-get "${opts[@]}" update >&2
(cd "$dest/debs" && apt-get "${opts[@]}" download libnvrtc11.2 libnvrtc-builtins11.8 >&2)
for deb in "$dest"/debs/*.deb; do dpkg-deb -x "$deb" "$dest/root"; done
test -e "$lib/libnvrtc.so.11.2" || { echo "fetch-nvrtc: libnvrtc.so.11.2 not found after unpacking" >&2; exit 1; }
echo "$lib"
