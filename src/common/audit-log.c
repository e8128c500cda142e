/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log's records as a reader sees them. Their strings were chosen
 * inside the sandbox (host names, paths, methods), and a log kept where
 * the sandbox can write may hold anything at all, so each value is
 * type-checked here and escaped (control bytes, backslashes, non-ASCII)
 * before it becomes part of a line meant for a terminal.
 */
#include "config.h"

#include "common/audit-log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* Widths of the aligned columns of a readable line, in characters. */
#define AUDIT_TIME_WIDTH 19    /* "2026-12-04 07:01:02" */
#define AUDIT_EVENT_WIDTH 7    /* "request" */
#define AUDIT_PROTO_WIDTH 7    /* "connect", "capture" */
#define AUDIT_TARGET_WIDTH 24
#define AUDIT_COLUMN_GAP "  "

#define AUDIT_PORT_MAX 65535
#define AUDIT_STATUS_MAX 999

/* ---- the fields of a record ---- */

enum field_type {
	FIELD_STRING,
	FIELD_WHOLE, /* a whole number from 0 to .max */
};

static const struct audit_field {
	const char *key;
	enum field_type type;
	size_t offset; /* in struct audit_record */
	int64_t max;
	bool required;
} audit_fields[] = {
#define STRING(k, req) \
	{ #k, FIELD_STRING, offsetof(struct audit_record, k), 0, req }
#define WHOLE(k, m) \
	{ #k, FIELD_WHOLE, offsetof(struct audit_record, k), m, false }
	STRING(time, true),
	STRING(run, false),
	STRING(event, true),
	STRING(proto, false),
	STRING(client, false),
	STRING(who, false),
	STRING(host, false),
	WHOLE(port, AUDIT_PORT_MAX),
	STRING(sni, false),
	STRING(method, false),
	STRING(path, false),
	STRING(decision, false),
	STRING(rule, false),
	STRING(reason, false),
	STRING(addr, false),
	STRING(credential, false),
	STRING(error, false),
	WHOLE(status, AUDIT_STATUS_MAX),
	WHOLE(bytes_up, INT64_MAX),
	WHOLE(bytes_down, INT64_MAX),
	WHOLE(duration_ms, INT64_MAX),
#undef STRING
#undef WHOLE
};

/*
 * The members are reached through the tables' offsets; memcpy keeps this
 * free of casts that change alignment or drop const.
 */
static const char *record_string(const struct audit_record *r, size_t offset)
{
	const char *s;

	memcpy(&s, (const char *)r + offset, sizeof(s));
	return s;
}

static int64_t record_whole(const struct audit_record *r, size_t offset)
{
	int64_t n;

	memcpy(&n, (const char *)r + offset, sizeof(n));
	return n;
}

static int field_read(const struct audit_field *f, const json_t *v,
		      struct audit_record *r, char *why, size_t why_size)
{
	const char *s;
	json_int_t n;
	int64_t whole;

	if (f->type == FIELD_STRING) {
		if (!json_is_string(v)) {
			snprintf(why, why_size, "\"%s\": expected a string",
				 f->key);
			return -EINVAL;
		}
		s = json_string_value(v);
		memcpy((char *)r + f->offset, &s, sizeof(s));
		return 0;
	}
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n < 0 || n > f->max) {
		snprintf(why, why_size, "\"%s\": expected a whole number from "
			 "0 to %" PRId64, f->key, f->max);
		return -EINVAL;
	}
	whole = n;
	memcpy((char *)r + f->offset, &whole, sizeof(whole));
	return 0;
}

/* ---- a line under construction ---- */

/* buf[len] is always '\0' and len < size; what does not fit is cut. */
struct line {
	char *buf;
	size_t size;
	size_t len;
};

static void line_add(struct line *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void line_add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, l->size - l->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len >= l->size)
		l->len = l->size - 1;
}

/*
 * True when s fits in room bytes (its NUL included) once escaped the way
 * log_sanitize escapes it: a control byte, a backslash or a non-ASCII
 * byte takes the four of \xHH, any other byte one.
 */
static bool clean_fits(const char *s, size_t room)
{
	size_t need = 1;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		need += c >= 0x20 && c < 0x7f && c != '\\' ? 1 : 4;
		if (need > room)
			return false;
	}
	return true;
}

/*
 * Appends s escaped for a terminal, or "-" when it is NULL. A value cut
 * short ends the line, so that a cut line is the start of the whole one:
 * log_sanitize leaves out an escape that does not fit, and text added
 * after it would make the shortened value read as complete.
 */
