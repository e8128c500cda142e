/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x heads, request targets and chunked bodies (RFC 9110, RFC 9112).
 * Requests come from the sandbox and responses from servers the policy
 * allowed, so every byte here is untrusted. The head parser makes one
 * pass over the bytes with a class table, copies nothing and stops at the
 * first byte that a server could read differently from us: where the RFC
 * lets a recipient choose between accepting and refusing, it refuses.
 */
#include "config.h"

#include "gateway/http.h"

#include <string.h>

/* Empty lines tolerated before a request line (RFC 9112 section 2.2). */
#define BLANK_LINES_MAX 2
/* 19 digits always fit in 64 bits; longer values are refused unread. */
#define CONTENT_LENGTH_MAX_DIGITS 19
#define PORT_MAX_DIGITS 5
#define CHUNK_SIZE_MAX ((uint64_t)1 << 62)

/* Byte classes, from the ABNF of RFC 9110 section 5.6 and RFC 3986. */
#define C_TCHAR 0x01  /* token character */
#define C_FIELD 0x02  /* field-vchar: VCHAR and obs-text */
#define C_WS 0x04     /* SP and HTAB */
#define C_VCHAR 0x08  /* visible ASCII, the bytes of a request target */
#define C_REGNAME 0x10 /* reg-name of a URI host: unreserved, sub-delims, % */

