// SPDX-License-Identifier: GPL-2.0
/* Attach, inspect with bpftool, refuse a second policy, detach. */
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_policy.skel.h"

static enum mmlock_test_status open_policy(void **ctx)
{
	struct ops_policy *skel;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open();
	CHECK(skel, "open: %s", strerror(errno));
	skel->bss->target_tgid = getpid();
	if (ops_policy__load(skel)) {
		ops_policy__destroy(skel);
		FAIL("load: %s", strerror(errno));
	}
	*ctx = skel;
	return MMLOCK_TEST_PASS;
}

static void close_policy(void *ctx)
{
	ops_policy__destroy(ctx);
}

static enum mmlock_test_status attach_detach_run(void *ctx)
{
	struct ops_policy *skel = ctx;
	long long dec0, seq0;
	unsigned long long vma0;
	struct bpf_link *link;
	char v[256];
	void *p;

	CHECK(!mmlock_enabled(NULL), "a policy is already attached");
	CHECK(mmlock_status("enable_seq", v, sizeof(v)), "no enable_seq");
	seq0 = atoll(v);
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	if (!mmlock_enabled("test_a")) {
		bpf_link__destroy(link);
		FAIL("status does not show test_a enabled");
	}
	mmlock_status("enable_seq", v, sizeof(v));
	CHECK(atoll(v) == seq0 + 1, "enable_seq %s, was %lld", v, seq0);
	CHECK(skel->bss->inits == 1, "init() ran %llu times",
	      (unsigned long long)skel->bss->inits);

	vma0 = mmlock_stat("path_vma");
	dec0 = mmlock_stat("decide_vma");
	p = map_anon(64 * PAGE_SZ);
	CHECK(p, "mmap");
	fill_pages(p, 64 * PAGE_SZ, 1);
	CHECK(bad_pages(p, 64 * PAGE_SZ, 1) == 0, "memory corrupted");
	munmap(p, 64 * PAGE_SZ);
	CHECK(skel->bss->calls_a >= 64, "fault() saw %llu of our 64+ faults",
	      (unsigned long long)skel->bss->calls_a);
	CHECK(mmlock_stat("decide_vma") - dec0 >= 64, "decide_vma did not count");
	CHECK(mmlock_stat("path_vma") - vma0 >= 32,
	      "path_vma grew by only %lld", mmlock_stat("path_vma") - vma0);

	CHECK(bpf_link__destroy(link) == 0, "detach");
	CHECK(!mmlock_enabled(NULL), "still enabled after detach");
	CHECK(mmlock_status("exit_reason", v, sizeof(v)) && !strcmp(v, "unregistered"),
	      "exit_reason '%s'", v);
	CHECK(skel->bss->exits == 1 && skel->bss->last_exit_kind == MMLOCK_EXIT_UNREG,
	      "exit() ran %llu times, kind %d", (unsigned long long)skel->bss->exits,
	      skel->bss->last_exit_kind);

	/* Stock again: the policy and the counters are not consulted. */
	dec0 = mmlock_stat("decide_vma");
	vma0 = skel->bss->calls_a;
	p = map_anon(16 * PAGE_SZ);
	fill_pages(p, 16 * PAGE_SZ, 2);
	munmap(p, 16 * PAGE_SZ);
	CHECK(skel->bss->calls_a == vma0, "detached policy still called");
	CHECK(mmlock_stat("decide_vma") == dec0, "counters moved without a policy");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test attach_detach = {
	.name = "ops_attach_detach",
	.description = "attach a policy, it decides faults and is counted; detach restores stock",
	.setup = open_policy,
	.run = attach_detach_run,
	.cleanup = close_policy,
};
REGISTER_MMLOCK_TEST(attach_detach);

static enum mmlock_test_status bpftool_run(void *ctx)
{
	struct ops_policy *skel = ctx;
	struct bpf_link *link;
	char out[16384];
	int ret;

	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	ret = run_cmd_output(out, sizeof(out), "bpftool struct_ops show 2>&1");
	if (ret || !strstr(out, "ops_a") || !strstr(out, "mmlock_ops")) {
		bpf_link__destroy(link);
		FAIL("struct_ops show (%d): %s", ret, out);
	}
	ret = run_cmd_output(out, sizeof(out), "bpftool struct_ops dump name ops_a 2>&1");
	bpf_link__destroy(link);
	CHECK(ret == 0, "struct_ops dump failed: %s", out);
	CHECK(strstr(out, "test_a"), "dump lacks the policy name: %s", out);
	CHECK(strstr(out, "fault_a") && strstr(out, "test_exit"),
	      "dump lacks the programs: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test bpftool = {
	.name = "ops_bpftool",
	.description = "bpftool struct_ops show/dump list the attached policy",
	.setup = open_policy,
	.run = bpftool_run,
	.cleanup = close_policy,
};
REGISTER_MMLOCK_TEST(bpftool);

static enum mmlock_test_status busy_run(void *ctx)
{
	struct ops_policy *skel = ctx;
	struct bpf_link *a, *b;
	int err;

