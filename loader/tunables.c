// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tunables.h"

const char *const section_names[NR_SECTIONS] = { ".rodata", ".data", ".bss" };

static int btf_value_type(const struct btf *btf, __u32 id, struct value_type *vt)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t)))
		t = btf__type_by_id(btf, t->type);
	if (!t)
		return -EINVAL;
	if (btf_is_int(t)) {
		__u8 enc = btf_int_encoding(t);

		vt->size = t->size;
		vt->kind = enc & BTF_INT_BOOL ? VALUE_BOOL :
			   enc & BTF_INT_SIGNED ? VALUE_INT : VALUE_UINT;
		return btf_int_bits(t) == t->size * 8 ? 0 : -ENOTSUP;
	}
	if (btf_is_any_enum(t)) {
		vt->size = t->size;
		vt->kind = btf_kflag(t) ? VALUE_INT : VALUE_UINT;
		return 0;
	}
	if (btf_is_array(t)) {
		const struct btf_array *arr = btf_array(t);
		struct value_type elem;

		if (btf_value_type(btf, arr->type, &elem) || elem.size != 1 ||
		    elem.kind == VALUE_BOOL)
			return -ENOTSUP;
		vt->kind = VALUE_STRING;
		vt->size = arr->nelems;
		return 0;
	}
	return -ENOTSUP;
}

int vars_add_datasec(struct policy_vars *vars, const struct btf *btf,
		     __u32 type_id, enum var_section sec)
{
	const struct btf_type *ds = btf__type_by_id(btf, type_id);
	const struct btf_var_secinfo *vsi;

	if (!ds || !btf_is_datasec(ds))
		return -EINVAL;
	vsi = btf_var_secinfos(ds);
	for (int i = 0; i < btf_vlen(ds); i++, vsi++) {
		const struct btf_type *var = btf__type_by_id(btf, vsi->type);
		struct policy_var *v;

		if (!var || !btf_is_var(var) || vars->n >= MAX_VARS)
			continue;
		v = &vars->v[vars->n];
		if (btf_value_type(btf, var->type, &v->type))
			continue;	/* structs, pointers: not tunable */
		snprintf(v->name, sizeof(v->name), "%s", btf__name_by_offset(btf, var->name_off));
		v->section = sec;
		v->offset = vsi->offset;
		vars->n++;
	}
	return 0;
}

struct policy_var *vars_find(struct policy_vars *vars, const char *name)
{
	for (int i = 0; i < vars->n; i++)
		if (!strcmp(vars->v[i].name, name))
			return &vars->v[i];
	return NULL;
}

bool var_is_counter(const struct policy_var *v)
{
	return v->section == SEC_BSS && !strncmp(v->name, "stat_", 5);
}

bool var_is_internal(const struct policy_var *v)
{
	return !strncmp(v->name, "mmlock_", 7);
}

static bool read_u64(struct policy_vars *vars, const char *name, __u64 *out)
{
	struct policy_var *v = vars_find(vars, name);

	if (!v || v->type.size != 8 || !vars->data[v->section])
		return false;
	memcpy(out, var_ptr(vars, v), 8);
	return true;
}

/* MMLOCK_TUNABLE_LIMITS() bounds of a numeric variable, if it has any. */
static int check_limits(struct policy_vars *vars, struct policy_var *v,
			const void *buf, const char *text)
{
	char name[80];
	__u64 min = 0, max = ~0ULL, val = 0;
	bool has_min, has_max;

	if (v->type.kind != VALUE_UINT && v->type.kind != VALUE_INT)
		return 0;
	snprintf(name, sizeof(name), "mmlock_min__%s", v->name);
	has_min = read_u64(vars, name, &min);
	snprintf(name, sizeof(name), "mmlock_max__%s", v->name);
	has_max = read_u64(vars, name, &max);
	memcpy(&val, buf, v->type.size);
	if (v->type.kind == VALUE_INT) {
		long long s = v->type.size == 8 ? (long long)val :
			      v->type.size == 4 ? (int)val :
			      v->type.size == 2 ? (short)val : (signed char)val;

		if ((has_min && s < (long long)min) || (has_max && s > (long long)max))
			goto out_of_range;
		return 0;
	}
	if ((has_min && val < min) || (has_max && val > max))
		goto out_of_range;
	return 0;
out_of_range:
	fprintf(stderr, "mmlock: %s: %s is outside the policy's limits [%lld, %lld]\n",
		v->name, text, (long long)min, (long long)max);
	return -ERANGE;
}

int vars_assign(struct policy_vars *vars, char **assignments, int n,
		bool runtime)
{
	char buf[n > 0 ? n : 1][256];
	struct policy_var *targets[n > 0 ? n : 1];
	char err[256];

	for (int i = 0; i < n; i++) {
		char name[64], *eq = strchr(assignments[i], '=');
		struct policy_var *v;

		if (!eq || eq == assignments[i] || eq - assignments[i] >= (int)sizeof(name)) {
			fprintf(stderr, "mmlock: '%s': expected VAR=VALUE\n", assignments[i]);
			return -EINVAL;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - assignments[i]), assignments[i]);
		v = vars_find(vars, name);
		if (!v || var_is_internal(v)) {
			fprintf(stderr, "mmlock: unknown tunable '%s' (see 'mmlock get')\n", name);
			return -ENOENT;
		}
		if (var_is_counter(v)) {
			fprintf(stderr, "mmlock: '%s' is a counter, not a tunable\n", name);
			return -EPERM;
		}
		if (runtime && v->section == SEC_RODATA) {
			fprintf(stderr, "mmlock: '%s' is read-only once loaded; set it with 'mmlock load/swap --set'\n",
				name);
			return -EPERM;
		}
		if (!vars->data[v->section]) {
			fprintf(stderr, "mmlock: '%s': its section is not accessible\n", name);
			return -EINVAL;
		}
		if (v->type.size > sizeof(buf[i]) ||
		    value_parse(&v->type, eq + 1, buf[i], err, sizeof(err))) {
			fprintf(stderr, "mmlock: %s: %s\n", name, err);
			return -ERANGE;
		}
		if (check_limits(vars, v, buf[i], eq + 1))
			return -ERANGE;
		targets[i] = v;
	}
	for (int i = 0; i < n; i++)
		memcpy(var_ptr(vars, targets[i]), buf[i], targets[i]->type.size);
	return 0;
}
