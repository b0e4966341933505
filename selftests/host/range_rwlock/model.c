// SPDX-License-Identifier: GPL-2.0
/*
 * Model tests of the range lock: kernel/locking/range_rwlock.c built with
 * the userspace shim, checked against brute-force references.
 *
 * 1. trylock: one thread, random trylocks, locks and unlocks; every answer
 *    must be the reference's (nothing conflicting held).
 * 2. queue: helper threads queue requests one at a time, release them, or
 *    kill them while they wait; after each step, every request must count
 *    exactly the earlier conflicting requests still in the lock, and hold
 *    its range iff that count is zero. This is the fairness rule itself.
 * 3. concurrent: threads lock, trylock and unlock random ranges at full
 *    speed and kill each other's killable waits. No two conflicting ranges
 *    may be held at once, and no request may be granted while an earlier
 *    conflicting request waits, nor after a later conflicting one.
 * 4. debug: unlocking a range that is not held warns and changes nothing.
 *
 * Tests 1-3 run with the readers' fast path on (granules of 16): readers of
 * one granule hold without entering the tree until a writer moves them in,
 * and the references above must hold all the same. Each reports how many
 * reads held on the fast path, so a path that is never taken shows.
 */
#include <pthread.h>
#include <stdio.h>

#include "rl_test.h"

/* A range as the reference sees it, and the mode it is wanted in. */
struct ref {
	unsigned long start, last;
	bool writer;
};

static bool ref_conflict(const struct ref *a, const struct ref *b)
{
	return (a->writer || b->writer) &&
	       rl_overlap(a->start, a->last, b->start, b->last);
}

/*
 * A random range of [0, @space + 32), mostly short so that some overlap and
 * some do not; sometimes the whole space, sometimes touching ULONG_MAX.
 */
static void random_ref(u64 *rs, struct ref *r, unsigned long space)
{
	unsigned long pick = rl_rand_below(rs, 100);

	r->writer = rl_rand_below(rs, 2);
	if (pick < 2) {
		r->start = 0;
		r->last = ULONG_MAX;
	} else if (pick < 4) {
		r->start = ULONG_MAX - 1 - rl_rand_below(rs, 8);
		r->last = ULONG_MAX - 1;
	} else {
		r->start = rl_rand_below(rs, space);
		r->last = r->start + rl_rand_below(rs, 32);
	}
}

static void init_lock(struct range_rwlock *lock, const struct ref *r)
{
	if (r->last == ULONG_MAX)
		range_rwlock_init_full(lock);
	else
		range_rwlock_init(lock, r->start, r->last + 1);
}

/* Read locks that held on the fast path, seen right after they got it. */
static unsigned long fast_reads;

static void count_fast(const struct range_rwlock *lock)
{
	if (READ_ONCE(lock->in_bucket))
		__atomic_fetch_add(&fast_reads, 1, __ATOMIC_RELAXED);
}

static bool lock_try(struct range_rwlock_tree *tree, struct range_rwlock *lock,
		     bool writer)
{
	bool got = writer ? range_write_trylock(tree, lock) :
			    range_read_trylock(tree, lock);

	if (got && !writer)
		count_fast(lock);
	return got;
}

static int lock_wait(struct range_rwlock_tree *tree, struct range_rwlock *lock,
		     bool writer, bool killable)
{
	int ret = 0;

	if (killable)
		ret = writer ? range_write_lock_killable(tree, lock) :
			       range_read_lock_killable(tree, lock);
	else if (writer)
		range_write_lock(tree, lock);
	else
		range_read_lock(tree, lock);
	if (!ret && !writer)
		count_fast(lock);
	return ret;
}

static void lock_release(struct range_rwlock_tree *tree,
			 struct range_rwlock *lock, bool writer)
{
	if (writer)
		range_write_unlock(tree, lock);
	else
		range_read_unlock(tree, lock);
}

/* --- 1. trylock against the reference, one thread ----------------------- */

#define T1_SLOTS 64
#define T1_OPS 300000

