// SPDX-License-Identifier: GPL-2.0
/*
 * Corner cases of ownership: a stale link of an ejected policy must not
 * take down a newer attachment of the same map, and faults outside user
 * space (the vsyscall page) never reach the policy.
 */
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_policy.skel.h"

static enum mmlock_test_status stale_link_run(void *ctx)
{
	struct bpf_link *stale, *fresh;
	struct ops_policy *skel;
	void *p;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	skel->bss->target_tgid = getpid();
	stale = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(stale, "attach: %s", strerror(errno));
	/* An invalid answer ejects it; its link stays, inert. */
	skel->data->answer = 99;
	p = map_anon(4 * PAGE_SZ);
	fill_pages(p, 4 * PAGE_SZ, 5);
	munmap(p, 4 * PAGE_SZ);
	wait_policy_gone();
	skel->data->answer = MMLOCK_FAULT_VMA;
	fresh = mmlock_enabled(NULL) ? NULL : bpf_map__attach_struct_ops(skel->maps.ops_a);
	if (!fresh) {
		bpf_link__destroy(stale);
		ops_policy__destroy(skel);
		FAIL("re-attaching the ejected map: %s", strerror(errno));
	}
	bpf_link__destroy(stale);
	if (!mmlock_enabled("test_a")) {
		bpf_link__destroy(fresh);
		ops_policy__destroy(skel);
		FAIL("destroying the stale link detached the new attachment");
	}
	bpf_link__destroy(fresh);
	ops_policy__destroy(skel);
	CHECK(!mmlock_enabled(NULL), "still enabled");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test stale_link = {
	.name = "ops_stale_link",
	.description = "an ejected policy's stale link cannot detach a newer attachment",
	.run = stale_link_run,
};
REGISTER_MMLOCK_TEST(stale_link);

static enum mmlock_test_status vsyscall_run(void *ctx)
{
	struct ops_policy *skel;
	struct bpf_link *link;
	long long errors0;
	int status;
	pid_t pid;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	/* RANGE with the prefilled minimum: valid for every user address. */
	skel->data->answer = MMLOCK_FAULT_RANGE;
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	errors0 = mmlock_stat("policy_errors");
	pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		*(volatile char *)0xffffffffff600008UL = 1;
		_exit(0);
	}
	waitpid(pid, &status, 0);
	usleep(50000);
	bpf_link__destroy(link);
	ops_policy__destroy(skel);
	CHECK(WIFSIGNALED(status), "the write to the vsyscall page did not fault");
	CHECK(mmlock_stat("policy_errors") == errors0,
	      "a fault on the vsyscall page was blamed on the policy");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test vsyscall = {
	.name = "ops_vsyscall_fault",
	.description = "a fault outside user space does not eject a valid policy",
	.run = vsyscall_run,
};
REGISTER_MMLOCK_TEST(vsyscall);
