// SPDX-License-Identifier: GPL-2.0
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "util.h"

static bool read_kv(const char *path, const char *key, char *buf, size_t len)
{
	char line[512];
	size_t klen = strlen(key);
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != ' ')
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(buf, len, "%s", line + klen + 1);
		found = true;
		break;
	}
	fclose(f);
	return found;
}

bool mmlock_status(const char *key, char *buf, size_t len)
{
	/* The message is root's, in a file of its own (older kernels: status). */
	if (!strcmp(key, "exit_msg")) {
		FILE *f = fopen("/sys/kernel/mmlock/exit_msg", "r");

		if (f) {
			size_t n = fread(buf, 1, len - 1, f);

			fclose(f);
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			return true;
		}
	}
	return read_kv("/sys/kernel/mmlock/status", key, buf, len);
}

bool mmlock_enabled(const char *name)
{
	char v[64];

	if (!mmlock_status("state", v, sizeof(v)) || strcmp(v, "enabled"))
		return false;
	return !name || (mmlock_status("policy", v, sizeof(v)) && !strcmp(v, name));
}

long long mmlock_stat(const char *name)
{
	char v[64];

	if (!read_kv("/sys/kernel/mmlock/stats", name, v, sizeof(v)))
		return -1;
	return atoll(v);
}

void wait_policy_gone(void)
{
	for (int tries = 0; tries < 100 && mmlock_enabled(NULL); tries++)
		usleep(10000);
}

bool mmlock_kernel_supported(void)
{
	return access("/sys/kernel/mmlock/status", R_OK) == 0;
}

void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *map_anon_isolated(size_t len)
{
	char *p = map_anon(len + 2 * PAGE_SZ);

	if (!p)
		return NULL;
	munmap(p, PAGE_SZ);
	munmap(p + PAGE_SZ + len, PAGE_SZ);
	return p + PAGE_SZ;
}

static uint64_t pattern(uint64_t seed, size_t page)
{
	return (seed * 0x9e3779b97f4a7c15ULL) ^ (page * 0xbf58476d1ce4e5b9ULL) ^ 1;
}

void fill_pages(void *p, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len / PAGE_SZ; i++) {
		uint64_t *w = (uint64_t *)((char *)p + i * PAGE_SZ);

		w[0] = pattern(seed, i);
		w[PAGE_SZ / 8 - 1] = ~pattern(seed, i);
	}
}

size_t bad_pages(void *p, size_t len, uint64_t seed)
{
	size_t bad = 0;

	for (size_t i = 0; i < len / PAGE_SZ; i++) {
		uint64_t *w = (uint64_t *)((char *)p + i * PAGE_SZ);

		bad += w[0] != pattern(seed, i) ||
		       w[PAGE_SZ / 8 - 1] != ~pattern(seed, i);
	}
	return bad;
}

struct fault_load {
	pthread_t threads[64];
	int nthreads;
	size_t len;
	volatile bool stop;
	long bad;
	unsigned long rounds;
	pthread_mutex_t lock;
};

static void *load_thread(void *arg)
{
	struct fault_load *load = arg;
	uint64_t seed = (uint64_t)pthread_self();
	unsigned long rounds = 0;
	long bad = 0;

	while (!load->stop) {
		void *p = map_anon(load->len);

		if (!p) {
			bad++;
			break;
		}
		fill_pages(p, load->len, seed + rounds);
		bad += bad_pages(p, load->len, seed + rounds);
		munmap(p, load->len);
		rounds++;
	}
	pthread_mutex_lock(&load->lock);
	load->bad += bad;
	load->rounds += rounds;
	pthread_mutex_unlock(&load->lock);
	return NULL;
}

struct fault_load *start_load(int nthreads, size_t len)
{
	struct fault_load *load = calloc(1, sizeof(*load));

	if (!load || nthreads > 64)
		return NULL;
	load->len = len;
	pthread_mutex_init(&load->lock, NULL);
	for (; load->nthreads < nthreads; load->nthreads++)
		if (pthread_create(&load->threads[load->nthreads], NULL,
				   load_thread, load))
			break;
	return load;
}

unsigned long load_rounds(struct fault_load *load)
{
	return load->rounds;
}

long stop_load(struct fault_load *load)
{
	long bad;

	load->stop = true;
	for (int i = 0; i < load->nthreads; i++)
		pthread_join(load->threads[i], NULL);
	bad = load->bad;
	free(load);
	return bad;
}

int run_unprivileged(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct __user_cap_header_struct hdr = {
			.version = _LINUX_CAPABILITY_VERSION_3,
		};
		struct __user_cap_data_struct data[2] = {};

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534) ||
		    syscall(SYS_capset, &hdr, data))
			_exit(100);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
