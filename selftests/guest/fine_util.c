// SPDX-License-Identifier: GPL-2.0
/* The harness of the fine tests: see fine_util.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "fine_util.h"

const char *const fine_counters[FC_NR] = {
	"path_range",
	"path_vma",
	"path_coarse",
	"fallback_vma_lock",
	"fallback_vma_retry",
	"wait_mmap_read",
	"wait_mmap_read_ns",
	"wait_range_read",
	"wait_range_read_ns",
	"writer_ranged",
	"writer_full",
	"wait_range_write",
	"fallback_range_no_vma",
	"fallback_range_ineligible",
	"fallback_range_no_anon_vma",
	"fallback_range_access",
	"fallback_range_busy",
	"fallback_range_signal",
	"fallback_range_swap",
	"fallback_range_numa",
	"fallback_range_cow",
	"fallback_range_other",
	"retry_range",
	"hint_torn",
};

uint64_t fine_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t fine_pattern(uint64_t seq, size_t page)
{
	return ((seq << 32) | page) * 0x9e3779b97f4a7c15ULL | 1;
}

int fine_count_vmas(char *lo, char *hi)
{
	unsigned long s, e;
	char *line = NULL;
	size_t len = 0;
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (getline(&line, &len, f) > 0)
		n += sscanf(line, "%lx-%lx", &s, &e) == 2 &&
		     s < (uintptr_t)hi && e > (uintptr_t)lo;
	free(line);
	fclose(f);
	return n;
}

void fine_snap(long long *c)
{
	char line[128], name[64];
	long long v;
	FILE *f = fopen("/sys/kernel/mmlock/stats", "r");

	for (int i = 0; i < FC_NR; i++)
		c[i] = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		for (int i = 0; i < FC_NR; i++)
			if (!strcmp(name, fine_counters[i]))
				c[i] = v;
	}
	fclose(f);
}

/* ---- the address space ------------------------------------------------- */

char *fine_reserve(struct fine_resv *res, size_t len)
{
	res->len = PMD_SZ + FINE_GUARD_LEN + len + FINE_GUARD_LEN;
	res->base = mmap(NULL, res->len, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res->base == MAP_FAILED) {
		res->base = NULL;
		return NULL;
	}
	return (char *)(((uintptr_t)res->base + FINE_GUARD_LEN + PMD_SZ - 1) &
			~(PMD_SZ - 1));
}

void fine_unreserve(struct fine_resv *res)
{
	if (res->base)
		munmap(res->base, res->len);
	res->base = NULL;
}

int fine_map_anon(char *p, size_t len, int how)
{
	return mmap(p, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | how, -1, 0) != p;
}

int fine_fail(struct fine_run *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the two threads --------------------------------------------------- */

static void *faulter_fn(void *arg)
{
	struct fine_run *r = arg;
	struct rusage ru0, ru1;
	uint64_t t0;

	/* fault() may read counters: let this thread's malloc arena be made. */
	(void)mmlock_stat("path_range");
	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!r->ops) /* start with the writer at work */
		sched_yield();
	getrusage(RUSAGE_THREAD, &ru0);
	r->faulting = 1;
	t0 = fine_now_ns();
	r->t->fault(r, t0 + r->t->run_ns);
	r->faulting = 0;
	r->secs = (fine_now_ns() - t0) / 1e9;
	getrusage(RUSAGE_THREAD, &ru1);
	r->major_faults = ru1.ru_majflt - ru0.ru_majflt;
	r->faults = ru1.ru_minflt - ru0.ru_minflt + r->major_faults;
	return NULL;
}

static void *writer_fn(void *arg)
{
	struct fine_run *r = arg;
	struct fine_test *t = r->t;
	unsigned long n = t->first_step;

	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!r->go)
		sched_yield();
	while (!r->stop) {
		int during = r->faulting;

		r->errors += t->step(r, n) + t->step(r, n + 1);
		n += 2;
		r->ops++;
		r->ops_during += during && r->faulting;
		if (t->pause_us)
			usleep(t->pause_us);
	}
	return NULL;
}

