// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler side of the userspace shim: one task_struct per thread, and
 * sleeping and waking with the kernel's semantics. A task that is woken
 * between set_current_state() and schedule() does not sleep.
 */
#include <stdlib.h>

#include "kshim.h"

unsigned long shim_warnings;

static __thread struct task_struct *shim_task;
static struct task_struct *shim_all_tasks;

struct task_struct *shim_current(void)
{
	struct task_struct *p = shim_task;

	if (p)
		return p;
	/*
	 * Never freed, so that wakers need no task references: a waker may
	 * still wake a thread that got its range and exited meanwhile.
	 */
	p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	pthread_mutex_init(&p->mutex, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->next_task = __atomic_load_n(&shim_all_tasks, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&shim_all_tasks, &p->next_task, p,
					    true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
	shim_task = p;
	return p;
}

void set_current_state(unsigned int state)
{
	struct task_struct *p = current;

	pthread_mutex_lock(&p->mutex);
	p->state = state;
	pthread_mutex_unlock(&p->mutex);
}

void schedule(void)
{
	struct task_struct *p = current;

	if (p->sleep_hook)
		p->sleep_hook(p->sleep_hook_arg);
	pthread_mutex_lock(&p->mutex);
	while (p->state != TASK_RUNNING)
		pthread_cond_wait(&p->cond, &p->mutex);
	pthread_mutex_unlock(&p->mutex);
}

int wake_up_process(struct task_struct *p)
{
	int woken;

	pthread_mutex_lock(&p->mutex);
	woken = p->state != TASK_RUNNING;
	p->state = TASK_RUNNING;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mutex);
	return woken;
}

void shim_kill(struct task_struct *p)
{
	pthread_mutex_lock(&p->mutex);
	__atomic_store_n(&p->fatal_signal, true, __ATOMIC_RELEASE);
	if (p->state & TASK_WAKEKILL) {
		p->state = TASK_RUNNING;
		pthread_cond_signal(&p->cond);
	}
	pthread_mutex_unlock(&p->mutex);
}

void shim_unkill(struct task_struct *p)
{
	__atomic_store_n(&p->fatal_signal, false, __ATOMIC_RELEASE);
}

/* As in kernel/sched/core.c: a task is queued at most once. */
void wake_q_add(struct wake_q_head *head, struct task_struct *task)
{
	struct wake_q_node *node = &task->wake_q, *expected = NULL;

	if (!__atomic_compare_exchange_n(&node->next, &expected, WAKE_Q_TAIL,
					 false, __ATOMIC_SEQ_CST,
					 __ATOMIC_RELAXED))
		return;
	*head->lastp = node;
	head->lastp = &node->next;
}

void wake_up_q(struct wake_q_head *head)
{
	struct wake_q_node *node = head->first;

	while (node != WAKE_Q_TAIL) {
		struct task_struct *task;

		task = container_of(node, struct task_struct, wake_q);
		node = node->next;
		/* The task may be queued again once this is cleared. */
		__atomic_store_n(&task->wake_q.next, NULL, __ATOMIC_SEQ_CST);
		wake_up_process(task);
	}
}
