/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/gateway/http.c: each input is read as a
 * request head, as a response head to GET, HEAD and CONNECT, as request
 * targets and Host values, and as a chunked body (what follows a parsed
 * head, or else the whole input). Beyond memory safety it checks what the
 * gateway's defence against request smuggling rests on: every slice lies
 * inside the head; no bare CR, bare LF, folded line or control byte is
 * accepted; the framing agrees with the Content-Length and
 * Transfer-Encoding fields as read here independently; a head parses the
 * same whatever follows it and whatever prefix of it arrived first; and
 * the chunked scanner ends a body at the same byte however it is split.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/util.h"
#include "gateway/http.h"
#include "fuzz.h"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_digits(struct http_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return s.len > 0;
}

static bool text_ieq(struct http_slice s, const char *lit)
{
	if (s.len != strlen(lit))
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return false;
	}
	return true;
}

static bool slice_inside(struct http_slice s, const char *buf, size_t len)
{
	return s.p >= buf && s.p <= buf + len &&
	       s.len <= len - (size_t)(s.p - buf);
}

/*
 * The element of a comma-separated value that starts at *at, without the
 * spaces and tabs around it; false past the last one. An empty value is
 * one empty element, as it is to the parser.
 */
static bool list_elem(struct http_slice v, size_t *at, struct http_slice *e)
{
	size_t start = *at, end = *at;

	if (start > v.len)
		return false;
	while (end < v.len && v.p[end] != ',')
		end++;
	*at = end + 1;
	while (start < end && is_ws(v.p[start]))
		start++;
	while (end > start && is_ws(v.p[end - 1]))
		end--;
	*e = (struct http_slice){ v.p + start, end - start };
	return true;
}

/* ---- the fields that frame a message, read here on their own ---- */

struct fields {
	int hosts;
	int lengths;        /* Content-Length fields */
	bool length_digits; /* every element of them is digits */
	bool length_agree;  /* and all have one value */
	bool length_seen;
	uint64_t length;
	int codings;        /* Transfer-Encoding fields */
	bool last_chunked;  /* the last coding of the last one */
	bool close;
	bool keep_alive;
	bool expect_continue;
};

