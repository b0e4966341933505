#!/bin/bash
# Prove the README's two commands on a fresh Debian 12 machine: debootstrap
# a minimal bookworm root, give it only what such a machine has (the
# standard apt sources, /proc, /sys, /dev, git, make), clone this checkout
# into it and run `make demo` and then `make check` there, timed. Nothing
# of the host's packages, caches or build directory is visible inside.
#   scripts/fresh-machine.sh [ROOT_DIR]      (default: build/fresh-root)
# Needs root, debootstrap (installed if missing) and ~25 GB free. Keeps the
# root for inspection; remove it with `rm -rf ROOT_DIR` once unmounted.
# Logs: ROOT_DIR.demo.log, ROOT_DIR.check.log; a summary at the end.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
root=${1:-$top/build/fresh-root}

die() { echo "fresh-machine: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || {
	echo "fresh-machine: installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
}
mkdir -p "$(dirname "$root")"
avail=$(df --output=avail -k "$(dirname "$root")" | tail -1)
[ "$avail" -ge $((25 * 1024 * 1024)) ] || die "need 25 GB free under $(dirname "$root")"

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}

cleanup() {
	for m in dev/pts dev proc sys tmp; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}
trap cleanup EXIT

if [ ! -x "$root/usr/bin/apt-get" ]; then
	echo "fresh-machine: debootstrap bookworm (minbase) into $root"
	debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $root.debootstrap.log"
fi
# What a fresh Debian 12 machine has: the standard sources, resolv.conf.
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	rm -f "$root/etc/apt/sources.list"
	cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs tmpfs "$root/tmp"

in_root() { chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 bash -c "$1"; }

echo "fresh-machine: the README's prerequisites: git, make"
in_root 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q git make >/dev/null'

rm -rf "$root/root/mmlock_ext"
git clone -q "$top" "$root/root/mmlock_ext"
git -C "$root/root/mmlock_ext" log --oneline -1

status=0
for cmd in demo check; do
	echo "fresh-machine: make $cmd (log $root.$cmd.log)"
	start=$(date +%s)
	if in_root "cd /root/mmlock_ext && make $cmd" >"$root.$cmd.log" 2>&1; then
		rc=0
	else
		rc=$?
		status=1
	fi
	secs=$(($(date +%s) - start))
	echo "fresh-machine: make $cmd: exit $rc after $((secs / 60)) min $((secs % 60)) s"
	tail -3 "$root.$cmd.log" | sed 's/^/    /'
	[ "$rc" = 0 ] || break
done
exit $status
