/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The HTTP side of the gateway: the explicit proxy on 127.0.0.1:3128
 * inside the sandbox (absolute-URI requests and CONNECT), and plain HTTP
 * found in a captured connection or inside a CONNECT tunnel. Bytes come
 * from the sandbox and from servers; both are parsed strictly (http.c).
 *
 * One request and its response are in flight at a time per connection.
 * Every request is decided on its own: its target (the absolute URI, or
 * the connection's fixed target) must agree with its Host header, and the
 * target must pass the policy. The request line is rewritten to origin
 * form and the proxy's own headers dropped; everything else, bodies
 * included, is forwarded as it came, framed by what the parser found, so
 * the gateway and the server always agree on where a message ends.
 *
 * Response bytes are forwarded from the upstream queue once the framing
 * has cleared them (resp_approved), without a copy into another queue,
 * and the upstream is read only while that queue has room.
 */
#include "config.h"

#include "gateway/gw.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/util.h"

static const struct {
	int status;
	const char *text;
} refusal_status[] = {
	[GW_REFUSE_POLICY] = { 403, "Forbidden" },
	[GW_REFUSE_MISMATCH] = { 403, "Forbidden" },
	[GW_REFUSE_BAD_REQUEST] = { 400, "Bad Request" },
	[GW_REFUSE_TOO_LARGE] = { 431, "Request Header Fields Too Large" },
	[GW_REFUSE_VERSION] = { 505, "HTTP Version Not Supported" },
	[GW_REFUSE_UNREACHABLE] = { 502, "Bad Gateway" },
	[GW_REFUSE_REFUSED] = { 502, "Bad Gateway" },
	[GW_REFUSE_TIMEOUT] = { 504, "Gateway Timeout" },
	[GW_REFUSE_UNSUPPORTED] = { 501, "Not Implemented" },
	[GW_REFUSE_AUTH] = { 407, "Proxy Authentication Required" },
};

/*
 * While a request head waits to go upstream, up to this much of its body
 * joins it, so that a small request leaves in one write: one TLS record
 * (the most one record carries) instead of two.
 */
#define BODY_JOINS_HEAD_MAX 16384

static void http_drive(struct gw_conn *c);
static void client_read(struct gw_conn *c);
static bool response_read(struct gw_conn *c);

/* Text fit for a header value: printable ASCII only. */
static void header_safe(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (; src && *src && o + 1 < size; src++)
		dst[o++] = (*src >= 0x20 && *src < 0x7f) ? *src : ' ';
	dst[o] = '\0';
}

void gw_http_refuse(struct gw_conn *c, enum gw_refusal why,
		    const char *reason)
{
	char safe[256], body[512], head[1024];
	int nb, nh;

	c->status = refusal_status[why].status;
	c->http.status = c->status;
	/* unless a deny record stands for it, the request's own record
	 * (written at the close) says why it ended this way */
	if (reason)
		gw_conn_set_error(c, reason);
	if (c->http.resp_started) {
		gw_conn_close(c); /* a response is half sent: only a close is left */
		return;
	}
	header_safe(safe, sizeof(safe), reason);
	nb = snprintf(body, sizeof(body), "airlock: %s%s%s\n",
		      c->host.text[0] ? c->host.text : "",
		      c->host.text[0] ? ": " : "", safe);
	nh = snprintf(head, sizeof(head),
		      "HTTP/1.1 %d %s\r\n"
		      "Content-Type: text/plain; charset=utf-8\r\n"
		      "X-Airlock-Reason: %s\r\n%s"
		      "Content-Length: %d\r\n"
		      "Connection: close\r\n\r\n",
		      refusal_status[why].status, refusal_status[why].text, safe,
		      why == GW_REFUSE_AUTH ?
			      "Proxy-Authenticate: Basic realm=\"airlock\"\r\n" : "",
		      nb);
	buf_free(&c->out, false);
	if (!buf_append(&c->out, head, (size_t)nh, GW_XFER_MAX_BYTES) ||
	    !buf_append(&c->out, body, (size_t)nb, GW_XFER_MAX_BYTES)) {
		gw_conn_close(c);
		return;
	}
	if (c->up.w.fd >= 0) {
		loop_watch_del(&c->gw->loop, &c->up.w);
		close(c->up.w.fd);
		c->up.w.fd = -1;
	}
	buf_free(&c->up_out, true); /* a head never sent may hold real values */
	gw_conn_linger(c);
}

/* ---- the request head ---- */

/* The path for the audit: from the target, without query or fragment. */
static char *audit_path(struct http_slice path)
{
	size_t n = 0;

	while (n < path.len && path.p[n] != '?' && path.p[n] != '#')
		n++;
	return n ? xstrndup(path.p, n) : xstrdup("/");
}

/* Canonicalises a target's host and port; false with *why when bad. */
static bool target_host(struct http_slice host, uint16_t port, uint16_t dflt,
			struct host *out, uint16_t *port_out, const char **why)
{
	if (host_canon(host.p, host.len, out, why) < 0)
		return false;
	*port_out = port ? port : dflt;
	return true;
}

/*
 * The Host header must name the target: the same canonical host, and the
 * same port (the default when it names none).
 */
static bool host_header_agrees(const struct gw_conn *c,
			       const struct http_head *h, const char **why)
{
	struct http_target t;
	struct host hh;
	uint16_t port;

	if (h->host < 0)
		return true; /* HTTP/1.0 without Host: the target decides */
	if (http_parse_host_header(h->headers[h->host].value, &t, why) < 0 ||
	    !target_host(t.host, t.port, c->port, &hh, &port, why))
		return false;
	if (!streq(hh.text, c->host.text) || port != c->port) {
		*why = "the Host header does not match the target";
		return false;
	}
	return true;
}

static void request_begin(struct gw_conn *c, const struct http_head *h,
			  struct http_slice path)
{
	struct gw_http *x = &c->http;

	free(x->path);
	x->path = audit_path(path);
	snprintf(x->method, sizeof(x->method), "%.*s",
		 (int)(h->method.len < sizeof(x->method) ? h->method.len :
		       sizeof(x->method) - 1), h->method.p);
	x->req_framing = h->framing;
	x->req_left = h->content_length;
	x->req_chunk = (struct http_chunked){ 0 };
	x->client_keep_alive = h->keep_alive;
	x->req = h->framing == HTTP_BODY_NONE ? GW_HTTP_DONE : GW_HTTP_BODY;
	x->resp = GW_HTTP_HEAD;
	x->req_approved = 0;
	x->resp_approved = 0;
	x->resp_started = false;
	x->status = 0;
	x->start_ms = loop_now_ms();
	x->bytes_up = x->bytes_down = 0;
	x->per_request = true;
}

/* Records the refusal and answers it. */
static void deny(struct gw_conn *c, const char *rule, enum gw_refusal why,
		 const char *reason)
{
	gw_conn_log_deny(c, rule, reason);
	gw_conn_refuse(c, why, reason);
}

/*
 * Takes the head: audit fields, framing, and the head rewritten for
 * upstream (origin form, the proxy's own fields dropped, credentials
 * put in) queued, unless the request rules or a credential refuse it.
 */
static bool request_take(struct gw_conn *c, const struct http_head *h,
			 struct http_slice path)
{
	char text[192];
	const char *rule, *reason;

	request_begin(c, h, path);
	if (!gw_creds_request(c, h, path, &rule, &reason, text,
			      sizeof(text))) {
		buf_free(&c->up_out, true);
		deny(c, rule, streq(rule, "malformed") ? GW_REFUSE_TOO_LARGE :
							  GW_REFUSE_POLICY,
		     reason);
		return false;
	}
	buf_consume(&c->in, h->head_len);
	return true;
}

static enum gw_refusal refusal_of(int err)
{
	switch (err) {
	case HTTP_ERR_TOO_LARGE:
		return GW_REFUSE_TOO_LARGE;
	case HTTP_ERR_VERSION:
		return GW_REFUSE_VERSION;
	default:
		return GW_REFUSE_BAD_REQUEST;
	}
}

/* A request to the explicit proxy: absolute URI or CONNECT. */
static void proxy_request(struct gw_conn *c, const struct http_head *h)
{
	struct http_target t;
	const char *why = NULL;
	bool is_connect = http_slice_eq(h->method, "CONNECT");
	char key[HOST_TEXT_MAX + 8];

	if (is_connect ? http_parse_authority(h->target, &t, &why) < 0 :
			 http_parse_absolute(h->target, &t, &why) < 0) {
		deny(c, "malformed", GW_REFUSE_BAD_REQUEST, why);
		return;
	}
	if (!is_connect && !http_slice_eq(t.scheme, "http")) {
		deny(c, "malformed", GW_REFUSE_BAD_REQUEST,
		     "send https:// requests with CONNECT");
		return;
	}
	if (!target_host(t.host, t.port, 80, &c->host, &c->port, &why) ||
	    (!is_connect && !host_header_agrees(c, h, &why))) {
		deny(c, "host-mismatch", GW_REFUSE_MISMATCH, why);
		return;
	}
	c->http.is_connect = is_connect;
	if (is_connect) {
		c->proto = "connect";
		c->http.per_request = false;
		buf_consume(&c->in, h->head_len);
		gw_conn_route(c);
		return;
	}
	if (!request_take(c, h, t.path))
		return;
	snprintf(key, sizeof(key), "%s:%u", c->host.text, c->port);
	gw_run_decide(c->run, &c->host, c->port, &c->verdict);
	if (c->up.w.fd >= 0 && c->verdict.allow && streq(key, c->up_key)) {
		c->state = GW_ST_HTTP_REQ_BODY;
		http_drive(c);
		return;
	}
	if (c->up.w.fd >= 0) {
		loop_watch_del(&c->gw->loop, &c->up.w);
		close(c->up.w.fd);
		c->up.w.fd = -1;
		c->up.eof = false;
		buf_free(&c->up_in, false);
	}
	gw_conn_route(c);
}

/* A request on a connection whose target is fixed (capture, CONNECT). */
static void fixed_request(struct gw_conn *c, const struct http_head *h)
{
	struct http_target t = { .path = h->target };
	const char *why = NULL;

	if (http_slice_eq(h->method, "CONNECT")) {
		deny(c, "malformed", GW_REFUSE_UNSUPPORTED,
		     "CONNECT inside a tunnel");
		return;
	}
	if (c->route && h->target.len && h->target.p[0] != '/') {
		deny(c, "malformed", GW_REFUSE_BAD_REQUEST,
		     "a route takes origin-form requests");
		return;
	}
	if (h->target.len && h->target.p[0] != '/' && h->target.p[0] != '*') {
		struct host th;
		uint16_t port;

		if (http_parse_absolute(h->target, &t, &why) < 0 ||
		    !target_host(t.host, t.port, c->port, &th, &port, &why) ||
		    !streq(th.text, c->host.text) || port != c->port) {
			deny(c, "host-mismatch", GW_REFUSE_MISMATCH,
			     why ? why : "the request target does not match");
			return;
		}
	}
	if (!c->route && !host_header_agrees(c, h, &why)) {
		deny(c, "host-mismatch", GW_REFUSE_MISMATCH, why);
		return;
	}
	if (!request_take(c, h, t.path))
		return;
	c->state = GW_ST_HTTP_REQ_BODY;
	http_drive(c);
}

/*
 * --listen with tokens: Proxy-Authorization is "Basic base64(NAME:TOKEN)"
 * or "Bearer TOKEN". Once a connection has passed, it stays authenticated.
 */
static bool client_authenticated(struct gw_conn *c, const struct http_head *h)
{
	int i = http_head_find(h, "proxy-authorization", 0);
	unsigned char plain[400];
	char token[300];
	const char *name = NULL, *colon;
	struct http_slice v;
	int n;

	if (i < 0)
		return false;
	v = h->headers[i].value;
	if (v.len > 7 && strncasecmp(v.p, "Bearer ", 7) == 0 &&
	    v.len - 7 < sizeof(token)) {
		memcpy(token, v.p + 7, v.len - 7);
		token[v.len - 7] = '\0';
		name = gw_token_check(c->gw, NULL, token);
	} else if (v.len > 6 && strncasecmp(v.p, "Basic ", 6) == 0 &&
		   (v.len - 6) / 4 * 3 < sizeof(plain)) {
		n = EVP_DecodeBlock(plain, (const unsigned char *)v.p + 6,
				    (int)(v.len - 6));
		while (n > 0 && plain[n - 1] == '\0')
			n--; /* EVP_DecodeBlock counts the padding */
		if (n > 0 && (size_t)n < sizeof(token)) {
			memcpy(token, plain, (size_t)n);
			token[n] = '\0';
			colon = strchr(token, ':');
			if (colon) {
				token[colon - token] = '\0';
				name = gw_token_check(c->gw, token, colon + 1);
			}
		}
	}
	explicit_bzero(token, sizeof(token));
	explicit_bzero(plain, sizeof(plain));
	if (!name)
		return false;
	snprintf(c->who, sizeof(c->who), "%s", name);
	c->need_auth = false;
	return true;
}

/* Parses the next request head in c->in; false while it is incomplete. */
static bool request_head(struct gw_conn *c)
{
	struct http_head h;
	const char *why = NULL;
	int r = http_parse_request(buf_head(&c->in), buf_len(&c->in), &h, &why);

	if (r == HTTP_INCOMPLETE) {
		if (buf_len(&c->in) >= HTTP_HEAD_MAX_BYTES) {
			deny(c, "malformed", GW_REFUSE_TOO_LARGE,
			     "request head too large");
			return true;
		}
		return false;
	}
	if (r < 0) {
		deny(c, "malformed", refusal_of(r), why ? why : "malformed request");
		return true;
	}
	if (c->need_auth && !client_authenticated(c, &h)) {
		deny(c, "client-auth", GW_REFUSE_AUTH, "a client token is required");
		return true;
	}
	if (c->http.fixed_target)
		fixed_request(c, &h);
	else
		proxy_request(c, &h);
	return true;
}

/* ---- moving a request body ---- */

/* Clears body bytes at the head of q for forwarding, per framing. */
static size_t body_take(enum http_framing framing, uint64_t *left,
			struct http_chunked *chunk, const char *p, size_t avail,
			bool *done, bool *bad)
{
	size_t take = 0;
	ssize_t n;

	*done = false;
	*bad = false;
	switch (framing) {
	case HTTP_BODY_LENGTH:
		take = avail < *left ? avail : (size_t)*left;
		*left -= take;
		*done = *left == 0;
		return take;
	case HTTP_BODY_CHUNKED:
		n = http_chunked_scan(chunk, p, avail, done);
		if (n < 0) {
			*bad = true;
			return 0;
		}
		return (size_t)n;
	case HTTP_BODY_UNTIL_CLOSE:
	case HTTP_BODY_TUNNEL:
		return avail;
	case HTTP_BODY_NONE:
		*done = true;
		return 0;
	}
	return 0;
}

/*
 * Sends n cleared body bytes from the head of the client's queue, or,
 * while the head still waits in up_out, queues what fits behind it (the
 * head's send counts them). Returns the bytes taken, -EAGAIN when none
 * could be, or another negative errno.
 */
static ssize_t body_out(struct gw_conn *c, size_t n)
{
	size_t queued = buf_len(&c->up_out);
	ssize_t r;

	if (queued) {
		if (queued >= BODY_JOINS_HEAD_MAX)
			return -EAGAIN;
		if (n > BODY_JOINS_HEAD_MAX - queued)
			n = BODY_JOINS_HEAD_MAX - queued;
		if (!buf_append(&c->up_out, buf_head(&c->in), n, SIZE_MAX))
			return -ENOMEM;
		return (ssize_t)n;
	}
	r = gw_side_send(&c->up, buf_head(&c->in), n);
	if (r > 0)
		c->http.bytes_up += (uint64_t)r;
	return r;
}

/* Returns false when the connection was closed or refused. */
static bool request_body(struct gw_conn *c)
{
	struct gw_http *x = &c->http;

	while (x->req == GW_HTTP_BODY || x->req_approved) {
		size_t avail = buf_len(&c->in) - x->req_approved;
		const char *reason;
		ssize_t n, ready;

		if (x->req == GW_HTTP_BODY && avail) {
			bool done, bad;
			size_t take = body_take(x->req_framing, &x->req_left,
						&x->req_chunk,
						buf_head(&c->in) + x->req_approved,
						avail, &done, &bad);

			if (bad) {
				/* 400 unless a response has begun; the
				 * upstream is closed on its cut request */
				deny(c, "malformed", GW_REFUSE_BAD_REQUEST,
				     "malformed chunked request body");
				return false;
			}
			x->req_approved += take;
			if (done)
				x->req = GW_HTTP_DONE;
		}
		if (!x->req_approved)
			return true; /* wait for the client */
		ready = gw_creds_request_body(c, x->req_approved,
					      x->req == GW_HTTP_DONE, &reason);
		if (ready < 0) {
			deny(c, "credential", GW_REFUSE_POLICY, reason);
			return false;
		}
		if (ready == 0)
			return true; /* a placeholder may be arriving */
		n = body_out(c, (size_t)ready);
		if (n == -EAGAIN)
			return true;
		if (n <= 0) {
			gw_conn_close(c);
			return false;
		}
		buf_consume(&c->in, (size_t)n);
		x->req_approved -= (size_t)n;
		c->req_scanned -= c->req_scanned < (size_t)n ? c->req_scanned :
							       (size_t)n;
	}
	return true;
}

/* ---- the response ---- */

/* The record of the request under way; error: why it ended early. */
static void request_record(struct gw_conn *c, const char *error)
{
	struct gw_http *x = &c->http;
	struct gw_record r;
	char names[256];

	gw_conn_record(c, &r, "request");
	r.credential = gw_creds_names(c, names, sizeof(names));
	if (c->kind == GW_CONN_HTTP && !x->fixed_target)
		r.proto = "http";
	r.method = x->method;
	r.path = x->path;
	r.decision = "allow";
	r.rule = c->verdict.rule;
	r.status = x->status;
	r.error = error;
	r.bytes_up = x->bytes_up;
	r.bytes_down = x->bytes_down;
	r.duration_ms = loop_now_ms() - x->start_ms;
	gw_audit_write(c->run->audit, &r);
}

void gw_http_log_cut(struct gw_conn *c)
{
	request_record(c, c->error ? c->error :
				     "the connection ended before the response");
	c->http.resp = GW_HTTP_IDLE;
}

static void request_finish(struct gw_conn *c)
{
	struct gw_http *x = &c->http;

	request_record(c, NULL);
	c->bytes_up += x->bytes_up;
	c->bytes_down += x->bytes_down;
	x->req = GW_HTTP_HEAD;
	x->resp = GW_HTTP_IDLE;
	if (!x->client_keep_alive || !x->resp_keep_alive)
		x->close_after = true;
}

/* Parses a response head in up_in; false while more bytes are needed. */
static bool response_head(struct gw_conn *c, bool *failed)
{
	struct gw_http *x = &c->http;
	struct http_slice method = { x->method, strlen(x->method) };
	struct http_head h;
	const char *why = NULL;
	int r;

	*failed = false;
	r = http_parse_response(buf_head(&c->up_in) + x->resp_approved,
				buf_len(&c->up_in) - x->resp_approved, method,
				&h, &why);
	if (r == HTTP_INCOMPLETE)
		return false;
	if (r < 0) {
		log_debug("gateway: %s: bad response head: %s", c->host.text,
			  why ? why : "?");
		*failed = true;
		return false;
	}
	x->resp_approved += h.head_len;
	x->status = h.status;
	if (h.status >= 100 && h.status < 200 && h.status != 101)
		return true; /* interim: forward it and read the next head */
	x->resp_framing = h.framing;
	x->resp_left = h.content_length;
	x->resp_chunk = (struct http_chunked){ 0 };
	x->resp_keep_alive = h.keep_alive;
	x->resp = h.framing == HTTP_BODY_NONE ? GW_HTTP_DONE : GW_HTTP_BODY;
	if (h.framing == HTTP_BODY_UNTIL_CLOSE || h.framing == HTTP_BODY_TUNNEL)
		x->resp_keep_alive = false;
	return true;
}

/* Clears response body bytes; false on a malformed chunked body. */
static bool response_body(struct gw_conn *c)
{
	struct gw_http *x = &c->http;
	size_t avail = buf_len(&c->up_in) - x->resp_approved;
	bool done, bad;
	size_t take;

	if (!avail) {
		if (c->up.eof && (x->resp_framing == HTTP_BODY_UNTIL_CLOSE))
			x->resp = GW_HTTP_DONE;
		return true;
	}
	take = body_take(x->resp_framing, &x->resp_left, &x->resp_chunk,
			 buf_head(&c->up_in) + x->resp_approved, avail, &done,
			 &bad);
	if (bad)
		return false;
	x->resp_approved += take;
	if (done)
		x->resp = GW_HTTP_DONE;
	return true;
}

/* Sends cleared response bytes; false when the connection was closed. */
static bool response_send(struct gw_conn *c, bool *blocked)
{
	struct gw_http *x = &c->http;

	*blocked = false;
	while (x->resp_approved) {
		/* only a body may still be arriving: heads are whole */
		size_t ready = gw_creds_response(c, x->resp_approved,
						 x->resp != GW_HTTP_BODY ||
						 c->up.eof);
		ssize_t n;

		if (ready == 0)
			return true; /* a value may be arriving */
		n = gw_side_send(&c->client, buf_head(&c->up_in), ready);
		if (n == -EAGAIN) {
			*blocked = true;
			return true;
		}
		if (n <= 0) {
			gw_conn_close(c);
			return false;
		}
		x->resp_started = true;
		buf_consume(&c->up_in, (size_t)n);
		x->resp_approved -= (size_t)n;
		c->resp_scanned -= c->resp_scanned < (size_t)n ?
					   c->resp_scanned : (size_t)n;
		x->bytes_down += (uint64_t)n;
	}
	return true;
}

/* Reads upstream bytes while the queue has room; false when closed. */
static bool response_read(struct gw_conn *c)
{
	ssize_t n;

	if (c->up.eof || buf_len(&c->up_in) >= GW_XFER_MAX_BYTES)
		return true;
	n = gw_side_read(&c->up, &c->up_in, GW_XFER_MAX_BYTES);
	if (n == -EAGAIN || n == -ENOBUFS)
		return true;
	if (n < 0) {
		gw_conn_side_failed(c, &c->up, (int)-n);
		gw_conn_close(c);
		return false;
	}
	if (n == 0)
		c->up.eof = true;
	return true;
}

/*
 * Works the response side as far as it goes; false when closed. Bytes are
 * cleared as far as the queue allows before any is sent, so that a head
 * and the body that came with it go out in one write (one TLS record).
 */
static bool response_step(struct gw_conn *c, bool *blocked)
{
	struct gw_http *x = &c->http;

	*blocked = false;
	for (;;) {
		bool failed = false;

		if (x->resp == GW_HTTP_HEAD && response_head(c, &failed))
			continue;
		if (x->resp == GW_HTTP_BODY) {
			size_t before = x->resp_approved;

			if (!response_body(c)) {
				gw_conn_close(c);
				return false;
			}
			if (x->resp_approved != before ||
			    x->resp != GW_HTTP_BODY)
				continue;
		}
		/* nothing more to clear: send what is */
		if (!response_send(c, blocked))
			return false;
		if (*blocked || x->resp == GW_HTTP_DONE || x->resp == GW_HTTP_IDLE)
			return true;
		if (failed) {
			gw_conn_refuse(c, GW_REFUSE_UNREACHABLE,
				       "malformed response from the server");
			return false;
		}
		if (c->up.eof) {
			/* the server closed before the response was complete */
			if (x->resp == GW_HTTP_HEAD && !x->resp_started) {
				gw_conn_refuse(c, GW_REFUSE_UNREACHABLE,
					       "the server closed the "
					       "connection");
			} else {
				c->error = "the server closed before the "
					   "response ended";
				gw_conn_close(c);
			}
			return false;
		}
		return true;
	}
}

/* ---- the engine ---- */

static void http_interest(struct gw_conn *c, bool resp_blocked)
{
	struct gw_http *x = &c->http;
	uint32_t ce = 0, ue = 0;

	/*
	 * The client is read whenever its queue has room, even while a
	 * response is on its way: a next request waits in the queue (it is
	 * bounded), and the interest need not flip twice per request.
	 */
	if (!c->client.eof && buf_len(&c->in) < GW_QUEUE_MAX_BYTES)
		ce |= EPOLLIN;
	if (resp_blocked)
		ce |= EPOLLOUT;
	ce |= c->client.want; /* what TLS waits for */
	if (c->up.w.fd >= 0) {
		if (buf_len(&c->up_out) || x->req_approved)
			ue |= EPOLLOUT;
		/*
		 * A fixed upstream stays watched between requests too: a
		 * close or a stray byte is only queued (bounded), and the
		 * interest need not flip twice per request.
		 */
		if (!c->up.eof && (x->resp != GW_HTTP_IDLE || x->fixed_target) &&
		    buf_len(&c->up_in) < GW_XFER_MAX_BYTES)
			ue |= EPOLLIN;
		ue |= c->up.want;
		loop_watch_set(&c->gw->loop, &c->up.w, ue);
	}
	loop_watch_set(&c->gw->loop, &c->client.w, ce);
}

/* Flushes the rewritten head upstream; false when closed. */
static bool head_send(struct gw_conn *c)
{
	while (buf_len(&c->up_out)) {
		ssize_t n = gw_side_send(&c->up, buf_head(&c->up_out),
					 buf_len(&c->up_out));

		if (n == -EAGAIN)
			return true;
		if (n <= 0) {
			gw_conn_close(c);
			return false;
		}
		buf_consume(&c->up_out, (size_t)n);
		c->http.bytes_up += (uint64_t)n;
	}
	if (c->creds_used)
		buf_free(&c->up_out, true); /* it held real values */
	return true;
}

/*
 * TLS may hold decrypted bytes that no event will announce: they are
 * read whenever there is room for them.
 */
static void tls_pull(struct gw_conn *c)
{
	if (gw_side_pending(&c->client) && !c->client.eof &&
	    buf_len(&c->in) < GW_QUEUE_MAX_BYTES)
		client_read(c);
	if (gw_side_pending(&c->up) && !c->up.eof &&
	    buf_len(&c->up_in) < GW_XFER_MAX_BYTES)
		response_read(c);
}

static bool upgrade_to_tunnel(struct gw_conn *c)
{
	struct gw_http *x = &c->http;

	if (x->resp != GW_HTTP_BODY || x->resp_framing != HTTP_BODY_TUNNEL)
		return false;
	if (c->client.ssl || c->up.ssl) {
		/* a tunnel moves raw bytes: not through terminated TLS */
		log_debug("gateway: %s: no protocol upgrade over terminated "
			  "TLS", c->host.text);
		gw_conn_close(c);
		return true;
	}
	/* bytes of the tunnel that came with the head stay queued as prefix */
	x->resp_approved = 0;
	request_finish(c);
	c->http.per_request = false;
	gw_tunnel_start(c, false);
	return true;
}

static void http_drive(struct gw_conn *c)
{
	struct gw_http *x = &c->http;
	bool blocked = false;

	for (int round = 0; round < 8; round++) {
		tls_pull(c);
		if (c->state == GW_ST_DEAD)
			return;
		if (c->state == GW_ST_HTTP_HEAD) {
			if (c->client.eof && !buf_len(&c->in)) {
				gw_conn_close(c);
				return;
			}
			if (!request_head(c)) {
				if (c->client.eof) {
					gw_conn_close(c); /* a partial head, then EOF */
					return;
				}
				break;
			}
			if (c->state != GW_ST_HTTP_REQ_BODY)
				return; /* routing, refusing or tunnelling */
		}
		if (c->up.w.fd < 0 || c->state == GW_ST_CONNECTING)
			return;
		/* the body first joins the head that waits, then follows */
		if (!request_body(c) || !head_send(c))
			return;
		if (!buf_len(&c->up_out) && !request_body(c))
			return;
		if (!response_step(c, &blocked))
			return;
		if (upgrade_to_tunnel(c))
			return;
		if (x->req != GW_HTTP_DONE || x->resp != GW_HTTP_DONE ||
		    buf_len(&c->up_out) || blocked)
			break;
		request_finish(c);
		if (x->close_after) {
			gw_conn_close(c);
			return;
		}
		c->state = GW_ST_HTTP_HEAD;
		gw_conn_arm(c, &c->gw->t_head);
	}
	if (c->state == GW_ST_DEAD)
		return;
	/* the client left in the middle of a body, or before the answer:
	 * the server's side is let go too, not held until it times out */
	if (c->client.eof && (x->req == GW_HTTP_BODY || gw_http_under_way(x))) {
		c->error = "the client left before the response ended";
		gw_conn_close(c);
		return;
	}
	http_interest(c, blocked);
}

static void client_read(struct gw_conn *c)
{
	ssize_t n = gw_side_read(&c->client, &c->in, GW_QUEUE_MAX_BYTES);

	if (n == 0)
		c->client.eof = true;
	else if (n < 0 && n != -EAGAIN && n != -ENOBUFS)
		c->client.eof = true;
}

void gw_http_on_client(struct gw_conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		gw_conn_close(c);
		return;
	}
	if (c->state != GW_ST_HTTP_HEAD)
		gw_conn_touch(c);
	if (events & (EPOLLIN | EPOLLHUP))
		client_read(c);
	http_drive(c);
}