/* Decimal value of digits, saturated: an accepted length must fit. */
static uint64_t digits_value(struct http_slice s)
{
	uint64_t v = 0;

	for (size_t i = 0; i < s.len; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return UINT64_MAX;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	return v;
}

static void fields_length(struct fields *f, struct http_slice v)
{
	struct http_slice e;
	size_t at = 0;

	f->lengths++;
	while (list_elem(v, &at, &e)) {
		uint64_t n = digits_value(e);

		if (!is_digits(e))
			f->length_digits = false;
		else if (f->length_seen && n != f->length)
			f->length_agree = false;
		f->length_seen = true;
		f->length = n;
	}
}

static bool list_has(struct http_slice v, const char *token)
{
	struct http_slice e;
	size_t at = 0;

	while (list_elem(v, &at, &e))
		if (text_ieq(e, token))
			return true;
	return false;
}

static void fields_coding(struct fields *f, struct http_slice v)
{
	struct http_slice e;
	size_t at = 0;

	f->codings++;
	while (list_elem(v, &at, &e))
		f->last_chunked = text_ieq(e, "chunked");
}

static void fields_connection(struct fields *f, struct http_slice v)
{
	f->close |= list_has(v, "close");
	f->keep_alive |= list_has(v, "keep-alive");
}

static void fields_read(const struct http_head *h, struct fields *f)
{
	*f = (struct fields){
		.length_digits = true,
		.length_agree = true,
	};
	for (size_t i = 0; i < h->n_headers; i++) {
		struct http_slice n = h->headers[i].name;
		struct http_slice v = h->headers[i].value;

		if (text_ieq(n, "host"))
			f->hosts++;
		else if (text_ieq(n, "content-length"))
			fields_length(f, v);
		else if (text_ieq(n, "transfer-encoding"))
			fields_coding(f, v);
		else if (text_ieq(n, "connection"))
			fields_connection(f, v);
		else if (text_ieq(n, "expect"))
			f->expect_continue |= list_has(v, "100-continue");
	}
}

/* ---- heads ---- */

/*
 * The bytes of an accepted head: CR only before LF, LF only after CR, no
 * line that starts with a space or tab (obs-fold), no control byte but
 * tab in a line, and the blank line at the end.
 */
static void check_head_bytes(const char *buf, size_t n)
{
	CHECK(n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\r')
			CHECK(i + 1 < n && buf[i + 1] == '\n');
		else if (c == '\n')
			CHECK(i > 0 && buf[i - 1] == '\r' &&
			      (i + 1 == n || !is_ws(buf[i + 1])));
		else
			CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
	}
}

static void check_fields(const struct http_head *h, const char *buf)
{
	CHECK(h->n_headers <= HTTP_HEADERS_MAX);
	for (size_t i = 0; i < h->n_headers; i++) {
		struct http_slice n = h->headers[i].name;
		struct http_slice v = h->headers[i].value;

		CHECK(slice_inside(n, buf, h->head_len) && n.len > 0);
		CHECK(slice_inside(v, buf, h->head_len));
		for (size_t k = 0; k < n.len; k++)
			CHECK(is_tchar(n.p[k]));
		CHECK(n.p[n.len] == ':');
		CHECK(v.len == 0 || (!is_ws(v.p[0]) && !is_ws(v.p[v.len - 1])));
		CHECK(!memchr(v.p, '\r', v.len) && !memchr(v.p, '\n', v.len));
		CHECK(http_list_has(v, "chunked") == list_has(v, "chunked"));
		CHECK(http_slice_eq(n, "Host") == text_ieq(n, "host"));
	}
}

/* What every accepted head shares, request or response. */
static void check_head(const struct http_head *h, const char *buf,
		       size_t len, int r)
{
	CHECK(r > 0 && (size_t)r == h->head_len);
	CHECK(h->head_len <= len && h->head_len <= HTTP_HEAD_MAX_BYTES);
	CHECK(h->minor == 0 || h->minor == 1);
	check_head_bytes(buf, h->head_len);
	check_fields(h, buf);
}

static bool same_slice(struct http_slice a, struct http_slice b)
{
	return a.p == b.p && a.len == b.len;
}

static bool same_head(const struct http_head *a, const struct http_head *b)
{
	if (!same_slice(a->method, b->method) ||
	    !same_slice(a->target, b->target) || a->status != b->status ||
	    !same_slice(a->reason, b->reason) || a->minor != b->minor ||
	    a->n_headers != b->n_headers || a->head_len != b->head_len ||
	    a->framing != b->framing ||
	    a->content_length != b->content_length ||
	    a->keep_alive != b->keep_alive ||
	    a->expect_continue != b->expect_continue || a->host != b->host)
		return false;
	for (size_t i = 0; i < a->n_headers; i++)
		if (!same_slice(a->headers[i].name, b->headers[i].name) ||
		    !same_slice(a->headers[i].value, b->headers[i].value))
			return false;
	return true;
}

static void check_request_line(const struct http_head *h, const char *buf)
{
	struct http_slice m = h->method, t = h->target;

	CHECK(slice_inside(m, buf, h->head_len) && m.len > 0);
	CHECK(slice_inside(t, buf, h->head_len) && t.len > 0);
	for (size_t i = 0; i < m.len; i++)
		CHECK(is_tchar(m.p[i]));
	for (size_t i = 0; i < t.len; i++)
		CHECK(t.p[i] > 0x20 && t.p[i] < 0x7f);
	CHECK(t.p == m.p + m.len + 1);
	CHECK(memcmp(t.p + t.len, " HTTP/1.", 8) == 0);
	CHECK(t.p[t.len + 8] == '0' + h->minor);
}

/* The refusals http.h lists, seen from the accepted side. */
static void check_request_framing(const struct http_head *h)
{
	struct fields f;

	fields_read(h, &f);
	CHECK(f.hosts <= 1 && (f.hosts == 1) == (h->host >= 0));
	CHECK(h->minor == 0 || h->host >= 0);
	if (h->host >= 0)
		CHECK(text_ieq(h->headers[h->host].name, "host"));
	CHECK(http_head_find(h, "HOST", 0) == h->host);
	CHECK((http_head_find(h, "content-length", 0) >= 0) == (f.lengths > 0));
	CHECK(!(f.codings > 0 && f.lengths > 0));
	if (f.codings > 0) {
		CHECK(h->minor == 1 && f.last_chunked);
		CHECK(h->framing == HTTP_BODY_CHUNKED);
	} else if (f.lengths > 0) {
		CHECK(f.length_digits && f.length_agree);
		CHECK(h->framing == HTTP_BODY_LENGTH);
		CHECK(h->content_length == f.length);
	} else {
		CHECK(h->framing == HTTP_BODY_NONE);
	}
	CHECK(h->keep_alive ==
	      (!f.close && (h->minor == 1 || f.keep_alive)));
	CHECK(h->expect_continue == f.expect_continue);
}

static bool method_is(struct http_slice m, const char *lit)
{
	return m.len == strlen(lit) && memcmp(m.p, lit, m.len) == 0;
}

/* RFC 9112 section 6.3 in the words of http.h. */
static enum http_framing response_framing(const struct http_head *h,
					  struct http_slice method,
					  const struct fields *f)
{
	bool ok = h->status >= 200 && h->status < 300;

	if (h->status == 101 || (ok && method_is(method, "CONNECT")))
		return HTTP_BODY_TUNNEL;
	if (method_is(method, "HEAD") || h->status < 200 ||
	    h->status == 204 || h->status == 304)
		return HTTP_BODY_NONE;
	if (f->codings > 0)
		return f->last_chunked ? HTTP_BODY_CHUNKED
				       : HTTP_BODY_UNTIL_CLOSE;
	if (f->lengths > 0)
		return HTTP_BODY_LENGTH;
	return HTTP_BODY_UNTIL_CLOSE;
}

static void check_response(const struct http_head *h, const char *buf,
			   struct http_slice method)
{
	struct fields f;

	fields_read(h, &f);
	CHECK(memcmp(buf, "HTTP/1.", 7) == 0 && buf[7] == '0' + h->minor);
	CHECK(buf[8] == ' ' && h->status >= 100 && h->status <= 599);
	CHECK(h->status == (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
				   (buf[11] - '0'));
	CHECK(slice_inside(h->reason, buf, h->head_len));
	CHECK(!(f.codings > 0 && f.lengths > 0));
	CHECK(h->framing == response_framing(h, method, &f));
	if (h->framing == HTTP_BODY_LENGTH) {
		CHECK(f.length_digits && f.length_agree);
		CHECK(h->content_length == f.length);
	}
	CHECK(h->keep_alive ==
	      (!f.close && (h->minor == 1 || f.keep_alive) &&
	       h->framing != HTTP_BODY_UNTIL_CLOSE));
}

/* ---- prefixes: a head parses the same however its bytes arrive ---- */

/* Which parser a head is for: requests, or responses to method. */
struct head_kind {
	bool request;
	struct http_slice method;
};

static int parse_head(const struct head_kind *kind, const char *buf,
		      size_t len, struct http_head *h, const char **why)
{
	if (kind->request)
		return http_parse_request(buf, len, h, why);
	return http_parse_response(buf, len, kind->method, h, why);
}

/*
 * Given the result r on all len bytes, parses the first k bytes from a
 * copy of exactly k bytes, so that a read past them is caught. A prefix
 * shorter than an accepted head is incomplete, a longer one gives the
 * same head, and no prefix of a refused or incomplete head is accepted.
 * A prefix refused while the whole is merely incomplete would make the
 * verdict depend on how the bytes were split into reads.
 */
static void check_prefix(const struct head_kind *kind, const char *buf,
			 int r, size_t k)
{
	_cleanup_free_ struct http_head *h = xmalloc(sizeof(*h));
	_cleanup_free_ char *copy = xmalloc(k ? k : 1);
	const char *why = NULL;
	int rk;

	memcpy(copy, buf, k);
	rk = parse_head(kind, copy, k, h, &why);
	CHECK(rk >= 0 || why != NULL);
	if (r > 0 && k < (size_t)r)
		CHECK(rk == HTTP_INCOMPLETE);
	else if (r > 0)
		CHECK(rk == r && h->head_len == (size_t)r);
	else if (r == HTTP_INCOMPLETE)
		CHECK(rk == HTTP_INCOMPLETE);
	else
		CHECK(rk <= 0);
}

static void check_prefixes(const struct head_kind *kind, const char *buf,
			   size_t len, const struct http_head *h, int r)
{
	const size_t picks[] = { 0, 1, len / 3, len / 2, len - 1, len };
	_cleanup_free_ struct http_head *again = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(picks); i++)
		if (picks[i] <= len)
			check_prefix(kind, buf, r, picks[i]);
	if (r <= 0)
		return;
	check_prefix(kind, buf, r, (size_t)r - 1);

	/* the head alone, in place: the same slices */
	again = xmalloc(sizeof(*again));
	CHECK(parse_head(kind, buf, (size_t)r, again, NULL) == r);
	CHECK(same_head(h, again));
}

/* ---- request targets and Host values ---- */

static bool has_any(struct http_slice s, const char *set)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] && strchr(set, s.p[i]))
			return true;
	return false;
}

