// SPDX-License-Identifier: GPL-2.0
/*
 * adaptive: per address space, start on the stock per-VMA path and move to
 * range locking when its faults are seen waiting for mmap_lock; move back
 * after a run of calm windows.
 *
 * The heuristic, per mm (keyed by mm_id, LRU-bounded):
 *  - time is cut into windows of window_ms; in each window count faults,
 *    waits reported by waited() and the time spent waiting;
 *  - at the end of a window, if the mm's faults spent at least
 *    enter_wait_permille of the window waiting and at least
 *    enter_wait_faults_permille of its faults waited, use RANGE for it;
 *  - after calm_windows consecutive windows below exit_wait_permille, go
 *    back to the stock path (hysteresis: enter and exit thresholds differ,
 *    and one quiet window is not enough);
 *  - range_size applies to RANGE as in anon2m; file-backed memory always
 *    takes the stock path.
 * COARSE is never chosen: a wait on mmap_read_lock only gets longer when
 * every fault queues for it.
 */
#include <mmlock/common.bpf.h>

char _license[] SEC("license") = "GPL";

MMLOCK_DESCRIPTION("per mm: stock path, ranges while its faults wait for mmap_lock");

u64 window_ms = 100;
MMLOCK_TUNABLE_LIMITS(window_ms, 1, 60000);
u32 enter_wait_permille = 10;
MMLOCK_TUNABLE_LIMITS(enter_wait_permille, 0, 1000);
u32 enter_wait_faults_permille = 50;
MMLOCK_TUNABLE_LIMITS(enter_wait_faults_permille, 0, 1000);
u32 exit_wait_permille = 2;
MMLOCK_TUNABLE_LIMITS(exit_wait_permille, 0, 1000);
u32 calm_windows = 5;
MMLOCK_TUNABLE_LIMITS(calm_windows, 1, 1000);
u64 range_size = MMLOCK_PMD_SIZE;
MMLOCK_TUNABLE_LIMITS(range_size, 0, 1ULL << 30);

MMLOCK_SCOPE_TUNABLES();

MMLOCK_COUNTERS(stock, range, to_range, to_stock, waits, out_of_scope);

/*
 * Per-mm state, updated without a lock (LRU maps cannot hold a
 * bpf_spin_lock): counters are atomic, and only the fault that wins the
 * cmpxchg on window_start closes a window and changes the mode. An event
 * racing with the close may land in the next window; that is all.
 */
struct mm_state {
	u64 window_start;
	u64 faults;
	u64 waits;
	u64 wait_ns;
	u32 range;		/* current mode: 1 = RANGE */
	u32 calm;		/* consecutive calm windows */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, struct mm_state);
} mm_states SEC(".maps");

#define FAULT_BATCH 32

/*
 * This CPU's view of the last mm that faulted on it: its mode as read in
 * one scheduler tick, and its faults not yet added to its count. A fault
 * that finds its mm here, in the same tick, and not a full batch, neither
 * reads the clock nor looks up or writes the shared per-mm state: threads
 * of one mm on different CPUs do not bounce it, and the common fault
 * costs one per-CPU lookup and a read of jiffies. Another CPU's mode
 * change, and the end of a window, reach this CPU within a tick (1-10 ms)
 * or FAULT_BATCH faults.
 */
struct cpu_view {
	u64 mm_id;
	u64 faults;
	u64 tick;		/* jiffies when the mode was read */
	u32 range;		/* the mm's mode then */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_view);
} cpu_views SEC(".maps");

static struct mm_state *get_state(u64 mm_id)
{
	struct mm_state *st = bpf_map_lookup_elem(&mm_states, &mm_id);
	struct mm_state init = {};

	if (st)
		return st;
	init.window_start = bpf_ktime_get_ns();
	bpf_map_update_elem(&mm_states, &mm_id, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&mm_states, &mm_id);
}

