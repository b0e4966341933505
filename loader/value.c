// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "value.h"

static int parse_suffix(const char *s, unsigned int *shift)
{
	static const char suffixes[] = "KMGT";
	const char *p;

	*shift = 0;
	if (!*s)
		return 0;
	p = strchr(suffixes, s[0] & ~0x20);
	if (!p || s[1])
		return -EINVAL;
	*shift = 10 * (p - suffixes + 1);
	return 0;
}

static int parse_number(const struct value_type *t, const char *text,
			void *buf, char *err, size_t errlen)
{
	unsigned int bits = t->size * 8, shift;
	const char *s = text;
	bool neg = false;
	unsigned long long mag, limit;
	char *end;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s || *s == ' ' || *s == '-' || *s == '+') {
		snprintf(err, errlen, "'%s' is not a number", text);
		return -EINVAL;
	}
	errno = 0;
	mag = strtoull(s, &end, 0);
	if (end == s || parse_suffix(end, &shift)) {
		snprintf(err, errlen, "'%s' is not a number (suffixes: K, M, G, T)", text);
		return -EINVAL;
	}
	if (errno == ERANGE || (shift && mag > (~0ULL >> shift)))
		goto range;
	mag <<= shift;
	if (t->kind == VALUE_UINT) {
		limit = bits == 64 ? ~0ULL : (1ULL << bits) - 1;
		if (neg && mag) {
			snprintf(err, errlen, "'%s': must not be negative", text);
			return -ERANGE;
		}
		if (mag > limit)
			goto range;
	} else {
		limit = 1ULL << (bits - 1);	/* |min| */
		if (mag > limit || (!neg && mag == limit))
			goto range;
		if (neg)
			mag = -mag;
	}
	switch (t->size) {
	case 1: *(uint8_t *)buf = mag; break;
	case 2: *(uint16_t *)buf = mag; break;
	case 4: *(uint32_t *)buf = mag; break;
	default: *(uint64_t *)buf = mag; break;
	}
	return 0;
range:
	if (t->kind == VALUE_UINT)
		snprintf(err, errlen, "'%s' is out of range for u%u (0..%llu)", text,
			 bits, bits == 64 ? ~0ULL : (1ULL << bits) - 1);
	else
		snprintf(err, errlen, "'%s' is out of range for s%u (%lld..%lld)",
			 text, bits, bits == 64 ? (long long)INT64_MIN : -(1LL << (bits - 1)),
			 bits == 64 ? (long long)INT64_MAX : (1LL << (bits - 1)) - 1);
	return -ERANGE;
}

int value_parse(const struct value_type *t, const char *text, void *buf,
		char *err, size_t errlen)
{
	static const char * const yes[] = { "1", "true", "yes", "on" };
	static const char * const no[] = { "0", "false", "no", "off" };
	size_t n;

	switch (t->kind) {
	case VALUE_BOOL:
		for (size_t i = 0; i < 4; i++) {
			if (!strcasecmp(text, yes[i]) || !strcasecmp(text, no[i])) {
				memset(buf, 0, t->size);
				*(uint8_t *)buf = !strcasecmp(text, yes[i]);
				return 0;
			}
		}
		snprintf(err, errlen, "'%s' is not a boolean (true/false, 1/0, yes/no, on/off)",
			 text);
		return -EINVAL;
	case VALUE_STRING:
		n = strlen(text);
		if (n >= t->size) {
			snprintf(err, errlen, "'%s' is too long (at most %zu characters)",
				 text, t->size - 1);
			return -ERANGE;
		}
		memset(buf, 0, t->size);
		memcpy(buf, text, n);
		return 0;
	default:
		if (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8) {
			snprintf(err, errlen, "unsupported integer size %zu", t->size);
			return -EINVAL;
		}
		return parse_number(t, text, buf, err, errlen);
	}
}

void value_format(const struct value_type *t, const void *buf, char *out,
		  size_t len)
{
	unsigned long long u = 0;
	long long s = 0;

	switch (t->kind) {
	case VALUE_BOOL:
		snprintf(out, len, "%s", *(const uint8_t *)buf ? "true" : "false");
		return;
	case VALUE_STRING:
		snprintf(out, len, "%.*s", (int)t->size, (const char *)buf);
		return;
	default:
		break;
	}
	switch (t->size) {
	case 1: u = *(const uint8_t *)buf; s = *(const int8_t *)buf; break;
	case 2: u = *(const uint16_t *)buf; s = *(const int16_t *)buf; break;
	case 4: u = *(const uint32_t *)buf; s = *(const int32_t *)buf; break;
	default: u = *(const uint64_t *)buf; s = *(const int64_t *)buf; break;
	}
	if (t->kind == VALUE_INT)
		snprintf(out, len, "%lld", s);
	else
		snprintf(out, len, "%llu", u);
}

const char *value_type_name(const struct value_type *t, char *out, size_t len)
{
	switch (t->kind) {
	case VALUE_BOOL:
		snprintf(out, len, "bool");
		break;
	case VALUE_STRING:
		snprintf(out, len, "char[%zu]", t->size);
		break;
	default:
		snprintf(out, len, "%c%zu", t->kind == VALUE_INT ? 's' : 'u', t->size * 8);
	}
	return out;
}
