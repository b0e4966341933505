// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-stress: a concurrency stress test for the user page fault path.
 *
 *   mmlock-stress [--seconds N] [--threads N] [--race-pairs N] [--seed S]
 *                 [--region-mb N] [--verbose]
 *
 * The fine-grained fault path lets a fault run under a range lock while other
 * threads mmap, munmap, mprotect, madvise or brk elsewhere, even inside the
 * same VMA. Its bugs show as a fault that sees a stale or half-changed VMA:
 * lost or leaked data, a fault that succeeds where the mapping is gone or
 * read-only, a SIGSEGV where it must not be. This program provokes exactly
 * that and checks every access against a model.
 *
 * One 2 MB-aligned region (default 32 MB, one VMA at first, PROT_NONE guards
 * around it) is cut into slots of 4..64 pages, some of them 2 MB-aligned and
 * 2 MB long (half of those MADV_HUGEPAGE, for THP); slot i belongs to thread
 * i % T. Neighbouring slots of different threads share VMAs, so each thread's
 * mmap/munmap/mprotect/madvise on its own slots splits and merges VMAs under
 * the other threads' page faults. 70 % of the ops touch pages (write a
 * pattern, or read and verify it); the rest change mappings, including
 * single-page mprotect splits and remaps that merge again. Thread 0 also
 * grows and shrinks the heap with sbrk().
 *
 * Files: up to two small slots of each thread are tmpfs files of the slot's
 * size (a /tmp file or a memfd), mapped over the slot MAP_SHARED or
 * MAP_PRIVATE, between the other threads' anonymous slots, so their mmap,
 * munmap and mprotect split and merge next to them; each file is mapped
 * once more elsewhere, MAP_SHARED (the alias). The owner faults them (read
 * and write, through the generic ops too: mprotect, single-page splits,
 * MADV_DONTNEED), remaps parts of them shared or private at the same file
 * offset, changes the file behind them (pwrite, writes through the alias)
 * and then reads them, and checks the file with pread() and through the
 * alias. The file's pages have a shadow of their own: shared pages and
 * private pages not written since mapped (or since MADV_DONTNEED) must show
 * the file's current data; a private write makes a private copy that must
 * never reach the file, nor the alias.
 *
 * Fork: thread 1 (0 if alone) forks as its second op and then every 32nd
 * op on average. The child, one thread, checks up to 48 pages of the
 * thread's anonymous slots against the shadow it inherited (exact: nobody
 * else changes them and the thread was between ops), writes them (copy-on-
 * write faults, of the zero page where the page was read but never
 * written) with values tagged as the child's, waits until the parent wrote
 * the same pages, checks them again - none of the parent's post-fork
 * writes may show - and exits 0, or 3 after an error. The parent writes
 * them while the child runs (COW faults on its side, while the other
 * threads keep changing the shared VMAs), waits for the child's exit
 * status, then reads them: its own values, none of the child's. New
 * anonymous mappings are also read whole before they are written (COW of
 * the zero page, or of the huge zero page), and MADV_DONTNEED is followed
 * by a read and a write of one page.
 *
 * Each page has a shadow: its expected first word (0: must read as zero;
 * else a pattern naming thread, page and version, with its complement in a
 * second word, or the whole page filled) and its state (unmapped, PROT_NONE,
 * PROT_READ, read-write). Every access, a write too, first checks the page
 * against its shadow (so lost or leaked data is seen whatever touches the
 * page next). It runs under a per-thread sigsetjmp/SIGSEGV probe and must
 * fault exactly when the shadow says so: SEGV_MAPERR if unmapped,
 * SEGV_ACCERR if the protection forbids it. SIGBUS is always an error.
 *
 * A thread only changes its own slots, so the model is exact whatever the
 * interleaving, and each thread's op sequence depends only on the seed,
 * --threads, --race-pairs and --region-mb.
 *
 * That never lets a fault race a change of its own page, the one race a
 * range lock exists for. Race pairs (--race-pairs, default 1: two threads
 * besides the --threads ones) do: each owns a race slot of 16..64 pages in
 * the middle of the region, between other threads' slots (so in their VMA
 * whenever the protections match). Its flipper changes the whole slot over
 * and over - mmap anew (read-write mostly, else PROT_READ or PROT_NONE),
 * mprotect to another protection, munmap, MADV_DONTNEED - while its toucher
 * faults the slot's pages in turn, fresh ones first (a write is one xchg: a
 * write fault that also returns the old contents; a read if the slot is
 * read-only). Around each syscall the flipper publishes an epoch: odd (the
 * change is under way; its old and new state are in a ring) before the
 * call, even (the new state) once it returned. The toucher reads the epoch
 * before and after each access: the outcome must fit one of the states
 * published in between, exactly the published one if the epoch did not
 * move. An access that raced a change is probed again (read, then write)
 * once the epoch is stable: a fault that installed its PTE behind an
 * mprotect, munmap or mmap that returned leaves the page writable or present
 * where the new state forbids it, and that probe sees it. Contents: a read
 * (or the old value a write returns) is 0 or the last value the toucher
 * wrote there, which names the slot's zap period (mmap, munmap,
 * MADV_DONTNEED); a value from an earlier period, or a 0 where nothing can
 * have zapped the write, is an error. The flipper makes its next change as
 * soon as the toucher acknowledged the new state (after its probes), plus a
 * random pause of up to 100 us; the toucher sleeps while it has no page left
 * to fault. The summary counts the changes (flips) and the accesses that
 * overlapped one (races). No race pairs if the region is large enough to
 * reach vm.max_map_count: a change that failed half-way would leave the
 * slot's state unknown.
 *
 * The first error is printed with what was expected and what was found (and
 * the seed; a fork child prints its own, and the parent reports its exit
 * status); the exit status is then 1. Threads still running 30 s after the
 * deadline are reported as a hang. No malloc once the threads start: thread
 * 0 moves the brk.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/futex.h>

#define PAGE		4096UL
#define PMD		(2UL << 20)
#define PMD_PAGES	((uint32_t)(PMD / PAGE))
#define WORDS		((uint32_t)(PAGE / 8))
#define MAX_THREADS	64
#define BRK_PAGES	4096		/* at most 16 MB of heap */
#define BRK_TAG		0xff
#define HANG_SECONDS	30
#define MAX_PAIRS	8
#define RACE_TAG	0xfe
#define FORK_TAG	0xfd		/* written by a fork child */
#define FILES_PER_THREAD 2
#define FORK_PAGES	48		/* pages a fork child checks */
#define RACE_MAX_PAGES	64
#define RING		64		/* epochs a toucher can look back on */
#define MAX_SUSPECTS	8
/* The flipper's wait for the toucher: spin this long, then yield. */
#define ACK_SPIN_NS	(200 * 1000ULL)
#define ACK_TIMEOUT_NS	(100 * 1000 * 1000ULL)
/* Then a random pause of up to this long before the next change. */
#define DWELL_NS	(100 * 1000ULL)

/*
 * Page states; P_FULL: the last write filled the whole page. In a file slot:
 * P_PRIV, mapped MAP_PRIVATE; P_COPY, it has its private copy (shadow) -
 * else the page shows the file's contents (fshadow).
 */
enum { P_UNMAPPED, P_NONE, P_RO, P_RW, P_UNKNOWN, P_STATE = 7, P_FULL = 8, P_COPY = 16,
	P_PRIV = 32 };

static const char *const state_name[] = {
	"unmapped", "PROT_NONE", "PROT_READ", "PROT_READ|PROT_WRITE", "unknown",
};
static const int state_prot[] = {
	PROT_NONE, PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE,
};

struct slot {
	uint32_t first, pages;
	int file;		/* 0, or 1 + its index in fslots */
};

/* A tmpfs file mapped over a slot; file page i is region page first + i. */
struct fslot {
	int fd;
	int slot;
	char *alias;		/* a second MAP_SHARED mapping of the whole file */
	const char *kind;	/* "/tmp file" or "memfd" */
};

/* Where a page's expected contents live, see page_kind(). */
enum { K_ANON, K_SHARED, K_PRIVATE, K_COPY, K_ALIAS };

/* Per-thread counters, summed into the summary line. */
enum { N_OPS, N_CHECKED, N_SEGV, N_MMAP, N_MUNMAP, N_MPROTECT, N_MADVISE, N_BRK,
	N_ENOMEM, N_FLIPS, N_RACE_ACCESSES, N_RACES, N_RECHECKS, N_ACK_TIMEOUTS,
	N_UNCHECKED, N_FORKS, N_FORK_PAGES, N_FILE_CHECKED, N_FILE_MMAP, N_FILE_WRITES,
	N_PREADS, NR_COUNTS };
static const char *const count_name[NR_COUNTS] = {
	"ops", "faults_checked", "segv_expected", "mmap", "munmap", "mprotect", "madvise",
	"brk", "enomem", "flips", "race_accesses", "races", "race_rechecks", "ack_timeouts",
	"race_unchecked", "forks", "fork_pages", "file_checked", "file_mmap", "file_writes",
	"file_preads",
};

/* Race slot transitions. */
enum { R_MMAP, R_MPROTECT, R_MUNMAP, R_DONTNEED };

static const char *const race_op_name[] = {
	"mmap", "mprotect", "munmap", "madvise(MADV_DONTNEED)",
};