static void line_add_clean(struct line *l, const char *s)
{
	bool fits = clean_fits(s ? s : "-", l->size - l->len);

	log_sanitize(l->buf + l->len, l->size - l->len, s ? s : "-");
	l->len += strlen(l->buf + l->len);
	if (!fits)
		l->size = l->len + 1;
}

/* Pads the cell that began at start to width, then adds the gap. */
static void line_end_cell(struct line *l, size_t start, size_t width)
{
	size_t used = l->len - start;

	line_add(l, "%*s" AUDIT_COLUMN_GAP, used < width ?
		 (int)(width - used) : 0, "");
}

static void line_add_cell(struct line *l, const char *s, size_t width)
{
	size_t start = l->len;

	line_add_clean(l, s);
	line_end_cell(l, start, width);
}

static void line_add_target(struct line *l, const char *host, int64_t port)
{
	bool bracket = host && strchr(host, ':') && host[0] != '[';

	if (bracket)
		line_add(l, "[");
	line_add_clean(l, host);
	if (bracket)
		line_add(l, "]");
	if (port >= 0)
		line_add(l, ":%" PRId64, port);
}

/* "2026-12-04T07:01:02.123Z" reads as "2026-12-04 07:01:02". */
static void line_add_time(struct line *l, const char *time)
{
	char short_time[AUDIT_TIME_WIDTH + 1];

	if (!time || strlen(time) < AUDIT_TIME_WIDTH || time[10] != 'T') {
		line_add_clean(l, time);
		return;
	}
	memcpy(short_time, time, AUDIT_TIME_WIDTH);
	short_time[10] = ' ';
	short_time[AUDIT_TIME_WIDTH] = '\0';
	line_add_clean(l, short_time);
}

/* ---- the details after the columns ---- */

/* Shown after method and path when present, in this order. */
static const struct audit_detail {
	const char *label; /* NULL: the value alone */
	size_t offset;     /* in struct audit_record */
	bool whole;
	const char *unit;
} audit_details[] = {
	{ NULL, offsetof(struct audit_record, reason), false, NULL },
	{ "status=", offsetof(struct audit_record, status), true, "" },
	{ "up=", offsetof(struct audit_record, bytes_up), true, "" },
	{ "down=", offsetof(struct audit_record, bytes_down), true, "" },
	{ "", offsetof(struct audit_record, duration_ms), true, "ms" },
	{ "rule=", offsetof(struct audit_record, rule), false, NULL },
	{ "credential=", offsetof(struct audit_record, credential), false,
	  NULL },
	{ "who=", offsetof(struct audit_record, who), false, NULL },
	{ "addr=", offsetof(struct audit_record, addr), false, NULL },
	{ "error=", offsetof(struct audit_record, error), false, NULL },
};

/* Appends one detail when r has it; the first one gets no gap before it. */
static void line_add_detail(struct line *l, const struct audit_detail *d,
			    const struct audit_record *r, bool *first)
{
	const char *gap = *first ? "" : AUDIT_COLUMN_GAP;
	int64_t n;

	if (d->whole) {
		n = record_whole(r, d->offset);
		if (n < 0)
			return;
		line_add(l, "%s%s%" PRId64 "%s", gap, d->label, n, d->unit);
	} else {
		if (!record_string(r, d->offset))
			return;
		line_add(l, "%s%s", gap, d->label ? d->label : "");
		line_add_clean(l, record_string(r, d->offset));
	}
	*first = false;
}

/* ---- the summary ---- */

/* Which count an event adds to; the bytes are added for every record. */
static const struct tally_rule {
	const char *event;
	const char *decision; /* NULL: any */
	enum audit_tally_column column;
} tally_rules[] = {
	{ "allow", NULL, AUDIT_TALLY_CONNECTIONS },
	{ "request", NULL, AUDIT_TALLY_REQUESTS },
	{ "deny", NULL, AUDIT_TALLY_DENIED },
	{ "dns", "deny", AUDIT_TALLY_DENIED },
};

static const struct tally_rule *tally_rule_of(const struct audit_record *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(tally_rules); i++) {
		const struct tally_rule *t = &tally_rules[i];

		if (!r->event || !streq(r->event, t->event))
			continue;
		if (t->decision && (!r->decision ||
				    !streq(r->decision, t->decision)))
			continue;
		return t;
	}
	return NULL;
}