static void test_trylock(void)
{
	DEFINE_RANGE_RWLOCK_TREE(tree);
	struct {
		struct range_rwlock lock;
		struct ref ref;
		bool held;
	} slot[T1_SLOTS] = {};
	unsigned long ops = 0, granted = 0, refused = 0, errors = 0;
	u64 rs = 1;

	range_rwlock_tree_enable_fast(&tree, RL_GRANULE_SHIFT);
	fast_reads = 0;

	for (; ops < T1_OPS; ops++) {
		int i = rl_rand_below(&rs, T1_SLOTS);
		struct ref want;
		bool expect = true, got;

		if (slot[i].held) {
			lock_release(&tree, &slot[i].lock, slot[i].ref.writer);
			slot[i].held = false;
			continue;
		}
		random_ref(&rs, &want, 400);
		for (int j = 0; j < T1_SLOTS; j++)
			if (slot[j].held && ref_conflict(&want, &slot[j].ref))
				expect = false;
		init_lock(&slot[i].lock, &want);
		/* Nobody waits here, so a lock call that may go ahead must. */
		if (expect && rl_rand_below(&rs, 4) == 0) {
			lock_wait(&tree, &slot[i].lock, want.writer, false);
			got = range_rwlock_wait_ns(&slot[i].lock) == 0;
		} else {
			got = lock_try(&tree, &slot[i].lock, want.writer);
		}
		if (got != expect && errors++ < 5)
			printf("# trylock %s [%#lx, %#lx]: got %d, expected %d\n",
			       want.writer ? "write" : "read", want.start,
			       want.last, got, expect);
		slot[i].ref = want;
		slot[i].held = got;
		granted += got;
		refused += !got;
	}
	for (int i = 0; i < T1_SLOTS; i++)
		if (slot[i].held)
			lock_release(&tree, &slot[i].lock, slot[i].ref.writer);
	rl_report(!errors && rl_tree_idle(&tree) && fast_reads,
		  "trylock model: %lu ops, %lu granted (%lu reads on the fast path), %lu refused, %lu wrong",
		  ops, granted, fast_reads, refused, errors);
}

/* --- 2. the queue, step by step, against the reference ------------------ */

enum q_state { Q_IDLE, Q_LOCK, Q_SLEEPING, Q_HOLDING, Q_UNLOCK };

struct qreq {
	pthread_t thread;
	struct task_struct *task;
	struct range_rwlock lock;
	struct ref ref;
	bool killable;
	bool live;		/* in the lock, per the reference */
	bool slept;
	int ret;
	u64 arrival;
	enum q_state state;	/* under q_mutex */
};

#define Q_HELPERS 16
#define Q_MAIN_SLOTS 4
#define Q_STEPS 30000

static pthread_mutex_t q_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static DEFINE_RANGE_RWLOCK_TREE(q_tree);
static struct qreq q_req[Q_HELPERS + Q_MAIN_SLOTS];
static bool q_stop;

static void q_set(struct qreq *q, enum q_state state)
{
	pthread_mutex_lock(&q_mutex);
	q->state = state;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_mutex);
}

/* Wait until @q is in one of the states of @mask; false after 5 s. */
static bool q_wait(struct qreq *q, unsigned int mask)
{
	struct timespec ts;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 5;
	pthread_mutex_lock(&q_mutex);
	while (!(mask & (1u << q->state)) && ok)
		ok = !pthread_cond_timedwait(&q_cond, &q_mutex, &ts);
	ok = mask & (1u << q->state);
	pthread_mutex_unlock(&q_mutex);
	return ok;
}

/* schedule() calls this: the request is in the tree and goes to sleep. */
static void q_sleeping(void *arg)
{
	struct qreq *q = arg;

	q->slept = true;
	q_set(q, Q_SLEEPING);
}

static void *q_helper(void *arg)
{
	struct qreq *q = arg;

	q->task = current;
	q->task->sleep_hook = q_sleeping;
	q->task->sleep_hook_arg = q;
	for (;;) {
		pthread_mutex_lock(&q_mutex);
		while (q->state != Q_LOCK && q->state != Q_UNLOCK && !q_stop)
			pthread_cond_wait(&q_cond, &q_mutex);
		pthread_mutex_unlock(&q_mutex);
		if (q_stop)
			return NULL;
		if (q->state == Q_UNLOCK) {
			lock_release(&q_tree, &q->lock, q->ref.writer);
			q_set(q, Q_IDLE);
			continue;
		}
		q->ret = lock_wait(&q_tree, &q->lock, q->ref.writer,
				   q->killable);
		shim_unkill(q->task);
		q_set(q, q->ret ? Q_IDLE : Q_HOLDING);
	}
}