/*
 * A split authority (all of in): the host is not empty, holds nothing
 * that ends an authority or starts userinfo, holds a ':' only between
 * brackets, and is followed by nothing or by ':' and the digits of the
 * port; the port is 0 exactly when none was written.
 */
static void check_authority(struct http_slice in, const struct http_target *t,
			    bool port_required)
{
	const char *end = in.p + in.len;
	const char *after = t->host.p + t->host.len;
	bool bracket = t->host.p > in.p && t->host.p[-1] == '[';
	struct http_slice digits;

	CHECK(slice_inside(t->host, in.p, in.len) && t->host.len > 0);
	CHECK(!has_any(t->host, "/?#@[] "));
	CHECK(bracket || !has_any(t->host, ":"));
	CHECK(t->host.p == in.p + bracket);
	if (bracket) {
		CHECK(after < end && *after == ']');
		after++;
	}
	if (t->port == 0) {
		CHECK(!port_required && after == end);
		return;
	}
	CHECK(after < end && *after == ':');
	digits = (struct http_slice){ after + 1, (size_t)(end - after) - 1 };
	CHECK(is_digits(digits) && digits_value(digits) == t->port);
}

static void check_absolute(struct http_slice in, const struct http_target *t)
{
	struct http_slice authority;

	CHECK(text_ieq(t->scheme, "http") || text_ieq(t->scheme, "https"));
	CHECK(t->scheme.p == in.p);
	CHECK(memcmp(t->scheme.p + t->scheme.len, "://", 3) == 0);
	CHECK(!memchr(in.p, '#', in.len));
	CHECK(slice_inside(t->path, in.p, in.len));
	CHECK(t->path.p + t->path.len == in.p + in.len);
	CHECK(t->path.len == 0 || t->path.p[0] == '/' || t->path.p[0] == '?');

	authority.p = t->scheme.p + t->scheme.len + 3;
	authority.len = (size_t)(t->path.p - authority.p);
	check_authority(authority, t, false);
}

