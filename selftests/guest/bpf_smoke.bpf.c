// SPDX-License-Identifier: GPL-2.0
/* The smallest program through the whole pipeline: clang, skeleton, load. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char _license[] SEC("license") = "GPL";

u64 nr_runs;
u64 last_arg;

SEC("syscall")
int smoke(u64 *arg)
{
	nr_runs++;
	last_arg = *arg;
	return (int)(*arg * 2);
}
