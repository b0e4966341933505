// SPDX-License-Identifier: GPL-2.0
/*
 * Every kind of invalid answer ejects the policy with the right recorded
 * reason while the faulting process carries on; init() failures refuse the
 * attach; a policy writing an input field does not load.
 */
#include <regex.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>

#include "mmlock_test.h"
#include "util.h"
#include "ops_bad.skel.h"
#include "ops_rdonly.skel.h"

/* enum bad_answer in ops_bad.bpf.c */
enum { BAD_INIT_FAIL = 7, BAD_INIT_ERROR, BAD_WRITE_ERROR, BAD_WRITE_SHRINK,
       BAD_WRITE_UNALIGNED, GOOD_WRITE_WIDEN };

static const struct {
	const char *name;
	unsigned int misbehave;
	int exit_kind;
	const char *msg;	/* expected in the recorded message */
} cases[] = {
	{ "mode 7", 0, MMLOCK_EXIT_ERROR, "returned 7" },
	{ "mode -1", 1, MMLOCK_EXIT_ERROR, "returned -1" },
	{ "unaligned range", 2, MMLOCK_EXIT_ERROR, "not page aligned" },
	{ "empty range", 3, MMLOCK_EXIT_ERROR, "is empty" },
	{ "range outside user space", 4, MMLOCK_EXIT_ERROR, "outside user space" },
	{ "range missing the PMD region", 5, MMLOCK_EXIT_ERROR, "does not contain" },
	{ "mmlock_bpf_error()", 6, MMLOCK_EXIT_ERROR_BPF, "test error at 0x" },
	/* The munmap below is a ranged writer once our faults used ranges. */
	{ "write() error", BAD_WRITE_ERROR, MMLOCK_EXIT_ERROR, "write() returned -5" },
	{ "write() shrinks the range", BAD_WRITE_SHRINK, MMLOCK_EXIT_ERROR,
	  "does not contain the request" },
	{ "write() range unaligned", BAD_WRITE_UNALIGNED, MMLOCK_EXIT_ERROR,
	  "not page aligned" },
};

static enum mmlock_test_status one_case(unsigned int i)
{
	struct ops_bad *skel;
	struct bpf_link *link;
	char kind[32], msg[300], policy[64];
	long long errors0;
	void *p;
	size_t bad;

