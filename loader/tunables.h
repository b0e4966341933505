/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A policy's variables, found by name through BTF: its tunables (.data,
 * .bss, and .rodata which can only be set at load) and its counters (.bss
 * variables named stat_*, shown by `mmlock stats`).
 */
#ifndef MMLOCK_TUNABLES_H
#define MMLOCK_TUNABLES_H

#include <bpf/btf.h>

#include "value.h"

enum var_section { SEC_RODATA, SEC_DATA, SEC_BSS, NR_SECTIONS };

extern const char *const section_names[NR_SECTIONS];

struct policy_var {
	char name[64];
	enum var_section section;
	size_t offset;
	struct value_type type;
};

#define MAX_VARS 128

struct policy_vars {
	struct policy_var v[MAX_VARS];
	int n;
	/* Where each section's bytes are (NULL if the policy has none). */
	void *data[NR_SECTIONS];
	size_t size[NR_SECTIONS];
};

/* Variables of the datasec type_id in btf, in section sec. */
int vars_add_datasec(struct policy_vars *vars, const struct btf *btf,
		     __u32 type_id, enum var_section sec);
struct policy_var *vars_find(struct policy_vars *vars, const char *name);
/* Counters are .bss variables named stat_*; mmlock_* are internal. */
bool var_is_counter(const struct policy_var *v);
bool var_is_internal(const struct policy_var *v);
static inline void *var_ptr(struct policy_vars *vars, const struct policy_var *v)
{
	return (char *)vars->data[v->section] + v->offset;
}

/*
 * Apply NAME=VALUE assignments (all checked before any is written). At load
 * time (runtime == false) .rodata may be set; at runtime only .data and
 * .bss. Counters cannot be set. Prints a one-line error and returns
 * non-zero on the first bad one.
 */
int vars_assign(struct policy_vars *vars, char **assignments, int n,
		bool runtime);

#endif /* MMLOCK_TUNABLES_H */
