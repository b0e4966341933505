#!/bin/bash
# Boot the test VM (QEMU TCG, serial console, initramfs).
#
# The guest gets a 64 MB scratch disk (/dev/vda, zeros, discarded after)
# and a slow one (/dev/vdb, 8 MB, reads throttled to 2 I/Os and 256 KB a
# second) for the tests of faults that wait for I/O.
#
# Environment: KERNEL, INITRD (required); ACCEL (kvm|tcg, default kvm if
# /dev/kvm is usable), ACCEL_ARGS; CPUS, MEM, TIMEOUT (seconds),
# LOGDIR; CMD (run non-interactively and exit with its status; otherwise an
# interactive shell); ADD (host files copied into the guest's /root, the
# command's working directory); APPEND (extra kernel command line).
#
# With CMD, the serial log is kept as $LOGDIR/vm-<time>.log (symlink
# $LOGDIR/last.log) and the exit status is the command's, 124 on timeout,
# 125 if the VM died before reporting a status.
set -uo pipefail

: "${KERNEL:?KERNEL not set}" "${INITRD:?INITRD not set}"
CPUS=${CPUS:-2} MEM=${MEM:-1G} TIMEOUT=${TIMEOUT:-900}
LOGDIR=${LOGDIR:-/tmp} CMD=${CMD:-} ADD=${ADD:-} APPEND=${APPEND:-}

die() { echo "run-vm: $*" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
[ -f "$KERNEL" ] || die "no kernel at $KERNEL: run 'make kernel' first"
[ -f "$INITRD" ] || die "no initramfs at $INITRD: run 'make initramfs' first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Per-run files go into a second cpio archive appended to the base one.
initrd=$INITRD
if [ -n "$CMD" ] || [ -n "$ADD" ]; then
	mkdir -p "$tmp/extra/etc" "$tmp/extra/root"
	[ -n "$CMD" ] && printf '%s\n' "$CMD" >"$tmp/extra/etc/vm-cmd"
	for f in $ADD; do
		[ -e "$f" ] || die "ADD: $f does not exist"
		cp -r "$f" "$tmp/extra/root/"
	done
	(cd "$tmp/extra" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$tmp/extra.cpio.gz"
	cat "$INITRD" "$tmp/extra.cpio.gz" >"$tmp/initrd.cpio.gz"
	initrd=$tmp/initrd.cpio.gz
fi

truncate -s 64M "$tmp/scratch.img"
truncate -s 8M "$tmp/slow.img"

# KVM where /dev/kvm is usable (real machines), else TCG. ACCEL=tcg or
# ACCEL=kvm forces one; ACCEL_ARGS replaces the -accel/-cpu pair.
# Usable means a guest runs: /dev/kvm can exist where KVM does not work
# (nested without support), so boot the kernel once without an initramfs
# (it panics and QEMU exits at once) and remember the answer until the
# host reboots.
kvm_usable() {
	local stamp
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	stamp=/tmp/mmlock-kvm-probe.$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
	if [ ! -f "$stamp" ]; then
		if timeout 20 qemu-system-x86_64 -M q35 -accel kvm -cpu host -m 256M \
			-no-reboot -display none -serial none -monitor none \
			-kernel "$KERNEL" -append "panic=-1" >/dev/null 2>&1; then
			echo yes >"$stamp"
		else
			echo no >"$stamp"
		fi
	fi
	[ "$(cat "$stamp")" = yes ]
}
if [ -z "${ACCEL:-}" ]; then
	ACCEL=tcg
	kvm_usable && ACCEL=kvm
fi
case $ACCEL in
kvm) accel_args=(-accel kvm -cpu host) ;;
tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
*) die "ACCEL=$ACCEL: kvm or tcg" ;;
esac
[ -n "${ACCEL_ARGS:-}" ] && read -ra accel_args <<<"$ACCEL_ARGS"
echo "run-vm: $ACCEL (${accel_args[*]}), $CPUS vCPUs, $MEM" >&2
cmdline="console=ttyS0,115200 rdinit=/init panic=-1 no5lvl nokaslr"
cmdline+=" transparent_hugepage=madvise VM_CPUS=$CPUS VM_ACCEL=$ACCEL $APPEND"
qemu=(qemu-system-x86_64 -M q35 "${accel_args[@]}"
	-smp "$CPUS" -m "$MEM" -no-reboot -kernel "$KERNEL" -initrd "$initrd"
	-append "$cmdline"
	-drive "file=$tmp/scratch.img,if=none,format=raw,id=scratch"
	-device virtio-blk-pci,drive=scratch
	-drive "file=$tmp/slow.img,if=none,format=raw,id=slow,throttling.iops-read=2,throttling.bps-read=262144"
	-device virtio-blk-pci,drive=slow)

if [ -z "$CMD" ]; then
	echo "run-vm: interactive VM ($CPUS vCPUs, $MEM); Ctrl-A X quits QEMU"
	"${qemu[@]}" -nographic
	exit
fi

mkdir -p "$LOGDIR"
log=$LOGDIR/vm-$(date +%Y%m%d-%H%M%S)-$$.log
ln -sf "$(basename "$log")" "$LOGDIR/last.log"
start=$(date +%s.%N)
timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" -display none -serial stdio \
	-monitor none </dev/null 2>&1 | tr -d '\r' | tee "$log"
qrc=${PIPESTATUS[0]}
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "run-vm: TIMEOUT after ${TIMEOUT}s; guest log: $log" >&2
	exit 124
fi
status=$(sed -n 's/^mmlock-vm: exit status \([0-9]*\)$/\1/p' "$log" | tail -1)
if [ -z "$status" ]; then
	echo "run-vm: the VM stopped without reporting a status (crash?); guest log: $log" >&2
	exit 125
fi
printf 'run-vm: exit status %s after %.1fs, log %s (%s bytes)\n' "$status" "$elapsed" \
	"$log" "$(stat -c %s "$log")" >&2
exit "$status"