void gw_http_on_up(struct gw_conn *c, uint32_t events)
{
	gw_conn_touch(c);
	if (events & EPOLLERR) {
		gw_conn_refuse(c, GW_REFUSE_UNREACHABLE, "connection reset");
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP) && !response_read(c))
		return;
	if (c->up.eof && c->http.resp == GW_HTTP_IDLE &&
	    c->state == GW_ST_HTTP_HEAD && !buf_len(&c->in)) {
		/* the server ended an idle connection: so does the client's */
		gw_conn_close(c);
		return;
	}
	http_drive(c);
}

void gw_http_connected(struct gw_conn *c)
{
	if (c->http.is_connect) {
		static const char established[] =
			"HTTP/1.1 200 Connection established\r\n\r\n";

		/* queued toward the client ahead of any upstream byte */
		buf_prepend(&c->up_in, established, sizeof(established) - 1,
			    GW_XFER_MAX_BYTES);
		c->status = 200;
		c->http.resp = GW_HTTP_IDLE; /* answered: a tunnel from here */
		gw_tunnel_start(c, true);
		return;
	}
	c->state = GW_ST_HTTP_REQ_BODY;
	http_drive(c);
}

void gw_http_begin_fixed(struct gw_conn *c)
{
	struct gw_http *x = &c->http;

	if (c->c2u.in_pipe || c->u2c.in_pipe) {
		gw_conn_close(c);
		return;
	}
	gw_tunnel_release(c);
	x->fixed_target = true;
	c->req_scanned = c->resp_scanned = 0;
	x->req = GW_HTTP_HEAD;
	x->resp = GW_HTTP_IDLE;
	/* what the server already sent (a CONNECT's 200) is passed on */
	x->resp_approved = buf_len(&c->up_in);
	/* from here each request is recorded on its own, not the tunnel */
	c->logged_open = false;
	c->state = GW_ST_HTTP_HEAD;
	http_drive(c);
}
