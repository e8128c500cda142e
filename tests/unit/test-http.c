/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the HTTP/1.x parsers in src/gateway/http.c: request and
 * response heads (every refusal of the contract, framing and keep-alive),
 * request targets and Host values, and the chunked-body scanner fed at
 * every split point.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "gateway/http.h"

#define OK 1 /* a case that parses, its head being the whole text */

static struct http_head head;

static int parse_req(const char *text)
{
	const char *why = NULL;
	int r = http_parse_request(text, strlen(text), &head, &why);

	if (r < 0 && !why)
		fail_msg("error %d without a reason for %s", r, text);
	return r;
}

static int parse_resp(const char *text, const char *method)
{
	const char *why = NULL;
	struct http_slice m = { method, strlen(method) };
	int r = http_parse_response(text, strlen(text), m, &head, &why);

	if (r < 0 && !why)
		fail_msg("error %d without a reason for %s", r, text);
	return r;
}

static void assert_slice(struct http_slice s, const char *want)
{
	if (s.len != strlen(want) || memcmp(s.p, want, s.len) != 0)
		fail_msg("slice \"%.*s\" (%zu bytes), want \"%s\"", (int)s.len,
			 s.p ? s.p : "", s.len, want);
}

static void assert_result(int got, int want, const char *text)
{
	int w = want == OK ? (int)strlen(text) : want;

	if (got != w)
		fail_msg("%d, want %d for \"%s\"", got, w, text);
}

static void test_request_fields(void **state)
{
	const char *t = "GET /a?b=c HTTP/1.1\r\n"
			"Host: example.com\r\n"
			"X-Empty:\r\n"
			"X-Pad: \t v a l \t \r\n"
			"X-Obs: caf\xc3\xa9\r\n"
			"\r\n";

	assert_result(parse_req(t), OK, t);
	assert_slice(head.method, "GET");
	assert_slice(head.target, "/a?b=c");
	assert_int_equal(head.minor, 1);
	assert_int_equal(head.n_headers, 4);
	assert_slice(head.headers[0].name, "Host");
	assert_slice(head.headers[0].value, "example.com");
	assert_slice(head.headers[1].name, "X-Empty");
	assert_slice(head.headers[1].value, "");
	assert_slice(head.headers[2].value, "v a l");
	assert_slice(head.headers[3].value, "caf\xc3\xa9");
	assert_int_equal(head.host, 0);
	assert_int_equal(head.head_len, strlen(t));
	assert_int_equal(head.framing, HTTP_BODY_NONE);
	assert_true(head.keep_alive);
	assert_false(head.expect_continue);

	/* the head ends at the blank line; the body is not the parser's */
	t = "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc";
	assert_int_equal(parse_req(t), strlen(t) - 3);
	assert_int_equal(head.minor, 0);
	assert_int_equal(head.host, -1);
	assert_int_equal(head.framing, HTTP_BODY_LENGTH);
	assert_int_equal(head.content_length, 3);
	assert_false(head.keep_alive);
}

struct req_case {
	const char *text;
	int want;
	enum http_framing framing;
	uint64_t length;
	bool keep_alive;
};

#define H11 "POST / HTTP/1.1\r\nHost: h\r\n"
#define H10 "POST / HTTP/1.0\r\n"

