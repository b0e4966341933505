// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's own mm selftests (tools/testing/selftests/mm of the same
 * tree, built statically by selftests/mm/rules.mk) under no policy and under
 * each shipped policy. The list and the invocations are in
 * selftests/mm/tests.list (installed next to the binaries); what is left out
 * and why is in selftests/mm/EXCLUDED.md.
 *
 * kernel_mm_none runs them without a policy and fails if any of them fails
 * there (such a test belongs in EXCLUDED.md, not here). Each policy test
 * loads the policy with `mmlock load`, runs the same list, and fails if any
 * test's result (exit status and its counts of ok / not ok / skipped TAP
 * lines) differs from the result without a policy, or if the policy was
 * ejected meanwhile. The baseline is taken once per boot, by kernel_mm_none
 * or by the first policy test that needs it. Every test gets a fresh
 * directory on tmpfs; its whole output is kept in
 * /tmp/kselftest-mm/log/<policy>/<test>.log and shown (its failures and its
 * last lines) only when its result is wrong. Knobs that tests change (THP,
 * khugepaged, KSM, hugetlb pages, overcommit) are put back after each test.
 */
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "mmlock_test.h"
#include "util.h"

#define KMM_DIR "/usr/lib/mmlock/kselftest-mm"
#define KMM_LIST KMM_DIR "/tests.list"
#define KMM_WORK "/tmp/kselftest-mm"
#define KMM_MAX 64
#define KMM_ARGS 16
#define KMM_TIMEOUT 60
#define KMM_TAIL 25
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	KMM_TIMED_OUT = -1,
	KMM_NO_HUGEPAGES = -2,
	KMM_NOT_RUN = -3,
};

struct kmm_case {
	char name[48];
	int hugepages;	/* -1: untouched */
	int overcommit;	/* -1: untouched */
	int timeout;
	bool nobody;	/* run as uid/gid 65534 */
	char *argv[KMM_ARGS + 1];
	char buf[256];
};

struct kmm_result {
	int status;	/* exit status, 128 + signal, or KMM_* */
	int ok, fail, skip;
	double secs;
};

static struct kmm_case cases[KMM_MAX];
static int nr_cases = -1;
static struct kmm_result baseline[KMM_MAX];
static bool have_baseline;
static double baseline_secs;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool parse_setup(struct kmm_case *c, char *setup)
{
	c->hugepages = c->overcommit = -1;
	c->timeout = KMM_TIMEOUT;
	c->nobody = false;
	if (!strcmp(setup, "-"))
		return true;
	for (char *tok = strtok(setup, ","); tok; tok = strtok(NULL, ",")) {
		if (sscanf(tok, "hugepages=%d", &c->hugepages) == 1 ||
		    sscanf(tok, "overcommit=%d", &c->overcommit) == 1 ||
		    sscanf(tok, "timeout=%d", &c->timeout) == 1)
			continue;
		if (!strcmp(tok, "user=nobody")) {
			c->nobody = true;
			continue;
		}
		return false;
	}
	return true;
}

/* tests.list: "NAME SETUP BINARY [ARGS...]" a line, '#' comments. */
static int load_cases(void)
{
	char line[512];
	FILE *f;
	int n = 0;

	if (nr_cases >= 0)
		return nr_cases;
	f = fopen(KMM_LIST, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && n < KMM_MAX) {
		struct kmm_case *c = &cases[n];
		char name[64], setup[128];
		int off = 0, argc = 0;

		line[strcspn(line, "#\n")] = '\0';
		if (sscanf(line, "%63s %127s %n", name, setup, &off) != 2 || !line[off])
			continue;
		snprintf(c->name, sizeof(c->name), "%s", name);
		if (!parse_setup(c, setup)) {
			printf("#   %s: bad setup '%s' in %s\n", name, setup, KMM_LIST);
			fclose(f);
			return -1;
		}
		snprintf(c->buf, sizeof(c->buf), "%s", line + off);
		for (char *a = strtok(c->buf, " \t"); a && argc < KMM_ARGS;
		     a = strtok(NULL, " \t"))
			c->argv[argc++] = a;
		c->argv[argc] = NULL;
		n++;
	}
	fclose(f);
	nr_cases = n;
	return n;
}

/* --- knobs the tests change, put back after each test ------------------- */