/* What the flipper publishes for each epoch; from == to if it is even. */
struct race_epoch {
	uint32_t from, to, op;
	uint32_t zap_from, zap_to;	/* zap periods: mmap, munmap, DONTNEED */
};

/* An access that raced a change: probe the page again once it is stable. */
struct suspect {
	uint32_t page;
	uint32_t e0, e1;
	bool write;
	int got;
};

struct race {
	int pair;
	uint32_t first, pages;		/* region pages */
	/* The flipper's, read by the toucher. */
	uint32_t epoch;			/* odd: a change is under way; a futex */
	struct race_epoch ring[RING];	/* epoch e at ring[e % RING] */
	/* The toucher's, read by the flipper. */
	uint32_t ack;			/* last even epoch the toucher checked */
	uint32_t cursor;		/* pages below it were touched */
	uint32_t sleeping;		/* the toucher waits for the next epoch */
	/* The flipper's own. */
	int state;
	uint32_t zap;
	/* The toucher's own: its last successful write to each page. */
	uint64_t wval[RACE_MAX_PAGES];
	uint32_t wzap[RACE_MAX_PAGES];	/* the latest zap period it can be in */
	bool wsure[RACE_MAX_PAGES];	/* no zap ran during the write */
	uint8_t wseq[RACE_MAX_PAGES];
	uint32_t seen_zap;
	int nsusp;
	struct suspect susp[MAX_SUSPECTS];
};

enum { ROLE_WORKER, ROLE_FLIPPER, ROLE_TOUCHER };

struct thr {
	int id, role;
	struct race *race;	/* flipper and toucher */
	pthread_t thread;
	uint64_t rng;
	uint32_t version;
	const char *op;
	bool failed;
	unsigned long steps;
	unsigned long n[NR_COUNTS];
};

/* One page as the accessors see it: region page or brk page. */
struct pref {
	char *addr;
	uint64_t *expect;
	uint8_t *state;
	uint32_t no;		/* page number in the region or the heap */
	int slot;		/* -1: heap */
	bool alias;		/* the file page through its slot's alias */
};

struct probe {
	sigjmp_buf env;
	volatile int armed;
	volatile uintptr_t lo, hi, addr;
	volatile int sig, code;
};

static int seconds = 20, nthreads = 4, race_pairs = 1, region_mb = 32;
static unsigned long long seed;
static bool verbose, enomem_ok;

static char *region;
static uint32_t npages, nslots;
static struct slot *slots;
static uint64_t *shadow;
static uint8_t *pstate;

static char *brk_orig, *brk_base;
static uint32_t brk_pages, brk_high;
static uint64_t *brk_shadow;
static uint8_t *brk_state;

static struct race races[MAX_PAIRS];

/* The files' contents by region page: word 0, and P_RW | P_FULL. */
static struct fslot fslots[MAX_THREADS * FILES_PER_THREAD];
static int nfslots, fork_thread;
static uint64_t *fshadow;
static uint8_t *fstate;
static bool in_child;		/* this is a fork child (one thread) */

static struct thr threads[MAX_THREADS + 2 * MAX_PAIRS];
static int nall;		/* nthreads + 2 * race_pairs */
static uint64_t start_ns;
static pthread_barrier_t start_barrier, end_barrier;
static volatile int stop;
static int nerrors, err_printed, finished;

static __thread struct probe tp;
static __thread struct thr *self;

/* Output without stdio buffers: no malloc while thread 0 moves the brk. */
static void say(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	ssize_t r;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	r = write(fd, buf, n);
	(void)r;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint32_t rnd(struct thr *t, uint32_t n)
{
	return n ? splitmix(&t->rng) % n : 0;
}

/* The pattern: tag (thread + 1, or BRK_TAG), page number, version. */
static uint64_t make_val(unsigned int tag, uint32_t no, uint32_t version)
{
	return (uint64_t)tag << 56 | (uint64_t)(no & 0xffffff) << 32 | version;
}

/* Word 0 holds val; word check_word(val) holds ~val; others if full. */
static uint32_t check_word(uint64_t val)
{
	return 1 + ((val * 0x9e3779b97f4a7c15ULL) >> 40) % (WORDS - 1);
}

static uint64_t word_val(uint64_t val, uint32_t i, bool full)
{
	if (!val || !i)
		return val;
	if (i == check_word(val))
		return ~val;
	return full ? val ^ (i * 0xbf58476d1ce4e5b9ULL) : 0;
}

static void decode(char *buf, size_t len, uint64_t v)
{
	unsigned int tag = v >> 56;

	if (!v)
		snprintf(buf, len, "zero");
	else if (tag == RACE_TAG)
		snprintf(buf, len, "race pair %u page %u write %u, zap period %u",
			 (unsigned int)(v >> 48) & 0xff, (unsigned int)(v >> 40) & 0xff,
			 (unsigned int)(v >> 32) & 0xff, (uint32_t)v);
	else if (tag == FORK_TAG)
		snprintf(buf, len, "fork child, page %u version %u",
			 (unsigned int)(v >> 32) & 0xffffff, (uint32_t)v);
	else if (tag == BRK_TAG)
		snprintf(buf, len, "brk page %u version %u", (unsigned int)(v >> 32) & 0xffffff,
			 (uint32_t)v);
	else if (tag >= 1 && tag <= MAX_THREADS)
		snprintf(buf, len, "thread %u page %u version %u", tag - 1,
			 (unsigned int)(v >> 32) & 0xffffff, (uint32_t)v);
	else
		snprintf(buf, len, "not a pattern");
}

static int page_kind(const struct pref *r)
{
	uint8_t st;

	if (r->alias)
		return K_ALIAS;
	if (r->slot < 0 || !slots[r->slot].file)
		return K_ANON;
	st = pstate[r->no];
	if (!(st & P_PRIV))
		return K_SHARED;
	return st & P_COPY ? K_COPY : K_PRIVATE;
}

static void describe(char *buf, size_t len, const struct pref *r)
{
	static const char *const what[] = {
		"", ", MAP_SHARED: the file's data",
		", MAP_PRIVATE, not written since mapped: the file's data",
		", MAP_PRIVATE, written: its private copy",
		", through a second MAP_SHARED mapping: the file's data",
	};
	const struct slot *s;
	int kind = page_kind(r);

	if (r->slot < 0) {
		snprintf(buf, len, "brk page %u at %p", r->no, r->addr);
		return;
	}
	s = &slots[r->slot];
	snprintf(buf, len, "%s%spage %u at %p (slot %d, page %u of %u%s%s)",
		 in_child ? "the fork child's copy of " : "", s->file ? "file " : "", r->no,
		 r->addr, r->slot, r->no - s->first, s->pages,
		 s->file ? ", a tmpfs " : "", s->file ? fslots[s->file - 1].kind : "");
	if (kind != K_ANON)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s", what[kind]);
}

/* Record an error; the first one is printed. The thread then stops. */
static void fail(struct thr *t, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->failed = true;
	stop = 1;
	__atomic_add_fetch(&nerrors, 1, __ATOMIC_SEQ_CST);
	if (__atomic_exchange_n(&err_printed, 1, __ATOMIC_SEQ_CST))
		return;
	say(2, "stress: ERROR seed=%llu threads=%d race-pairs=%d region-mb=%d thread=%d op#%lu %s after %.3f s: %s\n",
	    seed, nthreads, race_pairs, region_mb, t->id, t->steps, t->op,
	    (now_ns() - start_ns) / 1e9, msg);
}

/* What probe() returns, in words. */
static const char *code_name(int code)
{
	if (code == -SIGBUS)
		return "SIGBUS";
	return !code ? "no signal" : code == SEGV_MAPERR ? "SIGSEGV/SEGV_MAPERR" :
	       code == SEGV_ACCERR ? "SIGSEGV/SEGV_ACCERR" : "SIGSEGV with another si_code";
}

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;

	if (tp.armed && a >= tp.lo && a < tp.hi) {
		tp.armed = 0;
		tp.addr = a;
		tp.sig = sig;
		tp.code = si->si_code;
		siglongjmp(tp.env, 1);
	}
	say(2, "stress: ERROR seed=%llu thread=%d op#%lu %s: unexpected signal %d (si_code %d) at %p outside any probe\n",
	    seed, self ? self->id : -1, self ? self->steps : 0, self ? self->op : "-", sig,
	    si->si_code, si->si_addr);
	_exit(1);
}

/* One access: check the page holds old; if write, then write new. */
struct access {
	uint64_t old, new, found;
	bool old_full, new_full, write;
	int bad;		/* first word not as expected, or -1 */
};

/*
 * Run an access to the page at p under the probe. Returns 0 if it completed
 * (the check stops at the first wrong word, before any write), else the
 * SIGSEGV si_code, or -SIGBUS. SA_NODEFER and sigsetjmp(, 0): no syscall.
 */
