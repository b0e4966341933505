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
 * other vCPU's TLB by IPI), and more faults found a writer's VMA window
 * open for over 2 ms (its vCPU preempted by the host): such a fault gets
 * the VMA kind UNKNOWN (hint_torn) or falls back as busy, some 30-40 a
 * run, up to 9 % of those slow faults, against the 2 % + 16 allowed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* RUSAGE_THREAD, memfd_create, MAP_FIXED_NOREPLACE */
#endif
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "fine_util.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define TMPFS_MAGIC_NR	0x01021994

/*
 * The reservation (fine_reserve()), PROT_NONE but for V, the hole and the
 * far slot:
 *   [guard | V (VMA_LEN) | hole | gap | far slot | guard]
 * V is PMD aligned. The writer of the file tests maps into the hole (right
 * after V, but anonymous: V's faults need not wait for it) and into the
 * far slot; it locks 2 MB either way.
 */
#define VMA_LEN		(32UL << 20)
#define HOLE_LEN	PMD_SZ
#define GAP_LEN		(8UL << 20)
#define FAR_LEN		PMD_SZ
#define WINDOW_OFF	(2UL << 20)	/* the faulter's window in V */
#define WINDOW_LEN	(16UL << 20)
#define ZERO_WINDOW_LEN	(8UL << 20)
#define CHUNK_PAGES	(PMD_SZ / PAGE_SZ)	/* read, then write, 2 MB at a time */
#define WRITER_OFF	(30UL << 20)	/* mprotect's page: 12 MB past the window */
#define SMALL_LEN	(64UL << 10)	/* the file tests' anonymous mappings */
#define RUN_NS		1500000000ULL	/* the faulter's run, per policy */
#define MIN_WRITER_OPS	30		/* under anon2m, while the faulter runs */
#define WRITER_PAUSE_US	1000		/* between writer ops: see the top */
#define FILL_SEED	0xc0ffeeULL	/* util.c's pattern in the COW tests' V */
#define FILE_SEQ	0xf11eULL	/* the files' contents */

enum kind { K_COW_CHILD, K_COW_PARENT, K_ZERO, K_FILE_SHARED, K_FILE_PRIVATE };

/* One test: its address space layout, shared by its two runs. */
struct ftest {
	struct fine_test ft;
	enum kind kind;
	size_t win_len;
	struct fine_resv res;
	char *v, *far;
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
	struct fine_run fr;
	uint64_t seq;		/* the COW tests' value */
	unsigned long parent_bad;
	/* zero_cow, file_private: the write (COW) phases alone */
	unsigned long cow_touches, cow_faults;
	long long cow_range;		/* path_range during them */
	int vmas_end, far_vmas_end;
};

#define FT(fr)	((struct ftest *)(fr)->t)
#define RUN(fr)	((struct run *)(fr))

/* The files' contents: word 0 and (inverted) the last word of each page. */
static uint64_t file_word(size_t page)
{
	return fine_pattern(FILE_SEQ, page);
}

static uint64_t *word(char *base, size_t page)
{
	return (uint64_t *)(base + page * PAGE_SZ);
}

/* Read word 0 of a page, faulting it in if it is not there. */
static uint64_t peek(char *base, size_t page)
{
	return *(volatile uint64_t *)word(base, page);
}

static size_t win_pages(const struct ftest *t)
{
	return t->win_len / PAGE_SZ;
}

