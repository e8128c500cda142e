/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the ClientHello parser in src/gateway/tls-hello.c:
 * ClientHellos built here byte by byte (one record or split over many),
 * one captured from OpenSSL's s_client, every prefix of each, and every
 * refusal of the contract.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "gateway/tls-hello.h"

/*
 * "openssl s_client -connect 127.0.0.1:PORT -servername example.test
 * -alpn h2,http/1.1" (OpenSSL 3.0.19), its first 336 bytes as a loopback
 * listener received them; also tests/fuzz/corpus/tls-hello.
 */
static const uint8_t openssl_hello[] = {
	0x16, 0x03, 0x01, 0x01, 0x4b, 0x01, 0x00, 0x01, 0x47, 0x03, 0x03, 0x79,
	0x58, 0x3b, 0xdb, 0x66, 0xcf, 0x21, 0xc2, 0x63, 0x48, 0x38, 0x1f, 0x81,
	0x8c, 0x0e, 0xc3, 0xbd, 0x64, 0x08, 0x6a, 0x2d, 0xb3, 0x90, 0x71, 0xa8,
	0x3f, 0xd2, 0xdd, 0xd7, 0x53, 0x1f, 0xf9, 0x20, 0x33, 0xfc, 0x12, 0xc0,
	0x57, 0x02, 0x43, 0xd7, 0x5e, 0x84, 0xd8, 0xb4, 0x52, 0x80, 0xd7, 0x9a,
	0x3f, 0x5d, 0x2b, 0x71, 0x2f, 0x5a, 0x34, 0xf9, 0x56, 0x8f, 0x28, 0x8d,
	0x24, 0x61, 0x87, 0xc6, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
	0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
	0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
	0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
	0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
	0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xc0,
	0x00, 0x00, 0x00, 0x11, 0x00, 0x0f, 0x00, 0x00, 0x0c, 0x65, 0x78, 0x61,
	0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x00, 0x0b, 0x00,
	0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00, 0x16, 0x00, 0x14, 0x00,
	0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00, 0x18, 0x01, 0x00, 0x01,
	0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00, 0x23, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x0e, 0x00, 0x0c, 0x02, 0x68, 0x32, 0x08, 0x68, 0x74, 0x74,
	0x70, 0x2f, 0x31, 0x2e, 0x31, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00,
	0x00, 0x00, 0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06,
	0x03, 0x08, 0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08,
	0x04, 0x08, 0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03,
	0x03, 0x03, 0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00,
	0x2b, 0x00, 0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01,
	0x00, 0x2d, 0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24,
	0x00, 0x1d, 0x00, 0x20, 0x3c, 0xfb, 0x24, 0x7e, 0x4b, 0x9d, 0x1b, 0xb8,
	0xf5, 0x19, 0xe5, 0xb5, 0x70, 0xb4, 0x86, 0x6c, 0x57, 0x28, 0xc9, 0x8b,
	0x88, 0x8c, 0xad, 0x12, 0x2e, 0xe8, 0x63, 0x85, 0x3c, 0x0f, 0xee, 0x22
};

#define BUILD_MAX_BYTES (3 * TLS_HELLO_MAX_BYTES)

struct build {
	uint8_t p[BUILD_MAX_BYTES];
	size_t n;
};

