// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-workload: a short faulting load for demos and manual checks.
 *   mmlock-workload [SECONDS [THREADS]]
 * THREADS threads fault in their own 8 MB regions over and over (each page
 * written and verified) while one more thread mmaps and munmaps next to the
 * first region. Prints faults/s and writer ops/s; exits 1 on corruption.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>

#define REGION (8UL << 20)
#define PAGE 4096UL

static volatile int stop;
static char *first_region;

struct result {
	unsigned long count;
	unsigned long bad;
};

static void *faulter(void *arg)
{
	struct result *r = arg;
	uint64_t seed = (uintptr_t)arg;

	while (!stop) {
		char *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			r->bad++;
			break;
		}
		for (unsigned long off = 0; off < REGION && !stop; off += PAGE) {
			*(uint64_t *)(p + off) = seed ^ off;
			r->count++;
		}
		for (unsigned long off = 0; off < REGION; off += PAGE)
			if (*(uint64_t *)(p + off) != (seed ^ off) &&
			    *(uint64_t *)(p + off) != 0)
				r->bad++;
		munmap(p, REGION);
		seed++;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct result *r = arg;

	while (!stop) {
		/* Right after the faulting region: merges, then splits. */
		char *p = mmap(first_region + REGION, PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, PAGE);
		r->count++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 3;
	int nthreads = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t threads[64], wthread;
	struct result res[64] = {}, wres = {};
	unsigned long faults = 0, bad = 0;

	if (seconds <= 0 || nthreads <= 0 || nthreads > 64) {
		fprintf(stderr, "usage: mmlock-workload [SECONDS [THREADS (1-64)]]\n");
		return 2;
	}
	first_region = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (first_region == MAP_FAILED)
		return 1;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&threads[i], NULL, faulter, &res[i]);
	pthread_create(&wthread, NULL, writer, &wres);
	sleep(seconds);
	stop = 1;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		faults += res[i].count;
		bad += res[i].bad;
	}
	pthread_join(wthread, NULL);
	printf("workload: %d faulting threads: %.0f faults/s; writer: %.0f mmap+munmap/s; %lu bad pages\n",
	       nthreads, (double)faults / seconds, (double)wres.count / seconds, bad);
	return bad ? 1 : 0;
}