/*
 * Each of the three forms on a copy of s of its own size, so that a read
 * past it is caught; what is accepted must be well split.
 */
static void fuzz_target(struct http_slice s)
{
	_cleanup_free_ char *copy = xmalloc(s.len ? s.len : 1);
	struct http_slice in = { copy, s.len };
	struct http_target t;
	const char *why;

	memcpy(copy, s.p, s.len);
	why = NULL;
	if (http_parse_absolute(in, &t, &why) == 0)
		check_absolute(in, &t);
	else
		CHECK(why != NULL);

	why = NULL;
	if (http_parse_authority(in, &t, &why) == 0)
		check_authority(in, &t, true);
	else
		CHECK(why != NULL);

	why = NULL;
	if (http_parse_host_header(in, &t, &why) == 0)
		check_authority(in, &t, false);
	else
		CHECK(why != NULL);
}

/* ---- chunked bodies ---- */

/* Offset just past the CRLF of the line at buf[at], or 0 if none ends it. */
static size_t line_end(const char *buf, size_t len, size_t at)
{
	for (size_t i = at; i < len; i++) {
		if (buf[i] == '\n')
			return 0;
		if (buf[i] == '\r')
			return i + 1 < len && buf[i + 1] == '\n' ? i + 2 : 0;
	}
	return 0;
}

/* A chunk-size line from buf[*at]: hex digits, then anything to CRLF. */
static uint64_t chunk_size_line(const char *buf, size_t end, size_t *at)
{
	uint64_t size = 0;
	size_t i = *at;

	CHECK(i < end && hex_value(buf[i]) >= 0);
	for (; i < end && hex_value(buf[i]) >= 0; i++) {
		CHECK(size <= ((uint64_t)1 << 62) / 16);
		size = size * 16 + (uint64_t)hex_value(buf[i]);
	}
	*at = line_end(buf, end, i);
	CHECK(*at != 0);
	return size;
}

/*
 * A body the scanner ended at end, walked here on its own: chunks of the
 * size their lines give, each followed by CRLF, the last chunk, trailer
 * lines, and the empty line as the last two bytes.
 */
static void check_chunked_body(const char *buf, size_t end)
{
	size_t at = 0, next;
	uint64_t size;

	for (;;) {
		size = chunk_size_line(buf, end, &at);
		if (size == 0)
			break;
		CHECK(end - at >= 2 && size <= end - at - 2);
		at += size;
		CHECK(buf[at] == '\r' && buf[at + 1] == '\n');
		at += 2;
	}

	while ((next = line_end(buf, end, at)) != at + 2) {
		CHECK(next != 0);
		CHECK(memchr(buf + at, ':', next - at));
		at = next;
	}
	CHECK(next == end);
}