int fine_measure(struct fine_run *r)
{
	long long c0[FC_NR];
	pthread_t writer, faulter;
	int err;

	err = pthread_create(&writer, NULL, writer_fn, r);
	if (err)
		return fine_fail(r, "pthread_create: %s", strerror(err));
	err = pthread_create(&faulter, NULL, faulter_fn, r);
	if (err) {
		r->stop = r->go = 1;
		pthread_join(writer, NULL);
		return fine_fail(r, "pthread_create: %s", strerror(err));
	}
	/* Both threads are up, their stacks faulted in: measure from here. */
	while (r->ready < 2)
		sched_yield();
	/* The first may fault in (after a fork: COW) what reading them needs. */
	fine_snap(c0);
	fine_snap(c0);
	r->go = 1;
	pthread_join(faulter, NULL);
	r->stop = 1;
	pthread_join(writer, NULL);
	fine_snap(r->d);
	for (int i = 0; i < FC_NR; i++)
		r->d[i] -= c0[i];
	r->attached = mmlock_enabled(r->policy);
	return 0;
}

/* ---- the test ----------------------------------------------------------- */

void fine_report(const struct fine_run *r)
{
	char line[128];
	int len = 0;

	printf("#   %s/%s: %lu faults (%lu pages) in %.2f s = %.0f/s; writer %lu ops while they ran = %.0f/s (%lu in all)\n",
	       r->t->name, r->policy, r->faults, r->touches, r->secs,
	       r->secs > 0 ? r->faults / r->secs : 0, r->ops_during,
	       r->secs > 0 ? r->ops_during / r->secs : 0, r->ops);
	if (r->major_faults)
		printf("#     %lu of the faults were major\n", r->major_faults);
	if (r->t->report)
		r->t->report(r);
	for (int i = 0; i < FC_NR; i++) {
		if (i >= FC_FB_RANGE && !r->d[i])
			continue;
		if (len > 70) {
			printf("#     %s\n", line);
			len = 0;
		}
		len += snprintf(line + len, sizeof(line) - len, "%s%s %+lld",
				len ? ", " : "", fine_counters[i], r->d[i]);
	}
	if (len)
		printf("#     %s\n", line);
}

enum mmlock_test_status fine_compare(struct fine_test *t)
{
	static const char *const policies[2] = { "anon2m", "stock" };
	static const char *const cmds[2] = { "mmlock load anon2m 2>&1",
					     "mmlock swap stock 2>&1" };
	static char out[4096];
	size_t size = t->run_size ? t->run_size : sizeof(struct fine_run);
	struct fine_run *runs[2] = { NULL, NULL };
	enum mmlock_test_status st = MMLOCK_TEST_PASS;

	for (int k = 0; k < 2 && st == MMLOCK_TEST_PASS; k++) {
		/* Fresh memory: a fork's COW of it would be counted too. */
		struct fine_run *r = runs[k] = map_anon(size);

		st = MMLOCK_TEST_FAIL;
		if (!r) {
			printf("#   %s: out of memory\n", t->name);
			break;
		}
		r->t = t;
		r->policy = policies[k];
		if (run_cmd_output(out, sizeof(out), "%s", cmds[k]) != 0)
			printf("#   %s: %s", cmds[k], out);
		else if (t->run ? t->run(r) : fine_measure(r))
			printf("#   %s/%s: %s\n", t->name, r->policy, r->err);
		else
			st = MMLOCK_TEST_PASS;
	}
	if (st == MMLOCK_TEST_PASS) {
		fine_report(runs[0]);
		fine_report(runs[1]);
		st = t->check(runs[0], runs[1]);
	}
	for (int k = 0; k < 2; k++)
		if (runs[k])
			munmap(runs[k], size);
	return st;
}

