// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write and file-backed faults on the range path. A faulter thread
 * faults a 16 MB (zero_cow: 8 MB) window of a 32 MB VMA V while a writer
 * thread keeps changing the address space next to it or far from it:
 *
 *   cow_child     V is private anonymous, filled, then the process forks.
 *                 In the child the faulter writes one word into every page
 *                 of the window (a COW fault of a page shared with the
 *                 parent each) while the writer mprotects one page of V,
 *                 12 MB past the window, read-only and back (split, merge).
 *   cow_parent    the same, but the parent writes after the fork and the
 *                 child just holds its copy, which it checks afterwards.
 *   zero_cow      read every page of a fresh window (the zero page), then
 *                 write each (COW of the zero page); writer as above.
 *   file_shared   V is a MAP_SHARED tmpfs file (memfd if there is no
 *                 tmpfs) full of a pattern; the faulter writes every page
 *                 of the window (page-cache faults) while the writer maps
 *                 and unmaps a small anonymous region right after V's end
 *                 and 10 MB past it, in turn.
 *   file_private  the same with MAP_PRIVATE: the faulter reads every page
 *                 (page-cache read faults, around) and writes every other
 *                 one (private COW of page-cache pages; the first needs the
 *                 VMA's anon_vma and falls back).
 *
 * Each runs under anon2m (RANGE: 2 MB ranges for anonymous faults, the
 * whole VMA for file and shmem ones) and under stock, and is judged by the
 * kernel's counters and the memory's contents: under anon2m at least 90 %
 * of the faulter's faults (and of its COW faults alone) complete on the
 * range path, few fall back for COW or wait for mmap_lock; under stock
 * none take the range path. The window is dropped with MADV_DONTNEED and
 * faulted again until the run's time is up (the COW tests do one pass: a
 * page is shared only once per fork).
 *
 * The writer pauses 1 ms between ops (it still splits and merges V a few
 * hundred times per run, and stock faults still wait for it). Running
 * flat out, under TCG on a shared host, it made COW faults 5-7 times
 * slower under either policy (each COW and each mprotect flushes the
 * other vCPU's TLB by IPI), and the faults that found a writer's VMA
 * window open for over 2 ms (its vCPU preempted by the host) got no VMA
 * kind in their fault() request, so anon2m sent them down the stock path
 * to wait for mmap_lock: some 30-40 a run, up to 9 % of those slow
 * faults, against the 1 % + 8 allowed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* RUSAGE_THREAD, memfd_create, MAP_FIXED_NOREPLACE */
#endif
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "mmlock_test.h"
#include "util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define TMPFS_MAGIC_NR	0x01021994

/*
 * The reservation, PROT_NONE but for V, the hole and the far slot:
 *   [guard | V (VMA_LEN) | hole | gap | far slot | guard]
 * V is PMD aligned. The writer of the file tests maps into the hole (next
 * to V: it locks all of V) and into the far slot (its own 2 MB only).
 */
#define VMA_LEN		(32UL << 20)
#define GUARD_LEN	PMD_SZ
#define HOLE_LEN	PMD_SZ
#define GAP_LEN		(8UL << 20)
#define FAR_LEN		PMD_SZ
#define RESV_LEN	(PMD_SZ + GUARD_LEN + VMA_LEN + HOLE_LEN + GAP_LEN + \
			 FAR_LEN + GUARD_LEN)
#define WINDOW_OFF	(2UL << 20)	/* the faulter's window in V */
#define WINDOW_LEN	(16UL << 20)
#define ZERO_WINDOW_LEN	(8UL << 20)
#define CHUNK_PAGES	(PMD_SZ / PAGE_SZ)	/* read, then write, 2 MB at a time */
#define WRITER_OFF	(30UL << 20)	/* mprotect's page: 12 MB past the window */
#define SMALL_LEN	(64UL << 10)	/* the file tests' anonymous mappings */
#define RUN_NS		1500000000ULL	/* the faulter's run, per policy */
#define MIN_WRITER_OPS	30		/* under anon2m, while the faulter runs */
#define WRITER_PAUSE_US	1000		/* between writer ops: see the top */
/*
 * Tolerated under anon2m: 2 % of the faults and a handful. A fault gives
 * up on the range path after 2 ms in a writer's open VMA window, which
 * happens when the host deschedules the writer's vCPU there (seen at
 * 1.3 % on a loaded host); stock waits 3 % and more, and fails the
 * path_range check anyway.
 */
#define FEW(faults)	((long long)(faults) / 50 + 16)
#define FILL_SEED	0xc0ffeeULL	/* util.c's pattern in the COW tests' V */
#define FILE_SEQ	0xf11eULL	/* the files' contents */

