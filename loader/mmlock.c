// SPDX-License-Identifier: GPL-2.0
/*
 * mmlock: load, swap, tune, inspect and unload mmlock_ext policies.
 *
 * A loaded policy's link and data maps are pinned under /sys/fs/bpf/mmlock/,
 * so the policy stays attached after this program exits and later
 * invocations find it: link (the struct_ops link), ops (the struct_ops map)
 * and rodata/data/bss (its global variables, found by name through BTF).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/mmlock_ext.h>
#include <bpf/libbpf.h>

#include "counters.h"
#include "stats.h"
#include "tunables.h"

#define PIN_DIR "/sys/fs/bpf/mmlock"
#define SYSFS_DIR "/sys/kernel/mmlock"
#define DEFAULT_POLICY_DIR "/usr/lib/mmlock/policies"

static bool verbose;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mmlock: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list args)
{
	if (level == LIBBPF_DEBUG || (!verbose && level != LIBBPF_WARN))
		return 0;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* ---- kernel state ---------------------------------------------------- */

struct kv {
	char key[64];
	char value[300];
};

static int read_kv_file(const char *path, struct kv *kv, int max)
{
	char line[400];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');

		line[strcspn(line, "\n")] = '\0';
		if (!sp)
			continue;
		*sp = '\0';
		snprintf(kv[n].key, sizeof(kv[n].key), "%s", line);
		snprintf(kv[n].value, sizeof(kv[n].value), "%s", sp + 1);
		n++;
	}
	fclose(f);
	return n;
}

static const char *kv_get(struct kv *kv, int n, const char *key)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return "";
}

struct kstatus {
	struct kv kv[32];
	int n;
};

/*
 * The last exit's message is in a root-only file of its own (it may name
 * addresses): added as "exit_msg", empty if unreadable.
 */
static void kernel_exit_msg(struct kstatus *st)
{
	struct kv *kv = &st->kv[st->n];
	FILE *f;

	if (st->n >= (int)(sizeof(st->kv) / sizeof(st->kv[0])))
		return;
	snprintf(kv->key, sizeof(kv->key), "exit_msg");
	kv->value[0] = '\0';
	f = fopen(SYSFS_DIR "/exit_msg", "r");
	if (f) {
		if (!fgets(kv->value, sizeof(kv->value), f))
			kv->value[0] = '\0';
		kv->value[strcspn(kv->value, "\n")] = '\0';
		fclose(f);
	}
	st->n++;
}

static int kernel_status(struct kstatus *st)
{
	/* One entry left for exit_msg. */
	st->n = read_kv_file(SYSFS_DIR "/status", st->kv, 31);
	if (st->n < 0)
		return fail("this kernel has no mmlock_ext (%s/status: %s); boot a kernel with CONFIG_MMLOCK_EXT=y",
			    SYSFS_DIR, strerror(-st->n));
	if (!*kv_get(st->kv, st->n, "exit_msg"))
		kernel_exit_msg(st);
	return 0;
}

static const char *status_get(struct kstatus *st, const char *key)
{
	return kv_get(st->kv, st->n, key);
}

static bool status_enabled(struct kstatus *st)
{
	return !strcmp(status_get(st, "state"), "enabled");
}

static bool have_pins(void)
{
	return access(PIN_DIR "/link", F_OK) == 0;
}

static int privilege_error(const char *what)
{
	return fail("%s: permission denied; changing policies needs root (CAP_BPF, CAP_PERFMON and access to %s)",
		    what, PIN_DIR);
}

/* Changing commands check up front, so the refusal is the first thing said. */
static int require_privilege(const char *what)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	bool sys_admin, bpf_perfmon;

	if (syscall(SYS_capget, &hdr, data))
		return 0;	/* let the kernel decide */
	sys_admin = data[0].effective & (1U << CAP_SYS_ADMIN);
	bpf_perfmon = (data[1].effective & (1U << (CAP_BPF - 32))) &&
		      (data[1].effective & (1U << (CAP_PERFMON - 32)));
	return sys_admin || bpf_perfmon ? 0 : privilege_error(what);
}

/* ---- policy objects -------------------------------------------------- */

struct policy {
	char path[PATH_MAX];
	char name[64];			/* file name without .bpf.o */
	struct bpf_object *obj;
	struct bpf_map *ops;		/* the struct mmlock_ops map */
	struct bpf_map *sec_maps[NR_SECTIONS];
	struct policy_vars vars;
};

