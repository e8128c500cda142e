/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log: one JSON object per line for every decision and every
 * finished connection or request, appended to a file the user owns. Values
 * come from the sandbox (host names, paths), so every string is escaped:
 * quotes, backslashes, control bytes and bytes above 0x7e become escapes,
 * which keeps each record one valid line of ASCII. No record ever holds a
 * header value, a query string or a credential's value; callers pass the
 * fields below and nothing else.
 *
 * Records of one loop round are written together, with one write(2) on an
 * O_APPEND descriptor, so concurrent writers never interleave inside a
 * line and a crash loses at most the current round.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

/* A record is at most this long; longer strings are cut. */
#define AUDIT_RECORD_MAX_BYTES 4096
#define AUDIT_STRING_MAX_BYTES 1024
/* Pending bytes beyond this are written at once, not at the round's end. */
#define AUDIT_PENDING_MAX_BYTES 65536

struct out {
	char buf[AUDIT_RECORD_MAX_BYTES];
	size_t len;
	bool first;
};

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (n > sizeof(o->buf) - 2 - o->len)
		n = sizeof(o->buf) - 2 - o->len; /* room for "}\n" */
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_key(struct out *o, const char *key)
{
	if (!o->first)
		out_raw(o, ",", 1);
	o->first = false;
	out_raw(o, "\"", 1);
	out_raw(o, key, strlen(key));
	out_raw(o, "\":", 2);
}

static void out_escaped(struct out *o, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	out_raw(o, "\"", 1);
	for (; *s && n < AUDIT_STRING_MAX_BYTES; s++, n++) {
		unsigned char c = (unsigned char)*s;
		char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

		if (c == '"' || c == '\\') {
			char two[2] = { '\\', (char)c };

			out_raw(o, two, 2);
		} else if (c < 0x20 || c > 0x7e) {
			out_raw(o, esc, sizeof(esc));
		} else {
			out_raw(o, (const char *)&c, 1);
		}
	}
	out_raw(o, "\"", 1);
}

static void out_str(struct out *o, const char *key, const char *v)
{
	if (!v || !*v)
		return;
	out_key(o, key);
	out_escaped(o, v);
}

static void out_num(struct out *o, const char *key, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRId64, v);

	out_key(o, key);
	out_raw(o, num, (size_t)n);
}

static void out_time(struct out *o)
{
	struct timeval tv;
	struct tm tm;
	char ts[64];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000));
	out_str(o, "time", ts);
}

int gw_audit_open(struct gw_audit *a, const char *path)
{
	*a = (struct gw_audit){ .fd = -1 };
	if (!path)
		return 0;
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		     O_NOFOLLOW, 0600);
	if (a->fd < 0) {
		log_error_errno(errno, "cannot open the audit log %s", path);
		return -errno;
	}
	return 0;
}

void gw_audit_write(struct gw_audit *a, const struct gw_record *r)
{
	struct out o = { .first = true };

	if (a->fd < 0)
		return;
	out_raw(&o, "{", 1);
	out_time(&o);
	out_str(&o, "run", r->run);
	out_str(&o, "event", r->event);
	out_str(&o, "proto", r->proto);
	out_str(&o, "client", r->client);
	out_str(&o, "who", r->who);
	out_str(&o, "host", r->host);
	if (r->port)
		out_num(&o, "port", r->port);
	out_str(&o, "sni", r->sni);
	out_str(&o, "method", r->method);
	out_str(&o, "path", r->path);
	out_str(&o, "decision", r->decision);
	out_str(&o, "rule", r->rule);
	out_str(&o, "reason", r->reason);
	out_str(&o, "addr", r->addr);
	out_str(&o, "credential", r->credential);
	out_str(&o, "error", r->error);
	if (r->status)
		out_num(&o, "status", r->status);
	if (r->duration_ms >= 0) {
		out_num(&o, "bytes_up", (int64_t)r->bytes_up);
		out_num(&o, "bytes_down", (int64_t)r->bytes_down);
		out_num(&o, "duration_ms", r->duration_ms);
	}
	o.buf[o.len++] = '}';
	o.buf[o.len++] = '\n';
	if (!buf_append(&a->pending, o.buf, o.len, SIZE_MAX))
		return;
	if (buf_len(&a->pending) >= AUDIT_PENDING_MAX_BYTES)
		gw_audit_flush(a);
}

void gw_audit_flush(struct gw_audit *a)
{
	while (a->fd >= 0 && buf_len(&a->pending)) {
		ssize_t n = write(a->fd, buf_head(&a->pending),
				  buf_len(&a->pending));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_warn_errno(errno, "audit log: write failed; records "
				       "dropped");
			buf_free(&a->pending, false);
			return;
		}
		buf_consume(&a->pending, (size_t)n);
	}
}

void gw_audit_close(struct gw_audit *a)
{
	gw_audit_flush(a);
	buf_free(&a->pending, false);
	if (a->fd >= 0)
		close(a->fd);
	*a = (struct gw_audit){ .fd = -1 };
}
