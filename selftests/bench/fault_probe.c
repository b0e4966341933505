// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-fault-probe: the guest side of `make bench-profile`. Maps 4 MB
 * of anonymous memory at PROBE_BASE, faults its first pages in (anon_vma
 * and the page table exist), calls sched_yield() as a marker for the
 * debugger, then faults pages 5-15 in order; the profiler single-steps
 * the fault of page 12, an ordinary one: a missing PTE in a present page
 * table of an anonymous VMA that has its anon_vma.
 *   mmlock-fault-probe [fault|mprotect]
 * With "mprotect", after the marker it makes page 12 read-only and
 * writable again, the writer-mprotect op of the meter; the profiler
 * single-steps the first of the two calls (a VMA split).
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PROBE_BASE ((char *)0x7e0000000000UL)
#define PROBE_LEN (4UL << 20)
#define PAGE 4096UL

int main(int argc, char **argv)
{
	int op_mprotect = argc > 1 && !strcmp(argv[1], "mprotect");

	char *p = mmap(PROBE_BASE, PROBE_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != PROBE_BASE) {
		perror("mmlock-fault-probe: mmap");
		return 1;
	}
	for (unsigned long i = 0; i < 4; i++)
		p[i * PAGE] = 1;
	if (op_mprotect)
		for (unsigned long i = 5; i < 16; i++)
			p[i * PAGE] = 1;
	sched_yield();
	if (op_mprotect) {
		if (mprotect(p + 12 * PAGE, PAGE, PROT_READ) ||
		    mprotect(p + 12 * PAGE, PAGE, PROT_READ | PROT_WRITE)) {
			perror("mmlock-fault-probe: mprotect");
			return 1;
		}
		return 0;
	}
	for (unsigned long i = 5; i < 16; i++)
		p[i * PAGE] = 1;	/* page 12 is the one traced */
	return 0;
}
