#!/bin/bash
# The series as a kernel for a real machine, from a distro config:
#   kernel-deb.sh SRC_TREE OUT_DIR [KCONFIG] [deb|check]
# KCONFIG: the machine's config (e.g. /boot/config-$(uname -r)); default
# Debian's amd64 config for 6.12 (package linux-config-6.12). It gets
# kernel-patches/config-machine.fragment (mmlock_ext and what it needs)
# merged in and must keep every option of it through olddefconfig.
#   deb    (default) make bindeb-pkg: linux-image-*.deb and friends in the
#          parent of OUT_DIR, to install with dpkg -i and boot;
#   check  compile only what the series touches (mm/, arch/x86/mm/,
#          kernel/locking/, kernel/bpf/) under that config: the check
#          `make check-distro` runs.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:?SRC_TREE}
out=${2:?OUT_DIR}
kconfig=${3:-}
mode=${4:-deb}
frag=$top/kernel-patches/config-machine.fragment
jobs=${JOBS:-$(nproc)}
debian_config=/usr/src/linux-config-6.12/config.amd64_none_amd64.xz

die() { echo "kernel-deb: $*" >&2; exit 1; }
case $mode in deb | check) ;; *) die "mode $mode: deb or check" ;; esac

extra=()
[ -n "$kconfig" ] || extra+=(linux-config-6.12)
[ "$mode" = deb ] && extra+=(dpkg-dev debhelper kmod)
"$top/scripts/install-deps.sh" "${extra[@]}"

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "$kconfig" ]; then
	[ -f "$debian_config" ] || die "no $debian_config (apt-get install linux-config-6.12)"
	xzcat "$debian_config" >"$out/.config.base"
	echo "kernel-deb: Debian's amd64 config ($debian_config)"
else
	[ -f "$kconfig" ] || die "KCONFIG=$kconfig does not exist"
	cp "$kconfig" "$out/.config.base"
	echo "kernel-deb: config $kconfig"
fi
cp "$out/.config.base" "$out/.config"

export CCACHE_BASEDIR=$(cd "$src/.." && pwd) CCACHE_NOHASHDIR=1
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
kmake() { make -s -C "$src" O="$out" ARCH=x86_64 CC="$cc" HOSTCC="$cc" "$@"; }

KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" -m -O "$out" \
	"$out/.config" "$frag" >/dev/null
# Distro configs name signing keys that only the distro has.
"$src/scripts/config" --file "$out/.config" --set-str SYSTEM_TRUSTED_KEYS "" \
	--set-str SYSTEM_REVOCATION_KEYS "" --set-str MODULE_SIG_KEY "certs/signing_key.pem"
kmake olddefconfig >/dev/null
bad=0
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*) grep -qx "$line" "$out/.config" ||
		{ echo "  $line did not survive olddefconfig" >&2; bad=1; } ;;
	esac
done <"$frag"
[ $bad = 0 ] || die "the config cannot have mmlock_ext (see above)"

start=$(date +%s)
if [ "$mode" = check ]; then
	echo "kernel-deb: compiling mm/ arch/x86/mm/ kernel/locking/ kernel/bpf/ (-j$jobs)"
	kmake -j"$jobs" prepare
	kmake -j"$jobs" mm/ arch/x86/mm/ kernel/locking/ kernel/bpf/
else
	echo "kernel-deb: make bindeb-pkg (-j$jobs); this is a whole distro kernel"
	kmake -j"$jobs" LOCALVERSION=-mmlock bindeb-pkg
	ls -1 "$(dirname "$out")"/linux-image-*mmlock*.deb 2>/dev/null | sed 's/^/kernel-deb: built /'
fi
echo "kernel-deb: done in $(($(date +%s) - start)) s"