/* Scans buf in two calls, each piece in a copy of its own size. */
static ssize_t scan_split(const char *buf, size_t len, size_t k, bool *done)
{
	_cleanup_free_ char *a = xmalloc(k ? k : 1);
	_cleanup_free_ char *b = xmalloc(len - k ? len - k : 1);
	struct http_chunked c = { 0 };
	ssize_t n, m;

	memcpy(a, buf, k);
	memcpy(b, buf + k, len - k);
	n = http_chunked_scan(&c, a, k, done);
	if (n < 0 || *done)
		return n;
	CHECK((size_t)n == k);
	m = http_chunked_scan(&c, b, len - k, done);
	return m < 0 ? m : n + m;
}

static ssize_t scan_bytewise(const char *buf, size_t len, bool *done)
{
	_cleanup_free_ char *one = xmalloc(1);
	struct http_chunked c = { 0 };
	size_t i;

	*done = false;
	for (i = 0; i < len && !*done; i++) {
		ssize_t r;

		one[0] = buf[i];
		r = http_chunked_scan(&c, one, 1, done);
		if (r < 0)
			return r;
		CHECK(r == 1);
	}
	return (ssize_t)i;
}

/* After the end or an error, the scanner stays where it is. */
static void check_scan_settled(struct http_chunked *c, ssize_t r)
{
	bool done = false;
	ssize_t again = http_chunked_scan(c, "0\r\n\r\n", 5, &done);

	if (r < 0)
		CHECK(again < 0);
	else
		CHECK(again == 0 && done);
}

static void fuzz_chunked(const char *buf, size_t len, size_t split)
{
	struct http_chunked c = { 0 };
	bool done = false, done2 = false;
	ssize_t r, r2;

	r = http_chunked_scan(&c, buf, len, &done);
	CHECK(r < 0 ? r == HTTP_ERR_SYNTAX : (size_t)r <= len);
	CHECK(r < 0 || (size_t)r == len || done);
	if (done)
		check_chunked_body(buf, (size_t)r);
	if (r < 0 || done)
		check_scan_settled(&c, r);

	r2 = scan_split(buf, len, split, &done2);
	CHECK(r < 0 ? r2 < 0 : r2 == r && done2 == done);
	r2 = scan_bytewise(buf, len, &done2);
	CHECK(r < 0 ? r2 < 0 : r2 == r && done2 == done);
}

/* ---- the input in every role ---- */

/* The input up to its first space or line end, as a target might be. */
static struct http_slice first_word(const char *buf, size_t len)
{
	size_t n = 0;

	while (n < len && buf[n] != ' ' && buf[n] != '\r' && buf[n] != '\n')
		n++;
	return (struct http_slice){ buf, n };
}

static void fuzz_request(const char *buf, size_t len, size_t *body)
{
	const struct head_kind kind = { .request = true };
	_cleanup_free_ struct http_head *h = xmalloc(sizeof(*h));
	const char *why = NULL;
	int r;

	r = http_parse_request(buf, len, h, &why);
	CHECK(r >= 0 || why != NULL);
	CHECK(r != HTTP_INCOMPLETE || len < HTTP_HEAD_MAX_BYTES);
	check_prefixes(&kind, buf, len, h, r);
	if (r <= 0)
		return;

	check_head(h, buf, len, r);
	check_request_line(h, buf);
	check_request_framing(h);
	fuzz_target(h->target);
	if (h->host >= 0)
		fuzz_target(h->headers[h->host].value);
	*body = (size_t)r;
}

/* The same head as an answer to each method: one verdict for all. */
static void fuzz_response(const char *buf, size_t len, size_t *body)
{
	static const char *const methods[] = { "GET", "HEAD", "CONNECT" };
	_cleanup_free_ struct http_head *h = xmalloc(sizeof(*h));
	int first = 0;

	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		const struct head_kind kind = {
			.method = { methods[i], strlen(methods[i]) },
		};
		const char *why = NULL;
		int r = http_parse_response(buf, len, kind.method, h, &why);

		CHECK(r >= 0 || why != NULL);
		CHECK(i == 0 || r == first);
		first = r;
		check_prefixes(&kind, buf, len, h, r);
		if (r <= 0)
			continue;
		check_head(h, buf, len, r);
		check_response(h, buf, kind.method);
		*body = (size_t)r;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t body = 0, split;

	fuzz_request(buf, size, &body);
	fuzz_response(buf, size, &body);
	fuzz_target(first_word(buf, size));

	/* the split point comes from the bytes, so that it moves with them */
	split = 0;
	if (size > body)
		split = (data[size - 1] * 257u + size) % (size - body + 1);
	fuzz_chunked(buf + body, size - body, split);
	return 0;
}
