/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The position index of a settings file. jansson keeps no position per
 * value, so once it has accepted a text this file walks the text again
 * with a small scanner and notes where each key and each array element
 * starts, under the same dotted path the schema checker builds. Lines and
 * columns are 1-based; a column counts characters, not bytes, as
 * jansson's own messages do.
 *
 * The text comes from a settings file, which may have been written by
 * someone else. The scanner trusts nothing about it: it checks every
 * bound, limits its recursion, and on anything unexpected simply stops.
 */
#include "config.h"

#include "policy/policy-internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* jansson refuses deeper nesting (JSON_PARSER_MAX_DEPTH); stay well above */
#define SCAN_MAX_DEPTH 4096

struct scanner {
	const char *text;
	size_t len;
	size_t pos;
	int line;
	int column; /* characters consumed on the current line */

	struct policy_index *idx;
	char *path; /* the dotted path of the value being scanned */
	size_t path_len;
	size_t path_cap;
	char *key; /* scratch for the decoded key */
	size_t key_len;
	size_t key_cap;
};

static void buffer_append(char **buf, size_t *len, size_t *cap,
			  const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t want = *cap ? *cap : 64;

		while (want < *len + n + 1)
			want *= 2;
		*buf = xreallocarray(*buf, want, 1);
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static int scan_peek(const struct scanner *sc)
{
	if (sc->pos >= sc->len)
		return -1;
	return (unsigned char)sc->text[sc->pos];
}

static void scan_next(struct scanner *sc)
{
	unsigned char c = (unsigned char)sc->text[sc->pos++];

	if (c == '\n') {
		sc->line++;
		sc->column = 0;
	} else if ((c & 0xc0) != 0x80) {
		sc->column++;
	}
}

static void scan_blank(struct scanner *sc)
{
	for (;;) {
		int c = scan_peek(sc);

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		scan_next(sc);
	}
}

static int scan_expect(struct scanner *sc, int c)
{
	scan_blank(sc);
	if (scan_peek(sc) != c)
		return -1;
	scan_next(sc);
	return 0;
}

static void index_record(struct scanner *sc, int line, int column)
{
	struct policy_index *idx = sc->idx;

	if (idx->len == idx->cap) {
		idx->cap = idx->cap ? idx->cap * 2 : 32;
		idx->items = xreallocarray(idx->items, idx->cap,
					   sizeof(*idx->items));
	}
	idx->items[idx->len++] = (struct policy_index_entry){
		.path = xstrndup(sc->path, sc->path_len),
		.line = line,
		.column = column,
	};
}

/* Reads the four hex digits after "\u". */
static int scan_hex4(struct scanner *sc, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int h = hex_value(scan_peek(sc));

		if (h < 0)
			return -1;
		v = v << 4 | (uint32_t)h;
		scan_next(sc);
	}
	*out = v;
	return 0;
}

static void key_append_utf8(struct scanner *sc, uint32_t cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buffer_append(&sc->key, &sc->key_len, &sc->key_cap, b, n);
}

/* Decodes "\uXXXX", joining a surrogate pair into one character. */
static int scan_unicode_escape(struct scanner *sc)
{
	uint32_t cp, low;

	if (scan_hex4(sc, &cp) < 0)
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (scan_peek(sc) != '\\')
			return -1;
		scan_next(sc);
		if (scan_peek(sc) != 'u')
			return -1;
		scan_next(sc);
		if (scan_hex4(sc, &low) < 0 || low < 0xdc00 || low > 0xdfff)
			return -1;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
	}
	key_append_utf8(sc, cp);
	return 0;
}

static int scan_escape(struct scanner *sc)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	int c = scan_peek(sc);
	const char *hit;

	if (c < 0)
		return -1;
	scan_next(sc);
	if (c == 'u')
		return scan_unicode_escape(sc);
	hit = strchr(from, c);
	if (!hit || c == '\0')
		return -1;
	buffer_append(&sc->key, &sc->key_len, &sc->key_cap,
		      &to[hit - from], 1);
	return 0;
}

/* Scans a string; its decoded text is left in sc->key. */
static int scan_string(struct scanner *sc)
{
	sc->key_len = 0;
	buffer_append(&sc->key, &sc->key_len, &sc->key_cap, "", 0);
	if (scan_expect(sc, '"') < 0)
		return -1;
	for (;;) {
		int c = scan_peek(sc);

		if (c < 0x20)
			return -1;
		scan_next(sc);
		if (c == '"')
			return 0;
		if (c == '\\') {
			if (scan_escape(sc) < 0)
				return -1;
			continue;
		}
		buffer_append(&sc->key, &sc->key_len, &sc->key_cap,
			      &sc->text[sc->pos - 1], 1);
	}
}

