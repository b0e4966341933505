// SPDX-License-Identifier: GPL-2.0
/*
 * A COARSE answer really takes mmap_read_lock: faults in a VMA of their own
 * wait behind another thread's mprotect of an unrelated region (the policy's
 * waited() hears about it), while the stock per-VMA path does not.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_policy.skel.h"

#define WRITER_LEN (32UL << 20)
#define FAULT_LEN (16UL << 20)

struct writer {
	pthread_t thread;
	volatile bool stop;
	char *region;
	unsigned long ops;
};

/* Long mmap_write_lock sections: mprotect of a populated 32 MB region. */
static void *writer_fn(void *arg)
{
	struct writer *w = arg;

	while (!w->stop) {
		mprotect(w->region, WRITER_LEN, PROT_READ);
		mprotect(w->region, WRITER_LEN, PROT_READ | PROT_WRITE);
		w->ops += 2;
	}
	return NULL;
}

struct round {
	long long waits, path_coarse, path_vma, faults;
	unsigned long long policy_waits;
};

/* Fault FAULT_LEN of fresh pages of our own VMA while the writer runs. */
static int measure(struct ops_policy *skel, struct round *r)
{
	long long w0 = mmlock_stat("wait_mmap_read");
	long long c0 = mmlock_stat("path_coarse");
	long long v0 = mmlock_stat("path_vma");
	unsigned long long pw0 = skel->bss->waits;
	char *p = map_anon_isolated(FAULT_LEN);
	size_t bad;

	if (!p)
		return -1;
	/* The first fault gives the VMA its anon_vma (a coarse fallback). */
	p[0] = 1;
	c0 = mmlock_stat("path_coarse");
	fill_pages(p + PAGE_SZ, FAULT_LEN - PAGE_SZ, 7);
	bad = bad_pages(p + PAGE_SZ, FAULT_LEN - PAGE_SZ, 7);
	munmap(p, FAULT_LEN);
	r->faults = FAULT_LEN / PAGE_SZ - 1;
	r->waits = mmlock_stat("wait_mmap_read") - w0;
	r->path_coarse = mmlock_stat("path_coarse") - c0;
	r->path_vma = mmlock_stat("path_vma") - v0;
	r->policy_waits = skel->bss->waits - pw0;
	return bad ? -1 : 0;
}

static enum mmlock_test_status coarse_run(void *ctx)
{
	struct ops_policy *skel;
	struct writer w = {};
	struct round coarse, vma;
	struct bpf_link *link;
	int err;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_policy__open_and_load();
	CHECK(skel, "load: %s", strerror(errno));
	skel->bss->target_tgid = getpid();
	w.region = map_anon_isolated(WRITER_LEN);
	CHECK(w.region, "mmap");
	fill_pages(w.region, WRITER_LEN, 1);
	link = bpf_map__attach_struct_ops(skel->maps.ops_a);
	CHECK(link, "attach: %s", strerror(errno));
	pthread_create(&w.thread, NULL, writer_fn, &w);

	skel->data->answer = MMLOCK_FAULT_COARSE;
	err = measure(skel, &coarse);
	skel->data->answer = MMLOCK_FAULT_VMA;
	err = err ?: measure(skel, &vma);

	w.stop = true;
	pthread_join(w.thread, NULL);
	bpf_link__destroy(link);
	ops_policy__destroy(skel);
	munmap(w.region, WRITER_LEN);
	printf("#   coarse: %lld faults, path_coarse %lld, path_vma %lld, waited %lld (policy saw %llu)\n",
	       coarse.faults, coarse.path_coarse, coarse.path_vma, coarse.waits,
	       coarse.policy_waits);
	printf("#   vma:    %lld faults, path_coarse %lld, path_vma %lld, waited %lld (policy saw %llu)\n",
	       vma.faults, vma.path_coarse, vma.path_vma, vma.waits, vma.policy_waits);
	printf("#   writer did %lu mprotects\n", w.ops);
	CHECK(!err, "memory contents wrong");
	CHECK(coarse.path_coarse >= coarse.faults && coarse.path_vma == 0,
	      "COARSE faults did not take mmap_read_lock");
	CHECK(coarse.waits > 0 && coarse.policy_waits > 0,
	      "COARSE faults never waited behind the writer");
	CHECK(vma.path_vma >= vma.faults * 9 / 10,
	      "VMA faults did not take the per-VMA path");
	CHECK(vma.waits * 4 < coarse.waits,
	      "VMA faults waited as often as COARSE ones");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test coarse = {
	.name = "ops_coarse_takes_mmap_lock",
	.description = "COARSE faults wait behind an unrelated writer; VMA faults do not",
	.run = coarse_run,
};
REGISTER_MMLOCK_TEST(coarse);
