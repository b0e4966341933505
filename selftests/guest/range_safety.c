// SPDX-License-Identifier: GPL-2.0
/*
 * The range path must be safe to leave on (issue 13):
 *
 *   safety_slow_io       a file fault waiting for slow I/O holds no range:
 *                        fork, mremap, mlock and /proc/self/cmdline of the
 *                        same process do not wait for it;
 *   safety_kill_writer   a writer waiting for its range dies on SIGKILL;
 *   safety_hint_race     munmap racing the policy's VMA hint never ejects
 *                        the policy nor shows a kernel address;
 *   safety_window        no reader spins on a writer's VMA window that
 *                        can sleep (dup_anon_vma()).
 *
 * ops_errors.c's status_unprivileged checks that no address reaches an
 * unprivileged reader after an ejection.
 *
 * The injection knobs (CONFIG_MMLOCK_EXT_INJECT, debug kernel) widen the
 * races to milliseconds for this process only; without them the tests
 * that need them skip.
 */
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fine_util.h"

#define INJECT_DIR "/sys/kernel/debug/mmlock/"
#define SLOW_DISK "/dev/vdb"

static double ms_since(uint64_t t0)
{
	return (fine_now_ns() - t0) / 1e6;
}

/* Write v to the injection knob inject_<knob>; -1 if it is absent. */
static int inject(const char *knob, unsigned long v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), INJECT_DIR "inject_%s", knob);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fprintf(f, "%lu\n", v) < 0;
	return fclose(f) || ret ? -1 : 0;
}

static bool inject_available(void)
{
	return access(INJECT_DIR "inject_tgid", W_OK) == 0;
}

static void inject_off(void)
{
	inject("hint_delay_us", 0);
	inject("hold_fault_ms", 0);
	inject("window_sleep_us", 0);
	inject("tgid", 0);
}

static enum mmlock_test_status load(const char *policy)
{
	char out[1024];

	if (run_cmd_output(out, sizeof(out), "mmlock load %s 2>&1", policy)) {
		printf("#   mmlock load %s: %s", policy, out);
		return MMLOCK_TEST_FAIL;
	}
	return MMLOCK_TEST_PASS;
}

static void unload(void)
{
	run_cmd("mmlock unload >/dev/null 2>&1");
	wait_policy_gone();
}

/* Whether s holds something that looks like a kernel address. */
static bool has_kernel_address(const char *s)
{
	regex_t re;
	bool found;

	if (regcomp(&re, "(0x)?ffff[0-9a-f]{12}", REG_EXTENDED | REG_ICASE))
		return true;
	found = !regexec(&re, s, 0, NULL, 0);
	regfree(&re);
	return found;
}

static void cleanup_policy(void *ctx)
{
	inject_off();
	unload();
}