static void policy_dirs(char dirs[][PATH_MAX], int *n)
{
	const char *env = getenv("MMLOCK_POLICY_DIR");
	char exe[PATH_MAX];
	ssize_t len;

	*n = 0;
	if (env && *env)
		snprintf(dirs[(*n)++], PATH_MAX, "%s", env);
	snprintf(dirs[(*n)++], PATH_MAX, "%s", DEFAULT_POLICY_DIR);
	/* Next to the binary in a build tree: build/<flavour>/{bin,policies}. */
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		exe[len] = '\0';
		snprintf(dirs[(*n)++], PATH_MAX, "%s/../policies", dirname(exe));
	}
}

static int resolve_policy(const char *arg, char *path, size_t len)
{
	char dirs[3][PATH_MAX];
	int n;

	if (strchr(arg, '/') || strstr(arg, ".bpf.o")) {
		if (access(arg, R_OK))
			return fail("cannot read policy object %s: %s", arg, strerror(errno));
		snprintf(path, len, "%s", arg);
		return 0;
	}
	policy_dirs(dirs, &n);
	for (int i = 0; i < n; i++) {
		snprintf(path, len, "%s/%s.bpf.o", dirs[i], arg);
		if (!access(path, R_OK))
			return 0;
	}
	return fail("unknown policy '%s' (see 'mmlock list', or give a path to a .bpf.o)", arg);
}

static bool is_mmlock_ops_map(struct bpf_object *obj, struct bpf_map *map)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t;

	if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS || !btf)
		return false;
	t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
	return t && !strcmp(btf__name_by_offset(btf, t->name_off), "mmlock_ops");
}

static void policy_close(struct policy *p)
{
	bpf_object__close(p->obj);
	p->obj = NULL;
}

/* Open (not load) a policy object and check that it is an mmlock policy. */
static int policy_open(struct policy *p, const char *arg)
{
	const struct btf *btf;
	struct bpf_map *map;
	char *base;
	int nops = 0;

	memset(p, 0, sizeof(*p));
	if (resolve_policy(arg, p->path, sizeof(p->path)))
		return 1;
	base = basename(strdupa(p->path));
	snprintf(p->name, sizeof(p->name), "%.*s", (int)strcspn(base, "."), base);
	p->obj = bpf_object__open_file(p->path, NULL);
	if (!p->obj) {
		int err = errno;

		return fail("%s is not a BPF object: %s", p->path, strerror(err));
	}
	bpf_object__for_each_map(map, p->obj) {
		const char *name = bpf_map__name(map);

		if (is_mmlock_ops_map(p->obj, map)) {
			p->ops = map;
			nops++;
			continue;
		}
		if (!bpf_map__is_internal(map))
			continue;
		for (int s = 0; s < NR_SECTIONS; s++) {
			const char *suffix = section_names[s];
			size_t nl = strlen(name), sl = strlen(suffix);

			if (nl >= sl && !strcmp(name + nl - sl, suffix))
				p->sec_maps[s] = map;
		}
	}
	if (nops != 1) {
		policy_close(p);
		return fail("%s is not an mmlock policy: it must define exactly one struct mmlock_ops map (found %d)",
			    p->path, nops);
	}
	/* We attach ourselves and keep the link. */
	bpf_map__set_autoattach(p->ops, false);
	btf = bpf_object__btf(p->obj);
	for (int s = 0; s < NR_SECTIONS; s++) {
		int id;

		if (!p->sec_maps[s])
			continue;
		id = btf__find_by_name_kind(btf, section_names[s], BTF_KIND_DATASEC);
		if (id < 0)
			continue;
		p->vars.data[s] = bpf_map__initial_value(p->sec_maps[s], &p->vars.size[s]);
		vars_add_datasec(&p->vars, btf, id, s);
	}
	return 0;
}

static const char *policy_description(struct policy *p)
{
	struct policy_var *v = vars_find(&p->vars, "mmlock_description");

	if (!v || v->type.kind != VALUE_STRING || !p->vars.data[v->section])
		return "";
	return var_ptr(&p->vars, v);
}

/* The options of a command line. */
struct cmd_opts {
	char **sets;
	int nsets;
	bool on_contention;
	bool json;
	bool all;	/* stats: the counters at 0 too */
	int watch;
};

