/* SPDX-License-Identifier: GPL-2.0 */
/* Typed values of policy tunables: parsing with range checks, printing. */
#ifndef MMLOCK_VALUE_H
#define MMLOCK_VALUE_H

#include <stdbool.h>
#include <stddef.h>

enum value_kind {
	VALUE_UINT,
	VALUE_INT,
	VALUE_BOOL,
	VALUE_STRING,	/* char array, NUL-terminated */
};

struct value_type {
	enum value_kind kind;
	size_t size;	/* bytes: 1, 2, 4 or 8 for numbers; array size for strings */
};

/*
 * Parse text as a value of type t into buf (t->size bytes). Numbers take
 * decimal, 0x hex, and a K/M/G/T (powers of 1024) suffix: "2M". On error
 * returns -EINVAL or -ERANGE and explains in err.
 */
int value_parse(const struct value_type *t, const char *text, void *buf,
		char *err, size_t errlen);

/* Print the value at buf into out. */
void value_format(const struct value_type *t, const void *buf, char *out,
		  size_t len);

/* "u32", "s64", "bool", "char[32]", ... */
const char *value_type_name(const struct value_type *t, char *out, size_t len);

#endif /* MMLOCK_VALUE_H */
