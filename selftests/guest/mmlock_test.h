/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-VM selftests: one test = one .c file (plus optionally one .bpf.c whose
 * skeleton it includes), registered with REGISTER_MMLOCK_TEST(). The runner
 * (runner.c) runs them in link order and prints TAP lines and a closing
 * "N passed, N failed" line. Modelled on tools/testing/selftests/sched_ext.
 */
#ifndef MMLOCK_TEST_H
#define MMLOCK_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <linux/types.h>
#include <linux/mmlock_ext.h>

/* The kernel type names that BPF skeletons use. */
typedef __u64 u64;
typedef __s64 s64;
typedef __u32 u32;
typedef __s32 s32;
typedef __u16 u16;
typedef __u8 u8;

enum mmlock_test_status {
	MMLOCK_TEST_PASS,
	MMLOCK_TEST_SKIP,
	MMLOCK_TEST_FAIL,
};

struct mmlock_test {
	const char *name;
	const char *description;
	/* Optional: prepare and return a context passed to run/cleanup. */
	enum mmlock_test_status (*setup)(void **ctx);
	enum mmlock_test_status (*run)(void *ctx);
	/* Optional: always called if setup succeeded. */
	void (*cleanup)(void *ctx);
};

void mmlock_test_register(struct mmlock_test *test);

#define REGISTER_MMLOCK_TEST(__test)                                        \
	__attribute__((constructor)) static void __mmlock_reg_##__test(void) \
	{                                                                     \
		mmlock_test_register(&(__test));                              \
	}

/* Print a diagnostic (as a TAP comment) and fail the test. */
#define FAIL(fmt, ...)                                                       \
	do {                                                                  \
		fprintf(stdout, "#   %s:%d: " fmt "\n", __FILE__, __LINE__,   \
			##__VA_ARGS__);                                       \
		return MMLOCK_TEST_FAIL;                                      \
	} while (0)

#define CHECK(cond, fmt, ...)                                                \
	do {                                                                  \
		if (!(cond))                                                  \
			FAIL("%s: " fmt, #cond, ##__VA_ARGS__);               \
	} while (0)

#define SKIP(fmt, ...)                                                       \
	do {                                                                  \
		fprintf(stdout, "#   skip: " fmt "\n", ##__VA_ARGS__);        \
		return MMLOCK_TEST_SKIP;                                      \
	} while (0)

/* Run a shell command; returns its exit status, output goes to stdout. */
int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Run a shell command and capture up to len-1 bytes of its stdout. */
int run_cmd_output(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* MMLOCK_TEST_H */