static const uint8_t http_class[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20  SP !  "  #  $  %  &  '  (  )  *  +  ,  -  .  / */
	0x04, 0x1b, 0x0a, 0x0b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1a, 0x1a, 0x1b, 0x1b, 0x1a, 0x1b, 0x1b, 0x0a,
	/* 0x30  0-9 : ; < = > ? */
	0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1b, 0x1b, 0x0a, 0x1a, 0x0a, 0x1a, 0x0a, 0x0a,
	/* 0x40  @ A-O */
	0x0a, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	/* 0x50  P-Z [ \ ] ^ _ */
	0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1b, 0x1b, 0x1b, 0x0a, 0x0a, 0x0a, 0x0b, 0x1b,
	/* 0x60  ` a-o */
	0x0b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	/* 0x70  p-z { | } ~ DEL */
	0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b, 0x1b,
	0x1b, 0x1b, 0x1b, 0x0a, 0x0b, 0x0a, 0x1b, 0,
	/* 0x80 - 0xff: obs-text */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

static bool byte_is(char c, uint8_t mask)
{
	return (http_class[(unsigned char)c] & mask) != 0;
}

static bool all_are(struct http_slice s, uint8_t mask)
{
	for (size_t i = 0; i < s.len; i++)
		if (!byte_is(s.p[i], mask))
			return false;
	return true;
}

static int fail(const char **why, int err, const char *text)
{
	if (why)
		*why = text;
	return err;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_ieq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

static struct http_slice slice_trim(const char *p, size_t len)
{
	while (len > 0 && byte_is(*p, C_WS)) {
		p++;
		len--;
	}
	while (len > 0 && byte_is(p[len - 1], C_WS))
		len--;
	return (struct http_slice){ p, len };
}

/*
 * Next element of a comma-separated list, trimmed; empty elements are
 * returned too, so that callers that must refuse them can. rest->p is
 * NULL once the list is exhausted.
 */
static bool list_next(struct http_slice *rest, struct http_slice *elem)
{
	const char *comma;
	size_t n;

	if (!rest->p)
		return false;
	comma = memchr(rest->p, ',', rest->len);
	n = comma ? (size_t)(comma - rest->p) : rest->len;
	*elem = slice_trim(rest->p, n);
	if (comma) {
		rest->p = comma + 1;
		rest->len -= n + 1;
	} else {
		rest->p = NULL;
		rest->len = 0;
	}
	return true;
}

/* Decimal digits only, 1 to max_digits of them. */
static int digits_parse(struct http_slice s, size_t max_digits, uint64_t *out)
{
	uint64_t v = 0;

	if (s.len == 0 || s.len > max_digits)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	*out = v;
	return 0;
}

/* ---- heads ---- */

/* Internal step result besides HTTP_INCOMPLETE and the negative errors. */
#define STEP_OK 1

struct head_parser {
	const char *buf;
	size_t pos;
	size_t end;  /* the bytes that may belong to the head */
	bool capped; /* end was cut at HTTP_HEAD_MAX_BYTES */
	bool request;
	struct http_head *h;
	const char **why;

	bool cl_seen;
	bool te_seen;
	bool te_chunked;      /* chunked appears in the list */
	bool te_last_chunked; /* and is its last coding */
	bool conn_close;
	bool conn_keep_alive;
};

static int head_more(struct head_parser *p)
{
	if (p->capped)
		return fail(p->why, HTTP_ERR_TOO_LARGE,
			    "head larger than HTTP_HEAD_MAX_BYTES");
	return HTTP_INCOMPLETE;
}

static int head_fail(struct head_parser *p, int err, const char *text)
{
	return fail(p->why, err, text);
}

static size_t head_scan(const struct head_parser *p, size_t from,
			uint8_t mask)
{
	while (from < p->end && byte_is(p->buf[from], mask))
		from++;
	return from;
}

/*
 * Expects CRLF at p->pos, with what naming the offence when another byte
 * stands there. A CR not followed by LF is a syntax error, like a bare LF:
 * both are line ends to some servers and not to others.
 */
static int head_crlf(struct head_parser *p, const char *what)
{
	if (p->pos >= p->end)
		return head_more(p);
	if (p->buf[p->pos] == '\n')
		return head_fail(p, HTTP_ERR_SYNTAX, "bare LF");
	if (p->buf[p->pos] != '\r')
		return head_fail(p, HTTP_ERR_SYNTAX, what);
	if (p->pos + 1 >= p->end)
		return head_more(p);
	if (p->buf[p->pos + 1] != '\n')
		return head_fail(p, HTTP_ERR_SYNTAX, "bare CR");
	p->pos += 2;
	return STEP_OK;
}

static int head_expect_sp(struct head_parser *p, size_t at, const char *what)
{
	if (at >= p->end)
		return head_more(p);
	if (p->buf[at] != ' ')
		return head_fail(p, HTTP_ERR_SYNTAX, what);
	p->pos = at + 1;
	return STEP_OK;
}

/* "HTTP/" DIGIT "." DIGIT, of which only 1.0 and 1.1 are served. */
static int head_version(struct head_parser *p)
{
	static const char name[] = "HTTP/";
	const char *s = p->buf + p->pos;
	size_t avail = p->end - p->pos;

	for (size_t i = 0; i < 8 && i < avail; i++) {
		bool ok;

		if (i < 5)
			ok = s[i] == name[i];
		else if (i == 6)
			ok = s[i] == '.';
		else
			ok = s[i] >= '0' && s[i] <= '9';
		if (!ok)
			return head_fail(p, HTTP_ERR_SYNTAX,
					 "malformed HTTP version");
	}
	if (avail < 8)
		return head_more(p);
	if (s[5] != '1' || s[7] > '1')
		return head_fail(p, HTTP_ERR_VERSION,
				 "only HTTP/1.0 and HTTP/1.1 are served");
	p->h->minor = s[7] - '0';
	p->pos += 8;
	return STEP_OK;
}

static int head_skip_blank_lines(struct head_parser *p)
{
	for (int i = 0; i < BLANK_LINES_MAX; i++) {
		int r;

		if (p->pos >= p->end)
			return head_more(p);
		if (p->buf[p->pos] != '\r' && p->buf[p->pos] != '\n')
			break;
		r = head_crlf(p, "");
		if (r != STEP_OK)
			return r;
	}
	return STEP_OK;
}

static int head_request_line(struct head_parser *p)
{
	struct http_head *h = p->h;
	size_t end;
	int r;

	r = head_skip_blank_lines(p);
	if (r != STEP_OK)
		return r;

	end = head_scan(p, p->pos, C_TCHAR);
	if (end == p->pos && end < p->end)
		return head_fail(p, HTTP_ERR_SYNTAX, "method is not a token");
	h->method = (struct http_slice){ p->buf + p->pos, end - p->pos };
	r = head_expect_sp(p, end, "method is not a token");
	if (r != STEP_OK)
		return r;

	end = head_scan(p, p->pos, C_VCHAR);
	if (end == p->pos && end < p->end)
		return head_fail(p, HTTP_ERR_SYNTAX, "empty request target");
	h->target = (struct http_slice){ p->buf + p->pos, end - p->pos };
	r = head_expect_sp(p, end,
			   "request target holds a control byte or non-ASCII");
	if (r != STEP_OK)
		return r;

	r = head_version(p);
	if (r != STEP_OK)
		return r;
	return head_crlf(p, "junk after the HTTP version");
}

static int head_status_line(struct head_parser *p)
{
	struct http_head *h = p->h;
	const char *s;
	size_t end;
	int r;

	r = head_version(p);
	if (r != STEP_OK)
		return r;
	r = head_expect_sp(p, p->pos, "no space after the HTTP version");
	if (r != STEP_OK)
		return r;

	s = p->buf + p->pos;
	for (size_t i = 0; i < 3; i++) {
		if (p->pos + i >= p->end)
			return head_more(p);
		if (s[i] < '0' || s[i] > '9' ||
		    (i == 0 && (s[i] == '0' || s[i] > '5')))
			return head_fail(p, HTTP_ERR_SYNTAX,
					 "status code is not 100 to 599");
	}
	h->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	p->pos += 3;

	h->reason = (struct http_slice){ p->buf + p->pos, 0 };
	if (p->pos < p->end && p->buf[p->pos] == ' ') {
		p->pos++;
		end = head_scan(p, p->pos, C_FIELD | C_WS);
		h->reason = (struct http_slice){ p->buf + p->pos,
						 end - p->pos };
		p->pos = end;
	}
	return head_crlf(p, "malformed status line");
}

/* A list of equal lengths ("5, 5") is one length (RFC 9110 8.6). */
static int head_content_length(struct head_parser *p, struct http_slice v)
{
	struct http_slice rest = v, e;
	uint64_t n;

	while (list_next(&rest, &e)) {
		if (digits_parse(e, CONTENT_LENGTH_MAX_DIGITS, &n) < 0)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "Content-Length is not 1 to 19 digits");
		if (p->cl_seen && n != p->h->content_length)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "Content-Length values disagree");
		p->cl_seen = true;
		p->h->content_length = n;
	}
	return STEP_OK;
}

