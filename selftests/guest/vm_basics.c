// SPDX-License-Identifier: GPL-2.0
/* Smoke tests of the VM itself: every vCPU is up, bpftool works. */
#include <stdlib.h>
#include <unistd.h>

#include "mmlock_test.h"

static enum mmlock_test_status vcpus_run(void *ctx)
{
	const char *want = getenv("VM_CPUS");
	long online = sysconf(_SC_NPROCESSORS_ONLN);

	if (!want)
		SKIP("VM_CPUS not on the kernel command line");
	CHECK(online == atol(want), "guest sees %ld CPUs, QEMU was given %s",
	      online, want);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test vcpus = {
	.name = "vm_vcpus",
	.description = "the guest brings up every vCPU QEMU gives it",
	.run = vcpus_run,
};
REGISTER_MMLOCK_TEST(vcpus);

static enum mmlock_test_status bpftool_run(void *ctx)
{
	char out[4096];

	CHECK(run_cmd_output(out, sizeof(out), "bpftool version 2>&1") == 0,
	      "bpftool version failed: %s", out);
	CHECK(strstr(out, "v7.5"), "unexpected bpftool: %s", out);
	CHECK(run_cmd_output(out, sizeof(out), "bpftool struct_ops show 2>&1") == 0,
	      "bpftool struct_ops show failed: %s", out);
	CHECK(run_cmd_output(out, sizeof(out), "bpftool prog show 2>&1") == 0,
	      "bpftool prog show failed: %s", out);
	CHECK(run_cmd_output(out, sizeof(out), "bpftool btf show 2>&1") == 0 &&
		      strstr(out, "vmlinux"),
	      "no vmlinux BTF in the guest: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test bpftool = {
	.name = "vm_bpftool",
	.description = "our static bpftool runs in the guest and sees vmlinux BTF",
	.run = bpftool_run,
};
REGISTER_MMLOCK_TEST(bpftool);