/* The earlier conflicting requests still in the lock, per the reference. */
static unsigned int q_expected_blocking(const struct qreq *r)
{
	unsigned int n = 0;

	for (int i = 0; i < Q_HELPERS + Q_MAIN_SLOTS; i++) {
		const struct qreq *q = &q_req[i];

		n += q->live && q->arrival < r->arrival &&
		     ref_conflict(&q->ref, &r->ref);
	}
	return n;
}

/* Compare every request in the lock with the reference. */
static bool q_check(unsigned long step)
{
	for (int i = 0; i < Q_HELPERS + Q_MAIN_SLOTS; i++) {
		struct qreq *q = &q_req[i];
		unsigned int expect, got;

		if (!q->live)
			continue;
		expect = q_expected_blocking(q);
		got = READ_ONCE(q->lock.blocking);
		if (got != expect) {
			printf("# step %lu: request %d [%#lx, %#lx] %s waits for %u, expected %u\n",
			       step, i, q->ref.start, q->ref.last,
			       q->ref.writer ? "write" : "read", got, expect);
			return false;
		}
		if (i < Q_HELPERS &&
		    !q_wait(q, 1u << (expect ? Q_SLEEPING : Q_HOLDING))) {
			printf("# step %lu: request %d is %d, expected %s\n",
			       step, i, q->state,
			       expect ? "sleeping" : "holding");
			return false;
		}
	}
	return true;
}

static int q_pick(u64 *rs, int from, int to, bool (*fits)(struct qreq *q))
{
	int n = to - from, start = rl_rand_below(rs, n);

	for (int k = 0; k < n; k++) {
		int i = from + (start + k) % n;

		if (fits(&q_req[i]))
			return i;
	}
	return -1;
}

static bool q_is_free(struct qreq *q)
{
	return !q->live;
}

static bool q_is_holding(struct qreq *q)
{
	return q->live && !q->lock.blocking;
}

static bool q_is_killable_waiter(struct qreq *q)
{
	return q->live && q->killable && q->lock.blocking;
}

/* The steps of the queue test; each returns false if the lock misbehaved. */
static u64 q_rs = 2, q_arrival;
static unsigned long q_queued, q_killed, q_tried, q_slept;

/* A helper asks for a range and sleeps or holds. */
static bool q_step_queue(void)
{
	int i = q_pick(&q_rs, 0, Q_HELPERS, q_is_free);
	struct qreq *q;

	if (i < 0)
		return true;
	q = &q_req[i];
	random_ref(&q_rs, &q->ref, 100);
	q->killable = rl_rand_below(&q_rs, 2);
	q->slept = false;
	init_lock(&q->lock, &q->ref);
	q->arrival = q_arrival++;
	q->live = true;
	q_set(q, Q_LOCK);
	q_queued++;
	return q_wait(q, 1u << Q_SLEEPING | 1u << Q_HOLDING);
}

static bool q_release(struct qreq *q)
{
	bool ok = true;

	q_slept += q->slept;
	if (q < &q_req[Q_HELPERS]) {
		ok = !q->slept || range_rwlock_wait_ns(&q->lock);
		q_set(q, Q_UNLOCK);
		ok = q_wait(q, 1u << Q_IDLE) && ok;
	} else {
		lock_release(&q_tree, &q->lock, q->ref.writer);
	}
	q->live = false;
	return ok;
}

static bool q_step_release(int from, int to)
{
	int i = q_pick(&q_rs, from, to, q_is_holding);

	return i < 0 || q_release(&q_req[i]);
}

static bool q_step_kill(void)
{
	int i = q_pick(&q_rs, 0, Q_HELPERS, q_is_killable_waiter);
	struct qreq *q;

	if (i < 0)
		return true;
	q = &q_req[i];
	shim_kill(q->task);
	q->live = false;
	q_killed++;
	q_slept++;
	return q_wait(q, 1u << Q_IDLE) && q->ret == -EINTR;
}