static int tally_compare(const char *host, int64_t port,
			 const struct audit_tally_row *row)
{
	int c = strcmp(host, row->host);

	if (c != 0)
		return c;
	return (port > row->port) - (port < row->port);
}

/* The row of host and port, inserted at its sorted place when new. */
static struct audit_tally_row *tally_row(struct audit_tally *t,
					 const char *host, int64_t port)
{
	size_t lo = 0, hi = t->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = tally_compare(host, port, &t->rows[mid]);

		if (c == 0)
			return &t->rows[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (t->len == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->rows = xreallocarray(t->rows, t->cap, sizeof(*t->rows));
	}
	memmove(&t->rows[lo + 1], &t->rows[lo],
		(t->len - lo) * sizeof(*t->rows));
	t->len++;
	t->rows[lo] = (struct audit_tally_row){
		.host = xstrdup(host),
		.port = port,
	};
	return &t->rows[lo];
}

static void tally_add(struct audit_tally *t, struct audit_tally_row *row,
		      enum audit_tally_column column, uint64_t n)
{
	row->count[column] += n;
	t->total[column] += n;
}

/* ---- exported ---- */

int audit_log_parse_record(const json_t *obj, struct audit_record *r,
			   char *why, size_t why_size)
{
	*r = (struct audit_record){
		.port = -1, .status = -1, .bytes_up = -1, .bytes_down = -1,
		.duration_ms = -1,
	};
	if (why_size)
		why[0] = '\0';

	if (!json_is_object(obj)) {
		snprintf(why, why_size, "not a JSON object");
		return -EINVAL;
	}
	for (size_t i = 0; i < ARRAY_SIZE(audit_fields); i++) {
		const struct audit_field *f = &audit_fields[i];
		const json_t *v = json_object_get(obj, f->key);

		if (!v && f->required) {
			snprintf(why, why_size, "no \"%s\"", f->key);
			return -EINVAL;
		}
		if (v && field_read(f, v, r, why, why_size) < 0)
			return -EINVAL;
	}
	return 0;
}

void audit_log_format_target(const char *host, int64_t port, char *buf,
			     size_t size)
{
	struct line l = { .buf = buf, .size = size };

	if (size == 0)
		return;
	buf[0] = '\0';
	line_add_target(&l, host, port);
}

void audit_log_format_record(const struct audit_record *r, char *buf,
			     size_t size)
{
	struct line l = { .buf = buf, .size = size };
	bool first = true;
	size_t start, target_end;

	if (size == 0)
		return;
	buf[0] = '\0';

	line_add_time(&l, r->time);
	line_end_cell(&l, 0, AUDIT_TIME_WIDTH);
	line_add_cell(&l, r->event, AUDIT_EVENT_WIDTH);
	line_add_cell(&l, r->proto, AUDIT_PROTO_WIDTH);
	start = l.len;
	line_add_target(&l, r->host, r->port);
	target_end = l.len;
	line_end_cell(&l, start, AUDIT_TARGET_WIDTH);

	if (r->method || r->path) {
		line_add_clean(&l, r->method);
		line_add(&l, " ");
		line_add_clean(&l, r->path);
		first = false;
	}
	for (size_t i = 0; i < ARRAY_SIZE(audit_details); i++)
		line_add_detail(&l, &audit_details[i], r, &first);
	if (first) {
		/* nothing after the target: no padding at the end */
		l.len = target_end;
		l.buf[l.len] = '\0';
	}
}

void audit_log_tally_record(struct audit_tally *t,
			    const struct audit_record *r)
{
	const struct tally_rule *rule = tally_rule_of(r);
	bool has_bytes = r->bytes_up >= 0 || r->bytes_down >= 0;
	struct audit_tally_row *row;

	if (!rule && !has_bytes)
		return;
	row = tally_row(t, r->host ? r->host : "", r->port);
	if (rule)
		tally_add(t, row, rule->column, 1);
	if (r->bytes_up > 0)
		tally_add(t, row, AUDIT_TALLY_BYTES_UP, (uint64_t)r->bytes_up);
	if (r->bytes_down > 0)
		tally_add(t, row, AUDIT_TALLY_BYTES_DOWN,
			  (uint64_t)r->bytes_down);
}

void audit_log_free_tally(struct audit_tally *t)
{
	for (size_t i = 0; i < t->len; i++)
		free(t->rows[i].host);
	free(t->rows);
	*t = (struct audit_tally){ 0 };
}
