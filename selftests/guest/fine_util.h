/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The harness of the fine tests (fine_faults.c, fine_cow_file.c): a faulter
 * thread faults pages of a mapping V while a writer thread changes the
 * address space next to V or far from it, once under anon2m and once under
 * stock. A run is judged by the deltas of the /sys/kernel/mmlock/stats
 * counters over it, by the memory's contents and by the threads' progress,
 * never by timing.
 *
 * A test fills in a struct fine_test (embedded in a struct of its own if it
 * keeps state), registers it with FINE_TEST() and writes:
 *
 *   fault()  the faulter's work until a deadline: counts r->touches and
 *            r->bad (the faults are counted for it);
 *   step()   one writer step (two make an op that leaves the address space
 *            as it found it);
 *   check()  its verdict on the two runs, from fine_check_run(),
 *            fine_check_range(), fine_check_stock() and its own CHECK()s.
 *
 * and, if it needs them, setup()/cleanup() (once per test: build and drop
 * V, e.g. with fine_reserve() and fine_map_anon()), run() (once per policy,
 * around fine_measure(): a fresh V, a fork) and report() (an extra line).
 * fine_compare() does the rest: load anon2m, run, swap to stock, run,
 * print both runs' counters, check.
 */
#ifndef MMLOCK_FINE_UTIL_H
#define MMLOCK_FINE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mmlock_test.h"
#include "util.h"

/* The /sys/kernel/mmlock/stats counters that a run takes deltas of. */
enum fine_counter {
	FC_PATH_RANGE,
	FC_PATH_VMA,
	FC_PATH_COARSE,
	FC_FB_VMA_LOCK,
	FC_FB_VMA_RETRY,
	FC_WAIT_MMAP,
	FC_WAIT_MMAP_NS,
	FC_WAIT_RANGE,
	FC_WAIT_RANGE_NS,
	FC_WRITER_RANGED,
	FC_WRITER_FULL,
	FC_WAIT_RANGE_WRITE,
	FC_FB_RANGE, /* the fallback_range_* reasons, from here */
	FC_FB_NO_ANON_VMA = FC_FB_RANGE + 2,
	FC_FB_COW = FC_FB_RANGE + 8,
	FC_RETRY_RANGE = FC_FB_RANGE + 10, /* file faults retried after I/O */
	FC_HINT_TORN,
	FC_NR,
};

/* Their names in the stats file, by enum fine_counter. */
extern const char *const fine_counters[FC_NR];

/*
 * Tolerated under anon2m: 2 % of the faults and a handful. A fault gives
 * up on the range path after 2 ms in a writer's open VMA window, which
 * happens when the host deschedules the writer's vCPU there (seen at
 * 1.3 % on a loaded host); stock waits 3 % and more, and fails the
 * path_range check anyway.
 */
#define FINE_FEW(faults) ((long long)(faults) / 50 + 16)

/* PROT_NONE reserve that fine_reserve() keeps on either side of V. */
#define FINE_GUARD_LEN PMD_SZ

struct fine_test;

/*
 * One run of a test under one policy. fine_compare() gives each run fresh
 * zeroed memory of the test's run_size (a test that needs more per-run
 * state embeds this struct first in its own); everything in it is plain
 * data, so a forked child can send it back through a pipe.
 */
struct fine_run {
	struct fine_test *t;
	const char *policy; /* "anon2m" or "stock" */
	/* fine_measure()'s hand-shake between the threads */
	volatile int ready, go, faulting, stop;
	volatile unsigned long ops; /* writer ops in all */
	unsigned long ops_during; /* ... begun and ended while faulting */
	unsigned long errors; /* failed writer syscalls */
	/* set by the test's fault(): pages touched, wrong pages or words */
	unsigned long touches, bad;
	/* the faulter thread's minor and major faults, and how long it ran */
	unsigned long faults, major_faults;
	double secs;
	bool attached; /* the policy was still attached at the end */
	long long d[FC_NR]; /* the counters' deltas over the run */
	char err[160]; /* why run() failed; see fine_fail() */
};

struct fine_test {
	const char *name; /* without "fine_": "adjacent" */
	uint64_t run_ns; /* the faulter's run, per policy */
	/* Faulter: fault V until fine_now_ns() >= end. */
	void (*fault)(struct fine_run *r, uint64_t end);
	/*
	 * Writer: do step n, return the number of failed syscalls. Steps 2k
	 * and 2k+1 make one op; the writer runs first_step, first_step + 1,
	 * ... and sleeps pause_us (if not 0) after each op.
	 */
	int (*step)(struct fine_run *r, unsigned long n);
	unsigned long first_step;
	unsigned int pause_us;
	/* The verdict on both runs, once both completed. */
	enum mmlock_test_status (*check)(struct fine_run *range,
					 struct fine_run *stock);
	/* Optional: once per test, before and after both runs; 0 or -1. */
	int (*setup)(struct fine_test *t);
	void (*cleanup)(struct fine_test *t);
	/* Optional: the run under r->policy; 0 or -1; default fine_measure. */
	int (*run)(struct fine_run *r);
	/* Optional: extra "#     " lines after a run's first report line. */
	void (*report)(const struct fine_run *r);
	size_t run_size; /* 0: sizeof(struct fine_run) */
};