/*
 * Set MMLOCK_F_RANGE_ON_CONTENTION in the policy's struct mmlock_ops before
 * it is loaded: fault() is then only asked when the per-VMA fast path fails.
 */
static int policy_set_on_contention(struct policy *p)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_type *t;
	const struct btf_member *m;
	size_t size;
	char *ops = bpf_map__initial_value(p->ops, &size);

	t = btf__type_by_id(btf, bpf_map__btf_value_type_id(p->ops));
	m = t ? btf_members(t) : NULL;
	for (int i = 0; m && i < btf_vlen(t); i++, m++) {
		__u32 off = btf_member_bit_offset(t, i) / 8;
		__u64 flags;

		if (strcmp(btf__name_by_offset(btf, m->name_off), "flags"))
			continue;
		if (!ops || off + sizeof(flags) > size)
			break;
		memcpy(&flags, ops + off, sizeof(flags));
		flags |= MMLOCK_F_RANGE_ON_CONTENTION;
		memcpy(ops + off, &flags, sizeof(flags));
		return 0;
	}
	return fail("%s: cannot set --on-contention: struct mmlock_ops has no flags", p->path);
}

static int policy_load(struct policy *p, const struct cmd_opts *o)
{
	int err;

	if (vars_assign(&p->vars, o->sets, o->nsets, false))
		return 1;
	if (o->on_contention && policy_set_on_contention(p))
		return 1;
	err = bpf_object__load(p->obj);
	if (err) {
		if (err == -EPERM || errno == EPERM)
			return privilege_error("loading the policy");
		return fail("the kernel refused policy %s: %s%s", p->path, strerror(-err),
			    verbose ? "" : " (run 'mmlock -v ...' for the verifier log)");
	}
	return 0;
}

/* ---- pins -------------------------------------------------------------- */

static const char *const pin_names[NR_SECTIONS] = { "rodata", "data", "bss" };

static void unpin_all(void)
{
	char path[PATH_MAX];

	for (int s = 0; s < NR_SECTIONS; s++) {
		snprintf(path, sizeof(path), PIN_DIR "/%s", pin_names[s]);
		unlink(path);
	}
	unlink(PIN_DIR "/" COUNTERS_MAP);
	unlink(PIN_DIR "/ops");
	unlink(PIN_DIR "/link");
	rmdir(PIN_DIR);
}

/*
 * Pin the struct_ops map and the data maps, replacing older pins (bpffs has
 * no rename, so `mmlock get` run at this very moment may miss a variable).
 */
static int pin_maps(struct policy *p)
{
	struct bpf_map *map;
	char path[PATH_MAX];

	if (mkdir(PIN_DIR, 0700) && errno != EEXIST)
		return -errno;
	for (int s = -1; s < NR_SECTIONS; s++) {
		const char *name = s < 0 ? "ops" : pin_names[s];
		int err;

		map = s < 0 ? p->ops : p->sec_maps[s];
		snprintf(path, sizeof(path), PIN_DIR "/%s", name);
		unlink(path);
		if (!map)
			continue;
		err = bpf_obj_pin(bpf_map__fd(map), path);
		if (err)
			return err;
	}
	/* The per-CPU counters of MMLOCK_COUNTERS(), if the policy has any. */
	snprintf(path, sizeof(path), PIN_DIR "/" COUNTERS_MAP);
	unlink(path);
	map = bpf_object__find_map_by_name(p->obj, COUNTERS_MAP);
	if (map && bpf_obj_pin(bpf_map__fd(map), path))
		return -errno;
	return 0;
}

/* ---- runtime view of the loaded policy -------------------------------- */

struct loaded {
	struct policy_vars vars;
	struct btf *btf[NR_SECTIONS];
	int fd[NR_SECTIONS];
};

static void loaded_close(struct loaded *l)
{
	for (int s = 0; s < NR_SECTIONS; s++) {
		if (l->vars.data[s])
			munmap(l->vars.data[s], l->vars.size[s]);
		btf__free(l->btf[s]);
		if (l->fd[s] >= 0)
			close(l->fd[s]);
	}
}