static void test_request_framing(void **state)
{
	static const struct req_case cases[] = {
		{ H11 "\r\n", OK, HTTP_BODY_NONE, 0, true },
		{ H11 "Content-Length: 5\r\n\r\n", OK, HTTP_BODY_LENGTH, 5,
		  true },
		{ H11 "Content-Length: 0\r\n\r\n", OK, HTTP_BODY_LENGTH, 0,
		  true },
		{ H11 "Content-Length: 5, 5\r\n\r\n", OK, HTTP_BODY_LENGTH, 5,
		  true },
		{ H11 "Content-Length: 5\r\ncontent-length: 5\r\n\r\n", OK,
		  HTTP_BODY_LENGTH, 5, true },
		{ H11 "Content-Length: 9999999999999999999\r\n\r\n", OK,
		  HTTP_BODY_LENGTH, 9999999999999999999ULL, true },
		{ .text = H11 "Content-Length: 00000000000000000007\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: 5, 6\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: +5\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: -5\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: 5 5\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: 0x5\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length: 5,\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Content-Length:\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ H11 "Transfer-Encoding: chunked\r\n\r\n", OK,
		  HTTP_BODY_CHUNKED, 0, true },
		{ H11 "Transfer-Encoding: gzip, CHUNKED\r\n\r\n", OK,
		  HTTP_BODY_CHUNKED, 0, true },
		{ H11 "Transfer-Encoding: gzip\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n",
		  OK, HTTP_BODY_CHUNKED, 0, true },
		{ .text = H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: gzip\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: chunked\r\n"
		      "Transfer-Encoding: chunked\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: , chunked\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding:\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: xchunked\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H11 "Transfer-Encoding: chunked\r\n"
		      "Content-Length: 5\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ .text = H10 "Transfer-Encoding: chunked\r\n\r\n", .want = HTTP_ERR_FRAMING },
		{ H10 "\r\n", OK, HTTP_BODY_NONE, 0, false },
		{ H10 "Connection: keep-alive\r\n\r\n", OK, HTTP_BODY_NONE, 0,
		  true },
		{ H10 "Connection: Keep-Alive, close\r\n\r\n", OK,
		  HTTP_BODY_NONE, 0, false },
		{ H11 "Connection: foo, Close\r\n\r\n", OK, HTTP_BODY_NONE, 0,
		  false },
		{ H11 "Connection: closed\r\n\r\n", OK, HTTP_BODY_NONE, 0,
		  true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct req_case *c = &cases[i];
		int r = parse_req(c->text);

		assert_result(r, c->want, c->text);
		if (c->want != OK)
			continue;
		if (head.framing != c->framing ||
		    head.content_length != c->length ||
		    head.keep_alive != c->keep_alive)
			fail_msg("case %zu: framing %d length %llu keep %d", i,
				 head.framing,
				 (unsigned long long)head.content_length,
				 head.keep_alive);
	}
}

static void test_request_refused(void **state)
{
	static const struct req_case cases[] = {
		{ .text = "\r\nGET / HTTP/1.0\r\n\r\n", .want = OK },
		{ .text = "\r\n\r\nGET / HTTP/1.0\r\n\r\n", .want = OK },
		{ .text = "\r\n\r\n\r\nGET / HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "\nGET / HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\n\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\rX\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\rc\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\r\n\rX", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\r\n c\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\r\n\tc\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\n A: b\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA : b\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA\t: b\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\n: b\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA(b): c\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nno colon\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: \x01\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: b\x7f\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nA: \x1b[m\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "G\"T / HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = " GET / HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET  / HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0 \r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET /  HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET\t/ HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET /\t HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET /\x7f HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET /\xc3\xa9 HTTP/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / http/1.0\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.1x\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/11.1\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET /\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.2\r\n\r\n", .want = HTTP_ERR_VERSION },
		{ .text = "GET / HTTP/2.0\r\n\r\n", .want = HTTP_ERR_VERSION },
		{ .text = "GET / HTTP/0.9\r\n\r\n", .want = HTTP_ERR_VERSION },
		{ .text = "GET / HTTP/1.1\r\n\r\n", .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n",
		  .want = HTTP_ERR_SYNTAX },
		{ .text = "GET / HTTP/1.0\r\nHost: a\r\nhOST: b\r\n\r\n",
		  .want = HTTP_ERR_SYNTAX },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_result(parse_req(cases[i].text), cases[i].want,
			      cases[i].text);
}

static void test_request_expect_host(void **state)
{
	const char *t = "PUT /x HTTP/1.1\r\nA: 1\r\nhost: h\r\n"
			"Expect: 100-Continue\r\n\r\n";

	assert_result(parse_req(t), OK, t);
	assert_true(head.expect_continue);
	assert_int_equal(head.host, 1);
	assert_int_equal(http_head_find(&head, "HOST", 0), 1);
	assert_int_equal(http_head_find(&head, "expect", 0), 2);
	assert_int_equal(http_head_find(&head, "expect", 3), -1);
	assert_int_equal(http_head_find(&head, "a", -5), 0);
	assert_int_equal(http_head_find(&head, "a", 1), -1);
	assert_int_equal(http_head_find(&head, "ho", 0), -1);

	t = "PUT /x HTTP/1.1\r\nhost: h\r\nExpect: 100-continuex\r\n\r\n";
	assert_result(parse_req(t), OK, t);
	assert_false(head.expect_continue);
}

/* Every prefix of a valid head is INCOMPLETE; an error shows at once. */
static void test_request_prefixes(void **state)
{
	const char *t = "\r\nPOST http://a.com/x HTTP/1.1\r\n"
			"Host: a.com\r\nContent-Length: 10, 10\r\n"
			"X: \t\xff y \r\n\r\n";
	const char *bad = "GET / HTTP/1.1\r\nHost: a\r\nX: y\n";
	size_t n = strlen(t);

	for (size_t k = 0; k < n; k++) {
		const char *why = NULL;
		int r = http_parse_request(t, k, &head, &why);

		if (r != HTTP_INCOMPLETE)
			fail_msg("prefix %zu: %d (%s)", k, r, why);
	}
	assert_int_equal(parse_req(t), n);
	assert_int_equal(head.content_length, 10);

	assert_int_equal(http_parse_request(bad, strlen(bad), &head, NULL),
			 HTTP_ERR_SYNTAX);
	assert_int_equal(http_parse_request(bad, strlen(bad) - 1, &head, NULL),
			 HTTP_INCOMPLETE);
}

static bool is_tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

/* The class table against the RFC 9110 grammar, byte by byte. */
static void test_byte_classes(void **state)
{
	char buf[128];

	for (int c = 0; c < 256; c++) {
		bool value_ok = c == '\t' || (c >= 0x20 && c != 0x7f);
		bool target_ok = c > 0x20 && c < 0x7f;
		int r, n;

		n = snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.0\r\nA%cB: v\r\n\r\n", c ? c : '?');
		buf[17] = (char)c;
		r = http_parse_request(buf, (size_t)n, &head, NULL);
		/* "A:B: v" is a field A whose value is "B: v" */
		if ((r > 0) != (is_tchar(c) || c == ':'))
			fail_msg("byte 0x%02x in a field name: %d", c, r);

		n = snprintf(buf, sizeof(buf),
			     "GET / HTTP/1.0\r\nA: x?y\r\n\r\n");
		buf[20] = (char)c;
		r = http_parse_request(buf, (size_t)n, &head, NULL);
		if ((r > 0) != (value_ok && c != '\r' && c != '\n'))
			fail_msg("byte 0x%02x in a field value: %d", c, r);

		n = snprintf(buf, sizeof(buf), "GET /?x HTTP/1.0\r\n\r\n");
		buf[5] = (char)c;
		r = http_parse_request(buf, (size_t)n, &head, NULL);
		if ((r > 0) != target_ok)
			fail_msg("byte 0x%02x in a target: %d", c, r);

		n = snprintf(buf, sizeof(buf), "G?T / HTTP/1.0\r\n\r\n");
		buf[1] = (char)c;
		r = http_parse_request(buf, (size_t)n, &head, NULL);
		if ((r > 0) != is_tchar(c))
			fail_msg("byte 0x%02x in a method: %d", c, r);
	}
}

static void test_request_limits(void **state)
{
	size_t cap = HTTP_HEAD_MAX_BYTES + 64, n = 0;
	_cleanup_free_ char *buf = xmalloc(cap);
	const char *why = NULL;

	n = (size_t)snprintf(buf, cap, "GET / HTTP/1.0\r\n");
	for (int i = 0; i < HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n, "X%d: y\r\n", i);
	memcpy(buf + n, "\r\n", 2);
	assert_int_equal(http_parse_request(buf, n + 2, &head, &why), n + 2);
	assert_int_equal(head.n_headers, HTTP_HEADERS_MAX);

	memcpy(buf + n, "Z: y\r\n\r\n", 8);
	assert_int_equal(http_parse_request(buf, n + 8, &head, &why),
			 HTTP_ERR_TOO_LARGE);

	/* one long field: a head of exactly the limit is still taken */
	n = (size_t)snprintf(buf, cap, "GET / HTTP/1.0\r\nX: ");
	memset(buf + n, 'v', HTTP_HEAD_MAX_BYTES - n - 4);
	memcpy(buf + HTTP_HEAD_MAX_BYTES - 4, "\r\n\r\n", 4);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX_BYTES, &head,
					    &why),
			 HTTP_HEAD_MAX_BYTES);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX_BYTES - 1,
					    &head, &why),
			 HTTP_INCOMPLETE);
	assert_int_equal(http_parse_request(buf, cap, &head, &why),
			 HTTP_HEAD_MAX_BYTES);

	memset(buf + HTTP_HEAD_MAX_BYTES - 4, 'v', cap - HTTP_HEAD_MAX_BYTES + 4);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX_BYTES, &head,
					    &why),
			 HTTP_ERR_TOO_LARGE);
	assert_int_equal(http_parse_request(buf, cap, &head, &why),
			 HTTP_ERR_TOO_LARGE);
}