static void put(struct build *b, const void *s, size_t n)
{
	assert_true(b->n + n <= sizeof(b->p));
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void put8(struct build *b, unsigned int v)
{
	uint8_t c = (uint8_t)v;

	put(b, &c, 1);
}

static void put16(struct build *b, unsigned int v)
{
	put8(b, v >> 8);
	put8(b, v);
}

/* Reserves a length of bytes (1 to 3) to be filled by len_close. */
static size_t len_open(struct build *b, size_t bytes)
{
	size_t at = b->n;

	for (size_t i = 0; i < bytes; i++)
		put8(b, 0);
	return at;
}

static void len_close(struct build *b, size_t at, size_t bytes)
{
	size_t n = b->n - at - bytes;

	for (size_t i = 0; i < bytes; i++)
		b->p[at + i] = (uint8_t)(n >> (8 * (bytes - 1 - i)));
}

static void ext_sni(struct build *b, const char *name, size_t len)
{
	size_t ext, list, host;

	put16(b, 0);
	ext = len_open(b, 2);
	list = len_open(b, 2);
	put8(b, 0);
	host = len_open(b, 2);
	put(b, name, len);
	len_close(b, host, 2);
	len_close(b, list, 2);
	len_close(b, ext, 2);
}

/* names: NUL-separated, ended by an empty name (like an argz vector) */
static void ext_alpn(struct build *b, const char *names, size_t len)
{
	size_t ext, list;

	put16(b, 16);
	ext = len_open(b, 2);
	list = len_open(b, 2);
	for (size_t i = 0; i < len;) {
		size_t l = strlen(names + i);

		put8(b, (unsigned int)l);
		put(b, names + i, l);
		i += l + 1;
	}
	len_close(b, list, 2);
	len_close(b, ext, 2);
}

static void ext_raw(struct build *b, unsigned int type, size_t len)
{
	put16(b, type);
	put16(b, (unsigned int)len);
	for (size_t i = 0; i < len; i++)
		put8(b, 0);
}

/*
 * A ClientHello handshake message (header included) whose extension
 * block holds the bytes of exts, or that has no block at all.
 */
static void hello_message(struct build *m, const struct build *exts,
			  bool with_exts)
{
	static const uint8_t random[32] = { 1, 2, 3 };
	size_t body;

	m->n = 0;
	put8(m, 1);
	body = len_open(m, 3);
	put16(m, 0x0303);
	put(m, random, sizeof(random));
	put8(m, 32);
	put(m, random, 32);
	put16(m, 4);
	put16(m, 0x1301);
	put16(m, 0xc02f);
	put8(m, 1);
	put8(m, 0);
	if (with_exts) {
		put16(m, (unsigned int)exts->n);
		put(m, exts->p, exts->n);
	}
	len_close(m, body, 3);
}

/* Wraps a handshake message in records of at most frag bytes. */
static void records(struct build *out, const struct build *m, size_t frag)
{
	out->n = 0;
	for (size_t i = 0; i < m->n; i += frag) {
		size_t n = m->n - i < frag ? m->n - i : frag;

		put8(out, 22);
		put16(out, 0x0301);
		put16(out, (unsigned int)n);
		put(out, m->p + i, n);
	}
}

static struct build exts, msg, wire;
static struct tls_hello hello;

static int parse(const struct build *b)
{
	const char *why = NULL;
	size_t need = 0;
	int r = tls_hello_parse(b->p, b->n, &hello, &need, &why);

	if (r < 0 && !why)
		fail_msg("error %d without a reason", r);
	return r;
}

/*
 * Every proper prefix is INCOMPLETE with a need past it and no larger
 * than the whole; the whole parses.
 */
static void check_prefixes(const uint8_t *p, size_t len)
{
	for (size_t k = 0; k < len; k++) {
		struct tls_hello h;
		const char *why = NULL;
		size_t need = 0;
		int r = tls_hello_parse(p, k, &h, &need, &why);

		if (r != TLS_HELLO_INCOMPLETE || need <= k || need > len)
			fail_msg("prefix %zu of %zu: %d need %zu (%s)", k, len,
				 r, need, why ? why : "");
	}
	assert_int_equal(tls_hello_parse(p, len, &hello, NULL, NULL), 0);
}

static void build_standard(void)
{
	exts.n = 0;
	ext_raw(&exts, 0x0a0a, 0);
	ext_sni(&exts, "api.example.com", 15);
	ext_raw(&exts, 43, 3);
	ext_alpn(&exts, "h2\0http/1.1\0", 12);
	hello_message(&msg, &exts, true);
}

static void test_openssl(void **state)
{
	static const uint8_t *const p = openssl_hello;
	size_t need = 0;

	assert_int_equal(tls_hello_parse(p, sizeof(openssl_hello), &hello,
					 &need, NULL),
			 0);
	assert_true(hello.has_sni);
	assert_string_equal(hello.sni, "example.test");
	assert_int_equal(hello.n_alpn, 2);
	assert_string_equal(hello.alpn[0], "h2");
	assert_string_equal(hello.alpn[1], "http/1.1");
	assert_false(hello.alpn_truncated);
	assert_int_equal(hello.legacy_version, 0x0303);
	check_prefixes(p, sizeof(openssl_hello));

	/* one record announces all: its end is the need from byte 5 on */
	assert_int_equal(tls_hello_parse(p, 5, &hello, &need, NULL),
			 TLS_HELLO_INCOMPLETE);
	assert_int_equal(need, sizeof(openssl_hello));
}

static void check_standard(void)
{
	assert_true(hello.has_sni);
	assert_string_equal(hello.sni, "api.example.com");
	assert_int_equal(hello.n_alpn, 2);
	assert_string_equal(hello.alpn[0], "h2");
	assert_string_equal(hello.alpn[1], "http/1.1");
	assert_false(hello.alpn_truncated);
	assert_int_equal(hello.legacy_version, 0x0303);
}

static void test_built(void **state)
{
	static const size_t frags[] = { 16384, 200, 100, 7, 4, 3, 2, 1 };

	build_standard();
	for (size_t i = 0; i < ARRAY_SIZE(frags); i++) {
		records(&wire, &msg, frags[i]);
		check_prefixes(wire.p, wire.n);
		check_standard();

		/* what follows the ClientHello's records is not read */
		put(&wire, "\x17\x03\x03\x00\x01z", 6);
		assert_int_equal(parse(&wire), 0);
		check_standard();
	}
}

static void test_no_extensions(void **state)
{
	exts.n = 0;
	hello_message(&msg, &exts, false);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), 0);
	assert_false(hello.has_sni);
	assert_int_equal(hello.n_alpn, 0);

	hello_message(&msg, &exts, true);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), 0);
	assert_false(hello.has_sni);
}