/* Numbers, true, false and null: everything up to the next delimiter. */
static int scan_literal(struct scanner *sc)
{
	size_t start = sc->pos;

	for (;;) {
		int c = scan_peek(sc);

		if (c < 0 || strchr(" \t\r\n,:]}", c))
			break;
		scan_next(sc);
	}
	return sc->pos > start ? 0 : -1;
}

static int scan_value(struct scanner *sc, int depth);

static int scan_member(struct scanner *sc, int depth)
{
	size_t saved = sc->path_len;
	int line, column, r;

	scan_blank(sc);
	line = sc->line;
	column = sc->column + 1;
	if (scan_string(sc) < 0 || scan_expect(sc, ':') < 0)
		return -1;
	if (depth < POLICY_INDEX_MAX_DEPTH) {
		if (saved > 0)
			buffer_append(&sc->path, &sc->path_len, &sc->path_cap,
				      ".", 1);
		buffer_append(&sc->path, &sc->path_len, &sc->path_cap,
			      sc->key, sc->key_len);
		index_record(sc, line, column);
	}
	r = scan_value(sc, depth + 1);
	sc->path_len = saved;
	sc->path[saved] = '\0';
	return r;
}

static int scan_object(struct scanner *sc, int depth)
{
	scan_next(sc);
	scan_blank(sc);
	if (scan_peek(sc) == '}') {
		scan_next(sc);
		return 0;
	}
	for (;;) {
		if (scan_member(sc, depth) < 0)
			return -1;
		scan_blank(sc);
		if (scan_peek(sc) == '}') {
			scan_next(sc);
			return 0;
		}
		if (scan_expect(sc, ',') < 0)
			return -1;
	}
}

static int scan_element(struct scanner *sc, int depth, size_t i)
{
	size_t saved = sc->path_len;
	char num[32];
	int n, r;

	scan_blank(sc);
	if (depth < POLICY_INDEX_MAX_DEPTH) {
		n = snprintf(num, sizeof(num), "[%zu]", i);
		buffer_append(&sc->path, &sc->path_len, &sc->path_cap, num,
			      (size_t)n);
		index_record(sc, sc->line, sc->column + 1);
	}
	r = scan_value(sc, depth + 1);
	sc->path_len = saved;
	sc->path[saved] = '\0';
	return r;
}

static int scan_array(struct scanner *sc, int depth)
{
	scan_next(sc);
	scan_blank(sc);
	if (scan_peek(sc) == ']') {
		scan_next(sc);
		return 0;
	}
	for (size_t i = 0;; i++) {
		if (scan_element(sc, depth, i) < 0)
			return -1;
		scan_blank(sc);
		if (scan_peek(sc) == ']') {
			scan_next(sc);
			return 0;
		}
		if (scan_expect(sc, ',') < 0)
			return -1;
	}
}

static int scan_value(struct scanner *sc, int depth)
{
	if (depth > SCAN_MAX_DEPTH)
		return -1;
	scan_blank(sc);
	switch (scan_peek(sc)) {
	case '{':
		return scan_object(sc, depth);
	case '[':
		return scan_array(sc, depth);
	case '"':
		return scan_string(sc);
	default:
		return scan_literal(sc);
	}
}

static int index_compare(const void *a, const void *b)
{
	const struct policy_index_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

void policy_index_build(struct policy_index *idx, const char *text,
			size_t len)
{
	struct scanner sc = {
		.text = text,
		.len = len,
		.line = 1,
		.idx = idx,
	};

	buffer_append(&sc.path, &sc.path_len, &sc.path_cap, "", 0);
	(void)scan_value(&sc, 0);
	free(sc.path);
	free(sc.key);
	if (idx->len > 1)
		qsort(idx->items, idx->len, sizeof(*idx->items),
		      index_compare);
}

static const struct policy_index_entry *
index_lookup(const struct policy_index *idx, const char *path)
{
	struct policy_index_entry probe = { .path = (char *)path };

	if (idx->len == 0)
		return NULL;
	return bsearch(&probe, idx->items, idx->len, sizeof(*idx->items),
		       index_compare);
}

/* Shortens "a.b[2].c" to "a.b[2]", then "a.b", "a"; false at the top. */
static bool path_strip_last(char *path)
{
	char *cut = NULL;

	for (char *s = path; *s; s++)
		if (*s == '.' || *s == '[')
			cut = s;
	if (!cut)
		return false;
	*cut = '\0';
	return true;
}

bool policy_index_find(const struct policy_index *idx, const char *path,
		       int *line, int *column)
{
	_cleanup_free_ char *p = xstrdup(path ? path : "");

	*line = 0;
	*column = 0;
	do {
		const struct policy_index_entry *e = index_lookup(idx, p);

		if (e) {
			*line = e->line;
			*column = e->column;
			return true;
		}
	} while (path_strip_last(p));
	return false;
}

void policy_index_free(struct policy_index *idx)
{
	for (size_t i = 0; i < idx->len; i++)
		free(idx->items[i].path);
	free(idx->items);
	*idx = (struct policy_index){ 0 };
}