static int probe(volatile uint64_t *p, struct access *a)
{
	uint32_t i, k = check_word(a->old);

	if (sigsetjmp(tp.env, 0))
		return tp.sig == SIGSEGV ? tp.code : -tp.sig;
	tp.lo = (uintptr_t)p;
	tp.hi = (uintptr_t)p + PAGE;
	tp.armed = 1;
	a->bad = -1;
	for (i = 0; i < WORDS; i++) {
		if (!a->old_full && i && i != k)
			continue;
		if (p[i] != word_val(a->old, i, a->old_full)) {
			a->bad = i;
			a->found = p[i];
			break;
		}
	}
	if (a->write && a->bad < 0) {
		p[0] = a->new;
		if (a->new_full)
			for (i = 1; i < WORDS; i++)
				p[i] = word_val(a->new, i, true);
		else
			p[check_word(a->new)] = ~a->new;
	}
	tp.armed = 0;
	return 0;
}

static int want_code(int st, bool write)
{
	if (st == P_UNMAPPED)
		return SEGV_MAPERR;
	if (st == P_NONE || (st == P_RO && write))
		return SEGV_ACCERR;
	return 0;
}

/*
 * Access a page: check it holds what its shadow says (before a write too),
 * fault exactly when it must, then update the shadow.
 */
static void access_page(struct thr *t, struct pref r, bool write)
{
	int st = *r.state & P_STATE, want, got, kind = page_kind(&r);
	uint64_t *ex = r.expect;
	uint8_t *fl = r.state;
	struct access a = { .write = write };
	char where[256], e[64], f[64];

	if (st == P_UNKNOWN || t->failed)
		return;
	/* A shared page, or a private one not written: the file's contents. */
	if (kind == K_SHARED || kind == K_PRIVATE) {
		ex = &fshadow[r.no];
		fl = &fstate[r.no];
	}
	want = want_code(st, write);
	a.old = *ex;
	a.old_full = !a.old || (*fl & P_FULL);
	if (write) {
		a.new = make_val(r.slot < 0 ? BRK_TAG : in_child ? FORK_TAG : t->id + 1, r.no,
				 ++t->version);
		a.new_full = rnd(t, 8) == 0;
	}
	t->n[N_CHECKED]++;
	if (kind != K_ANON)
		t->n[N_FILE_CHECKED]++;
	got = probe((volatile uint64_t *)r.addr, &a);
	if ((!got && a.bad >= 0) || got != want)
		describe(where, sizeof(where), &r);
	if (!got && a.bad >= 0 && (st == P_RO || st == P_RW)) {
		decode(e, sizeof(e), a.old);
		decode(f, sizeof(f), a.found);
		fail(t, "%s of %s, a %s page: word %d: expected %#llx (%s%s), found %#llx (%s)",
		     write ? "check before write" : "read", where, state_name[st], a.bad,
		     (unsigned long long)word_val(a.old, a.bad, a.old_full), e,
		     !a.bad || !a.old ? "" :
		     a.bad == (int)check_word(a.old) ? ", complement" : ", fill",
		     (unsigned long long)a.found, f);
	} else if (got != want) {
		fail(t, "%s of %s, a %s page: expected %s, got %s at %#lx",
		     write ? "write" : "read", where, state_name[st], code_name(want),
		     code_name(got), got ? (unsigned long)tp.addr : 0UL);
	} else if (got) {
		t->n[N_SEGV]++;
	} else if (write && (kind == K_PRIVATE || kind == K_COPY)) {
		/* A private write makes a copy, and never reaches the file. */
		shadow[r.no] = a.new;
		pstate[r.no] = st | P_PRIV | P_COPY | (a.new_full ? P_FULL : 0);
	} else if (write) {
		*ex = a.new;
		*fl = (*fl & ~P_FULL) | (a.new_full ? P_FULL : 0);
	}
}

static struct pref region_page(uint32_t pg)
{
	uint32_t lo = 0, hi = nslots;

	while (hi - lo > 1) {
		uint32_t mid = (lo + hi) / 2;

		if (slots[mid].first <= pg)
			lo = mid;
		else
			hi = mid;
	}
	return (struct pref){ region + (size_t)pg * PAGE, &shadow[pg], &pstate[pg], pg, lo,
			      false };
}

static struct pref brk_page(uint32_t i)
{
	return (struct pref){ brk_base + (size_t)i * PAGE, &brk_shadow[i], &brk_state[i], i, -1,
			      false };
}

static struct slot *pick_slot(struct thr *t)
{
	uint32_t owned = (nslots - t->id + nthreads - 1) / nthreads;

	return &slots[t->id + nthreads * rnd(t, owned)];
}

/* A whole slot (a third of the time) or a random part of it. */
static void pick_range(struct thr *t, struct slot *s, uint32_t *first, uint32_t *n)
{
	uint32_t off = rnd(t, s->pages);

	if (rnd(t, 3) == 0) {
		*first = s->first;
		*n = s->pages;
		return;
	}
	*first = s->first + off;
	*n = 1 + rnd(t, s->pages - off);
}

static bool mapped(uint32_t pg)
{
	int st = pstate[pg] & P_STATE;

	return st == P_NONE || st == P_RO || st == P_RW;
}

/* A range of mapped pages in s (mprotect and madvise fail on holes). */
static bool mapped_range(struct thr *t, struct slot *s, uint32_t *first, uint32_t *n)
{
	uint32_t off = rnd(t, s->pages), end = s->first + s->pages, pg = 0, i, last;

	for (i = 0; i < s->pages; i++) {
		pg = s->first + (off + i) % s->pages;
		if (mapped(pg))
			break;
	}
	if (i == s->pages)
		return false;
	for (last = pg + 1; last < end && mapped(last); last++)
		;
	*first = pg;
	*n = rnd(t, 2) ? last - pg : 1 + rnd(t, last - pg);
	return true;
}

static void set_range(uint32_t first, uint32_t n, int st, bool zero)
{
	for (uint32_t pg = first; pg < first + n; pg++) {
		pstate[pg] = st | (zero ? 0 : pstate[pg] & ~P_STATE);
		if (zero)
			shadow[pg] = 0;
	}
}

/* ENOMEM is tolerated only if the region can reach vm.max_map_count. */
static void call_failed(struct thr *t, const char *call, uint32_t first, uint32_t n, int err)
{
	struct pref r = region_page(first);

	if (err == ENOMEM && enomem_ok) {
		t->n[N_ENOMEM]++;
		set_range(first, n, P_UNKNOWN, true);
		return;
	}
	fail(t, "%s(%p, %u pages) in slot %d failed: %s", call, r.addr, n, r.slot,
	     strerror(err));
}

/* Every page, but only the first of a run of pages that must fault. */
static void touch_range(struct thr *t, uint32_t first, uint32_t n, bool write)
{
	bool hole = false;

	for (uint32_t pg = first; pg < first + n && !t->failed; pg++) {
		if (want_code(pstate[pg] & P_STATE, write)) {
			if (hole)
				continue;
			hole = true;
		} else {
			hole = false;
		}
		access_page(t, region_page(pg), write);
	}
}

/*
 * Mostly: random pages of a slot, read or written; an access that must fault
 * is usually traded for another try, to keep page faults the bulk of the
 * work. Sometimes: the whole slot.
 */
static void op_touch(struct thr *t)
{
	struct slot *s = pick_slot(t);
	uint32_t i, n = 1 + rnd(t, 16), pg;
	bool write;

	t->op = "touch";
	if (rnd(t, 8) == 0) {
		touch_range(t, s->first, s->pages, rnd(t, 2));
		return;
	}
	for (i = 0; i < n && !t->failed; i++) {
		pg = s->first + rnd(t, s->pages);
		write = rnd(t, 2);
		if (want_code(pstate[pg] & P_STATE, write) && rnd(t, 4))
			pg = s->first + rnd(t, s->pages);
		access_page(t, region_page(pg), write);
	}
}

static void hugepage(struct thr *t, uint32_t first)
{
	/* EINVAL: no THP in this kernel; nothing to check then. */
	if (madvise(region + (size_t)first * PAGE, PMD, MADV_HUGEPAGE) && errno != EINVAL)
		fail(t, "madvise(MADV_HUGEPAGE) at page %u: %s", first, strerror(errno));
}

/*
 * mmap anew over a slot or part, mostly read-write (merges): zero contents,
 * or in a file slot the file at the same offset, MAP_SHARED or MAP_PRIVATE
 * (its pages show the file's contents). Then maybe write every page, or
 * read every page and then write it (COW of the zero page, or of the
 * file's page-cache page).
 */
