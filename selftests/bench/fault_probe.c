// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock-fault-probe: the guest side of `make bench-profile`. Maps 4 MB
 * of anonymous memory at PROBE_BASE, faults its first pages in (anon_vma
 * and the page table exist), calls sched_yield() as a marker for the
 * debugger, then faults pages 5-15 in order; the profiler single-steps
 * the fault of page PROBE_PAGE, an ordinary one: a missing PTE in a
 * present page table of an anonymous VMA that has its anon_vma.
 */
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>

#define PROBE_BASE ((char *)0x7e0000000000UL)
#define PROBE_LEN (4UL << 20)
#define PAGE 4096UL

int main(void)
{
	char *p = mmap(PROBE_BASE, PROBE_LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p != PROBE_BASE) {
		perror("mmlock-fault-probe: mmap");
		return 1;
	}
	for (unsigned long i = 0; i < 4; i++)
		p[i * PAGE] = 1;
	sched_yield();
	for (unsigned long i = 5; i < 16; i++)
		p[i * PAGE] = 1;	/* PROBE_PAGE (12) is the one traced */
	return 0;
}
