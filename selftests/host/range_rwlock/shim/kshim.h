/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel to compile kernel/locking/range_rwlock.c and
 * lib/rbtree.c in userspace. Every <linux/...> header in this directory
 * includes this one; the rbtree, interval tree and range_rwlock headers come
 * unchanged from the kernel tree (-I$(KSRC)/include after this directory).
 *
 *	spinlock_t		a pthread mutex
 *	task_struct		per thread, sleeps on its own mutex and condvar
 *	wake_q			the kernel's algorithm (kernel/sched/core.c)
 *	fatal signals		shim_kill(), since threads get no SIGKILL
 *	lockdep			nothing: CONFIG_DEBUG_LOCK_ALLOC is not set
 *	WARN()			prints and counts, see shim_warnings
 */
#ifndef KSHIM_H
#define KSHIM_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef uint64_t u64;

/* compiler.h, barriers, rcupdate.h */
#define unlikely(x) __builtin_expect(!!(x), 0)
#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, val)                           \
	do {                                         \
		*(volatile typeof(x) *)&(x) = (val); \
	} while (0)
#define smp_store_release(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define smp_load_acquire(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), v, __ATOMIC_RELEASE)
#define rcu_dereference_raw(p) READ_ONCE(p)
#define data_race(x) READ_ONCE(x)
#define BITS_PER_LONG 64
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define EXPORT_SYMBOL(sym)
#define _RET_IP_ ((unsigned long)__builtin_return_address(0))

/* cache.h: padding as with CONFIG_SMP, so that the benchmark sees it. */
#define ____cacheline_aligned_in_smp __attribute__((__aligned__(64)))

/* types.h, list.h */
struct list_head {
	struct list_head *next, *prev;
};

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline void list_add(struct list_head *new, struct list_head *head)
{
	new->next = head->next;
	new->prev = head;
	head->next->prev = new;
	head->next = new;
}

static inline void list_del(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	entry->prev->next = entry->next;
	entry->next = entry->prev = NULL;
}

static inline bool list_empty(const struct list_head *head)
{
	return head->next == head;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_for_each_entry_safe(pos, n, head, member)                      \
	for (pos = list_entry((head)->next, typeof(*pos), member),          \
	    n = list_entry(pos->member.next, typeof(*pos), member);         \
	     &pos->member != (head);                                        \
	     pos = n, n = list_entry(n->member.next, typeof(*n), member))

/* string.h */
#include <string.h>

/* atomic.h */
typedef struct {
	int64_t counter;
} atomic64_t;

static inline int64_t atomic64_read(const atomic64_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic64_add(int64_t i, atomic64_t *v)
{
	__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

static inline void atomic64_inc(atomic64_t *v)
{
	atomic64_add(1, v);
}

/* bug.h: a warning is printed as a TAP comment and counted, for tests. */
extern unsigned long shim_warnings;
#define WARN(cond, fmt, ...)                                             \
	({                                                               \
		bool __c = !!(cond);                                     \
		if (__c) {                                               \
			__atomic_fetch_add(&shim_warnings, 1,            \
					   __ATOMIC_RELAXED);            \
			printf("# warning: " fmt, ##__VA_ARGS__);        \
		}                                                        \
		__c;                                                     \
	})

/* spinlock.h: the holder never sleeps with it, as in the kernel. */
typedef struct {
	pthread_mutex_t m;
} spinlock_t;

#define __SPIN_LOCK_UNLOCKED(name) { PTHREAD_MUTEX_INITIALIZER }
#define spin_lock_init(l) pthread_mutex_init(&(l)->m, NULL)
#define spin_lock(l) pthread_mutex_lock(&(l)->m)
#define spin_unlock(l) pthread_mutex_unlock(&(l)->m)

/* lockdep.h, with CONFIG_DEBUG_LOCK_ALLOC off: no dep_map to evaluate. */
struct lock_class_key {
	char unused;
};

#define lockdep_assert_held(l) do { } while (0)
#define lockdep_set_class(l, k) ((void)(k))
#define rwsem_acquire(l, s, t, i) do { } while (0)
#define rwsem_acquire_read(l, s, t, i) do { } while (0)
#define rwsem_release(l, i) do { } while (0)
#define lock_contended(l, i) do { } while (0)
#define lock_acquired(l, i) do { } while (0)
#define might_sleep() do { } while (0)

/* sched.h */
#define TASK_RUNNING 0x0000
#define TASK_UNINTERRUPTIBLE 0x0002
#define TASK_WAKEKILL 0x0100
#define TASK_KILLABLE (TASK_WAKEKILL | TASK_UNINTERRUPTIBLE)

struct wake_q_node {
	struct wake_q_node *next;
};

struct task_struct {
	pthread_mutex_t mutex;		/* protects state and sleeping */
	pthread_cond_t cond;
	unsigned int state;
	bool fatal_signal;
	struct wake_q_node wake_q;
	/* Called by schedule() before the thread sleeps, for tests. */
	void (*sleep_hook)(void *arg);
	void *sleep_hook_arg;
	struct task_struct *next_task;	/* all tasks, see shim_current() */
};

struct task_struct *shim_current(void);
#define current shim_current()

void set_current_state(unsigned int state);
#define __set_current_state(state) set_current_state(state)
void schedule(void);
int wake_up_process(struct task_struct *p);

/* Deliver a "fatal signal" to @p, waking it from a killable sleep. */
void shim_kill(struct task_struct *p);
/* Forget it again, so that the thread can take part in the next test. */
void shim_unkill(struct task_struct *p);

static inline int signal_pending_state(unsigned int state,
				       struct task_struct *p)
{
	return (state & TASK_WAKEKILL) &&
	       __atomic_load_n(&p->fatal_signal, __ATOMIC_ACQUIRE);
}

/* sched/wake_q.h */
struct wake_q_head {
	struct wake_q_node *first;
	struct wake_q_node **lastp;
};

#define WAKE_Q_TAIL ((struct wake_q_node *)0x01)
#define DEFINE_WAKE_Q(name) \
	struct wake_q_head name = { WAKE_Q_TAIL, &name.first }

void wake_q_add(struct wake_q_head *head, struct task_struct *task);
void wake_up_q(struct wake_q_head *head);

/* sched/clock.h */
static inline u64 local_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* KSHIM_H */