static void mmap_slot(struct thr *t, struct slot *s)
{
	int st = rnd(t, 10) < 8 ? P_RW : rnd(t, 2) ? P_RO : P_NONE;
	bool priv = rnd(t, 2);
	uint32_t first, n, how;
	char *addr, *p;

	t->op = s->file ? priv ? "mmap-file-private" : "mmap-file-shared" : "mmap";
	pick_range(t, s, &first, &n);
	addr = region + (size_t)first * PAGE;
	if (s->file)
		p = mmap(addr, n * PAGE, state_prot[st],
			 (priv ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED, fslots[s->file - 1].fd,
			 (off_t)(first - s->first) * PAGE);
	else
		p = mmap(addr, n * PAGE, state_prot[st], MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
			 -1, 0);
	if (p == MAP_FAILED) {
		call_failed(t, "mmap", first, n, errno);
		return;
	}
	if (p != addr) {
		fail(t, "mmap(MAP_FIXED) at %p returned %p", addr, p);
		return;
	}
	t->n[s->file ? N_FILE_MMAP : N_MMAP]++;
	set_range(first, n, st | (s->file && priv ? P_PRIV : 0), true);
	if (!s->file && n == PMD_PAGES && first % PMD_PAGES == 0 && rnd(t, 2))
		hugepage(t, first);
	how = st == P_RW ? rnd(t, 4) : 0;
	if (how == 2)
		touch_range(t, first, n, false);
	if (how)
		touch_range(t, first, n, true);
}

static void op_mmap(struct thr *t)
{
	mmap_slot(t, pick_slot(t));
}

static void op_munmap(struct thr *t)
{
	struct slot *s = pick_slot(t);
	uint32_t first, n;

	t->op = "munmap";
	pick_range(t, s, &first, &n);
	if (munmap(region + (size_t)first * PAGE, n * PAGE)) {
		call_failed(t, "munmap", first, n, errno);
		return;
	}
	t->n[N_MUNMAP]++;
	set_range(first, n, P_UNMAPPED, true);
	access_page(t, region_page(first + rnd(t, n)), rnd(t, 2));
}

static bool protect(struct thr *t, uint32_t first, uint32_t n, int st)
{
	if (mprotect(region + (size_t)first * PAGE, n * PAGE, state_prot[st])) {
		call_failed(t, "mprotect", first, n, errno);
		return false;
	}
	t->n[N_MPROTECT]++;
	set_range(first, n, st, false);
	return true;
}

/*
 * mprotect mapped pages, contents must survive: read-write ones to PROT_READ
 * or PROT_NONE, others mostly back to read-write. No mapped page: remap.
 */
static void mprotect_slot(struct thr *t, struct slot *s)
{
	uint32_t first, n;
	int st;

	t->op = "mprotect";
	if (!mapped_range(t, s, &first, &n)) {
		mmap_slot(t, s);
		return;
	}
	if ((pstate[first] & P_STATE) != P_RW && rnd(t, 4))
		st = P_RW;
	else
		st = rnd(t, 3) ? P_RO : P_NONE;
	if (protect(t, first, n, st))
		access_page(t, region_page(first + rnd(t, n)), rnd(t, 2));
}

static void op_mprotect(struct thr *t)
{
	mprotect_slot(t, pick_slot(t));
}

/* Split a VMA around one page in the middle of a slot, then merge it back. */
static void op_pinch(struct thr *t)
{
	struct slot *s = pick_slot(t);
	int st = rnd(t, 2) ? P_RO : P_NONE;
	uint32_t pg;

	t->op = "mprotect-page";
	if (s->pages < 3) {
		op_touch(t);
		return;
	}
	pg = s->first + 1 + rnd(t, s->pages - 2);
	if ((pstate[pg - 1] & P_STATE) != P_RW || (pstate[pg] & P_STATE) != P_RW ||
	    (pstate[pg + 1] & P_STATE) != P_RW) {
		op_touch(t);
		return;
	}
	if (!protect(t, pg, 1, st))
		return;
	access_page(t, region_page(pg), true);
	access_page(t, region_page(pg), false);
	access_page(t, region_page(pg - 1), true);
	access_page(t, region_page(pg + 1), false);
	if (t->failed || !protect(t, pg, 1, P_RW))
		return;
	access_page(t, region_page(pg), false);
	access_page(t, region_page(pg), true);
}

/*
 * MADV_DONTNEED: anonymous pages read as zero again, private copies of file
 * pages are gone (the file's contents show again), shared ones keep theirs.
 * Then read a page, and maybe write it (COW of the zero page, or of the
 * file's page).
 */
static void madvise_slot(struct thr *t, struct slot *s)
{
	uint32_t first, n, pg;

	t->op = "madvise";
	if (!mapped_range(t, s, &first, &n)) {
		mmap_slot(t, s);
		return;
	}
	if (madvise(region + (size_t)first * PAGE, n * PAGE, MADV_DONTNEED)) {
		call_failed(t, "madvise(MADV_DONTNEED)", first, n, errno);
		return;
	}
	t->n[N_MADVISE]++;
	for (pg = first; pg < first + n; pg++) {
		if (s->file && !(pstate[pg] & P_PRIV))
			continue;
		shadow[pg] = 0;
		pstate[pg] &= P_STATE | P_PRIV;
	}
	pg = first + rnd(t, n);
	access_page(t, region_page(pg), false);
	if (rnd(t, 2))
		access_page(t, region_page(pg), true);
}

static void op_madvise(struct thr *t)
{
	madvise_slot(t, pick_slot(t));
}

static bool move_brk(struct thr *t, long pages)
{
	char *want = brk_base + (size_t)brk_pages * PAGE, *old = sbrk(pages * (long)PAGE);

	if (old == (void *)-1) {
		if (errno == ENOMEM) {
			t->n[N_ENOMEM]++;
			return false;
		}
		fail(t, "sbrk(%ld pages) with brk at %p: %s", pages, want, strerror(errno));
		return false;
	}
	if (old != want) {
		fail(t, "sbrk(%ld pages) returned %p, the brk was at %p", pages, old, want);
		return false;
	}
	t->n[N_BRK]++;
	return true;
}

/* Thread 0: grow (always if empty) or shrink the heap, or touch it. */
static void op_brk(struct thr *t)
{
	uint32_t op = brk_pages ? rnd(t, 3) : 0, n, i;

	t->op = "brk";
	if (op == 0 && brk_pages < BRK_PAGES) {
		n = rnd(t, 8) ? 1 + rnd(t, 64) : 512 + rnd(t, 512);
		if (n > BRK_PAGES - brk_pages)
			n = BRK_PAGES - brk_pages;
		if (!move_brk(t, n))
			return;
		for (i = brk_pages; i < brk_pages + n; i++) {
			brk_shadow[i] = 0;
			brk_state[i] = P_RW;
		}
		brk_pages += n;
		if (brk_pages > brk_high)
			brk_high = brk_pages;
		access_page(t, brk_page(brk_pages - 1 - rnd(t, n)), rnd(t, 2));
	} else if (op == 1 && brk_pages) {
		n = 1 + rnd(t, rnd(t, 8) ? (brk_pages < 64 ? brk_pages : 64) : brk_pages);
		if (!move_brk(t, -(long)n))
			return;
		brk_pages -= n;
		for (i = brk_pages; i < brk_pages + n; i++) {
			brk_shadow[i] = 0;
			brk_state[i] = P_UNMAPPED;
		}
		access_page(t, brk_page(brk_pages), false);
	} else if (brk_high) {
		/* Pages above the brk that were heap once must be gone. */
		for (i = 1 + rnd(t, 16); i && !t->failed; i--)
			access_page(t, brk_page(rnd(t, brk_high)), rnd(t, 2));
	}
}

/* ---- fork and files ------------------------------------------------------ */

/*
 * The fork child: the shadow it inherited is exact for the forking thread's
 * own slots (nobody else changes them, and the thread was between ops). It
 * checks and writes (COW faults, of the zero page too) the chosen pages,
 * waits until the parent wrote them too, then checks them again: none of
 * the parent's post-fork writes may show. Its own writes are tagged
 * FORK_TAG, so the parent can tell them if they leak into its pages.
 */
static void fork_child(struct thr *t, const uint32_t *pg, uint32_t n, int fd)
{
	char c;
	uint32_t i;

	in_child = true;
	t->op = "fork-child";
	for (i = 0; i < n && !t->failed; i++) {
		access_page(t, region_page(pg[i]), false);
		access_page(t, region_page(pg[i]), true);
	}
	/* The parent's writes are done when it writes a byte (or exits). */
	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	t->op = "fork-child-recheck";
	for (i = 0; i < n && !t->failed; i++)
		access_page(t, region_page(pg[i]), false);
	_exit(t->failed ? 3 : 0);
}

/*
 * The fork thread's op: pick pages of its anonymous slots and fork. The
 * child checks and COWs them (above); meanwhile the parent writes them too,
 * tells the child, waits for its exit status, then reads them again: its
 * own values, never the child's.
 */
static void op_fork(struct thr *t)
{
	uint32_t pg[FORK_PAGES], n = 0, want = 8 + rnd(t, FORK_PAGES - 7), i;
	int pfd[2], status;
	struct slot *s;
	pid_t pid;

	t->op = "fork";
	for (i = 0; i < 4 * want && n < want; i++) {
		s = pick_slot(t);
		if (!s->file)
			pg[n++] = s->first + rnd(t, s->pages);
	}
	if (pipe(pfd)) {
		fail(t, "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pfd[1]);
		fork_child(t, pg, n, pfd[0]);
	}
	close(pfd[0]);
	if (pid < 0) {
		close(pfd[1]);
		if (errno == EAGAIN || errno == ENOMEM) {
			t->n[N_ENOMEM]++;
			return;
		}
		fail(t, "fork: %s", strerror(errno));
		return;
	}
	t->n[N_FORKS]++;
	t->n[N_FORK_PAGES] += n;
	t->op = "fork-parent";
	for (i = 0; i < n && !t->failed; i++)
		access_page(t, region_page(pg[i]), true);
	/* EPIPE if the child is gone already: its exit status tells why. */
	if (write(pfd[1], "x", 1) != 1 && errno != EPIPE)
		fail(t, "write to the fork child's pipe: %s", strerror(errno));
	close(pfd[1]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fail(t, "waitpid(%d): %s", pid, strerror(errno));
			return;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(t, "the fork child (pid %d, checking %u pages) %s %d%s", pid, n,
		     WIFEXITED(status) ? "exited with status" : "was killed by signal",
		     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
		     WIFEXITED(status) && WEXITSTATUS(status) == 3 ?
		     " (its error is above)" : "");
	t->op = "fork-parent-recheck";
	for (i = 0; i < n && !t->failed; i++)
		access_page(t, region_page(pg[i]), false);
}

static struct pref alias_page(uint32_t pg)
{
	struct pref r = region_page(pg);
	const struct fslot *f = &fslots[slots[r.slot].file - 1];

	r.addr = f->alias + (size_t)(pg - slots[r.slot].first) * PAGE;
	r.expect = &fshadow[pg];
	r.state = &fstate[pg];
	r.alias = true;
	return r;
}

/* One of the thread's file slots, or NULL. */
static struct slot *pick_file_slot(struct thr *t)
{
	int mine[FILES_PER_THREAD], n = 0;

	for (int k = 0; k < nfslots; k++)
		if (fslots[k].slot % nthreads == t->id)
			mine[n++] = fslots[k].slot;
	return n ? &slots[mine[rnd(t, n)]] : NULL;
}

/* Write a whole file page with pwrite(): the shared pages show it. */
static void file_pwrite(struct thr *t, struct slot *s, uint32_t pg)
{
	uint64_t buf[WORDS], v = make_val(t->id + 1, pg, ++t->version);
	const struct fslot *f = &fslots[s->file - 1];
	off_t off = (off_t)(pg - s->first) * PAGE;
	ssize_t r;

	for (uint32_t i = 0; i < WORDS; i++)
		buf[i] = word_val(v, i, true);
	r = pwrite(f->fd, buf, PAGE, off);
	if (r != (ssize_t)PAGE) {
		fail(t, "pwrite of page %u of the file of slot %d (a %s) at offset %lld: %s", pg,
		     f->slot, f->kind, (long long)off, r < 0 ? strerror(errno) : "short");
		return;
	}
	t->n[N_FILE_WRITES]++;
	fshadow[pg] = v;
	fstate[pg] = P_RW | P_FULL;
}

/* The file's page as pread() sees it: writes through MAP_PRIVATE never. */
static void file_pread(struct thr *t, struct slot *s, uint32_t pg)
{
	uint64_t buf[WORDS], v = fshadow[pg];
	const struct fslot *f = &fslots[s->file - 1];
	bool full = !v || (fstate[pg] & P_FULL);
	off_t off = (off_t)(pg - s->first) * PAGE;
	char e[64], g[64];
	ssize_t r;

	r = pread(f->fd, buf, PAGE, off);
	if (r != (ssize_t)PAGE) {
		fail(t, "pread of page %u of the file of slot %d (a %s) at offset %lld: %s", pg,
		     f->slot, f->kind, (long long)off, r < 0 ? strerror(errno) : "short");
		return;
	}
	t->n[N_PREADS]++;
	for (uint32_t i = 0; i < WORDS; i++) {
		if (!full && i && i != check_word(v))
			continue;
		if (buf[i] == word_val(v, i, full))
			continue;
		decode(e, sizeof(e), v);
		decode(g, sizeof(g), buf[i]);
		fail(t, "pread of page %u of the file of slot %d (a %s, mapped at %p; page %u a %s%s page) at offset %lld: word %u: expected %#llx (%s), found %#llx (%s)",
		     pg, f->slot, f->kind, region + (size_t)pg * PAGE, pg,
		     pstate[pg] & P_PRIV ? "MAP_PRIVATE " : "",
		     state_name[pstate[pg] & P_STATE], (long long)off, i,
		     (unsigned long long)word_val(v, i, full), e, (unsigned long long)buf[i],
		     g);
		return;
	}
}

/*
 * An op on one of the thread's file slots: fault its pages (read, write);
 * change the file behind the mapping (pwrite, or writes through the alias),
 * then read the pages through the slot - shared ones and private ones not
 * written must show the change; check the file with pread() and through
 * the alias; remap, mprotect or MADV_DONTNEED it.
 */
static void op_file(struct thr *t)
{
	struct slot *s = pick_file_slot(t);
	uint32_t x = rnd(t, 100), first, n, pg, i;

	if (!s) {
		op_touch(t);
		return;
	}
	if (x < 35) {
		t->op = "file-touch";
		for (i = 1 + rnd(t, 16); i && !t->failed; i--)
			access_page(t, region_page(s->first + rnd(t, s->pages)), rnd(t, 2));
	} else if (x < 55) {
		t->op = "file-update";
		pick_range(t, s, &first, &n);
		for (pg = first; pg < first + n && !t->failed; pg++) {
			if (rnd(t, 2))
				file_pwrite(t, s, pg);
			else
				access_page(t, alias_page(pg), true);
		}
		touch_range(t, first, n, false);
	} else if (x < 75) {
		t->op = "file-check";
		pick_range(t, s, &first, &n);
		for (pg = first; pg < first + n && !t->failed; pg++) {
			file_pread(t, s, pg);
			access_page(t, alias_page(pg), false);
		}
	} else if (x < 88) {
		mmap_slot(t, s);
	} else if (x < 94) {
		mprotect_slot(t, s);
	} else {
		madvise_slot(t, s);
	}
}

/* ---- race pairs ---------------------------------------------------------- */

static void ring_put(struct race *r, uint32_t e, int from, int to, int op, uint32_t zap_from,
		     uint32_t zap_to)
{
	struct race_epoch *h = &r->ring[e % RING];

	__atomic_store_n(&h->from, from, __ATOMIC_RELAXED);
	__atomic_store_n(&h->to, to, __ATOMIC_RELAXED);
	__atomic_store_n(&h->op, op, __ATOMIC_RELAXED);
	__atomic_store_n(&h->zap_from, zap_from, __ATOMIC_RELAXED);
	__atomic_store_n(&h->zap_to, zap_to, __ATOMIC_RELAXED);
}

static struct race_epoch ring_get(struct race *r, uint32_t e)
{
	struct race_epoch *h = &r->ring[e % RING];

	return (struct race_epoch){
		.from = __atomic_load_n(&h->from, __ATOMIC_RELAXED),
		.to = __atomic_load_n(&h->to, __ATOMIC_RELAXED),
		.op = __atomic_load_n(&h->op, __ATOMIC_RELAXED),
		.zap_from = __atomic_load_n(&h->zap_from, __ATOMIC_RELAXED),
		.zap_to = __atomic_load_n(&h->zap_to, __ATOMIC_RELAXED),
	};
}

static char *race_addr(struct race *r, uint32_t i)
{
	return region + (size_t)(r->first + i) * PAGE;
}

/* A change in words: "mprotect(PROT_READ)", "munmap". */
static void change_name(char *buf, size_t len, int op, int to)
{
	if (op == R_MMAP || op == R_MPROTECT)
		snprintf(buf, len, "%s(%s)", race_op_name[op], state_name[to]);
	else
		snprintf(buf, len, "%s", race_op_name[op]);
}

/* The outcomes a state allows: bit 0 success, 1 SEGV_MAPERR, 2 SEGV_ACCERR. */
static unsigned int race_allowed(int st, bool write)
{
	if (st == P_UNMAPPED)
		return 2;
	if (st == P_NONE || (st == P_RO && write))
		return 4;
	return 1;
}

static unsigned int race_allowed_any(unsigned int states, bool write)
{
	unsigned int ok = 0;

	for (int st = P_UNMAPPED; st <= P_RW; st++)
		if (states & 1u << st)
			ok |= race_allowed(st, write);
	return ok;
}

static unsigned int outcome_bit(int got)
{
	return !got ? 1 : got == SEGV_MAPERR ? 2 : got == SEGV_ACCERR ? 4 : 8;
}

/* What was published from epoch e0 to e1: states, zap periods, changes. */
struct span {
	uint32_t e0, e1;
	unsigned int states;		/* bit per state */
	uint32_t zap_lo, zap_hi;
	char what[160];			/* the states, or the changes, in words */
};

static bool race_span(struct race *r, uint32_t e0, uint32_t e1, struct span *sp)
{
	struct race_epoch h;
	size_t n = 0;
	char c[48];

	sp->e0 = e0;
	sp->e1 = e1;
	sp->states = 0;
	sp->what[0] = '\0';
	if (e1 - e0 > RING - 4)
		return false;
	for (uint32_t e = e0; e != e1 + 1; e++) {
		h = ring_get(r, e);
		sp->states |= 1u << h.from | 1u << h.to;
		if (e == e0)
			n += snprintf(sp->what + n, sizeof(sp->what) - n, "%s",
				      state_name[h.from]);
		if (e & 1 && n < sizeof(sp->what)) {
			change_name(c, sizeof(c), h.op, h.to);
			n += snprintf(sp->what + n, sizeof(sp->what) - n, " -> %s%s", c,
				      e == e1 ? " (under way)" : "");
		}
		if (n >= sizeof(sp->what))
			n = sizeof(sp->what) - 1;
	}
	sp->zap_lo = ring_get(r, e0).zap_from;
	sp->zap_hi = ring_get(r, e1).zap_to;
	/* Seqlock-style: the ring entries read were not reused meanwhile. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&r->epoch, __ATOMIC_RELAXED) - e0 <= RING - 4;
}

static void states_name(char *buf, size_t len, unsigned int states)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int st = P_UNMAPPED; st <= P_RW && n < len; st++)
		if (states & 1u << st)
			n += snprintf(buf + n, len - n, "%s%s", n ? " or " : "", state_name[st]);
}

/*
 * One access to a race page: a load, or an xchg (one write fault, and the
 * old contents). Returns 0 or the SIGSEGV si_code, or -SIGBUS.
 */
static int race_probe(volatile uint64_t *p, bool write, uint64_t new, uint64_t *old)
{
	if (sigsetjmp(tp.env, 0))
		return tp.sig == SIGSEGV ? tp.code : -tp.sig;
	tp.lo = (uintptr_t)p;
	tp.hi = (uintptr_t)p + PAGE;
	tp.armed = 1;
	if (write)
		*old = __atomic_exchange_n((uint64_t *)p, new, __ATOMIC_SEQ_CST);
	else
		*old = *p;
	tp.armed = 0;
	return 0;
}

static void add_suspect(struct race *r, uint32_t i, const struct span *sp, bool write, int got)
{
	int k;

	for (k = 0; k < r->nsusp; k++)
		if (r->susp[k].page == i)
			break;
	if (k == MAX_SUSPECTS) {
		/* Full: the oldest goes unchecked. */
		memmove(r->susp, r->susp + 1, (MAX_SUSPECTS - 1) * sizeof(*r->susp));
		k = MAX_SUSPECTS - 1;
	} else if (k == r->nsusp) {
		r->nsusp++;
	}
	r->susp[k] = (struct suspect){ i, sp->e0, sp->e1, write, got };
}

/* Why a probe looks where it looks, for the error message. */
static void suspect_name(char *buf, size_t len, struct race *r, const struct suspect *s)
{
	struct span sp;

	buf[0] = '\0';
	if (!s)
		return;
	if (!race_span(r, s->e0, s->e1, &sp))
		snprintf(sp.what, sizeof(sp.what), "a change");
	snprintf(buf, len, "; its previous access, a %s that got %s, raced %s (epochs %u-%u)",
		 s->write ? "write" : "read", code_name(s->got), sp.what, s->e0, s->e1);
}

/*
 * Access page i of the race slot and check the outcome against every state
 * published during the access. Returns true if the epoch did not move; *e
 * is the epoch before, *gotp the outcome.
 */
static bool race_access(struct thr *t, struct race *r, uint32_t i, bool write,
			const struct suspect *why, uint32_t *e, int *gotp)
{
	volatile uint64_t *p = (volatile uint64_t *)race_addr(r, i);
	uint64_t val = 0, new = 0;
	uint32_t e0, e1;
	char st[96], ctx[256], f[80], w[80];
	bool zero_ok, val_ok;
	struct span sp;
	int got;

	e0 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
	if (write)
		new = (uint64_t)RACE_TAG << 56 | (uint64_t)r->pair << 48 | (uint64_t)i << 40 |
		      (uint64_t)(uint8_t)(r->wseq[i] + 1) << 32 | ring_get(r, e0).zap_from;
	got = race_probe(p, write, new, &val);
	/* The access (and its fault) is over before the epoch is read again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	e1 = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
	*e = e0;
	*gotp = got;
	t->n[N_RACE_ACCESSES]++;
	if (e1 != e0)
		t->n[N_RACES]++;
	if (!race_span(r, e0, e1, &sp)) {
		/* Too many changes to tell; ring[e1] is e1's or later, zap_to no less. */
		t->n[N_UNCHECKED]++;
		if (write && !got) {
			r->wval[i] = new;
			r->wzap[i] = ring_get(r, e1).zap_to;
			r->wsure[i] = false;
			r->wseq[i]++;
		}
		return false;
	}
	if (!(race_allowed_any(sp.states, write) & outcome_bit(got))) {
		states_name(st, sizeof(st), sp.states);
		suspect_name(ctx, sizeof(ctx), r, why);
		if (e0 == e1)
			fail(t, "race slot %d page %u at %p: %s got %s, but the slot was %s since before the access (epoch %u)%s%s",
			     r->pair, i, p, write ? "write" : "read", code_name(got), st, e0, ctx,
			     !got ? " - a fault installed a PTE behind an mprotect/munmap/mmap that had returned: is the range path taking its range lock?" :
			     "");
		else
			fail(t, "race slot %d page %u at %p: %s got %s, impossible while the slot went %s (epochs %u-%u)%s",
			     r->pair, i, p, write ? "write" : "read", code_name(got), sp.what, e0, e1,
			     ctx);
		return false;
	}
	if (!got) {
		/* 0 unless the last write is there for sure; that write unless zapped. */
		zero_ok = !(r->wval[i] && r->wsure[i] && r->wzap[i] == sp.zap_hi);
		val_ok = r->wval[i] && val == r->wval[i] &&
			 (int32_t)(r->wzap[i] - sp.zap_lo) >= 0;
		if (!(val ? val_ok : zero_ok)) {
			decode(f, sizeof(f), val);
			decode(w, sizeof(w), r->wval[i]);
			suspect_name(ctx, sizeof(ctx), r, why);
			fail(t, "race slot %d page %u at %p: %s found %#llx (%s), expected %s%#llx (%s%s, zap period %u) while the slot went %s (epochs %u-%u, zap periods %u-%u)%s",
			     r->pair, i, p, write ? "write" : "read", (unsigned long long)val, f,
			     zero_ok ? "0 or " : "", (unsigned long long)r->wval[i], w,
			     r->wsure[i] ? "" : ", maybe zapped", r->wzap[i], sp.what,
			     e0, e1, sp.zap_lo, sp.zap_hi,
			     ctx);
			return false;
		}
		if (write) {
			r->wval[i] = new;
			r->wzap[i] = sp.zap_hi;
			r->wsure[i] = sp.zap_lo == sp.zap_hi;
			r->wseq[i]++;
		}
	}
	if (e1 != e0)
		add_suspect(r, i, &sp, write, got);
	return e1 == e0;
}

/* Probe the pages whose last access raced a change: read, then write. */
static bool race_recheck(struct thr *t, struct race *r, uint32_t *e)
{
	struct suspect s[MAX_SUSPECTS];
	int n = r->nsusp, got;
	bool stable = true;
	uint32_t e0;

	t->op = "race-recheck";
	memcpy(s, r->susp, n * sizeof(*s));
	r->nsusp = 0;
	*e = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE);
	for (int k = 0; k < n && !t->failed; k++) {
		t->n[N_RECHECKS]++;
		stable &= race_access(t, r, s[k].page, false, &s[k], &e0, &got) && e0 == *e;
		if (!t->failed)
			stable &= race_access(t, r, s[k].page, true, &s[k], &e0, &got) &&
				  e0 == *e;
	}
	return stable;
}

/* Wait for the flipper to publish an epoch other than e (at most 10 ms). */
static void race_sleep(struct race *r, uint32_t e)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	__atomic_store_n(&r->sleeping, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->epoch, __ATOMIC_SEQ_CST) == e && !stop)
		syscall(SYS_futex, &r->epoch, FUTEX_WAIT_PRIVATE, e, &ts, NULL, 0);
	__atomic_store_n(&r->sleeping, 0, __ATOMIC_RELAXED);
}

