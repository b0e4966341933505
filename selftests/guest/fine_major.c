// SPDX-License-Identifier: GPL-2.0
/*
 * Major faults on the range path: a file fault that waits for I/O returns
 * VM_FAULT_RETRY, and its retry must not queue behind an unrelated writer.
 *
 * V is a 16 MB MAP_SHARED read-only mapping of the guest's scratch disk
 * /dev/vda (run-vm.sh), whose pages hold a pattern written at setup. The
 * faulter reads one word of every page, pass after pass; before each pass
 * it zaps V's PTEs (MADV_DONTNEED) and drops the disk's page cache
 * (POSIX_FADV_DONTNEED), so every pass reads the disk again. The writer
 * maps and unmaps 64 KB of anonymous memory 16 MB past V.
 *
 * Under stock each fault that read the disk drops its per-VMA lock and
 * retries under mmap_read_lock (fallback_vma_retry), where it queues
 * behind the writer. Under anon2m (V's whole extent as the range) the
 * retry stays on the range path (retry_range): at least 90 % of the
 * faults complete there and few wait for mmap_read_lock. Every pass must
 * have read pages from the disk, and every page's word must be right.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#include "fine_util.h"

#define DISK		"/dev/vda"
#define V_LEN		(16UL << 20)
#define GAP_LEN		(16UL << 20)	/* between V and the writer's slot */
#define SLOT_LEN	(64UL << 10)
#define RESV_LEN	(V_LEN + GAP_LEN + PMD_SZ)
#define DISK_SEQ	0xd15cULL	/* fine_pattern() seed of the disk */

struct major_test {
	struct fine_test ft;
	struct fine_resv resv;
	char *v, *slot;
	int fd;
};

struct major_run {
	struct fine_run r;
	unsigned long passes, dry_passes;	/* dry: no read from the disk */
	long disk_reads;
};

static struct major_test *major_of(const struct fine_run *r)
{
	return (struct major_test *)r->t;
}

/* Reads the disk completed (/sys/block/vda/stat), -1 if unknown. */
static long disk_reads(void)
{
	FILE *f = fopen("/sys/block/vda/stat", "r");
	long n = -1;

	if (f && fscanf(f, "%ld", &n) != 1)
		n = -1;
	if (f)
		fclose(f);
	return n;
}

static void major_fault(struct fine_run *r, uint64_t end)
{
	struct major_run *mr = (struct major_run *)r;
	struct major_test *m = major_of(r);

	do {
		long reads = disk_reads(), now;

		if (madvise(m->v, V_LEN, MADV_DONTNEED) ||
		    posix_fadvise(m->fd, 0, V_LEN, POSIX_FADV_DONTNEED)) {
			r->bad++;
			return;
		}
		for (size_t i = 0; i < V_LEN / PAGE_SZ; i++) {
			uint64_t w = *(volatile uint64_t *)(m->v + i * PAGE_SZ);

			if (w != fine_pattern(DISK_SEQ, i) && r->bad++ < 3)
				printf("#   %s: page %zu of %s reads %#llx\n",
				       r->policy, i, DISK, (unsigned long long)w);
		}
		r->touches += V_LEN / PAGE_SZ;
		now = disk_reads();
		mr->dry_passes += reads < 0 || now <= reads;
		mr->disk_reads += now - reads;
		mr->passes++;
	} while (fine_now_ns() < end);
}

static int major_step(struct fine_run *r, unsigned long n)
{
	struct major_test *m = major_of(r);

	if (n % 2)
		return munmap(m->slot, SLOT_LEN) != 0;
	return fine_map_anon(m->slot, SLOT_LEN, MAP_FIXED);
}

static void major_report(const struct fine_run *r)
{
	const struct major_run *mr = (const struct major_run *)r;

	printf("#     %lu passes over %s, %ld reads from it, %lu passes without one\n",
	       mr->passes, DISK, mr->disk_reads, mr->dry_passes);
}

/* Under either policy: every pass read the disk, contents right. */
static enum mmlock_test_status major_check_run(const struct fine_run *r)
{
	const struct major_run *mr = (const struct major_run *)r;

	FINE_CHECK(fine_check_run(r, mr->passes, ""));
	CHECK(mr->passes > 0 && !mr->dry_passes,
	      "%s: %lu of %lu passes read nothing from %s (page cache not dropped)",
	      r->policy, mr->dry_passes, mr->passes, DISK);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status major_check(struct fine_run *range,
					   struct fine_run *stock)
{
	unsigned long passes = ((struct major_run *)range)->passes;

	FINE_CHECK(major_check_run(range));
	FINE_CHECK(major_check_run(stock));
	FINE_CHECK(fine_check_range(range, 1, false));
	CHECK(range->d[FC_RETRY_RANGE] >= (long long)passes,
	      "anon2m: %lld faults retried on the range path after I/O in %lu passes",
	      range->d[FC_RETRY_RANGE], passes);
	CHECK(range->d[FC_FB_VMA_RETRY] <= FINE_FEW(range->faults),
	      "anon2m: %lld faults retried under mmap_read_lock",
	      range->d[FC_FB_VMA_RETRY]);
	FINE_CHECK(fine_check_stock(stock));
	/* The control: stock's I/O retries do take mmap_read_lock. */
	CHECK(stock->d[FC_FB_VMA_RETRY] >= (long long)passes,
	      "stock: only %lld faults retried under mmap_read_lock",
	      stock->d[FC_FB_VMA_RETRY]);
	return MMLOCK_TEST_PASS;
}

/* The disk's pattern, then V and the writer's slot in one reservation. */
static int major_setup(struct fine_test *t)
{
	struct major_test *m = (struct major_test *)t;
	uint64_t *page = aligned_alloc(PAGE_SZ, PAGE_SZ);
	char *base;

	m->fd = open(DISK, O_RDWR);
	if (m->fd < 0 || !page) {
		printf("#   %s: %s (run-vm.sh gives the VM a scratch disk)\n",
		       DISK, strerror(errno));
		free(page);
		return -1;
	}
	for (size_t i = 0; i < V_LEN / PAGE_SZ && page; i++) {
		for (size_t w = 0; w < PAGE_SZ / sizeof(*page); w++)
			page[w] = fine_pattern(DISK_SEQ, i) + w;
		if (pwrite(m->fd, page, PAGE_SZ, i * PAGE_SZ) != PAGE_SZ) {
			free(page);
			page = NULL;
		}
	}
	base = page ? fine_reserve(&m->resv, RESV_LEN) : NULL;
	free(page);
	if (!base || fsync(m->fd) ||
	    mmap(base, V_LEN, PROT_READ, MAP_SHARED | MAP_FIXED, m->fd, 0) ==
		    MAP_FAILED) {
		printf("#   setting up V on %s: %s\n", DISK, strerror(errno));
		return -1;
	}
	m->v = base;
	m->slot = base + V_LEN + GAP_LEN;
	return 0;
}

static void major_cleanup(struct fine_test *t)
{
	struct major_test *m = (struct major_test *)t;

	fine_unreserve(&m->resv);
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

static struct major_test major_retry = {
	.ft = {
		.name = "major_retry",
		.run_ns = 2000000000ULL,
		.fault = major_fault,
		.step = major_step,
		.pause_us = 1000,
		.check = major_check,
		.setup = major_setup,
		.cleanup = major_cleanup,
		.report = major_report,
		.run_size = sizeof(struct major_run),
	},
	.fd = -1,
};
FINE_TEST(major_retry, &major_retry.ft,
	  "anon2m: file faults that wait for disk I/O retry on the range path, not behind an unrelated writer");