	a = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(a, "attach a: %s", strerror(errno));
	b = bpf_map__attach_struct_ops(skel->maps.ops_b);
	err = errno;
	if (b) {
		bpf_link__destroy(b);
		bpf_link__destroy(a);
		FAIL("second policy attached");
	}
	if (!mmlock_enabled("test_a")) {
		bpf_link__destroy(a);
		FAIL("the first policy lost its place");
	}
	bpf_link__destroy(a);
	CHECK(err == EBUSY, "second attach: %s, want EBUSY", strerror(err));
	/* The slot is free again. */
	b = bpf_map__attach_struct_ops(skel->maps.ops_b);
	CHECK(b, "attach after detach: %s", strerror(errno));
	bpf_link__destroy(b);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test busy = {
	.name = "ops_busy",
	.description = "a second policy gets EBUSY and the first stays",
	.setup = open_policy,
	.run = busy_run,
	.cleanup = close_policy,
};
REGISTER_MMLOCK_TEST(busy);

static enum mmlock_test_status no_vma_lock_run(void *ctx)
{
	struct ops_policy *skel = ctx;
	long long coarse0, vma0, coarse, vma;
	struct bpf_link *link;
	void *p;

	link = bpf_map__attach_struct_ops(skel->maps.ops_flagged);
	CHECK(link, "attach: %s", strerror(errno));
	coarse0 = mmlock_stat("path_coarse");
	vma0 = mmlock_stat("path_vma");
	p = map_anon(64 * PAGE_SZ);
	fill_pages(p, 64 * PAGE_SZ, 3);
	munmap(p, 64 * PAGE_SZ);
	coarse = mmlock_stat("path_coarse") - coarse0;
	vma = mmlock_stat("path_vma") - vma0;
	bpf_link__destroy(link);
	CHECK(skel->bss->calls_flagged == 0, "fault() called %llu times",
	      (unsigned long long)skel->bss->calls_flagged);
	CHECK(coarse >= 64 && vma == 0, "path_coarse +%lld, path_vma +%lld", coarse, vma);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test no_vma_lock = {
	.name = "ops_no_vma_lock_flag",
	.description = "MMLOCK_F_NO_VMA_LOCK sends every fault to mmap_read_lock",
	.setup = open_policy,
	.run = no_vma_lock_run,
	.cleanup = close_policy,
};
REGISTER_MMLOCK_TEST(no_vma_lock);

static enum mmlock_test_status tracepoint_run(void *ctx)
{
	struct ops_policy *skel = ctx;
	struct bpf_link *link;
	char out[8192];
	void *p;
	int ret;

	if (access("/sys/kernel/tracing/events/mmlock/mmlock_fault_decision", F_OK))
		FAIL("no mmlock_fault_decision tracepoint in tracefs");
	CHECK(run_cmd("echo > /sys/kernel/tracing/trace && echo 1 > /sys/kernel/tracing/events/mmlock/enable") == 0,
	      "enabling the mmlock events");
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	p = map_anon(8 * PAGE_SZ);
	fill_pages(p, 8 * PAGE_SZ, 4);
	munmap(p, 8 * PAGE_SZ);
	bpf_link__destroy(link);
	run_cmd("echo 0 > /sys/kernel/tracing/events/mmlock/enable");
	ret = run_cmd_output(out, sizeof(out), "grep -m3 mmlock_fault_decision /sys/kernel/tracing/trace");
	CHECK(ret == 0 && strstr(out, "mode=vma range=["), "no decision traced: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test tracepoint = {
	.name = "ops_tracepoint",
	.description = "the mmlock_fault_decision tracepoint reports decisions",
	.setup = open_policy,
	.run = tracepoint_run,
	.cleanup = close_policy,
};
REGISTER_MMLOCK_TEST(tracepoint);