	skel = ops_bad__open();
	CHECK(skel, "open");
	skel->rodata->misbehave = cases[i].misbehave;
	skel->rodata->target_tgid = getpid();
	if (ops_bad__load(skel)) {
		ops_bad__destroy(skel);
		FAIL("%s: load: %s", cases[i].name, strerror(errno));
	}
	errors0 = mmlock_stat("policy_errors");
	link = bpf_map__attach_struct_ops(skel->maps.ops_bad);
	if (!link) {
		ops_bad__destroy(skel);
		FAIL("%s: attach: %s", cases[i].name, strerror(errno));
	}
	/* Our faults get the bad answer; they must still be handled. */
	p = map_anon(32 * PAGE_SZ);
	fill_pages(p, 32 * PAGE_SZ, i);
	bad = bad_pages(p, 32 * PAGE_SZ, i);
	munmap(p, 32 * PAGE_SZ);
	wait_policy_gone();
	mmlock_status("exit_kind", kind, sizeof(kind));
	mmlock_status("exit_msg", msg, sizeof(msg));
	mmlock_status("exit_policy", policy, sizeof(policy));
	bpf_link__destroy(link);
	if (bad || mmlock_enabled(NULL) || atoi(kind) != cases[i].exit_kind ||
	    !strstr(msg, cases[i].msg) || strcmp(policy, "test_bad") ||
	    skel->data->exit_kind != cases[i].exit_kind ||
	    !strstr(skel->bss->exit_msg, cases[i].msg) ||
	    mmlock_stat("policy_errors") <= errors0) {
		printf("#   %s: bad pages %zu, enabled %d, exit_kind %s, policy %s, msg '%s', exit() saw %d '%s'\n",
		       cases[i].name, bad, mmlock_enabled(NULL), kind, policy,
		       msg, skel->data->exit_kind, skel->bss->exit_msg);
		ops_bad__destroy(skel);
		FAIL("%s: not ejected as expected", cases[i].name);
	}
	ops_bad__destroy(skel);
	printf("#   %s: ejected: %s\n", cases[i].name, msg);
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status invalid_answers_run(void *ctx)
{
	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (one_case(i) != MMLOCK_TEST_PASS)
			return MMLOCK_TEST_FAIL;
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test invalid_answers = {
	.name = "ops_invalid_answers",
	.description = "each invalid answer and mmlock_bpf_error() eject with the right reason",
	.run = invalid_answers_run,
};
REGISTER_MMLOCK_TEST(invalid_answers);

/*
 * Child of status_unprivileged: read status as nobody. 0: no address
 * shown; 1: an address; 2: status unreadable; 3: exit_msg readable.
 */
static int read_status_unprivileged(void *arg)
{
	char *out = arg;
	FILE *f = fopen("/sys/kernel/mmlock/status", "r");
	regex_t re;
	size_t n;
	int found;

	if (!f)
		return 2;
	n = fread(out, 1, 4095, f);
	out[n] = '\0';
	fclose(f);
	f = fopen("/sys/kernel/mmlock/exit_msg", "r");
	if (f) {
		fclose(f);
		return 3;
	}
	/* Any hex number of 5 digits or more but the flags line's. */
	if (regcomp(&re, "^exit_.*[0-9a-f]{5,}", REG_EXTENDED | REG_NEWLINE))
		return 1;
	found = !regexec(&re, out, 0, NULL, 0);
	regfree(&re);
	return found;
}

static enum mmlock_test_status status_unprivileged_run(void *ctx)
{
	/* Shared, so the child's copy of the status comes back. */
	char *buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char msg[300];
	int ret;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	CHECK(buf != MAP_FAILED, "mmap");
	/* "range missing the PMD region": the message names addresses. */
	if (one_case(5) != MMLOCK_TEST_PASS)
		return MMLOCK_TEST_FAIL;
	ret = run_unprivileged(read_status_unprivileged, buf);
	for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
		printf("#   nobody reads: %s\n", l);
	CHECK(ret != 2, "status is not world-readable");
	CHECK(ret != 3, "exit_msg is readable by an unprivileged user");
	CHECK(ret == 0, "an address is shown to an unprivileged user (%d)", ret);
	CHECK(mmlock_status("exit_msg", msg, sizeof(msg)) && strstr(msg, "0x"),
	      "root's exit_msg has no detail: '%s'", msg);
	munmap(buf, 4096);
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test status_unprivileged = {
	.name = "ops_status_unprivileged",
	.description = "after an ejection, nobody's status shows no address; root's exit_msg has it",
	.run = status_unprivileged_run,
};
REGISTER_MMLOCK_TEST(status_unprivileged);

static enum mmlock_test_status init_case(unsigned int misbehave, int want_err,
					 const char *want_msg)
{
	struct ops_bad *skel;
	struct bpf_link *link;
	char msg[300];
	int err;

	skel = ops_bad__open();
	CHECK(skel, "open");
	skel->rodata->misbehave = misbehave;
	skel->rodata->target_tgid = getpid();
	if (ops_bad__load(skel)) {
		ops_bad__destroy(skel);
		FAIL("load: %s", strerror(errno));
	}
	link = bpf_map__attach_struct_ops(skel->maps.ops_bad);
	err = errno;
	if (link) {
		bpf_link__destroy(link);
		ops_bad__destroy(skel);
		FAIL("attach succeeded although init() failed");
	}
	mmlock_status("exit_msg", msg, sizeof(msg));
	ops_bad__destroy(skel);
	CHECK(err == want_err, "attach: %s, want %s", strerror(err), strerror(want_err));
	CHECK(strstr(msg, want_msg), "exit_msg '%s'", msg);
	CHECK(!mmlock_enabled(NULL), "enabled after a failed init()");
	return MMLOCK_TEST_PASS;
}

static enum mmlock_test_status init_fail_run(void *ctx)
{
	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	if (init_case(BAD_INIT_FAIL, ENOENT, "init() returned -2"))
		return MMLOCK_TEST_FAIL;
	return init_case(BAD_INIT_ERROR, EINVAL, "init refused: 42");
}

static struct mmlock_test init_fail = {
	.name = "ops_init_failure",
	.description = "init() returning an error or calling mmlock_bpf_error() refuses the attach",
	.run = init_fail_run,
};
REGISTER_MMLOCK_TEST(init_fail);

/*
 * Every ranged writer asks write() once its mm had range faults, and a
 * valid widening keeps the policy attached.
 */
static enum mmlock_test_status write_calls_run(void *ctx)
{
	static const char *const ops[] = { "mmap", "munmap", "mprotect", "brk" };
	struct ops_bad *skel;
	struct bpf_link *link;
	char *p, *q, *brk0;
	bool attached;
	size_t bad;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	skel = ops_bad__open();
	CHECK(skel, "open");
	skel->rodata->misbehave = GOOD_WRITE_WIDEN;
	skel->rodata->target_tgid = getpid();
	if (ops_bad__load(skel)) {
		ops_bad__destroy(skel);
		FAIL("load: %s", strerror(errno));
	}
	link = bpf_map__attach_struct_ops(skel->maps.ops_bad);
	if (!link) {
		ops_bad__destroy(skel);
		FAIL("attach: %s", strerror(errno));
	}
	p = map_anon_isolated(64 * PAGE_SZ);
	fill_pages(p, 64 * PAGE_SZ, 3);		/* range faults: the mm is fine */
	q = mmap(p + 64 * PAGE_SZ, PAGE_SZ, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	mprotect(p, PAGE_SZ, PROT_READ);
	brk0 = sbrk(0);
	sbrk(PMD_SZ);
	sbrk(-(long)PMD_SZ);
	bad = bad_pages(p, 64 * PAGE_SZ, 3);
	if (q != MAP_FAILED)
		munmap(q, PAGE_SZ);
	munmap(p, 64 * PAGE_SZ);
	attached = mmlock_enabled("test_bad");
	bpf_link__destroy(link);
	for (int op = 0; op < 4; op++)
		printf("#   write() calls for %s: %llu\n", ops[op],
		       (unsigned long long)skel->bss->write_calls[op]);
	for (int op = 0; op < 4; op++) {
		if (!skel->bss->write_calls[op]) {
			ops_bad__destroy(skel);
			FAIL("no write() call for %s", ops[op]);
		}
	}
	ops_bad__destroy(skel);
	CHECK(q != MAP_FAILED, "mmap next to the region: %s", strerror(errno));
	CHECK(sbrk(0) == brk0, "brk not restored");
	CHECK(!bad, "%zu pages lost", bad);
	CHECK(attached, "a valid write() answer ejected the policy");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test write_calls = {
	.name = "ops_write_calls",
	.description = "mmap, munmap, mprotect and brk ask write(); a valid widening is kept",
	.run = write_calls_run,
};
REGISTER_MMLOCK_TEST(write_calls);

static enum mmlock_test_status rdonly_run(void *ctx)
{
	struct ops_rdonly *skel;
	libbpf_print_fn_t old_print;

	if (!mmlock_kernel_supported())
		SKIP("kernel without mmlock_ext");
	old_print = libbpf_set_print(NULL);
	skel = ops_rdonly__open_and_load();
	libbpf_set_print(old_print);
	if (skel) {
		ops_rdonly__destroy(skel);
		FAIL("a policy writing req->address was accepted");
	}
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test rdonly = {
	.name = "ops_readonly_inputs",
	.description = "the verifier refuses writes to the request's input fields",
	.run = rdonly_run,
};
REGISTER_MMLOCK_TEST(rdonly);
