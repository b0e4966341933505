// SPDX-License-Identifier: GPL-2.0
/*
 * stock: what the kernel does without a policy (per-VMA fast path,
 * mmap_read_lock when that fails), plus counters. For A/B runs, and the
 * smallest template for a new policy.
 */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

MMLOCK_DESCRIPTION("per-VMA fast path, mmap_lock fallback: the kernel's own behaviour");

MMLOCK_COUNTERS(faults, waits);

SEC("struct_ops/stock_fault")
s32 BPF_PROG(stock_fault, struct mmlock_fault_req *req)
{
	mmlock_counter_inc(faults);
	return MMLOCK_FAULT_VMA;
}

SEC("struct_ops/stock_waited")
void BPF_PROG(stock_waited, struct mmlock_wait_event *ev)
{
	mmlock_counter_inc(waits);
}

/* It never reads the VMA hint: the kernel skips the walk that fills it. */
MMLOCK_OPS_DEFINE(stock_ops, .fault = (void *)stock_fault,
		  .waited = (void *)stock_waited, .flags = MMLOCK_F_NO_VMA_HINT,
		  .name = "stock");