/* Map the pinned data maps of the active policy; writable unless rodata. */
static int loaded_open(struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	for (int s = 0; s < NR_SECTIONS; s++)
		l->fd[s] = -1;
	if (!have_pins())
		return fail("no policy loaded by mmlock (nothing pinned in %s)", PIN_DIR);
	for (int s = 0; s < NR_SECTIONS; s++) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);
		char path[PATH_MAX];
		size_t size;
		void *mem;

		snprintf(path, sizeof(path), PIN_DIR "/%s", pin_names[s]);
		l->fd[s] = bpf_obj_get(path);
		if (l->fd[s] < 0) {
			if (errno == ENOENT)
				continue;
			if (errno == EPERM || errno == EACCES)
				return privilege_error("reading the policy's variables");
			return fail("%s: %s", path, strerror(errno));
		}
		if (bpf_map_get_info_by_fd(l->fd[s], &info, &len))
			return fail("%s: %s", path, strerror(errno));
		l->btf[s] = btf__load_from_kernel_by_id(info.btf_id);
		if (!l->btf[s])
			return fail("%s: no BTF: %s", path, strerror(errno));
		size = (info.value_size + 4095) & ~4095UL;
		mem = mmap(NULL, size, PROT_READ | (s == SEC_RODATA ? 0 : PROT_WRITE),
			   MAP_SHARED, l->fd[s], 0);
		if (mem == MAP_FAILED)
			return fail("%s: mmap: %s", path, strerror(errno));
		l->vars.data[s] = mem;
		l->vars.size[s] = size;
		vars_add_datasec(&l->vars, l->btf[s], info.btf_value_type_id, s);
	}
	return 0;
}

/* ---- commands ---------------------------------------------------------- */

static int parse_opts(int argc, char **argv, struct cmd_opts *o, bool allow_set,
		      bool allow_json, bool allow_watch, const char *usage)
{
	static const struct option longopts[] = {
		{ "set", required_argument, NULL, 's' },
		{ "on-contention", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->sets = calloc(argc + 1, sizeof(char *));
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:cjw:ah", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!allow_set)
				goto bad;
			o->sets[o->nsets++] = optarg;
			break;
		case 'c':
			if (!allow_set)
				goto bad;
			o->on_contention = true;
			break;
		case 'j':
			if (!allow_json)
				goto bad;
			o->json = true;
			break;
		case 'w':
			if (!allow_watch)
				goto bad;
			o->watch = atoi(optarg);
			if (o->watch <= 0)
				return fail("--watch needs a positive number of seconds");
			break;
		case 'a':
			if (!allow_watch)
				goto bad;
			o->all = true;
			break;
		case 'h':
			printf("usage: %s\n", usage);
			exit(0);
		default:
			goto bad;
		}
	}
	return 0;
bad:
	return fail("usage: %s", usage);
}

static int attach_policy(struct policy *p, struct bpf_link **link)
{
	*link = bpf_map__attach_struct_ops(p->ops);
	if (*link)
		return 0;
	switch (errno) {
	case EBUSY: {
		struct kstatus st;

		kernel_status(&st);
		return fail("policy %s is already loaded; 'mmlock swap' replaces it, 'mmlock unload' removes it",
			    status_get(&st, "policy"));
	}
	case EPERM:
	case EACCES:
		return privilege_error("attaching the policy");
	default: {
		struct kstatus st;

		kernel_status(&st);
		return fail("attaching %s failed: %s (%s)", p->name, strerror(errno),
			    status_get(&st, "exit_msg"));
	}
	}
}

/*
 * The common start of `load` and `run`: check the arguments and that no
 * policy is active, then open, tune, load and attach POLICY.
 */
static int load_and_attach(int argc, char **argv, const char *cmd,
			   struct policy *p, struct bpf_link **link)
{
	char usage[100];
	struct cmd_opts o;
	struct kstatus st;

	snprintf(usage, sizeof(usage), "mmlock %s POLICY [--on-contention] [--set VAR=VALUE]...", cmd);
	if (parse_opts(argc, argv, &o, true, false, false, usage))
		return 1;
	if (require_privilege(cmd))
		return 1;
	if (optind != argc - 1)
		return fail("usage: %s", usage);
	if (kernel_status(&st))
		return 1;
	if (status_enabled(&st))
		return fail("policy %s is already loaded; 'mmlock swap' replaces it, 'mmlock unload' removes it",
			    status_get(&st, "policy"));
	if (policy_open(p, argv[optind]))
		return 1;
	if (policy_load(p, &o)) {
		policy_close(p);
		return 1;
	}
	/* Pins left by a policy that was ejected or detached elsewhere. */
	if (have_pins())
		unpin_all();
	if (attach_policy(p, link)) {
		policy_close(p);
		return 1;
	}
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	struct bpf_link *link;
	struct policy p;
	int err;

