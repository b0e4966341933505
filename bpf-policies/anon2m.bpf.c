// SPDX-License-Identifier: GPL-2.0
/*
 * anon2m: the seed's fault-range policy. Anonymous faults lock the
 * range_size-aligned range around the address (2 MB by default); faults on
 * file-backed and shmem memory lock their whole VMA (the kernel uses those
 * VMAs live and wants the whole extent).
 */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

MMLOCK_DESCRIPTION("2 MB ranges for anonymous faults, the whole VMA for file-backed ones");

/*
 * Range locked by an anonymous fault: a multiple of 2 MB (rounded up), or
 * 0 for the whole VMA rounded out to 2 MB boundaries. At most 1 GB.
 */
u64 range_size = MMLOCK_PMD_SIZE;
MMLOCK_TUNABLE_LIMITS(range_size, 0, 1ULL << 30);

/* false: anonymous faults take the stock path (A/B without a swap). */
bool anon_ranges = true;
/* false: file-backed and shmem faults take the stock path. */
bool file_ranges = true;

MMLOCK_SCOPE_TUNABLES();

MMLOCK_COUNTERS(anon_range, anon_stock, file_range, unknown_range, file_stock,
		other_stock, out_of_scope);

SEC("struct_ops/anon2m_fault")
s32 BPF_PROG(anon2m_fault, struct mmlock_fault_req *req)
{
	if (!mmlock_in_scope(req)) {
		mmlock_counter_inc(out_of_scope);
		return MMLOCK_FAULT_VMA;
	}
	if (req->kind == MMLOCK_VMA_ANON && anon_ranges) {
		mmlock_set_range(req, range_size);
		mmlock_counter_inc(anon_range);
		return MMLOCK_FAULT_RANGE;
	}
	/*
	 * A writer kept the VMAs changing (a stalled vCPU): most faults are
	 * anonymous; on a file VMA the kernel takes the stock path (counted).
	 */
	if (req->kind == MMLOCK_VMA_UNKNOWN && anon_ranges) {
		mmlock_set_range(req, range_size ?: MMLOCK_PMD_SIZE);
		mmlock_counter_inc(unknown_range);
		return MMLOCK_FAULT_RANGE;
	}
	if ((req->kind == MMLOCK_VMA_FILE || req->kind == MMLOCK_VMA_SHMEM) &&
	    file_ranges) {
		mmlock_set_range(req, 0);
		mmlock_counter_inc(file_range);
		return MMLOCK_FAULT_RANGE;
	}
	if (req->kind == MMLOCK_VMA_ANON)
		mmlock_counter_inc(anon_stock);
	else if (req->kind == MMLOCK_VMA_FILE || req->kind == MMLOCK_VMA_SHMEM)
		mmlock_counter_inc(file_stock);
	else
		mmlock_counter_inc(other_stock);
	return MMLOCK_FAULT_VMA;
}

MMLOCK_OPS_DEFINE(anon2m_ops, .fault = (void *)anon2m_fault, .name = "anon2m");
