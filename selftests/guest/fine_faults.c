// SPDX-License-Identifier: GPL-2.0
/*
 * The fine fault path removes the four false conflicts of mmlock-bench
 * (selftests/bench/falseconflict.c). A faulter thread faults fresh pages
 * of a window in a big private anonymous VMA V while a writer thread, at
 * least 24 MB away, keeps changing V itself:
 *
 *   adjacent        mmap right after V's end (merges into V), munmap (splits)
 *   mprotect_far    mprotect one page of V read-only and back (split, merge)
 *   arena_grow      V's tail is a PROT_NONE reserve grown and shrunk by
 *                   mprotect in 128 KB steps, as glibc's non-main arenas do
 *   partial_munmap  munmap part of V and mmap it back (split, merge)
 *
 * Each scenario runs under anon2m (RANGE for anonymous faults, per-VMA
 * lock not tried) and under stock, and is judged by the kernel's counters,
 * not by timing: under anon2m the faulter's faults complete on the range
 * path and wait neither for mmap_lock nor for a range while the writer
 * makes progress; under stock they do not take the range path and some
 * fall back or wait, which shows that the conflict is real.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "fine_util.h"

#define VMA_LEN		(64UL << 20)	/* V */
#define HOLE_LEN	PMD_SZ		/* free room right after V, for adjacent */
#define WINDOW_OFF	(16UL << 20)	/* the faulter's window in V */
#define WINDOW_LEN	(8UL << 20)
#define WRITER_OFF	(48UL << 20)	/* where the writer works inside V */
#define SMALL_LEN	(64UL << 10)	/* adjacent and partial_munmap */
#define ARENA_STEP	(128UL << 10)
#define ARENA_STEPS	16		/* grow by 16 steps, then shrink by 16 */
#define RUN_NS		2000000000ULL	/* the faulter's run, per policy */
#define MIN_WRITER_OPS	100		/* under anon2m, while the faulter runs */

/*
 * A writer step works on V (at v) and returns the number of failed
 * syscalls. Steps 2k and 2k+1 make one writer op, which leaves V as it
 * found it (arena_grow: one step of its grow/shrink cycle each).
 */
struct scenario {
	struct fine_test ft;
	int (*setup)(char *v);
	int (*step)(char *v, unsigned long n);
	/* VMAs over [V, V + VMA_LEN + HOLE_LEN) after steps 0 and 1 */
	int vmas[2];
};

/* One run of a scenario under one policy, on a V of its own. */
struct run {
	struct fine_run fr;
	char *v;
	int vmas[2], vmas_end;
};

#define SC(fr)	((struct scenario *)(fr)->t)
#define RUN(fr)	((struct run *)(fr))

static int adjacent_step(char *v, unsigned long n)
{
	if (n % 2 == 0)
		return fine_map_anon(v + VMA_LEN, SMALL_LEN,
				     MAP_FIXED_NOREPLACE);
	return munmap(v + VMA_LEN, SMALL_LEN) != 0;
}

static int mprotect_far_step(char *v, unsigned long n)
{
	return mprotect(v + WRITER_OFF, PAGE_SZ,
			n % 2 ? PROT_READ | PROT_WRITE : PROT_READ) != 0;
}

/* V = [RW part (the faulter's VMA) | PROT_NONE reserve from WRITER_OFF]. */
static int arena_setup(char *v)
{
	return mprotect(v + WRITER_OFF, VMA_LEN - WRITER_OFF, PROT_NONE) != 0;
}

static int arena_step(char *v, unsigned long n)
{
	unsigned long k = n % (2 * ARENA_STEPS);
	char *arena = v + WRITER_OFF;

	if (k < ARENA_STEPS)
		return mprotect(arena + k * ARENA_STEP, ARENA_STEP,
				PROT_READ | PROT_WRITE) != 0;
	k = 2 * ARENA_STEPS - 1 - k;
	return mprotect(arena + k * ARENA_STEP, ARENA_STEP, PROT_NONE) != 0;
}

static int partial_munmap_step(char *v, unsigned long n)
{
	if (n % 2 == 0)
		return munmap(v + WRITER_OFF, SMALL_LEN) != 0;
	return fine_map_anon(v + WRITER_OFF, SMALL_LEN, MAP_FIXED);
}

/* Pages of the first n that do not hold their pattern on a fresh page. */
static unsigned long bad_window(char *win, size_t n, uint64_t seq)
{
	unsigned long bad = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t *w = (uint64_t *)(win + i * PAGE_SZ);

		bad += w[0] != fine_pattern(seq, i) || w[PAGE_SZ / 8 - 1] != 0;
	}
	return bad;
}