static const char *const knob_globs[] = {
	"/proc/sys/vm/nr_hugepages",
	"/proc/sys/vm/overcommit_memory",
	"/sys/kernel/mm/transparent_hugepage/enabled",
	"/sys/kernel/mm/transparent_hugepage/defrag",
	"/sys/kernel/mm/transparent_hugepage/shmem_enabled",
	"/sys/kernel/mm/transparent_hugepage/use_zero_page",
	"/sys/kernel/mm/transparent_hugepage/hugepages-*kB/enabled",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/defrag",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_*",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/*_millisecs",
	"/sys/kernel/mm/transparent_hugepage/khugepaged/pages_to_scan",
	"/sys/kernel/mm/ksm/run",
	"/sys/kernel/mm/ksm/use_zero_pages",
	"/sys/kernel/mm/ksm/merge_across_nodes",
	"/sys/kernel/mm/ksm/pages_to_scan",
	"/sys/kernel/mm/ksm/sleep_millisecs",
	"/sys/kernel/mm/ksm/max_page_sharing",
	"/sys/kernel/mm/ksm/stable_node_chains_prune_millisecs",
};

#define KMM_KNOBS 64

struct knobs {
	int n;
	char path[KMM_KNOBS][112];
	char val[KMM_KNOBS][32];
};

/* The value to write back: the [selected] word, or the contents. */
static bool read_knob(const char *path, char *val, size_t len)
{
	char buf[256], *b, *e;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	b = strchr(buf, '[');
	e = b ? strchr(b, ']') : NULL;
	if (b && e) {
		*e = '\0';
		snprintf(val, len, "%s", b + 1);
	} else {
		snprintf(val, len, "%s", buf);
	}
	return true;
}

static bool write_knob(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

static void save_knobs(struct knobs *k)
{
	k->n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(knob_globs); i++) {
		glob_t g;

		if (glob(knob_globs[i], 0, NULL, &g))
			continue;
		for (size_t j = 0; j < g.gl_pathc && k->n < KMM_KNOBS; j++) {
			snprintf(k->path[k->n], sizeof(k->path[0]), "%s", g.gl_pathv[j]);
			if (read_knob(k->path[k->n], k->val[k->n], sizeof(k->val[0])))
				k->n++;
		}
		globfree(&g);
	}
}

/* Put back what changed; "ksm/run" last but one, nr_hugepages last. */
static void restore_knobs(const struct knobs *k, const char *who)
{
	char v[32];

	for (int i = k->n - 1; i >= 0; i--) {
		if (!read_knob(k->path[i], v, sizeof(v)) || !strcmp(v, k->val[i]))
			continue;
		if (!write_knob(k->path[i], k->val[i]))
			printf("#   %s: cannot restore %s to '%s' (is '%s')\n", who,
			       k->path[i], k->val[i], v);
	}
}

static long meminfo(const char *key)
{
	char line[128];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = atol(line + klen + 1);
			break;
		}
	fclose(f);
	return v;
}

/* As run_vmtests.sh: drop caches and compact until n pages are free. */
static bool reserve_hugepages(int n)
{
	char v[16];

	snprintf(v, sizeof(v), "%d", n);
	for (int tries = 0; tries < 3; tries++) {
		write_knob("/proc/sys/vm/drop_caches", "3");
		write_knob("/proc/sys/vm/compact_memory", "1");
		write_knob("/proc/sys/vm/nr_hugepages", v);
		if (meminfo("HugePages_Free") >= n)
			return true;
		usleep(200000);
	}
	return false;
}

/* --- one test ------------------------------------------------------------- */

static void count_line(const char *l, struct kmm_result *r)
{
	unsigned int p, s, f;

	if (!strncmp(l, "ok ", 3)) {
		if (strstr(l, "# SKIP"))
			r->skip++;
		else
			r->ok++;
	} else if (!strncmp(l, "not ok ", 7)) {
		r->fail++;
	} else if (sscanf(l, "Userfaults unit tests: pass=%u, skip=%u, fail=%u",
			  &p, &s, &f) == 3) {
		/* uffd-unit-tests prints no TAP lines, only this summary. */
		r->ok += p;
		r->skip += s;
		r->fail += f;
	}
}

