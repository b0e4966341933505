#!/bin/bash
# The exact cost meter (`make bench-cost`): boots the perf kernel under
# QEMU's instruction counting (-accel tcg,thread=single -icount
# shift=0,sleep=off: one virtual ns per guest instruction), so each rate
# below is a count of instructions per operation, reproducible to ~0.5 %
# on a loaded host. It does not model cache misses, cache-line bouncing
# or real lock contention: for those, `make bench` (thread=multi).
#   cost.sh PATCHED_BZIMAGE INITRD OUTDIR [PATCH_FREE_BZIMAGE]
# Boots: the patched kernel with 1 vCPU (uncontended faults, writer ops),
# the patch-free kernel with 1 vCPU if given, and the patched kernel with
# 2 vCPUs for the false-conflict scenarios, of which only the faulting
# thread alone is a cost (with the writer the vCPUs share one instruction
# clock round-robin). ROUNDS (3) and SECONDS_PER_RUN (1) per run;
# COST_GROUPS="ops conflict" (default) picks the boots.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
patched=$1 initrd=$2 out=$3 free=${4:-}
rounds=${ROUNDS:-3} secs=${SECONDS_PER_RUN:-1}
icount='-accel tcg,thread=single -icount shift=0,sleep=off -cpu max'
mkdir -p "$out"
raw=$out/cost-raw.txt
: >"$raw"
boot() { # LABEL KERNEL CPUS GROUP
	local label=$1
	shift
	echo "bench-cost: $label kernel, $2 vCPU(s), $3 (${rounds} rounds of ${secs} s)" >&2
	KERNEL=$1 INITRD=$initrd CPUS=$2 MEM=${MEM:-1G} TIMEOUT=${TIMEOUT:-3600} \
		ACCEL=tcg ACCEL_ARGS="$icount" LOGDIR=$out/logs \
		CMD="sh /usr/share/mmlock/guest-cost.sh $rounds $secs $3" \
		"$here/../vm/run-vm.sh" >/dev/null
	grep '^COST ' "$out/logs/last.log" | sed "s/^COST /COST cpus=$2 /" >>"$raw"
}
groups=${COST_GROUPS:-ops conflict}
for g in $groups; do
	if [ "$g" = ops ]; then
		boot patched "$patched" 1 ops
		[ -z "$free" ] || boot patch-free "$free" 1 ops
	else
		boot patched "$patched" 2 conflict
	fi
done
"$here/cost-report.sh" "$raw" | tee "$out/cost.md"