enum {
	C_PATH_RANGE, C_PATH_VMA, C_PATH_COARSE,
	C_FB_VMA_LOCK, C_FB_VMA_RETRY,
	C_WAIT_MMAP, C_WAIT_MMAP_NS, C_WAIT_RANGE, C_WAIT_RANGE_NS,
	C_WRITER_RANGED, C_WRITER_FULL, C_WAIT_RANGE_WRITE,
	C_FB_RANGE,			/* the fallback_range_* reasons */
	C_FB_NO_ANON_VMA = C_FB_RANGE + 2,
	C_FB_COW = C_FB_RANGE + 8,
	NR_COUNTERS = C_FB_RANGE + 10,
};

static const char *const counters[NR_COUNTERS] = {
	"path_range", "path_vma", "path_coarse",
	"fallback_vma_lock", "fallback_vma_retry",
	"wait_mmap_read", "wait_mmap_read_ns", "wait_range_read", "wait_range_read_ns",
	"writer_ranged", "writer_full", "wait_range_write",
	"fallback_range_no_vma", "fallback_range_ineligible",
	"fallback_range_no_anon_vma", "fallback_range_access",
	"fallback_range_busy", "fallback_range_signal", "fallback_range_swap",
	"fallback_range_numa", "fallback_range_cow", "fallback_range_other",
};

enum kind { K_COW_CHILD, K_COW_PARENT, K_ZERO, K_FILE_SHARED, K_FILE_PRIVATE };

struct run;

/* One test: its address space layout, shared by its two runs. */
struct ftest {
	const char *name;
	enum kind kind;
	size_t win_len;
	void (*fault)(struct run *r, uint64_t end);
	char *resv, *v, *far;
	int fd;
	char where[64];		/* the file's kind, for the report */
	/*
	 * Per window page: the COW tests' word 1 before the run (0, or the
	 * parent's last run's), file_shared's word 0 in the file.
	 */
	uint64_t *expect;
	uint64_t seq;		/* values written so far, never reused */
};

/* One run of a test under one policy. */
struct run {
	struct ftest *t;
	const char *policy;
	uint64_t seq;		/* the COW tests' value */
	volatile int ready, go, faulting, stop;
	volatile unsigned long ops;	/* writer ops in all */
	unsigned long ops_during;	/* ... begun and ended while faulting */
	unsigned long errors;		/* failed writer syscalls */
	unsigned long touches, faults, bad, parent_bad;
	/* zero_cow, file_private: the write (COW) phases alone */
	unsigned long cow_touches, cow_faults;
	long long cow_range;		/* path_range during them */
	double secs;
	int vmas_end, far_vmas_end;
	bool attached;			/* the policy was still attached */
	long long d[NR_COUNTERS];
	char err[160];			/* setup or child failure */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* All counters from one read of the stats file (-1 if absent). */
static void snap(long long *c)
{
	char line[128], name[64];
	long long v;
	FILE *f = fopen("/sys/kernel/mmlock/stats", "r");

	for (int i = 0; i < NR_COUNTERS; i++)
		c[i] = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", name, &v) != 2)
			continue;
		for (int i = 0; i < NR_COUNTERS; i++)
			if (!strcmp(name, counters[i]))
				c[i] = v;
	}
	fclose(f);
}

static int count_vmas(char *lo, char *hi)
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

static uint64_t pattern(uint64_t seq, size_t page)
{
	return ((seq << 32) | page) * 0x9e3779b97f4a7c15ULL | 1;
}

/* The files' contents: word 0 and (inverted) the last word of each page. */
static uint64_t file_word(size_t page)
{
	return pattern(FILE_SEQ, page);
}

static uint64_t *word(char *base, size_t page)
{
	return (uint64_t *)(base + page * PAGE_SZ);
}

static size_t win_pages(const struct ftest *t)
{
	return t->win_len / PAGE_SZ;
}

static char *window(const struct ftest *t)
{
	return t->v + WINDOW_OFF;
}

/* ---- the faulter's work, until end ------------------------------------ */

/* The write (COW) phase of zero_cow and file_private. */
struct phase {
	struct rusage ru;
	long long range;
};

static void phase_begin(struct phase *p)
{
	p->range = mmlock_stat("path_range");
	getrusage(RUSAGE_THREAD, &p->ru);
}

static void phase_end(struct phase *p, struct run *r, unsigned long touches)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	r->cow_range += mmlock_stat("path_range") - p->range;
	r->cow_faults += ru.ru_minflt - p->ru.ru_minflt;
	r->cow_touches += touches;
}

