/* SPDX-License-Identifier: Apache-2.0 */
/* A growable, owned list of strings. */
#include "config.h"

#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void strv_push_owned(struct strv *v, char *s)
{
	if (v->len + 2 > v->cap) {
		v->cap = v->cap ? v->cap * 2 : 8;
		v->items = xreallocarray(v->items, v->cap, sizeof(char *));
	}
	v->items[v->len++] = s;
	v->items[v->len] = NULL;
}

void strv_push(struct strv *v, const char *s)
{
	strv_push_owned(v, xstrdup(s));
}

bool strv_contains(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->len; i++)
		if (streq(v->items[i], s))
			return true;
	return false;
}

void strv_push_unique(struct strv *v, const char *s)
{
	if (!strv_contains(v, s))
		strv_push(v, s);
}

size_t strv_remove(struct strv *v, const char *s)
{
	size_t kept = 0, removed = 0;

	for (size_t i = 0; i < v->len; i++) {
		if (streq(v->items[i], s)) {
			free(v->items[i]);
			removed++;
			continue;
		}
		v->items[kept++] = v->items[i];
	}
	v->len = kept;
	if (v->items)
		v->items[kept] = NULL;
	return removed;
}

void strv_copy(struct strv *dst, const struct strv *src)
{
	strv_clear(dst);
	for (size_t i = 0; i < src->len; i++)
		strv_push(dst, src->items[i]);
}

void strv_clear(struct strv *v)
{
	for (size_t i = 0; i < v->len; i++)
		free(v->items[i]);
	free(v->items);
	v->items = NULL;
	v->len = 0;
	v->cap = 0;
}
