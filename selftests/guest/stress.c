// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-stress (selftests/tools/stress.c: 4 threads fault, mmap, munmap,
 * mprotect, madvise and brk their own ranges inside shared VMAs, every access
 * checked, some of the ranges MAP_SHARED or MAP_PRIVATE tmpfs files checked
 * against pread() and a second mapping too, and one thread forking children
 * that COW and check its pages while it writes them; and one race pair, a
 * flipper that mprotects, munmaps, remaps and MADV_DONTNEEDs a slot while a
 * toucher faults the same pages, every access checked against the states
 * published around it) under each way of locking faults: no policy, coarse,
 * stock, anon2m, and the policy hot-swapped every ~300 ms among stock,
 * anon2m, adaptive and coarse. A phase fails if the stress finds an error
 * (under anon2m, a range fault that skips its range lock leaves a PTE behind
 * an mprotect or munmap, and the race pair sees it within a second or so; a
 * fork child that sees its parent's writes, or the parent its child's, or a
 * private file write that reaches the file, is an error too), hangs or does
 * too little (every kind of op, forks and file ops included, must have
 * run), if the policy is ejected, or if the range path is not used (anon2m,
 * swapping) or used without a RANGE policy. Under anon2m (not swapped) its
 * file_range counter must show that file faults were sent to the range
 * path. The deltas of the path_*, retry_range, hint_torn and
 * fallback_range_* counters are printed for the CI log.
 *
 * MMLOCK_STRESS_SECONDS (default 20) is the length of each phase;
 * MMLOCK_STRESS_SEED replays a seed printed by a failed run.
 */
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "mmlock_test.h"
#include "util.h"

#define MAX_STATS 64
#define SWAP_MS 300
/* The stress reports its threads hung 30 s after its deadline: wait 90. */
#define GRACE_SECONDS 90
/*
 * The debug kernel under TCG (KASAN, lockdep) manages 60-300 ops/s in all
 * besides the race pair's, which take about a third of the CPU.
 */
#define MIN_OPS_PER_SECOND 20

struct phase {
	const char *policy;	/* NULL: no policy */
	bool swapping;		/* swap policies during the stress */
	bool range;		/* faults must complete on the range path */
	pid_t swapper;
	struct swapper *sw;
};

/* Shared with the swapping child. */
struct swapper {
	volatile int stop;
	unsigned long swaps, failures;
	char last_error[512];
};

struct stats {
	int n;
	char name[MAX_STATS][48];
	long long val[MAX_STATS];
};

static char out[16384];

/* text with its later lines made TAP comments too, for FAIL(). */
static const char *tap(const char *text)
{
	static char buf[2 * sizeof(out)];
	size_t n = 0;

	for (; *text && n < sizeof(buf) - 8; text++) {
		if (*text != '\n') {
			buf[n++] = *text;
		} else if (text[1]) {
			memcpy(buf + n, "\n#     ", 7);
			n += 7;
		}
	}
	buf[n] = '\0';
	return buf;
}

static int stress_seconds(void)
{
	const char *s = getenv("MMLOCK_STRESS_SECONDS");
	int v = s ? atoi(s) : 0;

	return v > 0 ? v : 20;
}

static void read_stats(struct stats *s)
{
	FILE *f = fopen("/sys/kernel/mmlock/stats", "r");

	s->n = 0;
	if (!f)
		return;
	while (s->n < MAX_STATS &&
	       fscanf(f, "%47s %lld", s->name[s->n], &s->val[s->n]) == 2)
		s->n++;
	fclose(f);
}

static long long stat_of(const struct stats *s, const char *name)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return s->val[i];
	return -1;
}

static long long delta(const struct stats *a, const struct stats *b, const char *name)
{
	long long before = stat_of(a, name), after = stat_of(b, name);

	return after < 0 ? -1 : after - (before < 0 ? 0 : before);
}

/* The counters that show which path the faults took, and why not range. */
static void print_deltas(const struct stats *a, const struct stats *b)
{
	static const char *const paths[] = { "path_range", "path_vma", "path_coarse",
					     "retry_range", "hint_torn" };

	for (int i = 0; i < 5; i++) {
		if (stat_of(b, paths[i]) < 0)
			printf("#   %s: absent\n", paths[i]);
		else
			printf("#   %s +%lld\n", paths[i], delta(a, b, paths[i]));
	}
	for (int i = 0; i < b->n; i++)
		if (!strncmp(b->name[i], "fallback_range_", 15))
			printf("#   %s +%lld\n", b->name[i], delta(a, b, b->name[i]));
}

/* A number from the stress's summary line ("... NAME=VALUE ..."); -1 if absent. */
static long long summary_field(const char *text, const char *name)
{
	const char *line = strstr(text, "stress: seconds="), *p;
	char key[32];

	if (!line)
		return -1;
	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	return p ? atoll(p + strlen(key)) : -1;
}

