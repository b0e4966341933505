#!/bin/sh
# What `make demo` runs in the VM: first the win, side by side, then a
# policy's lifecycle (load, inspect, tune, swap, unload).
#
# The win: one thread faults fresh pages of a VMA while another mprotects
# a page far away inside the same VMA (mmlock-bench mprotect-far). Stock
# 6.12 splits and merges that VMA under its write lock, so the faulting
# thread's per-VMA try-lock fails and it queues for mmap_lock; under
# anon2m the fault locks only its 2 MB range and never waits.
set -e
secs=${DEMO_SECONDS:-2}
# Kernel messages (policy enabled, replaced) would cut through the table.
dmesg -n 1 2>/dev/null || true
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
stat() { awk -v k="$1" '$1 == k { print $2 }' /sys/kernel/mmlock/stats; }

# One row of the table: the scenario under the policy now attached.
row() {
	w0=$(stat wait_mmap_read) r0=$(stat path_range)
	v0=$(stat path_vma) c0=$(stat path_coarse)
	out=$(mmlock-bench mprotect-far "$secs" 1)
	w1=$(stat wait_mmap_read) r1=$(stat path_range)
	v1=$(stat path_vma) c1=$(stat path_coarse)
	echo "$out" | awk -v name="$1" -v waits=$((w1 - w0)) \
		-v range=$((r1 - r0)) -v all=$((r1 - r0 + v1 - v0 + c1 - c0)) '
	function kv(k) { return match($0, k "=[^ ]*") ? substr($0, RSTART + length(k) + 1, RLENGTH - length(k) - 1) : 0 }
	{
		# Without a policy the kernel does not count (static key off).
		w = name == "none" ? "-" : waits
		r = name == "none" ? "-" : sprintf("%.0f%%", all ? 100 * range / all : 0)
		printf "%-10s %9.0f %11.0f %7.2f %11.0f %9s %8s\n", name,
		       kv("alone_faults_per_s"), kv("with_faults_per_s"), kv("ratio"),
		       kv("writer_ops_per_s"), w, r
	}'
}

printf '\n\033[1mThe false conflict: a thread faults fresh pages while another mprotects\n'
printf 'a far page of the same VMA (%s s alone, then %s s with the writer)\033[0m\n\n' "$secs" "$secs"
printf '%-10s %9s %11s %7s %11s %9s %8s\n' policy 'faults/s' 'faults/s' ratio 'writer' 'waits for' 'faults on'
printf '%-10s %9s %11s %7s %11s %9s %8s\n' '' alone 'w/ writer' '' 'ops/s' mmap_lock 'ranges'
row none
mmlock load stock >/dev/null
row stock
mmlock swap anon2m >/dev/null
row anon2m
mmlock unload >/dev/null
cat <<'EOF'

ratio: the faulting thread's speed with the writer over its speed alone
(none: no policy; the kernel counts waits only while a policy is loaded).
Under stock the writer's VMA splits make the faulter wait for mmap_lock;
under anon2m its faults lock only their 2 MB range and do not wait, and
the writer does not wait for them. On a quiet host anon2m keeps the ratio
near 1 and the writer several times faster; a busy host (or this VM
sharing its cores) blurs the rates, not the waits.
EOF

step uname -r
step mmlock list
step mmlock load anon2m
step bpftool struct_ops show
step mmlock status
step mmlock get
step mmlock-workload 2 2
step mmlock stats
step mmlock set range_size=4M
step mmlock swap stock
step mmlock stats
step mmlock unload
step mmlock status