/*
 * Transfer codings are single tokens here: parameters are allowed by the
 * grammar but no coding that a server applies to a body takes any, and a
 * quoted parameter would hide commas from the list split.
 */
static int head_transfer_encoding(struct head_parser *p, struct http_slice v)
{
	struct http_slice rest = v, e;

	p->te_seen = true;
	while (list_next(&rest, &e)) {
		if (e.len == 0 || !all_are(e, C_TCHAR))
			return head_fail(p, HTTP_ERR_FRAMING,
					 "Transfer-Encoding is not a list of "
					 "codings");
		p->te_last_chunked = http_slice_eq(e, "chunked");
		if (p->te_last_chunked && p->te_chunked)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "chunked applied twice");
		p->te_chunked |= p->te_last_chunked;
	}
	return STEP_OK;
}

/* Applies what the fields with a meaning to the gateway say. */
static int head_note_field(struct head_parser *p, size_t index)
{
	const struct http_header *f = &p->h->headers[index];

	switch (f->name.len) {
	case 4:
		if (!p->request || !http_slice_eq(f->name, "host"))
			break;
		if (p->h->host >= 0)
			return head_fail(p, HTTP_ERR_SYNTAX,
					 "more than one Host");
		p->h->host = (int)index;
		break;
	case 6:
		if (p->request && http_slice_eq(f->name, "expect") &&
		    http_list_has(f->value, "100-continue"))
			p->h->expect_continue = true;
		break;
	case 10:
		if (!http_slice_eq(f->name, "connection"))
			break;
		p->conn_close |= http_list_has(f->value, "close");
		p->conn_keep_alive |= http_list_has(f->value, "keep-alive");
		break;
	case 14:
		if (http_slice_eq(f->name, "content-length"))
			return head_content_length(p, f->value);
		break;
	case 17:
		if (http_slice_eq(f->name, "transfer-encoding"))
			return head_transfer_encoding(p, f->value);
		break;
	}
	return STEP_OK;
}