/* The main thread tries; it must succeed iff nothing conflicts. */
static bool q_step_try(void)
{
	int i = q_pick(&q_rs, Q_HELPERS, Q_HELPERS + Q_MAIN_SLOTS, q_is_free);
	struct qreq *q;
	bool expect, got;

	if (i < 0)
		return true;
	q = &q_req[i];
	random_ref(&q_rs, &q->ref, 100);
	init_lock(&q->lock, &q->ref);
	q->arrival = q_arrival;
	expect = !q_expected_blocking(q);
	got = lock_try(&q_tree, &q->lock, q->ref.writer);
	if (got) {
		q_arrival++;
		q->live = true;
	}
	q_tried++;
	return got == expect;
}

static void test_queue(void)
{
	struct range_rwlock_stats st;
	unsigned long step;
	bool ok = true;
	int i;

	range_rwlock_tree_enable_fast(&q_tree, RL_GRANULE_SHIFT);
	fast_reads = 0;
	for (i = 0; i < Q_HELPERS; i++)
		pthread_create(&q_req[i].thread, NULL, q_helper, &q_req[i]);

	for (step = 0; step < Q_STEPS && ok; step++) {
		unsigned long op = rl_rand_below(&q_rs, 100);

		if (op < 45)
			ok = q_step_queue();
		else if (op < 80)
			ok = q_step_release(0, Q_HELPERS);
		else if (op < 90)
			ok = q_step_kill();
		else if (op < 96)
			ok = q_step_try();
		else
			ok = q_step_release(Q_HELPERS, Q_HELPERS + Q_MAIN_SLOTS);
		ok = ok && q_check(step);
	}

	/* Release everything: sleepers get their turn in order. */
	for (int round = 0; ok && round < Q_HELPERS + Q_MAIN_SLOTS; round++) {
		for (i = 0; ok && i < Q_HELPERS + Q_MAIN_SLOTS; i++)
			if (q_is_holding(&q_req[i]))
				ok = q_release(&q_req[i]) && q_check(step);
	}
	range_rwlock_tree_stats(&q_tree, &st);
	ok = ok && rl_tree_idle(&q_tree) && fast_reads &&
	     st.read_waits + st.write_waits == q_slept;

	/* After a failure, helpers may sleep forever: leave them. */
	pthread_mutex_lock(&q_mutex);
	q_stop = true;
	pthread_cond_broadcast(&q_cond);
	pthread_mutex_unlock(&q_mutex);
	for (i = 0; ok && i < Q_HELPERS; i++)
		pthread_join(q_req[i].thread, NULL);
	rl_report(ok,
		  "queue model: %lu steps, %lu queued, %lu killed, %lu tried, %lu slept, %lu reads on the fast path",
		  step, q_queued, q_killed, q_tried, q_slept, fast_reads);
}

/* --- 3. concurrent threads against the reference ------------------------ */

#define C_THREADS 6
#define C_SLOTS 3
#define C_OPS 3000000
#define C_HISTORY (1 << 16)

enum c_state { C_FREE, C_ARRIVING, C_PENDING, C_HELD };

struct cslot {
	struct range_rwlock lock;
	struct ref ref;
	enum c_state state;
	bool kill_requested;
	u64 seqnum;		/* the lock's arrival number, once known */
	unsigned long history_mark;
};

struct cthread {
	pthread_t thread;
	struct task_struct *task;
	struct cslot slot[C_SLOTS];
	struct cslot *waiting;	/* a blocking lock call is in progress */
	bool killable;
	u64 rs;
	unsigned long ops, waits, kills;
};

/* The reference: all of it under c_mutex. */
static pthread_mutex_t c_mutex = PTHREAD_MUTEX_INITIALIZER;
static DEFINE_RANGE_RWLOCK_TREE(c_tree);
static struct cthread c_thread[C_THREADS];
static struct {
	struct ref ref;
	u64 seqnum;
} c_history[C_HISTORY];
static unsigned long c_granted, c_errors, c_ops;

