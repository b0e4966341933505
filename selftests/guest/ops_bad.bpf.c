// SPDX-License-Identifier: GPL-2.0
/* A policy that misbehaves in the way the test asks for, once loaded. */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

enum bad_answer {
	BAD_MODE,	/* fault() returns 7 */
	BAD_NEGATIVE,	/* fault() returns -1 */
	BAD_UNALIGNED,	/* range start not page aligned */
	BAD_EMPTY,	/* start == end */
	BAD_OUTSIDE,	/* end beyond user space */
	BAD_TOO_SMALL,	/* misses part of the PMD region */
	BAD_ERROR,	/* calls mmlock_bpf_error() */
	BAD_INIT_FAIL,	/* init() returns -ENOENT */
	BAD_INIT_ERROR,	/* init() calls mmlock_bpf_error() */
	/* fault() answers a valid RANGE; a ranged writer's write() then: */
	BAD_WRITE_ERROR,	/* returns -5 */
	BAD_WRITE_SHRINK,	/* drops the first PMD of the request */
	BAD_WRITE_UNALIGNED,	/* moves end off a page boundary */
	GOOD_WRITE_WIDEN,	/* widens by a PMD on each side: valid */
};

const volatile u32 misbehave;
const volatile u32 target_tgid;

/* write() calls seen, by enum mmlock_write_op */
u64 write_calls[4];

s32 exit_kind = -1;
char exit_msg[256];

SEC("struct_ops/bad_fault")
s32 BPF_PROG(bad_fault, struct mmlock_fault_req *req)
{
	if (req->tgid != target_tgid)
		return MMLOCK_FAULT_VMA;
	switch (misbehave) {
	case BAD_MODE:
		return 7;
	case BAD_NEGATIVE:
		return -1;
	case BAD_UNALIGNED:
		req->start += 8;
		return MMLOCK_FAULT_RANGE;
	case BAD_EMPTY:
		req->end = req->start;
		return MMLOCK_FAULT_RANGE;
	case BAD_OUTSIDE:
		req->end = 1ULL << 60;
		return MMLOCK_FAULT_RANGE;
	case BAD_TOO_SMALL:
		req->start += MMLOCK_PAGE_SIZE;
		return MMLOCK_FAULT_RANGE;
	case BAD_ERROR:
		mmlock_bpf_error("test error at 0x%llx", req->address);
		return MMLOCK_FAULT_VMA;
	case BAD_WRITE_ERROR:
	case BAD_WRITE_SHRINK:
	case BAD_WRITE_UNALIGNED:
	case GOOD_WRITE_WIDEN:
		return MMLOCK_FAULT_RANGE;
	}
	return MMLOCK_FAULT_VMA;
}

SEC("struct_ops/bad_write")
s32 BPF_PROG(bad_write, struct mmlock_write_req *req)
{
	if (req->tgid != target_tgid)
		return 0;
	if (req->op < 4)
		__sync_fetch_and_add(&write_calls[req->op & 3], 1);
	switch (misbehave) {
	case BAD_WRITE_ERROR:
		return -5;
	case BAD_WRITE_SHRINK:
		req->start += MMLOCK_PMD_SIZE;
		return 0;
	case BAD_WRITE_UNALIGNED:
		req->end -= 8;
		return 0;
	case GOOD_WRITE_WIDEN:
		if (req->start >= MMLOCK_PMD_SIZE)
			req->start -= MMLOCK_PMD_SIZE;
		req->end += MMLOCK_PMD_SIZE;
		return 0;
	}
	return 0;
}

SEC("struct_ops.s/bad_init")
s32 BPF_PROG(bad_init)
{
	if (misbehave == BAD_INIT_FAIL)
		return -2;
	if (misbehave == BAD_INIT_ERROR)
		mmlock_bpf_error("init refused: %d", 42);
	return 0;
}

SEC("struct_ops/bad_exit")
void BPF_PROG(bad_exit, struct mmlock_exit_info *ei)
{
	exit_kind = ei->kind;
	bpf_probe_read_kernel_str(exit_msg, sizeof(exit_msg), ei->msg);
}

MMLOCK_OPS_DEFINE(ops_bad, .fault = (void *)bad_fault, .write = (void *)bad_write,
		  .init = (void *)bad_init, .exit = (void *)bad_exit, .name = "test_bad");
