// SPDX-License-Identifier: GPL-2.0
/*
 * Well-behaved test policies: two that answer the same tunable mode and
 * count their calls separately (for attach, -EBUSY and hot swap tests), and
 * one that sets MMLOCK_F_NO_VMA_LOCK.
 */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

/* What fault() answers; set by the test at runtime. */
u32 answer = MMLOCK_FAULT_VMA;
/* Only count faults of this process (0: all). */
u32 target_tgid;

u64 calls_a, calls_b, calls_flagged;
u64 waits, wait_ns;
u64 inits, exits;
s32 last_exit_kind;

static __always_inline bool mine(struct mmlock_fault_req *req)
{
	return !target_tgid || req->tgid == target_tgid;
}

SEC("struct_ops/fault_a")
s32 BPF_PROG(fault_a, struct mmlock_fault_req *req)
{
	if (mine(req))
		__sync_fetch_and_add(&calls_a, 1);
	return answer;
}

SEC("struct_ops/fault_b")
s32 BPF_PROG(fault_b, struct mmlock_fault_req *req)
{
	if (mine(req))
		__sync_fetch_and_add(&calls_b, 1);
	return answer;
}

SEC("struct_ops/fault_flagged")
s32 BPF_PROG(fault_flagged, struct mmlock_fault_req *req)
{
	__sync_fetch_and_add(&calls_flagged, 1);
	return MMLOCK_FAULT_VMA;
}

SEC("struct_ops/waited")
void BPF_PROG(waited, struct mmlock_wait_event *ev)
{
	if (!target_tgid || ev->tgid == target_tgid) {
		__sync_fetch_and_add(&waits, 1);
		__sync_fetch_and_add(&wait_ns, ev->wait_ns);
	}
}

SEC("struct_ops.s/init")
s32 BPF_PROG(test_init)
{
	__sync_fetch_and_add(&inits, 1);
	return 0;
}

SEC("struct_ops/exit")
void BPF_PROG(test_exit, struct mmlock_exit_info *ei)
{
	last_exit_kind = ei->kind;
	__sync_fetch_and_add(&exits, 1);
}

MMLOCK_OPS_DEFINE(ops_a, .fault = (void *)fault_a, .waited = (void *)waited,
		  .init = (void *)test_init, .exit = (void *)test_exit,
		  .name = "test_a");
MMLOCK_OPS_DEFINE(ops_b, .fault = (void *)fault_b, .waited = (void *)waited,
		  .init = (void *)test_init, .exit = (void *)test_exit,
		  .name = "test_b");
MMLOCK_OPS_DEFINE(ops_flagged, .fault = (void *)fault_flagged,
		  .flags = MMLOCK_F_NO_VMA_LOCK, .name = "test_no_vma_lock");
