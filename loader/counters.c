// SPDX-License-Identifier: GPL-2.0
/*
 * Policy counters: a policy declares them with MMLOCK_COUNTERS() in
 * include/mmlock/common.bpf.h, a per-CPU array map "mmlock_counters" of one
 * struct whose u64 members name them, so that faults on different CPUs
 * never write the same cache line. The loader pins that map beside the
 * data maps and sums the CPUs' copies here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "counters.h"

int counters_read(const char *pin, struct policy_counters *c)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	const struct btf_member *m;
	const struct btf_type *t;
	struct btf *btf = NULL;
	int fd, ncpus, err = 0;
	size_t stride;
	char *vals;

	c->n = 0;
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0 || bpf_map_get_info_by_fd(fd, &info, &len)) {
		err = ncpus <= 0 ? ncpus : -errno;
		goto out_fd;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	t = btf ? btf__type_by_id(btf, info.btf_value_type_id) : NULL;
	if (!t || !btf_is_struct(t)) {
		err = -EINVAL;
		goto out_btf;
	}
	stride = (info.value_size + 7) & ~7UL;
	vals = calloc(ncpus, stride);
	if (!vals || bpf_map_lookup_elem(fd, &key, vals)) {
		err = vals ? -errno : -ENOMEM;
		free(vals);
		goto out_btf;
	}
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t) && c->n < COUNTERS_MAX; i++, m++) {
		size_t off = btf_member_bit_offset(t, i) / 8;
		unsigned long long sum = 0;

		if (btf__resolve_size(btf, m->type) != 8)
			continue;
		for (int cpu = 0; cpu < ncpus; cpu++) {
			unsigned long long v;

			memcpy(&v, vals + cpu * stride + off, sizeof(v));
			sum += v;
		}
		snprintf(c->name[c->n], sizeof(c->name[c->n]), "%s",
			 btf__name_by_offset(btf, m->name_off));
		c->v[c->n++] = sum;
	}
	free(vals);
out_btf:
	btf__free(btf);
out_fd:
	close(fd);
	return err;
}