static void c_error(const char *what, const struct cslot *s,
		    const struct ref *other, u64 other_seqnum)
{
	if (c_errors++ < 5)
		printf("# %s: %s [%#lx, %#lx] #%llu vs %s [%#lx, %#lx] #%llu\n",
		       what, s->ref.writer ? "write" : "read", s->ref.start,
		       s->ref.last, (unsigned long long)s->seqnum,
		       other->writer ? "write" : "read", other->start,
		       other->last, (unsigned long long)other_seqnum);
}

/* schedule() calls this: the request is queued, its seqnum is known. */
static void c_sleeping(void *arg)
{
	struct cthread *t = arg;
	struct cslot *s;

	pthread_mutex_lock(&c_mutex);
	s = t->waiting;
	if (s->state == C_ARRIVING) {
		s->seqnum = s->lock.seqnum;
		s->state = C_PENDING;
		t->waits++;
	}
	pthread_mutex_unlock(&c_mutex);
}

/* @s got its range: check it against every other request, record it. */
static void c_granted_check(struct cslot *s, bool waited)
{
	unsigned long h;

	pthread_mutex_lock(&c_mutex);
	s->seqnum = s->lock.seqnum;
	for (int i = 0; i < C_THREADS; i++) {
		for (int j = 0; j < C_SLOTS; j++) {
			struct cslot *o = &c_thread[i].slot[j];

			if (o == s || !ref_conflict(&o->ref, &s->ref))
				continue;
			if (o->state == C_HELD)
				c_error("held together", s, &o->ref, o->seqnum);
			else if (o->state == C_PENDING && !o->kill_requested &&
				 o->seqnum < s->seqnum)
				c_error("passed a waiter", s, &o->ref,
					o->seqnum);
		}
	}
	/* A later conflicting request must not have been granted first. */
	if (waited && c_granted - s->history_mark > C_HISTORY)
		c_error("history too short", s, &s->ref, 0);
	for (h = s->history_mark; waited && h < c_granted; h++) {
		unsigned long k = h % C_HISTORY;

		if (c_history[k].seqnum > s->seqnum &&
		    ref_conflict(&c_history[k].ref, &s->ref))
			c_error("granted after a later request", s,
				&c_history[k].ref, c_history[k].seqnum);
	}
	c_history[c_granted % C_HISTORY].ref = s->ref;
	c_history[c_granted % C_HISTORY].seqnum = s->seqnum;
	c_granted++;
	s->state = C_HELD;
	pthread_mutex_unlock(&c_mutex);
}

static void c_lock(struct cthread *t, struct cslot *s)
{
	bool killable = rl_rand_below(&t->rs, 2);
	int ret;

	pthread_mutex_lock(&c_mutex);
	s->state = C_ARRIVING;
	s->kill_requested = false;
	s->history_mark = c_granted;
	t->waiting = s;
	t->killable = killable;
	pthread_mutex_unlock(&c_mutex);

	ret = lock_wait(&c_tree, &s->lock, s->ref.writer, killable);

	pthread_mutex_lock(&c_mutex);
	t->waiting = NULL;
	shim_unkill(t->task);
	if (ret) {
		if (!s->kill_requested)
			c_error("gave up unkilled", s, &s->ref, 0);
		s->state = C_FREE;
	}
	pthread_mutex_unlock(&c_mutex);
	if (!ret)
		c_granted_check(s, true);
}

/* Kill another thread's killable wait, as a fatal signal would. */
static void c_kill(struct cthread *t)
{
	struct cthread *v = &c_thread[rl_rand_below(&t->rs, C_THREADS)];

	pthread_mutex_lock(&c_mutex);
	if (v != t && v->waiting && v->killable) {
		v->waiting->kill_requested = true;
		shim_kill(v->task);
		t->kills++;
	}
	pthread_mutex_unlock(&c_mutex);
}

static void c_unlock(struct cslot *s)
{
	pthread_mutex_lock(&c_mutex);
	s->state = C_FREE;
	pthread_mutex_unlock(&c_mutex);
	lock_release(&c_tree, &s->lock, s->ref.writer);
}