/* The largest message, over two records, and one byte more. */
static void test_size_limit(void **state)
{
	size_t base;

	exts.n = 0;
	ext_sni(&exts, "big.test", 8);
	hello_message(&msg, &exts, true);
	base = msg.n - 4;
	ext_raw(&exts, 21, TLS_HELLO_MAX_BYTES - base - 4);
	hello_message(&msg, &exts, true);
	assert_int_equal(msg.n, 4 + TLS_HELLO_MAX_BYTES);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), 0);
	assert_string_equal(hello.sni, "big.test");
	records(&wire, &msg, 1000);
	assert_int_equal(parse(&wire), 0);

	exts.n = 0;
	ext_sni(&exts, "big.test", 8);
	ext_raw(&exts, 21, TLS_HELLO_MAX_BYTES - base - 3);
	hello_message(&msg, &exts, true);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);
	/* refused as soon as the handshake header has arrived */
	assert_int_equal(tls_hello_parse(wire.p, 9, &hello, NULL, NULL),
			 TLS_HELLO_ERR_MALFORMED);
}

static void test_not_tls(void **state)
{
	static const char *const inputs[] = {
		"GET / HTTP/1.1\r\n", "\x17\x03\x03\x00\x10", "\x16\x02",
		"\x16\x04\x01", "\x80\x2e\x01",
	};
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(inputs); i++) {
		why = NULL;
		assert_int_equal(tls_hello_parse((const uint8_t *)inputs[i],
						 strlen(inputs[i]), &hello,
						 NULL, &why),
				 TLS_HELLO_ERR_NOT_TLS);
		assert_non_null(why);
	}
	assert_int_equal(tls_hello_parse((const uint8_t *)"\x16", 1, &hello,
					 NULL, NULL),
			 TLS_HELLO_INCOMPLETE);
}

/* Mutates one byte of the standard hello in one record. */
static int parse_patched(size_t at, uint8_t v)
{
	build_standard();
	records(&wire, &msg, 16384);
	wire.p[at] = v;
	return parse(&wire);
}