static __always_inline void close_window(struct mm_state *st, u64 elapsed)
{
	u64 faults = __sync_lock_test_and_set(&st->faults, 0);
	u64 waits = __sync_lock_test_and_set(&st->waits, 0);
	u64 wait_ns = __sync_lock_test_and_set(&st->wait_ns, 0);
	u64 wait_permille = wait_ns * 1000 / (elapsed ?: 1);
	/* Waits but no fault counted yet: fewer than the batches hold. */
	u64 fault_permille = faults ? waits * 1000 / faults : waits ? 1000 : 0;

	if (waits && wait_permille >= enter_wait_permille &&
	    fault_permille >= enter_wait_faults_permille) {
		if (!st->range)
			mmlock_counter_inc(to_range);
		st->range = 1;
		st->calm = 0;
	} else if (st->range && wait_permille < exit_wait_permille) {
		if (++st->calm >= calm_windows) {
			st->range = 0;
			st->calm = 0;
			mmlock_counter_inc(to_stock);
		}
	} else {
		st->calm = 0;
	}
}

/*
 * The slow path: hand the CPU's pending faults to their mm, close the
 * window if it is over, and cache the mode of @mm_id until its end.
 */
static __always_inline u32 refresh_view(struct cpu_view *v, u64 mm_id,
					u64 now)
{
	u64 window_ns = window_ms * 1000000ULL;
	struct mm_state *st;
	u64 start;

	if (v->faults && v->mm_id != mm_id) {
		struct mm_state *old = bpf_map_lookup_elem(&mm_states,
							   &v->mm_id);

		if (old)
			__sync_fetch_and_add(&old->faults, v->faults);
		v->faults = 0;
	}
	st = get_state(mm_id);
	if (!st) {
		v->mm_id = 0;
		return 0;
	}
	__sync_fetch_and_add(&st->faults, v->faults + 1);
	v->faults = 0;
	start = st->window_start;
	if (now - start >= window_ns &&
	    __sync_bool_compare_and_swap(&st->window_start, start, now)) {
		close_window(st, now - start);
		start = now;
	}
	v->mm_id = mm_id;
	v->range = st->range;
	return v->range;
}

/* Count the fault; returns the mm's mode (1 = RANGE). */
static __always_inline u32 fault_mode(u64 mm_id)
{
	u64 tick = bpf_jiffies64();	/* inlined: a load of jiffies */
	struct cpu_view *v;
	u32 key = 0;

	v = bpf_map_lookup_elem(&cpu_views, &key);
	if (!v)
		return 0;
	if (v->mm_id == mm_id && v->tick == tick &&
	    v->faults + 1 < FAULT_BATCH) {
		v->faults++;
		return v->range;
	}
	v->tick = tick;
	return refresh_view(v, mm_id, bpf_ktime_get_ns());
}

SEC("struct_ops/adaptive_fault")
s32 BPF_PROG(adaptive_fault, struct mmlock_fault_req *req)
{
	if (!mmlock_in_scope(req)) {
		mmlock_counter_inc(out_of_scope);
		return MMLOCK_FAULT_VMA;
	}
	if (!fault_mode(req->mm_id) || req->kind != MMLOCK_VMA_ANON) {
		mmlock_counter_inc(stock);
		return MMLOCK_FAULT_VMA;
	}
	mmlock_set_range(req, range_size);
	mmlock_counter_inc(range);
	return MMLOCK_FAULT_RANGE;
}

SEC("struct_ops/adaptive_waited")
void BPF_PROG(adaptive_waited, struct mmlock_wait_event *ev)
{
	struct mm_state *st = get_state(ev->mm_id);

	mmlock_counter_inc(waits);
	if (!st)
		return;
	__sync_fetch_and_add(&st->waits, 1);
	__sync_fetch_and_add(&st->wait_ns, ev->wait_ns);
}

MMLOCK_OPS_DEFINE(adaptive_ops, .fault = (void *)adaptive_fault,
		  .waited = (void *)adaptive_waited, .name = "adaptive");
