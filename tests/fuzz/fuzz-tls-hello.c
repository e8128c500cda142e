/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for src/gateway/tls-hello.c: each input is the first
 * bytes a client sends on a TLS connection. Beyond memory safety it
 * checks what routing by SNI relies on. An accepted ClientHello is walked
 * again here, records gathered and extensions read, and its server name
 * and ALPN list must be the ones found there, printable and bounded. A
 * reader that takes exactly the *need bytes it is told about reaches the
 * accepted message, never more; and every prefix of the input gives
 * "incomplete" or the same result as the whole: none is refused when the
 * whole is not, or accepted when the whole is not.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "gateway/tls-hello.h"
#include "fuzz.h"

#define RECORD_HEADER_BYTES 5
#define HANDSHAKE_HEADER_BYTES 4
#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
/* Prefixes tried one by one from the start, where the headers are. */
#define PREFIX_HEAD_BYTES 16
/* Further prefixes, spread evenly over the input. */
#define PREFIX_SPREAD 32

static size_t get16(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return false;
	return true;
}

/* Parses the first k bytes from a copy of exactly k bytes. */
static int parse(const uint8_t *buf, size_t k, struct tls_hello *h,
		 size_t *need)
{
	_cleanup_free_ uint8_t *copy = xmalloc(k ? k : 1);
	const char *why = NULL;
	int r;

	memcpy(copy, buf, k);
	*need = 0;
	r = tls_hello_parse(copy, k, h, need, &why);
	CHECK(r == 0 || r == TLS_HELLO_INCOMPLETE ||
	      r == TLS_HELLO_ERR_NOT_TLS || r == TLS_HELLO_ERR_MALFORMED);
	CHECK(r <= 0 || *need > k);
	CHECK(r >= 0 || why != NULL);
	return r;
}

/* ---- an accepted ClientHello, read again ---- */

/* A bounded cursor: every take is checked against what is left. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	CHECK(n <= c->left);
	c->p += n;
	c->left -= n;
	return p;
}

static struct cursor take_vector(struct cursor *c, size_t prefix_bytes)
{
	const uint8_t *p = take(c, prefix_bytes);
	size_t n = prefix_bytes == 1 ? p[0] : get16(p);

	return (struct cursor){ take(c, n), n };
}

/*
 * The handshake message, its fragments joined: every record up to the
 * one that completes it has arrived whole. Returns the body's length.
 */
static size_t gather(const uint8_t *buf, size_t len, uint8_t *msg)
{
	size_t pos = 0, have = 0, want = HANDSHAKE_HEADER_BYTES;

	while (have < want) {
		size_t frag;

		CHECK(len - pos >= RECORD_HEADER_BYTES && buf[pos] == 22);
		frag = get16(buf + pos + 3);
		CHECK(len - pos - RECORD_HEADER_BYTES >= frag);
		memcpy(msg + have, buf + pos + RECORD_HEADER_BYTES, frag);
		have += frag;
		pos += RECORD_HEADER_BYTES + frag;
		if (have >= HANDSHAKE_HEADER_BYTES)
			want = HANDSHAKE_HEADER_BYTES +
			       ((size_t)msg[1] << 16 | get16(msg + 2));
	}
	CHECK(have == want && msg[0] == 1);
	return want - HANDSHAKE_HEADER_BYTES;
}

static void expect_sni(struct cursor ext, struct tls_hello *want)
{
	struct cursor list = take_vector(&ext, 2), name;

	CHECK(*take(&list, 1) == 0);
	name = take_vector(&list, 2);
	CHECK(name.left > 0 && name.left < sizeof(want->sni));
	memcpy(want->sni, name.p, name.left);
	want->has_sni = true;
}

/* Names are kept in order while they fit and print; others are noted. */
static void expect_alpn(struct cursor ext, struct tls_hello *want)
{
	struct cursor list = take_vector(&ext, 2);

	while (list.left > 0) {
		struct cursor name = take_vector(&list, 1);
		bool fits = want->n_alpn < TLS_HELLO_ALPN_MAX &&
			    name.left < sizeof(want->alpn[0]);

		if (!fits || !printable((const char *)name.p, name.left)) {
			want->alpn_truncated = true;
			continue;
		}
		memcpy(want->alpn[want->n_alpn++], name.p, name.left);
	}
}

