// SPDX-License-Identifier: GPL-2.0
/* The mmlock command, end to end: every command and every error case. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "mmlock_test.h"
#include "util.h"

#define TEST_OBJ "/usr/lib/mmlock/test"

static char out[16384];

/* Run `mmlock ARGS` (stderr folded in); returns its exit status. */
#define MMLOCK(fmt, ...) run_cmd_output(out, sizeof(out), "mmlock " fmt " 2>&1", ##__VA_ARGS__)

#define EXPECT_OK(fmt, ...)                                                   \
	do {                                                                  \
		int __st = MMLOCK(fmt, ##__VA_ARGS__);                        \
		CHECK(__st == 0, "mmlock " fmt ": status %d: %s", ##__VA_ARGS__, \
		      __st, out);                                             \
	} while (0)

static bool one_line(const char *s)
{
	const char *nl = strchr(s, '\n');

	return nl && !nl[1];
}

/* Fails with a one-line message containing want. */
#define EXPECT_ERR(want, fmt, ...)                                            \
	do {                                                                  \
		int __st = MMLOCK(fmt, ##__VA_ARGS__);                        \
		CHECK(__st != 0 && strstr(out, want) && one_line(out),        \
		      "mmlock " fmt ": status %d, want one line with '%s': %s", \
		      ##__VA_ARGS__, __st, want, out);                        \
	} while (0)

static enum mmlock_test_status need_kernel(void **ctx)
{
	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	if (mmlock_enabled(NULL))
		FAIL("a policy is already attached");
	return MMLOCK_TEST_PASS;
}

/* Whatever a test leaves loaded is removed. */
static void unload(void *ctx)
{
	run_cmd("mmlock unload >/dev/null 2>&1");
}

static enum mmlock_test_status list_run(void *ctx)
{
	static const char *const policies[] = { "stock", "coarse", "anon2m", "adaptive" };

	EXPECT_OK("list");
	for (int i = 0; i < 4; i++)
		CHECK(strstr(out, policies[i]), "list lacks %s: %s", policies[i], out);
	CHECK(strstr(out, "2 MB ranges"), "list lacks descriptions: %s", out);
	EXPECT_OK("load anon2m");
	EXPECT_OK("list");
	CHECK(strstr(out, "* anon2m"), "list does not mark anon2m active: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test list = {
	.name = "loader_list",
	.description = "mmlock list shows every shipped policy, described, and the active one",
	.setup = need_kernel,
	.run = list_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(list);

static enum mmlock_test_status lifecycle_run(void *ctx)
{
	long long range0;

	EXPECT_OK("load anon2m");
	CHECK(strstr(out, "loaded anon2m"), "%s", out);
	/* mmlock has exited: the pinned link keeps the policy attached. */
	CHECK(mmlock_enabled("anon2m"), "not attached after the loader exited");
	EXPECT_OK("status");
	CHECK(strstr(out, "enabled") && strstr(out, "anon2m") && strstr(out, "pinned"),
	      "status: %s", out);
	EXPECT_OK("status --json");
	CHECK(strstr(out, "\"state\": \"enabled\""), "status --json: %s", out);
	CHECK(run_cmd_output(out, sizeof(out), "bpftool struct_ops show") == 0 &&
		      strstr(out, "anon2m_ops") && strstr(out, "mmlock_ops"),
	      "bpftool struct_ops show: %s", out);
	range0 = mmlock_stat("decide_range");
	CHECK(run_cmd("mmlock-workload 1 1 >/dev/null") == 0, "workload failed");
	CHECK(mmlock_stat("decide_range") > range0, "anon2m made no RANGE decision");
	EXPECT_OK("stats");
	CHECK(strstr(out, "decide_range") && strstr(out, "anon_range"),
	      "stats lacks kernel or policy counters: %s", out);
	EXPECT_OK("stats --json");
	CHECK(strstr(out, "\"kernel\"") && strstr(out, "\"anon_range\""), "stats --json: %s", out);
	EXPECT_OK("get");
	CHECK(strstr(out, "range_size") && strstr(out, "2097152") &&
		      !strstr(out, "stat_") && !strstr(out, "mmlock_"),
	      "get: %s", out);
	EXPECT_OK("unload");
	CHECK(!mmlock_enabled(NULL), "still attached after unload");
	CHECK(access("/sys/fs/bpf/mmlock", F_OK) != 0, "pins left behind");
	CHECK(run_cmd_output(out, sizeof(out), "bpftool struct_ops show") == 0 &&
		      !strstr(out, "anon2m_ops"),
	      "bpftool still shows the policy: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test lifecycle = {
	.name = "loader_lifecycle",
	.description = "load pins and stays after exit; status, stats, get; unload detaches",
	.setup = need_kernel,
	.run = lifecycle_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(lifecycle);

static enum mmlock_test_status bpftool_all_run(void *ctx)
{
	static const char *const policies[] = { "stock", "coarse", "anon2m", "adaptive" };
	char dump[16384];

	for (int i = 0; i < 4; i++) {
		EXPECT_OK("load %s", policies[i]);
		run_cmd_output(out, sizeof(out), "bpftool struct_ops show");
		run_cmd_output(dump, sizeof(dump), "bpftool struct_ops dump name %s_ops",
			       policies[i]);
		run_cmd("mmlock unload >/dev/null");
		CHECK(strstr(out, "mmlock_ops"), "%s: show: %s", policies[i], out);
		CHECK(strstr(dump, policies[i]) && strstr(dump, "prog_id"),
		      "%s: dump lacks name or programs: %s", policies[i], dump);
	}
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test bpftool_all = {
	.name = "loader_bpftool_each_policy",
	.description = "bpftool struct_ops show/dump show each shipped policy",
	.setup = need_kernel,
	.run = bpftool_all_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(bpftool_all);

static enum mmlock_test_status errors_run(void *ctx)
{
	EXPECT_ERR("unknown command", "frobnicate");
	EXPECT_ERR("unknown policy 'nosuch'", "load nosuch");
	EXPECT_ERR("not a BPF object", "load /init");
	EXPECT_ERR("cannot read", "load /nonexistent/x.bpf.o");
	EXPECT_ERR("not an mmlock policy", "load " TEST_OBJ "/bpf_smoke.bpf.o");
	EXPECT_ERR("not an mmlock policy", "load " TEST_OBJ "/ops_policy.bpf.o");
	EXPECT_ERR("no policy loaded", "unload");
	EXPECT_ERR("no policy loaded", "set range_size=4M");
	EXPECT_ERR("no policy loaded", "get");
	EXPECT_ERR("no policy loaded", "swap stock");
	EXPECT_ERR("unknown tunable 'nosuch'", "load anon2m --set nosuch=1");
	EXPECT_ERR("must not be negative", "load anon2m --set range_size=-1");
	CHECK(!mmlock_enabled(NULL), "a failed load left a policy attached");
	EXPECT_OK("load anon2m --set range_size=4M");
	EXPECT_OK("get range_size");
	CHECK(strstr(out, "4194304"), "--set at load was lost: %s", out);
	EXPECT_ERR("already loaded", "load stock");
	CHECK(strstr(out, "anon2m"), "does not say which policy is loaded: %s", out);
	EXPECT_ERR("unknown tunable 'nosuch'", "set nosuch=1");
	EXPECT_ERR("is a counter", "set anon_range=0");
	EXPECT_ERR("outside the policy's limits", "set range_size=2G");
	EXPECT_ERR("not a number", "set range_size=lots");
	EXPECT_ERR("not a boolean", "set anon_ranges=maybe");
	EXPECT_ERR("expected VAR=VALUE", "set range_size");
	/* A bad assignment among good ones changes nothing. */
	EXPECT_ERR("not a number", "set anon_ranges=false range_size=x");
	EXPECT_OK("get anon_ranges");
	CHECK(strstr(out, "true"), "a rejected set changed anon_ranges: %s", out);
	EXPECT_ERR("unknown tunable", "swap stock --set range_size=1");
	CHECK(mmlock_enabled("anon2m"), "a failed swap changed the policy");
	EXPECT_OK("unload");
	/* .rodata is settable at load only. */
	EXPECT_OK("load " TEST_OBJ "/ops_bad.bpf.o --set misbehave=99");
	EXPECT_ERR("read-only once loaded", "set misbehave=1");
	EXPECT_OK("unload");
	EXPECT_ERR("usage", "load");
	EXPECT_OK("--help");
	EXPECT_OK("load --help");
	CHECK(strstr(out, "usage: mmlock load"), "%s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test errors = {
	.name = "loader_errors",
	.description = "every bad input gets a one-line error, a non-zero exit and changes nothing",
	.setup = need_kernel,
	.run = errors_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(errors);

static enum mmlock_test_status set_run(void *ctx)
{
	long long range0, vma0;

	EXPECT_OK("load anon2m");
	range0 = mmlock_stat("decide_range");
	CHECK(run_cmd("mmlock-workload 1 1 >/dev/null") == 0, "workload");
	CHECK(mmlock_stat("decide_range") > range0, "no RANGE decisions");
	EXPECT_OK("set anon_ranges=false file_ranges=false");
	range0 = mmlock_stat("decide_range");
	vma0 = mmlock_stat("decide_vma");
	CHECK(run_cmd("mmlock-workload 1 1 >/dev/null") == 0, "workload");
	CHECK(mmlock_stat("decide_range") == range0,
	      "RANGE decisions after anon_ranges=file_ranges=false (+%lld)",
	      mmlock_stat("decide_range") - range0);
	CHECK(mmlock_stat("decide_vma") > vma0 + 100, "the faults were not decided as VMA");
	EXPECT_OK("set anon_ranges=true file_ranges=true range_size=0");
	CHECK(strstr(out, "anon_ranges = true") && strstr(out, "range_size = 0"),
	      "set does not confirm: %s", out);
	/* The scope filter: only tasks named mmlock-workload. */
	EXPECT_OK("set scope_comm=nomatch");
	range0 = mmlock_stat("decide_range");
	CHECK(run_cmd("mmlock-workload 1 1 >/dev/null") == 0, "workload");
	CHECK(mmlock_stat("decide_range") == range0, "out-of-scope faults got ranges");
	EXPECT_OK("set scope_comm=mmlock-workload");
	CHECK(run_cmd("mmlock-workload 1 1 >/dev/null") == 0, "workload");
	CHECK(mmlock_stat("decide_range") > range0 + 100, "in-scope faults got no ranges");
	EXPECT_ERR("too long", "set scope_comm=a-name-longer-than-15");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test set = {
	.name = "loader_set_takes_effect",
	.description = "mmlock set changes the active policy's behaviour from the next fault; scope filter",
	.setup = need_kernel,
	.run = set_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(set);

/* A policy counter from `mmlock stats --json`; -1 if absent. */
static long long policy_counter(const char *name)
{
	char key[64];
	const char *p;

	if (MMLOCK("stats --json") != 0)
		return -1;
	snprintf(key, sizeof(key), "\"%s\":", name);
	p = strstr(out, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/*
 * adaptive starts an mm on the stock path and moves it to ranges once its
 * faults wait for mmap_lock: a writer mprotecting a far page of the
 * faulting VMA makes them wait on the stock path. Its per-CPU view of the
 * mode must still see the switch, and stay on stock with nothing to wait
 * for. The calm load is one faulting thread and no writer in its process:
 * mmlock-workload is not calm (its writer thread merges VMAs next to the
 * faults, which then wait, and on a loaded host long enough to switch).
 */
static enum mmlock_test_status adaptive_switch_run(void *ctx)
{
	long long to_range, range, range_calm;

	EXPECT_OK("load adaptive");
	EXPECT_OK("set window_ms=10");
	CHECK(run_cmd("mmlock-bench uncontended 1 1 >/dev/null") == 0,
	      "mmlock-bench uncontended failed");
	range_calm = policy_counter("range");
	CHECK(range_calm == 0 && policy_counter("to_range") == 0,
	      "a workload without waits went to ranges: %s", out);
	CHECK(run_cmd("mmlock-bench mprotect-far 2 1 >/dev/null") == 0,
	      "mmlock-bench mprotect-far failed");
	to_range = policy_counter("to_range");
	range = policy_counter("range");
	CHECK(to_range >= 1 && range > 0,
	      "no switch to ranges under a far mprotect writer (to_range %lld, range %lld): %s",
	      to_range, range, out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test adaptive_switch = {
	.name = "adaptive_switches_on_waits",
	.description = "adaptive stays on stock without waits and moves an mm to ranges when its faults wait",
	.setup = need_kernel,
	.run = adaptive_switch_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(adaptive_switch);

#define SWAPS 100

static enum mmlock_test_status swap_run(void *ctx)
{
	struct fault_load *load;
	char seq0[32], seq[32];
	long bad;
	int i, st = 0;

	EXPECT_OK("load stock");
	mmlock_status("enable_seq", seq0, sizeof(seq0));
	load = start_load(2, 128 * PAGE_SZ);
	for (i = 0; i < SWAPS && !st; i++)
		st = MMLOCK("swap %s", i % 2 ? "stock" : "anon2m");
	bad = stop_load(load);
	CHECK(!st, "swap %d failed: %s", i, out);
	CHECK(bad == 0, "%ld pages with wrong contents", bad);
	CHECK(mmlock_enabled("stock"), "stock is not active after an even number of swaps");
	mmlock_status("enable_seq", seq, sizeof(seq));
	CHECK(atoll(seq) == atoll(seq0) + SWAPS, "enable_seq %s -> %s", seq0, seq);
	/* The pins follow the active policy. */
	EXPECT_OK("get");
	CHECK(!strstr(out, "range_size"), "get shows the old policy's tunables: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test swap = {
	.name = "loader_swap_100",
	.description = "mmlock swap back and forth 100 times under a verified faulting load",
	.setup = need_kernel,
	.run = swap_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(swap);

static enum mmlock_test_status run_run(void *ctx)
{
	int pipefd[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	CHECK(pipe(pipefd) == 0, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		execlp("mmlock", "mmlock", "run", "stock", NULL);
		_exit(127);
	}
	close(pipefd[1]);
	for (int i = 0; i < 100 && !mmlock_enabled("stock"); i++)
		usleep(50000);
	CHECK(mmlock_enabled("stock"), "mmlock run did not attach");
	sleep(2);
	kill(pid, SIGINT);
	while (len < (ssize_t)sizeof(out) - 1 &&
	       (n = read(pipefd[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "mmlock run status %d: %s",
	      status, out);
	CHECK(!mmlock_enabled(NULL), "still attached after Ctrl-C");
	CHECK(strstr(out, "running stock") && strstr(out, "exited: unregistered"),
	      "output: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test run = {
	.name = "loader_run_foreground",
	.description = "mmlock run attaches, reports, and detaches on Ctrl-C",
	.setup = need_kernel,
	.run = run_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(run);

static int unpriv_cmds(void *arg)
{
	static const char *const cmds[] = {
		"load stock", "swap anon2m", "set range_size=4M", "unload",
		"run stock",
	};

	for (int i = 0; i < 5; i++) {
		int st = MMLOCK("%s", cmds[i]);

		if (st == 0 || !strstr(out, "permission denied")) {
			printf("#   unprivileged 'mmlock %s': status %d: %s", cmds[i], st, out);
			return 1;
		}
	}
	return 0;
}

static enum mmlock_test_status unpriv_run(void *ctx)
{
	EXPECT_OK("load anon2m");
	CHECK(run_unprivileged(unpriv_cmds, NULL) == 0,
	      "an unprivileged user was not refused");
	CHECK(mmlock_enabled("anon2m"), "the policy changed");
	EXPECT_OK("get range_size");
	CHECK(strstr(out, "2097152"), "range_size changed: %s", out);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test unpriv = {
	.name = "loader_unprivileged_refused",
	.description = "an unprivileged user is refused by every changing command",
	.setup = need_kernel,
	.run = unpriv_run,
	.cleanup = unload,
};
REGISTER_MMLOCK_TEST(unpriv);