static int head_field_name_error(struct head_parser *p, size_t at)
{
	char c = p->buf[at];

	if (at == p->pos && byte_is(c, C_WS))
		return head_fail(p, HTTP_ERR_SYNTAX,
				 "line folding (obs-fold) is refused");
	if (byte_is(c, C_WS))
		return head_fail(p, HTTP_ERR_SYNTAX,
				 "whitespace between field name and colon");
	if (c == ':')
		return head_fail(p, HTTP_ERR_SYNTAX, "empty field name");
	return head_fail(p, HTTP_ERR_SYNTAX, "field name is not a token");
}

/* name ":" OWS value OWS CRLF, the value trimmed. */
static int head_field(struct head_parser *p, struct http_header *f)
{
	size_t name_end, v;
	int r;

	name_end = head_scan(p, p->pos, C_TCHAR);
	if (name_end >= p->end)
		return head_more(p);
	if (name_end == p->pos || p->buf[name_end] != ':')
		return head_field_name_error(p, name_end);
	f->name = (struct http_slice){ p->buf + p->pos, name_end - p->pos };

	v = head_scan(p, name_end + 1, C_WS);
	p->pos = head_scan(p, v, C_FIELD | C_WS);
	r = head_crlf(p, "control byte in a field value");
	if (r != STEP_OK)
		return r;
	f->value = slice_trim(p->buf + v, p->pos - 2 - v);
	return STEP_OK;
}

static int head_fields(struct head_parser *p)
{
	struct http_head *h = p->h;

	for (;;) {
		int r;

		if (p->pos >= p->end)
			return head_more(p);
		if (p->buf[p->pos] == '\r' || p->buf[p->pos] == '\n')
			return head_crlf(p, "");
		if (h->n_headers == HTTP_HEADERS_MAX)
			return head_fail(p, HTTP_ERR_TOO_LARGE,
					 "more than HTTP_HEADERS_MAX fields");
		r = head_field(p, &h->headers[h->n_headers]);
		if (r != STEP_OK)
			return r;
		h->n_headers++;
		r = head_note_field(p, h->n_headers - 1);
		if (r != STEP_OK)
			return r;
	}
}

static void head_keep_alive(struct head_parser *p)
{
	struct http_head *h = p->h;

	h->keep_alive = h->minor == 1;
	if (p->conn_keep_alive)
		h->keep_alive = true;
	if (p->conn_close || h->framing == HTTP_BODY_UNTIL_CLOSE)
		h->keep_alive = false;
}

static int head_request_framing(struct head_parser *p)
{
	struct http_head *h = p->h;

	if (h->minor == 1 && h->host < 0)
		return head_fail(p, HTTP_ERR_SYNTAX,
				 "HTTP/1.1 request without Host");
	h->framing = HTTP_BODY_NONE;
	if (p->te_seen) {
		if (h->minor == 0)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "Transfer-Encoding in HTTP/1.0");
		if (p->cl_seen)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "both Transfer-Encoding and "
					 "Content-Length");
		if (!p->te_last_chunked)
			return head_fail(p, HTTP_ERR_FRAMING,
					 "last transfer coding is not chunked");
		h->framing = HTTP_BODY_CHUNKED;
	} else if (p->cl_seen) {
		h->framing = HTTP_BODY_LENGTH;
	}
	return STEP_OK;
}

/* Methods are case-sensitive (RFC 9110 section 9.1): "head" is not HEAD. */
static bool method_is(struct http_slice m, const char *lit)
{
	size_t n = strlen(lit);

	return m.len == n && memcmp(m.p, lit, n) == 0;
}

