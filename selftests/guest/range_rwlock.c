// SPDX-License-Identifier: GPL-2.0
/*
 * The range lock's in-kernel self-test (CONFIG_RANGE_RWLOCK_SELFTEST): a
 * write to its debugfs file runs it with kernel threads and fails if a test
 * fails; reading the file gives the result line.
 */
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "mmlock_test.h"

#define DEBUGFS "/sys/kernel/debug"
#define SELFTEST DEBUGFS "/range_rwlock/selftest"

static enum mmlock_test_status run(void *ctx)
{
	char result[256] = "";
	int fd, write_errno = 0, read_errno;
	ssize_t written, n;

	if (access(SELFTEST, F_OK) &&
	    mount("debugfs", DEBUGFS, "debugfs", 0, NULL) && errno != EBUSY)
		SKIP("cannot mount debugfs: %s", strerror(errno));
	if (access(SELFTEST, F_OK))
		SKIP("no %s: kernel without CONFIG_RANGE_RWLOCK_SELFTEST",
		     SELFTEST);

	fd = open(SELFTEST, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", SELFTEST, strerror(errno));
	written = write(fd, "1", 1);
	if (written < 0)
		write_errno = errno;
	n = pread(fd, result, sizeof(result) - 1, 0);
	read_errno = errno;
	close(fd);

	CHECK(n > 0, "read %s: %s", SELFTEST, strerror(read_errno));
	result[n] = '\0';
	printf("#   %s", result);
	CHECK(written == 1, "the self-test failed: %s", strerror(write_errno));
	CHECK(!strncmp(result, "pass", 4), "unexpected result");
	return MMLOCK_TEST_PASS;
}

static struct mmlock_test range_rwlock_test = {
	.name = "range_rwlock",
	.description = "range lock: in-kernel self-test with kernel threads",
	.run = run,
};
REGISTER_MMLOCK_TEST(range_rwlock_test);
