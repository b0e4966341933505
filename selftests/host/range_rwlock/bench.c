// SPDX-License-Identifier: GPL-2.0
/*
 * Microbenchmark of the range lock (userspace build, without debug checks)
 * in the same run as a pthread rwlock: the cost of lock + unlock with one
 * thread, then the throughput of 1, 2, 4 and 8 threads on disjoint and on
 * overlapping ranges, with an empty and with a ~1 us critical section.
 * The range lock runs twice: "fast", with the readers' fast path (granules
 * of 256, each thread's disjoint range in its own), as mm uses it, and
 * "tree", without it, which is the lock as it was before the fast path.
 * Ratios are to the rwlock: above 1 the range lock costs more (uncontended)
 * or gets more done (contended). Each figure is the best of BEST_OF runs,
 * to filter out noise from other load on the machine. Not a test: it
 * always exits 0. The userspace shim's spinlock is a pthread mutex.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>

#include "rl_test.h"

#define UNCONTENDED_ITERS 1000000
#define RUN_NS 200000000ULL
#define BEST_OF 3

#define BENCH_GRANULE_SHIFT 8
#define MAX_THREADS 8

static DEFINE_RANGE_RWLOCK_TREE(fast_tree);
static DEFINE_RANGE_RWLOCK_TREE(plain_tree);
static pthread_rwlock_t rwlock = PTHREAD_RWLOCK_INITIALIZER;

/* Busy work inside the critical section, calibrated to ~1 us. */
static unsigned long loops_per_us;
static double cs_ns;

static void work(unsigned long loops)
{
	for (volatile unsigned long i = 0; i < loops; i++)
		;
}

/* Nanoseconds per work(@loops), the best of three rounds of calls. */
static double work_ns(unsigned long loops)
{
	double best = 1e12;

	for (int round = 0; round < 3; round++) {
		u64 t0 = rl_now_ns();

		for (int i = 0; i < 2000; i++)
			work(loops);
		best = fmin(best, (rl_now_ns() - t0) / 2000.0);
	}
	return best;
}

static void calibrate(void)
{
	loops_per_us = 100;
	for (int i = 0; i < 4; i++)
		loops_per_us = loops_per_us * 1000 / work_ns(loops_per_us);
	cs_ns = work_ns(loops_per_us);
}

static double range_cost_once(struct range_rwlock_tree *tree, bool writer,
			      unsigned long others)
{
	struct range_rwlock held[64];
	u64 t0;

	for (unsigned long i = 0; i < others; i++) {
		range_rwlock_init(&held[i], 1000 + i * 10, 1000 + i * 10 + 5);
		range_write_trylock(tree, &held[i]);
	}
	t0 = rl_now_ns();
	for (int i = 0; i < UNCONTENDED_ITERS; i++) {
		DEFINE_RANGE_RWLOCK(r, 0, 100);

		if (writer) {
			range_write_lock(tree, &r);
			range_write_unlock(tree, &r);
		} else {
			range_read_lock(tree, &r);
			range_read_unlock(tree, &r);
		}
	}
	t0 = rl_now_ns() - t0;
	for (unsigned long i = 0; i < others; i++)
		range_write_unlock(tree, &held[i]);
	return (double)t0 / UNCONTENDED_ITERS;
}

static double rwlock_cost_once(bool writer)
{
	u64 t0 = rl_now_ns();

	for (int i = 0; i < UNCONTENDED_ITERS; i++) {
		if (writer)
			pthread_rwlock_wrlock(&rwlock);
		else
			pthread_rwlock_rdlock(&rwlock);
		pthread_rwlock_unlock(&rwlock);
	}
	return (double)(rl_now_ns() - t0) / UNCONTENDED_ITERS;
}

static double range_cost(struct range_rwlock_tree *tree, bool writer,
			 unsigned long others)
{
	double best = 1e9;

	for (int i = 0; i < BEST_OF; i++)
		best = fmin(best, range_cost_once(tree, writer, others));
	return best;
}

static double rwlock_cost(bool writer)
{
	double best = 1e9;

	for (int i = 0; i < BEST_OF; i++)
		best = fmin(best, rwlock_cost_once(writer));
	return best;
}