static void run_case(const struct kmm_case *c, const char *tag, struct kmm_result *r)
{
	char dir[160], log[160], bin[160], line[512], buf[4096];
	size_t llen = 0;
	struct knobs saved;
	double t0, deadline;
	int pfd[2], logfd, st = 0;
	bool exited = false;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	snprintf(dir, sizeof(dir), KMM_WORK "/run/%s", c->name);
	snprintf(log, sizeof(log), KMM_WORK "/log/%s/%s.log", tag, c->name);
	snprintf(bin, sizeof(bin), KMM_DIR "/%s", c->argv[0]);
	run_cmd("rm -rf '%s'; mkdir -p '%s' '" KMM_WORK "/log/%s'; chmod 777 '%s'",
		dir, dir, tag, dir);
	save_knobs(&saved);
	t0 = now();
	if (c->overcommit >= 0) {
		snprintf(line, sizeof(line), "%d", c->overcommit);
		write_knob("/proc/sys/vm/overcommit_memory", line);
	}
	if (c->hugepages >= 0 && !reserve_hugepages(c->hugepages)) {
		r->status = KMM_NO_HUGEPAGES;
		goto out;
	}
	if (pipe(pfd)) {
		r->status = KMM_NOT_RUN;
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		r->status = KMM_NOT_RUN;
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		if (c->nobody && (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
				  setresuid(65534, 65534, 65534)))
			_exit(126);
		if (chdir(dir))
			_exit(127);
		dup2(null, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(bin, c->argv);
		fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	logfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	deadline = t0 + c->timeout;
	/*
	 * Read until EOF; once the test itself exited, kill what it left in
	 * its process group (which may hold the pipe open); at the deadline,
	 * kill everything.
	 */
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = deadline - now();
		ssize_t n;

		if (left <= 0) {
			if (!exited)
				r->status = KMM_TIMED_OUT;
			kill(-pid, SIGKILL);
			break;
		}
		if (poll(&p, 1, left > 0.5 ? 500 : (int)(left * 1000) + 1) <= 0) {
			if (!exited && waitpid(pid, &st, WNOHANG) == pid) {
				exited = true;
				kill(-pid, SIGKILL);
			}
			continue;
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		if (logfd >= 0 && write(logfd, buf, n) != n) {
			close(logfd);
			logfd = -1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' || buf[i] == '\r') {
				line[llen] = '\0';
				count_line(line, r);
				llen = 0;
			} else if (llen < sizeof(line) - 1) {
				line[llen++] = buf[i];
			}
		}
	}
	line[llen] = '\0';
	count_line(line, r);
	/* Whatever the test forked and left behind. */
	kill(-pid, SIGKILL);
	if (!exited)
		waitpid(pid, &st, 0);
	close(pfd[0]);
	if (logfd >= 0)
		close(logfd);
	if (r->status != KMM_TIMED_OUT)
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
	r->secs = now() - t0;
	restore_knobs(&saved, c->name);
}

static const char *status_str(int status, char *buf, size_t len)
{
	switch (status) {
	case KMM_TIMED_OUT:
		return "timeout";
	case KMM_NO_HUGEPAGES:
		return "no-hp";
	case KMM_NOT_RUN:
		return "not-run";
	}
	snprintf(buf, len, "%d", status);
	return buf;
}

static bool same(const struct kmm_result *a, const struct kmm_result *b)
{
	return a->status == b->status && a->ok == b->ok && a->fail == b->fail &&
	       a->skip == b->skip;
}

/* A kselftest passed: exit 0, or 4 (skipped as a whole), and no "not ok". */
static bool passed(const struct kmm_result *r)
{
	return (r->status == 0 || r->status == 4) && r->fail == 0;
}

static void show_log(const char *tag, const struct kmm_case *c)
{
	printf("#     output (failures and the last %d lines; all of it in "
	       KMM_WORK "/log/%s/%s.log):\n", KMM_TAIL, tag, c->name);
	fflush(stdout);
	run_cmd("f='" KMM_WORK "/log/%s/%s.log'; { grep -a -E '^not ok|Bail out|FAIL' \"$f\" | head -20; "
		"echo '  ...'; tail -n %d \"$f\"; } | cut -c1-200 | sed 's/^/#     | /'",
		tag, c->name, KMM_TAIL);
}

static void print_row(const struct kmm_case *c, const struct kmm_result *r,
		      const char *note)
{
	char sb[16];

	printf("#   %-22s %7s %5d %4d %4d %6.1f  %s\n", c->name,
	       status_str(r->status, sb, sizeof(sb)), r->ok, r->fail, r->skip,
	       r->secs, note);
}

static double run_all(const char *tag, struct kmm_result *res)
{
	double t0 = now();

	for (int i = 0; i < nr_cases; i++)
		run_case(&cases[i], tag, &res[i]);
	return now() - t0;
}

/* Run and print the baseline; the number of tests that fail without a policy. */
static int take_baseline(void)
{
	int bad = 0;

	baseline_secs = run_all("none", baseline);
	have_baseline = true;
	printf("# kselftest mm, no policy: %d tests in %.1f s\n", nr_cases, baseline_secs);
	printf("#   %-22s %7s %5s %4s %4s %6s\n", "test", "exit", "ok", "fail",
	       "skip", "secs");
	for (int i = 0; i < nr_cases; i++) {
		bool good = passed(&baseline[i]);

		print_row(&cases[i], &baseline[i], good ? "" : "FAILS WITHOUT A POLICY");
		bad += !good;
	}
	for (int i = 0; i < nr_cases; i++)
		if (!passed(&baseline[i]))
			show_log("none", &cases[i]);
	return bad;
}

/* --- /sys/kernel/mmlock/stats ---------------------------------------------- */

#define KMM_STATS 96

struct stats {
	int n;
	char key[KMM_STATS][40];
	long long val[KMM_STATS];
};

static void read_stats(struct stats *s)
{
	char line[128];
	FILE *f = fopen("/sys/kernel/mmlock/stats", "r");

	s->n = 0;
	if (!f)
		return;
	while (s->n < KMM_STATS && fgets(line, sizeof(line), f))
		if (sscanf(line, "%39s %lld", s->key[s->n], &s->val[s->n]) == 2)
			s->n++;
	fclose(f);
}

static long long stat_delta(const struct stats *a, const struct stats *b,
			    const char *key)
{
	long long va = 0, vb = -1;

	for (int i = 0; i < a->n; i++)
		if (!strcmp(a->key[i], key))
			va = a->val[i];
	for (int i = 0; i < b->n; i++)
		if (!strcmp(b->key[i], key))
			vb = b->val[i];
	return vb < 0 ? -1 : vb - va;
}

/* Non-zero deltas of the counters starting with one of the prefixes. */
static void print_deltas(const struct stats *a, const struct stats *b,
			 const char *title, const char *prefix)
{
	char out[1024];
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < b->n; i++) {
		long long d;

		if (strncmp(b->key[i], prefix, strlen(prefix)))
			continue;
		d = stat_delta(a, b, b->key[i]);
		if (d && len < sizeof(out) - 64)
			len += snprintf(out + len, sizeof(out) - len, " %s=%lld",
					b->key[i], d);
	}
	printf("#   %s:%s\n", title, len ? out : " all 0");
}

