/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by every mmlock_ext BPF policy: kernel types come from vmlinux.h
 * (generated from our kernel), kfunc prototypes are declared here because
 * pahole 1.24 does not put them into BTF.
 */
#ifndef MMLOCK_COMMON_BPF_H
#define MMLOCK_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MMLOCK_PMD_SIZE (2ULL << 20)
#define MMLOCK_PAGE_SIZE 4096ULL

/*
 * Counters that do not bounce between CPUs. Declare a policy's counters
 * once, MMLOCK_COUNTERS(anon_range, file_range), and bump one with
 * mmlock_counter_inc(anon_range) or mmlock_counter_add(wait_ns, n). They
 * live in a per-CPU array map named mmlock_counters whose value type names
 * them; `mmlock stats` shows their sums over the CPUs. Callbacks run with
 * preemption off, so a plain add on this CPU's copy is enough.
 */
#define MMLOCK_COUNTERS(...)                                                \
	struct mmlock_counters {                                            \
		u64 __VA_ARGS__;                                            \
	};                                                                  \
	struct {                                                            \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                    \
		__uint(max_entries, 1);                                     \
		__type(key, u32);                                           \
		__type(value, struct mmlock_counters);                      \
	} mmlock_counters SEC(".maps")

#define mmlock_counter_add(name, n)                                         \
	({                                                                  \
		u32 ___key = 0;                                             \
		struct mmlock_counters *___c =                              \
			bpf_map_lookup_elem(&mmlock_counters, &___key);     \
		if (___c)                                                   \
			___c->name += (n);                                  \
	})

#define mmlock_counter_inc(name) mmlock_counter_add(name, 1)

void mmlock_bpf_error_bstr(char *fmt, unsigned long long *data,
			   u32 data__sz) __ksym;

/*
 * mmlock_bpf_error("fmt", args...): eject this policy with a message that
 * `mmlock status` and the kernel log show. Up to 12 arguments.
 */
#define mmlock_bpf_error(fmt, args...)                                      \
	({                                                                  \
		static char ___fmt[] = fmt;                                 \
		unsigned long long ___param[___bpf_narg(args) ?: 1] = {};   \
		_Pragma("GCC diagnostic push")                              \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")      \
		___bpf_fill(___param, args);                                \
		_Pragma("GCC diagnostic pop")                               \
		mmlock_bpf_error_bstr(___fmt, ___param, sizeof(___param));  \
	})

/*
 * A one-line description that `mmlock list` shows:
 *   MMLOCK_DESCRIPTION("2 MB ranges for anonymous memory");
 */
#define MMLOCK_DESCRIPTION(text) \
	const volatile char mmlock_description[] SEC(".rodata") = text

/*
 * Bounds the loader enforces on `mmlock set/load --set VAR=...` for a
 * numeric tunable: MMLOCK_TUNABLE_LIMITS(range_size, 0, 1ULL << 30);
 */
#define MMLOCK_TUNABLE_LIMITS(var, min, max)                                \
	const volatile u64 mmlock_min__##var SEC(".rodata") = (min);        \
	const volatile u64 mmlock_max__##var SEC(".rodata") = (max)

/* Define the policy's struct_ops map, link-attached (hot swap needs it). */
#define MMLOCK_OPS_DEFINE(__name, ...)                         \
	SEC(".struct_ops.link") struct mmlock_ops __name = { \
		__VA_ARGS__,                                   \
	}

static __always_inline u64 mmlock_round_down(u64 x, u64 align)
{
	return x & ~(align - 1);
}

static __always_inline u64 mmlock_round_up(u64 x, u64 align)
{
	return (x + align - 1) & ~(align - 1);
}

/*
 * Set req's range to the size-aligned range around the address (size is
 * rounded up to a multiple of 2 MB), or for size 0 to the VMA rounded out
 * to 2 MB boundaries. The result always contains the prefilled minimum and
 * stays inside user space, so the kernel accepts it.
 */
static __always_inline void mmlock_set_range(struct mmlock_fault_req *req,
					     u64 size)
{
	u64 start, end;

	if (!size) {
		start = mmlock_round_down(req->vma_start, MMLOCK_PMD_SIZE);
		end = mmlock_round_up(req->vma_end, MMLOCK_PMD_SIZE);
	} else {
		size = mmlock_round_up(size, MMLOCK_PMD_SIZE);
		start = req->address - req->address % size;
		end = start + size;
	}
	if (start > req->start)
		start = req->start;
	if (end < req->end)
		end = req->end;
	/* The kernel's limit: 4- or 5-level paging, whatever the build. */
	if (end > req->user_end)
		end = req->user_end;
	req->start = start;
	req->end = end;
}

/*
 * MMLOCK_SCOPE_TUNABLES() gives a policy three runtime tunables that limit
 * it to some processes; faults of the others should take the stock path:
 *   scope_tgid       only this thread group (0: any)
 *   scope_comm       only tasks with this command name (empty: any)
 *   scope_cgroup_id  only tasks in this cgroup v2 (its directory's inode
 *                    number, `stat -c %i /sys/fs/cgroup/GROUP`; 0: any)
 * mmlock_in_scope(req) tells whether the fault is in scope.
 */
#define MMLOCK_SCOPE_TUNABLES()                                             \
	u32 scope_tgid;                                                     \
	char scope_comm[16];                                                \
	u64 scope_cgroup_id;                                                \
									    \
	static __always_inline bool mmlock_in_scope(struct mmlock_fault_req *req) \
	{                                                                   \
		struct task_struct *task;                                   \
									    \
		if (scope_tgid && req->tgid != scope_tgid)                  \
			return false;                                       \
		if (scope_cgroup_id &&                                      \
		    bpf_get_current_cgroup_id() != scope_cgroup_id)         \
			return false;                                       \
		if (!scope_comm[0])                                         \
			return true;                                        \
		task = bpf_get_current_task_btf();                          \
		for (int i = 0; i < 16; i++) {                              \
			if (task->comm[i] != scope_comm[i])                 \
				return false;                               \
			if (!scope_comm[i])                                 \
				break;                                      \
		}                                                           \
		return true;                                                \
	}

#endif /* MMLOCK_COMMON_BPF_H */
