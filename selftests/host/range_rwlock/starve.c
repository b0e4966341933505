// SPDX-License-Identifier: GPL-2.0
/*
 * Starvation and deadlock tests of the range lock (userspace build).
 *
 * A "victim" locks a range again and again while streams of other threads
 * keep ranges that conflict with it busy; each of its waits must stay
 * short. In a relay, a stream holds its range until another stream holds
 * one too, so the busy ranges are never all free at once: a lock that let
 * new requests pass a waiting one would keep the victim out for good. With
 * FIFO order the next stream has to queue behind the victim; the holder
 * sees it asleep in the lock and lets go. A guard kills a victim's killable
 * wait after GUARD_NS, which then counts as starved. The readers' fast path
 * is on: a stream of fast readers must not keep a writer out either.
 */
#include <pthread.h>
#include <stdio.h>

#include "rl_test.h"

#define RELAY_MIN_NS 20000ULL
#define RELAY_MAX_NS 100000000ULL	/* in case a stream is stuck */
#define HOLD_NS 50000ULL
#define GUARD_NS 5000000000ULL
#define MAX_WAIT_NS 500000000ULL	/* generous: CI machines are loaded */
#define VICTIM_ROUNDS 100

static DEFINE_RANGE_RWLOCK_TREE(tree);
static bool stop;
static int holding, asleep;

struct stream {
	pthread_t thread;
	unsigned long start, end;
	bool writer, relay;
	bool sleeping;
	unsigned long ops;
};

/* schedule() calls this when the stream's lock call has to wait. */
static void stream_sleeping(void *arg)
{
	struct stream *s = arg;

	if (!s->sleeping) {
		s->sleeping = true;
		__atomic_fetch_add(&asleep, 1, __ATOMIC_SEQ_CST);
	}
}

static void spin_until(u64 deadline)
{
	while (rl_now_ns() < deadline)
		;
}

static void *stream_fn(void *arg)
{
	struct stream *s = arg;

	current->sleep_hook = stream_sleeping;
	current->sleep_hook_arg = s;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		DEFINE_RANGE_RWLOCK(r, s->start, s->end);
		u64 now;

		if (s->writer)
			range_write_lock(&tree, &r);
		else
			range_read_lock(&tree, &r);
		if (s->sleeping) {
			s->sleeping = false;
			__atomic_fetch_sub(&asleep, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_fetch_add(&holding, 1, __ATOMIC_SEQ_CST);
		now = rl_now_ns();
		if (s->relay) {
			spin_until(now + RELAY_MIN_NS);
			while (__atomic_load_n(&holding, __ATOMIC_SEQ_CST) == 1 &&
			       !__atomic_load_n(&asleep, __ATOMIC_SEQ_CST) &&
			       rl_now_ns() < now + RELAY_MAX_NS)
				;
		} else {
			spin_until(now + HOLD_NS);
		}
		__atomic_fetch_sub(&holding, 1, __ATOMIC_SEQ_CST);
		if (s->writer)
			range_write_unlock(&tree, &r);
		else
			range_read_unlock(&tree, &r);
		s->ops++;
	}
	return NULL;
}

/* Kills the victim's wait if it lasts longer than GUARD_NS. */
static struct task_struct *victim_task;
static u64 victim_since;

static void *guard_fn(void *arg)
{
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		u64 since = __atomic_load_n(&victim_since, __ATOMIC_ACQUIRE);

		if (since && rl_now_ns() - since > GUARD_NS)
			shim_kill(victim_task);
		usleep(10000);
	}
	return NULL;
}

/*
 * Run @nr streams while the calling thread locks @victim VICTIM_ROUNDS
 * times for read or write; report the waits.
 */
static void run(const char *name, struct stream *streams, int nr,
		struct range_rwlock *victim, bool writer)
{
	u64 max_wait = 0, total_wait = 0;
	unsigned long ops = 0;
	pthread_t guard;
	int round, ret = 0;

	stop = false;
	victim_task = current;
	for (int i = 0; i < nr; i++) {
		streams[i].ops = 0;
		pthread_create(&streams[i].thread, NULL, stream_fn,
			       &streams[i]);
	}
	pthread_create(&guard, NULL, guard_fn, NULL);
	usleep(20000);