static void test_records_refused(void **state)
{
	assert_int_equal(parse_patched(2, 0x00), TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(2, 0x04), TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(3, 0x40), TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(5, 2), TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(5, 0), TLS_HELLO_ERR_MALFORMED);

	/* the record length one over what the message needs */
	build_standard();
	records(&wire, &msg, 16384);
	wire.p[4]++;
	put8(&wire, 0);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);

	/* a record of 16385 bytes */
	wire.n = 0;
	put(&wire, "\x16\x03\x01\x40\x01\x01", 6);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);

	/* a zero-length record, and a record of another type mid-message */
	build_standard();
	records(&wire, &msg, 50);
	wire.p[55] = 21;
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);
	wire.n = 0;
	put(&wire, "\x16\x03\x01\x00\x00", 5);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);

	/* not a ClientHello: refused from its first byte */
	assert_int_equal(tls_hello_parse((const uint8_t *)"\x16\x03\x01\x00"
							  "\x30\x02",
					 6, &hello, NULL, NULL),
			 TLS_HELLO_ERR_MALFORMED);
}

/* Offsets in a record of the standard hello. */
#define AT_VERSION 9
#define AT_SESSION_ID (AT_VERSION + 2 + 32)
#define AT_CIPHERS (AT_SESSION_ID + 1 + 32)
#define AT_COMPRESSION (AT_CIPHERS + 2 + 4)
#define AT_EXTS (AT_COMPRESSION + 2)

static void test_body_refused(void **state)
{
	assert_int_equal(parse_patched(AT_VERSION + 1, 0x04), 0);
	assert_int_equal(hello.legacy_version, 0x0304);
	assert_int_equal(parse_patched(AT_VERSION + 1, 0x00),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_VERSION, 0x02),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_SESSION_ID, 33),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_SESSION_ID, 31),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_CIPHERS + 1, 3),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_CIPHERS + 1, 0),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_COMPRESSION, 0),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_EXTS + 1, (uint8_t)(exts.n - 1)),
			 TLS_HELLO_ERR_MALFORMED);
	assert_int_equal(parse_patched(AT_EXTS + 1, (uint8_t)(exts.n + 1)),
			 TLS_HELLO_ERR_MALFORMED);
	/* the first extension (empty GREASE) claims one byte */
	assert_int_equal(parse_patched(AT_EXTS + 2 + 3, 1),
			 TLS_HELLO_ERR_MALFORMED);

	/* a body that ends inside the random */
	msg.n = 0;
	put(&msg, "\x01\x00\x00\x05\x03\x03\x00\x00\x00", 9);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);

	/* one junk byte after the extension block */
	build_standard();
	put8(&msg, 0);
	len_close(&msg, 1, 3);
	records(&wire, &msg, 16384);
	assert_int_equal(parse(&wire), TLS_HELLO_ERR_MALFORMED);
}

static int parse_exts(void)
{
	hello_message(&msg, &exts, true);
	records(&wire, &msg, 16384);
	return parse(&wire);
}

static void test_sni(void **state)
{
	static const uint8_t bad_bytes[] = { 0x20, 0x7f, 0x80, 0x00, 0x0a };
	char name[300];

	memset(name, 'a', sizeof(name));
	exts.n = 0;
	ext_sni(&exts, name, 255);
	assert_int_equal(parse_exts(), 0);
	assert_int_equal(strlen(hello.sni), 255);

	exts.n = 0;
	ext_sni(&exts, name, 256);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	ext_sni(&exts, name, 0);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	for (size_t i = 0; i < ARRAY_SIZE(bad_bytes); i++) {
		name[1] = (char)bad_bytes[i];
		exts.n = 0;
		ext_sni(&exts, name, 3);
		assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	}

	/* two server_name extensions; two entries; another name type */
	exts.n = 0;
	ext_sni(&exts, "a.test", 6);
	ext_sni(&exts, "b.test", 6);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x0b\x00\x09\x00\x00\x01x\x00\x00\x02yz", 15);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x06\x00\x04\x01\x00\x01x", 10);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x06\x00\x04\x00\x00\x01x", 10);
	assert_int_equal(parse_exts(), 0);
	assert_string_equal(hello.sni, "x");

	/* lengths that do not fit: list, host_name, empty extension */
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x06\x00\x03\x00\x00\x01x", 10);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x06\x00\x05\x00\x00\x01x", 10);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x06\x00\x04\x00\x00\x02x", 10);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x02\x00\x00", 6);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	put(&exts, "\x00\x00\x00\x00", 4);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
}

