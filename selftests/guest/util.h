/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the in-VM tests: kernel state, fault workloads. */
#ifndef MMLOCK_TEST_UTIL_H
#define MMLOCK_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SZ 4096UL
#define PMD_SZ (2UL << 20)

/* A value from /sys/kernel/mmlock/status into buf; false if absent. */
bool mmlock_status(const char *key, char *buf, size_t len);
/* Whether the state is "enabled" and, if name, the policy is name. */
bool mmlock_enabled(const char *name);
/* A counter from /sys/kernel/mmlock/stats; -1 if absent. */
long long mmlock_stat(const char *name);
bool mmlock_kernel_supported(void);
/* Ejection and SysRq-M finish in a kernel worker: wait up to 1 s for it. */
void wait_policy_gone(void);

/* Anonymous private mapping of len bytes, NULL on failure. */
void *map_anon(size_t len);
/* The same with a hole on each side, so it never merges with a neighbour. */
void *map_anon_isolated(size_t len);
/* Write a pattern depending on (seed, page index) into every page. */
void fill_pages(void *p, size_t len, uint64_t seed);
/* Number of pages whose pattern is not (seed, page index). */
size_t bad_pages(void *p, size_t len, uint64_t seed);

/*
 * A background load: nthreads threads that each map, fill, verify and unmap
 * their own region of len bytes in a loop. stop_load() returns the total
 * number of pages that failed verification (must be 0).
 */
struct fault_load;
struct fault_load *start_load(int nthreads, size_t len);
unsigned long load_rounds(struct fault_load *load);
long stop_load(struct fault_load *load);

/* Run fn in a child that dropped to uid/gid 65534 with no capabilities;
 * returns the child's exit status. */
int run_unprivileged(int (*fn)(void *), void *arg);

#endif /* MMLOCK_TEST_UTIL_H */