/*
 * RFC 9112 section 6.3, in its order. A Transfer-Encoding in an HTTP/1.0
 * response is refused rather than read until close: such a server is
 * broken in a way that no client should have to guess about.
 */
static int head_response_framing(struct head_parser *p,
				 struct http_slice method)
{
	struct http_head *h = p->h;
	bool ok = h->status >= 200 && h->status < 300;

	if (p->te_seen && p->cl_seen)
		return head_fail(p, HTTP_ERR_FRAMING,
				 "both Transfer-Encoding and Content-Length");
	if (p->te_seen && h->minor == 0)
		return head_fail(p, HTTP_ERR_FRAMING,
				 "Transfer-Encoding in HTTP/1.0");

	if (h->status == 101 || (ok && method_is(method, "CONNECT")))
		h->framing = HTTP_BODY_TUNNEL;
	else if (method_is(method, "HEAD") || h->status < 200 ||
		 h->status == 204 || h->status == 304)
		h->framing = HTTP_BODY_NONE;
	else if (p->te_seen)
		h->framing = p->te_last_chunked ? HTTP_BODY_CHUNKED
						: HTTP_BODY_UNTIL_CLOSE;
	else if (p->cl_seen)
		h->framing = HTTP_BODY_LENGTH;
	else
		h->framing = HTTP_BODY_UNTIL_CLOSE;
	return STEP_OK;
}

static void head_start(struct head_parser *p, const char *buf, size_t len,
		       bool request, struct http_head *h, const char **why)
{
	*p = (struct head_parser){
		.buf = buf,
		.end = len < HTTP_HEAD_MAX_BYTES ? len : HTTP_HEAD_MAX_BYTES,
		.capped = len >= HTTP_HEAD_MAX_BYTES,
		.request = request,
		.h = h,
		.why = why,
	};
	h->method = h->target = h->reason = (struct http_slice){ buf, 0 };
	h->status = 0;
	h->minor = 0;
	h->n_headers = 0;
	h->head_len = 0;
	h->framing = HTTP_BODY_NONE;
	h->content_length = 0;
	h->keep_alive = false;
	h->expect_continue = false;
	h->host = -1;
}

/*
 * Returns h->head_len, or the first result of a step that is not STEP_OK.
 * Steps are in the order the bytes arrive, so that an error in a head that
 * is still arriving is reported at once.
 */
int http_parse_request(const char *buf, size_t len, struct http_head *h,
		       const char **why)
{
	struct head_parser p;
	int r;

	head_start(&p, buf, len, true, h, why);
	r = head_request_line(&p);
	if (r == STEP_OK)
		r = head_fields(&p);
	if (r == STEP_OK)
		r = head_request_framing(&p);
	if (r != STEP_OK)
		return r;
	head_keep_alive(&p);
	h->head_len = p.pos;
	return (int)p.pos;
}

int http_parse_response(const char *buf, size_t len, struct http_slice method,
			struct http_head *h, const char **why)
{
	struct head_parser p;
	int r;

	head_start(&p, buf, len, false, h, why);
	r = head_status_line(&p);
	if (r == STEP_OK)
		r = head_fields(&p);
	if (r == STEP_OK)
		r = head_response_framing(&p, method);
	if (r != STEP_OK)
		return r;
	head_keep_alive(&p);
	h->head_len = p.pos;
	return (int)p.pos;
}

/* ---- fields ---- */

int http_head_find(const struct http_head *h, const char *name, int from)
{
	size_t n = strlen(name);

	for (size_t i = from > 0 ? (size_t)from : 0; i < h->n_headers; i++) {
		const struct http_slice *s = &h->headers[i].name;

		if (s->len == n && ascii_ieq(s->p, name, n))
			return (int)i;
	}
	return -1;
}

bool http_slice_eq(struct http_slice s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && ascii_ieq(s.p, lit, n);
}

