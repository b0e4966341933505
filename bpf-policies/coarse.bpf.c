// SPDX-License-Identifier: GPL-2.0
/*
 * coarse: every user fault takes mmap_read_lock, as before per-VMA locks
 * (Linux < 6.4, the 2019 mmap_sem). The baseline the false-conflict
 * measurements start from.
 */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

MMLOCK_DESCRIPTION("every fault takes mmap_read_lock: the old mmap_sem behaviour");

MMLOCK_COUNTERS(waits, wait_ns);

SEC("struct_ops/coarse_waited")
void BPF_PROG(coarse_waited, struct mmlock_wait_event *ev)
{
	mmlock_counter_inc(waits);
	mmlock_counter_add(wait_ns, ev->wait_ns);
}

/* The flag skips the per-VMA path without calling into BPF per fault. */
MMLOCK_OPS_DEFINE(coarse_ops, .waited = (void *)coarse_waited,
		  .flags = MMLOCK_F_NO_VMA_LOCK, .name = "coarse");