/*
 * The toucher's step: recheck suspects once the state is stable; else
 * fault the next page not touched since the last zap - a write if the slot
 * is (or was until the change under way) read-write, a read if read-only.
 * Acknowledges an epoch seen stable (after an access to any page if there
 * is none to fault); then sleeps until the next epoch if there is nothing
 * left to fault.
 */
static void race_touch(struct thr *t, struct race *r)
{
	uint32_t e = __atomic_load_n(&r->epoch, __ATOMIC_ACQUIRE), cur, pg;
	struct race_epoch h = ring_get(r, e);
	bool stable, write, fresh, recheck;
	int got = 0;

	if (h.zap_to != r->seen_zap) {
		/* Zapped (or being zapped): every page is fresh again. */
		r->seen_zap = h.zap_to;
		__atomic_store_n(&r->cursor, 0, __ATOMIC_RELAXED);
	}
	cur = r->cursor;
	fresh = cur < r->pages && (h.from == P_RW || h.from == P_RO);
	recheck = !(e & 1) && r->nsusp;
	if (!recheck && !fresh && (e & 1 || r->ack == e)) {
		/* No page to fault, and nothing more to check. */
		race_sleep(r, e);
		return;
	}
	if (recheck) {
		stable = race_recheck(t, r, &e);
	} else {
		t->op = "race-touch";
		if (fresh) {
			pg = cur;
			write = h.from == P_RW ? rnd(t, 4) : !rnd(t, 8);
		} else {
			pg = rnd(t, r->pages);
			write = rnd(t, 2);
		}
		stable = race_access(t, r, pg, write, NULL, &e, &got);
		if (pg == cur && cur < r->pages && !got)
			__atomic_store_n(&r->cursor, cur + 1, __ATOMIC_RELAXED);
	}
	if (stable && !(e & 1) && !r->nsusp && !t->failed)
		__atomic_store_n(&r->ack, e, __ATOMIC_RELEASE);
}

