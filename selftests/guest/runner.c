// SPDX-License-Identifier: GPL-2.0
/*
 * The in-VM selftest runner: runs every registered test (or those named on
 * the command line), prints TAP and a closing "N passed, N failed" line, and
 * exits non-zero if any test failed.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "mmlock_test.h"

#define MAX_TESTS 256

static struct mmlock_test *tests[MAX_TESTS];
static int nr_tests;

void mmlock_test_register(struct mmlock_test *test)
{
	if (nr_tests >= MAX_TESTS) {
		fprintf(stderr, "too many tests, raise MAX_TESTS\n");
		exit(2);
	}
	tests[nr_tests++] = test;
}

static int vrun(char *buf, size_t len, const char *fmt, va_list ap)
{
	char cmd[4096];
	FILE *p;
	size_t n = 0;
	int st;

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	fflush(stdout);
	if (!buf)
		return WEXITSTATUS(system(cmd));
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n + 1 < len) {
		size_t r = fread(buf + n, 1, len - 1 - n, p);

		if (!r)
			break;
		n += r;
	}
	buf[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int run_cmd(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vrun(NULL, 0, fmt, ap);
	va_end(ap);
	return ret;
}

int run_cmd_output(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vrun(buf, len, fmt, ap);
	va_end(ap);
	return ret;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc <= 1)
		return true;
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0, skipped = 0, n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && (!strcmp(argv[1], "-l") || !strcmp(argv[1], "--list"))) {
		for (int i = 0; i < nr_tests; i++)
			printf("%-28s %s\n", tests[i]->name, tests[i]->description);
		return 0;
	}
	for (int i = 0; i < nr_tests; i++)
		n += selected(tests[i]->name, argc, argv);
	printf("TAP version 13\n1..%d\n", n);
	n = 0;
	for (int i = 0; i < nr_tests; i++) {
		struct mmlock_test *t = tests[i];
		enum mmlock_test_status st = MMLOCK_TEST_PASS;
		void *ctx = NULL;

		if (!selected(t->name, argc, argv))
			continue;
		n++;
		printf("# %s: %s\n", t->name, t->description);
		if (t->setup)
			st = t->setup(&ctx);
		if (st == MMLOCK_TEST_PASS) {
			st = t->run(ctx);
			if (t->cleanup)
				t->cleanup(ctx);
		}
		switch (st) {
		case MMLOCK_TEST_PASS:
			printf("ok %d - %s\n", n, t->name);
			passed++;
			break;
		case MMLOCK_TEST_SKIP:
			printf("ok %d - %s # SKIP\n", n, t->name);
			skipped++;
			break;
		default:
			printf("not ok %d - %s\n", n, t->name);
			failed++;
		}
	}
	if (n == 0 && argc > 1) {
		fprintf(stderr, "no test matches; try --list\n");
		return 2;
	}
	printf("# %d skipped\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
