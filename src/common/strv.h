/* SPDX-License-Identifier: Apache-2.0 */
/* A growable, owned list of strings. */
#ifndef AIRLOCK_STRV_H
#define AIRLOCK_STRV_H

#include <stdbool.h>
#include <stddef.h>

struct strv {
	char **items; /* NULL-terminated when len > 0 */
	size_t len;
	size_t cap;
};

/* Appends a copy of s. */
void strv_push(struct strv *v, const char *s);
/* Appends s itself; the list takes ownership. */
void strv_push_owned(struct strv *v, char *s);
/* Appends a copy of s unless an equal string is already there. */
void strv_push_unique(struct strv *v, const char *s);
bool strv_contains(const struct strv *v, const char *s);
/* Removes every entry equal to s; returns how many were removed. */
size_t strv_remove(struct strv *v, const char *s);
/* Replaces dst by a deep copy of src. */
void strv_copy(struct strv *dst, const struct strv *src);
void strv_clear(struct strv *v);

#endif
