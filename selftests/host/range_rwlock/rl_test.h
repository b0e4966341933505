/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the host tests and the benchmark of the range lock:
 * TAP output, a watchdog, a per-thread random generator, the clock.
 */
#ifndef RL_TEST_H
#define RL_TEST_H

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/range_rwlock.h>

/* The number of failed tests so far. */
static inline int *rl_failures(void)
{
	static int failures;

	return &failures;
}

/* Print a TAP line for one test; returns @pass. */
static inline bool rl_report(bool pass, const char *fmt, ...)
{
	static int nr;
	va_list ap;

	printf("%s %d - ", pass ? "ok" : "not ok", ++nr);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	*rl_failures() += !pass;
	return pass;
}

static inline void rl_watchdog_fired(int sig)
{
	static const char msg[] = "Bail out! watchdog: a test hangs\n";

	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

/* Fail the whole program if it runs longer than @seconds. */
static inline void rl_watchdog(unsigned int seconds)
{
	signal(SIGALRM, rl_watchdog_fired);
	alarm(seconds);
}

static inline u64 rl_now_ns(void)
{
	return local_clock();
}

/* xorshift64*: cheap, and each thread has its own state. */
static inline u64 rl_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline unsigned long rl_rand_below(u64 *state, unsigned long n)
{
	return rl_rand(state) % n;
}

/* Granule of the readers' fast path in the tests: 16, so ranges of the
 * model's random lengths lie in one granule or span several. */
#define RL_GRANULE_SHIFT 4

/* Nothing held or waiting: the tree is empty and so are the buckets. */
static inline bool rl_tree_idle(const struct range_rwlock_tree *tree)
{
	if (tree->root.rb_root.rb_node)
		return false;
	for (int i = 0; tree->fast && i < RANGE_RWLOCK_BUCKETS; i++)
		if (tree->buckets[i].writers ||
		    tree->buckets[i].readers.next != &tree->buckets[i].readers)
			return false;
	return true;
}

static inline bool rl_overlap(unsigned long s1, unsigned long l1,
			      unsigned long s2, unsigned long l2)
{
	return s1 <= l2 && s2 <= l1;
}

#endif /* RL_TEST_H */
