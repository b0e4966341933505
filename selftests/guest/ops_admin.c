// SPDX-License-Identifier: GPL-2.0
/* Who may load a policy, and the SysRq-M escape hatch. */
#include <fcntl.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_policy.skel.h"

static int try_load(void *arg)
{
	struct ops_policy *skel;
	struct bpf_link *link;

	libbpf_set_print(NULL);
	skel = ops_policy__open_and_load();
	if (!skel)
		return errno == EPERM ? 0 : 2;
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	if (link) {
		bpf_link__destroy(link);
		return 1;
	}
	return 3;
}

static enum mmlock_test_status unpriv_run(void *ctx)
{
	int ret;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	ret = run_unprivileged(try_load, NULL);
	CHECK(ret != 1, "an unprivileged user attached a policy");
	CHECK(ret == 0, "unprivileged load did not fail with EPERM (child status %d)", ret);
	CHECK(!mmlock_enabled(NULL), "a policy is attached");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test unpriv = {
	.name = "ops_unprivileged_refused",
	.description = "a user without CAP_BPF/CAP_PERFMON cannot load or attach a policy",
	.run = unpriv_run,
};
REGISTER_MMLOCK_TEST(unpriv);

static enum mmlock_test_status sysrq_run(void *ctx)
{
	struct ops_policy *skel;
	struct bpf_link *link;
	char reason[64];
	int fd;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "M", 1) != 1) {
		bpf_link__destroy(link);
		ops_policy__destroy(skel);
		FAIL("writing M to /proc/sysrq-trigger: %s", strerror(errno));
	}
	close(fd);
	wait_policy_gone();
	mmlock_status("exit_reason", reason, sizeof(reason));
	bpf_link__destroy(link);
	CHECK(!mmlock_enabled(NULL), "still enabled after SysRq-M");
	CHECK(strstr(reason, "SysRq"), "exit_reason '%s'", reason);
	CHECK(skel->bss->last_exit_kind == MMLOCK_EXIT_SYSRQ, "exit() saw kind %d",
	      skel->bss->last_exit_kind);
	ops_policy__destroy(skel);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test sysrq = {
	.name = "ops_sysrq",
	.description = "SysRq-M disables the policy and exit() is told why",
	.run = sysrq_run,
};
REGISTER_MMLOCK_TEST(sysrq);
