#!/bin/bash
# Configure and build one kernel flavour (debug or perf) out of tree:
#   kernel-build.sh SRC_TREE OUT_DIR FLAVOUR
# The config is tinyconfig + kernel-patches/config-vm.fragment +
# kernel-patches/config-FLAVOUR.fragment; it is regenerated whenever a
# fragment changes. Every option a fragment asks for must survive
# olddefconfig, so a silently dropped dependency fails the build here.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?SRC_TREE}
out=${2:?OUT_DIR}
flavour=${3:?FLAVOUR}
frags="$top/kernel-patches/config-vm.fragment $top/kernel-patches/config-$flavour.fragment"
jobs=${JOBS:-$(nproc)}

die() { echo "kernel-build: $*" >&2; exit 1; }
for f in $frags; do [ -f "$f" ] || die "no config fragment $f (flavours: debug, perf)"; done
# NO_MMLOCK=1: for a patch-free tree, drop the options our patches add.
if [ -n "${NO_MMLOCK:-}" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for f in $frags; do grep -vE 'MMLOCK|RANGE_RWLOCK' "$f" >"$tmp/$(basename "$f")"; done
	frags=$(for f in $frags; do echo "$tmp/$(basename "$f")"; done)
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
export CCACHE_BASEDIR=$(cd "$src/.." && pwd)
export CCACHE_NOHASHDIR=1
export KBUILD_BUILD_TIMESTAMP='2026-01-01 00:00 UTC'
export KBUILD_BUILD_USER=mmlock KBUILD_BUILD_HOST=vm
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
kmake() { make -s -C "$src" O="$out" ARCH=x86_64 CC="$cc" HOSTCC="$cc" "$@"; }

want=$(cat $frags | sha1sum | cut -d' ' -f1)
if [ ! -f "$out/.config" ] || [ "$(cat "$out/.mmlock-config" 2>/dev/null)" != "$want" ]; then
	echo "kernel-build: configuring the $flavour flavour"
	kmake tinyconfig >/dev/null
	KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" $frags >/dev/null
	kmake olddefconfig >/dev/null
	missing=0
	for f in $frags; do
		while IFS= read -r line; do
			case "$line" in
			CONFIG_*=n) opt=${line%%=*}
				grep -q "^$opt=" "$out/.config" && { echo "  $opt is on, wanted off" >&2; missing=1; } ;;
			CONFIG_*=*) grep -qx "$line" "$out/.config" || { echo "  $line did not survive olddefconfig" >&2; missing=1; } ;;
			'# CONFIG_'*' is not set') opt=${line#\# }; opt=${opt%% *}
				grep -q "^$opt=" "$out/.config" && { echo "  $opt is on, wanted off" >&2; missing=1; } ;;
			esac
		done <"$f"
	done
	[ $missing = 0 ] || die "config fragments do not apply cleanly (see above)"
	echo "$want" >"$out/.mmlock-config"
fi
echo "kernel-build: building the $flavour kernel (-j$jobs)"
kmake -j"$jobs" ${KBUILD_TARGETS:-bzImage}
