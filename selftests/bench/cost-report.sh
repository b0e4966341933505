#!/bin/bash
# The cost meter's table from its raw COST lines (cost.sh): per scenario
# and config, the median rate over rounds, the instructions per operation
# relative to no policy (rate of none / rate of config: 1.05 = 5 % more
# instructions) and the spread of the rounds ((max - min) / median).
#   cost-report.sh COST_RAW_FILE
set -euo pipefail
awk '
function kv(line, key) {
	if (match(line, " " key "=[^ ]*")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
function sorted(list, a,   n, i, j, t) {
	n = split(list, a, ",")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n
}
function median(list,   a, n) { n = sorted(list, a); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function spread(list,   a, n, md) {
	n = sorted(list, a)
	md = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	return md > 0 ? (a[n] - a[1]) / md : 0
}
function add(k, v,   s) { s = (k in vals) ? vals[k] "," v : v; vals[k] = s }
/^COST / {
	sc = kv($0, "scenario"); cfg = kv($0, "config")
	if (kv($0, "kernel") == "patch-free") cfg = "patch-free"
	if (!(sc in seen)) { order[++nsc] = sc; seen[sc] = 1 }
	if (!(cfg in cseen)) { corder[++ncfg] = cfg; cseen[cfg] = 1 }
	# The conflict scenarios: the faulter alone (one thread runs). With
	# the writer, two vCPUs share one instruction clock round-robin, so
	# their rates split that clock between the threads: not a cost.
	r = kv($0, "faults_per_s"); if (r == "") r = kv($0, "ops_per_s"); if (r == "") r = kv($0, "alone_faults_per_s")
	add(sc SUBSEP cfg SUBSEP "rate", r)
}
END {
	print "Instructions per operation relative to the patched kernel with no policy (QEMU icount; lower is cheaper; +- is the spread of the rounds). Writer ops are measured alone (writer-mmap, writer-mprotect); the false-conflict scenarios give the faulter alone in their VMA layout, since with the writer two vCPUs share one instruction clock."
	print ""
	printf "| scenario | measure |"; for (c = 1; c <= ncfg; c++) printf " %s |", corder[c]; print ""
	printf "|---|---|"; for (c = 1; c <= ncfg; c++) printf "---|"; print ""
	for (s = 1; s <= nsc; s++) {
		sc = order[s]
		split("rate writer", ms, " ")
		for (m = 1; m <= 2; m++) {
			base = sc SUBSEP "none" SUBSEP ms[m]
			if (!(base in vals)) continue
			b = median(vals[base])
			label = "per op"
			if (sc !~ /^writer-/) label = "per fault"
			if (sc !~ /^(writer-|uncontended)/) label = "per fault, faulter alone"
			printf "| %s | %s |", sc, label
			for (c = 1; c <= ncfg; c++) {
				k = sc SUBSEP corder[c] SUBSEP ms[m]
				if (!(k in vals)) { printf " |"; continue }
				v = median(vals[k])
				printf(" %.3f +-%.3f |", (v > 0 ? b / v : 0), spread(vals[k]))
			}
			print ""
		}
	}
}' "$1"