static void uncontended(void)
{
	double rw = rwlock_cost(true), rr = rwlock_cost(false);
	double w = range_cost(&fast_tree, true, 0);
	double r = range_cost(&fast_tree, false, 0);
	double pw = range_cost(&plain_tree, true, 0);
	double pr = range_cost(&plain_tree, false, 0);
	double w64 = range_cost(&fast_tree, true, 64);

	printf("uncontended lock+unlock, 1 thread (ns/op; ratio = range/rwlock cost)\n");
	printf("  write: fast %6.1f  tree %6.1f  rwlock %6.1f  ratio fast %.2f tree %.2f\n",
	       w, pw, rw, w / rw, pw / rw);
	printf("  read:  fast %6.1f  tree %6.1f  rwlock %6.1f  ratio fast %.2f tree %.2f\n",
	       r, pr, rr, r / rr, pr / rr);
	printf("  write, 64 other ranges held: fast %6.1f  ratio %.2f\n", w64,
	       w64 / rw);
}

struct worker {
	pthread_t thread;
	struct range_rwlock_tree *tree;	/* NULL: the rwlock */
	bool writer;
	unsigned long start, end, loops;
	unsigned long ops;
};

static bool go, stop;

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	struct range_rwlock r;

	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (w->tree) {
			range_rwlock_init(&r, w->start, w->end);
			if (w->writer)
				range_write_lock(w->tree, &r);
			else
				range_read_lock(w->tree, &r);
			work(w->loops);
			if (w->writer)
				range_write_unlock(w->tree, &r);
			else
				range_read_unlock(w->tree, &r);
		} else {
			if (w->writer)
				pthread_rwlock_wrlock(&rwlock);
			else
				pthread_rwlock_rdlock(&rwlock);
			work(w->loops);
			pthread_rwlock_unlock(&rwlock);
		}
		w->ops++;
	}
	return NULL;
}

/* Operations per second of @n threads; disjoint ranges or all the same. */
static double throughput_once(int n, struct range_rwlock_tree *tree,
			      bool writer, bool disjoint, unsigned long loops)
{
	struct worker w[MAX_THREADS] = {};
	unsigned long ops = 0;
	u64 t0;

	go = false;
	stop = false;
	for (int i = 0; i < n; i++) {
		w[i].tree = tree;
		w[i].writer = writer;
		w[i].start = disjoint ? (unsigned long)i << BENCH_GRANULE_SHIFT : 0;
		w[i].end = w[i].start + 100;
		w[i].loops = loops;
		pthread_create(&w[i].thread, NULL, worker_fn, &w[i]);
	}
	t0 = rl_now_ns();
	__atomic_store_n(&go, true, __ATOMIC_RELEASE);
	while (rl_now_ns() - t0 < RUN_NS)
		usleep(10000);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].thread, NULL);
		ops += w[i].ops;
	}
	return ops * 1e9 / (rl_now_ns() - t0);
}

static double throughput(int n, struct range_rwlock_tree *tree, bool writer,
			 bool disjoint, unsigned long loops)
{
	double best = 0;

	for (int i = 0; i < BEST_OF; i++)
		best = fmax(best, throughput_once(n, tree, writer, disjoint,
						  loops));
	return best;
}

static void contended(void)
{
	static const struct {
		const char *name;
		bool writer, disjoint;
	} cases[] = {
		{ "disjoint readers", false, true },
		{ "overlapping readers", false, false },
		{ "disjoint writers", true, true },
		{ "overlapping writers", true, false },
	};

	printf("contended, N threads (Mops/s; ratio = range/rwlock throughput)\n");
	printf("  the \"1us\" critical section measures %.0f ns\n", cs_ns);
	for (int cs = 0; cs < 2; cs++) {
		unsigned long loops = cs ? loops_per_us : 0;
		const char *cs_name = cs ? "1us" : "empty";

		for (int c = 0; c < 4; c++) {
			for (int n = 1; n <= MAX_THREADS; n *= 2) {
				double f = throughput(n, &fast_tree,
						      cases[c].writer,
						      cases[c].disjoint, loops);
				double t = throughput(n, &plain_tree,
						      cases[c].writer,
						      cases[c].disjoint, loops);
				double p = throughput(n, NULL, cases[c].writer,
						      cases[c].disjoint, loops);

				printf("  %-20s cs %-5s N=%d: fast %6.2f  tree %6.2f  rwlock %6.2f  ratio fast %.2f tree %.2f\n",
				       cases[c].name, cs_name, n, f / 1e6,
				       t / 1e6, p / 1e6, f / p, t / p);
			}
		}
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	range_rwlock_tree_enable_fast(&fast_tree, BENCH_GRANULE_SHIFT);
	calibrate();
	printf("range lock vs pthread rwlock, %ld CPUs online\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	uncontended();
	contended();
	return 0;
}
