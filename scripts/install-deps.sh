#!/bin/bash
# Install the Debian packages the build needs, if any is missing.
# Quick and silent when everything is present.
set -euo pipefail
pkgs=(linux-source-6.12 clang-19 llvm-19 lld-19 libelf-dev zlib1g-dev libzstd-dev
	libcap-dev libnuma-dev dwarves bc flex bison libssl-dev cpio busybox-static
	qemu-system-x86 ccache pkg-config make gcc git xz-utils gnuplot-nox rsync python3 python3-docutils "$@")
# A kernel tree, two kernel builds and the VM images take about 15 GB.
need_kb=$((15 * 1024 * 1024))
dir=${MMLOCK_BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
mkdir -p "$dir" 2>/dev/null || dir=$(dirname "$dir")
avail_kb=$(df --output=avail -k "$dir" 2>/dev/null | tail -1)
if [ -n "$avail_kb" ] && [ "$avail_kb" -lt "$need_kb" ]; then
	echo "install-deps: only $((avail_kb / 1024 / 1024)) GB free under $dir; the build needs about 15 GB" >&2
	exit 1
fi
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} = 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages and not root; run: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
