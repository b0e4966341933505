/* SPDX-License-Identifier: GPL-2.0 */
/* `mmlock stats` for people: see stats.c. */
#ifndef MMLOCK_STATS_H
#define MMLOCK_STATS_H

#include <stdbool.h>

#define STATS_MAX 64
#define STATS_NAME_LEN 48

/* One read of the kernel's counters. */
struct stats_sample {
	int n;
	char name[STATS_MAX][STATS_NAME_LEN];
	unsigned long long v[STATS_MAX];
};

/* Read "name value" lines of path into s; -1 if it cannot be opened. */
int stats_read(const char *path, struct stats_sample *s);
/*
 * Print s grouped, with shares and averages; with prev (dt seconds
 * earlier), rates per second too. all: also the counters at 0.
 */
void stats_print(const struct stats_sample *s, const struct stats_sample *prev,
		 double dt, bool all);

#endif /* MMLOCK_STATS_H */
