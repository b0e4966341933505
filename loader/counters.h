/* SPDX-License-Identifier: GPL-2.0 */
/* Per-CPU policy counters (MMLOCK_COUNTERS()), summed: see counters.c. */
#ifndef MMLOCK_COUNTERS_H
#define MMLOCK_COUNTERS_H

#define COUNTERS_MAX 32
#define COUNTERS_NAME_LEN 48
/* The name of the map, and of its pin in the loader's pin directory. */
#define COUNTERS_MAP "mmlock_counters"

struct policy_counters {
	int n;
	char name[COUNTERS_MAX][COUNTERS_NAME_LEN];
	unsigned long long v[COUNTERS_MAX];
};

/*
 * Read the pinned counters map at pin and sum each counter over the CPUs.
 * 0 (c->n == 0 if nothing is pinned there) or a negative errno.
 */
int counters_read(const char *pin, struct policy_counters *c);

#endif /* MMLOCK_COUNTERS_H */