bool http_list_has(struct http_slice value, const char *token)
{
	struct http_slice rest = value, e;

	if (!rest.p)
		return false;
	while (list_next(&rest, &e))
		if (http_slice_eq(e, token))
			return true;
	return false;
}

/* ---- targets ---- */

static int target_port(struct http_slice s, uint16_t *port, const char **why)
{
	uint64_t v;

	if (digits_parse(s, PORT_MAX_DIGITS, &v) < 0 || v == 0 || v > 65535)
		return fail(why, HTTP_ERR_SYNTAX, "port is not 1 to 65535");
	*port = (uint16_t)v;
	return 0;
}

/* An IPv6 literal in brackets; what it holds is host_canon's to judge. */
static int target_ip_literal(struct http_slice a, struct http_target *t,
			     struct http_slice *after, const char **why)
{
	const char *close = memchr(a.p, ']', a.len);
	struct http_slice in;

	if (!close)
		return fail(why, HTTP_ERR_SYNTAX, "'[' without ']'");
	in = (struct http_slice){ a.p + 1, (size_t)(close - a.p) - 1 };
	if (in.len == 0)
		return fail(why, HTTP_ERR_SYNTAX, "empty host");
	for (size_t i = 0; i < in.len; i++) {
		char c = in.p[i];
		bool hex = (c >= '0' && c <= '9') ||
			   (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'f');

		if (!hex && c != ':' && c != '.')
			return fail(why, HTTP_ERR_SYNTAX,
				    "bad byte in an IPv6 literal");
	}
	t->host = in;
	*after = (struct http_slice){ close + 1,
				      a.len - (size_t)(close + 1 - a.p) };
	return 0;
}

/* host [":" port], userinfo refused. */
static int target_authority(struct http_slice a, bool port_required,
			    struct http_target *t, const char **why)
{
	struct http_slice after;
	const char *colon;

	if (a.len == 0)
		return fail(why, HTTP_ERR_SYNTAX, "empty host");
	if (memchr(a.p, '@', a.len))
		return fail(why, HTTP_ERR_SYNTAX, "userinfo is refused");

	if (a.p[0] == '[') {
		if (target_ip_literal(a, t, &after, why) < 0)
			return HTTP_ERR_SYNTAX;
		if (after.len > 0 && after.p[0] != ':')
			return fail(why, HTTP_ERR_SYNTAX, "junk after ']'");
	} else {
		colon = memchr(a.p, ':', a.len);
		t->host = (struct http_slice){
			a.p, colon ? (size_t)(colon - a.p) : a.len
		};
		after = (struct http_slice){ a.p + t->host.len,
					     a.len - t->host.len };
		if (t->host.len == 0)
			return fail(why, HTTP_ERR_SYNTAX, "empty host");
		if (!all_are(t->host, C_REGNAME))
			return fail(why, HTTP_ERR_SYNTAX, "bad byte in host");
	}

	if (after.len == 0)
		return port_required ? fail(why, HTTP_ERR_SYNTAX,
					    "port is required")
				     : 0;
	after.p++;
	after.len--;
	return target_port(after, &t->port, why);
}

static int target_start(struct http_slice s, struct http_target *t,
			const char **why)
{
	const char *end = s.p ? s.p + s.len : s.p;

	t->scheme = t->host = t->path = (struct http_slice){ end, 0 };
	t->port = 0;
	if (!all_are(s, C_VCHAR))
		return fail(why, HTTP_ERR_SYNTAX,
			    "control byte, space or non-ASCII in target");
	return 0;
}

static bool prefix_ieq(struct http_slice s, const char *lit, size_t n)
{
	return s.len >= n && ascii_ieq(s.p, lit, n);
}

