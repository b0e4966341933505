// SPDX-License-Identifier: GPL-2.0
/* Must not load: writes an input field of the request. */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

SEC("struct_ops/rdonly_fault")
s32 BPF_PROG(rdonly_fault, struct mmlock_fault_req *req)
{
	req->address = 0;
	return MMLOCK_FAULT_VMA;
}

MMLOCK_OPS_DEFINE(ops_rdonly, .fault = (void *)rdonly_fault, .name = "test_rdonly");
