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
 *    enter_wait_permille of the window waiting, or at least
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

u64 stat_stock;
u64 stat_range;
u64 stat_to_range;
u64 stat_to_stock;
u64 stat_waits;

struct mm_state {
	struct bpf_spin_lock lock;
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

/* Close the window if it is over; returns the mode to use. */
static u32 update_mode(struct mm_state *st, u64 now)
{
	u64 window = window_ms * 1000000ULL;
	u32 range, to_range = 0, to_stock = 0;

	bpf_spin_lock(&st->lock);
	if (now - st->window_start >= window) {
		u64 elapsed = now - st->window_start;
		u64 wait_permille = st->wait_ns * 1000 / (elapsed ?: 1);
		u64 fault_permille = st->faults ? st->waits * 1000 / st->faults : 0;

		if (wait_permille >= enter_wait_permille && st->waits &&
		    fault_permille >= enter_wait_faults_permille) {
			to_range = !st->range;
			st->range = 1;
			st->calm = 0;
		} else if (st->range && wait_permille < exit_wait_permille) {
			if (++st->calm >= calm_windows) {
				st->range = 0;
				st->calm = 0;
				to_stock = 1;
			}
		} else {
			st->calm = 0;
		}
		st->window_start = now;
		st->faults = 0;
		st->waits = 0;
		st->wait_ns = 0;
	}
	st->faults++;
	range = st->range;
	bpf_spin_unlock(&st->lock);
	if (to_range)
		__sync_fetch_and_add(&stat_to_range, 1);
	if (to_stock)
		__sync_fetch_and_add(&stat_to_stock, 1);
	return range;
}

SEC("struct_ops/adaptive_fault")
s32 BPF_PROG(adaptive_fault, struct mmlock_fault_req *req)
{
	struct mm_state *st;

	st = get_state(req->mm_id);
	if (!st || !update_mode(st, bpf_ktime_get_ns()) ||
	    req->kind != MMLOCK_VMA_ANON) {
		__sync_fetch_and_add(&stat_stock, 1);
		return MMLOCK_FAULT_VMA;
	}
	mmlock_set_range(req, range_size);
	__sync_fetch_and_add(&stat_range, 1);
	return MMLOCK_FAULT_RANGE;
}

SEC("struct_ops/adaptive_waited")
void BPF_PROG(adaptive_waited, struct mmlock_wait_event *ev)
{
	struct mm_state *st = get_state(ev->mm_id);

	__sync_fetch_and_add(&stat_waits, 1);
	if (!st)
		return;
	bpf_spin_lock(&st->lock);
	st->waits++;
	st->wait_ns += ev->wait_ns;
	bpf_spin_unlock(&st->lock);
}

MMLOCK_OPS_DEFINE(adaptive_ops, .fault = (void *)adaptive_fault,
		  .waited = (void *)adaptive_waited, .name = "adaptive");