/* One pass: word 1 of every window page, each a COW fault. */
static void cow_fault(struct run *r, uint64_t end)
{
	char *win = window(r->t);
	size_t n;

	for (n = 0; n < win_pages(r->t); n++) {
		if (n % 64 == 0 && now_ns() >= end)
			break;
		word(win, n)[1] = pattern(r->seq, n);
	}
	r->touches = n;
}

/*
 * Read every page of a chunk (the zero page), then write each (its COW);
 * chunk after chunk, so that reads and writes get their share of the
 * run whatever the fault rate. Then check, drop, again.
 */
static void zero_fault(struct run *r, uint64_t end)
{
	struct ftest *t = r->t;
	char *win = window(t);
	size_t np = win_pages(t);

	for (;;) {
		uint64_t seq = ++t->seq;
		size_t nr = 0, nw = 0;

		while (nw == nr && nr < np) {
			size_t lim = nr + CHUNK_PAGES;
			struct phase ph;

			for (; nr < lim; nr++) {
				if (nr % 64 == 0 && now_ns() >= end)
					break;
				r->bad += *(volatile uint64_t *)word(win, nr) != 0;
			}
			if (nr < lim)
				break;
			phase_begin(&ph);
			for (; nw < lim; nw++) {
				if (nw % 64 == 0 && now_ns() >= end)
					break;
				word(win, nw)[0] = pattern(seq, nw);
			}
			phase_end(&ph, r, nw - (lim - CHUNK_PAGES));
		}
		r->touches += nr;
		for (size_t i = 0; i < nr; i++)
			r->bad += word(win, i)[0] != (i < nw ? pattern(seq, i) : 0) ||
				  word(win, i)[PAGE_SZ / 8 - 1] != 0;
		r->bad += madvise(win, t->win_len, MADV_DONTNEED) != 0;
		if (nw < np)
			break;
	}
}

/* Write word 0 of every page of the shared file, check, drop, again. */
static void shared_fault(struct run *r, uint64_t end)
{
	struct ftest *t = r->t;
	char *win = window(t);
	size_t np = win_pages(t), first = WINDOW_OFF / PAGE_SZ;

	for (;;) {
		uint64_t seq = ++t->seq;
		size_t n;

		for (n = 0; n < np; n++) {
			if (n % 64 == 0 && now_ns() >= end)
				break;
			word(win, n)[0] = t->expect[n] = pattern(seq, n);
		}
		r->touches += n;
		for (size_t i = 0; i < n; i++)
			r->bad += word(win, i)[0] != pattern(seq, i) ||
				  word(win, i)[PAGE_SZ / 8 - 1] != ~file_word(first + i);
		r->bad += madvise(win, t->win_len, MADV_DONTNEED) != 0;
		if (n < np)
			break;
	}
}

/*
 * Read every page of a chunk of the private file mapping (page-cache read
 * faults, around), then write every other one (COW of a page-cache page);
 * chunk after chunk. Then check, drop the copies, again.
 */
static void private_fault(struct run *r, uint64_t end)
{
	struct ftest *t = r->t;
	char *win = window(t);
	size_t np = win_pages(t), first = WINDOW_OFF / PAGE_SZ;

	for (;;) {
		uint64_t seq = ++t->seq;
		size_t nr = 0, nw = 0;

		while (nw == nr && nr < np) {
			size_t lim = nr + CHUNK_PAGES;
			struct phase ph;

			for (; nr < lim; nr++) {
				if (nr % 64 == 0 && now_ns() >= end)
					break;
				r->bad += *(volatile uint64_t *)word(win, nr) !=
					  file_word(first + nr);
			}
			if (nr < lim)
				break;
			phase_begin(&ph);
			for (; nw < lim; nw += 2) {
				if (nw % 64 == 0 && now_ns() >= end)
					break;
				word(win, nw)[0] = pattern(seq, nw);
			}
			phase_end(&ph, r, (nw - (lim - CHUNK_PAGES)) / 2);
		}
		r->touches += nr;
		for (size_t i = 0; i < nr; i++) {
			uint64_t want = i % 2 == 0 && i < nw ? pattern(seq, i) :
				       file_word(first + i);

			r->bad += word(win, i)[0] != want ||
				  word(win, i)[PAGE_SZ / 8 - 1] != ~file_word(first + i);
		}
		r->bad += madvise(win, t->win_len, MADV_DONTNEED) != 0;
		if (nw < np)
			break;
	}
}

/* ---- the two threads ---------------------------------------------------- */

