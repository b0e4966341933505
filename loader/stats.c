// SPDX-License-Identifier: GPL-2.0
/*
 * `mmlock stats` for people: the kernel's counters (/sys/kernel/mmlock/stats)
 * grouped by what they tell, with the shares that explain them (faults on
 * the range path, the top fallback reasons, average waits), zeros folded
 * unless asked for, and rates per second between two samples (--watch).
 * --json prints every counter as read, elsewhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

int stats_read(const char *path, struct stats_sample *s)
{
	char line[256];
	FILE *f = fopen(path, "r");

	s->n = 0;
	if (!f)
		return -1;
	while (s->n < STATS_MAX && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		char name[STATS_NAME_LEN];

		if (sscanf(line, "%47s %llu", name, &v) != 2)
			continue;
		snprintf(s->name[s->n], sizeof(s->name[s->n]), "%s", name);
		s->v[s->n++] = v;
	}
	fclose(f);
	return 0;
}

static int find(const struct stats_sample *s, const char *name)
{
	for (int i = 0; s && i < s->n; i++)
		if (!strcmp(s->name[i], name))
			return i;
	return -1;
}

static unsigned long long get(const struct stats_sample *s, const char *name)
{
	int i = find(s, name);

	return i < 0 ? 0 : s->v[i];
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The groups, in print order; a counter goes to the first that matches. */
static const struct group {
	const char *title;
	const char *prefixes[4];
} groups[] = {
	{ "decisions: what the policy answered", { "decide_" } },
	{ "paths: where faults were handled", { "path_" } },
	{ "fallbacks: why a fault left the path it was sent to",
	  { "fallback_", "retry_range", "range_dropped" } },
	{ "hints and windows", { "hint_", "window_" } },
	{ "waits", { "wait_" } },
	{ "writers", { "writer_", "mm_fine" } },
	{ "policy errors", { "policy_errors" } },
};

#define NR_GROUPS (sizeof(groups) / sizeof(groups[0]))

static int group_of(const char *name)
{
	for (size_t g = 0; g < NR_GROUPS; g++)
		for (int p = 0; p < 4 && groups[g].prefixes[p]; p++)
			if (has_prefix(name, groups[g].prefixes[p]))
				return g;
	return NR_GROUPS;
}

/* What a counter's line adds after its value, if anything. */
static void explain(const struct stats_sample *s, const char *name,
		    unsigned long long v, char *buf, size_t len)
{
	unsigned long long paths = get(s, "path_vma") + get(s, "path_coarse") +
				   get(s, "path_range");
	unsigned long long decisions = get(s, "decide_coarse") +
				       get(s, "decide_vma") +
				       get(s, "decide_range");
	char ns_name[STATS_NAME_LEN + 4];

	buf[0] = '\0';
	if (has_prefix(name, "path_") && paths)
		snprintf(buf, len, "%5.1f %% of faults", 100.0 * v / paths);
	else if (has_prefix(name, "decide_") && decisions)
		snprintf(buf, len, "%5.1f %% of decisions", 100.0 * v / decisions);
	else if (has_prefix(name, "fallback_") && paths)
		snprintf(buf, len, "%5.1f %% of faults", 100.0 * v / paths);
	if (has_prefix(name, "wait_") && !strstr(name, "_ns") && v) {
		snprintf(ns_name, sizeof(ns_name), "%s_ns", name);
		if (find(s, ns_name) >= 0)
			snprintf(buf, len, "avg %.3f ms",
				 get(s, ns_name) / 1e6 / v);
	}
}

/* Total waits are shown as the averages on their count's line. */
static bool folded_into_other(const char *name)
{
	size_t n = strlen(name);

	return has_prefix(name, "wait_") && n > 3 && !strcmp(name + n - 3, "_ns");
}

void stats_print(const struct stats_sample *s, const struct stats_sample *prev,
		 double dt, bool all)
{
	for (size_t g = 0; g <= NR_GROUPS; g++) {
		int shown = 0, zeros = 0;

		for (int i = 0; i < s->n; i++) {
			const char *name = s->name[i];
			char extra[64], rate[32] = "";
			int p;

			if ((size_t)group_of(name) != g || folded_into_other(name))
				continue;
			if (!s->v[i] && !all) {
				zeros++;
				continue;
			}
			if (!shown++)
				printf("%s\n", g < NR_GROUPS ? groups[g].title : "other");
			explain(s, name, s->v[i], extra, sizeof(extra));
			p = find(prev, name);
			if (p >= 0 && dt > 0)
				snprintf(rate, sizeof(rate), "%10.0f/s",
					 (double)(s->v[i] - prev->v[p]) / dt);
			printf("  %-30s %14llu %12s  %s\n", name, s->v[i], rate, extra);
		}
		if (zeros && shown)
			printf("  (%d more at 0; -a shows them)\n", zeros);
		else if (zeros && g < NR_GROUPS && all)
			printf("%s: all 0\n", groups[g].title);
	}
}