int http_parse_absolute(struct http_slice target, struct http_target *t,
			const char **why)
{
	struct http_slice a;
	size_t skip;

	if (target_start(target, t, why) < 0)
		return HTTP_ERR_SYNTAX;
	if (prefix_ieq(target, "http://", 7))
		skip = 7;
	else if (prefix_ieq(target, "https://", 8))
		skip = 8;
	else
		return fail(why, HTTP_ERR_SYNTAX,
			    "scheme is not http or https");
	if (memchr(target.p, '#', target.len))
		return fail(why, HTTP_ERR_SYNTAX, "fragment in target");
	t->scheme = (struct http_slice){ target.p, skip - 3 };

	a = (struct http_slice){ target.p + skip, 0 };
	while (skip + a.len < target.len && a.p[a.len] != '/' &&
	       a.p[a.len] != '?')
		a.len++;
	t->path = (struct http_slice){ a.p + a.len,
				       target.len - skip - a.len };
	return target_authority(a, false, t, why);
}

int http_parse_authority(struct http_slice target, struct http_target *t,
			 const char **why)
{
	if (target_start(target, t, why) < 0)
		return HTTP_ERR_SYNTAX;
	return target_authority(target, true, t, why);
}

int http_parse_host_header(struct http_slice value, struct http_target *t,
			   const char **why)
{
	if (target_start(value, t, why) < 0)
		return HTTP_ERR_SYNTAX;
	return target_authority(value, false, t, why);
}

/* ---- chunked bodies ---- */

/*
 * chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF, ended by a chunk
 * of size 0, trailer fields and CRLF (RFC 9112 section 7.1). The states
 * follow the grammar; bad whitespace (BWS) is accepted only where it may
 * stand, before ';' and around '=', never at the end of a line.
 */