	if (load_and_attach(argc, argv, "load", &p, &link))
		return 1;
	err = mkdir(PIN_DIR, 0700) && errno != EEXIST ? -errno : 0;
	err = err ?: bpf_link__pin(link, PIN_DIR "/link");
	err = err ?: pin_maps(&p);
	if (err) {
		unpin_all();
		bpf_link__destroy(link);
		policy_close(&p);
		return fail("pinning under %s failed: %s; policy not loaded", PIN_DIR,
			    strerror(-err));
	}
	printf("loaded %s (%s)\n", p.name, p.path);
	/* The pinned link keeps the policy attached after we exit. */
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	policy_close(&p);
	return 0;
}

static int cmd_swap(int argc, char **argv)
{
	const char *usage = "mmlock swap POLICY [--on-contention] [--set VAR=VALUE]...";
	LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE);
	struct bpf_link *probe;
	struct cmd_opts o;
	struct kstatus st;
	struct policy p;
	char old[64];
	int link_fd, old_ops_fd, err;

	if (parse_opts(argc, argv, &o, true, false, false, usage))
		return 1;
	if (require_privilege("swap"))
		return 1;
	if (optind != argc - 1)
		return fail("usage: %s", usage);
	if (kernel_status(&st))
		return 1;
	if (!status_enabled(&st))
		return fail("no policy loaded; use 'mmlock load'");
	snprintf(old, sizeof(old), "%s", status_get(&st, "policy"));
	if (!have_pins())
		return fail("policy %s was not loaded by mmlock (nothing pinned in %s); cannot swap it",
			    old, PIN_DIR);
	link_fd = bpf_obj_get(PIN_DIR "/link");
	old_ops_fd = bpf_obj_get(PIN_DIR "/ops");
	if (link_fd < 0 || old_ops_fd < 0) {
		if (errno == EPERM || errno == EACCES)
			return privilege_error("swap");
		return fail("%s: %s", PIN_DIR, strerror(errno));
	}
	if (policy_open(&p, argv[optind]))
		return 1;
	if (policy_load(&p, &o)) {
		policy_close(&p);
		return 1;
	}
	/*
	 * libbpf sets a struct_ops map's value only on attach. A second attach
	 * is refused (EBUSY) after the value is set, which is what we need
	 * before bpf_link_update() can take the map.
	 */
	probe = bpf_map__attach_struct_ops(p.ops);
	if (probe) {
		/* The old policy went away meanwhile: this is a plain load. */
		bpf_link__destroy(probe);
		policy_close(&p);
		return fail("policy %s disappeared during the swap; run 'mmlock load'", old);
	}
	opts.old_map_fd = old_ops_fd;
	err = bpf_link_update(link_fd, bpf_map__fd(p.ops), &opts);
	if (err) {
		policy_close(&p);
		if (err == -EPERM && geteuid() != 0)
			return privilege_error("swap");
		return fail("swapping %s for %s failed: %s; %s stays loaded", old, p.name,
			    strerror(-err), old);
	}
	err = pin_maps(&p);
	if (err)
		fprintf(stderr, "mmlock: warning: pinning the new maps failed: %s\n",
			strerror(-err));
	printf("swapped %s for %s (%s)\n", old, p.name, p.path);
	policy_close(&p);
	close(link_fd);
	close(old_ops_fd);
	return err ? 1 : 0;
}

static int cmd_unload(int argc, char **argv)
{
	const char *usage = "mmlock unload";
	struct cmd_opts o;
	struct kstatus st;
	int fd;

	if (parse_opts(argc, argv, &o, false, false, false, usage))
		return 1;
	if (require_privilege("unload"))
		return 1;
	if (optind != argc)
		return fail("usage: %s", usage);
	if (kernel_status(&st))
		return 1;
	if (!have_pins()) {
		if (status_enabled(&st))
			return fail("policy %s was not loaded by mmlock (nothing pinned in %s)",
				    status_get(&st, "policy"), PIN_DIR);
		return fail("no policy loaded");
	}
	fd = bpf_obj_get(PIN_DIR "/link");
	if (fd < 0) {
		if (errno == EPERM || errno == EACCES)
			return privilege_error("unload");
		return fail("%s/link: %s", PIN_DIR, strerror(errno));
	}
	if (bpf_link_detach(fd) && errno != ENOLINK && errno != EINVAL)
		return fail("detaching: %s", strerror(errno));
	close(fd);
	unpin_all();
	if (status_enabled(&st))
		printf("unloaded %s\n", status_get(&st, "policy"));
	else
		printf("removed the pins of a policy that was no longer active (%s: %s)\n",
		       status_get(&st, "exit_reason"), status_get(&st, "exit_msg"));
	return 0;
}

