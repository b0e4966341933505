#!/bin/bash
# `make bench-profile`: where the instructions of one ordinary fault go,
# per kernel function, under no policy and each policy. Boots the perf
# kernel under QEMU's instruction counting with a gdb stub, runs
# mmlock-fault-probe, single-steps its traced fault from exc_page_fault()
# to its return and counts the instructions of every function (rep-
# prefixed string instructions count once per iteration, as in the
# meter). JIT-ed BPF programs and trampolines are outside kernel text:
# they count as [bpf]. One fault, exact; `make bench-cost` gives the
# rates over many.
#   fault-profile.sh VMLINUX BZIMAGE INITRD OUTDIR [CONFIG...]
# CONFIG: none stock anon2m-oc adaptive anon2m (default: all).
# PROFILE_OP=mprotect traces an mprotect() that splits the probe's VMA
# instead (the meter's writer-mprotect op), from __x64_sys_mprotect().
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "fault-profile: $*" >&2; exit 1; }
[ $# -ge 4 ] || die "usage: fault-profile.sh VMLINUX BZIMAGE INITRD OUTDIR [CONFIG...]"
vmlinux=$1 kernel=$2 initrd=$3 out=$4
shift 4
configs=${*:-none stock anon2m-oc adaptive anon2m}
command -v gdb >/dev/null || die "gdb not found (apt-get install gdb)"
mkdir -p "$out"
nm -n "$vmlinux" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$out/syms.txt"
addr() { awk -v s="$1" '$2 == s { print $1; exit }' "$out/syms.txt"; }
op=${PROFILE_OP:-fault}
case $op in
fault) entry=$(addr exc_page_fault) syscall=0 ;;
mprotect) entry=$(addr __x64_sys_mprotect) syscall=1 ;;
*) die "PROFILE_OP=$op: fault or mprotect" ;;
esac
yield=$(addr __x64_sys_sched_yield)
stext=$(addr _stext) etext=$(nm "$vmlinux" | awk '$3 == "_etext" { print $1 }')
[ -n "$yield" ] && [ -n "$entry" ] && [ -n "$stext" ] && [ -n "$etext" ] ||
	die "$vmlinux lacks the symbols it needs"

for c in $configs; do
	case $c in
	none) load=true ;;
	anon2m-oc) load="mmlock load anon2m --on-contention" ;;
	*) load="mmlock load $c" ;;
	esac
	port=$((20000 + RANDOM % 20000))
	KERNEL=$kernel INITRD=$initrd CPUS=1 MEM=1G TIMEOUT=900 ACCEL=tcg \
		ACCEL_ARGS="-accel tcg,thread=single -icount shift=0,sleep=off -cpu max -gdb tcp:127.0.0.1:$port" \
		LOGDIR=$out/logs CMD="$load >/dev/null && mmlock-fault-probe $op" \
		"$here/../vm/run-vm.sh" >"$out/vm-$c.log" 2>&1 &
	vm=$!
	for try in 1 2 3 4 5 6 7 8 9 10; do
		sleep 1
		gdb -q -batch -nx -ex "set \$probe_yield = 0x$yield" \
			-ex "set \$probe_entry = 0x$entry" \
			-ex "set \$probe_addr = 0x7e000000c000" \
			-ex "set \$probe_syscall = $syscall" \
			-ex "target remote 127.0.0.1:$port" \
			-x "$here/fault-profile.gdb" >"$out/gdb-$c.log" 2>&1 || true
		grep -q '^PC-END' "$out/gdb-$c.log" && break
		grep -q 'Connection refused' "$out/gdb-$c.log" || break
	done
	wait "$vm" || die "$c: the VM failed, see $out/vm-$c.log"
	grep -q '^PC-END' "$out/gdb-$c.log" || die "$c: no trace, see $out/gdb-$c.log"
	awk '$1 == "PC" { print $2 }' "$out/gdb-$c.log" >"$out/pc-$c.txt"
	echo "fault-profile: $c: $(wc -l <"$out/pc-$c.txt") instructions" >&2
done

# Per function and config; rows by the largest difference from the first
# config, the total first.
for c in $configs; do
	awk -v cfg="$c" -v lo="$stext" -v hi="$etext" '
		# The low 32 bits: kernel text and BPF images are all in
		# ffffffff________, and awk numbers are doubles.
		function hex(s,   i, n, d) {
			if (length(s) != 16 || substr(s, 1, 8) != "ffffffff")
				return -1
			s = substr(s, 9)
			n = 0
			for (i = 1; i <= length(s); i++) {
				d = index("0123456789abcdef", substr(s, i, 1)) - 1
				n = n * 16 + d
			}
			return n
		}
		FNR == NR { if (hex($1) >= 0) { a[n] = hex($1); f[n] = $2; n++ }; next }
		FNR == 1 { lo32 = hex(lo); hi32 = hex(hi) }
		{
			pc = hex($1)
			if (pc < lo32 || pc >= hi32) { cnt["[bpf]"]++; next }
			l = 0; h = n - 1
			while (l < h) { m = int((l + h + 1) / 2); if (a[m] <= pc) l = m; else h = m - 1 }
			cnt[f[l]]++
		}
		END { for (k in cnt) print cfg, k, cnt[k] }' "$out/syms.txt" "$out/pc-$c.txt"
done >"$out/profile-raw.txt"
awk -v configs="$configs" -v op="$op" '
	BEGIN { nc = split(configs, cf, " ") }
	{ v[$2, $1] = $3; fn[$2] = 1; tot[$1] += $3 }
	END {
		printf "%-40s", "instructions of one " op
		for (i = 1; i <= nc; i++) printf " %10s", cf[i]
		printf "\n%-40s", "total"
		for (i = 1; i <= nc; i++) printf " %10d", tot[cf[i]]
		printf "\n"
		for (k in fn) {
			d = 0
			for (i = 2; i <= nc; i++) {
				x = v[k, cf[i]] - v[k, cf[1]]
				if (x < 0) x = -x
				if (x > d) d = x
			}
			if (d > 0) {
				line = sprintf("%-40s", substr(k, 1, 40))
				for (i = 1; i <= nc; i++) line = line sprintf(" %10d", v[k, cf[i]])
				print d "\t" line
			}
		}
	}' "$out/profile-raw.txt" | { read -r h1; read -r h2; echo "$h1"; echo "$h2"; sort -t$'\t' -k1,1nr | head -40 | cut -f2-; } |
	tee "$out/profile.txt"
