/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/common/audit-log.c: each input is an audit
 * log, and each of its lines is read as `airlock audit` reads it (jansson,
 * duplicate keys refused), checked as a record, formatted and added to
 * one summary. Beyond memory safety it checks that a record is accepted
 * exactly when its known keys have their types and ranges, that its
 * fields are the object's values, that a formatted line is NUL-terminated
 * within its buffer of any size and holds only printable ASCII with every
 * backslash starting an escape (the line goes to a terminal), that a cut
 * line is the start of the whole one, and that the summary stays sorted
 * and its totals add up.
 */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit-log.h"
#include "common/util.h"
#include "fuzz.h"

/* As large as `airlock audit` gives a line; smaller ones cut it. */
#define LINE_MAX_BYTES 8192
#define WHY_MAX_BYTES 1024

/* The schema of audit-log.h, written out again: key, member, range. */
static const struct key {
	const char *name;
	size_t offset; /* in struct audit_record */
	bool whole;
	int64_t max;
	bool required;
} keys[] = {
	{ "time", offsetof(struct audit_record, time), false, 0, true },
	{ "run", offsetof(struct audit_record, run), false, 0, false },
	{ "event", offsetof(struct audit_record, event), false, 0, true },
	{ "proto", offsetof(struct audit_record, proto), false, 0, false },
	{ "client", offsetof(struct audit_record, client), false, 0, false },
	{ "who", offsetof(struct audit_record, who), false, 0, false },
	{ "host", offsetof(struct audit_record, host), false, 0, false },
	{ "sni", offsetof(struct audit_record, sni), false, 0, false },
	{ "method", offsetof(struct audit_record, method), false, 0, false },
	{ "path", offsetof(struct audit_record, path), false, 0, false },
	{ "decision", offsetof(struct audit_record, decision), false, 0,
	  false },
	{ "rule", offsetof(struct audit_record, rule), false, 0, false },
	{ "reason", offsetof(struct audit_record, reason), false, 0, false },
	{ "addr", offsetof(struct audit_record, addr), false, 0, false },
	{ "credential", offsetof(struct audit_record, credential), false, 0,
	  false },
	{ "error", offsetof(struct audit_record, error), false, 0, false },
	{ "port", offsetof(struct audit_record, port), true, 65535, false },
	{ "status", offsetof(struct audit_record, status), true, 999, false },
	{ "bytes_up", offsetof(struct audit_record, bytes_up), true,
	  INT64_MAX, false },
	{ "bytes_down", offsetof(struct audit_record, bytes_down), true,
	  INT64_MAX, false },
	{ "duration_ms", offsetof(struct audit_record, duration_ms), true,
	  INT64_MAX, false },
};

static bool key_valid(const struct key *k, const json_t *v)
{
	if (!v)
		return !k->required;
	if (!k->whole)
		return json_is_string(v);
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	       json_integer_value(v) <= k->max;
}

/* Each member is its key's value, or NULL or -1 when the key is absent. */
static void check_members(const json_t *obj, const struct audit_record *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const json_t *v = json_object_get(obj, keys[i].name);
		const char *s;
		int64_t n;

		if (keys[i].whole) {
			memcpy(&n, (const char *)r + keys[i].offset, sizeof(n));
			CHECK(n == (v ? json_integer_value(v) : -1));
		} else {
			memcpy(&s, (const char *)r + keys[i].offset, sizeof(s));
			CHECK(s == (v ? json_string_value(v) : NULL));
		}
	}
}

/* Printable ASCII only, and every backslash starts a whole \xHH. */
static void check_terminal_safe(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	CHECK(n < size);
	for (size_t i = 0; i < n; i++) {
		CHECK(s[i] >= 0x20 && s[i] < 0x7f);
		if (s[i] != '\\')
			continue;
		CHECK(i + 3 < n && s[i + 1] == 'x');
		CHECK(strchr("0123456789abcdef", s[i + 2]) && s[i + 2]);
		CHECK(strchr("0123456789abcdef", s[i + 3]) && s[i + 3]);
		i += 3;
	}
}

/*
 * Parses with a message buffer of why_size bytes; a refusal says why in
 * printable text that ends inside the buffer.
 */
static int parse(const json_t *obj, struct audit_record *r, size_t why_size)
{
	_cleanup_free_ char *why = xmalloc(why_size ? why_size : 1);
	int ret = audit_log_parse_record(obj, r, why, why_size);

	CHECK(ret == 0 || ret == -EINVAL);
	if (ret < 0 && why_size > 0) {
		check_terminal_safe(why, why_size);
		CHECK(why_size == 1 || why[0] != '\0');
	}
	return ret;
}

static bool record_valid(const json_t *obj)
{
	if (!json_is_object(obj))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (!key_valid(&keys[i], json_object_get(obj, keys[i].name)))
			return false;
	return true;
}

/*
 * Formats into a buffer of exactly size bytes, which must then hold a
 * terminal-safe string; whole is the line formatted without a limit.
 */
static void check_format(const struct audit_record *r, size_t size,
			 const char *whole)
{
	_cleanup_free_ char *buf = xmalloc(size ? size : 1);
	size_t n;

	audit_log_format_record(r, buf, size);
	if (size == 0)
		return;
	check_terminal_safe(buf, size);
	n = strlen(buf);
	CHECK(strncmp(buf, whole, n) == 0);
	/* an escape that does not fit is left out whole: up to 4 bytes */
	CHECK(n + 4 >= size || strcmp(buf, whole) == 0);
}