static int cmd_set(int argc, char **argv)
{
	const char *usage = "mmlock set VAR=VALUE...";
	struct cmd_opts o;
	struct loaded l;
	int err;

	if (parse_opts(argc, argv, &o, false, false, false, usage))
		return 1;
	if (require_privilege("set"))
		return 1;
	if (optind >= argc)
		return fail("usage: %s", usage);
	if (loaded_open(&l)) {
		loaded_close(&l);
		return 1;
	}
	/* The MMLOCK_COUNTERS() ones are not variables: say what they are. */
	for (int i = optind; i < argc; i++) {
		struct policy_counters pc;
		size_t len = strcspn(argv[i], "=");

		if (counters_read(PIN_DIR "/" COUNTERS_MAP, &pc))
			break;
		for (int c = 0; c < pc.n; c++) {
			if (strlen(pc.name[c]) != len || strncmp(pc.name[c], argv[i], len))
				continue;
			loaded_close(&l);
			return fail("'%s' is a counter, not a tunable", pc.name[c]);
		}
	}
	err = vars_assign(&l.vars, argv + optind, argc - optind, true);
	for (int i = optind; !err && i < argc; i++) {
		char name[64], val[300];
		struct policy_var *v;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(argv[i], "="), argv[i]);
		v = vars_find(&l.vars, name);
		value_format(&v->type, var_ptr(&l.vars, v), val, sizeof(val));
		printf("%s = %s\n", name, val);
	}
	loaded_close(&l);
	return err ? 1 : 0;
}

static void print_var(struct policy_vars *vars, struct policy_var *v, bool json,
		      bool first)
{
	char val[300], type[32];

	value_format(&v->type, var_ptr(vars, v), val, sizeof(val));
	value_type_name(&v->type, type, sizeof(type));
	if (json)
		printf("%s\n  {\"name\": \"%s\", \"value\": %s%s%s, \"type\": \"%s\", \"writable\": %s}",
		       first ? "" : ",", v->name,
		       v->type.kind == VALUE_STRING ? "\"" : "", val,
		       v->type.kind == VALUE_STRING ? "\"" : "", type,
		       v->section == SEC_RODATA ? "false" : "true");
	else
		printf("%-24s %-20s %-9s %s\n", v->name, val, type,
		       v->section == SEC_RODATA ? "(load-time only)" : "");
}

static int cmd_get(int argc, char **argv)
{
	const char *usage = "mmlock get [--json] [VAR]...";
	struct cmd_opts o;
	struct loaded l;
	bool first = true;
	int ret = 0;

	if (parse_opts(argc, argv, &o, false, true, false, usage))
		return 1;
	if (loaded_open(&l)) {
		loaded_close(&l);
		return 1;
	}
	if (o.json)
		printf("[");
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			struct policy_var *v = vars_find(&l.vars, argv[i]);

			if (!v || var_is_internal(v) || var_is_counter(v)) {
				ret = fail("unknown tunable '%s'", argv[i]);
				break;
			}
			print_var(&l.vars, v, o.json, first);
			first = false;
		}
	} else {
		for (int i = 0; i < l.vars.n; i++) {
			struct policy_var *v = &l.vars.v[i];

			if (var_is_internal(v) || var_is_counter(v))
				continue;
			print_var(&l.vars, v, o.json, first);
			first = false;
		}
	}
	if (o.json)
		printf("\n]\n");
	loaded_close(&l);
	return ret;
}

static double uptime_since(const char *boottime_ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9 - strtoull(boottime_ns, NULL, 10) / 1e9;
}

