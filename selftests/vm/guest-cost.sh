#!/bin/sh
# What `make bench-cost` runs in each VM boot (QEMU instruction counting:
# guest time is a count of instructions). ROUNDS interleaved rounds of
# every scenario of GROUP under every config; one COST line per run.
#   guest-cost.sh ROUNDS SECONDS GROUP
#   GROUP: ops       uncontended faults (1 thread), writer-mmap, writer-mprotect
#          conflict  adjacent, mprotect-far, arena-grow, partial-munmap, unrelated
rounds=${1:-3} secs=${2:-1} group=${3:-ops}
case $group in
ops) scenarios="uncontended writer-mmap writer-mprotect" ;;
conflict) scenarios="adjacent mprotect-far arena-grow partial-munmap unrelated" ;;
*) echo "guest-cost: unknown group $group" >&2; exit 2 ;;
esac
if [ -d /sys/kernel/mmlock ]; then
	kernel=patched
	configs="none stock anon2m-oc adaptive anon2m"
else
	kernel=patch-free
	configs=none
fi
load() {
	case $1 in
	none) ;;
	anon2m-oc) mmlock load anon2m --on-contention >/dev/null ;;
	*) mmlock load "$1" >/dev/null ;;
	esac
}
for r in $(seq "$rounds"); do
	for c in $configs; do
		load "$c" || { echo "guest-cost: cannot load $c" >&2; exit 1; }
		for s in $scenarios; do
			out=$(mmlock-bench "$s" "$secs" 1) || exit 1
			echo "COST kernel=$kernel config=$c round=$r $out"
		done
		[ "$c" = none ] || mmlock unload >/dev/null
	done
done
