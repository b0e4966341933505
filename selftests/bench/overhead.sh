#!/bin/bash
# Cost of mmlock_ext on uncontended faults: the patch-free kernel, the
# patched kernel without a policy (the static key is off), with the
# trivial `stock` policy and with `anon2m --on-contention`. Boots alternate between the two kernels, BOOTS
# times each, so slow drift of the host hits both.
#   overhead.sh PATCH_FREE_BZIMAGE PATCHED_BZIMAGE INITRD OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
free=$1 patched=$2 initrd=$3 out=$4
boots=${BOOTS:-3}
mkdir -p "$out"
: >"$out/overhead-raw.txt"
for b in $(seq "$boots"); do
	for k in "$free" "$patched"; do
		KERNEL=$k INITRD=$initrd CPUS=${CPUS:-2} MEM=${MEM:-1G} TIMEOUT=600 \
			LOGDIR=$out/logs CMD="sh /usr/share/mmlock/guest-overhead.sh 3" \
			"$here/../vm/run-vm.sh" >/dev/null
		grep '^OVERHEAD ' "$out/logs/last.log" >>"$out/overhead-raw.txt"
	done
done
awk '
function kv(line, key) {
	if (match(line, " " key "=[^ ]*")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
function median(list,   a, n, i, j, t) {
	n = split(list, a, ",")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	k = kv($0, "config") SUBSEP kv($0, "threads")
	if (k in v) v[k] = v[k] "," kv($0, "faults_per_s"); else v[k] = kv($0, "faults_per_s")
	cnt[k]++; th[kv($0, "threads")] = 1
}
END {
	print "| threads | patch-free faults/s | patched, no policy | ratio | patched, stock policy | ratio | patched, anon2m --on-contention | ratio | runs |"
	print "|---|---|---|---|---|---|---|---|---|"
	for (t in th) {
		f = median(v["patch-free" SUBSEP t]); n = median(v["patched" SUBSEP t]); s = median(v["stock-policy" SUBSEP t])
		o = median(v["anon2m-oc" SUBSEP t])
		printf "| %s | %.0f | %.0f | %.3f | %.0f | %.3f | %.0f | %.3f | %d |\n", t, f, n, n / f, s, s / f, o, o / f, cnt["patched" SUBSEP t]
	}
}' "$out/overhead-raw.txt" | tee "$out/overhead.md"
