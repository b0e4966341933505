#!/bin/sh
# What `make bench` runs in the VM: every scenario under every policy,
# REPS times, interleaved (rep, policy, scenario) so that drift of the
# machine spreads over all of them. One "BENCH ..." line per run, with the
# mmlock counter deltas of that run (k_*).
reps=${1:-3}
secs=${2:-1}
cpus=$(nproc)
# anon2m-oc: anon2m with --on-contention (per-VMA fast path first).
policies="none coarse stock anon2m anon2m-oc adaptive"
scenarios="adjacent mprotect-far arena-grow partial-munmap unrelated thread-churn uncontended malloc"

stats() { tr '\n' ' ' </sys/kernel/mmlock/stats; }
delta() {
	echo "$1 $2" | awk '{ n = NF / 4; for (i = 1; i <= 2 * n; i += 2) {
		k = $i; v = $(i + 1); w = $(i + 2 * n + 1);
		if (k ~ /^(decide|path|fallback|wait|policy|writer)/) printf " k_%s=%d", k, w - v } }'
}

# run-vm.sh passes its accelerator on the kernel command line.
accel=$(sed -n 's/.*VM_ACCEL=\([^ ]*\).*/\1/p' /proc/cmdline)
echo "bench: $reps reps x $secs s, $cpus vCPUs, ${accel:-unknown} accelerator, kernel $(uname -r)"
for rep in $(seq "$reps"); do
	for pol in $policies; do
		case $pol in
		anon2m-oc) load="anon2m --on-contention" ;;
		*) load=$pol ;;
		esac
		if [ "$pol" != none ] && ! mmlock load $load >/dev/null; then
			echo "bench: cannot load $pol" >&2
			exit 1
		fi
		for sc in $scenarios; do
			for n in 1 $cpus; do
				case $sc in uncontended | malloc) ;; *) [ "$n" = 1 ] || continue ;; esac
				before=$(stats)
				out=$(mmlock-bench "$sc" "$secs" "$n") || { echo "bench: $sc failed" >&2; exit 1; }
				after=$(stats)
				echo "BENCH rep=$rep policy=$pol $out$(delta "$before" "$after")"
			done
		done
		[ "$pol" = none ] || mmlock unload >/dev/null
	done
done
echo "bench: done"
