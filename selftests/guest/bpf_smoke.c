// SPDX-License-Identifier: GPL-2.0
/* A BPF program built by our pipeline loads and runs via its skeleton. */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "mmlock_test.h"
#include "bpf_smoke.skel.h"

static enum mmlock_test_status smoke_run(void *ctx)
{
	struct bpf_smoke *skel;
	__u64 arg = 21;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &arg,
		    .ctx_size_in = sizeof(arg));
	unsigned long long runs, last;
	char out[4096];
	int err;

	skel = bpf_smoke__open_and_load();
	CHECK(skel, "open_and_load: %s", strerror(errno));
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.smoke), &opts);
	runs = skel->bss->nr_runs;
	last = skel->bss->last_arg;
	if (err || opts.retval != 42 || runs != 1 || last != 21) {
		bpf_smoke__destroy(skel);
		FAIL("test_run: err %d retval %u runs %llu arg %llu", err,
		     opts.retval, runs, last);
	}
	err = run_cmd_output(out, sizeof(out), "bpftool prog show name smoke");
	bpf_smoke__destroy(skel);
	CHECK(err == 0 && strstr(out, "syscall"),
	      "bpftool does not list the program: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test smoke = {
	.name = "bpf_smoke",
	.description = "a pipeline-built BPF program loads via its skeleton and runs",
	.run = smoke_run,
};
REGISTER_MMLOCK_TEST(smoke);