static int cmd_status(int argc, char **argv)
{
	const char *usage = "mmlock status [--json]";
	struct cmd_opts o;
	struct kstatus st;
	bool enabled;

	if (parse_opts(argc, argv, &o, false, true, false, usage))
		return 1;
	if (kernel_status(&st))
		return 1;
	enabled = status_enabled(&st);
	if (o.json) {
		printf("{\"state\": \"%s\", \"policy\": \"%s\", \"pinned\": %s, ",
		       status_get(&st, "state"), status_get(&st, "policy"),
		       have_pins() ? "true" : "false");
		printf("\"loaded_seconds_ago\": %.1f, \"enable_seq\": %s, ",
		       enabled ? uptime_since(status_get(&st, "enabled_at_ns")) : 0.0,
		       status_get(&st, "enable_seq"));
		printf("\"last_exit\": {\"kind\": %s, \"policy\": \"%s\", \"reason\": \"%s\", \"message\": \"%s\"}}\n",
		       status_get(&st, "exit_kind"), status_get(&st, "exit_policy"),
		       status_get(&st, "exit_reason"), status_get(&st, "exit_msg"));
		return 0;
	}
	printf("state:    %s\n", status_get(&st, "state"));
	if (enabled)
		printf("policy:   %s (loaded %.1f s ago%s, flags %s)\n",
		       status_get(&st, "policy"),
		       uptime_since(status_get(&st, "enabled_at_ns")),
		       have_pins() ? ", pinned in " PIN_DIR : ", not pinned by mmlock",
		       status_get(&st, "flags"));
	if (atoi(status_get(&st, "exit_kind")))
		printf("last exit: %s: %s%s%s\n", status_get(&st, "exit_policy"),
		       status_get(&st, "exit_reason"),
		       *status_get(&st, "exit_msg") ? ": " : "",
		       status_get(&st, "exit_msg"));
	return 0;
}

/*
 * The kernel's counters and the policy's: its MMLOCK_COUNTERS() (summed
 * over the CPUs) and, for policies built without them, its stat_*
 * globals. Humans get groups, shares and, from prev (dt seconds earlier),
 * rates; JSON gets every counter.
 */
static void print_stats(bool json, bool all, struct stats_sample *prev,
			double dt)
{
	struct stats_sample ks;
	struct policy_counters pc = { 0 };
	struct loaded l;
	bool have_policy, first = true;

	if (stats_read(SYSFS_DIR "/stats", &ks)) {
		fail("%s/stats: %s", SYSFS_DIR, strerror(errno));
		return;
	}
	have_policy = have_pins() && !loaded_open(&l);
	if (have_policy && counters_read(PIN_DIR "/" COUNTERS_MAP, &pc))
		pc.n = 0;
	if (json) {
		printf("{\"kernel\": {");
		for (int i = 0; i < ks.n; i++)
			printf("%s\"%s\": %llu", i ? ", " : "", ks.name[i], ks.v[i]);
		printf("}, \"policy\": {");
	} else {
		stats_print(&ks, prev, dt, all);
	}
	for (int i = 0; i < pc.n; i++) {
		if (json)
			printf("%s\"%s\": %llu", first ? "" : ", ", pc.name[i], pc.v[i]);
		else
			printf("%s  %-30s %14llu\n", first ? "policy counters\n" : "",
			       pc.name[i], pc.v[i]);
		first = false;
	}
	for (int i = 0; have_policy && i < l.vars.n; i++) {
		struct policy_var *v = &l.vars.v[i];
		char val[64];

		if (!var_is_counter(v))
			continue;
		value_format(&v->type, var_ptr(&l.vars, v), val, sizeof(val));
		if (json)
			printf("%s\"%s\": %s", first ? "" : ", ", v->name + 5, val);
		else
			printf("%s  %-30s %14s\n", first ? "policy counters\n" : "",
			       v->name + 5, val);
		first = false;
	}
	if (json)
		printf("}}\n");
	if (have_pins())
		loaded_close(&l);
	if (prev)
		*prev = ks;
}

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	exiting = 1;
}

static int cmd_stats(int argc, char **argv)
{
	const char *usage = "mmlock stats [-a|--all] [--watch SECONDS] [--json]";
	struct stats_sample prev = { 0 };
	bool have_prev = false;
	struct cmd_opts o;
	struct kstatus st;

	if (parse_opts(argc, argv, &o, false, true, true, usage))
		return 1;
	if (kernel_status(&st))
		return 1;
	if (!o.watch) {
		print_stats(o.json, o.all, NULL, 0);
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!exiting) {
		if (!o.json)
			printf("\033[H\033[2J");
		kernel_status(&st);
		if (!o.json)
			printf("mmlock: %s %s (every %d s; rates since the last)\n\n",
			       status_get(&st, "state"), status_get(&st, "policy"),
			       o.watch);
		/* The first sample has no rates; later ones, since the last. */
		print_stats(o.json, o.all, &prev, have_prev ? o.watch : 0);
		have_prev = true;
		fflush(stdout);
		sleep(o.watch);
	}
	return 0;
}