/* --- the tests ------------------------------------------------------------- */

struct kmm_policy {
	const char *tag;	/* log directory, table title */
	const char *load;	/* mmlock load arguments; NULL: no policy */
	bool want_range;	/* the range path must be used */
};

static enum mmlock_test_status kmm_setup(void **ctx)
{
	if (access(KMM_DIR, X_OK))
		SKIP("no %s in this initramfs", KMM_DIR);
	if (load_cases() <= 0)
		FAIL("cannot read the test list %s", KMM_LIST);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status kmm_none(void *ctx)
{
	int bad = take_baseline();

	CHECK(bad == 0, "%d kselftest(s) fail without a policy: exclude them (selftests/mm/EXCLUDED.md)",
	      bad);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status kmm_policy(const struct kmm_policy *p)
{
	struct kmm_result res[KMM_MAX], first[KMM_MAX];
	bool rerun[KMM_MAX] = { false };
	struct stats s0, s1;
	char out[1024], seq0[32] = "", seq1[32] = "", state[32] = "";
	int differ = 0;
	double secs;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	if (!have_baseline) {
		printf("# no baseline yet: the tests without a policy first\n");
		CHECK(take_baseline() == 0, "tests fail without a policy; "
		      "see kernel_mm_none");
	}
	run_cmd("mmlock unload >/dev/null 2>&1");
	wait_policy_gone();
	CHECK(run_cmd_output(out, sizeof(out), "mmlock load %s 2>&1", p->load) == 0,
	      "mmlock load %s: %s", p->load, out);
	mmlock_status("enable_seq", seq0, sizeof(seq0));
	read_stats(&s0);
	secs = run_all(p->tag, res);
	/*
	 * A test that differs runs once more under the policy: timing-bound
	 * upstream tests (KSM's waits for ksmd scans) can fail on a loaded
	 * host; a real difference shows twice. Both results are printed.
	 */
	for (int i = 0; i < nr_cases; i++) {
		if (same(&res[i], &baseline[i]))
			continue;
		first[i] = res[i];
		rerun[i] = true;
		run_case(&cases[i], p->tag, &res[i]);
	}
	read_stats(&s1);
	mmlock_status("enable_seq", seq1, sizeof(seq1));
	mmlock_status("state", state, sizeof(state));
	if (strcmp(state, "enabled") || strcmp(seq0, seq1)) {
		char reason[128] = "", msg[256] = "";

		mmlock_status("exit_reason", reason, sizeof(reason));
		mmlock_status("exit_msg", msg, sizeof(msg));
		run_cmd("mmlock unload >/dev/null 2>&1");
		FAIL("policy %s did not stay attached (state %s): %s %s", p->load,
		     state, reason, msg);
	}
	run_cmd("mmlock unload >/dev/null 2>&1");
	wait_policy_gone();

	printf("# kselftest mm, policy %s: %d tests in %.1f s (no policy: %.1f s)\n",
	       p->load, nr_cases, secs, baseline_secs);
	printf("#   %-22s %7s %5s %4s %4s %6s  %s\n", "test", "exit", "ok", "fail",
	       "skip", "secs", "vs no policy");
	for (int i = 0; i < nr_cases; i++) {
		char note[96], sb[16];
		bool d = !same(&res[i], &baseline[i]);

		if (d)
			snprintf(note, sizeof(note), "DIFFERS%s (no policy: exit %s ok %d fail %d skip %d)",
				 rerun[i] ? " twice" : "",
				 status_str(baseline[i].status, sb, sizeof(sb)),
				 baseline[i].ok, baseline[i].fail, baseline[i].skip);
		else if (rerun[i])
			snprintf(note, sizeof(note), "same on a re-run (first: exit %s ok %d fail %d skip %d)",
				 status_str(first[i].status, sb, sizeof(sb)),
				 first[i].ok, first[i].fail, first[i].skip);
		print_row(&cases[i], &res[i], d ? note : rerun[i] ? note : "same");
		differ += d;
	}
	for (int i = 0; i < nr_cases; i++)
		if (!same(&res[i], &baseline[i]))
			show_log(p->tag, &cases[i]);
	print_deltas(&s0, &s1, "paths", "path_");
	print_deltas(&s0, &s1, "range fallbacks", "fallback_range_");
	CHECK(differ == 0, "%d kselftest(s) differ under %s from no policy",
	      differ, p->load);
	if (p->want_range)
		CHECK(stat_delta(&s0, &s1, "path_range") > 0,
		      "no fault took the range path under %s", p->load);
	return MMLOCK_TEST_PASS;
}

#define KMM_POLICY_TEST(id, load_args, range)                                 \
	static const struct kmm_policy kmm_##id##_policy = {                  \
		.tag = #id, .load = load_args, .want_range = range,           \
	};                                                                    \
	static enum mmlock_test_status kmm_##id##_run(void *ctx)             \
	{                                                                     \
		return kmm_policy(&kmm_##id##_policy);                        \
	}                                                                     \
	static struct mmlock_test kmm_##id = {                                \
		.name = "kernel_mm_" #id,                                     \
		.description = "kernel mm selftests under " load_args         \
			       " give the results they give without a policy", \
		.setup = kmm_setup,                                           \
		.run = kmm_##id##_run,                                        \
	};                                                                    \
	REGISTER_MMLOCK_TEST(kmm_##id)

static struct mmlock_test kmm_none_test = {
	.name = "kernel_mm_none",
	.description = "kernel mm selftests (tools/testing/selftests/mm) pass without a policy",
	.setup = kmm_setup,
	.run = kmm_none,
};
REGISTER_MMLOCK_TEST(kmm_none_test);

KMM_POLICY_TEST(stock, "stock", false);
KMM_POLICY_TEST(coarse, "coarse", false);
KMM_POLICY_TEST(anon2m, "anon2m", true);
KMM_POLICY_TEST(anon2m_oc, "anon2m --on-contention", false);
KMM_POLICY_TEST(adaptive, "adaptive", false);