/* Register safety_NAME, run by NAME_run(); knobs and policy reset after. */
#define SAFETY_TEST(__name, __desc)                    \
	static struct mmlock_test __name##_test = {    \
		.name = "safety_" #__name,             \
		.description = __desc,                 \
		.run = __name##_run,                   \
		.cleanup = cleanup_policy,             \
	};                                             \
	REGISTER_MMLOCK_TEST(__name##_test)

/* ---- safety_slow_io ---------------------------------------------------- */

#define SLOW_LEN (4UL << 20)

struct slow_io {
	char *v;		/* MAP_SHARED of the throttled disk */
	volatile int done;	/* the faulter's read completed */
	volatile uint64_t word;
	double fault_ms;
};

static void *slow_faulter(void *arg)
{
	struct slow_io *s = arg;
	uint64_t t0 = fine_now_ns();

	s->word = *(volatile uint64_t *)(s->v + SLOW_LEN / 2);
	s->fault_ms = ms_since(t0);
	s->done = 1;
	return NULL;
}

/* The other tasks' ops, timed: what stock never makes wait for I/O. */
enum { OP_MLOCK, OP_FORK, OP_MREMAP, OP_CMDLINE, OP_NR };
static const char *const op_names[OP_NR] = { "mlock", "fork", "mremap",
					     "cmdline" };

static int run_op(int op, char *anon)
{
	char buf[256];
	pid_t pid;
	void *p;
	int fd, st;

	switch (op) {
	case OP_MLOCK:
		return mlock(anon, PAGE_SZ) || munlock(anon, PAGE_SZ);
	case OP_FORK:
		pid = fork();
		if (pid == 0)
			_exit(0);
		return pid < 0 || waitpid(pid, &st, 0) != pid;
	case OP_MREMAP:
		p = mremap(anon + PAGE_SZ, PAGE_SZ, 2 * PAGE_SZ,
			   MREMAP_MAYMOVE);
		if (p == MAP_FAILED)
			return 1;
		p = mremap(p, 2 * PAGE_SZ, PAGE_SZ, MREMAP_MAYMOVE | MREMAP_FIXED,
			   anon + PAGE_SZ);
		return p == MAP_FAILED;
	case OP_CMDLINE:
		fd = open("/proc/self/cmdline", O_RDONLY);
		if (fd < 0)
			return 1;
		st = read(fd, buf, sizeof(buf)) <= 0;
		close(fd);
		return st;
	}
	return 1;
}

/*
 * One round: drop the disk's cache, start a faulter on an uncached page,
 * and 100 ms later time each op. Returns -1 on a setup error.
 */
static int slow_round(int fd, char *anon, int op, double *op_ms,
		      double *fault_ms, bool *overlapped, bool *bad)
{
	struct slow_io s = { 0 };
	uint64_t t0;
	pthread_t t;

	s.v = mmap(NULL, SLOW_LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (s.v == MAP_FAILED || posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return -1;
	/*
	 * The first read after a quiet spell passes the throttle at once
	 * and fills its bucket: let it be ours, so that the faulter's waits.
	 */
	(void)*(volatile char *)(s.v + SLOW_LEN - PAGE_SZ);
	if (pthread_create(&t, NULL, slow_faulter, &s))
		return -1;
	usleep(100 * 1000);
	/* The op starts while the faulter waits for the disk. */
	*overlapped = !s.done;
	t0 = fine_now_ns();
	if (run_op(op, anon))
		*bad = true;
	*op_ms = ms_since(t0);
	pthread_join(t, NULL);
	*fault_ms = s.fault_ms;
	if (s.word != 0x5a5a5a5a5a5a5a5aULL)
		*bad = true;
	munmap(s.v, SLOW_LEN);
	return 0;
}

static enum mmlock_test_status slow_io_run(void *ctx)
{
	static const char *const policies[2] = { NULL, "anon2m" };
	double worst[2][OP_NR] = { { 0 } }, fault_ms[2] = { 0 };
	long long retry0 = mmlock_stat("retry_range");
	char *anon, *page;
	int fd;

	fd = open(SLOW_DISK, O_RDWR);
	if (fd < 0)
		SKIP("no throttled disk %s (run-vm.sh gives one)", SLOW_DISK);
	/* The pattern, written once and synced (writes are not throttled). */
	page = malloc(SLOW_LEN);
	CHECK(page, "out of memory");
	memset(page, 0x5a, SLOW_LEN);
	CHECK(pwrite(fd, page, SLOW_LEN, 0) == (ssize_t)SLOW_LEN, "%s",
	      strerror(errno));
	free(page);
	CHECK(fsync(fd) == 0, "%s", strerror(errno));

	anon = map_anon_isolated(4 * PAGE_SZ);
	CHECK(anon, "out of memory");
	memset(anon, 1, 4 * PAGE_SZ);

	for (int k = 0; k < 2; k++) {
		if (policies[k] && load(policies[k]) != MMLOCK_TEST_PASS)
			return MMLOCK_TEST_FAIL;
		for (int op = 0; op < OP_NR; op++) {
			bool overlapped = false, bad = false;
			double ms, f;

			CHECK(slow_round(fd, anon, op, &ms, &f, &overlapped,
					 &bad) == 0,
			      "round setup: %s", strerror(errno));
			CHECK(!bad, "%s failed or the page read wrong (%s)",
			      op_names[op], policies[k] ? policies[k] : "no policy");
			printf("#   %s: %s %.1f ms during a fault of %.0f ms\n",
			       policies[k] ? policies[k] : "no policy",
			       op_names[op], ms, f);
			CHECK(overlapped, "the I/O was too fast to overlap (%.0f ms)",
			      f);
			worst[k][op] = ms;
			if (f > fault_ms[k])
				fault_ms[k] = f;
		}
		if (policies[k]) {
			CHECK(mmlock_enabled(policies[k]), "%s was ejected",
			      policies[k]);
			unload();
		}
	}
	CHECK(mmlock_stat("retry_range") > retry0,
	      "no I/O fault retried on the range path under anon2m");
	/* Stock never waits for the I/O: at most 50 ms more than it. */
	for (int op = 0; op < OP_NR; op++)
		CHECK(worst[1][op] <= worst[0][op] + 50,
		      "%s took %.1f ms under anon2m, %.1f ms with no policy (the I/O: %.0f ms)",
		      op_names[op], worst[1][op], worst[0][op], fault_ms[1]);
	close(fd);
	return MMLOCK_TEST_PASS;
}

SAFETY_TEST(slow_io,
	    "a file fault waiting for slow I/O holds no range: other tasks' mlock/fork/mremap do not wait");

/* ---- safety_kill_writer ------------------------------------------------ */

#define HOLD_MS 3000

struct hold {
	char *p;
	volatile int go, done;
};

static void *hold_faulter(void *arg)
{
	struct hold *h = arg;

	while (!h->go)
		;
	h->p[0] = 1;	/* a range fault that holds its range HOLD_MS */
	h->done = 1;
	return NULL;
}

struct writer_arg {
	char *p;
	int op;	/* 0: munmap, 1: mmap MAP_FIXED */
};

/*
 * A task sharing our mm but not our thread group, so that SIGKILL ends it
 * alone: it unmaps or maps a page of the range the faulter holds.
 */
static int writer_fn(void *arg)
{
	struct writer_arg *w = arg;

	if (w->op == 0)
		syscall(SYS_munmap, w->p, PAGE_SZ);
	else
		syscall(SYS_mmap, w->p, PAGE_SZ, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	syscall(SYS_exit, 0);
	return 0;
}

static enum mmlock_test_status kill_writer_run(void *ctx)
{
	static char stacks[2][64 << 10] __attribute__((aligned(16)));

	if (!inject_available())
		SKIP("no %sinject_* (CONFIG_MMLOCK_EXT_INJECT)", INJECT_DIR);
	memset(stacks, 0, sizeof(stacks));
	if (load("anon2m") != MMLOCK_TEST_PASS)
		return MMLOCK_TEST_FAIL;
	for (int op = 0; op < 2; op++) {
		struct writer_arg w;
		struct hold h = { 0 };
		pthread_t t;
		uint64_t t0;
		double kill_ms;
		char *base;
		int st;
		pid_t pid;

		base = map_anon_isolated(2 * PMD_SZ);
		CHECK(base, "out of memory");
		/* A PMD region: the faulter's range, the writer's page. */
		h.p = (char *)(((uintptr_t)base + PMD_SZ - 1) & ~(PMD_SZ - 1));
		/* The first fault gives the VMA an anon_vma (stock path). */
		h.p[PAGE_SZ] = 1;
		madvise(h.p, PMD_SZ, MADV_DONTNEED);
		CHECK(pthread_create(&t, NULL, hold_faulter, &h) == 0, "thread");
		usleep(50 * 1000);
		CHECK(inject("tgid", getpid()) == 0 &&
		      inject("hold_fault_ms", HOLD_MS) == 0, "inject");
		h.go = 1;
		usleep(300 * 1000);
		CHECK(!h.done, "the faulter did not hold its range");
		w = (struct writer_arg){ .p = h.p + 8 * PAGE_SZ, .op = op };
		pid = clone(writer_fn, stacks[op] + sizeof(stacks[op]),
			    CLONE_VM | SIGCHLD, &w);
		CHECK(pid > 0, "clone: %s", strerror(errno));
		usleep(300 * 1000);
		t0 = fine_now_ns();
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
		kill_ms = ms_since(t0);
		pthread_join(t, NULL);
		inject_off();
		printf("#   %s blocked on its range: died %.1f ms after SIGKILL (range held %d ms)\n",
		       op ? "mmap" : "munmap", kill_ms, HOLD_MS);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		      "the writer was not killed (status %#x)", st);
		CHECK(kill_ms < 500,
		      "SIGKILL took %.0f ms to end a writer waiting for its range",
		      kill_ms);
		munmap(base, 2 * PMD_SZ);
	}
	CHECK(mmlock_enabled("anon2m"), "anon2m was ejected");
	return MMLOCK_TEST_PASS;
}

SAFETY_TEST(kill_writer,
	    "mmap/munmap waiting for a range held by a fault die promptly on SIGKILL");

/* ---- safety_hint_race -------------------------------------------------- */

#define RACE_SECONDS 10
#define RACE_LEN (64UL << 10)

struct race {
	char *x;
	int fd;
	volatile int stop;
	unsigned long faults, remaps, errors;
};

static void *race_faulter(void *arg)
{
	struct race *r = arg;

	/* MAP_FIXED replaces x in one go: it is always mapped. */
	while (!r->stop) {
		(void)*(volatile char *)r->x;
		r->faults++;
	}
	return NULL;
}

static void *race_remapper(void *arg)
{
	struct race *r = arg;

	while (!r->stop) {
		if (mmap(r->x, RACE_LEN, PROT_READ, MAP_SHARED | MAP_FIXED,
			 r->fd, 0) != r->x)
			r->errors++;
		r->remaps++;
		usleep(200);
	}
	return NULL;
}

static enum mmlock_test_status hint_race_run(void *ctx)
{
	long long errs0 = mmlock_stat("policy_errors");
	long long range0 = mmlock_stat("decide_range");
	struct race r = { 0 };
	char msg[512] = "", state[64] = "";
	pthread_t a, b;

	if (!inject_available())
		SKIP("no %sinject_* (CONFIG_MMLOCK_EXT_INJECT)", INJECT_DIR);
	r.fd = memfd_create("hint_race", 0);
	CHECK(r.fd >= 0 && ftruncate(r.fd, RACE_LEN) == 0, "memfd");
	r.x = mmap(NULL, RACE_LEN, PROT_READ, MAP_SHARED, r.fd, 0);
	CHECK(r.x != MAP_FAILED, "mmap");
	if (load("anon2m") != MMLOCK_TEST_PASS)
		return MMLOCK_TEST_FAIL;
	/* The hint stalls 1 ms between finding the VMA and reading it. */
	CHECK(inject("tgid", getpid()) == 0 &&
	      inject("hint_delay_us", 1000) == 0, "inject");
	pthread_create(&a, NULL, race_faulter, &r);
	pthread_create(&b, NULL, race_remapper, &r);
	for (int s = 0; s < RACE_SECONDS && mmlock_enabled("anon2m"); s++)
		sleep(1);
	r.stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	inject_off();
	mmlock_status("state", state, sizeof(state));
	run_cmd_output(msg, sizeof(msg), "cat /sys/kernel/mmlock/status /sys/kernel/mmlock/exit_msg 2>/dev/null");
	printf("#   %lu faults, %lu remaps, %lld range decisions, state %s\n",
	       r.faults, r.remaps, mmlock_stat("decide_range") - range0,
	       state);
	CHECK(!has_kernel_address(msg), "a kernel address is shown: %s", msg);
	CHECK(mmlock_enabled("anon2m"), "anon2m was ejected: %s", msg);
	CHECK(mmlock_stat("policy_errors") == errs0,
	      "%lld answers rejected", mmlock_stat("policy_errors") - errs0);
	CHECK(r.errors == 0, "%lu remaps failed", r.errors);
	CHECK(r.remaps > 100 && r.faults > 100, "too little racing");
	return MMLOCK_TEST_PASS;
}

SAFETY_TEST(hint_race,
	    "munmap racing the policy's VMA hint never ejects the policy or shows a kernel address");

/* ---- safety_window ----------------------------------------------------- */

#define WINDOW_SECONDS 4

struct window {
	char *region;		/* the faulter's, PMD_SZ */
	char *slot;		/* the writer's, far away */
	volatile int stop;
	unsigned long faults, merges, bad;
	int step, failed_step;	/* the writer's, for a failure */
};

static void *window_faulter(void *arg)
{
	struct window *w = arg;

	while (!w->stop) {
		for (size_t i = 0; i < PMD_SZ; i += PAGE_SZ)
			w->region[i] = (char)(i >> 12) | 1;
		for (size_t i = 0; i < PMD_SZ; i += PAGE_SZ)
			if (w->region[i] != ((char)(i >> 12) | 1))
				w->bad++;
		w->faults += PMD_SZ / PAGE_SZ;
		madvise(w->region, PMD_SZ, MADV_DONTNEED);
	}
	return NULL;
}

/*
 * Three read-only pages merged by an mprotect of the middle one: A (no
 * anon_vma), B (no anon_vma, mprotected), C (written: an anon_vma). A
 * expands over B and C and gets C's anon_vma through dup_anon_vma().
 * MAP_NORESERVE: no VM_ACCOUNT, which mprotect drops from A and B only.
 */
static void *window_writer(void *arg)
{
	struct window *w = arg;
	char *a = w->slot, *b = a + PAGE_SZ, *c = b + PAGE_SZ;
	const int rw = PROT_READ | PROT_WRITE;
	const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED |
			  MAP_NORESERVE;

	while (!w->stop) {
		w->step = 1;
		if (munmap(a, 3 * PAGE_SZ))
			break;
		w->step = 2;
		if (mmap(a, PAGE_SZ, PROT_READ, flags, -1, 0) != a)
			break;
		w->step = 3;
		if (mmap(c, PAGE_SZ, rw, flags, -1, 0) != c)
			break;
		*c = 1;
		if (mprotect(c, PAGE_SZ, PROT_READ))
			break;
		w->step = 4;
		if (mmap(b, PAGE_SZ, rw, flags, -1, 0) != b ||
		    mprotect(b, PAGE_SZ, PROT_READ))
			break;
		/* Once: that the three did merge. */
		w->step = 5;
		if (!w->merges && fine_count_vmas(a, c + PAGE_SZ) != 1)
			break;
		w->merges++;
	}
	if (!w->stop) {
		w->failed_step = w->step;
		w->bad++;
	}
	return NULL;
}

static enum mmlock_test_status window_run(void *ctx)
{
	long long long0 = mmlock_stat("window_long_wait");
	long long range0 = mmlock_stat("path_range");
	struct window w = { 0 };
	pthread_t a, b;
	long long longw;

	if (!inject_available())
		SKIP("no %sinject_* (CONFIG_MMLOCK_EXT_INJECT)", INJECT_DIR);
	w.region = map_anon_isolated(PMD_SZ);
	/* PROT_NONE around the slot: A and B merge with nothing else. */
	w.slot = mmap(NULL, 64 * PMD_SZ, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(w.region && w.slot != MAP_FAILED, "out of memory");
	w.slot += 32 * PMD_SZ;
	w.region[0] = 1;	/* the anon_vma, on the stock path */
	if (load("anon2m") != MMLOCK_TEST_PASS)
		return MMLOCK_TEST_FAIL;
	/* dup_anon_vma()'s window sleeps 1 ms, as if in reclaim. */
	CHECK(inject("tgid", getpid()) == 0 &&
	      inject("window_sleep_us", 1000) == 0, "inject");
	pthread_create(&b, NULL, window_writer, &w);
	pthread_create(&a, NULL, window_faulter, &w);
	sleep(WINDOW_SECONDS);
	w.stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	inject_off();
	longw = mmlock_stat("window_long_wait") - long0;
	printf("#   %lu faults (%lld on the range path), %lu merges through dup_anon_vma(), %lld long window waits\n",
	       w.faults, mmlock_stat("path_range") - range0, w.merges, longw);
	CHECK(w.bad == 0, "%lu wrong pages or failed syscalls (writer step %d)",
	      w.bad, w.failed_step);
	CHECK(w.merges > 50 && w.faults > 1000, "too little work");
	CHECK(mmlock_enabled("anon2m"), "anon2m was ejected");
	/* A loaded host may stall a vCPU in a short window now and then. */
	CHECK(longw <= 3 + (long long)w.merges / 100,
	      "%lld readers waited > 100 us for a window", longw);
	return MMLOCK_TEST_PASS;
}

SAFETY_TEST(window,
	    "readers never spin on a VMA window that sleeps (dup_anon_vma)");