struct resp_case {
	const char *text;
	const char *method;
	int want;
	enum http_framing framing;
	bool keep_alive;
};

#define R11 "HTTP/1.1 200 OK\r\n"

static void test_response_framing(void **state)
{
	static const struct resp_case cases[] = {
		{ R11 "Content-Length: 7\r\n\r\n", "GET", OK,
		  HTTP_BODY_LENGTH, true },
		{ R11 "Content-Length: 7\r\n\r\n", "HEAD", OK, HTTP_BODY_NONE,
		  true },
		{ R11 "Transfer-Encoding: chunked\r\n\r\n", "HEAD", OK,
		  HTTP_BODY_NONE, true },
		{ R11 "\r\n", "GET", OK, HTTP_BODY_UNTIL_CLOSE, false },
		{ R11 "Transfer-Encoding: chunked\r\n\r\n", "GET", OK,
		  HTTP_BODY_CHUNKED, true },
		{ R11 "Transfer-Encoding: chunked, gzip\r\n\r\n", "GET", OK,
		  HTTP_BODY_UNTIL_CLOSE, false },
		{ R11 "Transfer-Encoding: gzip\r\n\r\n", "GET", OK,
		  HTTP_BODY_UNTIL_CLOSE, false },
		{ .text = R11 "Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", .method = "GET", .want = HTTP_ERR_FRAMING },
		{ .text = R11 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n", .method = "GET", .want = HTTP_ERR_FRAMING },
		{ .text = R11 "Content-Length: x\r\n\r\n", .method = "HEAD", .want = HTTP_ERR_FRAMING },
		{ .text = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		  "GET", .want = HTTP_ERR_FRAMING },
		{ "HTTP/1.1 204 No Content\r\n\r\n", "GET", OK,
		  HTTP_BODY_NONE, true },
		{ "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		  "GET", OK, HTTP_BODY_NONE, true },
		{ "HTTP/1.1 100 Continue\r\n\r\n", "POST", OK, HTTP_BODY_NONE,
		  true },
		{ "HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET", OK,
		  HTTP_BODY_TUNNEL, true },
		{ R11 "\r\n", "CONNECT", OK, HTTP_BODY_TUNNEL, true },
		{ "HTTP/1.1 299 X\r\n\r\n", "CONNECT", OK, HTTP_BODY_TUNNEL,
		  true },
		{ "HTTP/1.1 200 X\r\n\r\n", "connect", OK,
		  HTTP_BODY_UNTIL_CLOSE, false },
		{ R11 "Content-Length: 7\r\n\r\n", "head", OK,
		  HTTP_BODY_LENGTH, true },
		{ "HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", "CONNECT",
		  OK, HTTP_BODY_LENGTH, true },
		{ "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", "GET", OK,
		  HTTP_BODY_LENGTH, false },
		{ "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
		  "Content-Length: 1\r\n\r\n",
		  "GET", OK, HTTP_BODY_LENGTH, true },
		{ R11 "Connection: close\r\nContent-Length: 1\r\n\r\n", "GET",
		  OK, HTTP_BODY_LENGTH, false },
		{ R11 "Host: a\r\nHost: b\r\n\r\n", "HEAD", OK, HTTP_BODY_NONE,
		  true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct resp_case *c = &cases[i];

		assert_result(parse_resp(c->text, c->method), c->want,
			      c->text);
		if (c->want != OK)
			continue;
		if (head.framing != c->framing ||
		    head.keep_alive != c->keep_alive)
			fail_msg("case %zu: framing %d keep %d", i,
				 head.framing, head.keep_alive);
		assert_int_equal(head.host, -1);
	}
}

static void test_response_status_line(void **state)
{
	static const struct resp_case bad[] = {
		{ .text = "HTTP/1.1 099 X\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 600 X\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 20 X\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 2000\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1  200 OK\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 200 O\x01K\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 200 OK\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", .method = "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "\r\nHTTP/1.1 200 OK\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/1.1\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/2 200\r\n\r\n", "GET", .want = HTTP_ERR_SYNTAX },
		{ .text = "HTTP/2.0 200\r\n\r\n", "GET", .want = HTTP_ERR_VERSION },
	};
	const char *t;

	t = "HTTP/1.1 404 Not \xe9 Found\r\nContent-Length: 2\r\n\r\n";
	assert_result(parse_resp(t, "GET"), OK, t);
	assert_int_equal(head.status, 404);
	assert_slice(head.reason, "Not \xe9 Found");
	assert_int_equal(head.content_length, 2);
	assert_int_equal(head.minor, 1);

	t = "HTTP/1.0 200 \r\n\r\n";
	assert_result(parse_resp(t, "GET"), OK, t);
	assert_int_equal(head.status, 200);
	assert_slice(head.reason, "");
	assert_int_equal(head.minor, 0);

	t = "HTTP/1.1 599\r\n\r\n";
	assert_result(parse_resp(t, "GET"), OK, t);
	assert_int_equal(head.status, 599);
	assert_slice(head.reason, "");

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_result(parse_resp(bad[i].text, bad[i].method),
			      bad[i].want, bad[i].text);

	t = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	for (size_t k = 0; k < strlen(t); k++) {
		struct http_slice m = { "GET", 3 };

		assert_int_equal(http_parse_response(t, k, m, &head, NULL),
				 HTTP_INCOMPLETE);
	}
}

static void test_slices(void **state)
{
	struct http_slice v = { "a, Keep-Alive ,,\tclose", 22 };

	assert_true(http_slice_eq((struct http_slice){ "CHunked", 7 },
				  "chunked"));
	assert_false(http_slice_eq((struct http_slice){ "chunke", 6 },
				   "chunked"));
	assert_false(http_slice_eq((struct http_slice){ "chunked", 7 },
				   "chunke"));
	assert_true(http_list_has(v, "keep-alive"));
	assert_true(http_list_has(v, "CLOSE"));
	assert_true(http_list_has(v, "a"));
	assert_false(http_list_has(v, "keep"));
	assert_false(http_list_has((struct http_slice){ NULL, 0 }, "a"));
	assert_false(http_list_has((struct http_slice){ "", 0 }, "a"));
}

struct target_case {
	const char *in;
	int kind; /* 'a' absolute, 'c' CONNECT authority, 'h' Host */
	bool ok;
	const char *scheme, *host;
	uint16_t port;
	const char *path;
};

static void check_target(const struct target_case *c)
{
	struct http_slice s = { c->in, strlen(c->in) };
	struct http_target t;
	const char *why = NULL;
	int r;

	if (c->kind == 'a')
		r = http_parse_absolute(s, &t, &why);
	else if (c->kind == 'c')
		r = http_parse_authority(s, &t, &why);
	else
		r = http_parse_host_header(s, &t, &why);
	if (!c->ok) {
		if (r != HTTP_ERR_SYNTAX || !why)
			fail_msg("%s: %d, want a refusal", c->in, r);
		return;
	}
	if (r != 0)
		fail_msg("%s: refused (%s)", c->in, why);
	assert_slice(t.scheme, c->scheme);
	assert_slice(t.host, c->host);
	assert_int_equal(t.port, c->port);
	assert_slice(t.path, c->path);
}

static void test_targets(void **state)
{
	static const struct target_case cases[] = {
		{ "http://a.com", 'a', true, "http", "a.com", 0, "" },
		{ "http://a.com/", 'a', true, "http", "a.com", 0, "/" },
		{ "HTTPS://A.com:8443/x?y=/z", 'a', true, "HTTPS", "A.com",
		  8443, "/x?y=/z" },
		{ "http://a.com?x", 'a', true, "http", "a.com", 0, "?x" },
		{ "http://a.com:65535/", 'a', true, "http", "a.com", 65535,
		  "/" },
		{ "http://a.com:080/", 'a', true, "http", "a.com", 80, "/" },
		{ "http://[::1]:8080/p", 'a', true, "http", "::1", 8080,
		  "/p" },
		{ "http://[::ffff:1.2.3.4]", 'a', true, "http",
		  "::ffff:1.2.3.4", 0, "" },
		{ "http://a_b-c.d/x@y", 'a', true, "http", "a_b-c.d", 0,
		  "/x@y" },
		{ "http://127.0.0.1:1/", 'a', true, "http", "127.0.0.1", 1,
		  "/" },
		{ .in = "http://user@a.com/", .kind = 'a' },
		{ .in = "http://u:p@a.com/", .kind = 'a' },
		{ .in = "http://@a.com/", .kind = 'a' },
		{ .in = "http://a.com:0/", .kind = 'a' },
		{ .in = "http://a.com:65536/", .kind = 'a' },
		{ .in = "http://a.com:000080/", .kind = 'a' },
		{ .in = "http://a.com:/", .kind = 'a' },
		{ .in = "http://a.com:+80/", .kind = 'a' },
		{ .in = "http://a.com:80:90/", .kind = 'a' },
		{ .in = "http://a.com:8a/", .kind = 'a' },
		{ .in = "http:///x", .kind = 'a' },
		{ .in = "http://", .kind = 'a' },
		{ .in = "http://:80/", .kind = 'a' },
		{ .in = "ftp://a.com/", .kind = 'a' },
		{ .in = "http:/a.com/", .kind = 'a' },
		{ .in = "//a.com/", .kind = 'a' },
		{ .in = "/path", .kind = 'a' },
		{ .in = "", .kind = 'a' },
		{ .in = "http://a.com/#f", .kind = 'a' },
		{ .in = "http://a.com#f", .kind = 'a' },
		{ .in = "http://a.com/ x", .kind = 'a' },
		{ .in = "http://a.com/\x80", .kind = 'a' },
		{ .in = "http://a\\b.com/", .kind = 'a' },
		{ .in = "http://a.com\\@b.com/", .kind = 'a' },
		{ .in = "http://a\"b/", .kind = 'a' },
		{ .in = "http://[::1/", .kind = 'a' },
		{ .in = "http://[]/", .kind = 'a' },
		{ .in = "http://[::1]x/", .kind = 'a' },
		{ .in = "http://[::1]:/", .kind = 'a' },
		{ .in = "http://[fe80::1%25eth0]/", .kind = 'a' },
		{ .in = "http://[v1.x]/", .kind = 'a' },
		{ "a.com:443", 'c', true, "", "a.com", 443, "" },
		{ "[2001:db8::1]:443", 'c', true, "", "2001:db8::1", 443, "" },
		{ .in = "a.com", .kind = 'c' },
		{ .in = "[::1]", .kind = 'c' },
		{ .in = ":443", .kind = 'c' },
		{ .in = "a.com:", .kind = 'c' },
		{ .in = "u@a.com:443", .kind = 'c' },
		{ .in = "a.com:443/", .kind = 'c' },
		{ .in = "http://a.com:443", .kind = 'c' },
		{ .in = "a.com:99999", .kind = 'c' },
		{ .in = "", .kind = 'c' },
		{ "a.com", 'h', true, "", "a.com", 0, "" },
		{ "a.com:8080", 'h', true, "", "a.com", 8080, "" },
		{ "[::1]", 'h', true, "", "::1", 0, "" },
		{ "[::1]:81", 'h', true, "", "::1", 81, "" },
		{ .in = "", .kind = 'h' },
		{ .in = "a.com:0", .kind = 'h' },
		{ .in = "a b", .kind = 'h' },
		{ .in = "a.com/", .kind = 'h' },
		{ .in = "a@b", .kind = 'h' },
		{ .in = "a.com\t", .kind = 'h' },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_target(&cases[i]);
}

/* ---- chunked ---- */

/*
 * Feeds msg in pieces cut at the offsets in cuts, stopping at the first
 * error. Returns the total the scanner claimed for the body, or
 * HTTP_ERR_SYNTAX; *done as the last call left it.
 */
static ssize_t scan_pieces(const char *msg, size_t len, const size_t *cuts,
			   size_t n_cuts, bool *done)
{
	struct http_chunked c = { 0 };
	size_t from = 0, total = 0;

	*done = false;
	for (size_t i = 0; i <= n_cuts; i++) {
		size_t to = i < n_cuts ? cuts[i] : len;
		ssize_t r = http_chunked_scan(&c, msg + from, to - from, done);

		if (r < 0)
			return r;
		if (r < (ssize_t)(to - from) && !*done)
			fail_msg("short count %zd without done", r);
		total += (size_t)r;
		if (*done)
			return (ssize_t)total;
		from = to;
	}
	return (ssize_t)total;
}

/*
 * The result of a scan of msg (want bytes and done, or an error) must not
 * depend on how it is split: whole, at every single cut point, at every
 * pair of cuts for short messages, and byte by byte.
 */
static void check_chunked(const char *msg, size_t len, ssize_t want,
			  bool want_done)
{
	size_t cuts[2], *bytes = xcalloc(len + 1, sizeof(*bytes));
	bool done;
	ssize_t r;

	r = scan_pieces(msg, len, NULL, 0, &done);
	if (r != want || (r >= 0 && done != want_done))
		fail_msg("whole \"%.*s\": %zd done %d", (int)len, msg, r, done);
	for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
		r = scan_pieces(msg, len, cuts, 1, &done);
		if (r != want || (r >= 0 && done != want_done))
			fail_msg("cut at %zu: %zd", cuts[0], r);
		for (cuts[1] = cuts[0]; len < 200 && cuts[1] <= len; cuts[1]++)
			if (scan_pieces(msg, len, cuts, 2, &done) != want)
				fail_msg("cuts %zu %zu", cuts[0], cuts[1]);
	}
	for (size_t i = 0; i < len; i++)
		bytes[i] = i + 1;
	r = scan_pieces(msg, len, bytes, len, &done);
	if (r != want || (r >= 0 && done != want_done))
		fail_msg("byte by byte: %zd", r);
	free(bytes);
}

static void chunked_case(const char *msg, ssize_t want, bool done)
{
	check_chunked(msg, strlen(msg), want, done);
}

static void test_chunked_accepted(void **state)
{
	static const char body[] = "5\r\nhello\r\n"
				   "1A;ext=1; flag ;q=\"a \\\"b\\\" ;\"\r\n"
				   "abcdefghijklmnopqrstuvwxyz\r\n"
				   "0000\r\nTrailer-A: x y\r\nB:\r\n\r\n";
	const char *next = "GET / HTTP/1.1\r\n";
	char buf[256];

	chunked_case(body, (ssize_t)strlen(body), true);
	snprintf(buf, sizeof(buf), "%s%s", body, next);
	chunked_case(buf, (ssize_t)strlen(body), true);

	chunked_case("0\r\n\r\n", 5, true);
	chunked_case("0\r\n\r\nX", 5, true);
	chunked_case("a\r\n0123456789\r\n0\r\n\r\n", 20, true);
	chunked_case("1;a=b\r\nx\r\n0;last\r\n\r\n", 20, true);
	chunked_case("1 ;a\t=\tb\r\nx\r\n0\r\n\r\n", 18, true);
	chunked_case("1;a=\"\xff\"\r\nx\r\n0\r\n\r\n", 17, true);
	chunked_case("1;a=\"\\\xff\"\r\nx\r\n0\r\n\r\n", 18, true);
	chunked_case("5\r\nhel", 6, false);
	chunked_case("4000000000000000\r\nabc", 21, false);
	chunked_case("", 0, false);
}

static void test_chunked_refused(void **state)
{
	static const char *const bad[] = {
		"x\r\n",
		"\r\n",
		" 5\r\nhello\r\n0\r\n\r\n",
		"-5\r\n",
		"0x5\r\n",
		"5\n",
		"5\rx",
		"5\r\nhelloX\r\n",
		"5\r\nhello\rX",
		"5\r\nhello\n0\r\n\r\n",
		"4000000000000001\r\n",
		"10000000000000000\r\n",
		"5 \r\n",
		"5;\r\n",
		"5; \r\n",
		"5;a=\r\n",
		"5;a=b \r\n",
		"5;a \r\n",
		"5;=b\r\n",
		"5;a=b=c\r\n",
		"5;a=\"b\r\n",
		"5;a=\"b\"c\r\n",
		"5;a=\"\x01\"\r\n",
		"5;a\x01\r\n",
		"5;a\nb\r\n",
		"5 5\r\n",
		"0\r\n\n",
		"0\r\n\rX",
		"0\r\nX: y\n\r\n",
		"0\r\nX: y\r\n z\r\n\r\n",
		"0\r\n X: y\r\n\r\n",
		"0\r\nno colon\r\n\r\n",
		"0\r\nX : y\r\n\r\n",
		"0\r\n: y\r\n\r\n",
		"0\r\nX: \x7f\r\n\r\n",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		chunked_case(bad[i], HTTP_ERR_SYNTAX, false);
}

static void test_chunked_limits(void **state)
{
	size_t cap = 2 * HTTP_HEAD_MAX_BYTES, n;
	_cleanup_free_ char *buf = xmalloc(cap);
	struct http_chunked c = { 0 };
	bool done;

	/* a size line of exactly the limit (its CR included), then over */
	buf[0] = '1';
	buf[1] = ';';
	memset(buf + 2, 'e', HTTP_HEAD_MAX_BYTES - 2);
	assert_int_equal(http_chunked_scan(&c, buf, HTTP_HEAD_MAX_BYTES - 1,
					   &done),
			 HTTP_HEAD_MAX_BYTES - 1);
	assert_int_equal(http_chunked_scan(&c, "\r\nx\r\n0\r\n\r\n", 10,
					   &done),
			 10);
	assert_true(done);
	c = (struct http_chunked){ 0 };
	assert_int_equal(http_chunked_scan(&c, buf, HTTP_HEAD_MAX_BYTES,
					   &done),
			 HTTP_HEAD_MAX_BYTES);
	assert_int_equal(http_chunked_scan(&c, "\r\n", 2, &done),
			 HTTP_ERR_SYNTAX);

	/*
	 * The trailer section counts as a whole, CRLFs included: 5461 lines
	 * of 6 bytes and the final CRLF make exactly HTTP_HEAD_MAX_BYTES.
	 */
	for (int lines = 5461; lines <= 5462; lines++) {
		n = (size_t)snprintf(buf, cap, "0\r\n");
		for (int i = 0; i < lines; i++)
			n += (size_t)snprintf(buf + n, cap - n, "X: y\r\n");
		n += (size_t)snprintf(buf + n, cap - n, "\r\n");
		c = (struct http_chunked){ 0 };
		assert_int_equal(http_chunked_scan(&c, buf, n, &done),
				 lines == 5461 ? (ssize_t)n : HTTP_ERR_SYNTAX);
	}
	assert_int_equal(6 * 5461 + 2, HTTP_HEAD_MAX_BYTES);
}

static void test_chunked_after_end(void **state)
{
	struct http_chunked c = { 0 };
	bool done = true;

	assert_int_equal(http_chunked_scan(&c, "0\r\n\r", 4, &done), 4);
	assert_false(done);
	assert_int_equal(http_chunked_scan(&c, "\nrest", 5, &done), 1);
	assert_true(done);
	assert_int_equal(http_chunked_scan(&c, "more", 4, &done), 0);
	assert_true(done);

	c = (struct http_chunked){ 0 };
	assert_int_equal(http_chunked_scan(&c, "z", 1, &done),
			 HTTP_ERR_SYNTAX);
	assert_int_equal(http_chunked_scan(&c, "0\r\n\r\n", 5, &done),
			 HTTP_ERR_SYNTAX);
	assert_int_equal(http_chunked_scan(&c, "", 0, &done),
			 HTTP_ERR_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_fields),
		cmocka_unit_test(test_request_framing),
		cmocka_unit_test(test_request_refused),
		cmocka_unit_test(test_request_expect_host),
		cmocka_unit_test(test_request_prefixes),
		cmocka_unit_test(test_byte_classes),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_response_status_line),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_chunked_accepted),
		cmocka_unit_test(test_chunked_refused),
		cmocka_unit_test(test_chunked_limits),
		cmocka_unit_test(test_chunked_after_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