static void test_alpn(void **state)
{
	/* an empty name; an empty list; lengths that do not fit */
	static const char *const bad[] = {
		"\x00\x10\x00\x06\x00\x04\x02h2\x00",
		"\x00\x10\x00\x02\x00\x00",
		"\x00\x10\x00\x05\x00\x02\x02h2",
		"\x00\x10\x00\x05\x00\x04\x02h2",
		"\x00\x10\x00\x05\x00\x03\x03h2",
		"\x00\x10\x00\x01\x00",
	};
	static const size_t bad_len[] = { 10, 6, 9, 9, 9, 5 };
	char names[1200];
	size_t n = 0;

	/* nine names, one of 64 bytes, one GREASE value: 8 kept at most */
	for (int i = 0; i < 9; i++)
		n += (size_t)snprintf(names + n, sizeof(names) - n, "p%d", i) +
		     1;
	exts.n = 0;
	ext_alpn(&exts, names, n);
	assert_int_equal(parse_exts(), 0);
	assert_int_equal(hello.n_alpn, 8);
	assert_string_equal(hello.alpn[7], "p7");
	assert_true(hello.alpn_truncated);

	memset(names, 'x', 64);
	names[64] = '\0';
	memset(names + 65, 'y', 63);
	names[128] = '\0';
	memcpy(names + 129, "\x0a\x0a", 3);
	exts.n = 0;
	ext_alpn(&exts, names, 132);
	assert_int_equal(parse_exts(), 0);
	assert_int_equal(hello.n_alpn, 1);
	assert_int_equal(strlen(hello.alpn[0]), 63);
	assert_int_equal(hello.alpn[0][0], 'y');
	assert_true(hello.alpn_truncated);

	exts.n = 0;
	put(&exts, "\x00\x10\x00\x05\x00\x03\x02h2", 9);
	assert_int_equal(parse_exts(), 0);
	assert_string_equal(hello.alpn[0], "h2");
	assert_false(hello.alpn_truncated);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		exts.n = 0;
		put(&exts, bad[i], bad_len[i]);
		if (parse_exts() != TLS_HELLO_ERR_MALFORMED)
			fail_msg("ALPN case %zu accepted", i);
	}
}

static void test_duplicate_extension(void **state)
{
	exts.n = 0;
	ext_raw(&exts, 43, 2);
	ext_raw(&exts, 10, 2);
	ext_raw(&exts, 43, 2);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);

	exts.n = 0;
	ext_alpn(&exts, "h2\0", 3);
	ext_alpn(&exts, "h2\0", 3);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);

	exts.n = 0;
	ext_raw(&exts, 0xffff, 0);
	ext_raw(&exts, 0xfffe, 0);
	ext_raw(&exts, 0xffff, 0);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	ext_raw(&exts, 64, 0);
	ext_raw(&exts, 63, 0);
	ext_raw(&exts, 64, 0);
	assert_int_equal(parse_exts(), TLS_HELLO_ERR_MALFORMED);
	exts.n = 0;
	ext_raw(&exts, 0xffff, 0);
	ext_raw(&exts, 0xfffe, 0);
	ext_raw(&exts, 63, 0);
	ext_raw(&exts, 64, 0);
	ext_raw(&exts, 1, 0);
	assert_int_equal(parse_exts(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl),
		cmocka_unit_test(test_built),
		cmocka_unit_test(test_no_extensions),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_records_refused),
		cmocka_unit_test(test_body_refused),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_duplicate_extension),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
