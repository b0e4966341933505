#!/bin/sh
# What `make bench-overhead` runs in each VM boot: uncontended faults/s,
# one thread and one per vCPU, without a policy and (on the patched kernel)
# with the trivial `stock` policy and with `anon2m --on-contention` (asked
# only when the per-VMA try-lock fails), ROUNDS times interleaved.
rounds=${1:-5}
if [ -d /sys/kernel/mmlock ]; then kernel=patched; else kernel=patch-free; fi
for i in $(seq "$rounds"); do
	for n in 1 $(nproc); do
		echo "OVERHEAD config=$kernel threads=$n $(mmlock-bench uncontended 1 "$n")"
		[ "$kernel" = patched ] || continue
		mmlock load stock >/dev/null || exit 1
		echo "OVERHEAD config=stock-policy threads=$n $(mmlock-bench uncontended 1 "$n")"
		mmlock unload >/dev/null
		mmlock load anon2m --on-contention >/dev/null || exit 1
		echo "OVERHEAD config=anon2m-oc threads=$n $(mmlock-bench uncontended 1 "$n")"
		mmlock unload >/dev/null
	done
done
