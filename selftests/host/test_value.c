// SPDX-License-Identifier: GPL-2.0
/* Host unit test of the loader's tunable value parser (loader/value.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "value.h"

static int failed, n;

static void expect(const char *what, int ok)
{
	n++;
	printf("%sok %d - %s\n", ok ? "" : "not ", n, what);
	failed += !ok;
}

static int parse(enum value_kind kind, size_t size, const char *text, void *buf)
{
	struct value_type t = { kind, size };
	char err[128];

	return value_parse(&t, text, buf, err, sizeof(err));
}

int main(void)
{
	uint64_t u64 = 0;
	uint32_t u32 = 0;
	int32_t s32 = 0;
	int8_t s8 = 0;
	uint8_t b = 0;
	char str[8], out[64];
	struct value_type t64 = { VALUE_UINT, 8 };

	expect("u64 with M suffix", !parse(VALUE_UINT, 8, "2M", &u64) && u64 == 2 << 20);
	expect("u64 hex", !parse(VALUE_UINT, 8, "0x200000", &u64) && u64 == 0x200000);
	expect("u64 max", !parse(VALUE_UINT, 8, "18446744073709551615", &u64) &&
			  u64 == UINT64_MAX);
	expect("u64 overflow", parse(VALUE_UINT, 8, "18446744073709551616", &u64) == -ERANGE);
	expect("u64 suffix overflow", parse(VALUE_UINT, 8, "17179869184G", &u64) == -ERANGE);
	expect("u32 range", parse(VALUE_UINT, 4, "4294967296", &u32) == -ERANGE);
	expect("u32 negative", parse(VALUE_UINT, 4, "-1", &u32) == -ERANGE);
	expect("u32 garbage", parse(VALUE_UINT, 4, "12abc", &u32) == -EINVAL);
	expect("u32 empty", parse(VALUE_UINT, 4, "", &u32) == -EINVAL);
	expect("s32 negative", !parse(VALUE_INT, 4, "-5", &s32) && s32 == -5);
	expect("s8 min", !parse(VALUE_INT, 1, "-128", &s8) && s8 == -128);
	expect("s8 too big", parse(VALUE_INT, 1, "128", &s8) == -ERANGE);
	expect("bool yes", !parse(VALUE_BOOL, 1, "yes", &b) && b == 1);
	expect("bool off", !parse(VALUE_BOOL, 1, "off", &b) && b == 0);
	expect("bool garbage", parse(VALUE_BOOL, 1, "maybe", &b) == -EINVAL);
	expect("string fits", !parse(VALUE_STRING, 8, "abc", str) && !strcmp(str, "abc"));
	expect("string too long", parse(VALUE_STRING, 8, "abcdefgh", str) == -ERANGE);
	u64 = 4 << 20;
	value_format(&t64, &u64, out, sizeof(out));
	expect("format u64", !strcmp(out, "4194304"));
	printf("%d passed, %d failed\n", n - failed, failed);
	return failed ? 1 : 0;
}