static void *faulter_fn(void *arg)
{
	struct run *r = arg;
	struct rusage ru0, ru1;
	uint64_t t0;

	/* The phases read counters: let this thread's malloc arena be made. */
	(void)mmlock_stat("path_range");
	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!r->ops)		/* start with the writer at work */
		sched_yield();
	getrusage(RUSAGE_THREAD, &ru0);
	r->faulting = 1;
	t0 = now_ns();
	r->t->fault(r, t0 + RUN_NS);
	r->faulting = 0;
	r->secs = (now_ns() - t0) / 1e9;
	getrusage(RUSAGE_THREAD, &ru1);
	r->faults = ru1.ru_minflt - ru0.ru_minflt;
	return NULL;
}

static int map_small(char *p)
{
	return mmap(p, SMALL_LEN, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != p;
}

/*
 * Step n of the writer; steps 2k and 2k+1 make one op, which leaves the
 * address space as it found it. Returns the number of failed syscalls.
 */
static int writer_step(struct ftest *t, unsigned long n)
{
	char *p;

	if (t->kind != K_FILE_SHARED && t->kind != K_FILE_PRIVATE)
		return mprotect(t->v + WRITER_OFF, PAGE_SZ,
				n % 2 ? PROT_READ | PROT_WRITE : PROT_READ) != 0;
	/* Ops alternate: next to V's end, then in the far slot. */
	p = n % 4 < 2 ? t->v + VMA_LEN : t->far;
	if (n % 2 == 0)
		return map_small(p);
	return munmap(p, SMALL_LEN) != 0;
}

static void *writer_fn(void *arg)
{
	struct run *r = arg;
	unsigned long n = 0;

	__atomic_add_fetch(&r->ready, 1, __ATOMIC_SEQ_CST);
	while (!r->go)
		sched_yield();
	while (!r->stop) {
		int during = r->faulting;

		r->errors += writer_step(r->t, n) + writer_step(r->t, n + 1);
		n += 2;
		r->ops++;
		r->ops_during += during && r->faulting;
		usleep(WRITER_PAUSE_US);
	}
	return NULL;
}

/* Run the two threads in this process and take the counters' deltas. */
static int measure(struct run *r)
{
	long long c0[NR_COUNTERS];
	pthread_t writer, faulter;
	struct ftest *t = r->t;
	int err;

	err = pthread_create(&writer, NULL, writer_fn, r);
	if (err) {
		snprintf(r->err, sizeof(r->err), "pthread_create: %s", strerror(err));
		return -1;
	}
	err = pthread_create(&faulter, NULL, faulter_fn, r);
	if (err) {
		snprintf(r->err, sizeof(r->err), "pthread_create: %s", strerror(err));
		r->stop = r->go = 1;
		pthread_join(writer, NULL);
		return -1;
	}
	while (r->ready < 2)
		sched_yield();
	/* The first may fault in (after a fork: COW) what reading them needs. */
	snap(c0);
	snap(c0);
	r->go = 1;
	pthread_join(faulter, NULL);
	r->stop = 1;
	pthread_join(writer, NULL);
	snap(r->d);
	for (int i = 0; i < NR_COUNTERS; i++)
		r->d[i] -= c0[i];
	r->vmas_end = count_vmas(t->v, t->v + VMA_LEN + HOLE_LEN);
	r->far_vmas_end = count_vmas(t->far, t->far + FAR_LEN);
	r->attached = mmlock_enabled(r->policy);
	return 0;
}

/* ---- contents ----------------------------------------------------------- */

/*
 * Words of a COW test's V, as this process sees it, that are not: util.c's
 * pattern in words 0 and last of every page; in word 1 pattern(seq) for the
 * first n window pages, expect[] for the rest, 0 outside the window.
 */
static unsigned long bad_cow(const struct ftest *t, size_t n, uint64_t seq)
{
	size_t first = WINDOW_OFF / PAGE_SZ, np = win_pages(t);
	unsigned long bad = bad_pages(t->v, VMA_LEN, FILL_SEED);

	for (size_t i = 0; i < VMA_LEN / PAGE_SZ; i++) {
		size_t j = i - first;	/* wraps below the window */
		uint64_t want = j >= np ? 0 : j < n ? pattern(seq, j) : t->expect[j];

		bad += word(t->v, i)[1] != want;
	}
	return bad;
}

/*
 * Pages of the file whose words 0 and last are not what they should be:
 * the pattern it was created with, but file_shared's word 0 in the window
 * (expect[]).
 */
static unsigned long bad_file(const struct ftest *t)
{
	const size_t chunk = 256UL << 10, pp = chunk / PAGE_SZ;
	size_t first = WINDOW_OFF / PAGE_SZ, np = win_pages(t);
	unsigned long bad = 0;
	char *buf = malloc(chunk);

	if (!buf)
		return VMA_LEN / PAGE_SZ;
	for (size_t off = 0; off < VMA_LEN; off += chunk) {
		if (pread(t->fd, buf, chunk, off) != (ssize_t)chunk) {
			bad += pp;
			continue;
		}
		for (size_t k = 0; k < pp; k++) {
			size_t i = off / PAGE_SZ + k, j = i - first;
			uint64_t w0 = file_word(i);

			if (t->kind == K_FILE_SHARED && j < np)
				w0 = t->expect[j];
			bad += word(buf, k)[0] != w0 ||
			       word(buf, k)[PAGE_SZ / 8 - 1] != ~file_word(i);
		}
	}
	free(buf);
	return bad;
}

/* ---- the runs ----------------------------------------------------------- */

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		ssize_t r = read(fd, (char *)buf + n, len - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	return n;
}

static void child_status(struct run *r, const char *who, int status)
{
	if (WIFEXITED(status))
		snprintf(r->err, sizeof(r->err), "%s exited with %d", who,
			 WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(r->err, sizeof(r->err), "%s killed by signal %d", who,
			 WTERMSIG(status));
	else
		snprintf(r->err, sizeof(r->err), "%s: wait status %#x", who, status);
}

/*
 * cow_child: the child COW-writes and checks its V, sends its run back;
 * the parent checks that its own V did not change.
 */
static int run_cow_child(struct run *r)
{
	struct ftest *t = r->t;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds)) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* Fresh memory, not shared with the parent. */
		struct run *cr = map_anon(sizeof(*cr));

		close(fds[0]);
		if (!cr)
			_exit(3);
		cr->t = t;
		cr->policy = r->policy;
		cr->seq = r->seq;
		if (!measure(cr))
			cr->bad += bad_cow(t, cr->touches, cr->seq);
		n = write(fds[1], cr, sizeof(*cr));
		_exit(n == (ssize_t)sizeof(*cr) ? 0 : 4);
	}
	close(fds[1]);
	n = read_full(fds[0], r, sizeof(*r));
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (n != (ssize_t)sizeof(*r) || status) {
		if (n == (ssize_t)sizeof(*r) && r->err[0])
			return -1;
		child_status(r, "the child", status);
		return -1;
	}
	if (r->err[0])
		return -1;
	r->parent_bad = bad_cow(t, 0, 0);
	return 0;
}