	for (round = 0; round < VICTIM_ROUNDS && !ret; round++) {
		u64 start = rl_now_ns(), wait;

		__atomic_store_n(&victim_since, start, __ATOMIC_RELEASE);
		ret = writer ? range_write_lock_killable(&tree, victim) :
			       range_read_lock_killable(&tree, victim);
		__atomic_store_n(&victim_since, 0, __ATOMIC_RELEASE);
		wait = rl_now_ns() - start;
		if (wait > max_wait)
			max_wait = wait;
		total_wait += wait;
		if (ret)
			break;
		spin_until(rl_now_ns() + HOLD_NS / 5);
		if (writer)
			range_write_unlock(&tree, victim);
		else
			range_read_unlock(&tree, victim);
		usleep(1000);
	}

	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < nr; i++) {
		pthread_join(streams[i].thread, NULL);
		ops += streams[i].ops;
	}
	pthread_join(guard, NULL);
	shim_unkill(current);
	rl_report(!ret && max_wait < MAX_WAIT_NS && ops >= VICTIM_ROUNDS,
		  "%s: %d rounds%s, wait max %.2f ms avg %.3f ms, %lu stream ops",
		  name, round, ret ? " (starved, killed)" : "", max_wait / 1e6,
		  total_wait / 1e6 / (round + !!ret), ops);
}

/* Random requests, one at a time per thread, some of them whole-range. */
#define MIX_THREADS 6
#define MIX_NS 2000000000ULL

struct mixer {
	pthread_t thread;
	u64 rs, max_wait;
	unsigned long ops;
};

static void *mixer_fn(void *arg)
{
	struct mixer *m = arg;
	u64 end = rl_now_ns() + MIX_NS;

	while (rl_now_ns() < end) {
		bool writer = rl_rand_below(&m->rs, 3) == 0;
		unsigned long start = rl_rand_below(&m->rs, 200);
		unsigned long len = 1 + rl_rand_below(&m->rs, 50);
		struct range_rwlock r;
		u64 t0 = rl_now_ns(), wait;

		if (rl_rand_below(&m->rs, 20) == 0)
			range_rwlock_init_full(&r);
		else
			range_rwlock_init(&r, start, start + len);
		if (writer)
			range_write_lock(&tree, &r);
		else
			range_read_lock(&tree, &r);
		wait = rl_now_ns() - t0;
		if (wait > m->max_wait)
			m->max_wait = wait;
		spin_until(rl_now_ns() + rl_rand_below(&m->rs, 10000));
		if (writer)
			range_write_unlock(&tree, &r);
		else
			range_read_unlock(&tree, &r);
		m->ops++;
	}
	return NULL;
}

static void run_mix(void)
{
	struct mixer m[MIX_THREADS] = {};
	unsigned long ops = 0, least = ULONG_MAX;
	u64 max_wait = 0;

	for (int i = 0; i < MIX_THREADS; i++) {
		m[i].rs = 7 + i;
		pthread_create(&m[i].thread, NULL, mixer_fn, &m[i]);
	}
	for (int i = 0; i < MIX_THREADS; i++) {
		pthread_join(m[i].thread, NULL);
		ops += m[i].ops;
		if (m[i].ops < least)
			least = m[i].ops;
		if (m[i].max_wait > max_wait)
			max_wait = m[i].max_wait;
	}
	rl_report(least > 0 && max_wait < MAX_WAIT_NS,
		  "mixed stream: %d threads, %lu requests, fewest per thread %lu, wait max %.2f ms",
		  MIX_THREADS, ops, least, max_wait / 1e6);
}

int main(void)
{
	struct stream overlapping_readers[] = {
		{ .start = 0, .end = 100, .relay = true },
		{ .start = 50, .end = 150, .relay = true },
		{ .start = 25, .end = 125, .relay = true },
	};
	struct stream overlapping_writers[] = {
		{ .start = 0, .end = 100, .writer = true },
		{ .start = 50, .end = 150, .writer = true },
		{ .start = 25, .end = 125, .writer = true },
	};
	struct stream disjoint_writers[] = {
		{ .start = 0, .end = 10, .writer = true, .relay = true },
		{ .start = 100, .end = 110, .writer = true, .relay = true },
		{ .start = 200, .end = 210, .writer = true, .relay = true },
	};
	DEFINE_RANGE_RWLOCK(part, 60, 70);
	DEFINE_RANGE_RWLOCK_FULL(all);

	setvbuf(stdout, NULL, _IOLBF, 0);
	rl_watchdog(120);
	/* Granules of 256: the readers below take the fast path when they can. */
	range_rwlock_tree_enable_fast(&tree, 8);
	printf("TAP version 13\n1..4\n");
	run("writer vs a relay of overlapping readers", overlapping_readers,
	    3, &part, true);
	run("reader vs a stream of overlapping writers", overlapping_writers,
	    3, &part, false);
	run("whole-range writer vs a relay of disjoint writers",
	    disjoint_writers, 3, &all, true);
	run_mix();
	return *rl_failures() ? 1 : 0;
}