static void *c_worker(void *arg)
{
	struct cthread *t = arg;

	t->task = current;
	t->task->sleep_hook = c_sleeping;
	t->task->sleep_hook_arg = t;
	while (__atomic_load_n(&c_ops, __ATOMIC_RELAXED) < C_OPS) {
		int held = 0, free = -1, i = rl_rand_below(&t->rs, C_SLOTS);
		unsigned long op = rl_rand_below(&t->rs, 100);
		struct cslot *s = &t->slot[i];

		for (int j = 0; j < C_SLOTS; j++) {
			held += t->slot[j].state == C_HELD;
			if (t->slot[j].state == C_FREE)
				free = j;
		}
		if (op < 4) {
			c_kill(t);
			continue;
		}
		if (s->state == C_HELD) {
			c_unlock(s);
		} else if (!held && op < 70) {
			/* Wait only while holding nothing: see the .c file. */
			random_ref(&t->rs, &s->ref, 200);
			init_lock(&s->lock, &s->ref);
			c_lock(t, s);
		} else if (free >= 0) {
			s = &t->slot[free];
			random_ref(&t->rs, &s->ref, 200);
			init_lock(&s->lock, &s->ref);
			if (lock_try(&c_tree, &s->lock, s->ref.writer))
				c_granted_check(s, false);
		}
		t->ops++;
		__atomic_fetch_add(&c_ops, 1, __ATOMIC_RELAXED);
	}
	for (int j = 0; j < C_SLOTS; j++)
		if (t->slot[j].state == C_HELD)
			c_unlock(&t->slot[j]);
	return NULL;
}

static void test_concurrent(void)
{
	unsigned long waits = 0, kills = 0;
	u64 start = rl_now_ns();

	range_rwlock_tree_enable_fast(&c_tree, RL_GRANULE_SHIFT);
	fast_reads = 0;
	for (int i = 0; i < C_THREADS; i++) {
		c_thread[i].rs = 100 + i;
		pthread_create(&c_thread[i].thread, NULL, c_worker,
			       &c_thread[i]);
	}
	for (int i = 0; i < C_THREADS; i++) {
		pthread_join(c_thread[i].thread, NULL);
		waits += c_thread[i].waits;
		kills += c_thread[i].kills;
	}
	rl_report(!c_errors && rl_tree_idle(&c_tree) && fast_reads,
		  "concurrent model: %d threads, %lu ops in %.1f s, %lu granted (%lu reads on the fast path), %lu waited, %lu killed, %lu errors",
		  C_THREADS, c_ops, (rl_now_ns() - start) / 1e9, c_granted,
		  fast_reads, waits, kills, c_errors);
}

/* --- 4. debug checks ------------------------------------------------------ */

static void test_debug(void)
{
	DEFINE_RANGE_RWLOCK_TREE(tree);
	DEFINE_RANGE_RWLOCK_TREE(other);
	DEFINE_RANGE_RWLOCK(r, 10, 20);
	DEFINE_RANGE_RWLOCK(probe, 15, 16);
	unsigned long before = shim_warnings;
	bool ok;

	printf("# expect four warnings:\n");
	fflush(stdout);
	range_write_unlock(&tree, &r);		/* never locked */
	ok = range_write_trylock(&tree, &probe);
	range_write_unlock(&tree, &probe);

	range_read_lock(&tree, &r);
	range_write_unlock(&tree, &r);		/* wrong mode */
	range_read_unlock(&other, &r);		/* wrong tree */
	ok = ok && !range_write_trylock(&tree, &probe);
	range_read_unlock(&tree, &r);
	range_read_unlock(&tree, &r);		/* twice */
	ok = ok && range_write_trylock(&tree, &probe);
	range_write_unlock(&tree, &probe);

	ok = ok && !tree.root.rb_root.rb_node;
	rl_report(ok && shim_warnings - before == 4,
		  "debug: bad unlocks warn and leave the lock alone (%lu warnings)",
		  shim_warnings - before);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	rl_watchdog(120);
	printf("TAP version 13\n1..4\n");
	test_trylock();
	test_queue();
	test_concurrent();
	test_debug();
	return *rl_failures() ? 1 : 0;
}