/* What the parser should have found in the message gathered from buf. */
static void expect_hello(const uint8_t *buf, size_t len,
			 struct tls_hello *want)
{
	_cleanup_free_ uint8_t *msg = xmalloc(len);
	struct cursor m, exts;

	memset(want, 0, sizeof(*want));
	m = (struct cursor){ msg + HANDSHAKE_HEADER_BYTES,
			     gather(buf, len, msg) };
	want->legacy_version = (uint16_t)get16(take(&m, 2));
	take(&m, 32);
	take_vector(&m, 1);
	take_vector(&m, 2);
	take_vector(&m, 1);
	if (m.left == 0)
		return;
	exts = take_vector(&m, 2);
	while (exts.left > 0) {
		size_t type = get16(take(&exts, 2));
		struct cursor body = take_vector(&exts, 2);

		if (type == EXT_SERVER_NAME)
			expect_sni(body, want);
		else if (type == EXT_ALPN)
			expect_alpn(body, want);
	}
}

static void check_hello(const uint8_t *buf, size_t len,
			const struct tls_hello *h)
{
	struct tls_hello want;
	size_t n = strnlen(h->sni, sizeof(h->sni));

	CHECK(h->legacy_version >= 0x0301);
	CHECK(n < sizeof(h->sni) && (n > 0) == h->has_sni);
	CHECK(printable(h->sni, n));
	CHECK(h->n_alpn <= TLS_HELLO_ALPN_MAX);
	for (size_t i = 0; i < h->n_alpn; i++) {
		size_t a = strnlen(h->alpn[i], sizeof(h->alpn[i]));

		CHECK(a > 0 && a < sizeof(h->alpn[i]));
		CHECK(printable(h->alpn[i], a));
	}

	expect_hello(buf, len, &want);
	CHECK(memcmp(h, &want, sizeof(want)) == 0);
}

/* ---- prefixes ---- */

/* The shortest prefix that is accepted, when the whole is. */
static size_t shortest_accepted(const uint8_t *buf, size_t len)
{
	size_t lo = 0, hi = len, need;
	struct tls_hello h;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (parse(buf, mid, &h, &need) == 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * The first k bytes, given the result r of the whole input (accepted at
 * end when r is 0, needing need when incomplete): before end they are
 * incomplete and need no more than end; from end on they are the same
 * message. A prefix of a refused input is incomplete or refused with
 * the same error, and a prefix of one still incomplete is incomplete
 * too, needing no more than the whole needs.
 */
static void check_prefix(const uint8_t *buf, size_t k, int r, size_t end,
			 size_t need, const struct tls_hello *whole)
{
	struct tls_hello h;
	size_t need_k;
	int rk = parse(buf, k, &h, &need_k);

	if (r == 0 && k < end)
		CHECK(rk == TLS_HELLO_INCOMPLETE && need_k <= end);
	else if (r == 0)
		CHECK(rk == 0 && memcmp(&h, whole, sizeof(h)) == 0);
	else if (r == TLS_HELLO_INCOMPLETE)
		CHECK(rk == TLS_HELLO_INCOMPLETE && need_k <= need);
	else
		CHECK(rk == TLS_HELLO_INCOMPLETE || rk == r);
}

/*
 * A reader that reads exactly as many bytes as it is told it needs: it
 * reaches the accepted message at its end, and never reads past it.
 */
static void follow_need(const uint8_t *buf, size_t len, int r, size_t end)
{
	struct tls_hello h;
	size_t k = 0, need;
	int rk;

	for (;;) {
		rk = parse(buf, k, &h, &need);
		if (rk != TLS_HELLO_INCOMPLETE || need > len)
			break;
		k = need;
	}
	if (r == 0)
		CHECK(rk == 0 && k == end);
	else
		CHECK(rk == TLS_HELLO_INCOMPLETE || rk == r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_hello h;
	size_t need, end = 0;
	int r = parse(data, size, &h, &need);

	if (r == 0) {
		check_hello(data, size, &h);
		end = shortest_accepted(data, size);
	}
	for (size_t k = 0; k <= size && k < PREFIX_HEAD_BYTES; k++)
		check_prefix(data, k, r, end, need, &h);
	for (size_t i = 1; i <= PREFIX_SPREAD; i++)
		check_prefix(data, size * i / PREFIX_SPREAD, r, end, need, &h);
	if (end > 0)
		check_prefix(data, end - 1, r, end, need, &h);
	follow_need(data, size, r, end);
	return 0;
}