/* Every cut from just before an escape of whole to just after it. */
static void check_cuts_at(const struct audit_record *r, const char *whole,
			  const char *escape)
{
	size_t at;

	if (!escape)
		return;
	at = (size_t)(escape - whole);
	for (size_t size = at + 1; size <= at + 5; size++)
		check_format(r, size, whole);
}

static void fuzz_format(const struct audit_record *r, size_t cut)
{
	_cleanup_free_ char *whole = xmalloc(LINE_MAX_BYTES);
	char target[32];

	audit_log_format_record(r, whole, LINE_MAX_BYTES);
	check_terminal_safe(whole, LINE_MAX_BYTES);
	check_format(r, 0, whole);
	check_format(r, 1, whole);
	check_format(r, 24, whole);
	check_format(r, 1 + cut % 200, whole);
	check_cuts_at(r, whole, strchr(whole, '\\'));
	check_cuts_at(r, whole, strrchr(whole, '\\'));

	audit_log_format_target(r->host, r->port, target, sizeof(target));
	check_terminal_safe(target, sizeof(target));
	audit_log_format_target(r->host, r->port, target, 1);
	CHECK(target[0] == '\0');
}

/* ---- the summary ---- */

/* The column an event counts in, or -1: audit-log.h in other words. */
static int tally_column(const struct audit_record *r)
{
	if (streq(r->event, "allow"))
		return AUDIT_TALLY_CONNECTIONS;
	if (streq(r->event, "request"))
		return AUDIT_TALLY_REQUESTS;
	if (streq(r->event, "deny"))
		return AUDIT_TALLY_DENIED;
	if (streq(r->event, "dns") && r->decision &&
	    streq(r->decision, "deny"))
		return AUDIT_TALLY_DENIED;
	return -1;
}

static bool tally_has(const struct audit_tally *t, const char *host,
		      int64_t port)
{
	for (size_t i = 0; i < t->len; i++)
		if (streq(t->rows[i].host, host) && t->rows[i].port == port)
			return true;
	return false;
}

/* Sorted by host, then port, each pair once; totals sum the rows. */
static void check_tally(const struct audit_tally *t)
{
	uint64_t sum[AUDIT_TALLY_COLUMNS] = { 0 };

	CHECK(t->len <= t->cap);
	for (size_t i = 0; i < t->len; i++) {
		const struct audit_tally_row *row = &t->rows[i];

		if (i > 0) {
			const struct audit_tally_row *prev = &t->rows[i - 1];
			int c = strcmp(prev->host, row->host);

			CHECK(c < 0 || (c == 0 && prev->port < row->port));
		}
		for (int col = 0; col < AUDIT_TALLY_COLUMNS; col++)
			sum[col] += row->count[col];
	}
	CHECK(memcmp(sum, t->total, sizeof(sum)) == 0);
}

/* What one record adds: one to its column, its bytes to theirs. */
static void fuzz_tally(struct audit_tally *t, const struct audit_record *r)
{
	uint64_t before[AUDIT_TALLY_COLUMNS], want[AUDIT_TALLY_COLUMNS];
	size_t len = t->len;
	int col = tally_column(r);

	memcpy(before, t->total, sizeof(before));
	memcpy(want, before, sizeof(want));
	if (col >= 0)
		want[col]++;
	if (r->bytes_up > 0)
		want[AUDIT_TALLY_BYTES_UP] += (uint64_t)r->bytes_up;
	if (r->bytes_down > 0)
		want[AUDIT_TALLY_BYTES_DOWN] += (uint64_t)r->bytes_down;

	audit_log_tally_record(t, r);
	CHECK(memcmp(want, t->total, sizeof(want)) == 0);
	if (col < 0 && r->bytes_up < 0 && r->bytes_down < 0) {
		CHECK(t->len == len);
	} else {
		CHECK(t->len == len || t->len == len + 1);
		CHECK(tally_has(t, r->host ? r->host : "", r->port));
	}
	check_tally(t);
}

/* ---- lines ---- */

static void fuzz_line(const char *text, struct audit_tally *t, size_t cut)
{
	_cleanup_(json_decrefp) json_t *obj = NULL;
	struct audit_record r;
	json_error_t jerr;
	bool valid;

	obj = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj)
		return;
	valid = record_valid(obj);
	CHECK((parse(obj, &r, 0) == 0) == valid);
	CHECK((parse(obj, &r, 1) == 0) == valid);
	CHECK((parse(obj, &r, 16) == 0) == valid);
	CHECK((parse(obj, &r, WHY_MAX_BYTES) == 0) == valid);
	if (!valid)
		return;

	CHECK(r.time && r.event);
	check_members(obj, &r);
	fuzz_format(&r, cut);
	fuzz_tally(t, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *text = xmalloc(size + 1);
	struct audit_tally t = { 0 };
	char *line = text, *end = text + size;

	/* one C string per line; a NUL ends its line early, as in a reader */
	memcpy(text, data, size);
	text[size] = '\0';
	while (line <= end) {
		char *eol = memchr(line, '\n', (size_t)(end - line));

		if (!eol)
			eol = end;
		*eol = '\0';
		fuzz_line(line, &t, (size_t)(line - text) + size);
		line = eol + 1;
	}
	audit_log_free_tally(&t);
	CHECK(!t.rows && t.len == 0 && t.cap == 0);
	for (int col = 0; col < AUDIT_TALLY_COLUMNS; col++)
		CHECK(t.total[col] == 0);
	return 0;
}