/* A policy counter from "mmlock stats --json"; -1 if absent. */
static long long policy_counter(const char *name)
{
	static char buf[8192];
	char key[64];
	const char *p;

	if (run_cmd_output(buf, sizeof(buf), "mmlock stats --json 2>&1"))
		return -1;
	snprintf(key, sizeof(key), "\"%s\": ", name);
	p = strstr(buf, key);
	return p ? atoll(p + strlen(key)) : -1;
}

/* The child: swap to the next policy every SWAP_MS until told to stop. */
static void swap_loop(struct swapper *sw)
{
	static const char *const cycle[] = { "stock", "anon2m", "adaptive", "coarse" };
	static char buf[4096];

	/* anon2m is loaded: start with adaptive, never swap to the same one. */
	for (int i = 2; !sw->stop; i++) {
		usleep(SWAP_MS * 1000);
		if (sw->stop)
			break;
		if (run_cmd_output(buf, sizeof(buf), "mmlock swap %s 2>&1", cycle[i % 4])) {
			sw->failures++;
			snprintf(sw->last_error, sizeof(sw->last_error), "swap %s: %s",
				 cycle[i % 4], buf);
		} else {
			sw->swaps++;
		}
	}
	_exit(0);
}

static void stop_swapper(struct phase *ph)
{
	if (!ph->swapper)
		return;
	ph->sw->stop = 1;
	waitpid(ph->swapper, NULL, 0);
	ph->swapper = 0;
}

/*
 * Run mmlock-stress, its stdout and stderr into out. Returns its exit status,
 * or -1 if it did not exit GRACE_SECONDS after its deadline (then killed).
 */