/* CLOCK_MONOTONIC in ns. */
uint64_t fine_now_ns(void);
/* A value that depends on (seq, page) and is never 0. */
uint64_t fine_pattern(uint64_t seq, size_t page);
/* Number of VMAs that overlap [lo, hi), -1 on error. */
int fine_count_vmas(char *lo, char *hi);
/* All of fine_counters[] from one read of the stats file (-1 if absent). */
void fine_snap(long long *c);

/* Where V is reserved: what fine_unreserve() unmaps. */
struct fine_resv {
	char *base;
	size_t len;
};

/*
 * Reserve len bytes PROT_NONE (MAP_NORESERVE) at a PMD-aligned address,
 * returned, with at least FINE_GUARD_LEN of PROT_NONE reserve before and
 * after, so that what is mapped inside merges with nothing outside. NULL
 * on failure (errno set).
 */
char *fine_reserve(struct fine_resv *res, size_t len);
/* Unmap the whole reservation, if any. */
void fine_unreserve(struct fine_resv *res);
/*
 * Private anonymous read-write mapping at p (how: MAP_FIXED or
 * MAP_FIXED_NOREPLACE); 0, or 1 if it failed.
 */
int fine_map_anon(char *p, size_t len, int how);

/* Record why run() fails in r->err; returns -1. */
int fine_fail(struct fine_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Run the writer and the faulter under the attached policy: the writer
 * starts first, the faulter calls fault() once the writer is at work, and
 * the writer stops when fault() returns. Fills in r's counts, r->d (counters after minus
 * before) and r->attached. 0, or -1 with r->err set.
 */
int fine_measure(struct fine_run *r);

/*
 * The whole test: load anon2m and run (run() or fine_measure()), swap to
 * stock and run, print both runs with fine_report(), then check().
 */
enum mmlock_test_status fine_compare(struct fine_test *t);
/* "#   name/policy: faults, pages, writer ops", report(), the deltas. */
void fine_report(const struct fine_run *r);

/*
 * Under either policy: no failed writer syscall, r->bad == 0 (bad_where
 * ends its message: "" or " in the child"), the faulter touched pages and
 * faulted at least 90 % of want times, the writer worked while it ran,
 * the policy is still attached.
 */
enum mmlock_test_status fine_check_run(const struct fine_run *r,
				       unsigned long want,
				       const char *bad_where);
/*
 * Under anon2m: at least 90 % of the faults on the range path, at most
 * FINE_FEW() waits for mmap_read_lock and (if wait_range) for a range, at
 * least min_ops writer ops while the faulter ran.
 */
enum mmlock_test_status fine_check_range(const struct fine_run *r,
					 unsigned long min_ops,
					 bool wait_range);
/* Under stock: no fault on the range path. */
enum mmlock_test_status fine_check_stock(const struct fine_run *r);
/* Return from the calling check() if a fine_check_*() did not pass. */
#define FINE_CHECK(__call)                               \
	do {                                             \
		enum mmlock_test_status __st = (__call); \
		if (__st != MMLOCK_TEST_PASS)            \
			return __st;                     \
	} while (0)

/*
 * For FINE_TEST(): setup checks the kernel (every counter there, no policy
 * attached) and calls t->setup(); cleanup unloads the policy and calls
 * t->cleanup().
 */
enum mmlock_test_status fine_test_setup(struct fine_test *t);
enum mmlock_test_status fine_test_run(void *ctx);
void fine_test_cleanup(void *ctx);

/* Register the in-VM test "fine_<name>" for the struct fine_test *ft. */
#define FINE_TEST(__name, __ft, __desc)                           \
	static enum mmlock_test_status __name##_setup(void **ctx) \
	{                                                         \
		*ctx = (__ft);                                    \
		return fine_test_setup(*ctx);                     \
	}                                                         \
	static struct mmlock_test __name##_test = {               \
		.name = "fine_" #__name,                          \
		.description = __desc,                            \
		.setup = __name##_setup,                          \
		.run = fine_test_run,                             \
		.cleanup = fine_test_cleanup,                     \
	};                                                        \
	REGISTER_MMLOCK_TEST(__name##_test)

#endif /* MMLOCK_FINE_UTIL_H */
