// SPDX-License-Identifier: GPL-2.0
/* Hot swap between two policies while threads fault continuously. */
#include <unistd.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_policy.skel.h"

#define SWAPS 50

static enum mmlock_test_status swap_run(void *ctx)
{
	struct ops_policy *skel;
	struct fault_load *load;
	unsigned long long a_before, b_before, calls_a, calls_b;
	long long seq0, errors0;
	struct bpf_link *link;
	char v[64];
	long bad;
	int i, err = 0;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	skel->bss->target_tgid = getpid();
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	if (!link) {
		ops_policy__destroy(skel);
		FAIL("attach: %s", strerror(errno));
	}
	/* Replacing a policy by itself is refused and changes nothing. */
	if (bpf_link__update_map(link, skel->maps.ops_a) == 0 || !mmlock_enabled("test_a") ||
	    skel->bss->exits) {
		bpf_link__destroy(link);
		ops_policy__destroy(skel);
		FAIL("updating a link to its own map was accepted or disturbed the policy");
	}
	mmlock_status("enable_seq", v, sizeof(v));
	seq0 = atoll(v);
	errors0 = mmlock_stat("policy_errors");
	load = start_load(3, 256 * PAGE_SZ);
	for (i = 0; i < SWAPS && !err; i++) {
		a_before = skel->bss->calls_a;
		b_before = skel->bss->calls_b;
		usleep(20000);
		err = bpf_link__update_map(link, i % 2 ? skel->maps.ops_a :
							 skel->maps.ops_b);
		if (!err && !mmlock_enabled(i % 2 ? "test_a" : "test_b"))
			err = -EINVAL;
		/* The policy swapped out saw the load before the swap. */
		if (!err && (i % 2 ? skel->bss->calls_b == b_before :
				     skel->bss->calls_a == a_before))
			printf("#   swap %d: no fault in the last 20 ms\n", i);
	}
	bad = stop_load(load);
	calls_a = skel->bss->calls_a;
	calls_b = skel->bss->calls_b;
	mmlock_status("enable_seq", v, sizeof(v));
	bpf_link__destroy(link);
	ops_policy__destroy(skel);
	CHECK(!err, "swap %d failed: %s", i, strerror(-err));
	CHECK(bad == 0, "%ld pages with wrong contents", bad);
	CHECK(atoll(v) == seq0 + SWAPS, "enable_seq %s, want %lld", v, seq0 + SWAPS);
	CHECK(calls_a && calls_b, "both policies decide faults: %llu and %llu calls",
	      calls_a, calls_b);
	CHECK(mmlock_stat("policy_errors") == errors0, "policy errors during swaps");
	CHECK(!mmlock_enabled(NULL), "still enabled");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test swap = {
	.name = "ops_hot_swap",
	.description = "bpf_link_update swaps policies 50 times under a verified faulting load",
	.run = swap_run,
};
REGISTER_MMLOCK_TEST(swap);