/* The next change of the slot, from its state and how far the toucher got. */
static void race_pick(struct thr *t, struct race *r, int *op, int *to)
{
	bool full = __atomic_load_n(&r->cursor, __ATOMIC_RELAXED) >= r->pages * 3 / 4;
	uint32_t x = rnd(t, 100);
	int fresh = rnd(t, 2) ? P_RW : rnd(t, 2) ? P_RO : P_NONE;

	*to = r->state;
	if (r->state == P_UNMAPPED) {
		*op = R_MMAP;
		*to = rnd(t, 3) ? P_RW : fresh;
		return;
	}
	/* From read-write mostly what a fault must not outlive; zap when full. */
	if (r->state == P_RW && full)
		x = 60 + x * 2 / 5;
	if (r->state == P_RW && x < 50) {
		*op = R_MPROTECT;
		*to = x < 35 ? P_RO : P_NONE;
	} else if (x < 55) {
		*op = R_MPROTECT;
		*to = x < 45 ? P_RW : r->state == P_RO ? P_NONE : P_RO;
	} else if (x < 65) {
		*op = R_MUNMAP;
		*to = P_UNMAPPED;
	} else if (x < 82) {
		*op = R_DONTNEED;
	} else {
		*op = R_MMAP;
		*to = fresh;
	}
}

