#!/bin/bash
# Turn the BENCH lines of a `make bench` guest log into a table:
#   report.sh GUEST_LOG OUTDIR
# Writes OUTDIR/raw.txt (the BENCH lines), OUTDIR/results.md (median and
# min..max per scenario and policy) and OUTDIR/ratios.svg (gnuplot), and
# prints the Markdown table.
set -euo pipefail
log=${1:?GUEST_LOG}
out=${2:?OUTDIR}
mkdir -p "$out"
grep '^BENCH ' "$log" >"$out/raw.txt" || { echo "report: no BENCH lines in $log" >&2; exit 1; }
head=$(grep -m1 '^bench: ' "$log" || true)

awk -v head="$head" '
function kv(line, key,   m) {
	if (match(line, " " key "=[^ ]*")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
function median(list,   a, n, i, j, t) {
	n = split(list, a, ",")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
	lo = a[1]; hi = a[n]
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function add(key, v) { if (key in vals) vals[key] = vals[key] "," v; else vals[key] = v }
{
	sc = kv($0, "scenario") "/" kv($0, "faulters"); pol = kv($0, "policy")
	if (!(sc in seen_sc)) { seen_sc[sc] = 1; scs[++nsc] = sc }
	if (!(pol in seen_pol)) { seen_pol[pol] = 1; pols[++npol] = pol }
	k = sc SUBSEP pol
	if (kv($0, "ratio") != "") {
		add(k SUBSEP "ratio", kv($0, "ratio")); add(k SUBSEP "with", kv($0, "with_faults_per_s"))
		add(k SUBSEP "alone", kv($0, "alone_faults_per_s")); add(k SUBSEP "wops", kv($0, "writer_ops_per_s"))
		add(k SUBSEP "p99", kv($0, "with_p99_us")); add(k SUBSEP "p50", kv($0, "with_p50_us"))
	} else {
		rate = kv($0, "faults_per_s"); if (rate == "") rate = kv($0, "ops_per_s")
		add(k SUBSEP "alone", rate); add(k SUBSEP "p99", kv($0, "p99_us"))
		add(k SUBSEP "p50", kv($0, "p50_us"))
	}
	f = kv($0, "k_path_vma") + kv($0, "k_path_coarse") + kv($0, "k_path_range")
	add(k SUBSEP "coarse_share", f ? kv($0, "k_path_coarse") / f : 0)
	add(k SUBSEP "range_share", f ? kv($0, "k_path_range") / f : 0)
	add(k SUBSEP "waits", kv($0, "k_wait_mmap_read") + kv($0, "k_wait_range_read"))
}
END {
	print "# mmlock_ext false-conflict benchmark"
	print ""
	print head
	print ""
	print "Medians over the repetitions, [min..max] in brackets. *ratio* = faults/s of the"
	print "faulting thread with the writer running / alone, measured back to back in one"
	print "process; *writer* = the writer'\''s own ops/s; p50/p99 = per-fault latency with the"
	print "writer; *coarse* / *range* = share of faults handled under mmap_read_lock / on the"
	print "range path; *waits* = faults that waited for mmap_read_lock or for their range."
	print "anon2m-oc = anon2m --on-contention (per-VMA fast path first)."
	print ""
	print "| scenario | policy | ratio | faults/s with writer | writer ops/s | p50 us | p99 us | coarse | range | waits |"
	print "|---|---|---|---|---|---|---|---|---|---|"
	for (i = 1; i <= nsc; i++) for (j = 1; j <= npol; j++) {
		k = scs[i] SUBSEP pols[j]
		if (!((k SUBSEP "p99") in vals)) continue
		if ((k SUBSEP "ratio") in vals) {
			r = median(vals[k SUBSEP "ratio"]); rs = sprintf("%.2f [%.2f..%.2f]", r, lo, hi)
			ratio[i, j] = r
			w = median(vals[k SUBSEP "with"]); ws = sprintf("%.0f", w)
			o = median(vals[k SUBSEP "wops"]); os = sprintf("%.0f [%.0f..%.0f]", o, lo, hi)
		} else {
			a = median(vals[k SUBSEP "alone"]); rs = "-"; ws = sprintf("%.0f [%.0f..%.0f] (no writer%s)", a, lo, hi, scs[i] ~ /^malloc/ ? "; allocs/s" : ""); os = "-"
			ratio[i, j] = 0
		}
		printf "| %s | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.0f |\n", scs[i], pols[j], rs, ws, os,
			median(vals[k SUBSEP "p50"]), median(vals[k SUBSEP "p99"]),
			median(vals[k SUBSEP "coarse_share"]), median(vals[k SUBSEP "range_share"]), median(vals[k SUBSEP "waits"])
	}
	dat = DAT
	printf "scenario" > dat
	for (j = 1; j <= npol; j++) printf " %s", pols[j] > dat
	print "" > dat
	for (i = 1; i <= nsc; i++) {
		if (scs[i] ~ /^(uncontended|malloc)/) continue
		printf "%s", scs[i] > dat
		for (j = 1; j <= npol; j++) printf " %.3f", ratio[i, j] > dat
		print "" > dat
	}
}' DAT="$out/ratios.dat" "$out/raw.txt" | tee "$out/results.md"

if command -v gnuplot >/dev/null; then
	npol=$(head -1 "$out/ratios.dat" | wc -w)
	gnuplot <<GP
set terminal svg size 900,450 dynamic
set output "$out/ratios.svg"
set title "faults/s with the writer / alone (median; 1 = no false conflict)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right
set yrange [0:*]
set xtics rotate by -20
plot for [c=2:$npol] "$out/ratios.dat" using c:xtic(1) title columnheader
GP
	echo "report: $out/results.md, $out/ratios.svg, raw lines in $out/raw.txt"
fi