/* One write per fresh page of the window; drop it and start over. */
static void window_fault(struct fine_run *fr, uint64_t end)
{
	char *win = RUN(fr)->v + WINDOW_OFF;
	uint64_t seq = 0;
	bool done = false;

	while (!done) {
		size_t n;

		for (n = 0; n < WINDOW_LEN / PAGE_SZ; n++) {
			if (n % 64 == 0 && fine_now_ns() >= end) {
				done = true;
				break;
			}
			*(uint64_t *)(win + n * PAGE_SZ) = fine_pattern(seq, n);
		}
		fr->touches += n;
		fr->bad += bad_window(win, n, seq++);
		fr->bad += madvise(win, WINDOW_LEN, MADV_DONTNEED) != 0;
	}
}

static int scenario_step(struct fine_run *fr, unsigned long n)
{
	return SC(fr)->step(RUN(fr)->v, n);
}

/*
 * V, PMD aligned, with PROT_NONE guards so that it merges with nothing
 * but what the writer maps, a hole of HOLE_LEN after it, and an anon_vma;
 * then the writer's first two steps (does it split and merge V as it
 * says?), the two threads, and V's VMAs after them.
 */
static int scenario_run(struct fine_run *fr)
{
	struct scenario *sc = SC(fr);
	struct run *r = RUN(fr);
	struct fine_resv res;
	char *hi;
	int err;

	r->v = fine_reserve(&res, VMA_LEN + HOLE_LEN);
	if (!r->v)
		return fine_fail(fr, "setup failed: %s", strerror(errno));
	hi = r->v + VMA_LEN + HOLE_LEN;
	if (fine_map_anon(r->v, VMA_LEN, MAP_FIXED) ||
	    munmap(r->v + VMA_LEN, HOLE_LEN)) {
		fine_fail(fr, "setup failed: %s", strerror(errno));
		fine_unreserve(&res);
		return -1;
	}
	r->v[0] = 1;		/* the first fault gives V its anon_vma */
	if (sc->setup)
		fr->errors += sc->setup(r->v);
	for (int k = 0; k < 2; k++) {
		fr->errors += sc->step(r->v, k);
		r->vmas[k] = fine_count_vmas(r->v, hi);
	}
	err = fine_measure(fr);
	r->vmas_end = fine_count_vmas(r->v, hi);
	fine_unreserve(&res);
	return err;
}

/* What must hold under either policy. */
static enum mmlock_test_status check_run(struct fine_run *fr)
{
	const struct scenario *sc = SC(fr);
	const struct run *r = RUN(fr);

	CHECK(r->vmas[0] == sc->vmas[0] && r->vmas[1] == sc->vmas[1] &&
		      r->vmas_end == sc->vmas[1],
	      "%s/%s: V is in %d, %d, %d VMAs after the first two writer steps and the run, want %d, %d, %d",
	      sc->ft.name, fr->policy, r->vmas[0], r->vmas[1], r->vmas_end,
	      sc->vmas[0], sc->vmas[1], sc->vmas[1]);
	return fine_check_run(fr, fr->touches, "");
}

static enum mmlock_test_status scenario_check(struct fine_run *range,
					      struct fine_run *stock)
{
	const long long *d = stock->d;

	FINE_CHECK(check_run(range));
	FINE_CHECK(check_run(stock));
	FINE_CHECK(fine_check_range(range, MIN_WRITER_OPS, true));
	FINE_CHECK(fine_check_stock(stock));
	CHECK(d[FC_FB_VMA_LOCK] + d[FC_FB_VMA_RETRY] + d[FC_WAIT_MMAP] > 0,
	      "%s/stock: no fault fell back or waited: no false conflict to remove?",
	      stock->t->name);
	return MMLOCK_TEST_PASS;
}

#define SCENARIO(__name, __setup, __step, __vmas0, __vmas1, __desc)	\
	static struct scenario __name##_sc = {				\
		.ft = {							\
			.name = #__name,				\
			.run_ns = RUN_NS,				\
			.fault = window_fault,				\
			.step = scenario_step,				\
			.first_step = 2, /* run() did steps 0 and 1 */	\
			.check = scenario_check,			\
			.run = scenario_run,				\
			.run_size = sizeof(struct run),			\
		},							\
		.setup = __setup,					\
		.step = __step,						\
		.vmas = { __vmas0, __vmas1 },				\
	};								\
	FINE_TEST(__name, &__name##_sc.ft, __desc)

SCENARIO(adjacent, NULL, adjacent_step, 1, 1,
	 "anon2m faults do not wait for mmap/munmap merging into and splitting their VMA");
SCENARIO(mprotect_far, NULL, mprotect_far_step, 3, 1,
	 "anon2m faults do not wait for mprotect splitting and merging their VMA far away");
SCENARIO(arena_grow, arena_setup, arena_step, 2, 2,
	 "anon2m faults do not wait for an arena-like reserve grown into their VMA by mprotect");
SCENARIO(partial_munmap, NULL, partial_munmap_step, 2, 1,
	 "anon2m faults do not wait for munmap and mmap of a far part of their VMA");
