/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/1.x message heads, request targets and chunked bodies, as they
 * arrive from the sandbox (requests) or from upstream servers (responses).
 * The parser is strict where a lenient reading could let a request mean
 * one thing to the gateway and another to the server behind it (request
 * smuggling): CRLF only, no obs-fold, no whitespace before a colon, one
 * framing only. It copies nothing: every slice points into the caller's
 * buffer, which must outlive the parsed head.
 */
#ifndef AIRLOCK_GATEWAY_HTTP_H
#define AIRLOCK_GATEWAY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A head (request or status line, fields, blank line) is at most this. */
#define HTTP_HEAD_MAX_BYTES 32768
/* Header fields per head. */
#define HTTP_HEADERS_MAX 128

struct http_slice {
	const char *p;
	size_t len;
};

struct http_header {
	struct http_slice name;  /* as sent; compare case-insensitively */
	struct http_slice value; /* without surrounding spaces and tabs */
};

enum http_framing {
	HTTP_BODY_NONE,        /* no body follows */
	HTTP_BODY_LENGTH,      /* content_length bytes follow */
	HTTP_BODY_CHUNKED,     /* chunked; find its end with http_chunked */
	HTTP_BODY_UNTIL_CLOSE, /* responses only: the body ends at EOF */
	HTTP_BODY_TUNNEL,      /* 2xx to CONNECT, 101: bytes flow both ways */
};

struct http_head {
	struct http_slice method; /* requests */
	struct http_slice target; /* requests, as sent */
	int status;               /* responses: 100..599 */
	struct http_slice reason; /* responses, may be empty */
	int minor;                /* HTTP/1.minor: 0 or 1 */
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t n_headers;
	size_t head_len;          /* bytes up to and including the blank line */
	enum http_framing framing;
	uint64_t content_length;  /* HTTP_BODY_LENGTH */
	bool keep_alive;          /* after the version default and Connection */
	bool expect_continue;     /* requests: Expect: 100-continue */
	int host;                 /* requests: index of Host, -1 when absent */
};

/* What went wrong; each maps to one status the client is sent. */
enum http_error {
	HTTP_INCOMPLETE = 0,      /* not an error: more bytes are needed */
	HTTP_ERR_SYNTAX = -1,     /* malformed line or field: 400 */
	HTTP_ERR_TOO_LARGE = -2,  /* head or field count over the limits: 431 */
	HTTP_ERR_VERSION = -3,    /* not HTTP/1.0 or HTTP/1.1: 505 */
	HTTP_ERR_FRAMING = -4,    /* ambiguous body framing (smuggling): 400 */
};

/*
 * Parses a request head at the start of buf (len bytes). Returns
 * h->head_len (> 0) once the blank line has arrived, HTTP_INCOMPLETE
 * while it has not (and len < HTTP_HEAD_MAX_BYTES), or a negative enum
 * http_error, with *why (static text) saying what is wrong.
 *
 * Refused: a method that is not a token; a target with spaces, control
 * bytes or non-ASCII; a version other than 1.0 and 1.1; bare CR or bare
 * LF; obs-fold; whitespace between a field name and its colon; control
 * bytes other than tab in a value; Content-Length that is not digits or
 * that disagrees with another Content-Length; Transfer-Encoding together
 * with Content-Length; a Transfer-Encoding whose last coding is not
 * chunked, or any Transfer-Encoding in HTTP/1.0; more than one Host; no
 * Host in HTTP/1.1. Up to two empty lines before the request line are
 * skipped (and counted in head_len).
 */
int http_parse_request(const char *buf, size_t len, struct http_head *h,
		       const char **why);

/*
 * Parses a response head the same way. method is the request's method,
 * which decides the framing with the status: no body for HEAD, 1xx, 204
 * and 304; HTTP_BODY_TUNNEL for a 2xx answer to CONNECT and for 101;
 * chunked, Content-Length or until-close otherwise. Transfer-Encoding
 * with Content-Length is refused here too.
 */
int http_parse_response(const char *buf, size_t len, struct http_slice method,
			struct http_head *h, const char **why);

/*
 * Index of the first header named name (ASCII case-insensitive) at or
 * after index from, or -1.
 */
int http_head_find(const struct http_head *h, const char *name, int from);

/* True when s equals the NUL-terminated lit, ASCII case-insensitively. */
bool http_slice_eq(struct http_slice s, const char *lit);

/* True when a comma-separated field value lists token (case-insensitive). */
bool http_list_has(struct http_slice value, const char *token);

/* A request target or Host header, split. */
struct http_target {
	struct http_slice scheme; /* absolute form only: "http" or "https" */
	struct http_slice host;   /* without brackets around IPv6 */
	uint16_t port;            /* 0 when none was written */
	struct http_slice path;   /* absolute form: from '/', may be empty */
};

/*
 * absolute-form: "http://host[:port][/path][?query]" (scheme http or
 * https, either case). Refused: userinfo ('@' in the authority), an empty
 * host, a port that is not 1..65535, a fragment. Returns 0 or
 * HTTP_ERR_SYNTAX with *why.
 */
int http_parse_absolute(struct http_slice target, struct http_target *t,
			const char **why);

/* authority-form of CONNECT: "host:port", the port required. */
int http_parse_authority(struct http_slice target, struct http_target *t,
			 const char **why);

/* A Host header value: "host" or "host:port". */
int http_parse_host_header(struct http_slice value, struct http_target *t,
			   const char **why);

/*
 * Finds where a chunked body ends, incrementally. Start from a zeroed
 * struct. Each call scans len bytes (the bytes themselves are forwarded
 * unchanged by the caller) and returns how many belong to the body: fewer
 * than len only when the body ended inside buf, and then *done is true.
 * Returns HTTP_ERR_SYNTAX on a malformed chunk-size line, a chunk size
 * over 2^62, chunk extensions or trailers over HTTP_HEAD_MAX_BYTES, or a
 * missing CRLF after chunk data.
 */
struct http_chunked {
	int state;
	uint64_t left;     /* data bytes left in the current chunk */
	size_t line_bytes; /* bytes of the current size or trailer line */
	size_t trailer_bytes;
};

ssize_t http_chunked_scan(struct http_chunked *c, const char *buf, size_t len,
			  bool *done);

#endif