static int run_stress(int seconds)
{
	const char *seed = getenv("MMLOCK_STRESS_SEED");
	time_t deadline = time(NULL) + seconds + GRACE_SECONDS;
	char secs[16], sink[256];
	size_t n = 0;
	int pfd[2], st;
	bool eof = false;
	pid_t pid;

	snprintf(secs, sizeof(secs), "%d", seconds);
	fflush(stdout);
	if (pipe(pfd))
		return -2;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execlp("mmlock-stress", "mmlock-stress", "--seconds", secs, "--threads", "4",
		       "--race-pairs", "1", seed ? "--seed" : NULL, seed, NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (!eof && time(NULL) < deadline) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (n < sizeof(out) - 1)
			r = read(pfd[0], out + n, sizeof(out) - 1 - n);
		else
			r = read(pfd[0], sink, sizeof(sink));
		if (r <= 0)
			eof = true;
		else if (n < sizeof(out) - 1)
			n += r;
	}
	out[n] = '\0';
	close(pfd[0]);
	if (!eof) {
		/* Threads stuck in the kernel may keep it from dying: do not wait. */
		kill(pid, SIGKILL);
		for (int i = 0; i < 50 && waitpid(pid, &st, WNOHANG) == 0; i++)
			usleep(100000);
		return -1;
	}
	if (waitpid(pid, &st, 0) != pid)
		return -2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * The stress ran every kind of op, as much as a slow VM allows, and its race
 * pair had accesses overlap the flipper's changes.
 */
static bool did_work(int seconds)
{
	static const char *const ops[] = {
		"faults_checked", "segv_expected", "mmap", "munmap", "mprotect", "madvise", "brk",
		"flips", "race_accesses", "races", "forks", "fork_pages", "file_checked",
		"file_mmap", "file_writes", "file_preads",
	};

	if (summary_field(out, "ops") < (long long)MIN_OPS_PER_SECOND * seconds)
		return false;
	for (int i = 0; i < (int)(sizeof(ops) / sizeof(ops[0])); i++)
		if (summary_field(out, ops[i]) <= 0)
			return false;
	return summary_field(out, "errors") == 0;
}

static enum mmlock_test_status load_policy(struct phase *ph)
{
	if (!ph->policy)
		return MMLOCK_TEST_PASS;
	CHECK(run_cmd_output(out, sizeof(out), "mmlock load %s 2>&1", ph->policy) == 0 &&
		      mmlock_enabled(ph->policy),
	      "mmlock load %s: %s", ph->policy, tap(out));
	if (!ph->swapping)
		return MMLOCK_TEST_PASS;
	ph->sw = mmap(NULL, sizeof(*ph->sw), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(ph->sw != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(ph->sw, 0, sizeof(*ph->sw));
	fflush(stdout);
	ph->swapper = fork();
	CHECK(ph->swapper >= 0, "fork: %s", strerror(errno));
	if (ph->swapper == 0)
		swap_loop(ph->sw);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status check_policy(struct phase *ph, int seconds,
					    const struct stats *a, const struct stats *b)
{
	char reason[256] = "";
	long long range = delta(a, b, "path_range");

	if (!ph->policy)
		return MMLOCK_TEST_PASS;
	mmlock_status("exit_reason", reason, sizeof(reason));
	CHECK(mmlock_enabled(ph->swapping ? NULL : ph->policy),
	      "the policy is gone after the stress: exit_reason %s", reason);
	CHECK(delta(a, b, "policy_errors") <= 0, "%lld policy errors",
	      delta(a, b, "policy_errors"));
	if (ph->swapping) {
		printf("#   %lu policy swaps\n", ph->sw->swaps);
		CHECK(!ph->sw->failures, "%lu of %lu swaps failed, last: %s", ph->sw->failures,
		      ph->sw->failures + ph->sw->swaps, ph->sw->last_error);
		/* A swap takes ~2.5 s under TCG; 3 run every policy once. */
		CHECK(ph->sw->swaps >= (seconds >= 15 ? 3 : 1),
		      "only %lu swaps: not every policy ran", ph->sw->swaps);
	}
	if (ph->range) {
		long long one_walk = delta(a, b, "range_one_walk");

		CHECK(range > 0, "no fault completed on the range path (path_range +%lld)", range);
		/* Most range faults take range and copy in the hint's walk. */
		printf("#   range_one_walk +%lld, path_range +%lld\n", one_walk, range);
		CHECK(one_walk > 0, "no range fault took its range in the hint's walk");
	}
	if (ph->range && !ph->swapping) {
		/* Loaded for this phase: its counters are the stress's faults. */
		long long file = policy_counter("file_range");

		printf("#   policy file_range %lld\n", file);
		CHECK(file > 0, "no file fault was sent to the range path (file_range %lld)",
		      file);
	}
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status phase_run(void *ctx)
{
	struct phase *ph = ctx;
	int seconds = stress_seconds(), st;
	enum mmlock_test_status ret;
	struct stats a, b;

	if (!mmlock_kernel_supported() && ph->policy)
		SKIP("kernel without mmlock_ext");
	CHECK(!mmlock_enabled(NULL), "a policy is already attached");
	if (ph->range && mmlock_stat("path_range") < 0)
		FAIL("kernel has no fine fault path (no path_range counter)");
	ret = load_policy(ph);
	if (ret != MMLOCK_TEST_PASS)
		return ret;
	read_stats(&a);
	st = run_stress(seconds);
	stop_swapper(ph);
	read_stats(&b);
	if (b.n)
		print_deltas(&a, &b);
	CHECK(st >= 0, "mmlock-stress did not exit %d s after its %d s: %s",
	      GRACE_SECONDS, seconds, tap(out));
	CHECK(st == 0, "mmlock-stress: exit status %d: %s", st, tap(out));
	printf("#   %s", strstr(out, "stress: seconds=") ? strstr(out, "stress: seconds=") : out);
	CHECK(did_work(seconds),
	      "the stress did too little (want ops >= %d, every op and races > 0): %s",
	      MIN_OPS_PER_SECOND * seconds, tap(out));
	ret = check_policy(ph, seconds, &a, &b);
	if (ret != MMLOCK_TEST_PASS)
		return ret;
	/* No policy, or one that never answers RANGE: never the range path. */
	if (!ph->range && stat_of(&b, "path_range") >= 0)
		CHECK(delta(&a, &b, "path_range") == 0, "%lld faults took the range path",
		      delta(&a, &b, "path_range"));
	return MMLOCK_TEST_PASS;
}

static void phase_cleanup(void *ctx)
{
	struct phase *ph = ctx;

	stop_swapper(ph);
	if (ph->sw && ph->sw != MAP_FAILED)
		munmap(ph->sw, sizeof(*ph->sw));
	ph->sw = NULL;
	if (ph->policy) {
		run_cmd("mmlock unload >/dev/null 2>&1");
		wait_policy_gone();
	}
}

#define STRESS_TEST(__name, __policy, __swapping, __range, __desc)               \
	static struct phase __name##_phase = {                                    \
		.policy = __policy, .swapping = __swapping, .range = __range,    \
	};                                                                        \
	static enum mmlock_test_status __name##_setup(void **ctx)                 \
	{                                                                         \
		*ctx = &__name##_phase;                                           \
		return MMLOCK_TEST_PASS;                                          \
	}                                                                         \
	static struct mmlock_test __name = {                                      \
		.name = #__name,                                                  \
		.description = __desc,                                            \
		.setup = __name##_setup,                                          \
		.run = phase_run,                                                 \
		.cleanup = phase_cleanup,                                         \
	};                                                                        \
	REGISTER_MMLOCK_TEST(__name)

STRESS_TEST(stress_none, NULL, false, false,
	    "mmlock-stress with no policy: the stock fault path under VMA churn");
STRESS_TEST(stress_coarse, "coarse", false, false,
	    "mmlock-stress under coarse: every fault under mmap_read_lock");
STRESS_TEST(stress_stock, "stock", false, false,
	    "mmlock-stress under the stock policy: per-VMA locks, decided by BPF");
STRESS_TEST(stress_anon2m, "anon2m", false, true,
	    "mmlock-stress under anon2m: anonymous faults on the range path");
STRESS_TEST(stress_swapping, "anon2m", true, true,
	    "mmlock-stress while the policy is swapped every 300 ms among four");