/*
 * cow_parent: the parent COW-writes while the child holds its copy; then
 * the child checks that its copy is V as it was at the fork.
 */
static int run_cow_parent(struct run *r)
{
	struct ftest *t = r->t;
	int p2c[2], c2p[2], status, err;
	pid_t pid;
	char c;

	if (pipe(p2c)) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe(c2p)) {
		snprintf(r->err, sizeof(r->err), "pipe: %s", strerror(errno));
		close(p2c[0]);
		close(p2c[1]);
		return -1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(r->err, sizeof(r->err), "fork: %s", strerror(errno));
		close(p2c[0]);
		close(p2c[1]);
		close(c2p[0]);
		close(c2p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		if (write(c2p[1], "r", 1) != 1)
			_exit(3);
		for (;;) {	/* until the parent closes its end */
			ssize_t n = read(p2c[0], &c, 1);

			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		_exit(bad_cow(t, 0, 0) ? 1 : 0);
	}
	close(p2c[0]);
	close(c2p[1]);
	/* The child no longer faults: it sleeps in read(). */
	if (read_full(c2p[0], &c, 1) != 1) {
		close(p2c[1]);
		close(c2p[0]);
		waitpid(pid, &status, 0);
		child_status(r, "the child", status);
		return -1;
	}
	close(c2p[0]);
	err = measure(r);
	close(p2c[1]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (err)
		return err;
	if (status) {
		child_status(r, "the child (checking its copy of V)", status);
		return -1;
	}
	r->bad += bad_cow(t, r->touches, r->seq);
	for (size_t j = 0; j < r->touches; j++)
		t->expect[j] = pattern(r->seq, j);
	return 0;
}

static int run_policy(struct run *r)
{
	struct ftest *t = r->t;

	switch (t->kind) {
	case K_COW_CHILD:
		return run_cow_child(r);
	case K_COW_PARENT:
		return run_cow_parent(r);
	default:
		if (measure(r))
			return -1;
		if (t->kind == K_FILE_SHARED || t->kind == K_FILE_PRIVATE)
			r->bad += bad_file(t);
		return 0;
	}
}

static bool is_file(const struct ftest *t)
{
	return t->kind == K_FILE_SHARED || t->kind == K_FILE_PRIVATE;
}

static bool is_cow(const struct ftest *t)
{
	return t->kind == K_COW_CHILD || t->kind == K_COW_PARENT;
}

static bool has_phases(const struct ftest *t)
{
	return t->kind == K_ZERO || t->kind == K_FILE_PRIVATE;
}

static void report(const struct run *r)
{
	const struct ftest *t = r->t;
	char line[128];
	int len = 0;

	printf("#   %s/%s: %lu faults (%lu pages) in %.2f s = %.0f/s; writer %lu ops while they ran = %.0f/s (%lu in all)\n",
	       t->name, r->policy, r->faults, r->touches, r->secs,
	       r->secs > 0 ? r->faults / r->secs : 0, r->ops_during,
	       r->secs > 0 ? r->ops_during / r->secs : 0, r->ops);
	if (has_phases(t))
		printf("#     write phases: %lu faults (%lu pages), %lld on the range path\n",
		       r->cow_faults, r->cow_touches, r->cow_range);
	for (int i = 0; i < NR_COUNTERS; i++) {
		if (i >= C_FB_RANGE && !r->d[i])
			continue;
		if (len > 70) {
			printf("#     %s\n", line);
			len = 0;
		}
		len += snprintf(line + len, sizeof(line) - len, "%s%s %+lld",
				len ? ", " : "", counters[i], r->d[i]);
	}
	if (len)
		printf("#     %s\n", line);
}

/* What must hold under either policy. */
static enum mmlock_test_status check_run(const struct run *r)
{
	const struct ftest *t = r->t;
	const char *name = t->name, *pol = r->policy;
	/* file_private's reads fault around: only its writes fault per page. */
	unsigned long want = t->kind == K_FILE_PRIVATE ? r->cow_touches :
			     r->touches + r->cow_touches;

	CHECK(!r->errors, "%s/%s: %lu writer syscalls failed", name, pol, r->errors);
	CHECK(!r->bad, "%s/%s: %lu pages or words with wrong contents%s", name, pol, r->bad,
	      is_cow(t) ? (t->kind == K_COW_CHILD ? " in the child" : " in the parent") :
	      is_file(t) ? " (in the mapping or the file)" : "");
	CHECK(!r->parent_bad, "%s/%s: %lu pages or words of the parent changed by the child's writes",
	      name, pol, r->parent_bad);
	CHECK(r->vmas_end == 1 && r->far_vmas_end == 0,
	      "%s/%s: V and its hole in %d VMAs, the far slot in %d after the run, want 1, 0",
	      name, pol, r->vmas_end, r->far_vmas_end);
	CHECK(r->touches > 0 && (!has_phases(t) || r->cow_touches > 0),
	      "%s/%s: the faulter did not get to work (%lu pages, %lu written)",
	      name, pol, r->touches, r->cow_touches);
	CHECK(r->faults >= want * 9 / 10,
	      "%s/%s: %lu faults for %lu pages: writes did not fault (THP?) or were not accounted",
	      name, pol, r->faults, want);
	CHECK(!has_phases(t) || r->cow_faults >= r->cow_touches * 9 / 10,
	      "%s/%s: %lu faults for %lu copy-on-write pages: the writes did not fault",
	      name, pol, r->cow_faults, r->cow_touches);
	CHECK(r->ops_during > 0, "%s/%s: the writer did nothing while the faulter ran",
	      name, pol);
	CHECK(r->attached, "%s: %s is no longer attached: %s", name, pol,
	      mmlock_enabled(NULL) ? "swapped" : "ejected or detached");
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status check_range(const struct run *r)
{
	const struct ftest *t = r->t;
	const long long *d = r->d;
	const char *name = t->name;

	CHECK(d[C_PATH_RANGE] >= (long long)r->faults * 9 / 10,
	      "%s/anon2m: only %lld of %lu faults completed on the range path",
	      name, d[C_PATH_RANGE], r->faults);
	CHECK(!has_phases(t) || r->cow_range >= (long long)r->cow_faults * 9 / 10,
	      "%s/anon2m: only %lld of %lu copy-on-write faults completed on the range path",
	      name, r->cow_range, r->cow_faults);
	CHECK(d[C_FB_COW] <= FEW(r->faults),
	      "%s/anon2m: %lld faults fell back for copy-on-write (at most %lld)",
	      name, d[C_FB_COW], FEW(r->faults));
	/* Only the VMA's first COW, which gives it its anon_vma. */
	CHECK(d[C_FB_NO_ANON_VMA] <= 8,
	      "%s/anon2m: %lld faults fell back for want of an anon_vma (at most 8)",
	      name, d[C_FB_NO_ANON_VMA]);
	CHECK(d[C_WAIT_MMAP] <= FEW(r->faults),
	      "%s/anon2m: %lld faults waited for mmap_read_lock (at most %lld)",
	      name, d[C_WAIT_MMAP], FEW(r->faults));
	/*
	 * A file fault holds its whole VMA, and the writer's mmap next to it
	 * may merge into it, so it locks all of it too: those two wait for
	 * each other by design. Anonymous faults hold 2 MB, 12 MB away from
	 * mprotect's.
	 */
	CHECK(is_file(t) || d[C_WAIT_RANGE] <= FEW(r->faults),
	      "%s/anon2m: %lld faults waited for their range (at most %lld)",
	      name, d[C_WAIT_RANGE], FEW(r->faults));
	CHECK(r->ops_during >= MIN_WRITER_OPS,
	      "%s/anon2m: the writer did %lu ops while the faulter ran (at least %d)",
	      name, r->ops_during, MIN_WRITER_OPS);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status check_stock(const struct run *r)
{
	CHECK(r->d[C_PATH_RANGE] == 0, "%s/stock: %lld faults took the range path",
	      r->t->name, r->d[C_PATH_RANGE]);
	return MMLOCK_TEST_PASS;
}

static char out[4096];

static enum mmlock_test_status ftest_run(void *ctx)
{
	static const char *const policies[2] = { "anon2m", "stock" };
	static const char *const cmds[2] = { "mmlock load anon2m 2>&1",
					     "mmlock swap stock 2>&1" };
	struct ftest *t = ctx;
	struct run *runs[2] = { NULL, NULL };
	enum mmlock_test_status st = MMLOCK_TEST_PASS;

	if (is_file(t))
		printf("#   V is a %s\n", t->where);
	for (int k = 0; k < 2 && st == MMLOCK_TEST_PASS; k++) {
		struct run *r = runs[k] = map_anon(sizeof(*r));

		if (!r)
			FAIL("%s: out of memory", t->name);
		r->t = t;
		r->policy = policies[k];
		r->seq = ++t->seq;
		if (run_cmd_output(out, sizeof(out), "%s", cmds[k]) != 0) {
			printf("#   %s: %s", cmds[k], out);
			st = MMLOCK_TEST_FAIL;
		} else if (run_policy(r)) {
			printf("#   %s/%s: %s\n", t->name, r->policy, r->err);
			st = MMLOCK_TEST_FAIL;
		}
	}
	if (st == MMLOCK_TEST_PASS) {
		report(runs[0]);
		report(runs[1]);
		st = check_run(runs[0]);
	}
	if (st == MMLOCK_TEST_PASS)
		st = check_run(runs[1]);
	if (st == MMLOCK_TEST_PASS)
		st = check_range(runs[0]);
	if (st == MMLOCK_TEST_PASS)
		st = check_stock(runs[1]);
	for (int k = 0; k < 2; k++)
		if (runs[k])
			munmap(runs[k], sizeof(*runs[k]));
	return st;
}

/* ---- setup -------------------------------------------------------------- */

/* A file on tmpfs if the guest has one, else a memfd (shmem too). */
static int open_shmem_file(struct ftest *t)
{
	static const char *const dirs[] = { "/dev/shm", "/tmp" };
	char path[64];
	struct statfs sfs;
	int fd;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (statfs(dirs[i], &sfs) || sfs.f_type != TMPFS_MAGIC_NR)
			continue;
		snprintf(path, sizeof(path), "%s/fine_cow_file.XXXXXX", dirs[i]);
		fd = mkstemp(path);
		if (fd < 0)
			continue;
		unlink(path);
		snprintf(t->where, sizeof(t->where), "tmpfs file in %s", dirs[i]);
		return fd;
	}
	snprintf(t->where, sizeof(t->where), "memfd");
	return memfd_create("fine_cow_file", 0);
}

static int fill_file(int fd)
{
	const size_t chunk = 256UL << 10;
	char *buf = malloc(chunk);
	int err = 0;

	if (!buf)
		return -1;
	memset(buf, 0, chunk);
	for (size_t off = 0; off < VMA_LEN && !err; off += chunk) {
		for (size_t k = 0; k < chunk / PAGE_SZ; k++) {
			uint64_t w = file_word(off / PAGE_SZ + k);

			word(buf, k)[0] = w;
			word(buf, k)[PAGE_SZ / 8 - 1] = ~w;
		}
		err = pwrite(fd, buf, chunk, off) != (ssize_t)chunk;
	}
	free(buf);
	return err ? -1 : 0;
}

static void ftest_teardown(struct ftest *t)
{
	if (t->resv)
		munmap(t->resv, RESV_LEN);
	if (t->fd >= 0)
		close(t->fd);
	free(t->expect);
	t->resv = t->v = t->far = NULL;
	t->expect = NULL;
	t->fd = -1;
}

/* The reservation, V in it (anonymous or the file), its contents. */
static int ftest_build(struct ftest *t)
{
	int prot = PROT_READ | PROT_WRITE;

	t->fd = -1;
	t->expect = calloc(win_pages(t), sizeof(*t->expect));
	if (!t->expect)
		return -1;
	t->resv = mmap(NULL, RESV_LEN, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->resv == MAP_FAILED) {
		t->resv = NULL;
		return -1;
	}
	t->v = (char *)(((uintptr_t)t->resv + GUARD_LEN + PMD_SZ - 1) & ~(PMD_SZ - 1));
	t->far = t->v + VMA_LEN + HOLE_LEN + GAP_LEN;
	if (is_file(t)) {
		t->fd = open_shmem_file(t);
		if (t->fd < 0 || ftruncate(t->fd, VMA_LEN))
			return -1;
		/*
		 * Both runs fault pages that are in the page cache; the
		 * first would otherwise also allocate them.
		 */
		if (fill_file(t->fd))
			return -1;
		for (size_t j = 0; j < win_pages(t); j++)
			t->expect[j] = file_word(WINDOW_OFF / PAGE_SZ + j);
		if (mmap(t->v, VMA_LEN, prot,
			 (t->kind == K_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
			 t->fd, 0) != t->v)
			return -1;
	} else if (mmap(t->v, VMA_LEN, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			-1, 0) != t->v) {
		return -1;
	}
	if (munmap(t->v + VMA_LEN, HOLE_LEN) || munmap(t->far, FAR_LEN))
		return -1;
	/* 4 KB pages: a huge PMD's COW is not done on the range path. */
	if (madvise(t->v, VMA_LEN, MADV_NOHUGEPAGE))
		return -1;
	if (is_cow(t)) {
		/* Faster than 8192 faults under TCG; fine if unsupported. */
		(void)madvise(t->v, VMA_LEN, MADV_POPULATE_WRITE);
		fill_pages(t->v, VMA_LEN, FILL_SEED);
	} else if (t->kind == K_ZERO) {
		t->v[0] = 1;	/* V's anon_vma, outside the window */
	}
	return 0;
}

static enum mmlock_test_status ftest_setup(void **ctx)
{
	struct ftest *t = *ctx;

	if (!mmlock_kernel_supported())
		FAIL("kernel without mmlock_ext: these tests need its fine fault path");
	for (int i = 0; i < NR_COUNTERS; i++)
		if (mmlock_stat(counters[i]) < 0)
			FAIL("kernel without the counter %s", counters[i]);
	if (mmlock_enabled(NULL))
		FAIL("a policy is already attached");
	if (ftest_build(t)) {
		int e = errno;

		ftest_teardown(t);
		FAIL("%s: setting up V failed: %s", t->name, strerror(e));
	}
	return MMLOCK_TEST_PASS;
}

static void ftest_cleanup(void *ctx)
{
	run_cmd("mmlock unload >/dev/null 2>&1");
	ftest_teardown(ctx);
}

#define FTEST(__name, __kind, __win, __fault, __desc)			\
	static struct ftest __name##_ft = {				\
		.name = #__name,					\
		.kind = __kind,						\
		.win_len = __win,					\
		.fault = __fault,					\
		.fd = -1,						\
	};								\
	static enum mmlock_test_status __name##_setup(void **ctx)	\
	{								\
		*ctx = &__name##_ft;					\
		return ftest_setup(ctx);				\
	}								\
	static struct mmlock_test __name = {				\
		.name = "fine_" #__name,				\
		.description = __desc,					\
		.setup = __name##_setup,				\
		.run = ftest_run,					\
		.cleanup = ftest_cleanup,				\
	};								\
	REGISTER_MMLOCK_TEST(__name)

FTEST(cow_child, K_COW_CHILD, WINDOW_LEN, cow_fault,
      "anon2m: a forked child's COW faults take the range path while its VMA is split far away");
FTEST(cow_parent, K_COW_PARENT, WINDOW_LEN, cow_fault,
      "anon2m: the parent's COW faults after fork take the range path while its VMA is split far away");
FTEST(zero_cow, K_ZERO, ZERO_WINDOW_LEN, zero_fault,
      "anon2m: reads of the zero page and its COW take the range path beside a far mprotect");
FTEST(file_shared, K_FILE_SHARED, WINDOW_LEN, shared_fault,
      "anon2m: shared tmpfs file faults take the range path beside anonymous mmap/munmap");
FTEST(file_private, K_FILE_PRIVATE, WINDOW_LEN, private_fault,
      "anon2m: private tmpfs file read and COW faults take the range path beside mmap/munmap");