static int race_syscall(struct race *r, int op, int to)
{
	char *a = race_addr(r, 0), *p;
	size_t len = (size_t)r->pages * PAGE;

	switch (op) {
	case R_MMAP:
		p = mmap(a, len, state_prot[to], MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != MAP_FAILED && p != a)
			errno = EFAULT;
		return p == a ? 0 : -1;
	case R_MPROTECT:
		return mprotect(a, len, state_prot[to]);
	case R_MUNMAP:
		return munmap(a, len);
	default:
		return madvise(a, len, MADV_DONTNEED);
	}
}

static void race_publish(struct race *r, uint32_t e)
{
	__atomic_store_n(&r->epoch, e, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->sleeping, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &r->epoch, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Wait until the toucher saw epoch e stable (it rechecked what raced the
 * change), then a random while, so that the next change hits its faults
 * at random points.
 */
static void race_dwell(struct thr *t, struct race *r, uint32_t e)
{
	uint64_t start = now_ns(), now = start, pause;

	while ((int32_t)(__atomic_load_n(&r->ack, __ATOMIC_ACQUIRE) - e) < 0 && !stop) {
		now = now_ns();
		if (now - start > ACK_TIMEOUT_NS) {
			t->n[N_ACK_TIMEOUTS]++;
			break;
		}
		if (now - start > ACK_SPIN_NS)
			sched_yield();
	}
	for (start = now, pause = rnd(t, DWELL_NS); now - start < pause && !stop; )
		now = now_ns();
}

/*
 * The flipper's step: publish the change as under way (odd epoch), make
 * it, publish the new state (even epoch) once the syscall returned.
 */
static void race_flip(struct thr *t, struct race *r)
{
	uint32_t e = r->epoch, zap;
	char what[48];
	int op, to;

	race_pick(t, r, &op, &to);
	zap = r->zap + (op != R_MPROTECT);
	ring_put(r, e + 1, r->state, to, op, r->zap, zap);
	ring_put(r, e + 2, to, to, op, zap, zap);
	t->op = race_op_name[op];
	race_publish(r, e + 1);
	if (race_syscall(r, op, to)) {
		change_name(what, sizeof(what), op, to);
		fail(t, "race slot %d: %s of %p, %u pages: %s", r->pair, what, race_addr(r, 0),
		     r->pages, strerror(errno));
		return;
	}
	race_publish(r, e + 2);
	r->state = to;
	r->zap = zap;
	t->n[N_FLIPS]++;
	race_dwell(t, r, e + 2);
}

/* ---- the threads --------------------------------------------------------- */

static void do_op(struct thr *t)
{
	uint32_t r = rnd(t, 100);

	if (t->id == 0 && rnd(t, 8) == 0) {
		op_brk(t);
		return;
	}
	/* The fork thread forks as its second op, then every 32nd on average. */
	if (t->id == fork_thread && (t->n[N_OPS] == 2 || rnd(t, 32) == 0)) {
		op_fork(t);
		return;
	}
	if (r < 14)
		op_file(t);
	else if (r < 70)
		op_touch(t);
	else if (r < 79)
		op_mprotect(t);
	else if (r < 87)
		op_mmap(t);
	else if (r < 89)
		op_munmap(t);
	else if (r < 95)
		op_madvise(t);
	else
		op_pinch(t);
}

static void *worker(void *arg)
{
	struct thr *t = arg;
	char *cur;

	self = t;
	pthread_barrier_wait(&start_barrier);
	if (t->id == 0 && t->role == ROLE_WORKER) {
		/* Page-align the heap's end, then it is ours until we put it back. */
		brk_orig = cur = sbrk(0);
		brk_base = (char *)(((uintptr_t)cur + PAGE - 1) & ~(PAGE - 1));
		if (brk_base != cur && sbrk(brk_base - cur) == (void *)-1)
			fail(t, "sbrk(%ld) to page-align the heap: %s", (long)(brk_base - cur),
			     strerror(errno));
	}
	while (!stop && !t->failed) {
		t->steps++;
		if (t->role == ROLE_FLIPPER) {
			race_flip(t, t->race);
		} else if (t->role == ROLE_TOUCHER) {
			race_touch(t, t->race);
		} else {
			t->n[N_OPS]++;
			do_op(t);
		}
	}
	if (t->id == 0 && t->role == ROLE_WORKER && brk_orig &&
	    sbrk(brk_orig - (char *)sbrk(0)) == (void *)-1)
		fail(t, "sbrk() back to %p: %s", brk_orig, strerror(errno));
	__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	/* Nobody exits (and frees its TLS) before the brk is back. */
	pthread_barrier_wait(&end_barrier);
	return NULL;
}

static void *map_or_die(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		say(2, "stress: mmap of %zu bytes: %s\n", len, strerror(errno));
		exit(2);
	}
	return p;
}

static long max_map_count(void)
{
	char buf[32] = "";
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	return n > 0 ? atol(buf) : 65530;
}

/* A tmpfs file: in /tmp (tmpfs in the VM) or, for odd k or if that fails, a memfd. */
static int open_file(int k, const char **kind)
{
	char name[] = "/tmp/mmlock-stress.XXXXXX";
	int fd = -1;

	if (k % 2 == 0) {
		fd = mkstemp(name);
		if (fd >= 0)
			unlink(name);
		*kind = "/tmp file";
	}
	if (fd < 0) {
		fd = memfd_create("mmlock-stress", 0);
		*kind = "memfd";
	}
	if (fd < 0) {
		say(2, "stress: memfd_create: %s\n", strerror(errno));
		exit(2);
	}
	return fd;
}

/*
 * Up to FILES_PER_THREAD of each worker's small slots become file slots:
 * a tmpfs file of the slot's size, mapped over it (MAP_SHARED or
 * MAP_PRIVATE, alternately) between the other threads' anonymous slots,
 * and once more elsewhere (MAP_SHARED, the alias).
 */
static void setup_files(uint64_t *rng)
{
	uint32_t owned, i, k;
	struct fslot *f;
	struct slot *s;
	size_t len;
	bool priv;

	fshadow = map_or_die(npages * sizeof(*fshadow), PROT_READ | PROT_WRITE);
	fstate = map_or_die(npages, PROT_READ | PROT_WRITE);
	memset(fstate, P_RW, npages);
	for (int t = 0; t < nthreads; t++) {
		owned = (nslots - t + nthreads - 1) / nthreads;
		for (i = 0, k = 0; i < owned && k < FILES_PER_THREAD; i++) {
			s = &slots[t + nthreads * i];
			if (s->pages >= PMD_PAGES || splitmix(rng) % 4 == 0)
				continue;
			f = &fslots[nfslots];
			f->slot = s - slots;
			f->fd = open_file(nfslots, &f->kind);
			len = (size_t)s->pages * PAGE;
			priv = (nfslots + nfslots / 2) % 2;
			if (ftruncate(f->fd, len) ||
			    mmap(region + (size_t)s->first * PAGE, len, PROT_READ | PROT_WRITE,
				 (priv ? MAP_PRIVATE : MAP_SHARED) | MAP_FIXED, f->fd,
				 0) == MAP_FAILED) {
				say(2, "stress: a %s for slot %ld: %s\n", f->kind,
				    (long)(s - slots), strerror(errno));
				exit(2);
			}
			f->alias = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
			if (f->alias == MAP_FAILED) {
				say(2, "stress: mmap of a %s: %s\n", f->kind, strerror(errno));
				exit(2);
			}
			set_range(s->first, s->pages, P_RW | (priv ? P_PRIV : 0), true);
			s->file = ++nfslots;
			k++;
			if (verbose)
				say(1,
				    "stress: slot %ld (%u pages at %p): a %s, MAP_%s, alias at %p\n",
				    (long)(s - slots), s->pages, region + (size_t)s->first * PAGE,
				    f->kind, priv ? "PRIVATE" : "SHARED", f->alias);
		}
	}
	fork_thread = nthreads > 1 ? 1 : 0;
}

/*
 * Slots of 4..64 pages, never across a 2 MB boundary, or 2 MB ones; race
 * slots of 16..64 pages spread over the middle of the region.
 */
static void setup_region(void)
{
	uint64_t rng = seed ^ 0x5eed;
	uint32_t pg = 0, huge = 0, n, to_pmd, race_at;
	int k = 0;
	size_t len = (size_t)npages * PAGE;
	char *raw = map_or_die(len + 3 * PMD, PROT_NONE);

	/* PROT_NONE guards of >= 2 MB stay on both sides. */
	region = (char *)(((uintptr_t)raw + 2 * PMD - 1) & ~(PMD - 1));
	if (mmap(region, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) != region) {
		say(2, "stress: mmap of the region: %s\n", strerror(errno));
		exit(2);
	}
	/* A change that fails half-way would leave a race slot unknown. */
	enomem_ok = (long)npages + 1024 > max_map_count();
	if (enomem_ok)
		race_pairs = 0;
	slots = map_or_die(npages * sizeof(*slots), PROT_READ | PROT_WRITE);
	shadow = map_or_die(npages * sizeof(*shadow), PROT_READ | PROT_WRITE);
	pstate = map_or_die(npages, PROT_READ | PROT_WRITE);
	memset(pstate, P_RW, npages);
	while (pg < npages) {
		to_pmd = PMD_PAGES - pg % PMD_PAGES;
		race_at = npages;
		if (k < race_pairs)
			race_at = (uint64_t)npages * (2 * k + 1) / (2 * race_pairs);
		if (k < race_pairs && to_pmd >= 16 && pg >= race_at) {
			n = 16 + splitmix(&rng) % (RACE_MAX_PAGES - 15);
			n = n < to_pmd ? n : to_pmd;
			races[k] = (struct race){ .pair = k, .first = pg, .pages = n,
						  .state = P_RW };
			ring_put(&races[k], 0, P_RW, P_RW, R_MMAP, 0, 0);
			k++;
			pg += n;
			continue;
		}
		if (to_pmd == PMD_PAGES && npages - pg >= PMD_PAGES && race_at >= pg + PMD_PAGES &&
		    splitmix(&rng) % 4 == 0) {
			n = PMD_PAGES;
			if (splitmix(&rng) % 2)
				madvise(region + (size_t)pg * PAGE, PMD, MADV_HUGEPAGE);
			huge++;
		} else {
			n = 4 + splitmix(&rng) % 61;
			n = n < to_pmd ? n : to_pmd;
			n = n < npages - pg ? n : npages - pg;
		}
		slots[nslots++] = (struct slot){ pg, n, 0 };
		pg += n;
	}
	if (k < race_pairs) {
		say(2, "stress: %d MB have room for %d race slots, not %d: raise --region-mb\n",
		    region_mb, k, race_pairs);
		exit(2);
	}
	if (nslots < (uint32_t)nthreads) {
		say(2, "stress: %d MB make %u slots, fewer than %d threads: raise --region-mb\n",
		    region_mb, nslots, nthreads);
		exit(2);
	}
	setup_files(&rng);
	if (verbose)
		say(1, "stress: region %p-%p: %u slots, %u of 2 MB, %d file slots; seed %llu%s\n",
		    region, region + len, nslots, huge, nfslots, seed,
		    enomem_ok ? "; ENOMEM tolerated" : "");
	for (k = 0; k < race_pairs && verbose; k++)
		say(1, "stress: race slot %d: %p, %u pages\n", k, race_addr(&races[k], 0),
		    races[k].pages);
}

static void usage(void)
{
	say(2, "usage: mmlock-stress [--seconds N] [--threads N (1-%d)] [--race-pairs N (0-%d)] [--seed S] [--region-mb N (2-1024)] [--verbose]\n",
	    MAX_THREADS, MAX_PAIRS);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "race-pairs", required_argument, NULL, 'p' },
		{ "seed", required_argument, NULL, 'S' },
		{ "region-mb", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_seed = false;
	int c;

	while ((c = getopt_long(argc, argv, "s:t:p:S:r:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			seconds = atoi(optarg);
			break;
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'p':
			race_pairs = atoi(optarg);
			break;
		case 'S':
			seed = strtoull(optarg, NULL, 0);
			have_seed = true;
			break;
		case 'r':
			region_mb = atoi(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			usage();
		}
	}
	if (optind < argc || seconds < 1 || nthreads < 1 || nthreads > MAX_THREADS ||
	    race_pairs < 0 || race_pairs > MAX_PAIRS || region_mb < 2 || region_mb > 1024)
		usage();
	region_mb = (region_mb + 1) & ~1;
	npages = (uint32_t)((size_t)region_mb << 20) / PAGE;
	if (!have_seed)
		seed = (unsigned long long)time(NULL) ^ ((unsigned long long)getpid() << 32);
}

/* Sleep to the deadline (or the first error), then wait for the threads. */
static void run_threads(void)
{
	int i, ticks;

	nall = nthreads + 2 * race_pairs;
	pthread_barrier_init(&start_barrier, NULL, nall);
	pthread_barrier_init(&end_barrier, NULL, nall + 1);
	start_ns = now_ns();
	for (i = 0; i < nall; i++) {
		threads[i].id = i;
		if (i >= nthreads) {
			threads[i].race = &races[(i - nthreads) / 2];
			threads[i].role = (i - nthreads) % 2 ? ROLE_TOUCHER : ROLE_FLIPPER;
		}
		threads[i].rng = seed ^ (0x1000193ULL * (i + 1));
		threads[i].op = "start";
		if (pthread_create(&threads[i].thread, NULL, worker, &threads[i])) {
			say(2, "stress: pthread_create failed\n");
			exit(2);
		}
	}
	for (ticks = 0; ticks < seconds * 10 && !stop; ticks++)
		usleep(100000);
	stop = 1;
	for (ticks = 0; ticks < HANG_SECONDS * 10; ticks++) {
		if (__atomic_load_n(&finished, __ATOMIC_SEQ_CST) == nall)
			break;
		usleep(100000);
	}
	if (ticks == HANG_SECONDS * 10) {
		say(2, "stress: ERROR seed=%llu threads=%d race-pairs=%d region-mb=%d: %d of %d threads still running %d s after the deadline (stuck in the kernel?)\n",
		    seed, nthreads, race_pairs, region_mb, nall - finished, nall, HANG_SECONDS);
		_exit(1);
	}
	pthread_barrier_wait(&end_barrier);
	for (i = 0; i < nall; i++)
		pthread_join(threads[i].thread, NULL);
}

/* The summary line: errors=0 is the only success. */
static void summary(void)
{
	unsigned long sum[NR_COUNTS] = {};
	char line[1024];
	struct rusage ru;
	struct thr *t;
	int i, j, len;

	for (i = 0; i < nall; i++) {
		t = &threads[i];
		for (j = 0; j < NR_COUNTS; j++)
			sum[j] += t->n[j];
		if (!verbose)
			continue;
		if (t->role == ROLE_FLIPPER)
			say(1, "stress: thread %d: race pair %d flipper: flips=%lu ack_timeouts=%lu%s\n",
			    i, t->race->pair, t->n[N_FLIPS], t->n[N_ACK_TIMEOUTS],
			    t->failed ? " FAILED" : "");
		else if (t->role == ROLE_TOUCHER)
			say(1, "stress: thread %d: race pair %d toucher: accesses=%lu races=%lu rechecks=%lu unchecked=%lu%s\n",
			    i, t->race->pair, t->n[N_RACE_ACCESSES], t->n[N_RACES],
			    t->n[N_RECHECKS], t->n[N_UNCHECKED], t->failed ? " FAILED" : "");
		else
			say(1, "stress: thread %d: ops=%lu checked=%lu segv=%lu%s\n", i,
			    t->n[N_OPS], t->n[N_CHECKED], t->n[N_SEGV], t->failed ? " FAILED" : "");
	}
	if (verbose && !getrusage(RUSAGE_SELF, &ru))
		say(1, "stress: %ld page faults handled (minor), %ld major; cpu user %ld.%02lds sys %ld.%02lds\n",
		    ru.ru_minflt, ru.ru_majflt, (long)ru.ru_utime.tv_sec,
		    (long)ru.ru_utime.tv_usec / 10000, (long)ru.ru_stime.tv_sec,
		    (long)ru.ru_stime.tv_usec / 10000);
	len = snprintf(line, sizeof(line), "stress: seconds=%d threads=%d race_pairs=%d seed=%llu",
		       seconds, nthreads, race_pairs, seed);
	for (j = 0; j < NR_COUNTS; j++)
		len += snprintf(line + len, sizeof(line) - len, " %s=%lu", count_name[j], sum[j]);
	say(1, "%s errors=%d\n", line, nerrors);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_NODEFER };

	parse_args(argc, argv);
	setup_region();
	brk_shadow = map_or_die(BRK_PAGES * sizeof(*brk_shadow), PROT_READ | PROT_WRITE);
	brk_state = map_or_die(BRK_PAGES, PROT_READ | PROT_WRITE);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	run_threads();
	summary();
	return nerrors ? 1 : 0;
}