/* ---- the checks --------------------------------------------------------- */

enum mmlock_test_status fine_check_run(const struct fine_run *r,
				       unsigned long want,
				       const char *bad_where)
{
	const char *name = r->t->name, *pol = r->policy;

	CHECK(!r->errors, "%s/%s: %lu writer syscalls failed", name, pol,
	      r->errors);
	CHECK(!r->bad, "%s/%s: %lu pages or words with wrong contents%s", name,
	      pol, r->bad, bad_where);
	CHECK(r->touches > 0, "%s/%s: the faulter did not get to work", name,
	      pol);
	CHECK(r->faults >= want * 9 / 10,
	      "%s/%s: %lu faults for %lu pages: writes did not fault (THP?) or were not accounted",
	      name, pol, r->faults, want);
	CHECK(r->ops_during > 0,
	      "%s/%s: the writer did nothing while the faulter ran", name, pol);
	CHECK(r->attached, "%s: %s is no longer attached: %s", name, pol,
	      mmlock_enabled(NULL) ? "swapped" : "ejected or detached");
	return MMLOCK_TEST_PASS;
}

enum mmlock_test_status fine_check_range(const struct fine_run *r,
					 unsigned long min_ops, bool wait_range)
{
	const char *name = r->t->name, *pol = r->policy;
	const long long *d = r->d;

	CHECK(d[FC_PATH_RANGE] >= (long long)r->faults * 9 / 10,
	      "%s/%s: only %lld of %lu faults completed on the range path",
	      name, pol, d[FC_PATH_RANGE], r->faults);
	CHECK(d[FC_WAIT_MMAP] <= FINE_FEW(r->faults),
	      "%s/%s: %lld faults waited for mmap_read_lock (at most %lld)",
	      name, pol, d[FC_WAIT_MMAP], FINE_FEW(r->faults));
	CHECK(!wait_range || d[FC_WAIT_RANGE] <= FINE_FEW(r->faults),
	      "%s/%s: %lld faults waited for their range (at most %lld)", name,
	      pol, d[FC_WAIT_RANGE], FINE_FEW(r->faults));
	CHECK(r->ops_during >= min_ops,
	      "%s/%s: the writer did %lu ops while the faulter ran (at least %lu)",
	      name, pol, r->ops_during, min_ops);
	return MMLOCK_TEST_PASS;
}

enum mmlock_test_status fine_check_stock(const struct fine_run *r)
{
	CHECK(r->d[FC_PATH_RANGE] == 0,
	      "%s/%s: %lld faults took the range path", r->t->name, r->policy,
	      r->d[FC_PATH_RANGE]);
	return MMLOCK_TEST_PASS;
}

/* ---- registration ------------------------------------------------------- */

enum mmlock_test_status fine_test_setup(struct fine_test *t)
{
	if (!mmlock_kernel_supported())
		FAIL("kernel without mmlock_ext: these tests need its fine fault path");
	if (mmlock_stat("path_range") < 0)
		FAIL("kernel without the fine fault path: no path_range in /sys/kernel/mmlock/stats");
	for (int i = 0; i < FC_NR; i++)
		if (mmlock_stat(fine_counters[i]) < 0)
			FAIL("kernel without the counter %s", fine_counters[i]);
	if (mmlock_enabled(NULL))
		FAIL("a policy is already attached");
	if (t->setup && t->setup(t)) {
		int e = errno;

		if (t->cleanup)
			t->cleanup(t);
		FAIL("%s: setting up V failed: %s", t->name, strerror(e));
	}
	return MMLOCK_TEST_PASS;
}

enum mmlock_test_status fine_test_run(void *ctx)
{
	return fine_compare(ctx);
}

void fine_test_cleanup(void *ctx)
{
	struct fine_test *t = ctx;

	run_cmd("mmlock unload >/dev/null 2>&1");
	if (t->cleanup)
		t->cleanup(t);
}
