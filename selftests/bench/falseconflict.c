// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-bench: the false-conflict scenarios.
 *   mmlock-bench SCENARIO [SECONDS] [FAULTERS]
 *
 * Faulting threads touch fresh pages of their own 8 MB window inside a
 * shared VMA V, one page per fault, and drop the window (MADV_DONTNEED)
 * when they reach its end. Only the touching is timed: faults/s counts
 * faults per second of touching, so a stalled madvise does not count
 * against the fault path. Every 8th fault is timed alone for p50/p99.
 *
 * Each scenario runs twice back to back in the same process: the
 * faulters alone, then with the scenario's writer thread. One line of
 * key=value results: faults/s alone and with the writer, their ratio,
 * the writer's ops/s, latency percentiles.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define PAGE 4096UL
#define WINDOW (8UL << 20)
#define MAX_THREADS 16
#define MAX_SAMPLES (1 << 20)

struct scenario;

static struct {
	const struct scenario *sc;
	int seconds;
	int nfaulters;
	char *vma;		/* the shared VMA V */
	size_t vma_len;
	volatile int stop;
	volatile int writer_on;
} g;

struct faulter {
	pthread_t thread;
	char *window;
	unsigned long faults;
	double busy;		/* seconds spent touching */
	uint32_t *samples;	/* ns */
	unsigned long nsamples;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *faulter_fn(void *arg)
{
	struct faulter *f = arg;

	while (!g.stop) {
		double t0 = now();

		for (unsigned long off = 0; off < WINDOW && !g.stop; off += PAGE) {
			if ((f->faults & 7) == 0 && f->nsamples < MAX_SAMPLES) {
				double s = now();

				f->window[off] = 1;
				f->samples[f->nsamples++] = (now() - s) * 1e9;
			} else {
				f->window[off] = 1;
			}
			f->faults++;
		}
		f->busy += now() - t0;
		madvise(f->window, WINDOW, MADV_DONTNEED);
	}
	return NULL;
}

/* ---- writers ------------------------------------------------------------- */

static unsigned long writer_ops;

static char *v_end(void)
{
	return g.vma + g.vma_len;
}

/* mmap right after V (merges into it), then munmap (splits it again). */
static void w_adjacent(void)
{
	char *p = mmap(v_end(), PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, PAGE);
}

/* mprotect a far page inside V: split, then merge back. */
static void w_mprotect_far(void)
{
	char *p = v_end() - PAGE;

	mprotect(p, PAGE, PROT_READ);
	mprotect(p, PAGE, PROT_READ | PROT_WRITE);
}

/* glibc non-main arena: V ends in PROT_NONE reserve grown by mprotect. */
static void w_arena_grow(void)
{
	static size_t grown;
	char *base = g.vma + g.nfaulters * WINDOW;
	size_t reserve = g.vma_len - g.nfaulters * WINDOW;

	if (grown + 16 * PAGE > reserve) {
		mprotect(base, grown, PROT_NONE);
		grown = 0;
	}
	mprotect(base + grown, 16 * PAGE, PROT_READ | PROT_WRITE);
	grown += 16 * PAGE;
}

/* munmap a page inside V and map it back: split + merge. */
static void w_partial_munmap(void)
{
	char *p = v_end() - 2 * PAGE;

	munmap(p, PAGE);
	mmap(p, PAGE, PROT_READ | PROT_WRITE,
	     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* An unrelated region far away: the reference for "no false conflict". */
static void w_unrelated(void)
{
	char *p = mmap(NULL, 16 * PAGE, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, 16 * PAGE);
}

static void *churn_thread(void *arg)
{
	((volatile char *)&arg)[0] = 0;	/* touch the new stack */
	return NULL;
}

/* Thread creation: new stacks (mmap + guard mprotect), then munmap. */
static void w_thread_churn(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, churn_thread, NULL))
		pthread_join(t, NULL);
}

struct scenario {
	const char *name;
	void (*writer)(void);
	const char *what;
	void *(*worker)(void *);	/* instead of faulter_fn */
};

/*
 * An allocator workload: malloc/free of mixed sizes (64 B to 1 MB; the
 * big ones are mmap'ed by glibc, the small ones come from per-thread
 * arenas that grow by mprotect), touching every page. One op = one
 * malloc + touch + free.
 */
static void *malloc_fn(void *arg)
{
	struct faulter *f = arg;
	uint64_t x = (uintptr_t)arg | 1;

	while (!g.stop) {
		double t0 = now();

		for (int i = 0; i < 64 && !g.stop; i++) {
			size_t size;
			char *p;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size = 64UL << (x % 15);
			p = malloc(size);
			if (!p)
				continue;
			for (size_t off = 0; off < size; off += PAGE)
				p[off] = 1;
			free(p);
			f->faults++;
		}
		f->busy += now() - t0;
	}
	return NULL;
}

/*
 * What a ranged writer costs, one thread and no faulter: the thread first
 * faults its whole window, so that under a range policy its mm is on the
 * range path (its writers lock ranges), then times one op after another.
 * writer-mmap: mmap 64 KB, touch it, munmap; writer-mprotect: mprotect a
 * page of the window read-only and back. ops_per_s counts ops.
 */
#define WRITER_COST_LEN (64UL << 10)

static void writer_cost_prefault(struct faulter *f)
{
	for (size_t off = 0; off < WINDOW; off += PAGE)
		f->window[off] = 1;
}

static void *writer_mmap_fn(void *arg)
{
	struct faulter *f = arg;

	writer_cost_prefault(f);
	while (!g.stop) {
		double t0 = now();

		for (int i = 0; i < 16 && !g.stop; i++) {
			char *p = mmap(NULL, WRITER_COST_LEN, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				continue;
			for (size_t off = 0; off < WRITER_COST_LEN; off += PAGE)
				p[off] = 1;
			munmap(p, WRITER_COST_LEN);
			f->faults++;
		}
		f->busy += now() - t0;
	}
	return NULL;
}

static void *writer_mprotect_fn(void *arg)
{
	struct faulter *f = arg;
	char *p = f->window + WINDOW / 2;

	writer_cost_prefault(f);
	while (!g.stop) {
		double t0 = now();

		for (int i = 0; i < 16 && !g.stop; i++) {
			mprotect(p, PAGE, PROT_READ);
			mprotect(p, PAGE, PROT_READ | PROT_WRITE);
			f->faults++;
		}
		f->busy += now() - t0;
	}
	return NULL;
}

static const struct scenario scenarios[] = {
	{ .name = "adjacent", .what = "writer mmaps/munmaps right next to the faulting VMA",
	  .writer = w_adjacent },
	{ .name = "mprotect-far", .what = "writer mprotects a far page inside the faulting VMA",
	  .writer = w_mprotect_far },
	{ .name = "arena-grow", .what = "writer grows a glibc-arena-like reserve by mprotect",
	  .writer = w_arena_grow },
	{ .name = "partial-munmap", .what = "writer munmaps/remaps a page inside the faulting VMA",
	  .writer = w_partial_munmap },
	{ .name = "unrelated", .what = "writer mmaps/munmaps an unrelated far region",
	  .writer = w_unrelated },
	{ .name = "thread-churn", .what = "writer creates and joins threads (new stacks)",
	  .writer = w_thread_churn },
	{ .name = "uncontended", .what = "no writer: fast-path cost (FAULTERS threads, one VMA each)", },
	{ .name = "malloc", .what = "FAULTERS threads malloc/touch/free mixed sizes (ops/s)",
	  .worker = malloc_fn },
	{ .name = "writer-mmap", .what = "after faulting 8 MB: mmap 64 KB, touch, munmap (ops/s)",
	  .worker = writer_mmap_fn },
	{ .name = "writer-mprotect", .what = "after faulting 8 MB: mprotect a page RO and back (ops/s)",
	  .worker = writer_mprotect_fn },
};

static void *writer_fn(void *arg)
{
	while (!g.stop) {
		if (g.writer_on) {
			g.sc->writer();
			writer_ops++;
		} else {
			usleep(1000);
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct phase {
	double faults_per_s;
	double p50_us, p99_us;
};

static int run_phase(struct faulter *f, bool with_writer, struct phase *ph)
{
	unsigned long faults = 0, n = 0;
	double busy = 0;
	uint32_t *all;

	g.stop = 0;
	for (int i = 0; i < g.nfaulters; i++) {
		f[i].faults = 0;
		f[i].busy = 0;
		f[i].nsamples = 0;
		madvise(f[i].window, WINDOW, MADV_DONTNEED);
		pthread_create(&f[i].thread, NULL,
			       g.sc->worker ? g.sc->worker : faulter_fn, &f[i]);
	}
	g.writer_on = with_writer;
	sleep(g.seconds);
	g.stop = 1;
	g.writer_on = 0;
	for (int i = 0; i < g.nfaulters; i++) {
		pthread_join(f[i].thread, NULL);
		faults += f[i].faults;
		busy += f[i].busy;
		n += f[i].nsamples;
	}
	all = malloc(n * sizeof(*all) + 1);
	if (!all)
		return -1;
	n = 0;
	for (int i = 0; i < g.nfaulters; i++) {
		memcpy(all + n, f[i].samples, f[i].nsamples * sizeof(*all));
		n += f[i].nsamples;
	}
	qsort(all, n, sizeof(*all), cmp_u32);
	/* Per-thread rate summed: faults per second of touching, per thread. */
	ph->faults_per_s = busy > 0 ? faults / (busy / g.nfaulters) : 0;
	ph->p50_us = n ? all[n / 2] / 1e3 : 0;
	ph->p99_us = n ? all[n * 99 / 100] / 1e3 : 0;
	free(all);
	return 0;
}

int main(int argc, char **argv)
{
	struct faulter f[MAX_THREADS] = {};
	struct phase alone, with;
	pthread_t writer;
	unsigned long ops;
	double t0, elapsed;

	g.seconds = argc > 2 ? atoi(argv[2]) : 2;
	g.nfaulters = argc > 3 ? atoi(argv[3]) : 1;
	for (size_t i = 0; argc > 1 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(argv[1], scenarios[i].name))
			g.sc = &scenarios[i];
	if (!g.sc || g.seconds <= 0 || g.nfaulters <= 0 || g.nfaulters > MAX_THREADS) {
		fprintf(stderr, "usage: mmlock-bench SCENARIO [SECONDS] [FAULTERS (1-%d)]\nscenarios:\n",
			MAX_THREADS);
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			fprintf(stderr, "  %-15s %s\n", scenarios[i].name, scenarios[i].what);
		return 2;
	}
	/* V: the faulters' windows plus 8 MB the writer works in. */
	g.vma_len = (g.nfaulters + 1) * WINDOW;
	g.vma = mmap(NULL, g.vma_len + WINDOW, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g.vma == MAP_FAILED)
		return 1;
	/* Leave a hole after V so the adjacent writer has room to merge. */
	munmap(g.vma + g.vma_len, WINDOW);
	if (!strcmp(g.sc->name, "arena-grow"))
		mprotect(g.vma + g.nfaulters * WINDOW, WINDOW, PROT_NONE);
	for (int i = 0; i < g.nfaulters; i++) {
		/* uncontended: one VMA per thread; otherwise windows of V. */
		f[i].window = g.sc->writer ? g.vma + i * WINDOW :
			mmap(NULL, WINDOW, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		f[i].samples = malloc(MAX_SAMPLES * sizeof(uint32_t));
		if (f[i].window == MAP_FAILED || !f[i].samples)
			return 1;
		f[i].window[0] = 1;	/* anon_vma exists before we measure */
	}
	if (run_phase(f, false, &alone))
		return 1;
	if (!g.sc->writer) {
		printf("scenario=%s faulters=%d %s=%.0f p50_us=%.2f p99_us=%.2f\n",
		       g.sc->name, g.nfaulters,
		       g.sc->worker ? "ops_per_s" : "faults_per_s", alone.faults_per_s,
		       alone.p50_us, alone.p99_us);
		return 0;
	}
	g.stop = 0;
	pthread_create(&writer, NULL, writer_fn, NULL);
	t0 = now();
	writer_ops = 0;
	if (run_phase(f, true, &with))
		return 1;
	ops = writer_ops;
	elapsed = now() - t0;
	g.stop = 1;
	pthread_join(writer, NULL);
	printf("scenario=%s faulters=%d alone_faults_per_s=%.0f with_faults_per_s=%.0f ratio=%.3f writer_ops_per_s=%.0f alone_p50_us=%.2f alone_p99_us=%.2f with_p50_us=%.2f with_p99_us=%.2f\n",
	       g.sc->name, g.nfaulters, alone.faults_per_s, with.faults_per_s,
	       alone.faults_per_s > 0 ? with.faults_per_s / alone.faults_per_s : 0,
	       ops / elapsed, alone.p50_us, alone.p99_us, with.p50_us, with.p99_us);
	return 0;
}