enum chunk_state {
	CH_SIZE_FIRST = 0, /* a zeroed struct starts here */
	CH_SIZE,
	CH_EXT_WS,     /* BWS after the size or a value: ';' must follow */
	CH_EXT_NAME0,  /* after ';' */
	CH_EXT_NAME,
	CH_EXT_NAME_WS,
	CH_EXT_VALUE0, /* after '=' */
	CH_EXT_TOKEN,
	CH_EXT_QUOTED,
	CH_EXT_QUOTED_PAIR,
	CH_EXT_QUOTED_END,
	CH_SIZE_LF,
	CH_DATA,
	CH_DATA_CR,
	CH_DATA_LF,
	CH_TRAILER_START,
	CH_TRAILER_NAME,
	CH_TRAILER_VALUE,
	CH_TRAILER_LF,
	CH_FINAL_LF,
	CH_DONE,
	CH_ERROR,
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = ascii_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Where the extension grammar goes after a byte that ends an element. */
static int chunk_ext_next(char c)
{
	if (c == ';')
		return CH_EXT_NAME0;
	if (c == '\r')
		return CH_SIZE_LF;
	if (byte_is(c, C_WS))
		return CH_EXT_WS;
	return CH_ERROR;
}

static int chunk_size_byte(struct http_chunked *c, char b)
{
	int d = hex_digit(b);

	if (d < 0)
		return c->state == CH_SIZE_FIRST ? CH_ERROR : chunk_ext_next(b);
	if (c->left > (CHUNK_SIZE_MAX - (uint64_t)d) / 16)
		return CH_ERROR;
	c->left = c->left * 16 + (uint64_t)d;
	return CH_SIZE;
}

/* One byte of a chunk-size line after the size: the extensions. */
static int chunk_ext_byte(int state, char b)
{
	bool t = byte_is(b, C_TCHAR), ws = byte_is(b, C_WS);

	switch (state) {
	case CH_EXT_WS:
		return ws ? CH_EXT_WS : b == ';' ? CH_EXT_NAME0 : CH_ERROR;
	case CH_EXT_NAME0:
		return ws ? CH_EXT_NAME0 : t ? CH_EXT_NAME : CH_ERROR;
	case CH_EXT_NAME:
		if (t)
			return CH_EXT_NAME;
		if (b == '=')
			return CH_EXT_VALUE0;
		return ws ? CH_EXT_NAME_WS : chunk_ext_next(b);
	case CH_EXT_NAME_WS:
		if (ws)
			return CH_EXT_NAME_WS;
		return b == '=' ? CH_EXT_VALUE0
			       : b == ';' ? CH_EXT_NAME0 : CH_ERROR;
	case CH_EXT_VALUE0:
		if (ws)
			return CH_EXT_VALUE0;
		return t ? CH_EXT_TOKEN : b == '"' ? CH_EXT_QUOTED : CH_ERROR;
	case CH_EXT_TOKEN:
		return t ? CH_EXT_TOKEN : chunk_ext_next(b);
	case CH_EXT_QUOTED:
		if (b == '"')
			return CH_EXT_QUOTED_END;
		if (b == '\\')
			return CH_EXT_QUOTED_PAIR;
		return byte_is(b, C_FIELD | C_WS) ? CH_EXT_QUOTED : CH_ERROR;
	case CH_EXT_QUOTED_PAIR:
		return byte_is(b, C_FIELD | C_WS) ? CH_EXT_QUOTED : CH_ERROR;
	case CH_EXT_QUOTED_END:
		return chunk_ext_next(b);
	}
	return CH_ERROR;
}

/* One byte of the trailer section, or of the CRLFs around the data. */
static int chunk_line_byte(struct http_chunked *c, char b)
{
	switch (c->state) {
	case CH_SIZE_LF:
		if (b != '\n')
			return CH_ERROR;
		c->line_bytes = 0;
		return c->left == 0 ? CH_TRAILER_START : CH_DATA;
	case CH_DATA_CR:
		return b == '\r' ? CH_DATA_LF : CH_ERROR;
	case CH_DATA_LF:
		return b == '\n' ? CH_SIZE_FIRST : CH_ERROR;
	case CH_TRAILER_START:
		if (b == '\r')
			return CH_FINAL_LF;
		return byte_is(b, C_TCHAR) ? CH_TRAILER_NAME : CH_ERROR;
	case CH_TRAILER_NAME:
		if (b == ':')
			return CH_TRAILER_VALUE;
		return byte_is(b, C_TCHAR) ? CH_TRAILER_NAME : CH_ERROR;
	case CH_TRAILER_VALUE:
		if (b == '\r')
			return CH_TRAILER_LF;
		return byte_is(b, C_FIELD | C_WS) ? CH_TRAILER_VALUE
						  : CH_ERROR;
	case CH_TRAILER_LF:
		return b == '\n' ? CH_TRAILER_START : CH_ERROR;
	case CH_FINAL_LF:
		return b == '\n' ? CH_DONE : CH_ERROR;
	}
	return CH_ERROR;
}

static int chunk_byte(struct http_chunked *c, char b)
{
	if (c->state >= CH_TRAILER_START) {
		if (++c->trailer_bytes > HTTP_HEAD_MAX_BYTES)
			return CH_ERROR;
		return chunk_line_byte(c, b);
	}
	if (c->state < CH_SIZE_LF && ++c->line_bytes > HTTP_HEAD_MAX_BYTES)
		return CH_ERROR;
	if (c->state == CH_SIZE_FIRST || c->state == CH_SIZE)
		return chunk_size_byte(c, b);
	if (c->state < CH_SIZE_LF)
		return chunk_ext_byte(c->state, b);
	return chunk_line_byte(c, b);
}

/*
 * Chunk data is skipped in one step; every other byte goes through the
 * state machine. After an error every later call fails too.
 */
ssize_t http_chunked_scan(struct http_chunked *c, const char *buf, size_t len,
			  bool *done)
{
	size_t i = 0;

	*done = c->state == CH_DONE;
	while (i < len && c->state != CH_DONE) {
		if (c->state == CH_ERROR)
			return HTTP_ERR_SYNTAX;
		if (c->state == CH_DATA) {
			size_t n = len - i;

			if (n > c->left)
				n = (size_t)c->left;
			i += n;
			c->left -= n;
			if (c->left == 0)
				c->state = CH_DATA_CR;
			continue;
		}
		c->state = chunk_byte(c, buf[i++]);
	}
	if (c->state == CH_ERROR)
		return HTTP_ERR_SYNTAX;
	*done = c->state == CH_DONE;
	return (ssize_t)i;
}