static char *window(const struct ftest *t)
{
	return t->v + WINDOW_OFF;
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
static void cow_fault(struct fine_run *fr, uint64_t end)
{
	char *win = window(FT(fr));
	size_t n;

	for (n = 0; n < win_pages(FT(fr)); n++) {
		if (n % 64 == 0 && fine_now_ns() >= end)
			break;
		word(win, n)[1] = fine_pattern(RUN(fr)->seq, n);
	}
	fr->touches = n;
}

/*
 * What page i of the window holds until the run writes it: the zero page
 * (zero_cow) or the private file's data; and its last word, which no run
 * writes.
 */
static uint64_t base_word(const struct ftest *t, size_t i)
{
	return t->kind == K_ZERO ? 0 : file_word(WINDOW_OFF / PAGE_SZ + i);
}

static uint64_t tail_word(const struct ftest *t, size_t i)
{
	return t->kind == K_ZERO ? 0 : ~file_word(WINDOW_OFF / PAGE_SZ + i);
}

/*
 * Read every page of a chunk (the zero page, or page-cache read faults
 * around), then write some of them: zero_cow each (the zero page's COW),
 * file_private every other one (COW of a page-cache page); chunk after
 * chunk, so that reads and writes get their share of the run whatever the
 * fault rate. Then check, drop the copies, again.
 */
static void read_write_fault(struct fine_run *fr, uint64_t end)
{
	struct ftest *t = FT(fr);
	char *win = window(t);
	size_t np = win_pages(t), step = t->kind == K_ZERO ? 1 : 2;

	for (;;) {
		uint64_t seq = ++t->seq;
		size_t nr = 0, nw = 0;

		while (nw == nr && nr < np) {
			size_t lim = nr + CHUNK_PAGES;
			struct phase ph;

			for (; nr < lim; nr++) {
				if (nr % 64 == 0 && fine_now_ns() >= end)
					break;
				fr->bad += peek(win, nr) != base_word(t, nr);
			}
			if (nr < lim)
				break;
			phase_begin(&ph);
			for (; nw < lim; nw += step) {
				if (nw % 64 == 0 && fine_now_ns() >= end)
					break;
				word(win, nw)[0] = fine_pattern(seq, nw);
			}
			phase_end(&ph, RUN(fr),
				  (nw - (lim - CHUNK_PAGES)) / step);
		}
		fr->touches += nr;
		for (size_t i = 0; i < nr; i++) {
			uint64_t want = i % step == 0 && i < nw ?
						fine_pattern(seq, i) :
						base_word(t, i);

			fr->bad += word(win, i)[0] != want ||
				   word(win, i)[PAGE_SZ / 8 - 1] !=
					   tail_word(t, i);
		}
		fr->bad += madvise(win, t->win_len, MADV_DONTNEED) != 0;
		if (nw < np)
			break;
	}
}

/* Write word 0 of every page of the shared file, check, drop, again. */
static void shared_fault(struct fine_run *fr, uint64_t end)
{
	struct ftest *t = FT(fr);
	char *win = window(t);
	size_t np = win_pages(t), first = WINDOW_OFF / PAGE_SZ;

	for (;;) {
		uint64_t seq = ++t->seq;
		size_t n;

		for (n = 0; n < np; n++) {
			if (n % 64 == 0 && fine_now_ns() >= end)
				break;
			word(win, n)[0] = t->expect[n] = fine_pattern(seq, n);
		}
		fr->touches += n;
		for (size_t i = 0; i < n; i++)
			fr->bad += word(win, i)[0] != fine_pattern(seq, i) ||
				   word(win, i)[PAGE_SZ / 8 - 1] !=
					   ~file_word(first + i);
		fr->bad += madvise(win, t->win_len, MADV_DONTNEED) != 0;
		if (n < np)
			break;
	}
}


/* ---- the writer ---------------------------------------------------------- */

/*
 * Step n of the writer; steps 2k and 2k+1 make one op, which leaves the
 * address space as it found it. Returns the number of failed syscalls.
 */
static int writer_step(struct fine_run *fr, unsigned long n)
{
	struct ftest *t = FT(fr);
	char *p;

	if (!is_file(t))
		return mprotect(t->v + WRITER_OFF, PAGE_SZ,
				PROT_READ | (n % 2 ? PROT_WRITE : 0)) != 0;
	/* Ops alternate: next to V's end, then in the far slot. */
	p = n % 4 < 2 ? t->v + VMA_LEN : t->far;
	if (n % 2 == 0)
		return fine_map_anon(p, SMALL_LEN, MAP_FIXED_NOREPLACE);
	return munmap(p, SMALL_LEN) != 0;
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
		uint64_t want = j >= np ? 0 :
				j < n	? fine_pattern(seq, j) :
					  t->expect[j];

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

/* The two threads in this process, then V's VMAs. */
static int measure(struct run *r)
{
	struct ftest *t = FT(&r->fr);

	if (fine_measure(&r->fr))
		return -1;
	r->vmas_end = fine_count_vmas(t->v, t->v + VMA_LEN + HOLE_LEN);
	r->far_vmas_end = fine_count_vmas(t->far, t->far + FAR_LEN);
	return 0;
}

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

static int child_status(struct run *r, const char *who, int status)
{
	if (WIFEXITED(status))
		return fine_fail(&r->fr, "%s exited with %d", who,
				 WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return fine_fail(&r->fr, "%s killed by signal %d", who,
				 WTERMSIG(status));
	return fine_fail(&r->fr, "%s: wait status %#x", who, status);
}

/*
 * cow_child: the child COW-writes and checks its V, sends its run back;
 * the parent checks that its own V did not change.
 */
static int run_cow_child(struct run *r)
{
	struct ftest *t = FT(&r->fr);
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return fine_fail(&r->fr, "pipe: %s", strerror(errno));
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return fine_fail(&r->fr, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Fresh memory, not shared with the parent. */
		struct run *cr = map_anon(sizeof(*cr));

		close(fds[0]);
		if (!cr)
			_exit(3);
		cr->fr.t = r->fr.t;
		cr->fr.policy = r->fr.policy;
		cr->seq = r->seq;
		if (!measure(cr))
			cr->fr.bad += bad_cow(t, cr->fr.touches, cr->seq);
		n = write(fds[1], cr, sizeof(*cr));
		_exit(n == (ssize_t)sizeof(*cr) ? 0 : 4);
	}
	close(fds[1]);
	n = read_full(fds[0], r, sizeof(*r));
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (n != (ssize_t)sizeof(*r) || status) {
		if (n == (ssize_t)sizeof(*r) && r->fr.err[0])
			return -1;
		return child_status(r, "the child", status);
	}
	if (r->fr.err[0])
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
	struct ftest *t = FT(&r->fr);
	int p2c[2], c2p[2], status, err;
	pid_t pid;
	char c;

	if (pipe(p2c))
		return fine_fail(&r->fr, "pipe: %s", strerror(errno));
	if (pipe(c2p)) {
		close(p2c[0]);
		close(p2c[1]);
		return fine_fail(&r->fr, "pipe: %s", strerror(errno));
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p2c[0]);
		close(p2c[1]);
		close(c2p[0]);
		close(c2p[1]);
		return fine_fail(&r->fr, "fork: %s", strerror(errno));
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
		return child_status(r, "the child", status);
	}
	close(c2p[0]);
	err = measure(r);
	close(p2c[1]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	if (err)
		return err;
	if (status)
		return child_status(r, "the child (checking its copy of V)",
				    status);
	r->fr.bad += bad_cow(t, r->fr.touches, r->seq);
	for (size_t j = 0; j < r->fr.touches; j++)
		t->expect[j] = fine_pattern(r->seq, j);
	return 0;
}

static int ftest_run(struct fine_run *fr)
{
	struct ftest *t = FT(fr);
	struct run *r = RUN(fr);

	r->seq = ++t->seq;
	switch (t->kind) {
	case K_COW_CHILD:
		return run_cow_child(r);
	case K_COW_PARENT:
		return run_cow_parent(r);
	default:
		if (measure(r))
			return -1;
		if (is_file(t))
			fr->bad += bad_file(t);
		return 0;
	}
}

static void ftest_report(const struct fine_run *fr)
{
	const struct run *r = (const struct run *)fr;

	if (has_phases(FT(fr)))
		printf("#     write phases: %lu faults (%lu pages), %lld on the range path\n",
		       r->cow_faults, r->cow_touches, r->cow_range);
}

/* What must hold under either policy. */
static enum mmlock_test_status check_run(struct fine_run *fr)
{
	const struct ftest *t = FT(fr);
	const struct run *r = RUN(fr);
	const char *name = t->ft.name, *pol = fr->policy;
	/* file_private's reads fault around: only its writes fault per page. */
	unsigned long want = t->kind == K_FILE_PRIVATE ?
				     r->cow_touches :
				     fr->touches + r->cow_touches;

	FINE_CHECK(fine_check_run(fr, want,
				  t->kind == K_COW_CHILD  ? " in the child" :
				  t->kind == K_COW_PARENT ? " in the parent" :
				  is_file(t) ? " (in the mapping or the file)" :
					       ""));
	CHECK(!r->parent_bad,
	      "%s/%s: %lu pages or words of the parent changed by the child's writes",
	      name, pol, r->parent_bad);
	CHECK(r->vmas_end == 1 && r->far_vmas_end == 0,
	      "%s/%s: V and its hole in %d VMAs, the far slot in %d after the run, want 1, 0",
	      name, pol, r->vmas_end, r->far_vmas_end);
	CHECK(!has_phases(t) || r->cow_touches > 0,
	      "%s/%s: the faulter did not get to work (%lu pages, %lu written)",
	      name, pol, fr->touches, r->cow_touches);
	CHECK(!has_phases(t) || r->cow_faults >= r->cow_touches * 9 / 10,
	      "%s/%s: %lu faults for %lu copy-on-write pages: the writes did not fault",
	      name, pol, r->cow_faults, r->cow_touches);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status ftest_check(struct fine_run *range,
					   struct fine_run *stock)
{
	const struct ftest *t = FT(range);
	const struct run *r = RUN(range);
	const long long *d = range->d;
	const char *name = t->ft.name;

	FINE_CHECK(check_run(range));
	FINE_CHECK(check_run(stock));
	/*
	 * A file fault holds its whole VMA; the writer's anonymous mmap and
	 * munmap right after it cannot merge into it (other vm_file), so
	 * they do not lock it. Anonymous faults hold 2 MB, 12 MB away from
	 * mprotect's. Either way few faults may wait for a range.
	 */
	FINE_CHECK(fine_check_range(range, MIN_WRITER_OPS, true));
	CHECK(!has_phases(t) ||
		      r->cow_range >= (long long)r->cow_faults * 9 / 10,
	      "%s/anon2m: only %lld of %lu copy-on-write faults completed on the range path",
	      name, r->cow_range, r->cow_faults);
	CHECK(d[FC_FB_COW] <= FINE_FEW(range->faults),
	      "%s/anon2m: %lld faults fell back for copy-on-write (at most %lld)",
	      name, d[FC_FB_COW], FINE_FEW(range->faults));
	/* Only the VMA's first COW, which gives it its anon_vma. */
	CHECK(d[FC_FB_NO_ANON_VMA] <= 8,
	      "%s/anon2m: %lld faults fell back for want of an anon_vma (at most 8)",
	      name, d[FC_FB_NO_ANON_VMA]);
	return fine_check_stock(stock);
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
		snprintf(path, sizeof(path), "%s/fine_cow_file.XXXXXX",
			 dirs[i]);
		fd = mkstemp(path);
		if (fd < 0)
			continue;
		unlink(path);
		snprintf(t->where, sizeof(t->where), "tmpfs file in %s",
			 dirs[i]);
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

static void ftest_teardown(struct fine_test *ft)
{
	struct ftest *t = (struct ftest *)ft;

	fine_unreserve(&t->res);
	if (t->fd >= 0)
		close(t->fd);
	free(t->expect);
	t->v = t->far = NULL;
	t->expect = NULL;
	t->fd = -1;
}

/* The reservation, V in it (anonymous or the file), its contents. */
static int ftest_build(struct fine_test *ft)
{
	struct ftest *t = (struct ftest *)ft;
	int prot = PROT_READ | PROT_WRITE;

	t->fd = -1;
	t->expect = calloc(win_pages(t), sizeof(*t->expect));
	if (!t->expect)
		return -1;
	t->v = fine_reserve(&t->res, VMA_LEN + HOLE_LEN + GAP_LEN + FAR_LEN);
	if (!t->v)
		return -1;
	t->far = t->v + VMA_LEN + HOLE_LEN + GAP_LEN;
	if (is_file(t)) {
		t->fd = open_shmem_file(t);
		if (t->fd < 0 || ftruncate(t->fd, VMA_LEN))
			return -1;
		printf("#   V is a %s\n", t->where);
		/*
		 * Both runs fault pages that are in the page cache; the
		 * first would otherwise also allocate them.
		 */
		if (fill_file(t->fd))
			return -1;
		for (size_t j = 0; j < win_pages(t); j++)
			t->expect[j] = file_word(WINDOW_OFF / PAGE_SZ + j);
		if (mmap(t->v, VMA_LEN, prot,
			 (t->kind == K_FILE_SHARED ? MAP_SHARED : MAP_PRIVATE) |
				 MAP_FIXED,
			 t->fd, 0) != t->v)
			return -1;
	} else if (fine_map_anon(t->v, VMA_LEN, MAP_FIXED)) {
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

#define FTEST(__name, __kind, __win, __fault, __desc)			\
	static struct ftest __name##_ft = {				\
		.ft = {							\
			.name = #__name,				\
			.run_ns = RUN_NS,				\
			.fault = __fault,				\
			.step = writer_step,				\
			.pause_us = WRITER_PAUSE_US,			\
			.check = ftest_check,				\
			.setup = ftest_build,				\
			.cleanup = ftest_teardown,			\
			.run = ftest_run,				\
			.report = ftest_report,				\
			.run_size = sizeof(struct run),			\
		},							\
		.kind = __kind,						\
		.win_len = __win,					\
		.fd = -1,						\
	};								\
	FINE_TEST(__name, &__name##_ft.ft, __desc)

FTEST(cow_child, K_COW_CHILD, WINDOW_LEN, cow_fault,
      "anon2m: a forked child's COW faults take the range path while its VMA is split far away");
FTEST(cow_parent, K_COW_PARENT, WINDOW_LEN, cow_fault,
      "anon2m: the parent's COW faults after fork take the range path while its VMA is split far away");
FTEST(zero_cow, K_ZERO, ZERO_WINDOW_LEN, read_write_fault,
      "anon2m: reads of the zero page and its COW take the range path beside a far mprotect");
FTEST(file_shared, K_FILE_SHARED, WINDOW_LEN, shared_fault,
      "anon2m: shared tmpfs file faults take the range path beside anonymous mmap/munmap");
FTEST(file_private, K_FILE_PRIVATE, WINDOW_LEN, read_write_fault,
      "anon2m: private tmpfs file read and COW faults take the range path beside mmap/munmap");