static int cmd_list(int argc, char **argv)
{
	const char *usage = "mmlock list";
	char dirs[3][PATH_MAX];
	struct cmd_opts o;
	struct kstatus st;
	int ndirs, found = 0;
	libbpf_print_fn_t old;

	if (parse_opts(argc, argv, &o, false, false, false, usage))
		return 1;
	if (kernel_status(&st))
		st.n = 0;
	policy_dirs(dirs, &ndirs);
	old = libbpf_set_print(NULL);
	for (int d = 0; d < ndirs && !found; d++) {
		struct dirent **ents;
		int n = scandir(dirs[d], &ents, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			char path[PATH_MAX + 300];
			struct policy p;
			size_t len = strlen(ents[i]->d_name);

			if (len > 6 && !strcmp(ents[i]->d_name + len - 6, ".bpf.o")) {
				snprintf(path, sizeof(path), "%s/%s", dirs[d], ents[i]->d_name);
				if (!policy_open(&p, path)) {
					bool active = status_enabled(&st) &&
						!strcmp(status_get(&st, "policy"), p.name);

					printf("%c %-12s %s\n", active ? '*' : ' ', p.name,
					       policy_description(&p));
					policy_close(&p);
					found++;
				}
			}
			free(ents[i]);
		}
		if (n >= 0)
			free(ents);
	}
	libbpf_set_print(old);
	if (!found)
		return fail("no policies found (looked in $MMLOCK_POLICY_DIR, %s and next to the binary)",
			    DEFAULT_POLICY_DIR);
	if (status_enabled(&st))
		printf("(* = active; active policy: %s)\n", status_get(&st, "policy"));
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct bpf_link *link;
	struct kstatus st;
	struct policy p;
	char seq[32];

	if (load_and_attach(argc, argv, "run", &p, &link))
		return 1;
	kernel_status(&st);
	snprintf(seq, sizeof(seq), "%s", status_get(&st, "enable_seq"));
	printf("running %s; Ctrl-C detaches\n", p.name);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!exiting) {
		struct kv kv[64];
		int n;

		sleep(1);
		kernel_status(&st);
		if (!status_enabled(&st) || strcmp(status_get(&st, "enable_seq"), seq))
			break;
		n = read_kv_file(SYSFS_DIR "/stats", kv, 64);
		for (int i = 0; i < n; i++)
			if (strcmp(kv[i].value, "0"))
				printf("%s=%s ", kv[i].key, kv[i].value);
		printf("\n");
		fflush(stdout);
	}
	bpf_link__destroy(link);
	policy_close(&p);
	kernel_status(&st);
	printf("%s exited: %s%s%s\n", p.name, status_get(&st, "exit_reason"),
	       *status_get(&st, "exit_msg") ? ": " : "", status_get(&st, "exit_msg"));
	return exiting ? 0 : 1;
}

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "list", cmd_list, "list shipped policies and which one is active" },
	{ "load", cmd_load, "load and attach a policy; it stays after mmlock exits" },
	{ "swap", cmd_swap, "replace the active policy atomically" },
	{ "set", cmd_set, "change tunables of the active policy: VAR=VALUE..." },
	{ "get", cmd_get, "show tunables of the active policy" },
	{ "stats", cmd_stats, "kernel and policy counters, grouped (-a, --watch N, --json)" },
	{ "status", cmd_status, "state, active policy, last exit reason (--json)" },
	{ "unload", cmd_unload, "detach the active policy" },
	{ "run", cmd_run, "attach in the foreground, print stats, detach on Ctrl-C" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mmlock [-v] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'mmlock COMMAND --help' for a command's arguments.\n");
}

int main(int argc, char **argv)
{
	int first = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose"))) {
		verbose = true;
		first++;
	}
	libbpf_set_print(libbpf_print);
	if (argc <= first || !strcmp(argv[first], "-h") || !strcmp(argv[first], "--help")) {
		usage(argc <= first ? stderr : stdout);
		return argc <= first ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[first], commands[i].name))
			return commands[i].fn(argc - first, argv + first);
	return fail("unknown command '%s' (see 'mmlock --help')", argv[first]);
}
