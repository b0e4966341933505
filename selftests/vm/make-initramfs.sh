#!/bin/bash
# Build the guest initramfs:
#   make-initramfs.sh OUT.cpio.gz BINARY... -- POLICY.bpf.o... -- TEST.bpf.o... \
#       [-- KSELFTEST-MM-FILE...]
# busybox-static, our static binaries in /usr/bin, the policies in
# /usr/lib/mmlock/policies, BPF objects the tests load by path in
# /usr/lib/mmlock/test, the kernel's mm selftests and their list
# (selftests/mm/) in /usr/lib/mmlock/kselftest-mm, the guest scripts, and
# /init.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
shift
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/share/mmlock} \
	"$root"/usr/lib/mmlock/{policies,test,kselftest-mm} \
	"$root"/{proc,sys,dev,tmp,run,root,etc,mnt}
busybox=$(command -v busybox)
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	[ -x /bin/busybox ] || { echo "make-initramfs: busybox-static is missing" >&2; exit 1; }
cp /bin/busybox "$root/bin/busybox"
for app in $("$root/bin/busybox" --list-full); do
	[ "$app" = bin/busybox ] && continue
	ln -sf /bin/busybox "$root/$app" 2>/dev/null || true
done
cp "$here/init" "$root/init"
cp "$here"/guest-*.sh "$root/usr/share/mmlock/" 2>/dev/null || true
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	cp "$1" "$root/usr/bin/"
	shift
done
[ $# -gt 0 ] && shift
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	cp "$1" "$root/usr/lib/mmlock/policies/"
	shift
done
[ $# -gt 0 ] && shift
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	cp "$1" "$root/usr/lib/mmlock/test/"
	shift
done
[ $# -gt 0 ] && shift
for t in "$@"; do cp "$t" "$root/usr/lib/mmlock/kselftest-mm/"; done
# An unprivileged account for the permission tests.
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs: $out ($(du -h "$out" | cut -f1))"
